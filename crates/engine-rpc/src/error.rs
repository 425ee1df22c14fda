//! The errors Engine API methods answer with, as JSON-RPC error objects with the execution-apis
//! codes (defined in `fastevm-engine-api`).

use fastevm_engine::EngineError;
use fastevm_engine_api::{
    INTERNAL_ERROR, INVALID_FORKCHOICE_STATE, INVALID_PARAMS, INVALID_PAYLOAD_ATTRIBUTES,
    TOO_LARGE_REQUEST, UNKNOWN_PAYLOAD, UNSUPPORTED_FORK,
};
use jsonrpsee::types::ErrorObjectOwned;

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
