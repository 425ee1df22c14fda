//! Import through the Engine API the way a consensus client drives a node: a chain with 10,000
//! funded accounts, ten 1,000-transfer payloads built by node A, then sent to other nodes with
//! `engine_newPayloadV4` + `engine_forkchoiceUpdatedV3` over loopback HTTP with JWT. Reports the
//! per-block import time (p50/p99) and Mgas/s for
//! - a fresh node that has never seen the transactions (every sender is recovered: the floor is
//!   1,000 libsecp256k1 recoveries spread over the machine's cores),
//! - a fresh node that already recovered the senders (as a FastEVM node has once its pool
//!   admitted the transactions or their DAG block was accepted),
//! - node A importing the blocks it built itself (executed once, at build time).
//!
//! `cargo bench --bench engine_import`. `FASTEVM_BENCH_BLOCKS` (default 10) sets the number of
//! payloads, `FASTEVM_BENCH_ACCOUNTS` (default 10,000) the number of funded accounts.

/// The `fastevm` binary's allocator, so that figures match the node.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

mod common;

use alloy_consensus::TxEnvelope;
use alloy_eips::eip2718::{Decodable2718, Encodable2718};
use alloy_primitives::{Address, Bytes, U256};
use alloy_rpc_types_engine::ExecutionPayloadEnvelopeV4;
use common::{
    attributes, env_u64, fcs, funded_genesis, genesis_hash, hash_of, import, node, report, tx_count,
};
use fastevm::test_utils::{indexed_signer, sign_eip1559, TxFees};
use fastevm_dev_chain::DEV_CHAIN_ID;
use fastevm_engine_api::EngineApiClient;
use std::time::Duration;

const SENDERS: u64 = 1_000;

fn transfers(nonce: u64, accounts: u64) -> Vec<Bytes> {
    (0..SENDERS)
        .map(|s| {
            // Recipients spread over the funded accounts, a different one per block.
            let i = (s * 7 + nonce * 1_009) % accounts.saturating_sub(SENDERS).max(1);
            let mut to = [0u8; 20];
            to[0] = 0xbb;
            to[12..].copy_from_slice(&i.to_be_bytes());
            sign_eip1559(
                &indexed_signer(s),
                DEV_CHAIN_ID,
                nonce,
                Address::from(to),
                U256::from(1),
                Bytes::new(),
                TxFees::default(),
            )
            .encoded_2718()
            .into()
        })
        .collect()
}

fn gas_used(e: &ExecutionPayloadEnvelopeV4) -> u64 {
    e.envelope_inner
        .execution_payload
        .payload_inner
        .payload_inner
        .gas_used
}

fn report_import(name: &str, samples: Vec<Duration>, gas: u64) {
    let total: Duration = samples.iter().sum();
    let mgas = gas as f64 * samples.len() as f64 / total.as_secs_f64() / 1e6;
    report(&format!("{name} [{mgas:.0} Mgas/s]"), samples);
}

#[tokio::main]
async fn main() {
    let blocks = env_u64("FASTEVM_BENCH_BLOCKS", 10);
    let accounts = env_u64("FASTEVM_BENCH_ACCOUNTS", 10_000).max(SENDERS);
    let genesis = funded_genesis(SENDERS, accounts - SENDERS);
    let dirs = [(); 3].map(|_| tempfile::tempdir().unwrap());
    let builder = node(dirs[0].path(), &genesis).await;
    println!(
        "engine_import: {accounts} funded accounts, {blocks} payloads of {SENDERS} transfers, \
         newPayloadV4 + FCUv3 over loopback HTTP + JWT, on-disk RocksDB"
    );

    let mut payloads = Vec::new();
    let mut own_imports = Vec::new();
    let mut head = genesis_hash(&genesis);
    for n in 0..blocks {
        let updated = builder
            .client
            .forkchoice_updated_v3(fcs(head), Some(attributes(1 + n, transfers(n, accounts))))
            .await
            .unwrap();
        let e = builder
            .client
            .get_payload_v4(updated.payload_id.unwrap())
            .await
            .unwrap();
        assert_eq!(tx_count(&e), SENDERS as usize);
        head = hash_of(&e);
        own_imports.push(import(&builder.client, &e).await);
        payloads.push(e);
    }
    let gas = gas_used(&payloads[0]);

    let fresh = node(dirs[1].path(), &genesis).await;
    let mut samples = Vec::new();
    for e in &payloads {
        samples.push(import(&fresh.client, e).await);
    }
    report_import("import, fresh node (senders recovered)", samples, gas);

    let warm = node(dirs[2].path(), &genesis).await;
    // Untimed: the senders are recovered before the payloads arrive, as when the node's pool
    // admitted the transactions or their DAG block was accepted rounds before the commit.
    for e in &payloads {
        let txs: Vec<TxEnvelope> = e
            .envelope_inner
            .execution_payload
            .payload_inner
            .payload_inner
            .transactions
            .iter()
            .map(|raw| TxEnvelope::decode_2718(&mut raw.as_ref()).unwrap())
            .collect();
        let _ = warm.engine.chain().sender_cache().recover(&txs);
    }
    let mut samples = Vec::new();
    for e in &payloads {
        samples.push(import(&warm.client, e).await);
    }
    report_import("import, fresh node (senders already known)", samples, gas);
    report_import("import, the node that built the blocks", own_imports, gas);
}
