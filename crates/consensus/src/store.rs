//! Persistence interface for consensus (blocks and commits) and an in-memory implementation.
//! A RocksDB implementation only has to provide the same six operations.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::commit::{Commit, CommitIndex};
use crate::error::{ConsensusError, ConsensusResult};
pub use crate::retention::PruneFloor;
use crate::types::{BlockRef, Round, SignedBlock, VerifiedBlock};

/// One atomic write.
#[derive(Default, Debug)]
pub struct StoreBatch {
    /// Accepted or own blocks.
    pub blocks: Vec<VerifiedBlock>,
    /// New commits, in index order. The last one is the new "last commit".
    pub commits: Vec<Commit>,
}

/// Durable storage for consensus. `write` must be atomic: all or nothing.
pub trait Store: Send + Sync {
    /// Atomically persists blocks and commits.
    fn write(&self, batch: StoreBatch) -> ConsensusResult<()>;
    /// Stored blocks with `min_round ≤ round ≤ max_round`, ordered by reference.
    fn scan_blocks_in_rounds(
        &self,
        min_round: Round,
        max_round: Round,
    ) -> ConsensusResult<Vec<VerifiedBlock>>;
    /// All stored blocks with round ≥ `min_round`, ordered by reference.
    fn scan_blocks_from_round(&self, min_round: Round) -> ConsensusResult<Vec<VerifiedBlock>> {
        self.scan_blocks_in_rounds(min_round, Round::MAX)
    }
    /// Blocks by reference (None where unknown).
    fn read_blocks(&self, refs: &[BlockRef]) -> ConsensusResult<Vec<Option<VerifiedBlock>>>;
    /// Stored commits with `from ≤ index ≤ to`, in order.
    fn scan_commits_in(&self, from: CommitIndex, to: CommitIndex) -> ConsensusResult<Vec<Commit>>;
    /// Commits with index ≥ `from`, in order.
    fn scan_commits_from(&self, from: CommitIndex) -> ConsensusResult<Vec<Commit>> {
        self.scan_commits_in(from, CommitIndex::MAX)
    }
    /// The commit with the highest index.
    fn read_last_commit(&self) -> ConsensusResult<Option<Commit>>;
    /// Deletes the blocks of rounds below `floor.round` and the commits with index below
    /// `floor.commit` (see [`crate::retention`]). Idempotent; never deletes the last commit.
    fn prune(&self, floor: PruneFloor) -> ConsensusResult<()>;
}

#[derive(Default)]
struct MemInner {
    blocks: BTreeMap<BlockRef, Vec<u8>>,
    commits: BTreeMap<CommitIndex, Vec<u8>>,
}

/// In-memory [`Store`] keeping the same encoded bytes a disk store would.
#[derive(Default)]
pub struct MemStore {
    inner: Mutex<MemInner>,
}

impl MemStore {
    /// Empty store.
    pub fn new() -> Self {
        Self::default()
    }
    fn lock(&self) -> ConsensusResult<std::sync::MutexGuard<'_, MemInner>> {
        self.inner
            .lock()
            .map_err(|_| ConsensusError::Store("poisoned lock".into()))
    }
}

fn decode_block(bytes: &[u8]) -> ConsensusResult<VerifiedBlock> {
    Ok(VerifiedBlock::new_trusted(SignedBlock::from_bytes(bytes)?))
}

impl Store for MemStore {
    fn write(&self, batch: StoreBatch) -> ConsensusResult<()> {
        let mut g = self.lock()?;
        for b in &batch.blocks {
            g.blocks.insert(b.reference(), b.signed().to_bytes());
        }
        for c in &batch.commits {
            g.commits.insert(c.index, c.to_bytes());
        }
        Ok(())
    }
    fn scan_blocks_in_rounds(
        &self,
        min_round: Round,
        max_round: Round,
    ) -> ConsensusResult<Vec<VerifiedBlock>> {
        let g = self.lock()?;
        g.blocks
            .iter()
            .filter(|(r, _)| (min_round..=max_round).contains(&r.round))
            .map(|(_, b)| decode_block(b))
            .collect()
    }
    fn read_blocks(&self, refs: &[BlockRef]) -> ConsensusResult<Vec<Option<VerifiedBlock>>> {
        let g = self.lock()?;
        refs.iter()
            .map(|r| g.blocks.get(r).map(|b| decode_block(b)).transpose())
            .collect()
    }
    fn scan_commits_in(&self, from: CommitIndex, to: CommitIndex) -> ConsensusResult<Vec<Commit>> {
        let g = self.lock()?;
        if from > to {
            return Ok(Vec::new());
        }
        g.commits
            .range(from..=to)
            .map(|(_, c)| Commit::from_bytes(c))
            .collect()
    }
    fn read_last_commit(&self) -> ConsensusResult<Option<Commit>> {
        let g = self.lock()?;
        g.commits
            .values()
            .next_back()
            .map(|c| Commit::from_bytes(c))
            .transpose()
    }
    fn prune(&self, floor: PruneFloor) -> ConsensusResult<()> {
        let mut g = self.lock()?;
        g.blocks.retain(|r, _| r.round >= floor.round);
        let last = g.commits.keys().next_back().copied();
        g.commits
            .retain(|i, _| *i >= floor.commit || Some(*i) == last);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commit::CommitDigest;
    use crate::test_utils::DagBuilder;

    #[test]
    fn write_and_read_back() {
        let mut b = DagBuilder::new(4);
        b.layers(1..=3).build();
        let store = MemStore::new();
        assert!(store.read_last_commit().unwrap().is_none());
        let blocks = b.all_blocks();
        let leader = b.block(1, 1).reference();
        let c1 = Commit {
            index: 1,
            previous_digest: CommitDigest::default(),
            timestamp_ms: 1,
            leader,
            blocks: vec![leader],
        };
        let c2 = Commit {
            index: 2,
            previous_digest: c1.digest(),
            ..c1.clone()
        };
        store
            .write(StoreBatch {
                blocks: blocks.clone(),
                commits: vec![c1.clone(), c2.clone()],
            })
            .unwrap();
        assert_eq!(store.scan_blocks_from_round(0).unwrap(), blocks);
        assert_eq!(store.scan_blocks_from_round(3).unwrap().len(), 4);
        let missing = b.block(3, 0).reference();
        let got = store.read_blocks(&[leader]).unwrap();
        assert_eq!(got[0].as_ref().unwrap().reference(), leader);
        store.write(StoreBatch::default()).unwrap();
        assert_eq!(store.read_last_commit().unwrap(), Some(c2.clone()));
        assert_eq!(store.scan_commits_from(2).unwrap(), vec![c2.clone()]);
        assert_eq!(store.scan_commits_from(1).unwrap().len(), 2);
        let empty = MemStore::new();
        assert_eq!(empty.read_blocks(&[missing]).unwrap(), vec![None]);

        store
            .prune(PruneFloor {
                round: 3,
                commit: 10,
            })
            .unwrap();
        let kept = store.scan_blocks_from_round(0).unwrap();
        assert_eq!(kept.len(), 4);
        assert!(kept.iter().all(|b| b.round() == 3));
        assert_eq!(store.read_blocks(&[leader]).unwrap(), vec![None]);
        // The last commit survives any floor: recovery starts from it.
        assert_eq!(store.scan_commits_from(0).unwrap(), vec![c2.clone()]);
        assert_eq!(store.read_last_commit().unwrap(), Some(c2));
    }
}
