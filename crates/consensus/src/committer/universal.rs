//! The universal committer: pipelined waves (a wave starts every round) with L leaders per
//! round, producing the longest decided prefix of the leader sequence.

use std::collections::VecDeque;

use crate::committer::base::{BaseCommitter, CommitterOptions, LeaderStatus, DEFAULT_WAVE_LENGTH};
use crate::dag_state::DagState;
use crate::error::ConsensusResult;
use crate::leader_schedule::LeaderSchedule;
use crate::types::{AuthorityIndex, Round, Slot, VerifiedBlock};

/// A final decision about a leader slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecidedLeader {
    /// The leader block is committed.
    Commit(VerifiedBlock),
    /// The slot is skipped.
    Skip(Slot),
}

impl DecidedLeader {
    /// The decided slot.
    pub fn slot(&self) -> Slot {
        match self {
            DecidedLeader::Commit(b) => b.slot(),
            DecidedLeader::Skip(s) => *s,
        }
    }
    /// The committed block, if any.
    pub fn committed(&self) -> Option<&VerifiedBlock> {
        match self {
            DecidedLeader::Commit(b) => Some(b),
            DecidedLeader::Skip(_) => None,
        }
    }
}

/// Configuration of the universal committer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UniversalCommitterOptions {
    /// Rounds per wave.
    pub wave_length: Round,
    /// Start a wave every round (true) or every `wave_length` rounds.
    pub pipeline: bool,
    /// Leaders per leader round (L ≥ 1, ≤ committee size).
    pub leaders_per_round: u32,
}

impl Default for UniversalCommitterOptions {
    fn default() -> Self {
        Self {
            wave_length: DEFAULT_WAVE_LENGTH,
            pipeline: true,
            leaders_per_round: 1,
        }
    }
}

/// Runs one [`BaseCommitter`] per (round offset, leader offset).
#[derive(Clone, Debug)]
pub struct UniversalCommitter {
    committers: Vec<BaseCommitter>,
}

impl UniversalCommitter {
    /// Builds the committers, ordered by (round offset, leader offset).
    pub fn new(schedule: LeaderSchedule, options: UniversalCommitterOptions) -> Self {
        let n = schedule.committee().size() as u32;
        assert!(
            options.leaders_per_round >= 1 && options.leaders_per_round <= n,
            "leaders_per_round must be in 1..=committee size"
        );
        let offsets = if options.pipeline {
            options.wave_length
        } else {
            1
        };
        let mut committers = Vec::new();
        for round_offset in 0..offsets {
            for leader_offset in 0..options.leaders_per_round {
                committers.push(BaseCommitter::new(
                    schedule.clone(),
                    CommitterOptions {
                        wave_length: options.wave_length,
                        round_offset,
                        leader_offset,
                    },
                ));
            }
        }
        Self { committers }
    }

    /// Installs reputation's leader swaps in every committer, for the rounds after `after_round`.
    pub fn set_swaps(
        &mut self,
        after_round: Round,
        swaps: std::sync::Arc<crate::leader_scoring::LeaderSwapTable>,
    ) {
        for committer in &mut self.committers {
            committer.set_swaps(after_round, swaps.clone());
        }
    }

    /// The authorities reputation swapped out of the schedule.
    pub fn swapped_out(&self) -> Vec<AuthorityIndex> {
        self.committers
            .first()
            .map(|c| c.swaps().swapped_out().to_vec())
            .unwrap_or_default()
    }

    /// Leader slots of `round`, in sequence order (empty if not a leader round).
    pub fn get_leaders(&self, round: Round) -> Vec<AuthorityIndex> {
        self.committers
            .iter()
            .filter_map(|c| c.elect_leader(round))
            .map(|s| s.authority)
            .collect()
    }

    /// Decides as many leader slots after `last_decided` as possible and returns the longest
    /// prefix without an Undecided slot. Round-0 slots are never part of the sequence.
    pub fn try_decide(
        &self,
        dag: &DagState,
        last_decided: Slot,
    ) -> ConsensusResult<Vec<DecidedLeader>> {
        let highest = dag.highest_accepted_round();
        let start = last_decided.round.max(1);
        let mut leaders: VecDeque<LeaderStatus> = VecDeque::new();
        if highest >= 2 {
            'outer: for round in (start..=highest - 2).rev() {
                for committer in self.committers.iter().rev() {
                    let Some(slot) = committer.elect_leader(round) else {
                        continue;
                    };
                    if slot == last_decided {
                        break 'outer;
                    }
                    let mut status = committer.try_direct_decide(dag, slot)?;
                    if !status.is_decided() {
                        status = committer.try_indirect_decide(dag, slot, leaders.iter())?;
                    }
                    leaders.push_front(status);
                }
            }
        }
        let mut decided = Vec::new();
        for l in leaders {
            match l {
                LeaderStatus::Commit(b) => decided.push(DecidedLeader::Commit(b)),
                LeaderStatus::Skip(s) => decided.push(DecidedLeader::Skip(s)),
                LeaderStatus::Undecided(_) => break,
            }
        }
        Ok(decided)
    }
}
