//! Core data types: authorities, rounds, slots, blocks, their digests and signatures.

use std::fmt;
use std::sync::Arc;

use ed25519_dalek::{Signer, SigningKey};

use crate::commit::CommitRef;
use crate::committee::Committee;
use crate::encoding::{Decoder, Encoder};
use crate::error::ConsensusResult;

/// Index of an authority in the committee (0-based).
pub type AuthorityIndex = u32;
/// DAG round number; round 0 holds the genesis blocks.
pub type Round = u32;
/// Epoch number.
pub type Epoch = u64;

/// Domain separator for block digests.
const BLOCK_DOMAIN: &[u8] = b"fastevm-consensus-block-v1";

/// A (round, authority) position in the DAG. Honest authorities produce at most one block per slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Slot {
    /// Round of the slot.
    pub round: Round,
    /// Authority of the slot.
    pub authority: AuthorityIndex,
}

impl Slot {
    /// New slot.
    pub fn new(round: Round, authority: AuthorityIndex) -> Self {
        Self { round, authority }
    }
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", authority_letter(self.authority), self.round)
    }
}

/// Human-friendly name of an authority in tests and logs: A, B, C, … then #26, #27, …
pub fn authority_letter(a: AuthorityIndex) -> String {
    if a < 26 {
        ((b'A' + a as u8) as char).to_string()
    } else {
        format!("#{a}")
    }
}

/// 32-byte blake3 digest of a block.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct BlockDigest(pub [u8; 32]);

impl BlockDigest {
    /// Smallest digest (for range scans).
    pub const MIN: BlockDigest = BlockDigest([0; 32]);
    /// Largest digest (for range scans).
    pub const MAX: BlockDigest = BlockDigest([0xff; 32]);
}

impl fmt::Debug for BlockDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", hex::encode(&self.0[..4]))
    }
}

/// Reference to a block: ordered by (round, author, digest).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockRef {
    /// Round of the block.
    pub round: Round,
    /// Author of the block.
    pub author: AuthorityIndex,
    /// Digest of the block.
    pub digest: BlockDigest,
}

impl BlockRef {
    /// New reference.
    pub fn new(round: Round, author: AuthorityIndex, digest: BlockDigest) -> Self {
        Self {
            round,
            author,
            digest,
        }
    }
    /// The slot of the referenced block.
    pub fn slot(&self) -> Slot {
        Slot::new(self.round, self.author)
    }
    /// Smallest reference of a slot (for range scans).
    pub fn slot_min(slot: Slot) -> Self {
        Self::new(slot.round, slot.authority, BlockDigest::MIN)
    }
    /// Largest reference of a slot (for range scans).
    pub fn slot_max(slot: Slot) -> Self {
        Self::new(slot.round, slot.authority, BlockDigest::MAX)
    }
    fn encode(&self, e: &mut Encoder) {
        e.u32(self.round).u32(self.author).fixed(&self.digest.0);
    }
    fn decode(d: &mut Decoder<'_>) -> ConsensusResult<Self> {
        let round = d.u32()?;
        let author = d.u32()?;
        let mut digest = [0u8; 32];
        digest.copy_from_slice(d.fixed(32)?);
        Ok(Self::new(round, author, BlockDigest(digest)))
    }
}

impl fmt::Debug for BlockRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({:?})", self.slot(), self.digest)
    }
}

/// An opaque transaction payload.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct Transaction(pub Vec<u8>);

/// Unsigned block content.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Block {
    /// Epoch of the committee that produced the block.
    pub epoch: Epoch,
    /// Round of the block.
    pub round: Round,
    /// Author of the block.
    pub author: AuthorityIndex,
    /// Proposer's clock when creating the block (≥ every ancestor's timestamp).
    pub timestamp_ms: u64,
    /// Ancestors; the first one is the author's own previous block.
    pub ancestors: Vec<BlockRef>,
    /// Transactions carried by the block.
    pub transactions: Vec<Transaction>,
    /// Commits the author made since its previous block, oldest first: a commit that
    /// validators holding a quorum of the stake voted for is certified, and a node catching up
    /// can take it from a peer without the DAG below it (commit sync, as Sui's commit votes).
    pub commit_votes: Vec<CommitRef>,
}

