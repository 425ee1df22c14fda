//! Commit records (hash-chained) and the committed sub-DAG handed to the application.

use std::fmt;

use crate::encoding::{Decoder, Encoder};
use crate::error::ConsensusResult;
use crate::types::{BlockDigest, BlockRef, VerifiedBlock};

/// Domain separator for commit digests.
const COMMIT_DOMAIN: &[u8] = b"fastevm-consensus-commit-v1";

/// Index of a commit; the first commit has index 1.
pub type CommitIndex = u64;

/// Blake3 digest of a [`Commit`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct CommitDigest(pub [u8; 32]);

impl fmt::Debug for CommitDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", hex::encode(&self.0[..4]))
    }
}

/// A commit named by index and digest: what validators vote for in their blocks
/// ([`crate::Block::commit_votes`]), so a node catching up can tell a certified commit from a
/// made-up one.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct CommitRef {
    /// Index of the commit.
    pub index: CommitIndex,
    /// Digest of the commit.
    pub digest: CommitDigest,
}

impl CommitRef {
    /// Encoded size in bytes.
    pub const ENCODED_LEN: usize = 40;

    /// New reference.
    pub fn new(index: CommitIndex, digest: CommitDigest) -> Self {
        Self { index, digest }
    }
    pub(crate) fn encode(&self, e: &mut Encoder) {
        e.u64(self.index).fixed(&self.digest.0);
    }
    pub(crate) fn decode(d: &mut Decoder<'_>) -> ConsensusResult<Self> {
        let index = d.u64()?;
        let mut digest = [0u8; 32];
        digest.copy_from_slice(d.fixed(32)?);
        Ok(Self::new(index, CommitDigest(digest)))
    }
}

/// The persistent record of one commit. Each commit points to its predecessor's digest.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Commit {
    /// 1, 2, 3, …
    pub index: CommitIndex,
    /// Digest of commit `index - 1` (all zero for the first commit).
    pub previous_digest: CommitDigest,
    /// Consensus timestamp: stake-weighted median of the leader's parents, never decreasing.
    pub timestamp_ms: u64,
    /// The committed leader.
    pub leader: BlockRef,
    /// Blocks of the sub-DAG in commit order (sorted by round, then author).
    pub blocks: Vec<BlockRef>,
}

impl Commit {
    /// Canonical encoding (hashed and stored).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        e.u64(self.index)
            .fixed(&self.previous_digest.0)
            .u64(self.timestamp_ms);
        encode_ref(&mut e, &self.leader);
        e.u32(self.blocks.len() as u32);
        for b in &self.blocks {
            encode_ref(&mut e, b);
        }
        e.finish()
    }
    /// Decodes [`Commit::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> ConsensusResult<Self> {
        let mut d = Decoder::new(bytes);
        let index = d.u64()?;
        let mut prev = [0u8; 32];
        prev.copy_from_slice(d.fixed(32)?);
        let timestamp_ms = d.u64()?;
        let leader = decode_ref(&mut d)?;
        let n = d.count(40)?;
        let mut blocks = Vec::with_capacity(n);
        for _ in 0..n {
            blocks.push(decode_ref(&mut d)?);
        }
        d.finish()?;
        Ok(Self {
            index,
            previous_digest: CommitDigest(prev),
            timestamp_ms,
            leader,
            blocks,
        })
    }
    /// Digest of the canonical encoding.
    pub fn digest(&self) -> CommitDigest {
        let mut h = blake3::Hasher::new();
        h.update(COMMIT_DOMAIN);
        h.update(&self.to_bytes());
        CommitDigest(*h.finalize().as_bytes())
    }
    /// Index and digest.
    pub fn reference(&self) -> CommitRef {
        CommitRef::new(self.index, self.digest())
    }
}

fn encode_ref(e: &mut Encoder, r: &BlockRef) {
    e.u32(r.round).u32(r.author).fixed(&r.digest.0);
}

fn decode_ref(d: &mut Decoder<'_>) -> ConsensusResult<BlockRef> {
    let round = d.u32()?;
    let author = d.u32()?;
    let mut digest = [0u8; 32];
    digest.copy_from_slice(d.fixed(32)?);
    Ok(BlockRef::new(round, author, BlockDigest(digest)))
}

/// A committed leader with its newly committed causal history, ready for execution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedSubDag {
    /// Commit index (1, 2, 3, …).
    pub commit_index: CommitIndex,
    /// The committed leader block.
    pub leader: BlockRef,
    /// Blocks in commit order, sorted by (round, author); the leader is among them.
    pub blocks: Vec<VerifiedBlock>,
    /// Consensus timestamp (monotonic across commits).
    pub timestamp_ms: u64,
    /// Digest of the previous commit.
    pub previous_digest: CommitDigest,
    /// Digest of this commit.
    pub commit_digest: CommitDigest,
    /// The persistent record.
    pub commit: Commit,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_round_trip_and_digest_chain() {
        let c1 = Commit {
            index: 1,
            previous_digest: CommitDigest::default(),
            timestamp_ms: 5,
            leader: BlockRef::new(1, 0, BlockDigest([3; 32])),
            blocks: vec![BlockRef::new(1, 0, BlockDigest([3; 32]))],
        };
        let back = Commit::from_bytes(&c1.to_bytes()).unwrap();
        assert_eq!(back, c1);
        assert_eq!(back.digest(), c1.digest());
        let mut c2 = c1.clone();
        c2.index = 2;
        c2.previous_digest = c1.digest();
        assert_ne!(c2.digest(), c1.digest());
        let bytes = c2.to_bytes();
        for cut in 0..bytes.len() {
            assert!(Commit::from_bytes(&bytes[..cut]).is_err());
        }
    }
}
