//! Engine API error codes (execution-apis `common.md`) and their JSON-RPC error objects.

use fastevm_engine::EngineError;
use jsonrpsee::types::ErrorObjectOwned;

/// -32602
pub const INVALID_PARAMS: i32 = -32602;
/// -32603
pub const INTERNAL_ERROR: i32 = -32603;
/// -38001
pub const UNKNOWN_PAYLOAD: i32 = -38001;
/// -38002
pub const INVALID_FORKCHOICE_STATE: i32 = -38002;
/// -38003
pub const INVALID_PAYLOAD_ATTRIBUTES: i32 = -38003;
/// -38004
pub const TOO_LARGE_REQUEST: i32 = -38004;
/// -38005
pub const UNSUPPORTED_FORK: i32 = -38005;

/// Errors an Engine API method answers with.
#[derive(Debug, thiserror::Error)]
pub enum EngineRpcError {
    /// The engine refused the call.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The method version does not match the fork of the payload or attributes.
    #[error("Unsupported fork: {0}")]
    UnsupportedFork(String),
    /// The parameters do not match the method version.
    #[error("Invalid params: {0}")]
    InvalidParams(String),
}

impl From<EngineRpcError> for ErrorObjectOwned {
    fn from(e: EngineRpcError) -> Self {
        let code = match &e {
            EngineRpcError::UnsupportedFork(_) => UNSUPPORTED_FORK,
            EngineRpcError::InvalidParams(_) => INVALID_PARAMS,
            EngineRpcError::Engine(e) => match e {
                EngineError::UnknownPayload => UNKNOWN_PAYLOAD,
                EngineError::InvalidForkchoiceState(_) => INVALID_FORKCHOICE_STATE,
                EngineError::InvalidPayloadAttributes(_) => INVALID_PAYLOAD_ATTRIBUTES,
                EngineError::TooLargeRequest { .. } => TOO_LARGE_REQUEST,
                EngineError::InvalidParams(_) => INVALID_PARAMS,
                EngineError::Internal(_) => INTERNAL_ERROR,
            },
        };
        ErrorObjectOwned::owned(code, e.to_string(), None::<()>)
    }
}
