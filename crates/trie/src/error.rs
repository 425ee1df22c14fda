//! The one error type of this crate.

use alloy_primitives::B256;

/// Why a trie operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TrieError {
    /// A node referenced by hash is not in the node store (the store is incomplete or the root is
    /// unknown).
    #[error("trie node {0} is missing from the node store")]
    MissingNode(B256),
    /// Bytes that should hold a trie node do not decode as one.
    #[error("trie node does not decode (stored under hash {hash:?}, None if embedded): {source}")]
    Decode {
        /// Hash the node was stored under; `None` for a node embedded in its parent.
        hash: Option<B256>,
        /// The RLP decoding failure.
        #[source]
        source: alloy_rlp::Error,
    },
    /// A stored node puts a key boundary where no 32-byte key can have one (corrupt trie).
    #[error("trie node at depth {depth} nibbles does not fit 32-byte keys")]
    InvalidPath {
        /// Depth in nibbles of the offending node.
        depth: usize,
    },
    /// The node store itself failed (I/O, corruption, ...).
    #[error("node store failed: {0}")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl TrieError {
    /// Wraps a node store failure.
    pub fn store(error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        Self::Store(error.into())
    }
}
