//! Errors of the RPC crate and their JSON-RPC error objects (codes and messages as execution-apis
//! and geth give them).

use alloy_primitives::{Bytes, B256};
use jsonrpsee::types::ErrorObjectOwned;

/// -32602: invalid method parameters.
pub const INVALID_PARAMS: i32 = -32602;
/// -32603: the node failed.
pub const INTERNAL_ERROR: i32 = -32603;
/// -32000: generic server error (geth's "header not found", "filter not found", ...).
pub const SERVER_ERROR: i32 = -32000;
/// -32005: a query exceeds a configured limit.
pub const LIMIT_EXCEEDED: i32 = -32005;
/// -32601: the method does not exist or is not available.
pub const METHOD_NOT_FOUND: i32 = -32601;
/// 3: execution reverted (the revert data is the error's `data`).
pub const EXECUTION_REVERTED: i32 = 3;

/// Everything an RPC method or the server can fail with.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// Parameters that cannot be served (-32602).
    #[error("{0}")]
    InvalidParams(String),
    /// A block given by number or tag is not known (-32000, geth's message).
    #[error("header not found")]
    HeaderNotFound,
    /// A block given by hash is not known (-32000, geth's message).
    #[error("header for hash not found")]
    HashNotFound,
    /// An EIP-1898 `requireCanonical` block is not canonical (-32000, geth's message).
    #[error("hash is not currently canonical")]
    NotCanonical,
    /// The filter id is unknown or expired (-32000, geth's message).
    #[error("filter not found")]
    FilterNotFound,
    /// A query is larger than the server allows (-32005).
    #[error("{0}")]
    LimitExceeded(String),
    /// The method exists in the API but this node does not serve it (-32601).
    #[error("the method {0} is not supported by this node")]
    Unsupported(&'static str),
    /// A call or transaction failed with a code and optional data chosen by its source (pool
    /// errors, EVM call errors).
    #[error("{message}")]
    Coded {
        /// JSON-RPC error code.
        code: i32,
        /// Message.
        message: String,
        /// Optional data (revert output).
        data: Option<Bytes>,
    },
    /// A generic server-side error (-32000).
    #[error("{0}")]
    Server(String),
    /// The database failed (-32603).
    #[error("storage: {0}")]
    Storage(#[from] fastevm_storage::StorageError),
    /// The executor failed (-32603).
    #[error("executor: {0}")]
    Executor(#[from] fastevm_executor::ExecutorError),
    /// A stored block is missing a part that must exist (-32603).
    #[error("block {0} is incomplete in the database")]
    IncompleteBlock(B256),
    /// The server could not start (bind failure, ...).
    #[error("rpc server: {0}")]
    Io(#[from] std::io::Error),
}

impl RpcError {
    /// Shorthand for [`RpcError::InvalidParams`].
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::InvalidParams(message.into())
    }

    /// The answer of the EIP-7928 block-access-list methods: no FastEVM chain schedules
    /// Amsterdam, so no block has an access list (-32000).
    pub fn block_access_lists_inactive() -> Self {
        Self::Server(
            "block access lists (EIP-7928) are not active on this chain: the Amsterdam fork is not scheduled"
                .into(),
        )
    }

    /// The JSON-RPC error code.
    pub fn code(&self) -> i32 {
        match self {
            Self::InvalidParams(_) => INVALID_PARAMS,
            Self::HeaderNotFound
            | Self::HashNotFound
            | Self::NotCanonical
            | Self::FilterNotFound
            | Self::Server(_) => SERVER_ERROR,
            Self::LimitExceeded(_) => LIMIT_EXCEEDED,
            Self::Unsupported(_) => METHOD_NOT_FOUND,
            Self::Coded { code, .. } => *code,
            Self::Storage(_) | Self::Executor(_) | Self::IncompleteBlock(_) | Self::Io(_) => {
                INTERNAL_ERROR
            }
        }
    }
}

impl From<fastevm_txpool::PoolError> for RpcError {
    /// Input that does not decode as a transaction is -32602; every other rejection is -32000,
    /// as geth answers.
    fn from(e: fastevm_txpool::PoolError) -> Self {
        let code = match e {
            fastevm_txpool::PoolError::Decode(_) => INVALID_PARAMS,
            _ => SERVER_ERROR,
        };
        Self::Coded {
            code,
            message: e.to_string(),
            data: None,
        }
    }
}

impl From<fastevm_call::CallError> for RpcError {
    /// A revert is 3 with the revert output as data, bad parameters -32602, an eth_simulateV1
    /// refusal its execution-apis code, anything else -32000 (geth's codes).
    fn from(e: fastevm_call::CallError) -> Self {
        use fastevm_call::CallError as E;
        let code = match &e {
            E::Reverted { .. } => EXECUTION_REVERTED,
            E::InvalidParams(_) => INVALID_PARAMS,
            E::Simulation { failure, .. } => simulation_code(*failure),
            E::Halted(_)
            | E::InvalidTransaction(_)
            | E::GasTooHigh
            | E::OutOfGas { .. }
            | E::Override(_)
            | E::State(_) => SERVER_ERROR,
        };
        Self::Coded {
            code,
            message: e.to_string(),
            data: e.data(),
        }
    }
}

/// execution-apis' error code of each eth_simulateV1 refusal.
fn simulation_code(failure: fastevm_call::SimulationFailure) -> i32 {
    use fastevm_call::SimulationFailure as F;
    match failure {
        F::NonceTooLow => -38010,
        F::NonceTooHigh => -38011,
        F::BaseFeeTooLow => -38012,
        F::IntrinsicGasTooLow => -38013,
        F::InsufficientFunds => -38014,
        F::BlockGasLimitReached => -38015,
        F::BlockNumberNotIncreasing => -38020,
        F::TimestampNotIncreasing => -38021,
        F::InitCodeTooLarge => -38025,
        F::ClientLimitExceeded => -38026,
        F::InvalidParams => INVALID_PARAMS,
        F::Internal => INTERNAL_ERROR,
    }
}

impl From<RpcError> for ErrorObjectOwned {
    fn from(e: RpcError) -> Self {
        let code = e.code();
        match e {
            RpcError::Coded {
                message,
                data: Some(data),
                ..
            } => ErrorObjectOwned::owned(code, message, Some(data)),
            other => ErrorObjectOwned::owned(code, other.to_string(), None::<()>),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_objects_carry_codes_and_data() {
        let object = ErrorObjectOwned::from(RpcError::Coded {
            code: EXECUTION_REVERTED,
            message: "execution reverted".into(),
            data: Some(Bytes::from_static(b"\x01")),
        });
        assert_eq!(object.code(), EXECUTION_REVERTED);
        assert_eq!(object.data().map(|d| d.get()), Some("\"0x01\""));
        let object = ErrorObjectOwned::from(RpcError::HeaderNotFound);
        assert_eq!(
            (object.code(), object.message()),
            (-32000, "header not found")
        );
    }

    #[test]
    fn pool_rejections_get_geths_codes() {
        use fastevm_txpool::PoolError;
        let code = |e: PoolError| RpcError::from(e).code();
        assert_eq!(code(PoolError::Decode("x".into())), -32602);
        assert_eq!(code(PoolError::AlreadyKnown), -32000);
        assert_eq!(code(PoolError::PoolFull), -32000);
    }

    #[test]
    fn call_errors_get_geths_and_execution_apis_codes() {
        use fastevm_call::{CallError, SimulationFailure as F};
        let object = |e: CallError| ErrorObjectOwned::from(RpcError::from(e));
        let reverted = object(CallError::reverted(Bytes::from_static(b"\x02")));
        assert_eq!(reverted.code(), 3);
        assert_eq!(reverted.data().map(|d| d.get()), Some("\"0x02\""));
        assert_eq!(object(CallError::InvalidParams("x".into())).code(), -32602);
        let oog = object(CallError::OutOfGas { allowance: 1 });
        assert_eq!((oog.code(), oog.data().is_none()), (-32000, true));
        assert_eq!(object(CallError::Override("x".into())).code(), -32000);
        for (failure, code) in [
            (F::NonceTooLow, -38010),
            (F::NonceTooHigh, -38011),
            (F::BaseFeeTooLow, -38012),
            (F::IntrinsicGasTooLow, -38013),
            (F::InsufficientFunds, -38014),
            (F::BlockGasLimitReached, -38015),
            (F::BlockNumberNotIncreasing, -38020),
            (F::TimestampNotIncreasing, -38021),
            (F::InitCodeTooLarge, -38025),
            (F::ClientLimitExceeded, -38026),
            (F::InvalidParams, -32602),
            (F::Internal, -32603),
        ] {
            let error = object(CallError::Simulation {
                failure,
                message: "m".into(),
            });
            assert_eq!((error.code(), error.message()), (code, "m"), "{failure:?}");
        }
    }
}
