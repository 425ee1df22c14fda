//! Four execution nodes (`fastevm node`) and four validators (`fastevm consensus`) as separate
//! processes. Mid-load one validator and another validator's execution node are killed with
//! SIGKILL and restarted: both recover, and every transaction is executed exactly once, in the
//! same block, on all four nodes.

use alloy_primitives::{Address, B256, U256};
use fastevm::test_utils::{
    consensus_args, free_port, send_dev_transfer, spawn_consensus, spawn_node_on, JsonRpc,
};
use fastevm_consensus_node::generate_local_committee;
use fastevm_dev_chain::dev_signers;
use serde_json::{json, Value};
use std::{
    path::{Path, PathBuf},
    process::Child,
    time::Duration,
};

const SENDERS: usize = 8;
const PER_SENDER: u64 = 30;

struct Validator {
    datadir: PathBuf,
    authrpc_port: u16,
    http_port: u16,
    execution: Child,
    consensus: Child,
    consensus_args: Vec<String>,
}

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_fastevm"))
}

fn genesis() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/genesis/dev.json"))
}

fn kill(child: &mut Child) {
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
}

impl Drop for Validator {
    fn drop(&mut self) {
        let _ = self.consensus.kill();
        let _ = self.execution.kill();
        let _ = self.consensus.wait();
        let _ = self.execution.wait();
    }
}

fn start_validators(root: &Path) -> Vec<Validator> {
    let (mut committee, mut configs) = generate_local_committee(4, 0, None).unwrap();
    for (i, (authority, config)) in committee
        .authorities
        .iter_mut()
        .zip(configs.iter_mut())
        .enumerate()
    {
        let address = format!("127.0.0.1:{}", free_port());
        authority.network_address = address.clone();
        config.listen_address = address;
        config.storage_path = root.join(format!("validator-{i}/consensus"));
    }
    let committee_path = root.join("committee.json");
    committee.save(&committee_path).unwrap();
    let mut validators = Vec::new();
    for (i, config) in configs.iter().enumerate() {
        let datadir = root.join(format!("validator-{i}/execution"));
        let (authrpc_port, http_port) = (free_port(), free_port());
        let node = spawn_node_on(bin(), &datadir, Some(genesis()), authrpc_port, http_port);
        let config_path = root.join(format!("validator-{i}.json"));
        config.save(&config_path).unwrap();
        let mut consensus_args =
            consensus_args(&node.authrpc, &datadir, &committee_path, &config_path);
        // Two validators hand their nodes the transactions of accepted DAG blocks early.
        if i % 2 == 0 {
            consensus_args.push("--prefetch-senders".into());
        }
        let consensus = spawn_consensus(bin(), &consensus_args);
        validators.push(Validator {
            datadir,
            authrpc_port,
            http_port,
            execution: node.child,
            consensus,
            consensus_args,
        });
    }
    validators
}

fn rpc(v: &Validator) -> JsonRpc {
    JsonRpc::new(&format!("127.0.0.1:{}", v.http_port))
}

async fn send(rpc: &JsonRpc, sender: usize, nonce: u64) -> B256 {
    let to = Address::repeat_byte(0x20 + sender as u8);
    send_dev_transfer(rpc, sender, nonce, to, U256::from(1 + nonce)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_validator_and_execution_node_recover_without_losing_transactions() {
    let _turn = crate::module_turn::take(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let mut validators = start_validators(dir.path());
    // Transactions go through nodes 0 and 3, whose processes stay up.
    let entry = [rpc(&validators[0]), rpc(&validators[3])];
    let mut hashes = Vec::new();
    for nonce in 0..PER_SENDER {
        if nonce == PER_SENDER / 3 {
            kill(&mut validators[1].consensus);
            kill(&mut validators[2].execution);
        }
        if nonce == PER_SENDER / 2 {
            let v = &mut validators[2];
            v.execution = spawn_node_on(bin(), &v.datadir, None, v.authrpc_port, v.http_port).child;
            let v = &mut validators[1];
            v.consensus = spawn_consensus(bin(), &v.consensus_args);
        }
        for sender in 0..SENDERS {
            hashes.push(send(&entry[sender % 2], sender, nonce).await);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let nodes: Vec<JsonRpc> = validators.iter().map(rpc).collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    for hash in &hashes {
        let mut blocks = Vec::new();
        for (i, node) in nodes.iter().enumerate() {
            let receipt: Value = loop {
                let r: Value = node
                    .call("eth_getTransactionReceipt", vec![json!(hash)])
                    .await
                    .unwrap_or(Value::Null);
                if !r.is_null() {
                    break r;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "transaction {hash} missing on node {i}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            };
            blocks.push(receipt["blockHash"].clone());
        }
        assert!(
            blocks.windows(2).all(|w| w[0] == w[1]),
            "transaction {hash} in different blocks: {blocks:?}"
        );
    }
    // Executed once each: the nonces and the recipients' balances are exact.
    for sender in 0..SENDERS {
        for (i, node) in nodes.iter().enumerate() {
            let nonce: U256 = node
                .call(
                    "eth_getTransactionCount",
                    vec![json!(dev_signers()[sender].address()), json!("latest")],
                )
                .await
                .unwrap();
            assert_eq!(nonce, U256::from(PER_SENDER), "node {i} sender {sender}");
            let balance: U256 = node
                .call(
                    "eth_getBalance",
                    vec![
                        json!(Address::repeat_byte(0x20 + sender as u8)),
                        json!("latest"),
                    ],
                )
                .await
                .unwrap();
            let expected: u64 = (0..PER_SENDER).map(|n| 1 + n).sum();
            assert_eq!(balance, U256::from(expected), "node {i} recipient {sender}");
        }
    }
}