impl Block {
    /// Canonical encoding (the bytes that are hashed).
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        self.encode_into(&mut e);
        e.finish()
    }
    fn encode_into(&self, e: &mut Encoder) {
        e.u64(self.epoch)
            .u32(self.round)
            .u32(self.author)
            .u64(self.timestamp_ms)
            .u32(self.ancestors.len() as u32);
        for a in &self.ancestors {
            a.encode(e);
        }
        e.u32(self.transactions.len() as u32);
        for t in &self.transactions {
            e.bytes(&t.0);
        }
        e.u32(self.commit_votes.len() as u32);
        for v in &self.commit_votes {
            v.encode(e);
        }
    }
    fn decode(d: &mut Decoder<'_>) -> ConsensusResult<Self> {
        let epoch = d.u64()?;
        let round = d.u32()?;
        let author = d.u32()?;
        let timestamp_ms = d.u64()?;
        let n = d.count(40)?;
        let mut ancestors = Vec::with_capacity(n);
        for _ in 0..n {
            ancestors.push(BlockRef::decode(d)?);
        }
        let n = d.count(4)?;
        let mut transactions = Vec::with_capacity(n);
        for _ in 0..n {
            transactions.push(Transaction(d.bytes()?.to_vec()));
        }
        let n = d.count(CommitRef::ENCODED_LEN)?;
        let mut commit_votes = Vec::with_capacity(n);
        for _ in 0..n {
            commit_votes.push(CommitRef::decode(d)?);
        }
        Ok(Self {
            epoch,
            round,
            author,
            timestamp_ms,
            ancestors,
            transactions,
            commit_votes,
        })
    }
    /// Blake3 digest of the domain-separated canonical encoding.
    pub fn digest(&self) -> BlockDigest {
        let mut h = blake3::Hasher::new();
        h.update(BLOCK_DOMAIN);
        h.update(&self.encode());
        BlockDigest(*h.finalize().as_bytes())
    }
    /// Total payload bytes of the transactions.
    pub fn transactions_bytes(&self) -> usize {
        self.transactions.iter().map(|t| t.0.len()).sum()
    }
}

/// A block with its author's ed25519 signature over the block digest.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SignedBlock {
    /// The block.
    pub block: Block,
    /// Signature over `block.digest()`; all zero for genesis blocks.
    pub signature: [u8; 64],
}

impl SignedBlock {
    /// Signs `block` with `key`.
    pub fn sign(block: Block, key: &SigningKey) -> Self {
        let digest = block.digest();
        let signature = key.sign(&digest.0).to_bytes();
        Self { block, signature }
    }
    /// Wire/storage encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        self.block.encode_into(&mut e);
        e.fixed(&self.signature);
        e.finish()
    }
    /// Decodes [`SignedBlock::to_bytes`]; malformed input yields [`crate::ConsensusError::Decode`].
    pub fn from_bytes(bytes: &[u8]) -> ConsensusResult<Self> {
        let mut d = Decoder::new(bytes);
        let block = Block::decode(&mut d)?;
        let mut signature = [0u8; 64];
        signature.copy_from_slice(d.fixed(64)?);
        d.finish()?;
        Ok(Self { block, signature })
    }
    /// Reference of the block (computes the digest).
    pub fn reference(&self) -> BlockRef {
        BlockRef::new(self.block.round, self.block.author, self.block.digest())
    }
}

struct VerifiedInner {
    signed: SignedBlock,
    reference: BlockRef,
}

/// A block that passed verification (or was created / stored locally). Cheap to clone.
#[derive(Clone)]
pub struct VerifiedBlock(Arc<VerifiedInner>);

impl VerifiedBlock {
    /// Wraps a block without verifying it. Only for blocks the node produced itself, read back
    /// from its own store, genesis, or tests; network input must go through the verifier.
    pub fn new_trusted(signed: SignedBlock) -> Self {
        let reference = signed.reference();
        Self(Arc::new(VerifiedInner { signed, reference }))
    }
    /// The genesis blocks (round 0, one per authority, timestamp 0, unsigned).
    pub fn genesis(committee: &Committee) -> Vec<VerifiedBlock> {
        (0..committee.size() as AuthorityIndex)
            .map(|author| {
                Self::new_trusted(SignedBlock {
                    block: Block {
                        epoch: committee.epoch,
                        round: 0,
                        author,
                        timestamp_ms: 0,
                        ancestors: vec![],
                        transactions: vec![],
                        commit_votes: vec![],
                    },
                    signature: [0; 64],
                })
            })
            .collect()
    }
    /// Reference of the block.
    pub fn reference(&self) -> BlockRef {
        self.0.reference
    }
    /// Digest of the block.
    pub fn digest(&self) -> BlockDigest {
        self.0.reference.digest
    }
    /// Round of the block.
    pub fn round(&self) -> Round {
        self.0.reference.round
    }
    /// Author of the block.
    pub fn author(&self) -> AuthorityIndex {
        self.0.reference.author
    }
    /// Slot of the block.
    pub fn slot(&self) -> Slot {
        self.0.reference.slot()
    }
    /// Timestamp of the block.
    pub fn timestamp_ms(&self) -> u64 {
        self.0.signed.block.timestamp_ms
    }
    /// Ancestors of the block.
    pub fn ancestors(&self) -> &[BlockRef] {
        &self.0.signed.block.ancestors
    }
    /// Transactions of the block.
    pub fn transactions(&self) -> &[Transaction] {
        &self.0.signed.block.transactions
    }
    /// Commits the author voted for in this block.
    pub fn commit_votes(&self) -> &[CommitRef] {
        &self.0.signed.block.commit_votes
    }
    /// The block content.
    pub fn block(&self) -> &Block {
        &self.0.signed.block
    }
    /// The signed block.
    pub fn signed(&self) -> &SignedBlock {
        &self.0.signed
    }
}

