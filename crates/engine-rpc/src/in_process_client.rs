//! The consensus bridge's client of an engine in the same process (`fastevm dev`, tests and
//! simulations): the same four calls as over the Engine API, each run on the engine's own
//! thread, without JSON or HTTP in between.

use alloy_consensus::Block;
use alloy_rpc_types_engine::{ForkchoiceState, ForkchoiceUpdated, PayloadId, PayloadStatus};
use fastevm_engine::{Engine, EngineError};
use fastevm_engine_api::{
    BuiltBlock, EngineClientError, ExecutionClient, HeadInfo, PayloadRequest,
};
use std::sync::Arc;

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

fn refused(method: &'static str) -> impl Fn(EngineError) -> EngineClientError {
    move |e| EngineClientError::Refused {
        method,
        reason: e.to_string(),
    }
}

impl ExecutionClient for InProcessClient {
    async fn head(&self) -> Result<HeadInfo, EngineClientError> {
        let store = self.engine.chain().store();
        let hash = store
            .head_hash()
            .map_err(|e| EngineClientError::Unreachable(e.to_string()))?;
        let header = store
            .head_header()
            .map_err(|e| EngineClientError::Unreachable(e.to_string()))?;
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
    ) -> Result<ForkchoiceUpdated, EngineClientError> {
        self.engine
            .run(move |engine| engine.forkchoice_updated(state, request))
            .await
            .and_then(|r| r)
            .map_err(refused("engine_forkchoiceUpdated"))
    }

    async fn get_payload(&self, id: PayloadId) -> Result<BuiltBlock, EngineClientError> {
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

    async fn new_payload(&self, block: &BuiltBlock) -> Result<PayloadStatus, EngineClientError> {
        let (payload, hash) = (block.block.clone(), block.hash);
        self.engine
            .run(move |engine| engine.new_payload(payload, hash, None))
            .await
            .and_then(|r| r)
            .map_err(refused("engine_newPayload"))
    }
}
