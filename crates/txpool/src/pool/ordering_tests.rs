//! Pending/queued split, replacement, block ordering and the pending log.

use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, U256};

use crate::{
    test_utils::{test_signer, MemoryState, TxBuilder, TxType, TEST_CHAIN_ID},
    PoolConfig, PoolError, PoolStatus, TxPool,
};

const BASE_FEE: u64 = 7;

fn setup() -> (TxPool, MemoryState) {
    (
        TxPool::new(PoolConfig::default(), TEST_CHAIN_ID),
        MemoryState::funded(4, U256::from(10u64).pow(U256::from(18))),
    )
}

fn add(pool: &TxPool, state: &MemoryState, signer: u64, tx: TxBuilder) -> B256 {
    pool.add_transaction(tx.sign(&test_signer(signer)), state, BASE_FEE)
        .unwrap()
}

/// `(signer index, nonce)` of each transaction, for readable order assertions.
fn order(txs: &[(alloy_consensus::TxEnvelope, Address)]) -> Vec<(u64, u64)> {
    use alloy_consensus::Transaction;
    txs.iter()
        .map(|(tx, sender)| {
            let index = (0..4)
                .find(|i| test_signer(*i).address() == *sender)
                .unwrap();
            (index, tx.nonce())
        })
        .collect()
}

