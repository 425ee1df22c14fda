//! The pool journal as the pool uses it: restoring, appending admissions, rotation.

use std::path::Path;

use alloy_consensus::TxEnvelope;
use alloy_primitives::{Address, B256, U256};

use crate::{
    test_utils::{test_signer, MemoryState, TxBuilder, UnavailableState, TEST_CHAIN_ID},
    JournalReport, PoolConfig, PoolError, PoolJournal, PoolStatus, TxPool,
};

const BASE_FEE: u64 = 7;

fn ether() -> U256 {
    U256::from(10u64).pow(U256::from(18))
}

fn sign(signer: u64, nonce: u64) -> TxEnvelope {
    TxBuilder::eip1559().nonce(nonce).sign(&test_signer(signer))
}

fn address(signer: u64) -> Address {
    test_signer(signer).address()
}

fn open(path: &Path, state: &MemoryState) -> (TxPool, JournalReport) {
    TxPool::with_journal(PoolConfig::default(), TEST_CHAIN_ID, path, state, BASE_FEE).unwrap()
}

fn add(pool: &TxPool, state: &MemoryState, tx: &TxEnvelope) -> B256 {
    pool.add_transaction(tx.clone(), state, BASE_FEE).unwrap()
}

/// What the journal file holds, read as a fresh node would.
fn journaled(path: &Path) -> Vec<TxEnvelope> {
    PoolJournal::open(path)
        .unwrap()
        .1
        .into_iter()
        .map(|n| n.tx)
        .collect()
}

#[test]
fn a_restarted_pool_has_the_same_contents() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("txpool.rlp");
    let state = MemoryState::funded(3, ether());
    let (pool, report) = open(&path, &state);
    assert_eq!(report, JournalReport::default());
    for (signer, nonce) in [(0, 0), (1, 0), (0, 1), (2, 0)] {
        add(&pool, &state, &sign(signer, nonce));
    }
    // Rejected transactions are not journaled.
    assert!(pool.add_transaction(sign(0, 1), &state, BASE_FEE).is_err());
    assert_eq!(pool.journal_entries(), Some(4));
    let before = pool.content();
    drop(pool);

    let (pool, report) = open(&path, &state);
    assert_eq!(
        report,
        JournalReport {
            loaded: 4,
            readmitted: 4,
            discarded_bytes: 0
        }
    );
    assert_eq!(pool.content(), before);
}

#[test]
fn a_torn_last_entry_loses_only_that_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("txpool.rlp");
    let state = MemoryState::funded(1, ether());
    let (pool, _) = open(&path, &state);
    let kept: Vec<B256> = (0..2).map(|n| add(&pool, &state, &sign(0, n))).collect();
    let torn = add(&pool, &state, &sign(0, 2));
    drop(pool);
    let length = std::fs::metadata(&path).unwrap().len();
    let data = std::fs::read(&path).unwrap();
    std::fs::write(&path, &data[..length as usize - 5]).unwrap();

    let (pool, report) = open(&path, &state);
    assert_eq!((report.loaded, report.readmitted), (2, 2));
    assert!(report.discarded_bytes > 0);
    assert!(kept.iter().all(|hash| pool.contains(hash)));
    assert!(!pool.contains(&torn));
    // The rewrite at load left a clean file that later appends extend.
    add(&pool, &state, &sign(0, 2));
    drop(pool);
    let (pool, report) = open(&path, &state);
    assert_eq!((report.loaded, report.discarded_bytes), (3, 0));
    assert!(pool.contains(&torn));
}

#[test]
fn rotation_drops_mined_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("txpool.rlp");
    let mut state = MemoryState::funded(2, ether());
    let (pool, _) = open(&path, &state);
    let txs: Vec<TxEnvelope> = (0..4).map(|n| sign(0, n)).collect();
    for tx in &txs {
        add(&pool, &state, tx);
    }
    let other = sign(1, 0);
    add(&pool, &state, &other);

    // Nonces 0..3 of signer 0 are mined. The journal is small: no rotation yet.
    state.set_account(address(0), 3, ether());
    pool.on_new_head(&state, BASE_FEE, vec![]);
    assert_eq!(pool.len(), 2);
    assert_eq!(pool.journal_entries(), Some(5));

    // Past the floor, a journal holding more than twice the pool is rewritten.
    pool.journal.lock().as_mut().unwrap().rotation_floor = 0;
    pool.on_new_head(&state, BASE_FEE, vec![]);
    assert_eq!(pool.journal_entries(), Some(2));
    assert_eq!(journaled(&path), vec![txs[3].clone(), other.clone()]);
    // Not again while the journal stays within twice the pool.
    let next = sign(1, 1);
    add(&pool, &state, &next);
    pool.on_new_head(&state, BASE_FEE, vec![]);
    assert_eq!(pool.journal_entries(), Some(3));

    // A reload does not bring back what was mined even without a rotation.
    state.set_account(address(1), 1, ether());
    drop(pool);
    let (pool, report) = open(&path, &state);
    assert_eq!((report.loaded, report.readmitted), (3, 2));
    assert_eq!(
        journaled(&path),
        vec![txs[3].clone(), next.clone()],
        "the load rewrote the journal"
    );
    assert!(pool.contains(next.tx_hash()) && pool.contains(txs[3].tx_hash()));
}

