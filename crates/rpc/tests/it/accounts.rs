//! Unlocked accounts over HTTP: `eth_accounts`, `eth_coinbase`, `eth_sign`,
//! `eth_signTransaction`, `eth_fillTransaction` and `eth_sendTransaction` (filled, signed,
//! pooled and mined), geth's errors for accounts the node does not hold, and `eth_baseFee`.

use crate::common::{chain, context, drive_block, http_post, server, signer, CHAIN_ID};
use alloy_consensus::{transaction::SignerRecoverable, Transaction, TxEnvelope};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{Address, Bytes, Signature};
use fastevm_engine::Engine;
use fastevm_rpc::UnlockedAccounts;
use serde_json::{json, Value};
use std::net::SocketAddr;

async fn call(addr: SocketAddr, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let (status, text) = http_post(addr, &body.to_string()).await;
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

async fn result(addr: SocketAddr, method: &str, params: Value) -> Value {
    let answer = call(addr, method, params).await;
    assert!(answer["error"].is_null(), "{method}: {answer}");
    answer["result"].clone()
}

async fn error(addr: SocketAddr, method: &str, params: Value) -> (i64, String) {
    let answer = call(addr, method, params).await;
    let error = &answer["error"];
    assert!(!error.is_null(), "{method} should fail: {answer}");
    (
        error["code"].as_i64().unwrap(),
        error["message"].as_str().unwrap().to_string(),
    )
}

fn quantity(v: &Value) -> u128 {
    u128::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlocked_accounts_sign_and_send() {
    let chain = chain(2);
    let ctx = context(&chain).with_accounts(UnlockedAccounts::new(vec![signer(0), signer(1)]));
    let engine = Engine::new(chain);
    ctx.attach_to(&engine)
        .expect("start the canonical follower");
    let server = server(ctx.clone()).await;
    let addr = server.http_addr;
    let (alice, bob) = (signer(0).address(), signer(1).address());
    let carol = Address::repeat_byte(0xc0);

    assert_eq!(
        result(addr, "eth_accounts", json!([])).await,
        json!([alice, bob])
    );
    assert_eq!(result(addr, "eth_coinbase", json!([])).await, json!(alice));

    // eth_sign: EIP-191 over the message, v = 27 or 28, recoverable to the account.
    let signed = result(addr, "eth_sign", json!([bob, "0xdeadbeef"])).await;
    let bytes: Bytes = serde_json::from_value(signed).unwrap();
    assert_eq!(bytes.len(), 65);
    assert!(matches!(bytes[64], 27 | 28), "v = {}", bytes[64]);
    let signature = Signature::try_from(bytes.as_ref()).unwrap();
    assert_eq!(
        signature
            .recover_address_from_msg([0xde, 0xad, 0xbe, 0xef])
            .unwrap(),
        bob
    );

    // eth_baseFee is the next block's base fee.
    let base_fee = quantity(&result(addr, "eth_baseFee", json!([])).await);
    assert!(base_fee > 0);

    // eth_fillTransaction fills nonce, gas, fees and chain id without signing.
    let filled = result(
        addr,
        "eth_fillTransaction",
        json!([{"from": alice, "to": carol, "value": "0x1"}]),
    )
    .await;
    let tx = &filled["tx"];
    assert_eq!(quantity(&tx["nonce"]), 0, "{filled}");
    assert_eq!(quantity(&tx["gas"]), 21_000, "{filled}");
    assert_eq!(quantity(&tx["chainId"]), u128::from(CHAIN_ID), "{filled}");
    let tip = quantity(&tx["maxPriorityFeePerGas"]);
    assert_eq!(
        quantity(&tx["maxFeePerGas"]),
        tip + 2 * base_fee,
        "{filled}"
    );

    // eth_sendTransaction: filled, signed by alice, pooled; twice, so the second takes nonce 1.
    let mut sent = Vec::new();
    for value in [1u64, 2] {
        let hash = result(
            addr,
            "eth_sendTransaction",
            json!([{"from": alice, "to": carol, "value": format!("{value:#x}")}]),
        )
        .await;
        sent.push(serde_json::from_value(hash).unwrap());
    }
    let pooled: Vec<TxEnvelope> = sent
        .iter()
        .map(|hash| ctx.pool.get(hash).expect("pooled").tx)
        .collect();
    assert_eq!(
        pooled.iter().map(|tx| tx.nonce()).collect::<Vec<_>>(),
        [0, 1]
    );
    for tx in &pooled {
        assert_eq!(tx.recover_signer().unwrap(), alice);
        assert_eq!(tx.chain_id(), Some(CHAIN_ID));
    }
    drive_block(&engine, &pooled);
    let balance = result(addr, "eth_getBalance", json!([carol, "latest"])).await;
    assert_eq!(quantity(&balance), 3);
    for hash in &sent {
        let receipt = result(addr, "eth_getTransactionReceipt", json!([hash])).await;
        assert_eq!(receipt["status"], "0x1", "{receipt}");
    }

    // eth_signTransaction wants a complete transaction, as geth does.
    let (code, message) = error(
        addr,
        "eth_signTransaction",
        json!([{"from": bob, "to": carol, "nonce": "0x0", "maxFeePerGas": "0x174876e800", "maxPriorityFeePerGas": "0x1"}]),
    )
    .await;
    assert_eq!((code, message.as_str()), (-32000, "gas not specified"));
    let signed = result(
        addr,
        "eth_signTransaction",
        json!([{"from": bob, "to": carol, "nonce": "0x0", "gas": "0x5208", "gasPrice": "0x174876e800", "value": "0x5"}]),
    )
    .await;
    let raw: Bytes = serde_json::from_value(signed["raw"].clone()).unwrap();
    let tx = TxEnvelope::decode_2718(&mut raw.as_ref()).unwrap();
    assert!(tx.is_legacy(), "gasPrice alone makes a legacy transaction");
    assert_eq!(tx.recover_signer().unwrap(), bob);
    assert_eq!(tx.chain_id(), Some(CHAIN_ID), "EIP-155 protected");
    assert_eq!(signed["tx"]["hash"], json!(tx.tx_hash()), "{signed}");
    let hash = result(addr, "eth_sendRawTransaction", json!([raw])).await;
    assert_eq!(hash, json!(tx.tx_hash()));
    drive_block(&engine, &[tx]);
    let balance = result(addr, "eth_getBalance", json!([carol, "latest"])).await;
    assert_eq!(quantity(&balance), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_the_node_does_not_hold_get_geth_errors() {
    let chain = chain(2);
    let locked_server = server(context(&chain)).await;
    let unlocked_ctx = context(&chain).with_accounts(UnlockedAccounts::new(vec![signer(0)]));
    let unlocked_server = server(unlocked_ctx).await;
    let (locked, unlocked) = (locked_server.http_addr, unlocked_server.http_addr);
    let stranger = signer(1).address();

    assert_eq!(result(locked, "eth_accounts", json!([])).await, json!([]));
    assert_eq!(
        error(locked, "eth_coinbase", json!([])).await,
        (-32000, "etherbase must be explicitly specified".into())
    );
    for addr in [locked, unlocked] {
        assert_eq!(
            error(addr, "eth_sign", json!([stranger, "0x00"])).await,
            (-32000, "unknown account".into())
        );
        assert_eq!(
            error(
                addr,
                "eth_sendTransaction",
                json!([{"from": stranger, "to": stranger, "value": "0x1"}])
            )
            .await,
            (-32000, "unknown account".into())
        );
    }
    // Malformed parameters are geth's invalid-argument errors.
    let (code, message) = error(unlocked, "eth_sign", json!(["1234", "0x00"])).await;
    assert_eq!(code, -32602);
    assert!(message.starts_with("invalid argument 0: "), "{message}");
    let (code, message) = error(
        unlocked,
        "eth_sendTransaction",
        json!([{"from": signer(0).address(), "to": stranger, "chainId": "0x1"}]),
    )
    .await;
    assert_eq!(
        (code, message.as_str()),
        (
            -32000,
            format!("chainId does not match node's (have=1, want={CHAIN_ID})").as_str()
        )
    );
    let (code, message) = error(
        unlocked,
        "eth_sendTransaction",
        json!([{"from": signer(0).address(), "gasPrice": "0x1", "maxFeePerGas": "0x1"}]),
    )
    .await;
    assert_eq!(
        (code, message.as_str()),
        (
            -32000,
            "both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified"
        )
    );
    let (code, message) = error(
        unlocked,
        "eth_sendTransaction",
        json!([{"from": signer(0).address()}]),
    )
    .await;
    assert_eq!(
        (code, message.as_str()),
        (-32000, "contract creation without any data provided")
    );
    // Nothing above reached the pool.
    let status = result(unlocked, "txpool_status", json!([])).await;
    assert_eq!(status["pending"], "0x0");
}
