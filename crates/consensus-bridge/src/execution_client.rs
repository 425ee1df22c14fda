//! How the bridge talks to its execution node: the four Engine API calls it needs, at the level
//! of blocks. Implemented over JSON-RPC with JWT for separate processes, and in process (over
//! [`fastevm_engine::Engine`], whose calls run on the engine's own thread) for `fastevm dev`,
//! tests and simulations.

use crate::BridgeError;
use alloy_consensus::{Block, TxEnvelope};
use alloy_primitives::{Bytes, B256};
use alloy_rpc_types_engine::{ForkchoiceState, ForkchoiceUpdated, PayloadId, PayloadStatus};
use fastevm_engine::{Engine, EngineError, PayloadRequest};
use std::{future::Future, sync::Arc};

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

/// The Engine API calls the bridge makes.
pub trait ExecutionClient: Send + Sync {
    /// The canonical head.
    fn head(&self) -> impl Future<Output = Result<HeadInfo, BridgeError>> + Send;
    /// `engine_forkchoiceUpdated`.
    fn forkchoice_updated(
        &self,
        state: ForkchoiceState,
        request: Option<PayloadRequest>,
    ) -> impl Future<Output = Result<ForkchoiceUpdated, BridgeError>> + Send;
    /// `engine_getPayload`.
    fn get_payload(
        &self,
        id: PayloadId,
    ) -> impl Future<Output = Result<BuiltBlock, BridgeError>> + Send;
    /// `engine_newPayload`.
    fn new_payload(
        &self,
        block: &BuiltBlock,
    ) -> impl Future<Output = Result<PayloadStatus, BridgeError>> + Send;
}

/// An execution node in the same process.
#[derive(Debug, Clone)]
pub struct InProcessClient {
    engine: Arc<Engine>,
}

impl InProcessClient {
    /// A client of `engine`.
    pub fn new(engine: Arc<Engine>) -> Self {
        Self { engine }
    }
}

fn refused(method: &'static str) -> impl Fn(EngineError) -> BridgeError {
    move |e| BridgeError::Refused {
        method,
        reason: e.to_string(),
    }
}

impl ExecutionClient for InProcessClient {
    async fn head(&self) -> Result<HeadInfo, BridgeError> {
        let store = self.engine.chain().store();
        let hash = store
            .head_hash()
            .map_err(|e| BridgeError::Unreachable(e.to_string()))?;
        let header = store
            .head_header()
            .map_err(|e| BridgeError::Unreachable(e.to_string()))?;
        Ok(HeadInfo {
            hash,
            number: header.number,
            timestamp: header.timestamp,
            extra_data: header.extra_data,
        })
    }

    async fn forkchoice_updated(
        &self,
        state: ForkchoiceState,
        request: Option<PayloadRequest>,
    ) -> Result<ForkchoiceUpdated, BridgeError> {
        self.engine
            .run(move |engine| engine.forkchoice_updated(state, request))
            .await
            .and_then(|r| r)
            .map_err(refused("engine_forkchoiceUpdated"))
    }

    async fn get_payload(&self, id: PayloadId) -> Result<BuiltBlock, BridgeError> {
        let payload = self
            .engine
            .run(move |engine| engine.get_payload(id))
            .await
            .and_then(|r| r)
            .map_err(refused("engine_getPayload"))?;
        Ok(BuiltBlock {
            hash: payload.block.hash,
            block: Block {
                header: payload.block.header.clone(),
                body: payload.block.body.clone(),
            },
            requests: payload.requests.clone(),
        })
    }

    async fn new_payload(&self, block: &BuiltBlock) -> Result<PayloadStatus, BridgeError> {
        let (payload, hash) = (block.block.clone(), block.hash);
        self.engine
            .run(move |engine| engine.new_payload(payload, hash, None))
            .await
            .and_then(|r| r)
            .map_err(refused("engine_newPayload"))
    }
}
