//! Engine API benchmark over loopback JSON-RPC with JWT: blocks built on node A are imported by
//! node B with `engine_newPayloadV4` + `engine_forkchoiceUpdatedV3`; reports round trips per
//! second and p50/p99 latency for empty payloads, and the latency of 1,000-transfer payloads
//! (import on B, and build on A: FCU with attributes + getPayload).
//!
//! `cargo bench --bench engine_api`. `FASTEVM_BENCH_EMPTY` (default 500) and
//! `FASTEVM_BENCH_FULL` (default 10) set the number of blocks.

use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_rpc_types_engine::{
    ExecutionPayloadEnvelopeV4, ForkchoiceState, PayloadAttributes, PayloadStatusEnum,
};
use fastevm::{
    dev_genesis::{dev_genesis, DEV_CHAIN_ID},
    test_utils::{indexed_signer, sign_eip1559, TxFees},
};
use fastevm_engine::Engine;
use fastevm_engine_rpc::{
    engine_http_client, start_auth_server, EngineApiClient, EngineHttpClient, EngineRpc,
    FastPayloadAttributes, JwtSecret,
};
use fastevm_executor::{init_genesis, Blockchain, ChainSpec};
use fastevm_storage::{ChainStore, StoreOptions};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

const SENDERS: u64 = 1_000;

async fn node(dir: &std::path::Path) -> (EngineHttpClient, jsonrpsee::server::ServerHandle) {
    let mut genesis = dev_genesis();
    genesis.gas_limit = 300_000_000;
    for s in 0..SENDERS {
        genesis.alloc.insert(
            indexed_signer(s).address(),
            alloy_genesis::GenesisAccount::default().with_balance(U256::from(10u128.pow(21))),
        );
    }
    let store = ChainStore::open(dir, StoreOptions::default()).unwrap();
    init_genesis(&store, &genesis).unwrap();
    let engine = Arc::new(Engine::new(Blockchain::new(
        Arc::new(store),
        Arc::new(ChainSpec::from_genesis(&genesis).unwrap()),
    )));
    let secret = JwtSecret::random();
    let (handle, addr) = start_auth_server(
        "127.0.0.1:0".parse().unwrap(),
        secret.clone(),
        EngineRpc::new(engine, None),
        None,
    )
    .await
    .unwrap();
    (
        engine_http_client(&format!("http://{addr}"), secret, Duration::from_secs(60)).unwrap(),
        handle,
    )
}

fn fcs(h: B256) -> ForkchoiceState {
    ForkchoiceState {
        head_block_hash: h,
        safe_block_hash: h,
        finalized_block_hash: h,
    }
}

fn hash_of(e: &ExecutionPayloadEnvelopeV4) -> B256 {
    e.envelope_inner
        .execution_payload
        .payload_inner
        .payload_inner
        .block_hash
}

async fn build(
    c: &EngineHttpClient,
    head: B256,
    timestamp: u64,
    txs: Vec<Bytes>,
) -> (ExecutionPayloadEnvelopeV4, Duration) {
    let attributes = FastPayloadAttributes {
        inner: PayloadAttributes {
            timestamp,
            prev_randao: B256::ZERO,
            suggested_fee_recipient: Address::repeat_byte(0xfe),
            withdrawals: Some(vec![]),
            parent_beacon_block_root: Some(B256::ZERO),
            slot_number: None,
            target_gas_limit: None,
        },
        transactions: Some(txs),
        no_tx_pool: Some(true),
        gas_limit: None,
        extra_data: None,
    };
    let started = Instant::now();
    let updated = c
        .forkchoice_updated_v3(fcs(head), Some(attributes))
        .await
        .unwrap();
    let envelope = c.get_payload_v4(updated.payload_id.unwrap()).await.unwrap();
    let build_time = started.elapsed();
    import(c, &envelope).await;
    (envelope, build_time)
}

async fn import(c: &EngineHttpClient, e: &ExecutionPayloadEnvelopeV4) -> Duration {
    let started = Instant::now();
    let status = c
        .new_payload_v4(
            e.envelope_inner.execution_payload.clone(),
            vec![],
            B256::ZERO,
            e.execution_requests.clone(),
        )
        .await
        .unwrap();
    assert_eq!(status.status, PayloadStatusEnum::Valid);
    c.forkchoice_updated_v3(fcs(hash_of(e)), None)
        .await
        .unwrap();
    started.elapsed()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let total: Duration = samples.iter().sum();
    println!(
        "{name:<44} n={:<4} {:>8.1}/s  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
        samples.len(),
        samples.len() as f64 / total.as_secs_f64(),
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
        samples.last().unwrap().as_secs_f64() * 1e3,
    );
}

#[tokio::main]
async fn main() {
    let empty: u64 = std::env::var("FASTEVM_BENCH_EMPTY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let full: u64 = std::env::var("FASTEVM_BENCH_FULL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let ((a, _ha), (b, _hb)) = (node(dir_a.path()).await, node(dir_b.path()).await);
    let genesis = {
        let g = dev_genesis();
        let mut g2 = g.clone();
        g2.gas_limit = 300_000_000;
        for s in 0..SENDERS {
            g2.alloc.insert(
                indexed_signer(s).address(),
                alloy_genesis::GenesisAccount::default().with_balance(U256::from(10u128.pow(21))),
            );
        }
        fastevm_executor::genesis_block(&g2, &ChainSpec::from_genesis(&g2).unwrap())
            .unwrap()
            .hash
    };
    println!("engine_api: loopback JSON-RPC + JWT, on-disk RocksDB, blocks built on node A and imported by node B");
    let mut head = genesis;
    let mut empty_blocks = Vec::new();
    for t in 1..=empty {
        let (e, _) = build(&a, head, t, vec![]).await;
        head = hash_of(&e);
        empty_blocks.push(e);
    }
    let mut imports = Vec::new();
    for e in &empty_blocks {
        imports.push(import(&b, e).await);
    }
    report("empty payload: newPayloadV4 + FCUv3 (import)", imports);

    let mut builds = Vec::new();
    let mut full_blocks = Vec::new();
    for n in 0..full {
        let txs: Vec<Bytes> = (0..SENDERS)
            .map(|s| {
                sign_eip1559(
                    &indexed_signer(s),
                    DEV_CHAIN_ID,
                    n,
                    Address::repeat_byte(0x42),
                    U256::from(1),
                    Bytes::new(),
                    TxFees::default(),
                )
                .encoded_2718()
                .into()
            })
            .collect();
        let (e, build_time) = build(&a, head, empty + 1 + n, txs).await;
        assert_eq!(
            e.envelope_inner
                .execution_payload
                .payload_inner
                .payload_inner
                .transactions
                .len(),
            SENDERS as usize
        );
        head = hash_of(&e);
        builds.push(build_time);
        full_blocks.push(e);
    }
    report(
        "1,000-transfer payload: FCU(attrs) + getPayloadV4 (build)",
        builds,
    );
    let mut imports = Vec::new();
    for e in &full_blocks {
        imports.push(import(&b, e).await);
    }
    report(
        "1,000-transfer payload: newPayloadV4 + FCUv3 (import)",
        imports,
    );
}
