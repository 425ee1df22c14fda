//! Engine API semantics (the `fastevm-engine` state machine) driven the way a consensus client
//! drives it: forkchoiceUpdated with attributes → getPayload → newPayload → forkchoiceUpdated.

use alloy_consensus::Block;
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_rpc_types_engine::{ForkchoiceState, PayloadStatusEnum};
use fastevm_dev_chain::{dev_genesis, dev_signers, sign_eip1559, TxFees, DEV_CHAIN_ID};
use fastevm_engine::{Engine, EngineError};
use fastevm_engine_api::{test_utils::payload_attributes, PayloadRequest};
use fastevm_executor::test_utils::{in_memory_chain, on_disk_chain};
use fastevm_storage::{ChainStore, StoreOptions};
use std::path::Path;

fn engine() -> Engine {
    Engine::new(in_memory_chain("engine", &dev_genesis()))
}

fn on_disk(dir: &Path) -> Engine {
    Engine::new(on_disk_chain(dir, &dev_genesis()))
}

fn fcs(head: B256) -> ForkchoiceState {
    ForkchoiceState {
        head_block_hash: head,
        safe_block_hash: head,
        finalized_block_hash: head,
    }
}

fn request(timestamp: u64, txs: Vec<Bytes>, salt: u8) -> PayloadRequest {
    PayloadRequest {
        attributes: payload_attributes(timestamp, salt, salt),
        transactions: Some(txs),
        no_tx_pool: true,
        gas_limit: None,
        extra_data: None,
    }
}

/// Builds one block on the current head through the four Engine API calls; returns its hash.
fn drive_block(
    engine: &Engine,
    txs: Vec<Bytes>,
    salt: u8,
) -> (B256, Block<alloy_consensus::TxEnvelope>) {
    let store = engine.chain().store();
    let head = store.head_hash().unwrap();
    let ts = store.head_header().unwrap().timestamp + 1;
    let updated = engine
        .forkchoice_updated(fcs(head), Some(request(ts, txs, salt)))
        .unwrap();
    assert_eq!(updated.payload_status.status, PayloadStatusEnum::Valid);
    let payload = engine
        .get_payload(updated.payload_id.expect("payload id"))
        .unwrap();
    let block = Block {
        header: payload.block.header.clone(),
        body: payload.block.body.clone(),
    };
    let status = engine
        .new_payload(block.clone(), payload.block.hash, Some(&[]))
        .unwrap();
    assert_eq!(status.status, PayloadStatusEnum::Valid, "{status:?}");
    // newPayload does not move the head; forkchoiceUpdated does.
    assert_eq!(store.head_hash().unwrap(), head);
    engine
        .forkchoice_updated(fcs(payload.block.hash), None)
        .unwrap();
    assert_eq!(store.head_hash().unwrap(), payload.block.hash);
    (payload.block.hash, block)
}

fn transfer(nonce: u64, value: u64) -> Bytes {
    let signer = &dev_signers()[0];
    sign_eip1559(
        signer,
        DEV_CHAIN_ID,
        nonce,
        Address::repeat_byte(0x42),
        U256::from(value),
        Bytes::new(),
        TxFees::default(),
    )
    .encoded_2718()
    .into()
}

#[test]
fn hundred_blocks_replay_identically_on_a_fresh_node() {
    let a = engine();
    let mut blocks = Vec::new();
    for n in 0..100u64 {
        let txs = (0..3).map(|i| transfer(n * 3 + i, n + 1)).collect();
        blocks.push(drive_block(&a, txs, n as u8));
    }
    let b = engine();
    for (hash, block) in &blocks {
        let status = b.new_payload(block.clone(), *hash, Some(&[])).unwrap();
        assert_eq!(status.status, PayloadStatusEnum::Valid);
        b.forkchoice_updated(fcs(*hash), None).unwrap();
    }
    assert_eq!(
        b.chain().store().head_hash().unwrap(),
        blocks.last().unwrap().0
    );
    assert_eq!(b.chain().store().head_header().unwrap().number, 100);
    let recipient = Address::repeat_byte(0x42);
    let want = U256::from((1..=100u64).map(|n| 3 * n).sum::<u64>());
    for e in [&a, &b] {
        assert_eq!(
            e.chain()
                .store()
                .account(&recipient)
                .unwrap()
                .unwrap()
                .balance,
            want
        );
    }
}

