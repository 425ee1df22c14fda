//! Accepts verified blocks into the DAG only once their full causal history is present;
//! suspends the others and reports which references are missing.

use std::collections::{BTreeMap, BTreeSet};

use crate::dag_state::DagState;
use crate::error::ConsensusError;
use crate::types::{BlockRef, VerifiedBlock};
use crate::verifier::check_ancestor_timestamps;

struct SuspendedBlock {
    block: VerifiedBlock,
    missing: BTreeSet<BlockRef>,
}

/// Result of offering blocks to the [`BlockManager`].
#[derive(Default, Debug)]
pub struct AcceptOutcome {
    /// Blocks newly accepted into the DAG, parents before children.
    pub accepted: Vec<VerifiedBlock>,
    /// References that are needed but neither accepted nor suspended: fetch them.
    pub missing: BTreeSet<BlockRef>,
    /// Blocks rejected once their ancestors were known (e.g. timestamp below an ancestor's).
    pub rejected: Vec<(BlockRef, ConsensusError)>,
}

/// Holds blocks whose ancestors are not all in the DAG yet.
#[derive(Default)]
pub struct BlockManager {
    suspended: BTreeMap<BlockRef, SuspendedBlock>,
    /// missing reference → suspended blocks waiting for it.
    waiting_on: BTreeMap<BlockRef, BTreeSet<BlockRef>>,
}

impl BlockManager {
    /// Empty manager.
    pub fn new() -> Self {
        Self::default()
    }

    /// Offers blocks; accepts each block whose ancestors are all present (or at/below the GC round),
    /// then any suspended descendants that become complete.
    pub fn try_accept_blocks(
        &mut self,
        blocks: Vec<VerifiedBlock>,
        dag: &mut DagState,
    ) -> AcceptOutcome {
        let mut out = AcceptOutcome::default();
        let gc_round = dag.gc_round();
        for block in blocks {
            let r = block.reference();
            if dag.contains_block(&r) || self.suspended.contains_key(&r) {
                continue;
            }
            if r.round <= gc_round {
                continue;
            }
            let missing: BTreeSet<BlockRef> = block
                .ancestors()
                .iter()
                .filter(|a| a.round > gc_round && !dag.contains_block(a))
                .copied()
                .collect();
            if missing.is_empty() {
                self.accept(block, dag, &mut out);
            } else {
                for m in &missing {
                    self.waiting_on.entry(*m).or_default().insert(r);
                }
                self.suspended.insert(r, SuspendedBlock { block, missing });
            }
        }
        out.missing = self.missing_references();
        out
    }

    /// Re-examines suspended blocks after the GC round moved: drops those at/below it and
    /// accepts those whose only missing ancestors are now garbage.
    pub fn on_gc(&mut self, dag: &mut DagState) -> AcceptOutcome {
        let gc_round = dag.gc_round();
        let mut out = AcceptOutcome::default();
        let dropped: Vec<BlockRef> = self
            .suspended
            .keys()
            .filter(|r| r.round <= gc_round)
            .copied()
            .collect();
        for r in dropped {
            self.suspended.remove(&r);
        }
        let gone: Vec<BlockRef> = self
            .waiting_on
            .keys()
            .filter(|r| r.round <= gc_round)
            .copied()
            .collect();
        let mut ready = Vec::new();
        for m in gone {
            ready.extend(self.stop_waiting_on(&m));
        }
        self.accept_ready(ready, dag, &mut out);
        out
    }

    /// Block `r` entered the DAG by another path (a certified commit, see
    /// [`crate::Core::add_certified_commits`]): it is no longer suspended, and the blocks that
    /// only waited for it are accepted.
    pub fn on_inserted(&mut self, r: &BlockRef, dag: &mut DagState) -> AcceptOutcome {
        let mut out = AcceptOutcome::default();
        if !self.suspended.contains_key(r) && !self.waiting_on.contains_key(r) {
            return out;
        }
        if let Some(s) = self.suspended.remove(r) {
            for m in s.missing {
                if let Some(waiting) = self.waiting_on.get_mut(&m) {
                    waiting.remove(r);
                    if waiting.is_empty() {
                        self.waiting_on.remove(&m);
                    }
                }
            }
        }
        let ready = self.stop_waiting_on(r);
        self.accept_ready(ready, dag, &mut out);
        out
    }

