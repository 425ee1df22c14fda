//! Leader election: which authorities lead a round.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::committee::Committee;
use crate::types::{AuthorityIndex, Round};

/// How leaders are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaderElection {
    /// `(round + offset) mod n` — predictable, for tests.
    RoundRobin,
    /// Stake-weighted sampling without replacement from a PRNG seeded only by the round.
    StakeWeighted,
}

/// Deterministic leader schedule shared by all nodes.
#[derive(Clone, Debug)]
pub struct LeaderSchedule {
    committee: Committee,
    election: LeaderElection,
}

impl LeaderSchedule {
    /// Schedule over `committee`.
    pub fn new(committee: Committee, election: LeaderElection) -> Self {
        Self {
            committee,
            election,
        }
    }
    /// The committee.
    pub fn committee(&self) -> &Committee {
        &self.committee
    }
    /// The `offset`-th leader of `round`. Distinct offsets (< n) give distinct authorities.
    pub fn elect_leader(&self, round: Round, offset: u32) -> AuthorityIndex {
        let n = self.committee.size() as u64;
        match self.election {
            LeaderElection::RoundRobin => ((round as u64 + offset as u64) % n) as AuthorityIndex,
            LeaderElection::StakeWeighted => self.stake_weighted(round, offset),
        }
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