#[test]
fn nonce_gap_queues_and_closing_it_promotes() {
    let (pool, state) = setup();
    let sender = test_signer(0).address();
    let second = add(&pool, &state, 0, TxBuilder::eip1559().nonce(1));
    let third = add(&pool, &state, 0, TxBuilder::eip1559().nonce(2));
    assert_eq!(
        pool.status(),
        PoolStatus {
            pending: 0,
            queued: 2
        }
    );
    assert_eq!(pool.pending_nonce(&sender), None);
    assert!(!pool.get(&second).unwrap().is_pending);
    assert!(pool.best_transactions(BASE_FEE, 10).is_empty());
    assert!(pool.content().pending.is_empty());
    assert_eq!(pool.content().queued[&sender].len(), 2);

    add(&pool, &state, 0, TxBuilder::eip1559().nonce(0));
    assert_eq!(
        pool.status(),
        PoolStatus {
            pending: 3,
            queued: 0
        }
    );
    assert_eq!(pool.pending_nonce(&sender), Some(3));
    assert!(pool.get(&second).unwrap().is_pending && pool.get(&third).unwrap().is_pending);
    let content = pool.content_from(&sender);
    assert_eq!(
        content.pending[&sender].keys().copied().collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    assert!(content.queued.is_empty());
    assert!(pool
        .content_from(&test_signer(1).address())
        .pending
        .is_empty());
}

#[test]
fn replacement_needs_the_price_bump_on_both_fees() {
    let (pool, state) = setup();
    let old = add(&pool, &state, 0, TxBuilder::eip1559().fees(100, 10));
    let underpriced = [(109, 11), (110, 10), (100, 100), (110, 9)];
    for (max_fee, tip) in underpriced {
        let tx = TxBuilder::eip1559()
            .fees(max_fee, tip)
            .sign(&test_signer(0));
        assert_eq!(
            pool.add_transaction(tx, &state, BASE_FEE),
            Err(PoolError::ReplacementUnderpriced),
            "{max_fee}/{tip}"
        );
    }
    assert!(pool.contains(&old));
    let new = add(&pool, &state, 0, TxBuilder::eip1559().fees(110, 11));
    assert!(!pool.contains(&old));
    assert!(pool.get(&new).unwrap().is_pending);
    assert_eq!(pool.len(), 1);
}

#[test]
fn replacement_must_raise_even_tiny_fees() {
    let (pool, state) = setup();
    // 10% of 7 rounds down to nothing: the new fees must still be strictly higher.
    add(&pool, &state, 0, TxBuilder::eip1559().fees(7, 1));
    let same = TxBuilder::eip1559().fees(7, 1).value(U256::from(1));
    assert_eq!(
        pool.add_transaction(same.sign(&test_signer(0)), &state, BASE_FEE),
        Err(PoolError::ReplacementUnderpriced)
    );
    add(&pool, &state, 0, TxBuilder::eip1559().fees(8, 2));
    assert_eq!(pool.len(), 1);
}

#[test]
fn costlier_replacement_demotes_what_the_balance_no_longer_covers() {
    let pool = TxPool::new(PoolConfig::default(), TEST_CHAIN_ID);
    let state = MemoryState::new().with_account(test_signer(0).address(), 0, U256::from(5_000_000));
    add(&pool, &state, 0, TxBuilder::eip1559().nonce(0));
    let later = add(&pool, &state, 0, TxBuilder::eip1559().nonce(1));
    assert_eq!(
        pool.status(),
        PoolStatus {
            pending: 2,
            queued: 0
        }
    );
    // 21_000 * 200 = 4_200_000: nonce 1 (2_100_000) no longer fits after it.
    add(
        &pool,
        &state,
        0,
        TxBuilder::eip1559().nonce(0).fees(200, 20),
    );
    assert_eq!(
        pool.status(),
        PoolStatus {
            pending: 1,
            queued: 1
        }
    );
    assert!(!pool.get(&later).unwrap().is_pending);
    assert_eq!(pool.pending_nonce(&test_signer(0).address()), Some(1));
}

#[test]
fn best_orders_senders_by_tip_and_each_sender_by_nonce() {
    let (pool, state) = setup();
    // Sender 0: a cheap tx then a rich one; sender 1: medium; sender 2: richest.
    add(&pool, &state, 0, TxBuilder::eip1559().nonce(0).fees(100, 2));
    add(
        &pool,
        &state,
        0,
        TxBuilder::eip1559().nonce(1).fees(100, 50),
    );
    add(&pool, &state, 1, TxBuilder::eip1559().nonce(0).fees(100, 5));
    add(
        &pool,
        &state,
        2,
        TxBuilder::eip1559().nonce(0).fees(100, 40),
    );
    let best = pool.best_transactions(BASE_FEE, 10);
    assert_eq!(order(&best), vec![(2, 0), (1, 0), (0, 0), (0, 1)]);
    assert_eq!(best[0].1, test_signer(2).address());
    assert_eq!(
        order(&pool.best_transactions(BASE_FEE, 2)),
        vec![(2, 0), (1, 0)]
    );
}

#[test]
fn best_uses_the_effective_tip_at_the_base_fee() {
    let (pool, state) = setup();
    // At base fee 7: sender 0 tips min(20, 20 - 7) = 13, sender 1 tips min(15, 100 - 7) = 15.
    add(&pool, &state, 0, TxBuilder::eip1559().fees(20, 20));
    add(&pool, &state, 1, TxBuilder::eip1559().fees(100, 15));
    assert_eq!(
        order(&pool.best_transactions(BASE_FEE, 10)),
        vec![(1, 0), (0, 0)]
    );
    // At base fee 0 sender 0 tips 20 and goes first.
    assert_eq!(order(&pool.best_transactions(0, 10)), vec![(0, 0), (1, 0)]);
}

#[test]
fn best_breaks_ties_by_arrival() {
    let (pool, state) = setup();
    add(&pool, &state, 3, TxBuilder::eip1559().fees(100, 10));
    add(&pool, &state, 1, TxBuilder::eip1559().fees(100, 10));
    add(
        &pool,
        &state,
        2,
        TxBuilder::of_type(TxType::Legacy).fees(17, 17),
    );
    // The legacy tx tips 17 - 7 = 10 too.
    assert_eq!(
        order(&pool.best_transactions(BASE_FEE, 10)),
        vec![(3, 0), (1, 0), (2, 0)]
    );
}

#[test]
fn best_skips_a_fee_cap_below_the_base_fee_and_what_follows() {
    let (pool, state) = setup();
    add(&pool, &state, 0, TxBuilder::eip1559().nonce(0).fees(100, 1));
    add(&pool, &state, 0, TxBuilder::eip1559().nonce(1).fees(10, 1));
    add(&pool, &state, 0, TxBuilder::eip1559().nonce(2).fees(100, 1));
    add(&pool, &state, 1, TxBuilder::eip1559().fees(9, 1));
    add(&pool, &state, 2, TxBuilder::eip1559().fees(50, 1));
    // Base fee rose to 20: sender 0 stops after nonce 0, sender 1 is skipped entirely.
    assert_eq!(order(&pool.best_transactions(20, 10)), vec![(0, 0), (2, 0)]);
    assert_eq!(pool.best_transactions(20, 0).len(), 0);
}

#[test]
fn pending_since_hands_out_each_entry_once() {
    let (pool, state) = setup();
    let a = add(&pool, &state, 0, TxBuilder::eip1559().nonce(0));
    let b = add(&pool, &state, 1, TxBuilder::eip1559().nonce(0));
    let queued = add(&pool, &state, 0, TxBuilder::eip1559().nonce(2));
    let (first, cursor) = pool.pending_since(0, 1);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].0, a);
    assert_eq!(first[0].1, pool.get(&a).unwrap().tx.encoded_2718());
    let (second, cursor) = pool.pending_since(cursor, 10);
    assert_eq!(second.iter().map(|(h, _)| *h).collect::<Vec<_>>(), vec![b]);
    let (none, same) = pool.pending_since(cursor, 10);
    assert!(none.is_empty());
    assert_eq!(same, cursor);

    // Closing the gap makes nonce 1 and then the queued nonce 2 pending, in nonce order.
    let gap = add(&pool, &state, 0, TxBuilder::eip1559().nonce(1));
    let (third, cursor) = pool.pending_since(cursor, 10);
    assert_eq!(
        third.iter().map(|(h, _)| *h).collect::<Vec<_>>(),
        vec![gap, queued]
    );

    // A replacement is a new entry; the replaced tx never shows up again.
    let replacement = add(
        &pool,
        &state,
        1,
        TxBuilder::eip1559().nonce(0).fees(200, 20),
    );
    let (fourth, cursor) = pool.pending_since(cursor, 10);
    assert_eq!(
        fourth.iter().map(|(h, _)| *h).collect::<Vec<_>>(),
        vec![replacement]
    );
    assert_eq!(pool.pending_since(cursor, 10).0.len(), 0);
    assert_eq!(pool.pending_sequence(), cursor);

    // Reading everything from the start gives the current pending set in entry order.
    let all: Vec<B256> = pool
        .pending_since(0, 100)
        .0
        .into_iter()
        .map(|(h, _)| h)
        .collect();
    assert_eq!(all, vec![a, gap, queued, replacement]);
}

#[test]
fn pending_hashes_follow_the_same_sequence() {
    let (pool, state) = setup();
    let start = pool.pending_sequence();
    assert_eq!(start, 0);
    let a = add(&pool, &state, 0, TxBuilder::eip1559().nonce(0));
    add(&pool, &state, 0, TxBuilder::eip1559().nonce(5));
    let (hashes, cursor) = pool.pending_hashes_since(start);
    assert_eq!(hashes, vec![a]);
    let b = add(&pool, &state, 2, TxBuilder::eip1559());
    assert_eq!(pool.pending_hashes_since(cursor), (vec![b], cursor + 1));
    assert_eq!(pool.pending_hashes_since(cursor + 1), (vec![], cursor + 1));
}
