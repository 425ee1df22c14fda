//! In-memory DAG: accepted blocks (equivocations included), committed flags, last commit and GC round.

use std::collections::{BTreeMap, BTreeSet};

use crate::commit::Commit;
use crate::committee::Committee;
use crate::types::{AuthorityIndex, BlockDigest, BlockRef, Round, Slot, VerifiedBlock};

/// The accepted part of the DAG. Every block here has its full causal history present
/// (down to the GC round); the block manager guarantees that.
pub struct DagState {
    committee: Committee,
    blocks: BTreeMap<BlockRef, VerifiedBlock>,
    /// Per authority, its accepted block references by round.
    by_author: Vec<BTreeMap<Round, Vec<BlockRef>>>,
    highest_accepted_round: Round,
    committed: BTreeSet<BlockRef>,
    committed_slots: BTreeSet<Slot>,
    last_commit: Option<Commit>,
    gc_depth: Round,
}

impl DagState {
    /// A DAG holding only the genesis blocks. `gc_depth` 0 disables garbage collection.
    pub fn new(committee: Committee, gc_depth: Round) -> Self {
        let mut s = Self {
            by_author: vec![BTreeMap::new(); committee.size()],
            blocks: BTreeMap::new(),
            highest_accepted_round: 0,
            committed: BTreeSet::new(),
            committed_slots: BTreeSet::new(),
            last_commit: None,
            gc_depth,
            committee,
        };
        for g in VerifiedBlock::genesis(&s.committee) {
            s.accept_block(g);
        }
        s
    }
    /// The committee.
    pub fn committee(&self) -> &Committee {
        &self.committee
    }
    /// Adds an accepted block (no-op if already present). Returns true if newly added.
    pub fn accept_block(&mut self, block: VerifiedBlock) -> bool {
        let r = block.reference();
        if self.blocks.contains_key(&r) || !self.committee.is_valid_index(r.author) {
            return false;
        }
        self.by_author[r.author as usize]
            .entry(r.round)
            .or_default()
            .push(r);
        self.highest_accepted_round = self.highest_accepted_round.max(r.round);
        self.blocks.insert(r, block);
        true
    }
    /// True if the block is in the DAG.
    pub fn contains_block(&self, r: &BlockRef) -> bool {
        self.blocks.contains_key(r)
    }
    /// The block, if present.
    pub fn get_block(&self, r: &BlockRef) -> Option<&VerifiedBlock> {
        self.blocks.get(r)
    }
    /// All blocks at `slot` (more than one if its author equivocated), ordered by digest.
    pub fn get_blocks_at_slot(&self, slot: Slot) -> Vec<VerifiedBlock> {
        self.blocks
            .range(BlockRef::slot_min(slot)..=BlockRef::slot_max(slot))
            .map(|(_, b)| b.clone())
            .collect()
    }
    /// All blocks of `round`, ordered by (author, digest).
    pub fn get_blocks_at_round(&self, round: Round) -> Vec<VerifiedBlock> {
        let lo = BlockRef::new(round, 0, BlockDigest::MIN);
        let hi = BlockRef::new(round, AuthorityIndex::MAX, BlockDigest::MAX);
        self.blocks.range(lo..=hi).map(|(_, b)| b.clone()).collect()
    }
    /// Highest round of any accepted block.
    pub fn highest_accepted_round(&self) -> Round {
        self.highest_accepted_round
    }
    /// `author`'s accepted block with the highest round (lowest digest among equivocations).
    pub fn last_block_of(&self, author: AuthorityIndex) -> Option<VerifiedBlock> {
        let (_, refs) = self.by_author.get(author as usize)?.iter().next_back()?;
        refs.iter().min().and_then(|r| self.blocks.get(r).cloned())
    }
    /// `author`'s accepted block with the highest round strictly below `round`.
    pub fn last_block_of_below(
        &self,
        author: AuthorityIndex,
        round: Round,
    ) -> Option<VerifiedBlock> {
        let (_, refs) = self
            .by_author
            .get(author as usize)?
            .range(..round)
            .next_back()?;
        refs.iter().min().and_then(|r| self.blocks.get(r).cloned())
    }
    /// Blocks at `round` in the causal history of `block` (including `block` if it is at `round`).
    pub fn ancestors_at_round(&self, block: &VerifiedBlock, round: Round) -> Vec<VerifiedBlock> {
        let mut frontier: BTreeSet<BlockRef> = BTreeSet::from([block.reference()]);
        let mut found = Vec::new();
        // Walk down round by round, highest first.
        while let Some(r) = frontier.pop_last() {
            if r.round < round {
                continue;
            }
            let Some(b) = self.blocks.get(&r) else {
                continue;
            };
            if r.round == round {
                found.push(b.clone());
                continue;
            }
            for a in b.ancestors() {
                if a.round >= round {
                    frontier.insert(*a);
                }
            }
        }
        found.sort_by_key(|b| b.reference());
        found
    }
    /// True if the block was committed.
    pub fn is_committed(&self, r: &BlockRef) -> bool {
        self.committed.contains(r)
    }
    /// True if some block of `slot` was committed.
    pub fn is_slot_committed(&self, slot: Slot) -> bool {
        self.committed_slots.contains(&slot)
    }
    /// Marks a block committed; returns false if it or another block of its slot already was.
    pub fn set_committed(&mut self, r: BlockRef) -> bool {
        if !self.committed_slots.insert(r.slot()) {
            return false;
        }
        self.committed.insert(r)
    }
    /// The last commit, if any.
    pub fn last_commit(&self) -> Option<&Commit> {
        self.last_commit.as_ref()
    }
    /// Records the latest commit.
    pub fn set_last_commit(&mut self, commit: Commit) {
        self.last_commit = Some(commit);
    }
    /// Round of the last committed leader (0 if none).
    pub fn last_commit_round(&self) -> Round {
        self.last_commit.as_ref().map_or(0, |c| c.leader.round)
    }
    /// GC depth.
    pub fn gc_depth(&self) -> Round {
        self.gc_depth
    }
    /// Blocks at or below this round are garbage: never committed, never required as ancestors.
    pub fn gc_round(&self) -> Round {
        if self.gc_depth == 0 {
            0
        } else {
            self.last_commit_round().saturating_sub(self.gc_depth)
        }
    }
    /// Drops blocks below the GC round, keeping each authority's latest block. Returns how many were dropped.
    pub fn evict_below_gc_round(&mut self) -> usize {
        let gc = self.gc_round();
        if gc == 0 {
            return 0;
        }
        let mut dropped = 0;
        for rounds in self.by_author.iter_mut() {
            let last = rounds.keys().next_back().copied();
            let old: Vec<Round> = rounds
                .range(..gc)
                .map(|(r, _)| *r)
                .filter(|r| Some(*r) != last)
                .collect();
            for r in old {
                for br in rounds.remove(&r).unwrap_or_default() {
                    self.blocks.remove(&br);
                    dropped += 1;
                }
            }
        }
        let keep = BlockRef::new(gc.saturating_sub(1), 0, BlockDigest::MIN);
        self.committed = self.committed.split_off(&keep);
        self.committed_slots = self.committed_slots.split_off(&Slot::new(keep.round, 0));
        dropped
    }
    /// Number of blocks held.
    pub fn num_blocks(&self) -> usize {
        self.blocks.len()
    }
    /// All held blocks in (round, author, digest) order.
    pub fn all_blocks(&self) -> impl Iterator<Item = &VerifiedBlock> {
        self.blocks.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_utils::DagBuilder;

    #[test]
    fn slots_rounds_and_last_blocks() {
        let mut b = DagBuilder::new(4);
        b.layers(1..=2).build();
        b.layer(3).authorities(&[1]).equivocate(1).build();
        let mut dag = DagState::new(b.committee.clone(), 0);
        b.persist(&mut dag);
        assert_eq!(dag.highest_accepted_round(), 3);
        assert_eq!(dag.get_blocks_at_round(2).len(), 4);
        assert_eq!(dag.get_blocks_at_slot(Slot::new(3, 1)).len(), 2);
        assert_eq!(dag.last_block_of(1).unwrap().round(), 3);
        assert_eq!(dag.last_block_of(0).unwrap().round(), 2);
        assert_eq!(dag.last_block_of_below(1, 3).unwrap().round(), 2);
        let top = dag.last_block_of(1).unwrap();
        assert_eq!(dag.ancestors_at_round(&top, 1).len(), 4);
        assert_eq!(dag.ancestors_at_round(&top, 0).len(), 4);
        let r = top.reference();
        assert!(dag.set_committed(r));
        assert!(!dag.set_committed(r));
        let other = dag
            .get_blocks_at_slot(Slot::new(3, 1))
            .into_iter()
            .find(|x| x.reference() != r)
            .unwrap();
        assert!(
            !dag.set_committed(other.reference()),
            "slot already committed"
        );
        assert!(dag.is_slot_committed(Slot::new(3, 1)));
    }

    #[test]
    fn gc_round_and_eviction() {
        let mut b = DagBuilder::new(4);
        b.layers(1..=10).build();
        let mut dag = DagState::new(b.committee.clone(), 3);
        b.persist(&mut dag);
        assert_eq!(dag.gc_round(), 0);
        let leader = dag.get_blocks_at_slot(Slot::new(8, 0))[0].reference();
        dag.set_last_commit(Commit {
            index: 1,
            previous_digest: Default::default(),
            timestamp_ms: 0,
            leader,
            blocks: vec![leader],
        });
        assert_eq!(dag.gc_round(), 5);
        let before = dag.num_blocks();
        assert_eq!(dag.evict_below_gc_round(), 5 * 4);
        assert_eq!(dag.num_blocks(), before - 20);
        assert!(dag.get_blocks_at_round(4).is_empty());
        assert_eq!(dag.get_blocks_at_round(5).len(), 4);
        assert_eq!(dag.last_block_of(2).unwrap().round(), 10);
    }
}