    /// Nothing waits for `m` any more; returns the suspended blocks that now miss nothing.
    fn stop_waiting_on(&mut self, m: &BlockRef) -> Vec<BlockRef> {
        let mut ready = Vec::new();
        for child in self.waiting_on.remove(m).unwrap_or_default() {
            if let Some(s) = self.suspended.get_mut(&child) {
                s.missing.remove(m);
                if s.missing.is_empty() {
                    ready.push(child);
                }
            }
        }
        ready
    }

    /// Accepts the suspended blocks `ready` (and what they unblock); sets what is missing.
    fn accept_ready(&mut self, ready: Vec<BlockRef>, dag: &mut DagState, out: &mut AcceptOutcome) {
        for child in ready {
            if let Some(s) = self.suspended.remove(&child) {
                self.accept(s.block, dag, out);
            }
        }
        out.missing = self.missing_references();
    }

    fn accept(&mut self, block: VerifiedBlock, dag: &mut DagState, out: &mut AcceptOutcome) {
        let mut queue = vec![block];
        while let Some(block) = queue.pop() {
            let r = block.reference();
            let ancestors: Vec<VerifiedBlock> = block
                .ancestors()
                .iter()
                .filter_map(|a| dag.get_block(a).cloned())
                .collect();
            if let Err(e) = check_ancestor_timestamps(&block, &ancestors) {
                out.rejected.push((r, e));
                continue;
            }
            if !dag.accept_block(block.clone()) {
                continue;
            }
            out.accepted.push(block);
            for child in self.waiting_on.remove(&r).unwrap_or_default() {
                if let Some(s) = self.suspended.get_mut(&child) {
                    s.missing.remove(&r);
                    if s.missing.is_empty() {
                        if let Some(s) = self.suspended.remove(&child) {
                            queue.push(s.block);
                        }
                    }
                }
            }
        }
    }

    /// References waited on that are not themselves suspended.
    pub fn missing_references(&self) -> BTreeSet<BlockRef> {
        self.waiting_on
            .keys()
            .filter(|r| !self.suspended.contains_key(r))
            .copied()
            .collect()
    }

    /// Number of suspended blocks.
    pub fn num_suspended(&self) -> usize {
        self.suspended.len()
    }