impl PartialEq for VerifiedBlock {
    fn eq(&self, other: &Self) -> bool {
        self.reference() == other.reference()
    }
}
impl Eq for VerifiedBlock {}

impl fmt::Debug for VerifiedBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.reference())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ConsensusError;

    fn sample_block() -> Block {
        Block {
            epoch: 7,
            round: 3,
            author: 1,
            timestamp_ms: 1234,
            ancestors: vec![
                BlockRef::new(2, 1, BlockDigest([1; 32])),
                BlockRef::new(2, 0, BlockDigest([2; 32])),
            ],
            transactions: vec![Transaction(vec![1, 2, 3]), Transaction(vec![])],
            commit_votes: vec![CommitRef::new(9, crate::commit::CommitDigest([4; 32]))],
        }
    }

    #[test]
    fn digest_is_deterministic_and_field_sensitive() {
        let b = sample_block();
        assert_eq!(b.digest(), sample_block().digest());
        let mut c = sample_block();
        c.timestamp_ms += 1;
        assert_ne!(b.digest(), c.digest());
        let mut c = sample_block();
        c.transactions[1].0.push(0);
        assert_ne!(b.digest(), c.digest());
        let mut c = sample_block();
        c.ancestors.swap(0, 1);
        assert_ne!(b.digest(), c.digest());
        let mut c = sample_block();
        c.commit_votes[0].index += 1;
        assert_ne!(b.digest(), c.digest());
    }

    #[test]
    fn signed_block_round_trip_and_signature() {
        let (committee, keys) = Committee::new_for_test(4, 1);
        let signed = SignedBlock::sign(sample_block(), &keys[1]);
        let bytes = signed.to_bytes();
        let decoded = SignedBlock::from_bytes(&bytes).unwrap();
        assert_eq!(decoded, signed);
        assert_eq!(decoded.reference(), signed.reference());
        assert!(committee
            .authority(1)
            .unwrap()
            .public_key
            .verify(&signed.block.digest(), &signed.signature));
        assert!(!committee
            .authority(0)
            .unwrap()
            .public_key
            .verify(&signed.block.digest(), &signed.signature));
    }

    #[test]
    fn decode_rejects_malformed_input_without_panicking() {
        let (_, keys) = Committee::new_for_test(4, 1);
        let bytes = SignedBlock::sign(sample_block(), &keys[1]).to_bytes();
        for cut in 0..bytes.len() {
            assert!(SignedBlock::from_bytes(&bytes[..cut]).is_err(), "cut {cut}");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(SignedBlock::from_bytes(&long).is_err());
        // A huge claimed ancestor count must not allocate or panic.
        let mut huge = bytes.clone();
        huge[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            SignedBlock::from_bytes(&huge),
            Err(ConsensusError::Decode(_))
        ));
        // Random garbage never panics.
        let mut x: u64 = 0x9e3779b97f4a7c15;
        for len in 0..300 {
            let buf: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            let _ = SignedBlock::from_bytes(&buf);
        }
    }

    #[test]
    fn genesis_is_identical_across_nodes() {
        let (committee, _) = Committee::new_for_test(4, 1);
        let g1 = VerifiedBlock::genesis(&committee);
        let g2 = VerifiedBlock::genesis(&committee);
        assert_eq!(g1.len(), 4);
        assert_eq!(g1, g2);
        assert!(g1.iter().all(|b| b.round() == 0));
    }
}
