//! The consensus bridge's execution client over the authenticated Engine API (JSON-RPC + JWT), for an
//! execution node in another process: `engine_forkchoiceUpdatedV3`, `engine_getPayloadV4` (V5
//! from Osaka), `engine_newPayloadV4`, and `eth_getBlockByNumber` on the same port for the head.

use crate::{
    engine_http_client, AuthEthApiClient, BuiltBlock, EngineApiClient, EngineClientError,
    EngineHttpClient, ExecutionClient, FastPayloadAttributes, HeadInfo, JwtSecret, PayloadRequest,
    UNSUPPORTED_FORK,
};
use alloy_consensus::{Block, Transaction, TxEnvelope};
use alloy_eips::eip2718::Decodable2718;
use alloy_eips::BlockNumberOrTag;
use alloy_primitives::B256;
use alloy_rpc_types_engine::{
    CancunPayloadFields, ExecutionPayload, ExecutionPayloadSidecar, ExecutionPayloadV3,
    ForkchoiceState, ForkchoiceUpdated, PayloadId, PayloadStatus, PraguePayloadFields,
};
use jsonrpsee::core::ClientError;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::time::Duration;

/// An execution node reached over its Engine API port.
#[derive(Debug)]
pub struct RpcExecutionClient {
    client: EngineHttpClient,
    /// Parent beacon block root of each payload this client asked to build: `getPayload` does
    /// not return it, and the block hash covers it.
    beacon_roots: Mutex<VecDeque<(PayloadId, B256)>>,
}

impl RpcExecutionClient {
    /// Connects to `url` (e.g. `http://127.0.0.1:8551`) with the node's JWT secret.
    pub fn new(url: &str, secret: JwtSecret, timeout: Duration) -> Result<Self, EngineClientError> {
        let client = engine_http_client(url, secret, timeout)
            .map_err(|e| EngineClientError::Unreachable(e.to_string()))?;
        Ok(Self {
            client,
            beacon_roots: Mutex::new(VecDeque::new()),
        })
    }
}

fn map_err(method: &'static str) -> impl Fn(ClientError) -> EngineClientError {
    move |e| match e {
        ClientError::Call(obj) => EngineClientError::Refused {
            method,
            reason: format!("{} ({})", obj.message(), obj.code()),
        },
        other => EngineClientError::Unreachable(format!("{method}: {other}")),
    }
}

impl ExecutionClient for RpcExecutionClient {
    async fn head(&self) -> Result<HeadInfo, EngineClientError> {
        let block = self
            .client
            .block_by_number(BlockNumberOrTag::Latest, false)
            .await
            .map_err(map_err("eth_getBlockByNumber"))?
            .ok_or_else(|| EngineClientError::Refused {
                method: "eth_getBlockByNumber",
                reason: "no head block".into(),
            })?;
        Ok(HeadInfo {
            hash: block.header.hash,
            number: block.header.inner.number,
            timestamp: block.header.inner.timestamp,
            extra_data: block.header.inner.extra_data,
        })
    }

    async fn forkchoice_updated(
        &self,
        state: ForkchoiceState,
        request: Option<PayloadRequest>,
    ) -> Result<ForkchoiceUpdated, EngineClientError> {
        let beacon_root = request
            .as_ref()
            .and_then(|r| r.attributes.parent_beacon_block_root);
        let attributes = request.map(FastPayloadAttributes::from);
        let updated = self
            .client
            .forkchoice_updated_v3(state, attributes)
            .await
            .map_err(map_err("engine_forkchoiceUpdatedV3"))?;
        if let (Some(id), Some(root)) = (updated.payload_id, beacon_root) {
            let mut roots = self.beacon_roots.lock();
            roots.retain(|(known, _)| *known != id);
            roots.push_back((id, root));
            // Keep the last few only: payloads are fetched right after they are asked for.
            while roots.len() > 64 {
                roots.pop_front();
            }
        }
        Ok(updated)
    }

    async fn get_payload(&self, id: PayloadId) -> Result<BuiltBlock, EngineClientError> {
        let (payload, requests) = match self.client.get_payload_v4(id).await {
            Ok(envelope) => (
                envelope.envelope_inner.execution_payload,
                envelope.execution_requests,
            ),
            Err(ClientError::Call(obj)) if obj.code() == UNSUPPORTED_FORK => {
                let envelope = self
                    .client
                    .get_payload_v5(id)
                    .await
                    .map_err(map_err("engine_getPayloadV5"))?;
                (envelope.execution_payload, envelope.execution_requests)
            }
            Err(e) => return Err(map_err("engine_getPayloadV4")(e)),
        };
        let hash = payload.payload_inner.payload_inner.block_hash;
        let known = self
            .beacon_roots
            .lock()
            .iter()
            .find(|(k, _)| *k == id)
            .map(|(_, r)| *r);
        let beacon_root = known.ok_or_else(|| EngineClientError::Refused {
            method: "engine_getPayloadV4",
            reason: format!("payload {id} was not requested through this client"),
        })?;
        let versioned_hashes = payload
            .payload_inner
            .payload_inner
            .transactions
            .iter()
            .filter_map(|raw| TxEnvelope::decode_2718(&mut raw.as_ref()).ok())
            .filter_map(|tx| tx.blob_versioned_hashes().map(|h| h.to_vec()))
            .flatten()
            .collect();
        let sidecar = ExecutionPayloadSidecar::v4(
            CancunPayloadFields::new(beacon_root, versioned_hashes),
            PraguePayloadFields::new(requests.clone()),
        );
        let block: Block<TxEnvelope> = ExecutionPayload::V3(payload)
            .try_into_block_with_sidecar(&sidecar)
            .map_err(|e| EngineClientError::Refused {
                method: "engine_getPayloadV4",
                reason: format!("undecodable payload: {e}"),
            })?;
        Ok(BuiltBlock {
            hash,
            block,
            requests,
        })
    }

    async fn new_payload(&self, built: &BuiltBlock) -> Result<PayloadStatus, EngineClientError> {
        let payload = ExecutionPayloadV3::from_block_unchecked(built.hash, &built.block);
        let versioned_hashes: Vec<B256> = built
            .block
            .body
            .blob_versioned_hashes_iter()
            .copied()
            .collect();
        let beacon_root = built
            .block
            .header
            .parent_beacon_block_root
            .unwrap_or_default();
        self.client
            .new_payload_v4(
                payload,
                versioned_hashes,
                beacon_root,
                built.requests.clone(),
            )
            .await
            .map_err(map_err("engine_newPayloadV4"))
    }
}