#[test]
fn same_request_gives_same_payload_id_and_block_on_two_nodes() {
    let (a, b) = (engine(), engine());
    let head = a.chain().store().head_hash().unwrap();
    let req = request(
        5,
        vec![
            transfer(0, 1),
            Bytes::from_static(b"garbage"),
            transfer(0, 1),
        ],
        9,
    );
    let ua = a.forkchoice_updated(fcs(head), Some(req.clone())).unwrap();
    let ub = b.forkchoice_updated(fcs(head), Some(req)).unwrap();
    assert_eq!(ua.payload_id, ub.payload_id);
    let (pa, pb) = (
        a.get_payload(ua.payload_id.unwrap()).unwrap(),
        b.get_payload(ub.payload_id.unwrap()).unwrap(),
    );
    assert_eq!(pa.block.hash, pb.block.hash);
    // The undecodable entry and the duplicate were left out.
    assert_eq!(pa.block.body.transactions.len(), 1);
    assert!(pa.block_value > U256::ZERO);
}

#[test]
fn invalid_payload_and_its_descendants_are_refused() {
    let (a, b) = (engine(), engine());
    let genesis = a.chain().store().head_hash().unwrap();
    let (h1, block1) = drive_block(&a, vec![transfer(0, 1)], 1);
    let mut bad = block1.clone();
    bad.header.state_root = B256::repeat_byte(0xee);
    let bad_hash = bad.header.hash_slow();
    let status = b.new_payload(bad.clone(), bad_hash, Some(&[])).unwrap();
    match &status.status {
        PayloadStatusEnum::Invalid { validation_error } => {
            assert!(validation_error.contains("stateRoot"), "{validation_error}")
        }
        other => panic!("expected INVALID, got {other:?}"),
    }
    assert_eq!(status.latest_valid_hash, Some(genesis));
    // A child of the invalid block is INVALID without execution; FCU to it too.
    let mut child = block1.clone();
    child.header.parent_hash = bad_hash;
    child.header.number = 2;
    let child_hash = child.header.hash_slow();
    let status = b.new_payload(child, child_hash, Some(&[])).unwrap();
    assert!(matches!(status.status, PayloadStatusEnum::Invalid { .. }));
    assert_eq!(status.latest_valid_hash, Some(genesis));
    let fcu = b.forkchoice_updated(fcs(bad_hash), None).unwrap();
    assert!(matches!(
        fcu.payload_status.status,
        PayloadStatusEnum::Invalid { .. }
    ));
    // Wrong claimed hash: INVALID with no latest valid hash.
    let status = b
        .new_payload(block1.clone(), B256::repeat_byte(1), Some(&[]))
        .unwrap();
    assert!(matches!(status.status, PayloadStatusEnum::Invalid { .. }));
    assert_eq!(status.latest_valid_hash, None);
    // The genuine block is still accepted.
    assert_eq!(
        b.new_payload(block1, h1, Some(&[])).unwrap().status,
        PayloadStatusEnum::Valid
    );
}

