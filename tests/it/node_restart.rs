//! The `fastevm node` binary: Engine API on an ephemeral port. After SIGKILL and restart a node
//! run with `--db.persist-every-block` keeps its head, safe and finalized blocks; a node writing
//! blocks in the background (the default) restarts at one of the blocks it had accepted, whole.
//! Both go on building. A node started without `--chain` on a new data directory runs the
//! built-in dev genesis.

use alloy_primitives::{B256, U64};
use alloy_rpc_types_engine::{ForkchoiceState, PayloadStatusEnum};
use fastevm::test_utils::{payload_attributes, spawn_node_with};
use fastevm_engine_api::{
    engine_http_client, EngineApiClient, EngineHttpClient, FastPayloadAttributes, JwtSecret,
};
use fastevm_storage::{ChainStore, StoreOptions};
use std::{path::Path, process::Child, time::Duration};

fn start(datadir: &Path, with_chain: bool) -> (Child, String) {
    start_with(datadir, with_chain, &["--db.persist-every-block"])
}

fn start_with(datadir: &Path, with_chain: bool, flags: &[&str]) -> (Child, String) {
    let chain = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/genesis/dev.json"));
    let node = spawn_node_with(
        Path::new(env!("CARGO_BIN_EXE_fastevm")),
        datadir,
        with_chain.then_some(chain),
        0,
        0,
        flags,
    );
    (node.child, node.authrpc)
}

fn client(addr: &str, datadir: &Path) -> EngineHttpClient {
    let secret = JwtSecret::load_or_generate(&datadir.join("jwt.hex")).unwrap();
    engine_http_client(&format!("http://{addr}"), secret, Duration::from_secs(30)).unwrap()
}

fn attrs(timestamp: u64) -> FastPayloadAttributes {
    FastPayloadAttributes {
        inner: payload_attributes(timestamp, 3, 4),
        transactions: Some(vec![]),
        no_tx_pool: Some(true),
        gas_limit: None,
        extra_data: None,
    }
}

/// Hash of the dev chain's genesis block.
fn dev_genesis_hash() -> B256 {
    let genesis = fastevm_dev_chain::dev_genesis();
    let spec = fastevm_executor::ChainSpec::from_genesis(&genesis).unwrap();
    fastevm_executor::genesis_block(&genesis, &spec)
        .unwrap()
        .hash
}

fn fcs(head: B256, safe: B256, finalized: B256) -> ForkchoiceState {
    ForkchoiceState {
        head_block_hash: head,
        safe_block_hash: safe,
        finalized_block_hash: finalized,
    }
}

async fn build_on(c: &EngineHttpClient, head: B256, timestamp: u64) -> B256 {
    let updated = c
        .forkchoice_updated_v3(fcs(head, head, head), Some(attrs(timestamp)))
        .await
        .unwrap();
    let envelope = c.get_payload_v4(updated.payload_id.unwrap()).await.unwrap();
    let payload = envelope.envelope_inner.execution_payload;
    let hash = payload.payload_inner.payload_inner.block_hash;
    let status = c
        .new_payload_v4(
            payload,
            vec![],
            B256::repeat_byte(4),
            envelope.execution_requests,
        )
        .await
        .unwrap();
    assert_eq!(status.status, PayloadStatusEnum::Valid);
    c.forkchoice_updated_v3(fcs(hash, hash, hash), None)
        .await
        .unwrap();
    hash
}

