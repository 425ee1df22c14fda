//! Errors of the executor crate.

use alloy_primitives::B256;

/// Why a block is invalid. Every mismatch names the field, what was expected and what was got.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidBlock {
    /// A header or body field does not match what the rules or the execution produced.
    #[error("{field} mismatch: expected {expected}, got {got}")]
    Mismatch {
        /// The field (e.g. `stateRoot`, `gasUsed`, `baseFeePerGas`).
        field: &'static str,
        /// The value the rules or the execution require.
        expected: String,
        /// The value the block carries.
        got: String,
    },
    /// A header field is present where the fork forbids it, or missing where it requires it.
    #[error("{field}: {reason}")]
    Field {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A transaction cannot be included (bad signature, nonce, balance, gas, ...).
    #[error("transaction {index} ({hash}): {reason}")]
    Transaction {
        /// Position in the block.
        index: usize,
        /// Transaction hash.
        hash: B256,
        /// What is wrong.
        reason: String,
    },
    /// The block's RLP could not be decoded.
    #[error("block RLP: {0}")]
    Decode(String),
    /// Block-level execution failed (system contract call, requests, ...).
    #[error("block execution: {0}")]
    Execution(String),
}

impl InvalidBlock {
    pub(crate) fn mismatch(
        field: &'static str,
        expected: impl std::fmt::Display,
        got: impl std::fmt::Display,
    ) -> Self {
        Self::Mismatch {
            field,
            expected: expected.to_string(),
            got: got.to_string(),
        }
    }

    pub(crate) fn field(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Field {
            field,
            reason: reason.into(),
        }
    }
}

/// Everything that can fail in the executor.
#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    /// The block breaks a consensus rule.
    #[error("invalid block: {0}")]
    InvalidBlock(#[from] InvalidBlock),
    /// The parent of the block is not stored.
    #[error("unknown parent block {0}")]
    UnknownParent(B256),
    /// The chain configuration cannot be used.
    #[error("chain config: {0}")]
    ChainConfig(String),
    /// The genesis file cannot be imported.
    #[error("genesis: {0}")]
    Genesis(String),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] fastevm_storage::StorageError),
    /// The state trie could not be read.
    #[error(transparent)]
    Trie(#[from] fastevm_trie::TrieError),
    /// A state read needed by the EVM failed.
    #[error("state read: {0}")]
    StateRead(String),
    /// Payload attributes that cannot build a block.
    #[error("invalid payload attributes: {0}")]
    InvalidAttributes(String),
    /// An operation this build does not support.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl revm::database_interface::DBErrorMarker for ExecutorError {}
