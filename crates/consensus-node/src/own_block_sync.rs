//! Amnesia recovery (Sui's `synchronizer.rs::fetch_own_last_block`): a validator that starts
//! with no block of its own in its store — a new chain, or a wiped disk — asks its peers for the
//! latest block they hold from it, and proposes only above the highest round they report (with
//! a signed block to prove it). Without this, a validator restored from an empty store would
//! sign a second block for rounds it had signed before the wipe: equivocation.
//!
//! Pure bookkeeping; [`crate::ValidatorLogic`] sends the requests and feeds the answers in. The
//! wait ends when peers holding, with this validator, a quorum of the stake have answered, or
//! after a timeout (a peer that never answers cannot stall a validator forever).

use std::collections::BTreeSet;

use fastevm_consensus::{AuthorityIndex, Committee, Round};

/// The answers gathered so far.
#[derive(Clone, Debug)]
pub(crate) struct OwnBlockSync {
    own: AuthorityIndex,
    answered: BTreeSet<AuthorityIndex>,
    highest: Round,
    /// When the first request went out.
    started_ms: Option<u64>,
    /// When the requests went out last (they are repeated until the wait ends).
    last_request_ms: u64,
}

impl OwnBlockSync {
    /// Nothing asked yet, for validator `own`.
    pub(crate) fn new(own: AuthorityIndex) -> Self {
        Self {
            own,
            answered: BTreeSet::new(),
            highest: 0,
            started_ms: None,
            last_request_ms: 0,
        }
    }

    /// Notes that requests go out at `now_ms`.
    pub(crate) fn requested(&mut self, now_ms: u64) {
        self.started_ms.get_or_insert(now_ms);
        self.last_request_ms = now_ms;
    }

    /// Whether the requests should go out again (every `interval_ms` while waiting).
    pub(crate) fn request_due(&self, now_ms: u64, interval_ms: u64) -> bool {
        self.started_ms.is_none() || now_ms >= self.last_request_ms.saturating_add(interval_ms)
    }

    /// `peer` holds an own block of `round` at most (0: none).
    pub(crate) fn answer(&mut self, peer: AuthorityIndex, round: Round) {
        if peer != self.own {
            self.answered.insert(peer);
            self.highest = self.highest.max(round);
        }
    }

    /// The highest own round reported so far.
    pub(crate) fn highest(&self) -> Round {
        self.highest
    }

    /// Whether the answers (this validator's own stake included) reach a quorum.
    pub(crate) fn has_quorum(&self, committee: &Committee) -> bool {
        let stake: u64 = self
            .answered
            .iter()
            .chain(std::iter::once(&self.own))
            .map(|a| committee.stake(*a))
            .sum();
        stake >= committee.quorum_threshold()
    }

    /// Whether the wait has lasted `timeout_ms`.
    pub(crate) fn timed_out(&self, now_ms: u64, timeout_ms: u64) -> bool {
        self.started_ms
            .is_some_and(|start| now_ms >= start.saturating_add(timeout_ms))
    }

    /// When the wait times out, once started.
    pub(crate) fn deadline_ms(&self, timeout_ms: u64) -> Option<u64> {
        self.started_ms
            .map(|start| start.saturating_add(timeout_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quorum_of_answers_ends_the_wait_with_the_highest_round() {
        let (committee, _) = Committee::new_for_test(4, 0);
        let mut sync = OwnBlockSync::new(1);
        assert!(sync.request_due(0, 1_000));
        sync.requested(100);
        assert!(!sync.request_due(600, 1_000) && sync.request_due(1_100, 1_000));
        sync.answer(0, 17);
        assert!(
            !sync.has_quorum(&committee),
            "own stake and one peer: 2 of 4"
        );
        sync.answer(1, 99);
        assert_eq!(sync.highest(), 17, "its own answer counts as nothing");
        sync.answer(3, 12);
        assert!(sync.has_quorum(&committee));
        assert_eq!(sync.highest(), 17);
        assert!(!sync.timed_out(5_099, 5_000) && sync.timed_out(5_100, 5_000));
        assert_eq!(sync.deadline_ms(5_000), Some(5_100));
    }
}