#[tokio::test]
async fn node_keeps_head_safe_and_finalized_across_sigkill() {
    let _turn = crate::module_turn::take(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let (mut node, addr) = start(dir.path(), true);
    let c = client(&addr, dir.path());
    let genesis = {
        let bodies = c
            .get_payload_bodies_by_range_v1(U64::from(1), U64::from(1))
            .await
            .unwrap();
        assert!(bodies.is_empty());
        // The genesis hash: FCU to an unknown hash is SYNCING; the dev genesis is known.
        dev_genesis_hash()
    };
    let mut blocks = vec![genesis];
    for t in 1..=5 {
        let head = *blocks.last().unwrap();
        blocks.push(build_on(&c, head, t).await);
    }
    let state = fcs(blocks[5], blocks[3], blocks[2]);
    assert_eq!(
        c.forkchoice_updated_v3(state, None)
            .await
            .unwrap()
            .payload_status
            .status,
        PayloadStatusEnum::Valid
    );
    node.kill().unwrap(); // SIGKILL
    node.wait().unwrap();
    {
        let store = ChainStore::open(dir.path().join("db"), StoreOptions::default()).unwrap();
        assert_eq!(store.head_hash().unwrap(), blocks[5]);
        assert_eq!(store.safe_hash().unwrap(), Some(blocks[3]));
        assert_eq!(store.finalized_hash().unwrap(), Some(blocks[2]));
    }

    let (mut node, addr) = start(dir.path(), false);
    let c = client(&addr, dir.path());
    assert_eq!(
        c.get_payload_bodies_by_range_v1(U64::from(1), U64::from(10))
            .await
            .unwrap()
            .len(),
        5
    );
    assert_eq!(
        c.forkchoice_updated_v3(state, None)
            .await
            .unwrap()
            .payload_status
            .status,
        PayloadStatusEnum::Valid
    );
    let b6 = build_on(&c, blocks[5], 6).await;
    c.forkchoice_updated_v3(fcs(b6, blocks[5], blocks[3]), None)
        .await
        .unwrap();
    node.kill().unwrap();
    node.wait().unwrap();

    let store = ChainStore::open(dir.path().join("db"), StoreOptions::default()).unwrap();
    assert_eq!(store.head_hash().unwrap(), b6);
    assert_eq!(store.safe_hash().unwrap(), Some(blocks[5]));
    assert_eq!(store.finalized_hash().unwrap(), Some(blocks[3]));
    assert_eq!(store.head_header().unwrap().number, 6);
}

#[tokio::test]
async fn node_writing_in_the_background_restarts_at_a_whole_block() {
    let _turn = crate::module_turn::take(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let (mut node, addr) = start_with(dir.path(), true, &[]);
    let c = client(&addr, dir.path());
    let mut blocks = vec![dev_genesis_hash()];
    for t in 1..=40 {
        let head = *blocks.last().unwrap();
        blocks.push(build_on(&c, head, t).await);
    }
    node.kill().unwrap(); // SIGKILL, likely with blocks not yet on disk
    node.wait().unwrap();
    let head = {
        let store = ChainStore::open(dir.path().join("db"), StoreOptions::default()).unwrap();
        let head = store.head_header().unwrap();
        let number = head.number as usize;
        assert_eq!(
            store.head_hash().unwrap(),
            blocks[number],
            "a block it accepted"
        );
        for (n, hash) in blocks.iter().enumerate().take(number + 1) {
            assert_eq!(store.canonical_hash(n as u64).unwrap(), Some(*hash));
        }
        assert_eq!(store.canonical_hash(number as u64 + 1).unwrap(), None);
        blocks[number]
    };
    let (mut node, addr) = start_with(dir.path(), false, &[]);
    let c = client(&addr, dir.path());
    assert_eq!(
        c.forkchoice_updated_v3(fcs(head, head, head), None)
            .await
            .unwrap()
            .payload_status
            .status,
        PayloadStatusEnum::Valid
    );
    let next = build_on(&c, head, 100).await;
    node.kill().unwrap();
    node.wait().unwrap();
    let store = ChainStore::open(dir.path().join("db"), StoreOptions::default()).unwrap();
    assert!(store.header(&next).unwrap().is_some() || store.head_hash().unwrap() == head);
}

#[test]
fn a_node_without_chain_on_a_new_datadir_runs_the_dev_genesis() {
    let _turn = crate::module_turn::take(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let (mut child, _) = start(dir.path(), false);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("genesis.json")).unwrap(),
        fastevm_dev_chain::dev_genesis_json(),
        "the genesis it started is written beside the database"
    );
    let store = ChainStore::open(dir.path().join("db"), StoreOptions::default()).unwrap();
    assert_eq!(store.genesis_hash().unwrap(), Some(dev_genesis_hash()));
}
