//! Prometheus metrics as an operator scrapes them: one execution node (`fastevm node --metrics`)
//! driven by one validator (`fastevm consensus --metrics`, a committee of one) takes a few
//! transfers; afterwards every metric either process registers has moved, and the figures agree
//! with the chain (gas, transactions per block, calls).

use alloy_primitives::{Address, B256, U256};
use fastevm::test_utils::{
    consensus_args, free_port, send_dev_transfer, spawn_consensus, spawn_node_with, JsonRpc,
};
use fastevm_consensus_node::generate_local_committee;
use serde_json::{json, Value};
use std::{
    io::{Read, Write},
    path::Path,
    process::Child,
    time::Duration,
};

const TRANSFERS: u64 = 12;

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_fastevm"))
}

fn genesis() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/genesis/dev.json"))
}

/// Kills the processes when the test ends, however it ends.
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The text `GET /metrics` answers at `addr`.
fn scrape(addr: &str) -> String {
    let mut stream = std::net::TcpStream::connect(addr).expect("metrics port");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
}

/// The value of the sample named exactly `series` (name with its labels, if any).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().expect("numeric sample"))
        })
}

fn value(text: &str, series: &str) -> f64 {
    sample(text, series).unwrap_or_else(|| panic!("no sample {series} in:\n{text}"))
}

/// Names of the metrics the text declares (`# TYPE name kind`).
fn declared(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .map(|rest| rest.split_whitespace().next().unwrap().to_string())
        .collect()
}

