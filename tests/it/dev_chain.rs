//! `fastevm dev --nodes 4`: transfers sent through different nodes' JSON-RPC end up in the same
//! blocks on all four nodes, with identical block hashes and balances; a blob transaction sent
//! with its sidecar to one node goes through Mysticeti into the same block everywhere.

use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, B256, U256};
use fastevm::test_utils::{sign_eip1559, spawn_dev, JsonRpc, TxFees};
use fastevm_blobs::{
    encode_network,
    test_utils::{sidecar_v0, signed_blob_tx},
};
use fastevm_dev_chain::{dev_signers, DEV_CHAIN_ID};
use serde_json::{json, Value};
use std::{path::Path, time::Duration};

const SENDERS: usize = 10;
const PER_SENDER: u64 = 50;

fn recipient(i: usize) -> Address {
    Address::repeat_byte(0x10 + i as u8)
}

async fn receipt(rpc: &JsonRpc, hash: B256) -> Option<Value> {
    let value: Value = rpc
        .call("eth_getTransactionReceipt", vec![json!(hash)])
        .await
        .expect("eth_getTransactionReceipt answers");
    (!value.is_null()).then_some(value)
}

/// The receipt of `hash` on every node (waiting for each until `deadline`), all successful.
async fn successful_receipts(
    nodes: &[JsonRpc],
    hash: B256,
    deadline: tokio::time::Instant,
) -> Vec<Value> {
    let mut receipts = Vec::new();
    for node in nodes {
        let found = loop {
            if let Some(r) = receipt(node, hash).await {
                break r;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "transaction {hash} not executed on every node in time"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(
            found["status"],
            json!("0x1"),
            "transaction {hash} succeeded"
        );
        receipts.push(found);
    }
    receipts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_execute_500_transfers_identically() {
    let _turn = crate::module_turn::take(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let dev = spawn_dev(Path::new(env!("CARGO_BIN_EXE_fastevm")), dir.path(), 4);
    let nodes: Vec<JsonRpc> = dev.rpc.iter().map(|a| JsonRpc::new(a)).collect();

    // Sender s sends through node s % 4, so every node's pool feeds its own validator.
    let signers = dev_signers();
    let mut hashes = Vec::new();
    for nonce in 0..PER_SENDER {
        for (s, signer) in signers.iter().take(SENDERS).enumerate() {
            let tx = sign_eip1559(
                signer,
                DEV_CHAIN_ID,
                nonce,
                recipient(s),
                U256::from(1_000 + nonce),
                Bytes::new(),
                TxFees {
                    max_fee_per_gas: 100_000_000_000,
                    ..TxFees::default()
                },
            );
            let raw = Bytes::from(tx.encoded_2718());
            let hash: B256 = nodes[s % 4]
                .call("eth_sendRawTransaction", vec![json!(raw)])
                .await
                .unwrap_or_else(|e| panic!("sender {s} nonce {nonce}: {e}"));
            assert_eq!(hash, *tx.tx_hash());
            hashes.push(hash);
        }
    }
    assert_eq!(hashes.len(), 500);

    // A blob transaction (network form, with its sidecar) after sender 0's transfers.
    let sidecar = sidecar_v0(1);
    let blob_tx = signed_blob_tx(&signers[0], DEV_CHAIN_ID, &sidecar, PER_SENDER);
    let raw = Bytes::from(encode_network(&blob_tx, Some(&sidecar)));
    let blob_hash: B256 = nodes[0]
        .call("eth_sendRawTransaction", vec![json!(raw)])
        .await
        .expect("the blob transaction is pooled");
    assert_eq!(blob_hash, *blob_tx.tx_hash());
    hashes.push(blob_hash);

    // Every receipt on every node, in the same block.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    for hash in &hashes {
        let blocks: Vec<(Value, Value)> = successful_receipts(&nodes, *hash, deadline)
            .await
            .into_iter()
            .map(|r| (r["blockNumber"].clone(), r["blockHash"].clone()))
            .collect();
        assert!(
            blocks.windows(2).all(|w| w[0] == w[1]),
            "transaction {hash} in different blocks: {blocks:?}"
        );
    }

    // The blob transaction's block carries its blob gas on every node.
    for node in &nodes {
        let found = receipt(node, blob_hash).await.unwrap();
        assert_eq!(found["type"], json!("0x3"));
        assert_eq!(found["blobGasUsed"], json!("0x20000"));
        let block: Value = node
            .call(
                "eth_getBlockByHash",
                vec![found["blockHash"].clone(), json!(false)],
            )
            .await
            .unwrap();
        assert_eq!(block["blobGasUsed"], json!("0x20000"));
    }

    // Same chain and state everywhere, up to the lowest head.
    let mut heads = Vec::new();
    for node in &nodes {
        let head: U256 = node.call("eth_blockNumber", vec![]).await.unwrap();
        heads.push(head.to::<u64>());
    }
    let lowest = *heads.iter().min().unwrap();
    assert!(lowest >= 1);
    for number in 1..=lowest {
        let mut block_hashes = Vec::new();
        for node in &nodes {
            let block: Value = node
                .call(
                    "eth_getBlockByNumber",
                    vec![json!(format!("{number:#x}")), json!(false)],
                )
                .await
                .unwrap();
            block_hashes.push(block["hash"].clone());
        }
        assert!(
            block_hashes.windows(2).all(|w| w[0] == w[1]),
            "block {number} differs: {block_hashes:?}"
        );
    }
    for (s, signer) in signers.iter().take(SENDERS).enumerate() {
        let expected = U256::from((0..PER_SENDER).map(|n| 1_000 + n).sum::<u64>());
        for node in &nodes {
            let balance: U256 = node
                .call("eth_getBalance", vec![json!(recipient(s)), json!("latest")])
                .await
                .unwrap();
            assert_eq!(balance, expected, "recipient {s}");
            let nonce: U256 = node
                .call(
                    "eth_getTransactionCount",
                    vec![json!(signer.address()), json!("latest")],
                )
                .await
                .unwrap();
            let blob_txs = u64::from(s == 0);
            assert_eq!(nonce, U256::from(PER_SENDER + blob_txs), "sender {s} nonce");
        }
    }
}

/// Transfers per block the small-gas chain below fits.
const TRANSFERS_PER_BLOCK: u64 = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_left_out_of_full_blocks_are_included_later() {
    let _turn = crate::module_turn::take(module_path!());
    // A chain whose blocks hold only four transfers: a commit carrying more leaves the rest out.
    let dir = tempfile::tempdir().unwrap();
    let mut genesis = fastevm_dev_chain::dev_genesis();
    genesis.gas_limit = 21_000 * TRANSFERS_PER_BLOCK;
    std::fs::write(
        dir.path().join("genesis.json"),
        serde_json::to_string_pretty(&genesis).unwrap(),
    )
    .unwrap();
    let dev = spawn_dev(Path::new(env!("CARGO_BIN_EXE_fastevm")), dir.path(), 4);
    let nodes: Vec<JsonRpc> = dev.rpc.iter().map(|a| JsonRpc::new(a)).collect();

    // 24 transfers at once through one node: the first commits carry more than a block holds.
    let signers = dev_signers();
    let mut hashes = Vec::new();
    for nonce in 0..4u64 {
        for (s, signer) in signers.iter().take(6).enumerate() {
            let tx = sign_eip1559(
                signer,
                DEV_CHAIN_ID,
                nonce,
                recipient(s),
                U256::from(1),
                Bytes::new(),
                TxFees {
                    max_fee_per_gas: 100_000_000_000,
                    ..TxFees::default()
                },
            );
            let raw = Bytes::from(tx.encoded_2718());
            let hash: B256 = nodes[0]
                .call("eth_sendRawTransaction", vec![json!(raw)])
                .await
                .unwrap_or_else(|e| panic!("sender {s} nonce {nonce}: {e}"));
            hashes.push(hash);
        }
    }

    // Every one is executed, in the same block on every node, and no block holds more than four.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let mut blocks = std::collections::BTreeMap::new();
    for hash in &hashes {
        let seen: Vec<Value> = successful_receipts(&nodes, *hash, deadline)
            .await
            .into_iter()
            .map(|r| r["blockHash"].clone())
            .collect();
        assert!(seen.windows(2).all(|w| w[0] == w[1]), "{hash}: {seen:?}");
        *blocks.entry(seen[0].to_string()).or_insert(0u64) += 1;
    }
    assert!(
        blocks.values().all(|&n| n <= TRANSFERS_PER_BLOCK),
        "{blocks:?}"
    );
    assert!(blocks.len() as u64 >= 24 / TRANSFERS_PER_BLOCK);
}
