//! Errors of the storage crate.

use alloy_primitives::B256;

/// Everything that can go wrong reading or writing the chain database.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// RocksDB failed.
    #[error("rocksdb: {0}")]
    Rocks(#[from] rocksdb::Error),
    /// A stored value could not be decoded (corruption or a format change).
    #[error("corrupt value in table {table}: {reason}")]
    Decode {
        /// Table holding the value.
        table: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// A block needed for the operation is not stored.
    #[error("block {0} is not stored")]
    MissingBlock(B256),
    /// A block's state diff is not stored (it cannot be applied or undone).
    #[error("state diff of block {0} is not stored")]
    MissingStateDiff(B256),
    /// A canonical block was committed whose parent is not the canonical head.
    #[error("block {block} does not extend the canonical head {head} (parent {parent})")]
    NotOnHead {
        /// The block being committed.
        block: B256,
        /// Its parent.
        parent: B256,
        /// The current head.
        head: B256,
    },
    /// The database has no genesis yet.
    #[error("database is not initialised (no genesis); run `fastevm init` first")]
    NotInitialised,
    /// Writing to disk in the background failed: nothing staged after the failure reaches the
    /// disk, and the node must restart (it resumes from what was written).
    #[error("persistence: {0}")]
    Persistence(String),
    /// The trie could not be read.
    #[error("trie: {0}")]
    Trie(#[from] fastevm_trie::TrieError),
}

impl StorageError {
    pub(crate) fn decode(table: &'static str, reason: impl Into<String>) -> Self {
        Self::Decode {
            table,
            reason: reason.into(),
        }
    }
}
