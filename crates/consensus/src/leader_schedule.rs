//! Leader election: which authorities lead a round.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use std::sync::Arc;

use crate::committee::Committee;
use crate::leader_scoring::LeaderSwapTable;
use crate::types::{AuthorityIndex, Round};

/// How leaders are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaderElection {
    /// `(round + offset) mod n` — predictable, for tests.
    RoundRobin,
    /// Stake-weighted sampling without replacement from a PRNG seeded only by the round.
    StakeWeighted,
}

/// Deterministic leader schedule shared by all nodes: the election, then the swaps leader
/// reputation decided (see [`crate::leader_scoring`]).
#[derive(Clone, Debug)]
pub struct LeaderSchedule {
    committee: Committee,
    election: LeaderElection,
    /// Reputation's swap tables, each applying to rounds after the round it starts from: the
    /// current one and the one before it (the last decided slot may have been elected under
    /// it, and the committer re-elects that round to find where to go on from).
    swaps: Vec<(Round, Arc<LeaderSwapTable>)>,
}

impl LeaderSchedule {
    /// Schedule over `committee`.
    pub fn new(committee: Committee, election: LeaderElection) -> Self {
        Self {
            committee,
            election,
            swaps: Vec::new(),
        }
    }
    /// Installs the swaps of the latest reputation window for the rounds after `after_round`
    /// (the round of the leader whose commit closed the window).
    pub fn set_swaps(&mut self, after_round: Round, swaps: Arc<LeaderSwapTable>) {
        self.swaps.push((after_round, swaps));
        if self.swaps.len() > 2 {
            self.swaps.remove(0);
        }
    }
    /// The newest swaps (empty before the first reputation window closes).
    pub fn swaps(&self) -> &LeaderSwapTable {
        static NONE: LeaderSwapTable = LeaderSwapTable::none();
        self.swaps.last().map_or(&NONE, |(_, table)| table)
    }
    /// The committee.
    pub fn committee(&self) -> &Committee {
        &self.committee
    }
    /// The `offset`-th leader of `round`: the elected one, or who replaces it when reputation
    /// swapped it out. Without swaps distinct offsets (< n) give distinct authorities (swaps
    /// are only installed with one leader per round).
    pub fn elect_leader(&self, round: Round, offset: u32) -> AuthorityIndex {
        let n = self.committee.size() as u64;
        let elected = match self.election {
            LeaderElection::RoundRobin => ((round as u64 + offset as u64) % n) as AuthorityIndex,
            LeaderElection::StakeWeighted => self.stake_weighted(round, offset),
        };
        let table = self
            .swaps
            .iter()
            .rev()
            .find(|(after, _)| round > *after)
            .map(|(_, table)| table);
        table
            .and_then(|t| t.swap(elected, round, offset))
            .unwrap_or(elected)
    }

    fn stake_weighted(&self, round: Round, offset: u32) -> AuthorityIndex {
        let mut seed = [0u8; 32];
        let h = blake3::hash(&[b"fastevm-leader".as_slice(), &round.to_le_bytes()].concat());
        seed.copy_from_slice(h.as_bytes());
        let mut rng = ChaCha8Rng::from_seed(seed);
        let mut candidates: Vec<(AuthorityIndex, u64)> = self
            .committee
            .indices()
            .map(|i| (i, self.committee.stake(i)))
            .collect();
        let mut chosen = 0;
        for _ in 0..=(offset as usize % candidates.len()) {
            let total: u64 = candidates.iter().map(|c| c.1).sum();
            let mut x = rng.gen_range(0..total);
            let pos = candidates
                .iter()
                .position(|c| {
                    if x < c.1 {
                        true
                    } else {
                        x -= c.1;
                        false
                    }
                })
                .unwrap_or(0);
            chosen = candidates.remove(pos).0;
        }
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin() {
        let (c, _) = Committee::new_for_test(4, 0);
        let s = LeaderSchedule::new(c, LeaderElection::RoundRobin);
        assert_eq!(s.elect_leader(0, 0), 0);
        assert_eq!(s.elect_leader(5, 0), 1);
        assert_eq!(s.elect_leader(5, 1), 2);
    }

    #[test]
    fn swaps_apply_after_their_round_and_the_previous_table_is_kept() {
        use crate::leader_scoring::ReputationScores;
        let (c, _) = Committee::new_for_test(4, 0);
        let mut s = LeaderSchedule::new(c.clone(), LeaderElection::RoundRobin);
        // Round robin: authority 3 leads rounds 3, 7, 11, …
        let table = |scores: [u64; 4]| {
            let mut window = ReputationScores::new(4);
            for (author, count) in scores.into_iter().enumerate() {
                let block = crate::types::BlockRef {
                    round: 1,
                    author: author as AuthorityIndex,
                    digest: Default::default(),
                };
                let commit = crate::commit::Commit {
                    index: 1,
                    previous_digest: Default::default(),
                    timestamp_ms: 0,
                    leader: block,
                    blocks: vec![block; count as usize],
                };
                window.add_commit(&commit);
            }
            Arc::new(LeaderSwapTable::new(&c, &window, 33))
        };
        s.set_swaps(10, table([9, 5, 5, 0]));
        assert_eq!(s.elect_leader(7, 0), 3, "before the first table");
        assert_eq!(s.elect_leader(11, 0), 0);
        s.set_swaps(20, table([5, 9, 5, 0]));
        assert_eq!(s.elect_leader(19, 0), 0, "still the previous table");
        assert_eq!(s.elect_leader(23, 0), 1);
        assert_eq!(s.swaps().swapped_out(), [3]);
        s.set_swaps(30, table([5, 5, 9, 0]));
        assert_eq!(s.elect_leader(27, 0), 1);
        assert_eq!(s.elect_leader(31, 0), 2);
        assert_eq!(
            s.elect_leader(11, 0),
            3,
            "tables older than the previous one are gone"
        );
    }

    #[test]
    fn stake_weighted_is_deterministic_distinct_and_stake_biased() {
        let (c, _) = Committee::new_for_test_with_stakes(&[1, 1, 1, 17], 0);
        let s1 = LeaderSchedule::new(c.clone(), LeaderElection::StakeWeighted);
        let s2 = LeaderSchedule::new(c, LeaderElection::StakeWeighted);
        let mut heavy = 0;
        for r in 0..1000 {
            let l0 = s1.elect_leader(r, 0);
            let l1 = s1.elect_leader(r, 1);
            assert_eq!(l0, s2.elect_leader(r, 0));
            assert_eq!(l1, s2.elect_leader(r, 1));
            assert_ne!(l0, l1);
            if l0 == 3 {
                heavy += 1;
            }
        }
        // Expected 850 of 1000 for stake 17/20.
        assert!((780..=920).contains(&heavy), "heavy led {heavy} times");
        let (c, _) = Committee::new_for_test(4, 0);
        let s = LeaderSchedule::new(c, LeaderElection::StakeWeighted);
        let mut counts = [0; 4];
        for r in 0..2000 {
            counts[s.elect_leader(r, 0) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&x| (400..=600).contains(&x)),
            "{counts:?}"
        );
    }
}
