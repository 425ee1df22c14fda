//! Global limits: eviction of the lowest-paying transactions, never in favour of a cheaper one.

use alloy_primitives::{B256, U256};

use crate::{
    test_utils::{test_signer, MemoryState, TxBuilder, TEST_CHAIN_ID},
    PoolConfig, PoolError, PoolStatus, TxPool,
};

const BASE_FEE: u64 = 7;

fn pool(max_pending: usize, max_queued: usize) -> (TxPool, MemoryState) {
    let config = PoolConfig {
        max_pending,
        max_queued,
        ..PoolConfig::default()
    };
    (
        TxPool::new(config, TEST_CHAIN_ID),
        MemoryState::funded(6, U256::from(10u64).pow(U256::from(18))),
    )
}

fn add(
    pool: &TxPool,
    state: &MemoryState,
    signer: u64,
    nonce: u64,
    tip: u128,
) -> Result<B256, PoolError> {
    let tx = TxBuilder::eip1559()
        .nonce(nonce)
        .fees(100, tip)
        .sign(&test_signer(signer));
    pool.add_transaction(tx, state, BASE_FEE)
}

#[test]
fn full_queue_evicts_only_cheaper_queued_transactions() {
    let (pool, state) = pool(100, 2);
    let low = add(&pool, &state, 0, 1, 10).unwrap();
    let high = add(&pool, &state, 1, 1, 20).unwrap();
    let error = add(&pool, &state, 2, 1, 5).unwrap_err();
    assert_eq!(error, PoolError::PoolFull);
    assert_eq!(error.to_string(), "txpool is full");
    // Paying the same as the cheapest is not enough either.
    assert_eq!(add(&pool, &state, 2, 1, 10), Err(PoolError::PoolFull));
    assert_eq!(
        pool.status(),
        PoolStatus {
            pending: 0,
            queued: 2
        }
    );

    let newcomer = add(&pool, &state, 2, 1, 15).unwrap();
    assert!(!pool.contains(&low));
    assert!(pool.contains(&high) && pool.contains(&newcomer));
    assert_eq!(
        pool.status(),
        PoolStatus {
            pending: 0,
            queued: 2
        }
    );
}

#[test]
fn among_equally_cheap_queued_transactions_the_newest_goes() {
    let (pool, state) = pool(100, 2);
    let older = add(&pool, &state, 0, 1, 10).unwrap();
    let newer = add(&pool, &state, 1, 1, 10).unwrap();
    add(&pool, &state, 2, 1, 11).unwrap();
    assert!(pool.contains(&older));
    assert!(!pool.contains(&newer));
}

#[test]
fn full_pending_set_evicts_the_cheapest_run_end_of_another_sender() {
    let (pool, state) = pool(2, 100);
    let low = add(&pool, &state, 0, 0, 10).unwrap();
    let mid = add(&pool, &state, 1, 0, 20).unwrap();
    assert_eq!(add(&pool, &state, 2, 0, 5), Err(PoolError::PoolFull));
    assert_eq!(add(&pool, &state, 2, 0, 10), Err(PoolError::PoolFull));

    let high = add(&pool, &state, 2, 0, 30).unwrap();
    assert!(!pool.contains(&low));
    assert_eq!(
        pool.status(),
        PoolStatus {
            pending: 2,
            queued: 0
        }
    );

    // Sender 1 extends its own run: the victim comes from someone else (sender 2), even though
    // sender 1's own nonce 0 pays less.
    let next = add(&pool, &state, 1, 1, 90).unwrap();
    assert!(pool.contains(&mid) && pool.contains(&next));
    assert!(!pool.contains(&high));
    assert_eq!(pool.pending_nonce(&test_signer(1).address()), Some(2));
}

#[test]
fn a_queued_newcomer_does_not_need_pending_room() {
    let (pool, state) = pool(1, 100);
    let pending = add(&pool, &state, 0, 0, 10).unwrap();
    let queued = add(&pool, &state, 1, 3, 1).unwrap();
    assert!(pool.contains(&pending));
    assert!(!pool.get(&queued).unwrap().is_pending);
    assert_eq!(
        pool.status(),
        PoolStatus {
            pending: 1,
            queued: 1
        }
    );
}

#[test]
fn closing_a_gap_needs_room_for_every_promoted_transaction() {
    let (pool, state) = pool(2, 100);
    add(&pool, &state, 0, 0, 10).unwrap();
    add(&pool, &state, 1, 1, 10).unwrap();
    add(&pool, &state, 1, 2, 10).unwrap();
    // Nonce 0 of sender 1 would make three pending txs of sender 1 plus sender 0's: two too
    // many, and only one other run end (tip 10) exists.
    assert_eq!(add(&pool, &state, 1, 0, 50), Err(PoolError::PoolFull));
    assert_eq!(
        pool.status(),
        PoolStatus {
            pending: 1,
            queued: 2
        }
    );
}

#[test]
fn replacements_fit_in_a_full_pool() {
    let (pool, state) = pool(1, 1);
    add(&pool, &state, 0, 0, 10).unwrap();
    add(&pool, &state, 1, 5, 10).unwrap();
    let pending = TxBuilder::eip1559().fees(200, 20).sign(&test_signer(0));
    assert!(pool.add_transaction(pending, &state, BASE_FEE).is_ok());
    let queued = TxBuilder::eip1559()
        .nonce(5)
        .fees(200, 20)
        .sign(&test_signer(1));
    assert!(pool.add_transaction(queued, &state, BASE_FEE).is_ok());
    assert_eq!(
        pool.status(),
        PoolStatus {
            pending: 1,
            queued: 1
        }
    );
}

#[test]
fn eviction_keeps_the_pending_log_and_hash_index_consistent() {
    let (pool, state) = pool(2, 100);
    let low = add(&pool, &state, 0, 0, 10).unwrap();
    add(&pool, &state, 1, 0, 20).unwrap();
    add(&pool, &state, 2, 0, 30).unwrap();
    assert!(pool.get(&low).is_none());
    let (entries, _) = pool.pending_since(0, 100);
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|(hash, _)| *hash != low));
    // The evicted tx can be submitted again once there is room.
    assert_eq!(add(&pool, &state, 0, 0, 10), Err(PoolError::PoolFull));
}
