//! Transactions handed to consensus for a proposal, offered again while the pool still holds
//! them as pending. A commit whose transactions do not all fit its block leaves the rest out: the
//! node notes them when it builds the block ([`TxPool::note_left_out`]) and they are offered
//! again at the feed's next proposal. A proposal can also be lost with its proposer: whatever is
//! still pending [`REOFFER_AFTER`] after its offer is offered again. Used by both pool feeds (in
//! process, and `fastevm_pendingTransactions` on the authenticated port).

use crate::TxPool;
use alloy_primitives::{Bytes, B256};
use std::{
    collections::{HashSet, VecDeque},
    time::{Duration, Instant},
};

/// A transaction offered this long ago and still pending is offered again.
pub const REOFFER_AFTER: Duration = Duration::from_secs(1);

/// The transactions a feed offered, oldest first, to offer again those the pool still holds as
/// pending once they are older than `delay` (and forget the others); and the pool's notes of
/// left-out transactions, to offer those still pending again at once.
#[derive(Debug)]
pub struct Reoffer {
    offered: VecDeque<(B256, Instant)>,
    delay: Duration,
    /// Sequence of the last left-out note read from the pool.
    left_out_read: u64,
}

impl Reoffer {
    /// Offers again after `delay`.
    pub fn new(delay: Duration) -> Self {
        Self {
            offered: VecDeque::new(),
            delay,
            left_out_read: 0,
        }
    }

    /// Records `hashes` as offered at `now`.
    pub fn record(&mut self, hashes: impl IntoIterator<Item = B256>, now: Instant) {
        self.offered
            .extend(hashes.into_iter().map(|hash| (hash, now)));
    }

    /// Raw transactions to offer again, each once: those built blocks left out since the last
    /// call, then those offered at least `delay` before `now`, in that order, if the pool still
    /// holds them as pending. They count as offered again at `now`.
    pub fn due(&mut self, pool: &TxPool, now: Instant) -> Vec<Bytes> {
        let (left_out, next) = pool.left_out_since(self.left_out_read);
        self.left_out_read = next;
        let mut again = Vec::new();
        let mut seen = HashSet::new();
        let mut offer = |hash: B256, again: &mut Vec<(B256, Bytes)>| {
            if seen.insert(hash) {
                if let Some(raw) = pool.pending_raw(&hash) {
                    again.push((hash, raw));
                }
            }
        };
        for hash in left_out {
            offer(hash, &mut again);
        }
        while let Some(&(hash, at)) = self.offered.front() {
            if now.saturating_duration_since(at) < self.delay {
                break;
            }
            self.offered.pop_front();
            offer(hash, &mut again);
        }
        if !again.is_empty() {
            tracing::debug!(
                count = again.len(),
                "offering again transactions still pending"
            );
        }
        self.record(again.iter().map(|(hash, _)| *hash), now);
        again.into_iter().map(|(_, raw)| raw).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        test_utils::{test_signer, MemoryState, TxBuilder, TEST_CHAIN_ID},
        PoolConfig,
    };
    use alloy_eips::eip2718::Encodable2718;
    use alloy_primitives::U256;

    #[test]
    fn left_out_transactions_still_pending_are_offered_again_at_once() {
        let pool = TxPool::new(PoolConfig::default(), TEST_CHAIN_ID);
        let mut state = MemoryState::funded(1, U256::from(10u64).pow(U256::from(18)));
        let signer = test_signer(0);
        let txs: Vec<_> = (0..3)
            .map(|nonce| TxBuilder::eip1559().nonce(nonce).sign(&signer))
            .collect();
        let hashes: Vec<B256> = txs.iter().map(|tx| *tx.tx_hash()).collect();
        for tx in &txs {
            pool.add_transaction(tx.clone(), &state, 7).unwrap();
        }
        let now = Instant::now();
        // A delay no test waits for: only the left-out notes bring transactions back.
        let mut reoffer = Reoffer::new(Duration::from_secs(3600));
        reoffer.record(hashes.clone(), now);
        assert!(reoffer.due(&pool, now).is_empty());

        // The block took transaction 0 and left out 1 and 2 (noted twice: offered once).
        state.set_account(signer.address(), 1, U256::from(10u64).pow(U256::from(18)));
        pool.on_new_head(&state, 7, vec![]);
        pool.note_left_out([hashes[0], hashes[1], hashes[2], hashes[1]]);
        let raw = |i: usize| Bytes::from(txs[i].encoded_2718());
        assert_eq!(reoffer.due(&pool, now), vec![raw(1), raw(2)]);
        assert!(reoffer.due(&pool, now).is_empty(), "each note is read once");

        // Left out again, but meanwhile included: nothing to offer.
        state.set_account(signer.address(), 3, U256::from(10u64).pow(U256::from(18)));
        pool.on_new_head(&state, 7, vec![]);
        pool.note_left_out([hashes[1], hashes[2]]);
        assert!(reoffer.due(&pool, now).is_empty());
    }

    #[test]
    fn offers_still_pending_after_the_delay_are_offered_again() {
        let pool = TxPool::new(PoolConfig::default(), TEST_CHAIN_ID);
        let state = MemoryState::funded(1, U256::from(10u64).pow(U256::from(18)));
        let tx = TxBuilder::eip1559().nonce(0).sign(&test_signer(0));
        pool.add_transaction(tx.clone(), &state, 7).unwrap();
        let start = Instant::now();
        let mut reoffer = Reoffer::new(Duration::from_secs(1));
        reoffer.record([*tx.tx_hash()], start);
        assert!(reoffer
            .due(&pool, start + Duration::from_millis(999))
            .is_empty());
        let later = start + Duration::from_secs(1);
        assert_eq!(
            reoffer.due(&pool, later),
            vec![Bytes::from(tx.encoded_2718())]
        );
        // Offered again at `later`: not before another delay.
        assert!(reoffer
            .due(&pool, later + Duration::from_millis(500))
            .is_empty());
        assert_eq!(reoffer.due(&pool, later + Duration::from_secs(1)).len(), 1);
    }
}
