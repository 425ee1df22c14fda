//! Following the canonical head: mined transactions, balance changes and reorgs.

use alloy_consensus::TxEnvelope;
use alloy_primitives::{Address, B256, U256};

use crate::{
    test_utils::{test_signer, MemoryState, TxBuilder, UnavailableState, TEST_CHAIN_ID},
    PoolConfig, PoolStatus, TxPool,
};

const BASE_FEE: u64 = 7;
/// Cost of a default test transaction: 21_000 gas at 100 wei.
const TX_COST: u64 = 2_100_000;

fn ether() -> U256 {
    U256::from(10u64).pow(U256::from(18))
}

fn sign(signer: u64, nonce: u64) -> TxEnvelope {
    TxBuilder::eip1559().nonce(nonce).sign(&test_signer(signer))
}

fn add(pool: &TxPool, state: &MemoryState, signer: u64, nonce: u64) -> B256 {
    pool.add_transaction(sign(signer, nonce), state, BASE_FEE)
        .unwrap()
}

fn address(signer: u64) -> Address {
    test_signer(signer).address()
}

#[test]
fn mined_transactions_are_dropped_and_the_rest_stay_pending() {
    let pool = TxPool::new(PoolConfig::default(), TEST_CHAIN_ID);
    let mut state = MemoryState::funded(2, ether());
    let mined: Vec<B256> = (0..2).map(|n| add(&pool, &state, 0, n)).collect();
    let kept = add(&pool, &state, 0, 2);
    let other = add(&pool, &state, 1, 0);
    let (_, cursor) = pool.pending_since(0, 100);

    state.set_account(address(0), 2, ether());
    pool.on_new_head(&state, BASE_FEE, vec![]);
    assert!(mined.iter().all(|hash| !pool.contains(hash)));
    assert!(pool.get(&kept).unwrap().is_pending);
    assert!(pool.get(&other).unwrap().is_pending);
    assert_eq!(
        pool.status(),
        PoolStatus {
            pending: 2,
            queued: 0
        }
    );
    assert_eq!(pool.pending_nonce(&address(0)), Some(3));
    // Nothing new entered the pending set.
    assert!(pool.pending_since(cursor, 100).0.is_empty());

    // Everything mined: the sender disappears.
    state.set_account(address(0), 3, ether());
    pool.on_new_head(&state, BASE_FEE, vec![]);
    assert_eq!(pool.pending_nonce(&address(0)), None);
    assert!(pool.content_from(&address(0)).pending.is_empty());
    assert_eq!(pool.len(), 1);
}

#[test]
fn a_head_that_closes_the_gap_promotes_queued_transactions() {
    let pool = TxPool::new(PoolConfig::default(), TEST_CHAIN_ID);
    let mut state = MemoryState::funded(1, ether());
    // Nonce 0 went into a block through another node; only 1 and 2 are pooled here.
    let queued = [add(&pool, &state, 0, 1), add(&pool, &state, 0, 2)];
    assert_eq!(
        pool.status(),
        PoolStatus {
            pending: 0,
            queued: 2
        }
    );
    let cursor = pool.pending_sequence();

    state.set_account(address(0), 1, ether());
    pool.on_new_head(&state, BASE_FEE, vec![]);
    assert_eq!(
        pool.status(),
        PoolStatus {
            pending: 2,
            queued: 0
        }
    );
    let (entered, _) = pool.pending_since(cursor, 100);
    assert_eq!(
        entered.iter().map(|(h, _)| *h).collect::<Vec<_>>(),
        queued.to_vec()
    );
}

#[test]
fn balance_changes_demote_drop_and_promote() {
    let pool = TxPool::new(PoolConfig::default(), TEST_CHAIN_ID);
    let mut state = MemoryState::funded(1, U256::from(3 * TX_COST));
    let hashes: Vec<B256> = (0..3).map(|n| add(&pool, &state, 0, n)).collect();
    assert_eq!(pool.status().pending, 3);

    // Enough for two: the third waits in the queue.
    state.set_account(address(0), 0, U256::from(2 * TX_COST));
    pool.on_new_head(&state, BASE_FEE, vec![]);
    assert_eq!(
        pool.status(),
        PoolStatus {
            pending: 2,
            queued: 1
        }
    );
    assert!(!pool.get(&hashes[2]).unwrap().is_pending);
    let cursor = pool.pending_sequence();

    // Funds back: it is promoted and shows up as a new pending entry.
    state.set_account(address(0), 0, U256::from(3 * TX_COST));
    pool.on_new_head(&state, BASE_FEE, vec![]);
    assert_eq!(
        pool.status(),
        PoolStatus {
            pending: 3,
            queued: 0
        }
    );
    assert_eq!(pool.pending_hashes_since(cursor).0, vec![hashes[2]]);

    // Not even one tx is affordable: all are dropped.
    state.set_account(address(0), 0, U256::from(TX_COST - 1));
    pool.on_new_head(&state, BASE_FEE, vec![]);
    assert!(pool.is_empty());
    assert_eq!(pool.status(), PoolStatus::default());
}

