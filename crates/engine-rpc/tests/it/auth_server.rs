//! The JWT layer in front of a real jsonrpsee server on loopback: requests without a valid,
//! fresh token get HTTP 401 and never reach the method; valid tokens (raw HTTP, WebSocket and the
//! signing client) do.

use fastevm_engine_api::{engine_http_client, JwtSecret};
use fastevm_engine_rpc::{Clock, JwtAuthLayer};
use jsonrpsee::{
    core::client::ClientT,
    rpc_params,
    server::{ServerBuilder, ServerHandle},
    ws_client::WsClientBuilder,
    RpcModule,
};
use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// The server's fixed notion of "now" (Unix seconds) in the clock-controlled tests.
const NOW: u64 = 1_700_000_000;

/// A server whose only method, `test_bump`, increments and returns a counter.
async fn counter_server(
    secret: JwtSecret,
    clock: Option<Clock>,
) -> (ServerHandle, SocketAddr, Arc<AtomicU64>) {
    let layer = match clock {
        Some(clock) => JwtAuthLayer::with_clock(secret, clock),
        None => JwtAuthLayer::new(secret),
    };
    let server = ServerBuilder::default()
        .set_http_middleware(tower::ServiceBuilder::new().layer(layer))
        .build("127.0.0.1:0")
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let counter = Arc::new(AtomicU64::new(0));
    let mut module = RpcModule::new(counter.clone());
    module
        .register_method("test_bump", |_, counter, _| {
            counter.fetch_add(1, Ordering::SeqCst) + 1
        })
        .unwrap();
    (server.start(module), addr, counter)
}

fn fixed_clock() -> Clock {
    Arc::new(|| NOW)
}

/// Sends one raw HTTP/1.1 JSON-RPC POST calling `test_bump`; returns (status, body).
async fn raw_post(addr: SocketAddr, bearer: Option<&str>) -> (u16, String) {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"test_bump","params":[]}"#;
    let auth = bearer
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = status_of(&response);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Sends a WebSocket upgrade request and returns the status of the answer (headers only; an
/// accepted upgrade keeps the connection open).
async fn raw_ws_upgrade(addr: SocketAddr, bearer: Option<&str>) -> u16 {
    let auth = bearer
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{auth}\r\n"
    );
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).await.unwrap();
        assert_eq!(n, 1, "connection closed before the response head ended");
        head.push(byte[0]);
    }
    status_of(&String::from_utf8_lossy(&head))
}

fn status_of(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"))
}

#[tokio::test]
async fn requests_without_a_valid_fresh_token_get_401_and_never_run() {
    let secret = JwtSecret::random();
    let (handle, addr, counter) = counter_server(secret.clone(), Some(fixed_clock())).await;

    let (status, body) = raw_post(addr, None).await;
    assert_eq!(status, 401);
    assert!(body.contains("missing bearer token"), "body: {body:?}");
    assert_eq!(raw_post(addr, Some("not.a.jwt")).await.0, 401);
    let wrong_key = JwtSecret::random().encode_token(NOW);
    assert_eq!(raw_post(addr, Some(&wrong_key)).await.0, 401);
    let stale_past = secret.encode_token(NOW - 61);
    assert_eq!(raw_post(addr, Some(&stale_past)).await.0, 401);
    let stale_future = secret.encode_token(NOW + 61);
    assert_eq!(raw_post(addr, Some(&stale_future)).await.0, 401);
    assert_eq!(counter.load(Ordering::SeqCst), 0, "a refused request ran");

    let (status, body) = raw_post(addr, Some(&secret.encode_token(NOW - 59))).await;
    assert_eq!(status, 200, "body: {body:?}");
    assert!(body.contains(r#""result":1"#), "body: {body:?}");
    let (status, body) = raw_post(addr, Some(&secret.encode_token(NOW + 59))).await;
    assert_eq!(status, 200, "body: {body:?}");
    assert!(body.contains(r#""result":2"#), "body: {body:?}");
    assert_eq!(counter.load(Ordering::SeqCst), 2);

    handle.stop().unwrap();
}

#[tokio::test]
async fn the_clock_decides_staleness() {
    let secret = JwtSecret::random();
    let now = Arc::new(AtomicU64::new(NOW));
    let clock: Clock = {
        let now = now.clone();
        Arc::new(move || now.load(Ordering::SeqCst))
    };
    let (handle, addr, counter) = counter_server(secret.clone(), Some(clock)).await;
    let token = secret.encode_token(NOW);
    assert_eq!(raw_post(addr, Some(&token)).await.0, 200);
    now.store(NOW + 61, Ordering::SeqCst);
    assert_eq!(raw_post(addr, Some(&token)).await.0, 401);
    assert_eq!(counter.load(Ordering::SeqCst), 1);
    handle.stop().unwrap();
}

#[tokio::test]
async fn websocket_upgrades_are_authenticated_too() {
    let secret = JwtSecret::random();
    let (handle, addr, counter) = counter_server(secret.clone(), Some(fixed_clock())).await;

    assert_eq!(raw_ws_upgrade(addr, None).await, 401);
    assert_eq!(
        raw_ws_upgrade(addr, Some(&secret.encode_token(NOW - 61))).await,
        401
    );
    assert_eq!(
        raw_ws_upgrade(addr, Some(&secret.encode_token(NOW))).await,
        101
    );

    let refused = WsClientBuilder::default()
        .build(format!("ws://{addr}"))
        .await;
    assert!(refused.is_err(), "a WebSocket without token connected");

    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::AUTHORIZATION,
        format!("Bearer {}", secret.encode_token(NOW))
            .parse()
            .unwrap(),
    );
    let client = WsClientBuilder::default()
        .set_headers(headers)
        .build(format!("ws://{addr}"))
        .await
        .unwrap();
    let bumped: u64 = client.request("test_bump", rpc_params![]).await.unwrap();
    assert_eq!(bumped, 1);
    assert_eq!(counter.load(Ordering::SeqCst), 1);
    handle.stop().unwrap();
}

#[tokio::test]
async fn the_signing_client_is_accepted_on_every_request() {
    let secret = JwtSecret::random();
    // System clock on both sides, as in production.
    let (handle, addr, counter) = counter_server(secret.clone(), None).await;
    let client =
        engine_http_client(&format!("http://{addr}"), secret, Duration::from_secs(30)).unwrap();
    for expected in 1..=3u64 {
        let bumped: u64 = client.request("test_bump", rpc_params![]).await.unwrap();
        assert_eq!(bumped, expected);
    }

    let unsigned = engine_http_client(
        &format!("http://{addr}"),
        JwtSecret::random(),
        Duration::from_secs(30),
    )
    .unwrap();
    let refused: Result<u64, _> = unsigned.request("test_bump", rpc_params![]).await;
    assert!(
        refused.is_err(),
        "a client with the wrong secret was served"
    );
    assert_eq!(counter.load(Ordering::SeqCst), 3);
    handle.stop().unwrap();
}
