//! Threshold clock: the local round advances to r+1 once blocks of round r from a quorum of stake are known.

use crate::committee::Committee;
use crate::stake_aggregator::StakeAggregator;
use crate::types::{BlockRef, Round};

/// Tracks the highest round this node may propose in.
#[derive(Clone, Debug)]
pub struct ThresholdClock {
    round: Round,
    aggregator: StakeAggregator,
}

impl ThresholdClock {
    /// Clock starting at `round` (0 before genesis is added).
    pub fn new(round: Round) -> Self {
        Self {
            round,
            aggregator: StakeAggregator::quorum(),
        }
    }
    /// Current round: the round a new block would have.
    pub fn round(&self) -> Round {
        self.round
    }
    /// Observes an accepted block; returns true if the clock advanced.
    ///
    /// Blocks below the current round are ignored; a block above it moves the clock to its round
    /// (the block proves a quorum existed at the round before it); a quorum at the current round
    /// moves the clock one round further.
    pub fn add_block(&mut self, block: BlockRef, committee: &Committee) -> bool {
        let before = self.round;
        if block.round < self.round {
            return false;
        }
        if block.round > self.round {
            self.round = block.round;
            self.aggregator.clear();
        }
        if self.aggregator.add(block.author, committee) {
            self.round += 1;
            self.aggregator.clear();
        }
        self.round > before
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::BlockDigest;

    fn r(round: Round, author: u32) -> BlockRef {
        BlockRef::new(round, author, BlockDigest::MIN)
    }

    #[test]
    fn advances_only_on_quorum_of_current_round() {
        let (c, _) = Committee::new_for_test(4, 0);
        let mut clock = ThresholdClock::new(0);
        assert!(!clock.add_block(r(0, 0), &c));
        assert!(!clock.add_block(r(0, 0), &c)); // same author twice does not count
        assert!(!clock.add_block(r(0, 1), &c));
        assert_eq!(clock.round(), 0);
        assert!(clock.add_block(r(0, 2), &c));
        assert_eq!(clock.round(), 1);
        assert!(!clock.add_block(r(0, 3), &c)); // old round ignored
        assert!(!clock.add_block(r(1, 0), &c));
        assert!(!clock.add_block(r(1, 3), &c));
        assert_eq!(clock.round(), 1);
        // A block from round 5 jumps the clock to 5; its own vote counts there.
        assert!(clock.add_block(r(5, 1), &c));
        assert_eq!(clock.round(), 5);
        assert!(!clock.add_block(r(5, 2), &c));
        assert!(clock.add_block(r(5, 0), &c));
        assert_eq!(clock.round(), 6);
    }

    #[test]
    fn weighted_stake() {
        let (c, _) = Committee::new_for_test_with_stakes(&[1, 1, 1, 7], 0);
        let mut clock = ThresholdClock::new(1);
        assert!(!clock.add_block(r(1, 0), &c));
        assert!(!clock.add_block(r(1, 1), &c));
        assert!(!clock.add_block(r(1, 2), &c));
        assert!(clock.add_block(r(1, 3), &c));
        assert_eq!(clock.round(), 2);
    }
}
