//! The timestamp guard: a received block dated ahead of this validator's clock is not accepted
//! until its time comes, so a validator with a fast (or lying) clock cannot drag the chain's time
//! forward — an own block is stamped `max(now, ancestors)`, and no accepted ancestor is then more
//! than [`MAX_FORWARD_DRIFT_MS`] ahead. Blocks up to [`MAX_HELD_DRIFT_MS`] ahead wait here, at
//! most [`MAX_HELD_PER_AUTHORITY`] per author; blocks further ahead, or over that bound, are
//! refused. (Sui's consensus-core bounds forward time drift the same way.) Pure: the time is an
//! argument.

use fastevm_consensus::{AuthorityIndex, BlockDigest, BlockRef, VerifiedBlock};
use std::collections::BTreeMap;

/// How far ahead of the local clock a block may be dated and still be accepted at once.
pub const MAX_FORWARD_DRIFT_MS: u64 = 500;
/// Blocks dated further ahead than this are refused, not held.
pub const MAX_HELD_DRIFT_MS: u64 = 10_000;
/// Most blocks held per author.
pub const MAX_HELD_PER_AUTHORITY: usize = 16;

/// What the guard decided for a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Within the drift: accept it now.
    Now(VerifiedBlock),
    /// Held until its time comes.
    Held,
    /// Too far ahead, or its author already has too many blocks held.
    Refused,
}

/// Blocks waiting for their time, by release time.
#[derive(Debug, Default)]
pub struct FutureBlocks {
    held: BTreeMap<(u64, BlockRef), VerifiedBlock>,
}

impl FutureBlocks {
    /// Decides for `block`, received at `now_ms`.
    pub fn admit(&mut self, block: VerifiedBlock, now_ms: u64) -> Admission {
        let timestamp = block.timestamp_ms();
        if timestamp <= now_ms.saturating_add(MAX_FORWARD_DRIFT_MS) {
            return Admission::Now(block);
        }
        if timestamp > now_ms.saturating_add(MAX_HELD_DRIFT_MS)
            || self.held_of(block.author()) >= MAX_HELD_PER_AUTHORITY
        {
            return Admission::Refused;
        }
        let release = timestamp - MAX_FORWARD_DRIFT_MS;
        self.held.insert((release, block.reference()), block);
        Admission::Held
    }

    /// The held blocks whose time has come at `now_ms`, oldest first.
    pub fn release(&mut self, now_ms: u64) -> Vec<VerifiedBlock> {
        let first_later = BlockRef::new(0, 0, BlockDigest::MIN);
        let later = self
            .held
            .split_off(&(now_ms.saturating_add(1), first_later));
        std::mem::replace(&mut self.held, later)
            .into_values()
            .collect()
    }

    /// When the next held block is due.
    pub fn next_release_ms(&self) -> Option<u64> {
        self.held.keys().next().map(|(at, _)| *at)
    }

    /// Blocks held in all.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    fn held_of(&self, author: AuthorityIndex) -> usize {
        self.held.keys().filter(|(_, r)| r.author == author).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fastevm_consensus::{Block, Committee, SignedBlock};

    fn block(author: AuthorityIndex, round: u32, timestamp_ms: u64) -> VerifiedBlock {
        let (committee, keys) = Committee::new_for_test(4, 3);
        let signed = SignedBlock::sign(
            Block {
                epoch: committee.epoch,
                round,
                author,
                timestamp_ms,
                ancestors: vec![],
                transactions: vec![],
                commit_votes: vec![],
            },
            &keys[author as usize],
        );
        VerifiedBlock::new_trusted(signed)
    }

    #[test]
    fn blocks_ahead_wait_for_their_time_and_far_ones_are_refused() {
        let mut future = FutureBlocks::default();
        let now = 1_000_000;
        let near = block(1, 5, now + MAX_FORWARD_DRIFT_MS);
        assert_eq!(future.admit(near.clone(), now), Admission::Now(near));
        assert_eq!(future.admit(block(1, 6, now + 3_000), now), Admission::Held);
        assert_eq!(future.admit(block(2, 6, now + 2_000), now), Admission::Held);
        assert_eq!(
            future.admit(block(3, 6, now + MAX_HELD_DRIFT_MS + 1), now),
            Admission::Refused,
            "ten days ahead is never accepted"
        );
        assert_eq!(
            future.next_release_ms(),
            Some(now + 2_000 - MAX_FORWARD_DRIFT_MS)
        );
        assert!(future.release(now + 1_000).is_empty());
        let released = future.release(now + 2_000);
        assert_eq!(released.len(), 1);
        assert_eq!(released[0].author(), 2);
        let released = future.release(now + 2_500);
        assert_eq!(released.len(), 1);
        assert_eq!(released[0].author(), 1);
        assert!(future.is_empty());
    }

    #[test]
    fn an_author_cannot_fill_memory_with_future_blocks() {
        let mut future = FutureBlocks::default();
        let now = 0;
        for round in 0..MAX_HELD_PER_AUTHORITY as u32 {
            assert_eq!(
                future.admit(block(1, round + 1, 5_000), now),
                Admission::Held
            );
        }
        assert_eq!(future.admit(block(1, 100, 5_000), now), Admission::Refused);
        assert_eq!(
            future.admit(block(2, 1, 5_000), now),
            Admission::Held,
            "others still may"
        );
        assert_eq!(future.len(), MAX_HELD_PER_AUTHORITY + 1);
    }
}
