//! execution-apis `rpc-compat` conformance (the suite hive's `rpc-compat` simulator runs).
//!
//! A fresh in-memory chain is built from the fixtures' `genesis.json` and `chain.rlp` (every block
//! validated and executed), the head, safe and finalized blocks are set from `headfcu.json`, and
//! the server is started on loopback. Then every `.io` file is replayed in path order (hive's
//! order; later files see the pool state earlier ones created): each `>>` line is POSTed as is
//! and the response compared with the following `<<` line as JSON values. Files marked
//! `speconly` only need the same kind of answer (result vs error).
//!
//! Every failing case is printed with the reason. The test fails on any failure not listed in
//! [`KNOWN_UNSUPPORTED`] (each entry says why), and on any listed case that now passes (so the
//! list stays honest).

mod common;

use alloy_consensus::{Block, TxEnvelope};
use alloy_primitives::B256;
use alloy_rlp::Decodable;
use common::http_post;
use fastevm_executor::{init_genesis, parse_genesis, Blockchain, ChainSpec};
use fastevm_rpc::{start_rpc_server, RpcContext, RpcServerConfig};
use fastevm_storage::{ChainStore, StoreOptions};
use fastevm_txpool::{PoolConfig, TxPool};
use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

/// Cases FastEVM does not pass, by path prefix under the fixtures directory, with the reason.
const KNOWN_UNSUPPORTED: &[(&str, &str)] = &[
    (
        "debug_traceBlockByHash/",
        "EVM tracing (debug_trace*) is not implemented",
    ),
    (
        "debug_traceBlockByNumber/",
        "EVM tracing (debug_trace*) is not implemented",
    ),
    (
        "debug_traceTransaction/",
        "EVM tracing (debug_trace*) is not implemented",
    ),
    (
        "testing_buildBlockV1/",
        "testing_buildBlockV1 is not served: FastEVM builds blocks only through the Engine API",
    ),
    (
        "eth_sendRawTransaction/send-blob-tx",
        "blob (EIP-4844) transactions are not pooled: FastEVM has no blob sidecar pool",
    ),
];