async fn send(rpc: &JsonRpc, nonce: u64) -> B256 {
    send_dev_transfer(rpc, 0, nonce, Address::repeat_byte(0x42), U256::from(1)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_moves_and_agrees_with_the_chain() {
    let _turn = crate::module_turn::take(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let (mut committee, mut configs) = generate_local_committee(1, 0, None).unwrap();
    let address = format!("127.0.0.1:{}", free_port());
    committee.authorities[0].network_address = address.clone();
    configs[0].listen_address = address;
    configs[0].storage_path = root.join("consensus");
    let (committee_path, config_path) = (root.join("committee.json"), root.join("node.json"));
    committee.save(&committee_path).unwrap();
    configs[0].save(&config_path).unwrap();

    let (node_metrics, consensus_metrics) = (
        format!("127.0.0.1:{}", free_port()),
        format!("127.0.0.1:{}", free_port()),
    );
    let datadir = root.join("execution");
    let node = spawn_node_with(
        bin(),
        &datadir,
        Some(genesis()),
        0,
        0,
        &["--metrics", &node_metrics],
    );
    let rpc = JsonRpc::new(&node.rpc);
    let mut args = consensus_args(&node.authrpc, &datadir, &committee_path, &config_path);
    args.extend(["--metrics".into(), consensus_metrics.clone()]);
    let consensus = spawn_consensus(bin(), &args);
    let _processes = Processes(vec![node.child, consensus]);

    let mut hashes = Vec::new();
    for nonce in 0..TRANSFERS {
        hashes.push(send(&rpc, nonce).await);
    }
    // A transaction from a nonce far ahead waits in the queue for good.
    send(&rpc, TRANSFERS + 100).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    for hash in &hashes {
        loop {
            let receipt: Value = rpc
                .call("eth_getTransactionReceipt", vec![json!(hash)])
                .await
                .unwrap();
            if !receipt.is_null() {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "{hash} not mined");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // The pool gauges are refreshed every second.
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    let text = scrape(&node_metrics);
    for histogram in [
        "fastevm_block_execution_seconds",
        "fastevm_state_root_seconds",
        "fastevm_block_commit_seconds",
    ] {
        assert!(
            value(&text, &format!("{histogram}_count")) > 0.0,
            "{histogram} never observed:\n{text}"
        );
    }
    assert_eq!(
        value(&text, "fastevm_gas_total"),
        (TRANSFERS * 21_000) as f64,
        "gas of the transfers, the only transactions"
    );
    let head = value(&text, "fastevm_head_number");
    assert!(head >= 1.0);
    let block: Value = rpc
        .call(
            "eth_getBlockByNumber",
            vec![json!(format!("{:#x}", head as u64)), json!(false)],
        )
        .await
        .unwrap();
    assert_eq!(
        value(&text, "fastevm_block_transactions"),
        block["transactions"].as_array().unwrap().len() as f64,
        "transactions of the head block"
    );
    assert!(
        value(
            &text,
            "fastevm_engine_calls_total{method=\"newPayloadV4\",outcome=\"ok\"}"
        ) > 0.0
    );
    assert!(
        value(
            &text,
            "fastevm_engine_calls_total{method=\"forkchoiceUpdatedV3\",outcome=\"ok\"}"
        ) > 0.0
    );
    let sent = "{method=\"eth_sendRawTransaction\"}";
    assert_eq!(
        value(&text, &format!("fastevm_rpc_calls_total{sent}")),
        (TRANSFERS + 1) as f64
    );
    assert_eq!(
        value(&text, &format!("fastevm_rpc_seconds_count{sent}")),
        (TRANSFERS + 1) as f64
    );
    // Per-hop latencies: every transfer was handed to the validator once (the queued one never)
    // and observed when its block became canonical.
    assert_eq!(
        value(&text, "fastevm_tx_admission_to_proposal_seconds_count"),
        TRANSFERS as f64
    );
    assert_eq!(
        value(&text, "fastevm_tx_inclusion_seconds_count"),
        TRANSFERS as f64
    );
    assert_eq!(value(&text, "fastevm_txpool_queued"), 1.0);
    assert_eq!(value(&text, "fastevm_txpool_pending"), 0.0);

    let consensus = scrape(&consensus_metrics);
    assert!(value(&consensus, "fastevm_consensus_round") > 0.0);
    assert!(value(&consensus, "fastevm_consensus_commit_index") > 0.0);
    assert!(value(&consensus, "fastevm_consensus_commit_latency_seconds_count") > 0.0);
    assert!(
        value(
            &consensus,
            "fastevm_consensus_proposal_to_commit_seconds_count"
        ) > 0.0
    );
    assert!(value(&consensus, "fastevm_head_number") >= head);
    // A committee of one is its own quorum: its executed blocks are agreed as they come.
    assert!(value(&consensus, "fastevm_executed_agreement_height") > 0.0);
    // A committee of one has no peer to hear from (tests/dashboard.rs sees 3 with four).
    assert_eq!(value(&consensus, "fastevm_consensus_peers"), 0.0);
    // Nor anyone to swap out of the leader schedule.
    assert_eq!(
        value(&consensus, "fastevm_consensus_leaders_swapped_out"),
        0.0
    );
    // A short run stays inside the retention window: nothing pruned yet.
    assert_eq!(value(&consensus, "fastevm_consensus_pruned_round"), 0.0);
    // Its own commits are a quorum's; it never lags, so nothing comes through commit sync.
    assert!(value(&consensus, "fastevm_consensus_quorum_commit_index") > 0.0);
    assert_eq!(value(&consensus, "fastevm_consensus_commits_synced"), 0.0);

    // Every metric registered is reported by one of the two processes and checked above (all
    // moved but the peer count and the swapped-out leaders, which are right at zero here).
    let checked = [
        "fastevm_block_execution_seconds",
        "fastevm_state_root_seconds",
        "fastevm_block_commit_seconds",
        "fastevm_gas_total",
        "fastevm_head_number",
        "fastevm_block_transactions",
        "fastevm_engine_calls_total",
        "fastevm_rpc_calls_total",
        "fastevm_rpc_seconds",
        "fastevm_txpool_pending",
        "fastevm_txpool_queued",
        "fastevm_consensus_round",
        "fastevm_consensus_commit_index",
        "fastevm_consensus_commit_latency_seconds",
        "fastevm_consensus_peers",
        "fastevm_consensus_leaders_swapped_out",
        "fastevm_consensus_pruned_round",
        "fastevm_consensus_quorum_commit_index",
        "fastevm_consensus_commits_synced",
        "fastevm_executed_agreement_height",
        "fastevm_tx_admission_to_proposal_seconds",
        "fastevm_consensus_proposal_to_commit_seconds",
        "fastevm_tx_inclusion_seconds",
    ];
    for name in declared(&text).iter().chain(&declared(&consensus)) {
        assert!(checked.contains(&name.as_str()), "{name} is not checked");
    }
}
