//! Stake counting where every authority is counted at most once.

use std::collections::BTreeSet;

use crate::committee::Committee;
use crate::types::AuthorityIndex;

/// Which threshold an aggregator aims for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threshold {
    /// More than 2/3 of stake (2f+1).
    Quorum,
    /// More than 1/3 of stake (f+1).
    Validity,
}

/// Accumulates stake of distinct authorities.
#[derive(Clone, Debug)]
pub struct StakeAggregator {
    threshold: Threshold,
    voters: BTreeSet<AuthorityIndex>,
    stake: u64,
}

impl StakeAggregator {
    /// Empty aggregator for `threshold`.
    pub fn new(threshold: Threshold) -> Self {
        Self {
            threshold,
            voters: BTreeSet::new(),
            stake: 0,
        }
    }
    /// Empty quorum aggregator.
    pub fn quorum() -> Self {
        Self::new(Threshold::Quorum)
    }
    /// Adds `author`'s stake (only the first time); returns whether the threshold is reached.
    pub fn add(&mut self, author: AuthorityIndex, committee: &Committee) -> bool {
        if self.voters.insert(author) {
            self.stake += committee.stake(author);
        }
        self.reached(committee)
    }
    /// Whether the threshold is reached.
    pub fn reached(&self, committee: &Committee) -> bool {
        let needed = match self.threshold {
            Threshold::Quorum => committee.quorum_threshold(),
            Threshold::Validity => committee.validity_threshold(),
        };
        self.stake >= needed
    }
    /// Accumulated stake.
    pub fn stake(&self) -> u64 {
        self.stake
    }
    /// Forgets all votes.
    pub fn clear(&mut self) {
        self.voters.clear();
        self.stake = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_author_counted_once() {
        let (c, _) = Committee::new_for_test(4, 0);
        let mut q = StakeAggregator::quorum();
        assert!(!q.add(0, &c));
        assert!(!q.add(0, &c));
        assert!(!q.add(1, &c));
        assert!(!q.add(1, &c));
        assert_eq!(q.stake(), 2);
        assert!(q.add(3, &c));
        let mut v = StakeAggregator::new(Threshold::Validity);
        assert!(!v.add(2, &c));
        assert!(!v.add(2, &c));
        assert!(v.add(1, &c));
        v.clear();
        assert_eq!(v.stake(), 0);
        assert!(!v.reached(&c));
    }

    #[test]
    fn weighted_quorum() {
        let (c, _) = Committee::new_for_test_with_stakes(&[10, 20, 30, 40], 0);
        let mut q = StakeAggregator::quorum();
        assert!(!q.add(3, &c));
        assert!(!q.add(0, &c));
        assert_eq!(q.stake(), 50);
        assert!(q.add(1, &c)); // 70 ≥ 67
        assert!(q.reached(&c));
    }
}
