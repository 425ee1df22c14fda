//! `fastevm node` holds 1,000 simultaneous connections on its public JSON-RPC (HTTP keep-alive
//! and WebSocket) and on its Engine API (JWT), and refuses WebSocket connections beyond
//! `--http.max-connections` (the limit counts open WebSocket connections and HTTP requests in
//! flight; HTTP requests over it get 429).

use fastevm::test_utils::{spawn_node_with, NodeProcess};
use fastevm_engine_api::{engine_http_client, EngineApiClient, JwtSecret};
use futures::future::join_all;
use jsonrpsee::{
    core::client::ClientT,
    http_client::{HttpClient, HttpClientBuilder},
    rpc_params,
    ws_client::{WsClient, WsClientBuilder},
};
use std::{path::Path, time::Duration};

const CONNECTIONS: usize = 1_000;

/// The node process, killed when the test ends (also when it fails).
struct Node(NodeProcess);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.child.kill();
        let _ = self.0.child.wait();
    }
}

impl std::ops::Deref for Node {
    type Target = NodeProcess;
    fn deref(&self) -> &NodeProcess {
        &self.0
    }
}

fn start(dir: &Path, flags: &[&str]) -> Node {
    let chain = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/genesis/dev.json"));
    Node(spawn_node_with(
        Path::new(env!("CARGO_BIN_EXE_fastevm")),
        dir,
        Some(chain),
        0,
        0,
        flags,
    ))
}

/// One client per connection: each keeps its connection open (keep-alive) between calls.
fn public_clients(addr: &str, count: usize) -> Vec<HttpClient> {
    (0..count)
        .map(|_| {
            HttpClientBuilder::default()
                .request_timeout(Duration::from_secs(60))
                .build(format!("http://{addr}"))
                .unwrap()
        })
        .collect()
}

async fn chain_ids(clients: &[HttpClient]) -> Vec<Result<String, String>> {
    join_all(clients.iter().map(|c| async move {
        c.request::<String, _>("eth_chainId", rpc_params![])
            .await
            .map_err(|e| e.to_string())
    }))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_connections_are_served_at_once() {
    let _turn = crate::module_turn::take(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), &[]);

    let clients = public_clients(&node.rpc, CONNECTIONS);
    // First calls open the connections; second calls go over the same, still open, ones.
    for round in 0..2 {
        let answers = chain_ids(&clients).await;
        let failed: Vec<_> = answers.iter().filter_map(|a| a.as_ref().err()).collect();
        assert!(
            failed.is_empty(),
            "round {round}: {} failed, e.g. {:?}",
            failed.len(),
            failed.first()
        );
    }

    drop(clients);
    // WebSocket connections stay open until dropped: all 1,000 at once.
    let ws: Vec<WsClient> = join_all(
        (0..CONNECTIONS).map(|_| WsClientBuilder::default().build(format!("ws://{}", node.rpc))),
    )
    .await
    .into_iter()
    .collect::<Result<_, _>>()
    .expect("every WebSocket connection is accepted");
    let answers = join_all(
        ws.iter()
            .map(|c| async move { c.request::<String, _>("eth_chainId", rpc_params![]).await }),
    )
    .await;
    assert_eq!(answers.iter().filter(|a| a.is_err()).count(), 0);
    drop(ws);

    let secret = JwtSecret::load_or_generate(&dir.path().join("jwt.hex")).unwrap();
    let engine_clients: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            engine_http_client(
                &format!("http://{}", node.authrpc),
                secret.clone(),
                Duration::from_secs(60),
            )
            .unwrap()
        })
        .collect();
    for round in 0..2 {
        let answers = join_all(
            engine_clients
                .iter()
                .map(|c| async move { c.exchange_capabilities(vec![]).await }),
        )
        .await;
        let failed = answers.iter().filter(|a| a.is_err()).count();
        assert_eq!(failed, 0, "Engine API round {round}");
    }
    drop(engine_clients);
}

#[tokio::test]
async fn connections_beyond_the_limit_are_refused() {
    let _turn = crate::module_turn::take(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), &["--http.max-connections", "10"]);
    let url = format!("ws://{}", node.rpc);
    let mut open = Vec::new();
    for _ in 0..10 {
        open.push(WsClientBuilder::default().build(&url).await.unwrap());
    }
    assert!(
        WsClientBuilder::default().build(&url).await.is_err(),
        "an eleventh connection was accepted with a limit of 10"
    );
    // Closing one makes room for another.
    drop(open.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let again = WsClientBuilder::default().build(&url).await.unwrap();
    let chain_id: String = again.request("eth_chainId", rpc_params![]).await.unwrap();
    assert_eq!(chain_id, "0x539");
}
