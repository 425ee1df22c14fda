//! A long deterministic mix of adds, replacements, evictions and head moves, checking after every
//! step that the pool's views agree with each other and with its limits.

use std::collections::BTreeSet;

use alloy_primitives::{B256, U256};

use crate::{
    test_utils::{test_signer, MemoryState, TxBuilder, TEST_CHAIN_ID},
    PoolConfig, PoolState, TxPool,
};

const SENDERS: u64 = 5;

/// A fixed linear congruential sequence: the same operations on every run.
struct Sequence(u64);

impl Sequence {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound
    }
}

fn check(pool: &TxPool, state: &MemoryState, config: &PoolConfig) {
    let status = pool.status();
    let content = pool.content();
    let pending: usize = content.pending.values().map(|txs| txs.len()).sum();
    let queued: usize = content.queued.values().map(|txs| txs.len()).sum();
    assert_eq!((status.pending, status.queued), (pending, queued));
    assert_eq!(pool.len(), pending + queued);
    assert!(pending <= config.max_pending && queued <= config.max_queued);

    for (sender, txs) in &content.pending {
        let account = state.account(sender).unwrap();
        let nonces: Vec<u64> = txs.keys().copied().collect();
        let expected: Vec<u64> = (account.nonce..account.nonce + nonces.len() as u64).collect();
        assert_eq!(nonces, expected, "pending run of {sender}");
        assert_eq!(
            pool.pending_nonce(sender),
            Some(account.nonce + nonces.len() as u64)
        );
        let cost: U256 = txs
            .values()
            .map(|tx| {
                use alloy_consensus::Transaction;
                U256::from(tx.tx.gas_limit()) * U256::from(tx.tx.max_fee_per_gas())
            })
            .sum();
        assert!(cost <= account.balance);
    }
    for (sender, txs) in content.pending.iter().chain(&content.queued) {
        assert!(txs.len() <= config.max_account_slots);
        for (nonce, tx) in txs {
            assert_eq!(pool.get(&tx.hash()).as_ref(), Some(tx));
            assert_eq!(tx.sender, *sender);
            assert!(*nonce >= state.account(sender).unwrap().nonce);
        }
    }
    let in_content: BTreeSet<B256> = content
        .pending
        .values()
        .flat_map(|txs| txs.values().map(|tx| tx.hash()))
        .collect();
    let (logged, _) = pool.pending_since(0, usize::MAX);
    let in_log: BTreeSet<B256> = logged.iter().map(|(hash, _)| *hash).collect();
    assert_eq!(in_log, in_content);
    assert_eq!(logged.len(), in_log.len());
    let best = pool.best_transactions(0, usize::MAX);
    assert_eq!(best.len(), pending);
}

#[test]
fn views_stay_consistent_through_a_long_mixed_run() {
    let config = PoolConfig {
        max_account_slots: 4,
        max_pending: 8,
        max_queued: 4,
        ..PoolConfig::default()
    };
    let pool = TxPool::new(config.clone(), TEST_CHAIN_ID);
    let mut state = MemoryState::funded(SENDERS, U256::from(20_000_000u64));
    let mut sequence = Sequence(7);
    let (mut accepted, mut rejected, mut heads) = (0, 0, 0);
    for _ in 0..600 {
        if sequence.below(10) == 0 {
            // A block mined some txs and moved balances.
            heads += 1;
            for index in 0..SENDERS {
                let address = test_signer(index).address();
                let account = state.account(&address).unwrap();
                let nonce = account.nonce + sequence.below(2);
                let balance = U256::from(5_000_000 + 1_000_000 * sequence.below(20));
                state.set_account(address, nonce, balance);
            }
            pool.on_new_head(&state, 7, vec![]);
        } else {
            let signer = sequence.below(SENDERS);
            let nonce =
                state.account(&test_signer(signer).address()).unwrap().nonce + sequence.below(5);
            let max_fee = 7 + u128::from(sequence.below(100));
            let tip = u128::from(sequence.below(max_fee as u64 + 1));
            let tx = TxBuilder::eip1559()
                .nonce(nonce)
                .fees(max_fee, tip)
                .sign(&test_signer(signer));
            match pool.add_transaction(tx, &state, 7) {
                Ok(_) => accepted += 1,
                Err(_) => rejected += 1,
            }
        }
        check(&pool, &state, &config);
    }
    // The run exercised every path, not just one.
    assert!(
        accepted > 100 && rejected > 100 && heads > 30,
        "{accepted} {rejected} {heads}"
    );
}