#[test]
fn unknown_parent_is_syncing_and_bad_forkchoice_is_an_error() {
    let (a, b) = (engine(), engine());
    let (_, _) = drive_block(&a, vec![], 1);
    let (h2, block2) = drive_block(&a, vec![], 2);
    let status = b.new_payload(block2, h2, Some(&[])).unwrap();
    assert_eq!(status.status, PayloadStatusEnum::Syncing);
    let fcu = b
        .forkchoice_updated(fcs(B256::repeat_byte(3)), None)
        .unwrap();
    assert_eq!(fcu.payload_status.status, PayloadStatusEnum::Syncing);

    let genesis = b.chain().store().head_hash().unwrap();
    let state = ForkchoiceState {
        head_block_hash: genesis,
        safe_block_hash: h2,
        finalized_block_hash: genesis,
    };
    assert!(matches!(
        a.forkchoice_updated(state, None),
        Err(EngineError::InvalidForkchoiceState(_))
    ));
    // Attributes with a timestamp before the head's (the dev chain allows equal ones).
    let head = a.chain().store().head_hash().unwrap();
    let ts = a.chain().store().head_header().unwrap().timestamp;
    assert!(a
        .forkchoice_updated(fcs(head), Some(request(ts, vec![], 1)))
        .is_ok());
    let err = a
        .forkchoice_updated(fcs(head), Some(request(ts - 1, vec![], 1)))
        .unwrap_err();
    assert!(
        matches!(err, EngineError::InvalidPayloadAttributes(_)),
        "{err}"
    );
    assert!(matches!(
        a.get_payload(alloy_rpc_types_engine::PayloadId::new([9; 8])),
        Err(EngineError::UnknownPayload)
    ));
}

#[test]
fn forkchoice_to_a_side_branch_reorganises_state() {
    let (a, b) = (engine(), engine());
    // Branch A on node a: 3 blocks paying 0x42; branch B on node b: 2 blocks with other values.
    let branch_a: Vec<_> = (0..3)
        .map(|n| drive_block(&a, vec![transfer(n, 10)], 0xa0 + n as u8))
        .collect();
    let branch_b: Vec<_> = (0..2)
        .map(|n| drive_block(&b, vec![transfer(n, 1000)], 0xb0 + n as u8))
        .collect();
    // Feed branch B to node a as a side branch, then switch to it.
    for (hash, block) in &branch_b {
        assert_eq!(
            a.new_payload(block.clone(), *hash, Some(&[]))
                .unwrap()
                .status,
            PayloadStatusEnum::Valid
        );
    }
    let store = a.chain().store();
    assert_eq!(store.head_hash().unwrap(), branch_a[2].0);
    a.forkchoice_updated(fcs(branch_b[1].0), None).unwrap();
    assert_eq!(store.head_hash().unwrap(), branch_b[1].0);
    let recipient = Address::repeat_byte(0x42);
    assert_eq!(
        store.account(&recipient).unwrap().unwrap().balance,
        U256::from(2000)
    );
    assert_eq!(store.canonical_hash(3).unwrap(), None);
    // Tx lookups follow the canonical chain.
    let tx_b = *branch_b[0].1.body.transactions[0].tx_hash();
    let tx_a = *branch_a[2].1.body.transactions[0].tx_hash();
    assert!(store.tx_location(&tx_b).unwrap().is_some());
    assert!(store.tx_location(&tx_a).unwrap().is_none());
    // And back.
    a.forkchoice_updated(fcs(branch_a[2].0), None).unwrap();
    assert_eq!(
        store.account(&recipient).unwrap().unwrap().balance,
        U256::from(30)
    );
    // A canonical ancestor as head changes nothing (geth/spec: may skip).
    a.forkchoice_updated(fcs(branch_a[0].0), None).unwrap();
    assert_eq!(store.head_hash().unwrap(), branch_a[2].0);
}

#[test]
fn restart_keeps_head_safe_and_finalized() {
    let dir = tempfile::tempdir().unwrap();
    let (head, safe, finalized);
    {
        let e = on_disk(dir.path());
        let hashes: Vec<_> = (0..5)
            .map(|n| drive_block(&e, vec![transfer(n, 1)], n as u8).0)
            .collect();
        let state = ForkchoiceState {
            head_block_hash: hashes[4],
            safe_block_hash: hashes[3],
            finalized_block_hash: hashes[1],
        };
        e.forkchoice_updated(state, None).unwrap();
        (head, safe, finalized) = (hashes[4], hashes[3], hashes[1]);
    }
    let store = ChainStore::open(dir.path(), StoreOptions::default()).unwrap();
    assert_eq!(store.head_hash().unwrap(), head);
    assert_eq!(store.safe_hash().unwrap(), Some(safe));
    assert_eq!(store.finalized_hash().unwrap(), Some(finalized));
}

