//! HTTP-level behaviour: batches, malformed input, size and batch limits, CORS, and pool
//! rejections mapped to JSON-RPC errors with geth's messages.

use crate::common::{
    chain, context, http_post, server, server_with, signer, transaction, CHAIN_ID,
};
use alloy_consensus::{SignableTransaction, TxEip1559};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, TxKind, U256};
use alloy_signer::SignerSync;
use fastevm_rpc::RpcServerConfig;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn call(addr: std::net::SocketAddr, body: Value) -> Value {
    let (status, text) = http_post(addr, &body.to_string()).await;
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

fn request(id: u64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_answer_every_call_in_order() {
    let server = server(context(&chain(1))).await;
    let batch = json!([
        request(1, "eth_chainId", json!([])),
        request(2, "eth_blockNumber", json!([])),
        request(3, "eth_noSuchMethod", json!([])),
        request(4, "web3_sha3", json!(["0x"])),
        request(5, "net_version", json!([])),
    ]);
    let Value::Array(responses) = call(server.http_addr, batch).await else {
        panic!("a batch answers an array");
    };
    let by_id = |id: u64| {
        responses
            .iter()
            .find(|r| r["id"] == json!(id))
            .unwrap_or_else(|| panic!("response {id}"))
    };
    assert_eq!(by_id(1)["result"], json!(format!("{CHAIN_ID:#x}")));
    assert_eq!(by_id(2)["result"], json!("0x0"));
    assert_eq!(by_id(3)["error"]["code"], json!(-32601));
    assert_eq!(
        by_id(4)["result"],
        json!("0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
    );
    assert_eq!(by_id(5)["result"], json!(CHAIN_ID.to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_errors_not_panics() {
    let server = server(context(&chain(1))).await;
    let (_, text) = http_post(server.http_addr, "{\"jsonrpc\":\"2.0\",").await;
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["error"]["code"], json!(-32700));
    for params in [
        json!(["0xnothex", "latest"]),
        json!([]),
        json!(["0x0000000000000000000000000000000000000001", "0xzz"]),
        json!([{"not": "an address"}]),
    ] {
        let body = call(server.http_addr, request(1, "eth_getBalance", params)).await;
        assert_eq!(body["error"]["code"], json!(-32602), "{body}");
    }
    let body = call(
        server.http_addr,
        request(1, "debug_getRawHeader", json!(["2"])),
    )
    .await;
    assert_eq!(
        body["error"],
        json!({"code": -32602, "message": "invalid argument 0: hex string without 0x prefix"})
    );
    // The server still answers afterwards.
    let body = call(server.http_addr, request(2, "eth_chainId", json!([]))).await;
    assert!(body["result"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_and_batch_limits_are_enforced() {
    let config = RpcServerConfig {
        max_request_body_bytes: 1024,
        max_batch_len: 2,
        ..RpcServerConfig::default()
    };
    let server = server_with(context(&chain(1)), config).await;
    let big = request(1, "web3_sha3", json!([format!("0x{}", "00".repeat(1024))]));
    let (status, text) = http_post(server.http_addr, &big.to_string()).await;
    assert_eq!(status, 413);
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["error"]["code"], json!(-32007), "{body}");

    let batch = json!([
        request(1, "eth_chainId", json!([])),
        request(2, "eth_chainId", json!([])),
        request(3, "eth_chainId", json!([])),
    ]);
    let (_, text) = http_post(server.http_addr, &batch.to_string()).await;
    let body: Value = serde_json::from_str(&text).unwrap();
    assert!(
        body["error"]["code"].is_i64(),
        "oversized batch refused: {body}"
    );
    let small = json!([request(1, "eth_chainId", json!([]))]);
    let body = call(server.http_addr, small).await;
    assert_eq!(body.as_array().map(Vec::len), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_preflight_allows_any_origin() {
    let server = server(context(&chain(1))).await;
    let mut stream = tokio::net::TcpStream::connect(server.http_addr)
        .await
        .unwrap();
    let preflight = "OPTIONS / HTTP/1.1\r\nHost: x\r\nOrigin: https://dapp.example\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\nConnection: close\r\n\r\n";
    stream.write_all(preflight.as_bytes()).await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    let lower = raw.to_ascii_lowercase();
    assert!(lower.starts_with("http/1.1 204"), "{raw}");
    assert!(lower.contains("access-control-allow-origin: *"), "{raw}");
    assert!(
        lower.contains("access-control-allow-methods: post"),
        "{raw}"
    );
}

fn raw(tx: &alloy_consensus::TxEnvelope) -> String {
    format!("0x{}", alloy_primitives::hex::encode(tx.encoded_2718()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_raw_transaction_errors_carry_geth_messages() {
    let server = server(context(&chain(1))).await;
    let send = |tx: String| {
        let addr = server.http_addr;
        async move { call(addr, request(1, "eth_sendRawTransaction", json!([tx]))).await }
    };
    let tx = transaction(0, 0, Address::repeat_byte(5), 1, Bytes::new());
    let accepted = send(raw(&tx)).await;
    assert_eq!(accepted["result"], json!(tx.tx_hash()));

    let again = send(raw(&tx)).await;
    assert_eq!(
        again["error"],
        json!({"code": -32000, "message": "already known"})
    );

    let garbage = send("0x02c0ffee".into()).await;
    assert_eq!(garbage["error"]["code"], json!(-32602));
    assert!(garbage["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("rlp: "));

    // A key that holds nothing cannot pay.
    let unfunded = {
        let tx = TxEip1559 {
            chain_id: CHAIN_ID,
            nonce: 0,
            gas_limit: 21_000,
            max_fee_per_gas: 20_000_000_000,
            max_priority_fee_per_gas: 1,
            to: TxKind::Call(Address::repeat_byte(5)),
            value: U256::from(1),
            access_list: Default::default(),
            input: Bytes::new(),
        };
        let key = signer(999);
        let sig = key.sign_hash_sync(&tx.signature_hash()).unwrap();
        alloy_consensus::TxEnvelope::from(tx.into_signed(sig))
    };
    let poor = send(raw(&unfunded)).await;
    assert_eq!(poor["error"]["code"], json!(-32000));
    assert!(poor["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("insufficient funds for gas * price + value"));

    let wrong_chain = {
        let tx = TxEip1559 {
            chain_id: CHAIN_ID + 1,
            nonce: 1,
            gas_limit: 21_000,
            max_fee_per_gas: 20_000_000_000,
            max_priority_fee_per_gas: 1,
            to: TxKind::Call(Address::repeat_byte(5)),
            value: U256::from(1),
            access_list: Default::default(),
            input: Bytes::new(),
        };
        let sig = signer(0).sign_hash_sync(&tx.signature_hash()).unwrap();
        alloy_consensus::TxEnvelope::from(tx.into_signed(sig))
    };
    let refused = send(raw(&wrong_chain)).await;
    assert_eq!(
        refused["error"],
        json!({"code": -32000, "message": "invalid chain id for signer"})
    );

    let low_gas = transaction(0, 1, Address::repeat_byte(5), 1, Bytes::from(vec![1; 8]));
    let low_gas = {
        let alloy_consensus::TxEnvelope::Eip1559(signed) = low_gas else {
            unreachable!()
        };
        let mut tx = signed.strip_signature();
        tx.gas_limit = 20_000;
        let sig = signer(0).sign_hash_sync(&tx.signature_hash()).unwrap();
        alloy_consensus::TxEnvelope::from(tx.into_signed(sig))
    };
    let refused = send(raw(&low_gas)).await;
    assert_eq!(refused["error"]["code"], json!(-32000));
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("intrinsic gas too low"));
    assert_eq!(
        call(server.http_addr, request(2, "txpool_status", json!([]))).await["result"],
        json!({"pending": "0x1", "queued": "0x0"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn testing_namespace_is_served_only_when_enabled() {
    let chain = chain(1);
    let head = chain.store().head_hash().unwrap();
    let head_time = chain.store().head_header().unwrap().timestamp;
    let build = request(
        1,
        "testing_buildBlockV1",
        json!([head, {
            "timestamp": format!("{:#x}", head_time + 1),
            "prevRandao": alloy_primitives::B256::ZERO,
            "suggestedFeeRecipient": Address::ZERO,
            "withdrawals": [],
            "parentBeaconBlockRoot": alloy_primitives::B256::ZERO,
        }, [], "0x"]),
    );
    let off = server(context(&chain)).await;
    let answer = call(off.http_addr, build.clone()).await;
    assert_eq!(answer["error"]["code"], json!(-32601), "{answer}");

    let on = server_with(
        context(&chain),
        RpcServerConfig {
            testing_api: true,
            ..RpcServerConfig::default()
        },
    )
    .await;
    let answer = call(on.http_addr, build).await;
    let payload = &answer["result"]["executionPayload"];
    assert_eq!(payload["parentHash"], json!(head), "{answer}");
    assert_eq!(payload["transactions"], json!([]));
    // Built, not imported: the head did not move.
    assert_eq!(chain.store().head_hash().unwrap(), head);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_can_be_traced() {
    let server = server(context(&chain(1))).await;
    let trace = call(
        server.http_addr,
        request(
            1,
            "debug_traceCall",
            json!([
                {"to": crate::common::EMITTER, "input": format!("{:#066x}", 7)},
                "latest",
                {"tracer": "callTracer", "tracerConfig": {"withLog": true}}
            ]),
        ),
    )
    .await;
    let frame = &trace["result"];
    assert_eq!(frame["type"], json!("CALL"), "{trace}");
    assert_eq!(frame["to"], json!(crate::common::EMITTER));
    assert_eq!(frame["logs"][0]["topics"][0], json!(crate::common::TOPIC));
    // An unknown block is geth's "header not found".
    let missing = call(
        server.http_addr,
        request(2, "debug_traceCall", json!([{"to": Address::ZERO}, "0x99"])),
    )
    .await;
    assert_eq!(
        missing["error"]["message"],
        json!("header not found"),
        "{missing}"
    );
}
