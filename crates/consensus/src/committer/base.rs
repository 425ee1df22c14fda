//! One Mysticeti-C committer: decides the leader slots of its waves (fixed round offset and
//! leader offset) with the direct rule, and the indirect rule through an anchor.

use std::collections::BTreeMap;

use crate::dag_state::DagState;
use crate::error::{ConsensusError, ConsensusResult};
use crate::leader_schedule::LeaderSchedule;
use crate::stake_aggregator::StakeAggregator;
use crate::types::{BlockRef, Round, Slot, VerifiedBlock};

/// Default wave length: leader round, voting round, decision round.
pub const DEFAULT_WAVE_LENGTH: Round = 3;

/// The decision about one leader slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeaderStatus {
    /// Commit this leader block.
    Commit(VerifiedBlock),
    /// No block of this slot will ever be committed.
    Skip(Slot),
    /// Not decidable yet.
    Undecided(Slot),
}

impl LeaderStatus {
    /// The slot being decided.
    pub fn slot(&self) -> Slot {
        match self {
            LeaderStatus::Commit(b) => b.slot(),
            LeaderStatus::Skip(s) | LeaderStatus::Undecided(s) => *s,
        }
    }
    /// Round of the slot.
    pub fn round(&self) -> Round {
        self.slot().round
    }
    /// True for Commit or Skip.
    pub fn is_decided(&self) -> bool {
        !matches!(self, LeaderStatus::Undecided(_))
    }
}

/// Parameters of one committer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommitterOptions {
    /// Rounds per wave (3 for Mysticeti-C).
    pub wave_length: Round,
    /// The first leader round of this committer (0..wave_length when pipelined).
    pub round_offset: Round,
    /// Which of the round's leaders (0..L).
    pub leader_offset: u32,
}

impl Default for CommitterOptions {
    fn default() -> Self {
        Self {
            wave_length: DEFAULT_WAVE_LENGTH,
            round_offset: 0,
            leader_offset: 0,
        }
    }
}

/// A single committer (one leader per wave).
#[derive(Clone, Debug)]
pub struct BaseCommitter {
    options: CommitterOptions,
    schedule: LeaderSchedule,
}

impl BaseCommitter {
    /// Committer with `options` over `schedule`.
    pub fn new(schedule: LeaderSchedule, options: CommitterOptions) -> Self {
        assert!(options.wave_length >= 3, "wave length must be at least 3");
        Self { options, schedule }
    }

    /// The options.
    pub fn options(&self) -> CommitterOptions {
        self.options
    }

    fn wave_number(&self, round: Round) -> Round {
        round.saturating_sub(self.options.round_offset) / self.options.wave_length
    }
    fn leader_round(&self, wave: Round) -> Round {
        wave * self.options.wave_length + self.options.round_offset
    }
    fn decision_round(&self, wave: Round) -> Round {
        wave * self.options.wave_length + self.options.wave_length - 1 + self.options.round_offset
    }

    /// The leader swaps in effect.
    pub fn swaps(&self) -> &crate::leader_scoring::LeaderSwapTable {
        self.schedule.swaps()
    }

    /// Installs reputation's leader swaps for the rounds after `after_round`.
    pub fn set_swaps(
        &mut self,
        after_round: Round,
        swaps: std::sync::Arc<crate::leader_scoring::LeaderSwapTable>,
    ) {
        self.schedule.set_swaps(after_round, swaps);
    }

    /// The leader slot of `round` if `round` is a leader round of this committer.
    pub fn elect_leader(&self, round: Round) -> Option<Slot> {
        let wave = self.wave_number(round);
        if self.leader_round(wave) != round {
            return None;
        }
        Some(Slot::new(
            round,
            self.schedule
                .elect_leader(round, self.options.leader_offset),
        ))
    }