#[test]
fn payload_bodies_by_hash_and_range() {
    let e = engine();
    let blocks: Vec<_> = (0..4)
        .map(|n| drive_block(&e, vec![transfer(n, 1)], n as u8))
        .collect();
    let bodies = e.payload_bodies_by_range(2, 10).unwrap();
    assert_eq!(bodies.len(), 3);
    assert_eq!(
        bodies[0].as_ref().unwrap().transactions[0],
        Bytes::from(blocks[1].1.body.transactions[0].encoded_2718())
    );
    let by_hash = e
        .payload_bodies_by_hash(&[blocks[0].0, B256::repeat_byte(5)])
        .unwrap();
    assert!(by_hash[0].is_some() && by_hash[1].is_none());
    assert!(matches!(
        e.payload_bodies_by_range(0, 1),
        Err(EngineError::InvalidParams(_))
    ));
    assert!(matches!(
        e.payload_bodies_by_range(1, 1025),
        Err(EngineError::TooLargeRequest { .. })
    ));
}

#[test]
fn every_head_move_is_published_with_the_blocks_that_left_and_joined() {
    let (a, b) = (engine(), engine());
    let mut changes = a.subscribe_canonical_changes();
    assert_eq!(changes.published.get(), 0);
    let branch_a: Vec<_> = (0..2)
        .map(|n| drive_block(&a, vec![transfer(n, 10)], 0xa0 + n as u8))
        .collect();
    for (n, (hash, _)) in branch_a.iter().enumerate() {
        let change = changes
            .receiver
            .try_recv()
            .expect("one change per head move");
        assert_eq!(change.sequence, n as u64 + 1);
        assert!(change.removed.is_empty());
        assert_eq!(change.added.len(), 1);
        assert_eq!(change.added[0].hash, *hash);
        let executed = change.added[0].executed.as_ref().expect("held in memory");
        assert_eq!(executed.body.transactions.len(), 1);
    }
    // A three-block side branch built elsewhere: switching to it removes both blocks of A
    // (newest first) and adds all three (oldest first), in one change.
    let branch_b: Vec<_> = (0..3)
        .map(|n| drive_block(&b, vec![transfer(n, 1000)], 0xb0 + n as u8))
        .collect();
    for (hash, block) in &branch_b {
        a.new_payload(block.clone(), *hash, Some(&[])).unwrap();
    }
    assert!(
        changes.receiver.try_recv().is_err(),
        "newPayload moves no head"
    );
    a.forkchoice_updated(fcs(branch_b[2].0), None).unwrap();
    let change = changes.receiver.try_recv().unwrap();
    assert_eq!(change.sequence, 3);
    let hashes = |blocks: &[fastevm_engine::ChainBlock]| -> Vec<B256> {
        blocks.iter().map(|b| b.hash).collect()
    };
    assert_eq!(hashes(&change.removed), vec![branch_a[1].0, branch_a[0].0]);
    assert_eq!(
        hashes(&change.added),
        branch_b.iter().map(|(h, _)| *h).collect::<Vec<_>>()
    );
    assert_eq!(changes.published.get(), 3);
    // An old canonical block as head, or the same head again: nothing is published.
    a.forkchoice_updated(fcs(branch_b[0].0), None).unwrap();
    a.forkchoice_updated(fcs(branch_b[2].0), None).unwrap();
    assert!(changes.receiver.try_recv().is_err());
    // The channel closes with the engine, which ends a follower's loop.
    drop(a);
    assert!(matches!(
        changes.receiver.try_recv(),
        Err(tokio::sync::broadcast::error::TryRecvError::Closed)
    ));
}