/// eth_simulateV1 cases whose answers still differ from geth's. The method is served and its
/// own tests pass (crates/executor/src/call), but these answers are not yet identical: with
/// Osaka active the default call gas (the 50M cap) exceeds EIP-7825's per-transaction cap
/// where geth lowers it, `traceTransfers` is not supported, pre-merge simulated headers
/// differ (difficulty), and several error texts differ from geth's. Listed case by case so a
/// fixed case fails the test until it is removed from here.
const SIMULATE_NOT_YET_CONFORMANT: &[&str] = &[
    "eth_simulateV1/ethSimulate-add-more-non-defined-BlockStateCalls-than-fit-but-now-with-fit.io",
    "eth_simulateV1/ethSimulate-add-more-non-defined-BlockStateCalls-than-fit.io",
    "eth_simulateV1/ethSimulate-basefee-too-low-without-validation-38012-without-basefee-override.io",
    "eth_simulateV1/ethSimulate-basefee-too-low-without-validation-38012.io",
    "eth_simulateV1/ethSimulate-big-block-state-calls-array.io",
    "eth_simulateV1/ethSimulate-blobs.io",
    "eth_simulateV1/ethSimulate-blockhash-complex.io",
    "eth_simulateV1/ethSimulate-blockhash-simple.io",
    "eth_simulateV1/ethSimulate-blockhash-start-before-head.io",
    "eth_simulateV1/ethSimulate-check-invalid-nonce.io",
    "eth_simulateV1/ethSimulate-check-that-balance-is-there-after-new-block.io",
    "eth_simulateV1/ethSimulate-check-that-nonce-increases.io",
    "eth_simulateV1/ethSimulate-contract-calls-itself.io",
    "eth_simulateV1/ethSimulate-empty-with-block-num-set-firstblock.io",
    "eth_simulateV1/ethSimulate-eth-send-should-not-produce-logs-by-default.io",
    "eth_simulateV1/ethSimulate-eth-send-should-not-produce-logs-on-revert.io",
    "eth_simulateV1/ethSimulate-eth-send-should-produce-logs.io",
    "eth_simulateV1/ethSimulate-eth-send-should-produce-no-logs-on-forward-revert.io",
    "eth_simulateV1/ethSimulate-extcodehash-existing-contract.io",
    "eth_simulateV1/ethSimulate-extcodehash-override.io",
    "eth_simulateV1/ethSimulate-extcodehash-precompile.io",
    "eth_simulateV1/ethSimulate-gas-fees-and-value-error-38014-with-validation.io",
    "eth_simulateV1/ethSimulate-gas-fees-and-value-error-38014.io",
    "eth_simulateV1/ethSimulate-get-block-properties.io",
    "eth_simulateV1/ethSimulate-instrict-gas-38013.io",
    "eth_simulateV1/ethSimulate-move-ecrecover-and-call-old-and-new.io",
    "eth_simulateV1/ethSimulate-move-ecrecover-and-call.io",
    "eth_simulateV1/ethSimulate-move-ecrecover-twice-and-call.io",
    "eth_simulateV1/ethSimulate-move-two-accounts-to-same-38023.io",
    "eth_simulateV1/ethSimulate-move-two-non-precompiles-accounts-to-same.io",
    "eth_simulateV1/ethSimulate-no-fields-call.io",
    "eth_simulateV1/ethSimulate-only-from-to-transaction.io",
    "eth_simulateV1/ethSimulate-overflow-nonce-validation.io",
    "eth_simulateV1/ethSimulate-overflow-nonce.io",
    "eth_simulateV1/ethSimulate-override-address-twice-in-separate-BlockStateCalls.io",
    "eth_simulateV1/ethSimulate-override-address-twice.io",
    "eth_simulateV1/ethSimulate-override-block-num.io",
    "eth_simulateV1/ethSimulate-override-ecrecover.io",
    "eth_simulateV1/ethSimulate-override-identity.io",
    "eth_simulateV1/ethSimulate-override-sha256.io",
    "eth_simulateV1/ethSimulate-overwrite-existing-contract.io",
    "eth_simulateV1/ethSimulate-precompile-is-sending-transaction.io",
    "eth_simulateV1/ethSimulate-run-gas-spending.io",
    "eth_simulateV1/ethSimulate-run-out-of-gas-in-block-38015.io",
    "eth_simulateV1/ethSimulate-self-destructive-contract-produces-logs.io",
    "eth_simulateV1/ethSimulate-send-eth-and-delegate-call-to-eoa.io",
    "eth_simulateV1/ethSimulate-send-eth-and-delegate-call-to-payble-contract.io",
    "eth_simulateV1/ethSimulate-send-eth-and-delegate-call.io",
    "eth_simulateV1/ethSimulate-simple-more-params-validate.io",
    "eth_simulateV1/ethSimulate-simple-no-funds-with-balance-querying.io",
    "eth_simulateV1/ethSimulate-simple-no-funds-with-validation-without-nonces.io",
    "eth_simulateV1/ethSimulate-simple-no-funds-with-validation.io",
    "eth_simulateV1/ethSimulate-simple-send-from-contract-no-balance.io",
    "eth_simulateV1/ethSimulate-simple-send-from-contract-with-validation.io",
    "eth_simulateV1/ethSimulate-simple-send-from-contract.io",
    "eth_simulateV1/ethSimulate-simple-state-diff.io",
    "eth_simulateV1/ethSimulate-simple-with-validation-no-funds.io",
    "eth_simulateV1/ethSimulate-simple.io",
    "eth_simulateV1/ethSimulate-transaction-too-high-nonce.io",
    "eth_simulateV1/ethSimulate-transaction-too-low-nonce-38010.io",
    "eth_simulateV1/ethSimulate-try-to-move-non-precompile.io",
    "eth_simulateV1/ethSimulate-two-blocks-with-complete-eth-sends.io",
    "eth_simulateV1/ethSimulate-use-as-many-features-as-possible.io",
];

const SIMULATE_REASON: &str =
    "eth_simulateV1 answer not yet identical to geth's (see SIMULATE_NOT_YET_CONFORMANT)";

fn fixtures() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/rpc-compat"
    ))
}

fn io_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("fixture directory")
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            io_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "io") {
            out.push(path);
        }
    }
}

/// The fixture chain in a fresh in-memory store, head/safe/finalized as `headfcu.json` says.
fn import_chain() -> (Arc<ChainStore>, Arc<ChainSpec>) {
    let dir = fixtures();
    let genesis = parse_genesis(&std::fs::read_to_string(dir.join("genesis.json")).unwrap())
        .expect("genesis.json");
    let store = Arc::new(ChainStore::open("rpc-compat", StoreOptions::in_memory()).unwrap());
    init_genesis(&store, &genesis).expect("genesis import");
    let spec = Arc::new(ChainSpec::from_genesis(&genesis).expect("chain spec"));
    let chain = Blockchain::new(store.clone(), spec.clone());
    let rlp = std::fs::read(dir.join("chain.rlp")).unwrap();
    let mut slice = rlp.as_slice();
    let mut imported = 0;
    while !slice.is_empty() {
        let block = Block::<TxEnvelope>::decode(&mut slice).expect("chain.rlp block");
        let number = block.header.number;
        chain
            .insert_block(&block)
            .unwrap_or_else(|e| panic!("block {number} of chain.rlp: {e}"));
        imported += 1;
    }
    let fcu: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("headfcu.json")).unwrap()).unwrap();
    let state = &fcu["params"][0];
    let hash = |key: &str| -> B256 { state[key].as_str().unwrap().parse().unwrap() };
    chain.set_head(hash("headBlockHash")).unwrap();
    store
        .set_safe_and_finalized(hash("safeBlockHash"), hash("finalizedBlockHash"))
        .unwrap();
    assert_eq!(store.head_hash().unwrap(), hash("headBlockHash"));
    println!("imported {imported} blocks; head {}", hash("headBlockHash"));
    (store, spec)
}

