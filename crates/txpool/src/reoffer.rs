//! Transactions handed to consensus for a proposal, offered again while the pool still holds
//! them as pending: a commit whose transactions do not all fit its block leaves the rest out, and
//! a proposal can be lost with its proposer. Used by both pool feeds (in process, and
//! `fastevm_pendingTransactions` on the authenticated port).

use crate::TxPool;
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Bytes, B256};
use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

/// A transaction offered this long ago and still pending is offered again.
pub const REOFFER_AFTER: Duration = Duration::from_secs(1);

/// The transactions a feed offered, oldest first, to offer again those the pool still holds as
/// pending once they are older than `delay` (and forget the others).
#[derive(Debug)]
pub struct Reoffer {
    offered: VecDeque<(B256, Instant)>,
    delay: Duration,
}

impl Reoffer {
    /// Offers again after `delay`.
    pub fn new(delay: Duration) -> Self {
        Self {
            offered: VecDeque::new(),
            delay,
        }
    }

    /// Records `hashes` as offered at `now`.
    pub fn record(&mut self, hashes: impl IntoIterator<Item = B256>, now: Instant) {
        self.offered
            .extend(hashes.into_iter().map(|hash| (hash, now)));
    }

    /// Raw transactions offered at least `delay` before `now` and still pending, in the order
    /// they were offered; they count as offered again at `now`.
    pub fn due(&mut self, pool: &TxPool, now: Instant) -> Vec<Bytes> {
        let mut again = Vec::new();
        while let Some(&(hash, at)) = self.offered.front() {
            if now.saturating_duration_since(at) < self.delay {
                break;
            }
            self.offered.pop_front();
            if let Some(tx) = pool.get(&hash).filter(|tx| tx.is_pending) {
                again.push((hash, Bytes::from(tx.tx.encoded_2718())));
            }
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