#[test]
fn an_explicit_rotation_keeps_exactly_the_pool() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("txpool.rlp");
    let mut state = MemoryState::funded(1, ether());
    let (pool, _) = open(&path, &state);
    let txs: Vec<TxEnvelope> = (0..3).map(|n| sign(0, n)).collect();
    for tx in &txs {
        add(&pool, &state, tx);
    }
    state.set_account(address(0), 2, ether());
    pool.on_new_head(&state, BASE_FEE, vec![]);
    pool.rotate_journal().unwrap();
    assert_eq!(journaled(&path), txs[2..]);
    // Without a journal it is a no-op.
    TxPool::new(PoolConfig::default(), TEST_CHAIN_ID)
        .rotate_journal()
        .unwrap();
}

#[test]
fn a_replaced_transaction_is_not_resurrected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("txpool.rlp");
    let state = MemoryState::funded(1, ether());
    let (pool, _) = open(&path, &state);
    let original = sign(0, 0);
    let replacement = TxBuilder::eip1559().fees(200, 20).sign(&test_signer(0));
    add(&pool, &state, &original);
    add(&pool, &state, &replacement);
    // Both admissions are on file until a rotation.
    assert_eq!(
        journaled(&path),
        vec![original.clone(), replacement.clone()]
    );
    drop(pool);

    let (pool, report) = open(&path, &state);
    assert_eq!((report.loaded, report.readmitted), (2, 2));
    assert!(!pool.contains(original.tx_hash()));
    assert!(pool.get(replacement.tx_hash()).unwrap().is_pending);
    assert_eq!(pool.len(), 1);
    assert_eq!(journaled(&path), vec![replacement.clone()]);
    // And it stays so across another restart.
    drop(pool);
    let (pool, report) = open(&path, &state);
    assert_eq!((report.loaded, report.readmitted), (1, 1));
    assert!(pool.contains(replacement.tx_hash()));
}

#[test]
fn pending_and_queued_transactions_are_both_restored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("txpool.rlp");
    let state = MemoryState::funded(2, ether());
    let (pool, _) = open(&path, &state);
    // Signer 0: nonces 0 and 1 pending, 3 queued behind the gap; signer 1: only queued, and
    // the queued one arrived first.
    for (signer, nonce) in [(1, 5), (0, 0), (0, 3), (0, 1), (1, 2)] {
        add(&pool, &state, &sign(signer, nonce));
    }
    let expected = PoolStatus {
        pending: 2,
        queued: 3,
    };
    assert_eq!(pool.status(), expected);
    let before = pool.content();
    drop(pool);

    let (pool, report) = open(&path, &state);
    assert_eq!((report.loaded, report.readmitted), (5, 5));
    assert_eq!(pool.status(), expected);
    assert_eq!(pool.content(), before);
    let queued: Vec<u64> = pool.content().queued[&address(0)].keys().copied().collect();
    assert_eq!(queued, vec![3]);
    // Closing the gap after the restart promotes the restored queued transaction.
    add(&pool, &state, &sign(0, 2));
    assert_eq!(pool.pending_nonce(&address(0)), Some(4));
}

#[test]
fn reorg_reinjections_are_journaled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("txpool.rlp");
    let state = MemoryState::funded(1, ether());
    let (pool, _) = open(&path, &state);
    let tx = sign(0, 0);
    pool.on_new_head(&state, BASE_FEE, vec![(tx.clone(), address(0))]);
    assert!(pool.contains(tx.tx_hash()));
    assert_eq!(journaled(&path), vec![tx]);
}

#[test]
fn an_unreadable_state_fails_the_load_and_keeps_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("txpool.rlp");
    let state = MemoryState::funded(1, ether());
    let (pool, _) = open(&path, &state);
    add(&pool, &state, &sign(0, 0));
    drop(pool);
    let error = TxPool::with_journal(
        PoolConfig::default(),
        TEST_CHAIN_ID,
        &path,
        &UnavailableState,
        BASE_FEE,
    )
    .unwrap_err();
    assert!(matches!(error, PoolError::State(_)), "{error}");
    assert_eq!(journaled(&path).len(), 1);
}
