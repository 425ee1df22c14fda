//! The crate's single error type.

use crate::types::{AuthorityIndex, BlockRef, Round, Slot};

/// Everything that can go wrong inside the consensus core.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsensusError {
    /// Bytes received from the network could not be decoded.
    #[error("malformed encoding: {0}")]
    Decode(String),
    /// A block's signature does not verify under its author's key.
    #[error("invalid signature on block {0:?}")]
    InvalidSignature(BlockRef),
    /// An authority index is not part of the committee.
    #[error("unknown authority index {0}")]
    UnknownAuthority(AuthorityIndex),
    /// Round-0 (genesis) blocks are never accepted from the network.
    #[error("genesis blocks cannot be received")]
    GenesisBlock,
    /// An ancestor's round is not lower than the block's round.
    #[error("ancestor {ancestor:?} is not below block round {round}")]
    AncestorRoundTooHigh {
        /// The offending ancestor.
        ancestor: BlockRef,
        /// The block's round.
        round: Round,
    },
    /// A round-0 ancestor that is not one of the committee's genesis blocks.
    #[error("unknown genesis ancestor {0:?}")]
    UnknownGenesisAncestor(BlockRef),
    /// Two ancestors share an author.
    #[error("duplicate ancestor author {0}")]
    DuplicateAncestorAuthor(AuthorityIndex),
    /// The first ancestor must be the author's own previous block.
    #[error("first ancestor is not the author's own previous block")]
    FirstAncestorNotOwn,
    /// The block has no ancestors.
    #[error("block has no ancestors")]
    NoAncestors,
    /// Ancestors from round-1 hold less than a quorum of stake.
    #[error("ancestors from the previous round hold stake {stake} < quorum {quorum}")]
    InsufficientParentStake {
        /// Stake of previous-round ancestors.
        stake: u64,
        /// Required quorum.
        quorum: u64,
    },
    /// The block exceeds a size limit.
    #[error("block too large: {0}")]
    BlockTooLarge(String),
    /// Commit votes must name strictly increasing commit indices.
    #[error("commit votes are not in strictly increasing index order")]
    UnorderedCommitVotes,
    /// Block timestamp is lower than one of its ancestors'.
    #[error("block timestamp {timestamp_ms} < ancestor timestamp {ancestor_timestamp_ms}")]
    TimestampBeforeAncestor {
        /// The block's timestamp.
        timestamp_ms: u64,
        /// The largest ancestor timestamp.
        ancestor_timestamp_ms: u64,
    },
    /// The block belongs to another epoch.
    #[error("wrong epoch: expected {expected}, got {got}")]
    WrongEpoch {
        /// Our epoch.
        expected: u64,
        /// The block's epoch.
        got: u64,
    },
    /// More than one block of a slot gathered a certificate: the BFT assumption (≤ f faulty) is broken.
    #[error("more than one certified block in slot {0}")]
    MultipleCertifiedBlocks(Slot),
    /// Committee configuration problem.
    #[error("invalid committee: {0}")]
    InvalidCommittee(String),
    /// A certified commit handed to the core does not extend its last commit (wrong index,
    /// previous digest or blocks): the commit sync's input is inconsistent with this node.
    #[error("certified commit {index} does not extend the local chain: {reason}")]
    CertifiedCommitMismatch {
        /// Index of the offending commit.
        index: u64,
        /// What does not match.
        reason: String,
    },
    /// A fetched commit range is not certified (see [`crate::commit_certifier`]).
    #[error("uncertified commits: {0}")]
    UncertifiedCommits(String),
    /// Storage backend failure.
    #[error("store error: {0}")]
    Store(String),
}

/// Result alias for this crate.
pub type ConsensusResult<T> = Result<T, ConsensusError>;