    /// True if the block is suspended.
    pub fn is_suspended(&self, r: &BlockRef) -> bool {
        self.suspended.contains_key(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commit::Commit;
    use crate::test_utils::DagBuilder;
    use crate::types::{Block, SignedBlock, Slot};

    fn setup() -> (DagBuilder, DagState, BlockManager) {
        let mut b = DagBuilder::new(4);
        b.layers(1..=4).build();
        let dag = DagState::new(b.committee.clone(), 0);
        (b, dag, BlockManager::new())
    }

    #[test]
    fn suspends_reports_missing_and_unsuspends() {
        let (b, mut dag, mut bm) = setup();
        let r1 = b.blocks_at_round(1);
        let r2 = b.blocks_at_round(2);
        let r3 = b.blocks_at_round(3);
        // Round 3 first: suspended, missing = all of round 2.
        let out = bm.try_accept_blocks(r3.clone(), &mut dag);
        assert!(out.accepted.is_empty());
        assert_eq!(bm.num_suspended(), 4);
        let want: BTreeSet<BlockRef> = r2.iter().map(|b| b.reference()).collect();
        assert_eq!(out.missing, want);
        // Round 2: suspended too; now round 1 is missing, round 2 no longer reported.
        let out = bm.try_accept_blocks(r2.clone(), &mut dag);
        assert!(out.accepted.is_empty());
        let want: BTreeSet<BlockRef> = r1.iter().map(|b| b.reference()).collect();
        assert_eq!(out.missing, want);
        // Round 1 arrives: everything is accepted, parents before children.
        let out = bm.try_accept_blocks(r1.clone(), &mut dag);
        assert_eq!(out.accepted.len(), 12);
        assert!(out.missing.is_empty());
        assert_eq!(bm.num_suspended(), 0);
        let pos = |r: BlockRef| {
            out.accepted
                .iter()
                .position(|b| b.reference() == r)
                .unwrap()
        };
        for c in out.accepted.iter() {
            for a in c.ancestors() {
                if a.round > 0 {
                    assert!(pos(*a) < pos(c.reference()));
                }
            }
        }
        // Duplicates are ignored.
        assert!(bm.try_accept_blocks(r3, &mut dag).accepted.is_empty());
    }

    #[test]
    fn a_block_inserted_by_another_path_wakes_what_waited_for_it() {
        let (b, mut dag, mut bm) = setup();
        for r in b.blocks_at_round(1) {
            dag.accept_block(r);
        }
        let r2 = b.blocks_at_round(2);
        let r3 = b.blocks_at_round(3);
        // Round 3 waits for round 2.
        bm.try_accept_blocks(r3.clone(), &mut dag);
        assert_eq!(bm.num_suspended(), 4);
        // Three of the round-2 blocks come in normally.
        let out = bm.try_accept_blocks(r2[..3].to_vec(), &mut dag);
        assert_eq!(out.accepted.len(), 3);
        assert!(out.accepted.iter().all(|x| x.round() == 2));
        // The fourth enters the DAG directly (as a certified commit's block does).
        assert!(dag.accept_block(r2[3].clone()));
        let out = bm.on_inserted(&r2[3].reference(), &mut dag);
        assert_eq!(out.accepted.len(), 4, "round 3 no longer waits");
        assert_eq!(bm.num_suspended(), 0);
        assert!(out.missing.is_empty());
        // A suspended block inserted directly is no longer suspended.
        let r4 = b.blocks_at_round(4);
        let mut dag2 = DagState::new(b.committee.clone(), 0);
        let mut bm2 = BlockManager::new();
        bm2.try_accept_blocks(r4[..1].to_vec(), &mut dag2);
        assert!(bm2.is_suspended(&r4[0].reference()));
        dag2.accept_block(r4[0].clone());
        let out = bm2.on_inserted(&r4[0].reference(), &mut dag2);
        assert!(out.accepted.is_empty());
        assert_eq!(bm2.num_suspended(), 0);
        assert!(bm2.missing_references().is_empty());
    }

    #[test]
    fn ignores_blocks_at_or_below_gc_round_and_unblocks_after_gc() {
        let mut b = DagBuilder::new(4);
        b.layers(1..=6).build();
        let mut dag = DagState::new(b.committee.clone(), 2);
        let mut bm = BlockManager::new();
        let r5 = b.blocks_at_round(5);
        bm.try_accept_blocks(r5.clone(), &mut dag);
        assert_eq!(bm.num_suspended(), 4);
        // Pretend round 6 was committed: gc_round = 4.
        let leader = b.blocks_at_round(6)[0].reference();
        dag.set_last_commit(Commit {
            index: 1,
            previous_digest: Default::default(),
            timestamp_ms: 0,
            leader,
            blocks: vec![],
        });
        assert_eq!(dag.gc_round(), 4);
        let out = bm.on_gc(&mut dag);
        assert_eq!(out.accepted.len(), 4, "round-4 parents are garbage now");
        let out = bm.try_accept_blocks(b.blocks_at_round(3), &mut dag);
        assert!(out.accepted.is_empty());
        assert_eq!(bm.num_suspended(), 0);
        assert!(dag.get_blocks_at_round(3).is_empty());
    }

    #[test]
    fn rejects_block_with_timestamp_below_ancestor() {
        let (b, mut dag, mut bm) = setup();
        bm.try_accept_blocks(b.blocks_at_round(1), &mut dag);
        let parent = b.blocks_at_round(1)[0].clone();
        let mut block: Block = b.blocks_at_round(2)[0].block().clone();
        block.timestamp_ms = parent.timestamp_ms() - 1;
        let bad = VerifiedBlock::new_trusted(SignedBlock {
            block,
            signature: [0; 64],
        });
        let out = bm.try_accept_blocks(vec![bad.clone()], &mut dag);
        assert!(out.accepted.is_empty());
        assert_eq!(out.rejected.len(), 1);
        assert!(!dag.contains_block(&bad.reference()));
        assert_eq!(dag.get_blocks_at_slot(Slot::new(2, 0)).len(), 0);
    }
}
