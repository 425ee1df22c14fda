//! Shared pieces of the Engine API benchmarks: nodes over loopback JSON-RPC with JWT, payload
//! building and import through the Engine API, and latency reports.

#![allow(dead_code)] // Each benchmark uses a different subset.

use alloy_genesis::{Genesis, GenesisAccount};
use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_rpc_types_engine::{
    ExecutionPayloadEnvelopeV4, ForkchoiceState, PayloadAttributes, PayloadStatusEnum,
};
use fastevm::test_utils::indexed_signer;
use fastevm_dev_chain::dev_genesis;
use fastevm_engine::Engine;
use fastevm_engine_api::{
    engine_http_client, EngineApiClient, EngineHttpClient, FastPayloadAttributes, JwtSecret,
};
use fastevm_engine_rpc::{start_auth_server, EngineRpc, DEFAULT_AUTH_MAX_CONNECTIONS};
use fastevm_executor::{test_utils::on_disk_chain, ChainSpec};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

/// An execution node in this process: the engine and its JWT-authenticated Engine API server.
pub(crate) struct BenchNode {
    pub client: EngineHttpClient,
    pub engine: Arc<Engine>,
    _server: jsonrpsee::server::ServerHandle,
}

/// The dev genesis with a 300M gas limit and `senders` signers (`indexed_signer(0..senders)`)
/// plus `extra` other accounts funded.
pub(crate) fn funded_genesis(senders: u64, extra: u64) -> Genesis {
    let mut genesis = dev_genesis();
    genesis.gas_limit = 300_000_000;
    let funded = GenesisAccount::default().with_balance(U256::from(10u128.pow(21)));
    for s in 0..senders {
        genesis
            .alloc
            .insert(indexed_signer(s).address(), funded.clone());
    }
    for i in 0..extra {
        let mut bytes = [0u8; 20];
        bytes[0] = 0xbb;
        bytes[12..].copy_from_slice(&i.to_be_bytes());
        genesis.alloc.insert(Address::from(bytes), funded.clone());
    }
    genesis
}

/// The genesis block hash of `genesis`.
pub(crate) fn genesis_hash(genesis: &Genesis) -> B256 {
    fastevm_executor::genesis_block(genesis, &ChainSpec::from_genesis(genesis).unwrap())
        .unwrap()
        .hash
}

/// A fresh node over an on-disk RocksDB in `dir`.
pub(crate) async fn node(dir: &std::path::Path, genesis: &Genesis) -> BenchNode {
    let engine = Arc::new(Engine::new(on_disk_chain(dir, genesis)));
    let secret = JwtSecret::random();
    let (server, addr) = start_auth_server(
        "127.0.0.1:0".parse().unwrap(),
        secret.clone(),
        EngineRpc::new(engine.clone(), None),
        None,
        DEFAULT_AUTH_MAX_CONNECTIONS,
    )
    .await
    .unwrap();
    BenchNode {
        client: engine_http_client(&format!("http://{addr}"), secret, Duration::from_secs(60))
            .unwrap(),
        engine,
        _server: server,
    }
}

/// How many transactions a payload carries.
pub(crate) fn tx_count(e: &ExecutionPayloadEnvelopeV4) -> usize {
    e.envelope_inner
        .execution_payload
        .payload_inner
        .payload_inner
        .transactions
        .len()
}

/// head = safe = finalized = `h`.
pub(crate) fn fcs(h: B256) -> ForkchoiceState {
    ForkchoiceState {
        head_block_hash: h,
        safe_block_hash: h,
        finalized_block_hash: h,
    }
}

/// The block hash of a payload.
pub(crate) fn hash_of(e: &ExecutionPayloadEnvelopeV4) -> B256 {
    e.envelope_inner
        .execution_payload
        .payload_inner
        .payload_inner
        .block_hash
}

/// The attributes FastEVM's bridge sends: exactly `txs`, no pool.
pub(crate) fn attributes(timestamp: u64, txs: Vec<Bytes>) -> FastPayloadAttributes {
    FastPayloadAttributes {
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
    }
}

/// Builds a block on `head` with FCU(attributes) + getPayloadV4 and imports it on the same node
/// (newPayloadV4 + FCUv3), as FastEVM's bridge does. Returns the payload and the build time.
pub(crate) async fn build(
    c: &EngineHttpClient,
    head: B256,
    timestamp: u64,
    txs: Vec<Bytes>,
) -> (ExecutionPayloadEnvelopeV4, Duration) {
    let started = Instant::now();
    let updated = c
        .forkchoice_updated_v3(fcs(head), Some(attributes(timestamp, txs)))
        .await
        .unwrap();
    let envelope = c.get_payload_v4(updated.payload_id.unwrap()).await.unwrap();
    let build_time = started.elapsed();
    import(c, &envelope).await;
    (envelope, build_time)
}

/// Imports a payload: newPayloadV4 (must be VALID) + FCUv3 onto it. Returns the time taken.
pub(crate) async fn import(c: &EngineHttpClient, e: &ExecutionPayloadEnvelopeV4) -> Duration {
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

/// Prints rate, p50, p99 and max of `samples`.
pub(crate) fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let total: Duration = samples.iter().sum();
    println!(
        "{name:<58} n={:<5} {:>9.1}/s  p50 {:>8.3} ms  p99 {:>8.3} ms  max {:>8.3} ms",
        samples.len(),
        samples.len() as f64 / total.as_secs_f64(),
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
        samples.last().unwrap().as_secs_f64() * 1e3,
    );
}

/// An environment variable as a number, or `default`.
pub(crate) fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
