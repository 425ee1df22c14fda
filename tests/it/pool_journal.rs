//! The `fastevm node` binary keeps its transaction pool in `DATADIR/txpool.rlp`: transactions
//! sent over JSON-RPC and not mined survive a SIGKILL, in the same pending and queued sets.

use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, B256, U256};
use fastevm::test_utils::{sign_eip1559, spawn_dev, spawn_node_with, JsonRpc, NodeProcess, TxFees};
use fastevm_dev_chain::{dev_signers, DEV_CHAIN_ID};
use serde_json::{json, Value};
use std::{path::Path, time::Duration};

fn start(datadir: &Path, with_chain: bool, extra_args: &[&str]) -> NodeProcess {
    let chain = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/genesis/dev.json"));
    spawn_node_with(
        Path::new(env!("CARGO_BIN_EXE_fastevm")),
        datadir,
        with_chain.then_some(chain),
        0,
        0,
        extra_args,
    )
}

fn kill(mut node: NodeProcess) {
    node.child.kill().unwrap(); // SIGKILL: no shutdown code runs
    node.child.wait().unwrap();
}

async fn status(rpc: &JsonRpc) -> (String, String) {
    let status: Value = rpc.call("txpool_status", vec![]).await.unwrap();
    (
        status["pending"].as_str().unwrap().to_string(),
        status["queued"].as_str().unwrap().to_string(),
    )
}

/// The hash `txpool_content` lists under `set` for `sender` and `nonce`, if any.
fn listed(content: &Value, set: &str, sender: Address, nonce: u64) -> Option<B256> {
    let hash = content[set][sender.to_checksum(None)][nonce.to_string()]["hash"].as_str()?;
    hash.parse().ok()
}

/// Asserts that the pool holds exactly `pending` as pending and `queued` as queued.
async fn assert_restored(rpc: &JsonRpc, sender: Address, pending: B256, queued: B256) {
    assert_eq!(status(rpc).await, ("0x1".into(), "0x1".into()));
    let content: Value = rpc.call("txpool_content", vec![]).await.unwrap();
    assert_eq!(listed(&content, "pending", sender, 0), Some(pending));
    assert_eq!(listed(&content, "queued", sender, 2), Some(queued));
    let tx: Value = rpc
        .call("eth_getTransactionByHash", vec![json!(queued)])
        .await
        .unwrap();
    assert_eq!(tx["nonce"], json!("0x2"));
}

/// Sends a transfer of dev account 0 with `nonce` and returns its hash.
async fn send(rpc: &JsonRpc, nonce: u64) -> B256 {
    let tx = sign_eip1559(
        &dev_signers()[0],
        DEV_CHAIN_ID,
        nonce,
        Address::repeat_byte(0x55),
        U256::from(1),
        Bytes::new(),
        TxFees::default(),
    );
    let raw = Bytes::from(tx.encoded_2718());
    let hash: B256 = rpc
        .call("eth_sendRawTransaction", vec![json!(raw)])
        .await
        .unwrap();
    assert_eq!(hash, *tx.tx_hash());
    hash
}

#[tokio::test]
async fn pooled_transactions_survive_sigkill() {
    let _turn = crate::module_turn::take(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), true, &[]);
    let rpc = JsonRpc::new(&node.rpc);
    let signer = &dev_signers()[0];
    // Nobody builds blocks: nonce 0 stays pending, nonce 2 queued behind the gap.
    let pending = send(&rpc, 0).await;
    let queued = send(&rpc, 2).await;
    assert_eq!(status(&rpc).await, ("0x1".into(), "0x1".into()));
    kill(node);
    let journal = dir.path().join("txpool.rlp");
    assert!(journal.exists());

    let node = start(dir.path(), false, &[]);
    let rpc = JsonRpc::new(&node.rpc);
    assert_restored(&rpc, signer.address(), pending, queued).await;
    kill(node);

    // Without the journal the pool starts empty, and the file is left alone.
    let saved = std::fs::read(&journal).unwrap();
    let node = start(dir.path(), false, &["--txpool.nojournal"]);
    assert_eq!(
        status(&JsonRpc::new(&node.rpc)).await,
        ("0x0".into(), "0x0".into())
    );
    kill(node);
    assert_eq!(std::fs::read(&journal).unwrap(), saved);

    // --txpool.journal names another file.
    let elsewhere = dir.path().join("elsewhere/pool.rlp");
    std::fs::create_dir_all(elsewhere.parent().unwrap()).unwrap();
    std::fs::copy(&journal, &elsewhere).unwrap();
    std::fs::remove_file(&journal).unwrap();
    let node = start(
        dir.path(),
        false,
        &["--txpool.journal", elsewhere.to_str().unwrap()],
    );
    let rpc = JsonRpc::new(&node.rpc);
    assert_restored(&rpc, signer.address(), pending, queued).await;
    kill(node);
    assert!(!journal.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_chain_restores_what_was_not_mined() {
    let _turn = crate::module_turn::take(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_fastevm"));
    let mut dev = spawn_dev(bin, dir.path(), 1);
    let rpc = JsonRpc::new(&dev.rpc[0]);
    let mined = send(&rpc, 0).await;
    let queued = send(&rpc, 2).await;
    let mut receipt = Value::Null;
    for _ in 0..300 {
        receipt = rpc
            .call("eth_getTransactionReceipt", vec![json!(mined)])
            .await
            .unwrap();
        if !receipt.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!receipt.is_null(), "nonce 0 is mined");
    dev.child.kill().unwrap(); // SIGKILL
    dev.child.wait().unwrap();
    assert!(dir.path().join("node-0/txpool.rlp").exists());

    let dev = spawn_dev(bin, dir.path(), 1);
    let rpc = JsonRpc::new(&dev.rpc[0]);
    // The queued transaction is back, still queued. The mined one is mined (once): if its block
    // was still waiting for the disk at the kill, the journal puts it back in the pool and the
    // replayed commit mines it again, which takes it out.
    let mut settled = (String::new(), String::new());
    for _ in 0..300 {
        settled = status(&rpc).await;
        if settled == ("0x0".into(), "0x1".into()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(settled, ("0x0".into(), "0x1".into()));
    let receipt: Value = rpc
        .call("eth_getTransactionReceipt", vec![json!(mined)])
        .await
        .unwrap();
    assert_eq!(receipt["status"], json!("0x1"));
    let nonce: Value = rpc
        .call(
            "eth_getTransactionCount",
            vec![json!(dev_signers()[0].address()), json!("latest")],
        )
        .await
        .unwrap();
    assert_eq!(nonce, json!("0x1"), "executed exactly once");
    let content: Value = rpc.call("txpool_content", vec![]).await.unwrap();
    let sender = dev_signers()[0].address();
    assert_eq!(listed(&content, "queued", sender, 2), Some(queued));
}