#[test]
fn reorged_out_transactions_are_reinjected_when_still_valid() {
    let pool = TxPool::new(PoolConfig::default(), TEST_CHAIN_ID);
    let mut state = MemoryState::funded(2, ether());
    let txs: Vec<TxEnvelope> = (0..3).map(|n| sign(0, n)).collect();
    for tx in &txs {
        pool.add_transaction(tx.clone(), &state, BASE_FEE).unwrap();
    }
    // A block with nonces 0..3 becomes canonical.
    state.set_account(address(0), 3, ether());
    pool.on_new_head(&state, BASE_FEE, vec![]);
    assert!(pool.is_empty());

    // It is reorged out for a branch that only includes nonce 0.
    state.set_account(address(0), 1, ether());
    let reinjected = txs.iter().map(|tx| (tx.clone(), address(0))).collect();
    pool.on_new_head(&state, BASE_FEE, reinjected);
    assert!(!pool.contains(txs[0].tx_hash()));
    assert!(pool.get(txs[1].tx_hash()).unwrap().is_pending);
    assert!(pool.get(txs[2].tx_hash()).unwrap().is_pending);
    assert_eq!(pool.pending_nonce(&address(0)), Some(3));

    // Reinjecting what is already pooled changes nothing.
    let again = vec![(txs[1].clone(), address(0))];
    pool.on_new_head(&state, BASE_FEE, again);
    assert_eq!(
        pool.status(),
        PoolStatus {
            pending: 2,
            queued: 0
        }
    );
}

#[test]
fn reinjected_transactions_below_the_new_base_fee_are_dropped() {
    let pool = TxPool::new(PoolConfig::default(), TEST_CHAIN_ID);
    let state = MemoryState::funded(1, ether());
    let cheap = TxBuilder::eip1559().fees(10, 1).sign(&test_signer(0));
    pool.on_new_head(&state, 11, vec![(cheap.clone(), address(0))]);
    assert!(!pool.contains(cheap.tx_hash()));
    pool.on_new_head(&state, 10, vec![(cheap.clone(), address(0))]);
    assert!(pool.contains(cheap.tx_hash()));
}

#[test]
fn a_sender_whose_state_cannot_be_read_keeps_its_transactions() {
    let pool = TxPool::new(PoolConfig::default(), TEST_CHAIN_ID);
    let state = MemoryState::funded(1, ether());
    let hash = add(&pool, &state, 0, 0);
    pool.on_new_head(&UnavailableState, BASE_FEE, vec![]);
    assert!(pool.get(&hash).unwrap().is_pending);
}

#[test]
fn promotions_beyond_the_pending_limit_evict_the_cheapest() {
    let config = PoolConfig {
        max_pending: 2,
        ..PoolConfig::default()
    };
    let pool = TxPool::new(config, TEST_CHAIN_ID);
    let mut state = MemoryState::funded(2, ether());
    let medium = add(&pool, &state, 0, 0);
    let cheap = pool
        .add_transaction(
            TxBuilder::eip1559()
                .nonce(1)
                .fees(50, 5)
                .sign(&test_signer(1)),
            &state,
            BASE_FEE,
        )
        .unwrap();
    let richer = pool
        .add_transaction(
            TxBuilder::eip1559()
                .nonce(2)
                .fees(100, 50)
                .sign(&test_signer(1)),
            &state,
            BASE_FEE,
        )
        .unwrap();
    assert_eq!(
        pool.status(),
        PoolStatus {
            pending: 1,
            queued: 2
        }
    );

    // Sender 1's nonce 0 was mined elsewhere: both of its txs become executable, one too many.
    state.set_account(address(1), 1, ether());
    pool.on_new_head(&state, BASE_FEE, vec![]);
    assert_eq!(
        pool.status(),
        PoolStatus {
            pending: 2,
            queued: 0
        }
    );
    // Only the end of a sender's run may go (evicting sender 1's cheap nonce 1 would strand its
    // nonce 2): of the two run ends, sender 0's tip of 10 is the lowest.
    assert!(!pool.contains(&medium));
    assert!(pool.contains(&cheap) && pool.contains(&richer));
}

#[test]
fn a_nonce_that_goes_back_drops_what_falls_outside_the_slot_window() {
    let config = PoolConfig {
        max_account_slots: 3,
        ..PoolConfig::default()
    };
    let pool = TxPool::new(config, TEST_CHAIN_ID);
    let mut state = MemoryState::new().with_account(address(0), 2, ether());
    let inside = add(&pool, &state, 0, 2);
    let outside = add(&pool, &state, 0, 4);
    assert_eq!(
        pool.status(),
        PoolStatus {
            pending: 1,
            queued: 1
        }
    );
    // A reorg takes the account back to nonce 1: the window is now nonces 1..4.
    state.set_account(address(0), 1, ether());
    pool.on_new_head(&state, BASE_FEE, vec![]);
    assert!(pool.contains(&inside));
    assert!(!pool.contains(&outside));
    assert_eq!(
        pool.status(),
        PoolStatus {
            pending: 0,
            queued: 1
        }
    );
}

#[test]
fn the_pool_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<TxPool>();
    let pool = std::sync::Arc::new(TxPool::new(PoolConfig::default(), TEST_CHAIN_ID));
    let state = MemoryState::funded(4, ether());
    std::thread::scope(|scope| {
        for signer in 0..4 {
            let (pool, state) = (pool.clone(), &state);
            scope.spawn(move || {
                for nonce in 0..5 {
                    add(&pool, state, signer, nonce);
                }
            });
        }
    });
    assert_eq!(
        pool.status(),
        PoolStatus {
            pending: 20,
            queued: 0
        }
    );
    // Every entry got its own sequence number.
    let (entries, cursor) = pool.pending_since(0, 100);
    assert_eq!(entries.len(), 20);
    assert_eq!(cursor, 20);
}
