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
//! list stays honest). With `RPC_COMPAT_SHOW_KNOWN=1` the answers of the listed cases are printed
//! too (with `--nocapture`), each with where it first differs from the fixture.

mod common;

use alloy_consensus::{Block, TxEnvelope};
use alloy_primitives::B256;
use alloy_rlp::Decodable;
use common::http_post;
use fastevm_executor::{parse_genesis, test_utils::in_memory_chain, ChainSpec};
use fastevm_rpc::{start_rpc_server, RpcContext, RpcServerConfig, RpcServerHandle};
use fastevm_storage::ChainStore;
use fastevm_txpool::{PoolConfig, TxPool};
use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

/// Cases FastEVM does not pass, by path prefix under the fixtures directory, with the reason.
/// Empty: every case passes (keep the mechanism for cases future fixtures add).
const KNOWN_UNSUPPORTED: &[(&str, &str)] = &[];

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
    let chain = in_memory_chain("rpc-compat", &genesis);
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
    chain
        .set_safe_and_finalized(hash("safeBlockHash"), hash("finalizedBlockHash"))
        .unwrap();
    assert_eq!(chain.store().head_hash().unwrap(), hash("headBlockHash"));
    println!("imported {imported} blocks; head {}", hash("headBlockHash"));
    (chain.store().clone(), chain.spec().clone())
}

/// The public RPC server over the imported chain, with an empty pool, on a loopback port.
async fn serve(store: Arc<ChainStore>, spec: Arc<ChainSpec>) -> RpcServerHandle {
    let head = store.head_header().unwrap();
    let pool = Arc::new(TxPool::new(
        PoolConfig {
            block_gas_limit: head.gas_limit,
            ..PoolConfig::default()
        },
        spec.chain_id,
    ));
    start_rpc_server(
        RpcServerConfig {
            http_addr: "127.0.0.1:0".parse().unwrap(),
            // hive serves the testing namespace for testing_buildBlockV1.
            testing_api: true,
            ..RpcServerConfig::default()
        },
        RpcContext::new(store, spec, pool),
    )
    .await
    .unwrap()
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
        "response differs{}\n      expected: {}\n      got:      {}",
        first_difference(expected, got, "$")
            .map(|at| format!(" first at {at}"))
            .unwrap_or_default(),
        truncate(&expected.to_string()),
        truncate(&got.to_string())
    ))
}

/// Where two JSON values first differ (a JSONPath-like location with both values there).
fn first_difference(
    expected: &serde_json::Value,
    got: &serde_json::Value,
    at: &str,
) -> Option<String> {
    use serde_json::Value;
    match (expected, got) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .find_map(|key| match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => first_difference(x, y, &format!("{at}.{key}")),
                    (x, y) => Some(format!("{at}.{key}: expected {x:?}, got {y:?}")),
                })
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| first_difference(x, y, &format!("{at}[{i}]"))),
        (a, b) if a == b => None,
        (a, b) => Some(format!(
            "{at}: expected {}, got {}",
            truncate(&a.to_string()),
            truncate(&b.to_string())
        )),
    }
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
    let server = serve(store, spec).await;

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
            .copied();
        let text = std::fs::read_to_string(path).unwrap();
        match (run_case(server.http_addr, &text).await, known) {
            (Outcome::Passed, None) => passed += 1,
            (Outcome::Passed, Some(_)) => unexpectedly_passing.push(name),
            (Outcome::Failed(reason), None) => failed.push((name, reason)),
            (Outcome::Failed(reason), Some((_, why))) => unsupported.push((name, why, reason)),
        }
    }

    println!("\nknown unsupported ({}):", unsupported.len());
    for (name, why, reason) in &unsupported {
        println!("  {name}: {why}");
        if std::env::var_os("RPC_COMPAT_SHOW_KNOWN").is_some() {
            println!("    {reason}");
        }
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

/// `eth_getUncle*` over the fixture chain's pre-merge blocks: every ommer a block lists is served
/// by hash and by number, its hash is the one in the block's `uncles`, and its fields are the
/// ones the block body carries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uncles_of_the_fixture_chain() {
    let (store, spec) = import_chain();
    let head = store.head_header().unwrap();
    let server = serve(store.clone(), spec).await;
    let call = |method: &str, params: serde_json::Value| {
        let request =
            serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        async move {
            let (_, body) = http_post(server.http_addr, &request.to_string()).await;
            let response: serde_json::Value = serde_json::from_str(&body).unwrap();
            response["result"].clone()
        }
    };
    let mut ommers_seen = 0;
    for number in 0..=head.number {
        let hash = store.canonical_hash(number).unwrap().unwrap();
        let body = store.body(&hash).unwrap().unwrap();
        let hex_number = format!("{number:#x}");
        let count = call(
            "eth_getUncleCountByBlockNumber",
            serde_json::json!([hex_number]),
        )
        .await;
        assert_eq!(
            count,
            serde_json::json!(format!("{:#x}", body.ommers.len()))
        );
        let by_hash = call("eth_getUncleCountByBlockHash", serde_json::json!([hash])).await;
        assert_eq!(by_hash, count);
        let block = call(
            "eth_getBlockByNumber",
            serde_json::json!([hex_number, false]),
        )
        .await;
        for (index, ommer) in body.ommers.iter().enumerate() {
            let index = format!("{index:#x}");
            let uncle = call(
                "eth_getUncleByBlockNumberAndIndex",
                serde_json::json!([hex_number, index]),
            )
            .await;
            assert_eq!(uncle["hash"], serde_json::json!(ommer.hash_slow()));
            assert_eq!(
                uncle["hash"],
                block["uncles"][usize::from_str_radix(&index[2..], 16).unwrap()]
            );
            assert_eq!(
                uncle["number"],
                serde_json::json!(format!("{:#x}", ommer.number))
            );
            assert_eq!(uncle["miner"], serde_json::json!(ommer.beneficiary));
            assert!(uncle.get("transactions").is_none(), "{uncle}");
            let same = call(
                "eth_getUncleByBlockHashAndIndex",
                serde_json::json!([hash, index]),
            )
            .await;
            assert_eq!(same, uncle);
            ommers_seen += 1;
        }
        let past_end = format!("{:#x}", body.ommers.len());
        let none = call(
            "eth_getUncleByBlockHashAndIndex",
            serde_json::json!([hash, past_end]),
        )
        .await;
        assert!(none.is_null(), "{none}");
    }
    assert!(ommers_seen > 0, "the fixture chain has ommers to serve");
    let unknown = call(
        "eth_getUncleCountByBlockHash",
        serde_json::json!([B256::repeat_byte(9)]),
    )
    .await;
    assert!(unknown.is_null());
}