/// One `.io` file's outcome.
enum Outcome {
    Passed,
    Failed(String),
}

fn compare(
    expected: &serde_json::Value,
    got: &serde_json::Value,
    spec_only: bool,
) -> Result<(), String> {
    if spec_only {
        let kind = |v: &serde_json::Value| {
            if v.get("error").is_some() {
                "error"
            } else if v.get("result").is_some() {
                "result"
            } else {
                "neither"
            }
        };
        if kind(expected) == kind(got) {
            return Ok(());
        }
        return Err(format!(
            "expected a {} response, got {}",
            kind(expected),
            truncate(&got.to_string())
        ));
    }
    if expected == got {
        return Ok(());
    }
    Err(format!(
        "response differs\n      expected: {}\n      got:      {}",
        truncate(&expected.to_string()),
        truncate(&got.to_string())
    ))
}

fn truncate(s: &str) -> String {
    const MAX: usize = 600;
    if s.len() <= MAX {
        s.to_string()
    } else {
        format!("{}… ({} bytes)", &s[..s.floor_char_boundary(MAX)], s.len())
    }
}

async fn run_case(addr: std::net::SocketAddr, text: &str) -> Outcome {
    let spec_only = text
        .lines()
        .take_while(|l| l.trim_start().starts_with("//"))
        .any(|l| l.contains("speconly"));
    let mut last_response: Option<serde_json::Value> = None;
    for line in text.lines().map(str::trim) {
        if let Some(request) = line.strip_prefix(">> ") {
            let (status, body) = http_post(addr, request).await;
            match serde_json::from_str(&body) {
                Ok(v) => last_response = Some(v),
                Err(e) => {
                    return Outcome::Failed(format!(
                        "HTTP {status}: response is not JSON ({e}): {}",
                        truncate(&body)
                    ))
                }
            }
        } else if let Some(expected) = line.strip_prefix("<< ") {
            let expected: serde_json::Value = serde_json::from_str(expected).expect("fixture JSON");
            let Some(got) = last_response.take() else {
                return Outcome::Failed("fixture has a response before a request".into());
            };
            if let Err(reason) = compare(&expected, &got, spec_only) {
                return Outcome::Failed(reason);
            }
        }
    }
    Outcome::Passed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_compat_fixtures() {
    let (store, spec) = import_chain();
    let head = store.head_header().unwrap();
    let pool = Arc::new(TxPool::new(
        PoolConfig {
            block_gas_limit: head.gas_limit,
            ..PoolConfig::default()
        },
        spec.chain_id,
    ));
    let ctx = RpcContext::new(store, spec, pool);
    let server = start_rpc_server(
        RpcServerConfig {
            http_addr: "127.0.0.1:0".parse().unwrap(),
            ..RpcServerConfig::default()
        },
        ctx,
    )
    .await
    .unwrap();

    let root = fixtures();
    let mut files = Vec::new();
    io_files(&root, &mut files);
    assert!(
        files.len() > 100,
        "expected the rpc-compat fixtures, found {}",
        files.len()
    );

    let (mut passed, mut failed, mut unsupported) = (0, Vec::new(), Vec::new());
    let mut unexpectedly_passing = Vec::new();
    for path in &files {
        let name = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let known = KNOWN_UNSUPPORTED
            .iter()
            .find(|(prefix, _)| name.starts_with(prefix))
            .copied()
            .or_else(|| {
                SIMULATE_NOT_YET_CONFORMANT
                    .contains(&name.as_str())
                    .then_some(("", SIMULATE_REASON))
            });
        let text = std::fs::read_to_string(path).unwrap();
        match (run_case(server.http_addr, &text).await, known) {
            (Outcome::Passed, None) => passed += 1,
            (Outcome::Passed, Some(_)) => unexpectedly_passing.push(name),
            (Outcome::Failed(reason), None) => failed.push((name, reason)),
            (Outcome::Failed(_), Some((_, why))) => unsupported.push((name, why)),
        }
    }

    println!("\nknown unsupported ({}):", unsupported.len());
    for (name, why) in &unsupported {
        println!("  {name}: {why}");
    }
    println!("\nfailed ({}):", failed.len());
    for (name, reason) in &failed {
        println!("  {name}: {reason}");
    }
    println!(
        "\nrpc-compat: {} cases, {passed} passed, {} failed, {} known unsupported",
        files.len(),
        failed.len(),
        unsupported.len()
    );
    assert!(
        unexpectedly_passing.is_empty(),
        "listed as unsupported but passing (remove from KNOWN_UNSUPPORTED): {unexpectedly_passing:?}"
    );
    assert!(
        failed.is_empty(),
        "{} rpc-compat cases failed",
        failed.len()
    );
}
