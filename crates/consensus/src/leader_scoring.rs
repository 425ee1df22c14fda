//! Leader reputation (Sui consensus-core's `leader_scoring.rs` and the swap table of
//! `leader_schedule.rs`): authorities are scored from what recent commits contain, and every
//! [`ReputationParams::commits_per_update`] commits the lowest-scoring ones (up to a stake budget)
//! stop leading: their leader slots go to the highest-scoring ones. A crashed or slow validator
//! then no longer makes a round wait out the leader timeout.
//!
//! Pure and deterministic: scores come only from committed sub-DAGs (the same on every node),
//! ties are broken by authority index, and the replacement for a slot is drawn from a PRNG seeded
//! by the slot alone.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::commit::{Commit, CommitIndex};
use crate::committee::Committee;
use crate::types::{AuthorityIndex, Round};

/// When and how much the leader schedule adapts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReputationParams {
    /// Commits per scoring window; the schedule changes after each window.
    pub commits_per_update: CommitIndex,
    /// Most stake (percent of the total) swapped out, and swapped in, per window.
    pub swap_stake_percent: u64,
}

impl Default for ReputationParams {
    /// Sui's production values: a window of 300 commits, a third of the stake.
    fn default() -> Self {
        Self {
            commits_per_update: 300,
            swap_stake_percent: 33,
        }
    }
}

impl ReputationParams {
    /// Whether the schedule changes right after commit `index`.
    pub fn update_after(&self, index: CommitIndex) -> bool {
        self.commits_per_update > 0 && index > 0 && index.is_multiple_of(self.commits_per_update)
    }
}

/// Per-authority scores over one window of commits: how many of an authority's blocks the
/// committed sub-DAGs carried (a crashed validator scores 0, a slow one whose blocks miss
/// commits scores less).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReputationScores {
    scores: Vec<u64>,
}

impl ReputationScores {
    /// All zero, for a committee of `size`.
    pub fn new(size: usize) -> Self {
        Self {
            scores: vec![0; size],
        }
    }

    /// Counts the blocks of `commit`.
    pub fn add_commit(&mut self, commit: &Commit) {
        for block in &commit.blocks {
            if let Some(score) = self.scores.get_mut(block.author as usize) {
                *score += 1;
            }
        }
    }

    /// The score of `authority`.
    pub fn score(&self, authority: AuthorityIndex) -> u64 {
        self.scores.get(authority as usize).copied().unwrap_or(0)
    }
}

/// Which leaders are swapped out, and who leads in their place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderSwapTable {
    /// Highest scores first (ties: lower index first); they take over swapped slots.
    good: Vec<AuthorityIndex>,
    /// Lowest scores; their slots are taken over.
    bad: Vec<AuthorityIndex>,
}

impl LeaderSwapTable {
    /// From one window's `scores`: the best authorities and the worst ones, each set holding at
    /// most `swap_stake_percent` of the stake. An authority is only swapped out when it scored
    /// strictly less than every authority that takes over, so equal scores change nothing.
    pub fn new(committee: &Committee, scores: &ReputationScores, swap_stake_percent: u64) -> Self {
        let budget = committee.total_stake() * swap_stake_percent.min(100) / 100;
        let mut ranked: Vec<AuthorityIndex> = committee.indices().collect();
        ranked.sort_by_key(|a| (std::cmp::Reverse(scores.score(*a)), *a));
        let take = |order: &mut dyn Iterator<Item = &AuthorityIndex>| {
            let mut stake = 0;
            let mut chosen = Vec::new();
            for a in order {
                stake += committee.stake(*a);
                if stake > budget {
                    break;
                }
                chosen.push(*a);
            }
            chosen
        };
        let good = take(&mut ranked.iter());
        let worst_good = good.iter().map(|a| scores.score(*a)).min();
        let bad: Vec<AuthorityIndex> = take(&mut ranked.iter().rev())
            .into_iter()
            .filter(|a| !good.contains(a) && worst_good.is_some_and(|w| scores.score(*a) < w))
            .collect();
        if bad.is_empty() {
            return Self::none();
        }
        Self { good, bad }
    }

    /// A table that swaps no one.
    pub const fn none() -> Self {
        Self {
            good: Vec::new(),
            bad: Vec::new(),
        }
    }

