//! Errors of the engine crate (the Engine API server maps them to JSON-RPC codes).

/// Engine API failures that are answered with an error rather than a payload status.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The payload id is unknown (-38001).
    #[error("Unknown payload")]
    UnknownPayload,
    /// The forkchoice state is inconsistent (-38002).
    #[error("Invalid forkchoice state: {0}")]
    InvalidForkchoiceState(String),
    /// The payload attributes cannot build a block (-38003).
    #[error("Invalid payload attributes: {0}")]
    InvalidPayloadAttributes(String),
    /// Too many items requested (-38004).
    #[error("Too large request: {requested} > {max}")]
    TooLargeRequest {
        /// Items requested.
        requested: u64,
        /// The limit.
        max: u64,
    },
    /// Invalid method parameters (-32602).
    #[error("Invalid params: {0}")]
    InvalidParams(String),
    /// The node failed (-32603).
    #[error("Internal error: {0}")]
    Internal(String),
}

impl From<fastevm_storage::StorageError> for EngineError {
    fn from(e: fastevm_storage::StorageError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<fastevm_executor::ExecutorError> for EngineError {
    fn from(e: fastevm_executor::ExecutorError) -> Self {
        Self::Internal(e.to_string())
    }
}
