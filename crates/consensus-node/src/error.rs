//! The crate's single error type.

use fastevm_consensus::{AuthorityIndex, CommitIndex, ConsensusError};
use fastevm_network::NetworkError;

/// Everything that can go wrong in the validator runtime.
///
/// Decode variants (`MessageTooLarge` … `MalformedMessage`) describe bad network input: the
/// runtime counts and drops such messages, it never stops for them. Store, consensus-core and
/// commit-order variants are fatal: the node stops and must be restarted from its store.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// This validator's EVM block differs from the one validators holding a quorum of the stake
    /// signed for the same height: its execution diverged. Fatal.
    #[error(
        "executed block {height} is 0x{ours} here but 0x{agreed} on a quorum of validators: this \
         node's execution diverged from the chain; stopping"
    )]
    ExecutionDiverged {
        /// EVM block number.
        height: u64,
        /// This node's block hash (hex).
        ours: String,
        /// The hash a quorum signed (hex).
        agreed: String,
    },
    /// A wire message exceeds the configured size limit.
    #[error("message of {len} bytes exceeds the limit of {max} bytes")]
    MessageTooLarge {
        /// Size of the message.
        len: usize,
        /// Configured maximum.
        max: usize,
    },
    /// A wire message is empty.
    #[error("empty message")]
    EmptyMessage,
    /// A wire message starts with an unknown format version.
    #[error("unsupported message version {0}")]
    UnsupportedMessageVersion(u8),
    /// A wire message carries an unknown kind tag.
    #[error("unknown message tag {0}")]
    UnknownMessageTag(u8),
    /// A wire message lists more items than allowed.
    #[error("{what}: {count} items exceed the limit of {max}")]
    TooManyItems {
        /// Which list.
        what: &'static str,
        /// Items claimed by the message.
        count: usize,
        /// Configured maximum.
        max: usize,
    },
    /// A wire message is truncated, has trailing bytes or a malformed block inside.
    #[error("malformed message: {0}")]
    MalformedMessage(String),
    /// The consensus core failed (store failure, broken BFT assumption, bad committee).
    #[error("consensus core: {0}")]
    Consensus(#[from] ConsensusError),
    /// RocksDB failed.
    #[error("rocksdb: {0}")]
    Rocks(#[from] rocksdb::Error),
    /// The store on disk was written by an incompatible version or for another authority.
    #[error("store metadata mismatch for {what}: expected {expected}, found {found}")]
    StoreMismatch {
        /// Which metadata entry.
        what: &'static str,
        /// Value this node expects.
        expected: String,
        /// Value found on disk.
        found: String,
    },
    /// A stored value could not be decoded.
    #[error("corrupt store entry in {column}: {reason}")]
    CorruptStore {
        /// Column family of the entry.
        column: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The core produced commits out of order (never expected; the node stops).
    #[error("commit order broken: expected index {expected}, got {got}")]
    CommitGap {
        /// Next index the consumer should receive.
        expected: CommitIndex,
        /// Index produced.
        got: CommitIndex,
    },
    /// A configuration value is unusable.
    #[error("invalid configuration {field}: {reason}")]
    InvalidConfig {
        /// Offending field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The committee has no authority with this index.
    #[error("authority {0} is not in the committee")]
    UnknownAuthority(AuthorityIndex),
    /// The transport failed (bind, invalid peers).
    #[error("network: {0}")]
    Network(#[from] NetworkError),
    /// A config file could not be read or written.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A config file is not valid JSON for its schema.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// The node task ended abnormally (panicked or was cancelled).
    #[error("node task failed: {0}")]
    TaskFailed(String),
}

/// Result alias for this crate.
pub type NodeResult<T> = Result<T, NodeError>;