    /// Whether the table swaps anyone.
    pub fn is_empty(&self) -> bool {
        self.bad.is_empty()
    }

    /// The authorities swapped out.
    pub fn swapped_out(&self) -> &[AuthorityIndex] {
        &self.bad
    }

    /// Who leads slot (`round`, `offset`) instead of `leader`, when `leader` is swapped out.
    pub fn swap(
        &self,
        leader: AuthorityIndex,
        round: Round,
        offset: u32,
    ) -> Option<AuthorityIndex> {
        if !self.bad.contains(&leader) || self.good.is_empty() {
            return None;
        }
        let mut seed = [0u8; 32];
        let h = blake3::hash(
            &[
                b"fastevm-leader-swap".as_slice(),
                &round.to_le_bytes(),
                &offset.to_le_bytes(),
            ]
            .concat(),
        );
        seed.copy_from_slice(h.as_bytes());
        let pick = ChaCha8Rng::from_seed(seed).gen_range(0..self.good.len());
        Some(self.good[pick])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::BlockRef;

    fn scores(values: &[u64]) -> ReputationScores {
        ReputationScores {
            scores: values.to_vec(),
        }
    }

    #[test]
    fn commits_count_their_authors_blocks() {
        let mut s = ReputationScores::new(4);
        let block = |author| BlockRef {
            round: 1,
            author,
            digest: Default::default(),
        };
        let commit = Commit {
            index: 1,
            previous_digest: Default::default(),
            timestamp_ms: 0,
            leader: block(1),
            blocks: vec![block(0), block(1), block(1), block(3)],
        };
        s.add_commit(&commit);
        s.add_commit(&commit);
        assert_eq!((0..4).map(|a| s.score(a)).collect::<Vec<_>>(), [2, 4, 0, 2]);
    }

    #[test]
    fn the_worst_third_is_swapped_for_the_best() {
        let (committee, _) = Committee::new_for_test(4, 0);
        let table = LeaderSwapTable::new(&committee, &scores(&[90, 90, 90, 0]), 33);
        assert_eq!(table.swapped_out(), [3]);
        // Authority 0 wins the tie for the best place.
        for round in 0..50 {
            assert_eq!(table.swap(3, round, 0), Some(0));
            assert_eq!(table.swap(1, round, 0), None);
        }

        // Seven validators: two may go (2/7 < 33%), and two take over, drawn per slot.
        let (committee, _) = Committee::new_for_test(7, 0);
        let table = LeaderSwapTable::new(&committee, &scores(&[5, 50, 40, 50, 0, 45, 50]), 33);
        assert_eq!(table.swapped_out(), [4, 0]);
        let replacements: std::collections::BTreeSet<_> =
            (0..100).filter_map(|r| table.swap(4, r, 0)).collect();
        assert_eq!(replacements, [1, 3].into());
        assert_eq!(table.swap(4, 17, 0), table.swap(4, 17, 0), "deterministic");
    }

    #[test]
    fn equal_scores_and_small_budgets_swap_no_one() {
        let (committee, _) = Committee::new_for_test(4, 0);
        assert!(LeaderSwapTable::new(&committee, &scores(&[7, 7, 7, 7]), 33).is_empty());
        // 20% of four equal stakes fits no one.
        assert!(LeaderSwapTable::new(&committee, &scores(&[9, 9, 9, 0]), 20).is_empty());
        // Heavy stake: the budget is stake, not head count.
        let (committee, _) = Committee::new_for_test_with_stakes(&[1, 1, 1, 7], 0);
        let table = LeaderSwapTable::new(&committee, &scores(&[9, 9, 9, 0]), 33);
        assert!(table.is_empty(), "authority 3 holds 70% of the stake");
    }

    #[test]
    fn updates_fall_on_window_boundaries() {
        let p = ReputationParams {
            commits_per_update: 10,
            swap_stake_percent: 33,
        };
        assert!(!p.update_after(0) && !p.update_after(9) && !p.update_after(11));
        assert!(p.update_after(10) && p.update_after(20));
        let off = ReputationParams {
            commits_per_update: 0,
            ..p
        };
        assert!(!off.update_after(10));
    }
}
