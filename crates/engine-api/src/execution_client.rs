//! How a consensus client talks to its execution node: the four Engine API calls the consensus
//! bridge needs, at the level of blocks. Implemented over JSON-RPC with JWT for separate processes
//! ([`crate::RpcExecutionClient`]), and in process by `fastevm-engine-rpc`'s `InProcessClient`
//! (over the engine's own thread) for `fastevm dev`, tests and simulations.

use crate::PayloadRequest;
use alloy_consensus::{Block, TxEnvelope};
use alloy_primitives::{Bytes, B256};
use alloy_rpc_types_engine::{ForkchoiceState, ForkchoiceUpdated, PayloadId, PayloadStatus};
use std::future::Future;

/// Why an Engine API call did not give an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineClientError {
    /// The execution node could not be reached (worth retrying).
    #[error("execution node unreachable: {0}")]
    Unreachable(String),
    /// The execution node answered with an error.
    #[error("execution node refused {method}: {reason}")]
    Refused {
        /// The Engine API method.
        method: &'static str,
        /// The error it returned.
        reason: String,
    },
}

impl EngineClientError {
    /// Whether retrying the same call may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, EngineClientError::Unreachable(_))
    }
}

/// The execution node's canonical head, as the bridge needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadInfo {
    /// Block hash.
    pub hash: B256,
    /// Block number.
    pub number: u64,
    /// Timestamp (seconds).
    pub timestamp: u64,
    /// extraData (carries the commit index of consensus blocks).
    pub extra_data: Bytes,
}

/// A payload returned by `engine_getPayload`.
#[derive(Debug, Clone)]
pub struct BuiltBlock {
    /// Block hash claimed by the execution node.
    pub hash: B256,
    /// The block.
    pub block: Block<TxEnvelope>,
    /// Its EIP-7685 execution requests (Prague), passed back in `engine_newPayloadV4`.
    pub requests: alloy_eips::eip7685::Requests,
}

/// The Engine API calls the consensus bridge makes.
pub trait ExecutionClient: Send + Sync {
    /// The canonical head.
    fn head(&self) -> impl Future<Output = Result<HeadInfo, EngineClientError>> + Send;
    /// `engine_forkchoiceUpdated`.
    fn forkchoice_updated(
        &self,
        state: ForkchoiceState,
        request: Option<PayloadRequest>,
    ) -> impl Future<Output = Result<ForkchoiceUpdated, EngineClientError>> + Send;
    /// `engine_getPayload`.
    fn get_payload(
        &self,
        id: PayloadId,
    ) -> impl Future<Output = Result<BuiltBlock, EngineClientError>> + Send;
    /// `engine_newPayload`.
    fn new_payload(
        &self,
        block: &BuiltBlock,
    ) -> impl Future<Output = Result<PayloadStatus, EngineClientError>> + Send;
}
