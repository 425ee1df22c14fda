//! Transactions handed to consensus for a proposal, offered again while the pool still holds
//! them as pending. A commit whose transactions do not all fit its block leaves the rest out: the
//! node notes them when it builds the block ([`TxPool::note_left_out`]) and they are offered
//! again at the feed's next proposal. A proposal can also be lost with its proposer: whatever is
//! still pending [`REOFFER_AFTER`] after its offer is offered again. Used by both pool feeds (in
//! process, and `fastevm_pendingTransactions` on the authenticated port).

use crate::TxPool;
use alloy_primitives::{Address, Bytes, B256};
use std::{
    collections::{HashMap, HashSet, VecDeque},
    time::{Duration, Instant},
};

/// A transaction offered this long ago and still pending is offered again.
pub const REOFFER_AFTER: Duration = Duration::from_secs(1);

/// The transactions a feed offered, oldest first, to offer again those the pool still holds as
/// pending once they are older than `delay` (and forget the others); and the pool's notes of
/// left-out transactions, to offer those still pending again at once — once per `delay` for
/// each transaction, so one that never fits (a fee below a risen base fee, say) is not proposed
/// at every round.
#[derive(Debug)]
pub struct Reoffer {
    offered: VecDeque<(B256, Instant)>,
    delay: Duration,
    /// Sequence of the last left-out note read from the pool.
    left_out_read: u64,
    /// Transactions offered again for a left-out note in the last `delay`, oldest first.
    left_out_offers: VecDeque<(B256, Instant)>,
    recently_left_out: HashSet<B256>,
}

/// A pending transaction to offer again.
struct Again {
    hash: B256,
    sender: Address,
    nonce: u64,
    raw: Bytes,
}

impl Reoffer {
    /// Offers again after `delay`.
    pub fn new(delay: Duration) -> Self {
        Self {
            offered: VecDeque::new(),
            delay,
            left_out_read: 0,
            left_out_offers: VecDeque::new(),
            recently_left_out: HashSet::new(),
        }
    }

    /// Records `hashes` as offered at `now`.
    pub fn record(&mut self, hashes: impl IntoIterator<Item = B256>, now: Instant) {
        self.offered
            .extend(hashes.into_iter().map(|hash| (hash, now)));
    }

    /// Raw transactions to offer again, each once: those built blocks left out since the last
    /// call (unless offered again for that within `delay`), and those offered at least `delay`
    /// before `now`, if the pool still holds them as pending; a sender's transactions in nonce
    /// order. They count as offered again at `now`.
    pub fn due(&mut self, pool: &TxPool, now: Instant) -> Vec<Bytes> {
        while let Some(&(hash, at)) = self.left_out_offers.front() {
            if now.saturating_duration_since(at) < self.delay {
                break;
            }
            self.left_out_offers.pop_front();
            self.recently_left_out.remove(&hash);
        }
        let (left_out, next) = pool.left_out_since(self.left_out_read);
        self.left_out_read = next;
        let mut again = Vec::new();
        let mut seen = HashSet::new();
        for hash in left_out {
            if self.recently_left_out.contains(&hash) || !seen.insert(hash) {
                continue;
            }
            if let Some(tx) = pending(pool, hash) {
                self.recently_left_out.insert(hash);
                self.left_out_offers.push_back((hash, now));
                again.push(tx);
            }
        }
        while let Some(&(hash, at)) = self.offered.front() {
            if now.saturating_duration_since(at) < self.delay {
                break;
            }
            self.offered.pop_front();
            if seen.insert(hash) {
                again.extend(pending(pool, hash));
            }
        }
        if !again.is_empty() {
            tracing::debug!(
                count = again.len(),
                "offering again transactions still pending"
            );
        }
        let again = in_nonce_order(again);
        self.record(again.iter().map(|tx| tx.hash), now);
        again.into_iter().map(|tx| tx.raw).collect()
    }
}

fn pending(pool: &TxPool, hash: B256) -> Option<Again> {
    let (sender, nonce, raw) = pool.pending_entry(&hash)?;
    Some(Again {
        hash,
        sender,
        nonce,
        raw,
    })
}

/// `txs` with each sender's transactions put in nonce order in the places the sender's
/// transactions held (a later nonce offered first would be left out again).
fn in_nonce_order(txs: Vec<Again>) -> Vec<Again> {
    let senders: Vec<Address> = txs.iter().map(|tx| tx.sender).collect();
    let mut by_sender: HashMap<Address, Vec<Again>> = HashMap::new();
    for tx in txs {
        by_sender.entry(tx.sender).or_default().push(tx);
    }
    for txs in by_sender.values_mut() {
        // Highest nonce first: `pop` hands out the lowest.
        txs.sort_by_key(|tx| std::cmp::Reverse(tx.nonce));
    }
    senders
        .iter()
        .filter_map(|sender| by_sender.get_mut(sender)?.pop())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        test_utils::{test_signer, MemoryState, TxBuilder, TEST_CHAIN_ID},
        PoolConfig,
    };
    use alloy_consensus::TxEnvelope;
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

    #[test]
    fn a_transaction_left_out_again_and_again_is_offered_once_per_delay() {
        let pool = TxPool::new(PoolConfig::default(), TEST_CHAIN_ID);
        let state = MemoryState::funded(1, U256::from(10u64).pow(U256::from(18)));
        let tx = TxBuilder::eip1559().nonce(0).sign(&test_signer(0));
        pool.add_transaction(tx.clone(), &state, 7).unwrap();
        let hash = *tx.tx_hash();
        let start = Instant::now();
        let mut reoffer = Reoffer::new(Duration::from_secs(1));
        reoffer.record([hash], start);
        pool.note_left_out([hash]);
        assert_eq!(reoffer.due(&pool, start).len(), 1, "first time: at once");
        // Left out again by the next block: waits for the delay.
        pool.note_left_out([hash]);
        let soon = start + Duration::from_millis(100);
        assert!(reoffer.due(&pool, soon).is_empty());
        assert_eq!(reoffer.due(&pool, start + Duration::from_secs(1)).len(), 1);
        // A delay after its last left-out offer, a new note brings it back at once again.
        let later = start + Duration::from_millis(1_200);
        pool.note_left_out([hash]);
        assert_eq!(reoffer.due(&pool, later).len(), 1);
    }

    #[test]
    fn a_senders_transactions_are_offered_again_in_nonce_order() {
        let pool = TxPool::new(PoolConfig::default(), TEST_CHAIN_ID);
        let state = MemoryState::funded(2, U256::from(10u64).pow(U256::from(18)));
        let (a, b) = (test_signer(0), test_signer(1));
        let a0 = TxBuilder::eip1559().nonce(0).sign(&a);
        let a1 = TxBuilder::eip1559().nonce(1).sign(&a);
        let b0 = TxBuilder::eip1559().nonce(0).sign(&b);
        for tx in [&a0, &a1, &b0] {
            pool.add_transaction(tx.clone(), &state, 7).unwrap();
        }
        let start = Instant::now();
        let mut reoffer = Reoffer::new(Duration::from_secs(1));
        // a0 offered a delay ago (its proposal lost); a1 and b0 left out of a block just now.
        reoffer.record([*a0.tx_hash()], start);
        pool.note_left_out([*a1.tx_hash(), *b0.tx_hash()]);
        let raw = |tx: &TxEnvelope| Bytes::from(tx.encoded_2718());
        assert_eq!(
            reoffer.due(&pool, start + Duration::from_secs(1)),
            vec![raw(&a0), raw(&b0), raw(&a1)]
        );
    }
}
