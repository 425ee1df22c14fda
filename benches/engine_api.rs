//! Engine API benchmark over loopback JSON-RPC with JWT: blocks built on node A are imported by
//! node B with `engine_newPayloadV4` + `engine_forkchoiceUpdatedV3`; reports round trips per
//! second and p50/p99 latency for empty payloads (over HTTP, and in process through the engine's
//! own thread as FastEVM's in-process bridge calls it), and the latency of 1,000-transfer
//! payloads (import on B, and build on A: FCU with attributes + getPayload).
//!
//! `cargo bench --bench engine_api`. `FASTEVM_BENCH_EMPTY` (default 500) and
//! `FASTEVM_BENCH_FULL` (default 10) set the number of blocks.

/// The `fastevm` binary's allocator, so that figures match the node.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

mod common;

use alloy_eips::{eip2718::Encodable2718, eip7685::RequestsOrHash};
use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_rpc_types_engine::{
    CancunPayloadFields, ExecutionPayload, ExecutionPayloadSidecar, PayloadStatusEnum,
    PraguePayloadFields,
};
use common::{
    build, env_u64, fcs, funded_genesis, genesis_hash, hash_of, import, node, report, tx_count,
};
use fastevm::test_utils::{indexed_signer, sign_eip1559, TxFees};
use fastevm_dev_chain::DEV_CHAIN_ID;
use std::time::Instant;

const SENDERS: u64 = 1_000;

#[tokio::main]
async fn main() {
    let empty = env_u64("FASTEVM_BENCH_EMPTY", 500);
    let full = env_u64("FASTEVM_BENCH_FULL", 10);
    let genesis = funded_genesis(SENDERS, 0);
    let dirs = [(); 3].map(|_| tempfile::tempdir().unwrap());
    let a = node(dirs[0].path(), &genesis).await;
    let b = node(dirs[1].path(), &genesis).await;
    let c = node(dirs[2].path(), &genesis).await;
    println!("engine_api: loopback JSON-RPC + JWT, on-disk RocksDB, blocks built on node A and imported by node B");
    let mut head = genesis_hash(&genesis);
    let mut empty_blocks = Vec::new();
    for t in 1..=empty {
        let (e, _) = build(&a.client, head, t, vec![]).await;
        head = hash_of(&e);
        empty_blocks.push(e);
    }
    let mut imports = Vec::new();
    for e in &empty_blocks {
        imports.push(import(&b.client, e).await);
    }
    report(
        "empty payload: newPayloadV4 + FCUv3 over HTTP (import)",
        imports,
    );

    // The same blocks imported in process: the calls FastEVM's in-process bridge makes, each
    // one a round trip to the engine's own thread.
    let mut in_process = Vec::new();
    for e in &empty_blocks {
        let sidecar = ExecutionPayloadSidecar::v4(
            CancunPayloadFields {
                parent_beacon_block_root: B256::ZERO,
                versioned_hashes: vec![],
            },
            PraguePayloadFields {
                requests: RequestsOrHash::Requests(e.execution_requests.clone()),
            },
        );
        let block = ExecutionPayload::from(e.envelope_inner.execution_payload.clone())
            .try_into_block_with_sidecar::<alloy_consensus::TxEnvelope>(&sidecar)
            .unwrap();
        let hash = hash_of(e);
        let started = Instant::now();
        let status = c
            .engine
            .run(move |engine| engine.new_payload(block, hash, None))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(status.status, PayloadStatusEnum::Valid);
        c.engine
            .run(move |engine| engine.forkchoice_updated(fcs(hash), None))
            .await
            .unwrap()
            .unwrap();
        in_process.push(started.elapsed());
    }
    report(
        "empty payload: newPayload + FCU in process (engine thread)",
        in_process,
    );

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
        let (e, build_time) = build(&a.client, head, empty + 1 + n, txs).await;
        assert_eq!(tx_count(&e), SENDERS as usize);
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
        imports.push(import(&b.client, e).await);
    }
    report(
        "1,000-transfer payload: newPayloadV4 + FCUv3 (import)",
        imports,
    );
}