    /// Direct rule: Skip on 2f+1 blame in the voting round; Commit a block with 2f+1
    /// certificates in the decision round; otherwise Undecided.
    pub fn try_direct_decide(&self, dag: &DagState, slot: Slot) -> ConsensusResult<LeaderStatus> {
        let committee = dag.committee();
        let voting_round = slot.round + 1;
        let mut blame = StakeAggregator::quorum();
        for b in dag.get_blocks_at_round(voting_round) {
            let references_leader = b
                .ancestors()
                .iter()
                .any(|a| a.author == slot.authority && a.round == slot.round);
            if !references_leader && blame.add(b.author(), committee) {
                return Ok(LeaderStatus::Skip(slot));
            }
        }
        let decision_round = self.decision_round(self.wave_number(slot.round));
        let decision_blocks = dag.get_blocks_at_round(decision_round);
        let mut committed = Vec::new();
        for leader in dag.get_blocks_at_slot(slot) {
            let mut votes = BTreeMap::new();
            let mut support = StakeAggregator::quorum();
            for c in &decision_blocks {
                if is_certificate(dag, c, &leader, &mut votes) && support.add(c.author(), committee)
                {
                    committed.push(leader.clone());
                    break;
                }
            }
        }
        match committed.len() {
            0 => Ok(LeaderStatus::Undecided(slot)),
            1 => Ok(LeaderStatus::Commit(committed.remove(0))),
            _ => Err(ConsensusError::MultipleCertifiedBlocks(slot)),
        }
    }

    /// Indirect rule: find the anchor (first Commit-or-Undecided slot at round ≥ slot.round +
    /// wave_length in `leaders`, skipping Skip slots). Commit the slot's block certified in the
    /// anchor's history, Skip if none; Undecided without a committed anchor.
    pub fn try_indirect_decide<'a>(
        &self,
        dag: &DagState,
        slot: Slot,
        leaders: impl Iterator<Item = &'a LeaderStatus>,
    ) -> ConsensusResult<LeaderStatus> {
        for anchor in leaders.filter(|l| l.round() >= slot.round + self.options.wave_length) {
            match anchor {
                LeaderStatus::Skip(_) => continue,
                LeaderStatus::Undecided(_) => break,
                LeaderStatus::Commit(anchor) => return self.decide_from_anchor(dag, anchor, slot),
            }
        }
        Ok(LeaderStatus::Undecided(slot))
    }

    fn decide_from_anchor(
        &self,
        dag: &DagState,
        anchor: &VerifiedBlock,
        slot: Slot,
    ) -> ConsensusResult<LeaderStatus> {
        let decision_round = self.decision_round(self.wave_number(slot.round));
        let potential_certificates = dag.ancestors_at_round(anchor, decision_round);
        let mut certified = Vec::new();
        for leader in dag.get_blocks_at_slot(slot) {
            let mut votes = BTreeMap::new();
            if potential_certificates
                .iter()
                .any(|c| is_certificate(dag, c, &leader, &mut votes))
            {
                certified.push(leader);
            }
        }
        match certified.len() {
            0 => Ok(LeaderStatus::Skip(slot)),
            1 => Ok(LeaderStatus::Commit(certified.remove(0))),
            _ => Err(ConsensusError::MultipleCertifiedBlocks(slot)),
        }
    }
}

/// The block of `slot` that `from` supports: the first one met in a depth-first walk of its
/// ancestors in stored order, not descending below `slot.round`.
pub fn find_supported_block(dag: &DagState, slot: Slot, from: &VerifiedBlock) -> Option<BlockRef> {
    if from.round() <= slot.round {
        return None;
    }
    for a in from.ancestors() {
        if a.slot() == slot {
            return Some(*a);
        }
        if a.round <= slot.round {
            continue;
        }
        if let Some(b) = dag.get_block(a) {
            if let Some(found) = find_supported_block(dag, slot, b) {
                return Some(found);
            }
        }
    }
    None
}

/// True if `vote` supports `leader`.
pub fn is_vote(dag: &DagState, vote: &VerifiedBlock, leader: &VerifiedBlock) -> bool {
    find_supported_block(dag, leader.slot(), vote) == Some(leader.reference())
}

/// True if `certificate`'s ancestors include votes for `leader` from a quorum of distinct authors.
fn is_certificate(
    dag: &DagState,
    certificate: &VerifiedBlock,
    leader: &VerifiedBlock,
    votes: &mut BTreeMap<BlockRef, bool>,
) -> bool {
    let committee = dag.committee();
    let mut agg = StakeAggregator::quorum();
    for a in certificate.ancestors() {
        let voted = match votes.get(a) {
            Some(v) => *v,
            None => {
                let v = dag.get_block(a).is_some_and(|b| is_vote(dag, b, leader));
                votes.insert(*a, v);
                v
            }
        };
        if voted && agg.add(a.author, committee) {
            return true;
        }
    }
    false
}
