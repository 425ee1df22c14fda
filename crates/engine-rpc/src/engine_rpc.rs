//! The Engine API server: version and fork checks per method, then the engine.

use crate::{blobs, error::EngineRpcError};
use alloy_consensus::{Block, TxEnvelope};
use alloy_eips::eip7685::{Requests, RequestsOrHash};
use alloy_primitives::{B256, U64};
use alloy_rpc_types_engine::{
    BlobAndProofV1, BlobAndProofV2, CancunPayloadFields, ExecutionPayload, ExecutionPayloadBodyV1,
    ExecutionPayloadEnvelopeV2, ExecutionPayloadEnvelopeV3, ExecutionPayloadEnvelopeV4,
    ExecutionPayloadEnvelopeV5, ExecutionPayloadFieldV2, ExecutionPayloadInputV2,
    ExecutionPayloadSidecar, ExecutionPayloadV1, ExecutionPayloadV2, ExecutionPayloadV3,
    ForkchoiceState, ForkchoiceUpdated, PayloadId, PayloadStatus, PayloadStatusEnum,
    PraguePayloadFields,
};
use fastevm_engine::{BuiltPayload, Engine};
use fastevm_engine_api::{ClientVersionV1, EngineApiServer, FastPayloadAttributes, CAPABILITIES};
use fastevm_metrics::NodeMetrics;
use jsonrpsee::core::{async_trait, RpcResult};
use std::sync::Arc;

/// Forks that change the Engine API, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fork {
    /// Before Shanghai.
    Paris,
    /// Shanghai.
    Shanghai,
    /// Cancun.
    Cancun,
    /// Prague.
    Prague,
    /// Osaka and later.
    Osaka,
}

/// Serves the Engine API over an [`Engine`].
#[derive(Debug, Clone)]
pub struct EngineRpc {
    engine: Arc<Engine>,
    metrics: Option<NodeMetrics>,
}

impl EngineRpc {
    /// A server over `engine`, reporting to `metrics` when given.
    pub fn new(engine: Arc<Engine>, metrics: Option<NodeMetrics>) -> Self {
        Self { engine, metrics }
    }

    fn fork(&self, timestamp: u64) -> Fork {
        use alloy_hardforks::EthereumHardforks;
        let spec = self.engine.chain().spec();
        if spec.is_osaka_active_at_timestamp(timestamp) {
            Fork::Osaka
        } else if spec.is_prague_active_at_timestamp(timestamp) {
            Fork::Prague
        } else if spec.is_cancun_active_at_timestamp(timestamp) {
            Fork::Cancun
        } else if spec.is_shanghai_active_at_timestamp(timestamp) {
            Fork::Shanghai
        } else {
            Fork::Paris
        }
    }

    fn require_fork(
        &self,
        method: &str,
        timestamp: u64,
        allowed: impl Fn(Fork) -> bool,
    ) -> Result<Fork, EngineRpcError> {
        let fork = self.fork(timestamp);
        if allowed(fork) {
            Ok(fork)
        } else {
            Err(EngineRpcError::UnsupportedFork(format!(
                "{method} does not serve {fork:?} payloads (timestamp {timestamp})"
            )))
        }
    }

    fn count(&self, method: &str, outcome: &str) {
        if let Some(m) = &self.metrics {
            m.engine_calls.with_label_values(&[method, outcome]).inc();
        }
    }

    /// Runs an engine call on the engine's own thread (off the async runtime).
    async fn blocking<T: Send + 'static>(
        &self,
        method: &'static str,
        call: impl FnOnce(&Engine) -> Result<T, EngineRpcError> + Send + 'static,
    ) -> RpcResult<T> {
        let result = self
            .engine
            .run(call)
            .await
            .map_err(EngineRpcError::Engine)
            .and_then(|r| r);
        self.count(method, if result.is_ok() { "ok" } else { "error" });
        result.map_err(Into::into)
    }

    async fn new_payload(
        &self,
        method: &'static str,
        payload: ExecutionPayload,
        sidecar: ExecutionPayloadSidecar,
    ) -> RpcResult<PayloadStatus> {
        let claimed = payload.block_hash();
        let versioned_hashes = sidecar.versioned_hashes().cloned();
        let block: Block<TxEnvelope> = match payload.try_into_block_with_sidecar(&sidecar) {
            Ok(block) => block,
            Err(e) => {
                self.count(method, "invalid");
                return Ok(PayloadStatus::new(
                    PayloadStatusEnum::Invalid {
                        validation_error: e.to_string(),
                    },
                    None,
                ));
            }
        };
        self.blocking(method, move |engine| {
            Ok(engine.new_payload(block, claimed, versioned_hashes.as_deref())?)
        })
        .await
    }

    async fn forkchoice_updated(
        &self,
        method: &'static str,
        state: ForkchoiceState,
        attributes: Option<FastPayloadAttributes>,
        check: impl Fn(&FastPayloadAttributes, Fork) -> Result<(), EngineRpcError>,
    ) -> RpcResult<ForkchoiceUpdated> {
        if let Some(a) = &attributes {
            let fork = self.fork(a.inner.timestamp);
            if let Err(e) = check(a, fork) {
                // Per spec, a bad attributes version still answers for the forkchoice state first;
                // here the state is applied only when the attributes are acceptable.
                self.count(method, "error");
                return Err(e.into());
            }
        }
        self.blocking(method, move |engine| {
            Ok(engine.forkchoice_updated(state, attributes.map(Into::into))?)
        })
        .await
    }

    async fn built(
        &self,
        method: &str,
        id: PayloadId,
        allowed: impl Fn(Fork) -> bool,
    ) -> Result<Arc<BuiltPayload>, EngineRpcError> {
        let payload = self.engine.get_payload(id)?;
        self.require_fork(method, payload.block.header.timestamp, allowed)?;
        Ok(payload)
    }
}

fn block_of(p: &BuiltPayload) -> Block<TxEnvelope> {
    Block {
        header: p.block.header.clone(),
        body: p.block.body.clone(),
    }
}

fn envelope_v3(p: &BuiltPayload) -> Result<ExecutionPayloadEnvelopeV3, EngineRpcError> {
    Ok(ExecutionPayloadEnvelopeV3 {
        execution_payload: ExecutionPayloadV3::from_block_unchecked(p.block.hash, &block_of(p)),
        block_value: p.block_value,
        blobs_bundle: blobs::bundle_v1(&p.sidecars)?,
        should_override_builder: false,
    })
}

#[async_trait]
impl EngineApiServer for EngineRpc {
    async fn new_payload_v1(&self, payload: ExecutionPayloadV1) -> RpcResult<PayloadStatus> {
        self.require_fork("engine_newPayloadV1", payload.timestamp, |f| {
            f == Fork::Paris
        })?;
        self.new_payload(
            "newPayloadV1",
            ExecutionPayload::V1(payload),
            ExecutionPayloadSidecar::none(),
        )
        .await
    }

    async fn new_payload_v2(&self, payload: ExecutionPayloadInputV2) -> RpcResult<PayloadStatus> {
        let fork = self.require_fork(
            "engine_newPayloadV2",
            payload.execution_payload.timestamp,
            |f| f < Fork::Cancun,
        )?;
        if (fork == Fork::Shanghai) != payload.withdrawals.is_some() {
            return Err(EngineRpcError::InvalidParams(format!(
                "withdrawals must be present exactly from Shanghai on (payload is {fork:?})"
            ))
            .into());
        }
        self.new_payload(
            "newPayloadV2",
            payload.into_payload(),
            ExecutionPayloadSidecar::none(),
        )
        .await
    }

    async fn new_payload_v3(
        &self,
        payload: ExecutionPayloadV3,
        versioned_hashes: Vec<B256>,
        parent_beacon_block_root: B256,
    ) -> RpcResult<PayloadStatus> {
        self.require_fork("engine_newPayloadV3", payload.timestamp(), |f| {
            f == Fork::Cancun
        })?;
        let sidecar = ExecutionPayloadSidecar::v3(CancunPayloadFields {
            parent_beacon_block_root,
            versioned_hashes,
        });
        self.new_payload("newPayloadV3", ExecutionPayload::V3(payload), sidecar)
            .await
    }

    async fn new_payload_v4(
        &self,
        payload: ExecutionPayloadV3,
        versioned_hashes: Vec<B256>,
        parent_beacon_block_root: B256,
        execution_requests: Requests,
    ) -> RpcResult<PayloadStatus> {
        self.require_fork("engine_newPayloadV4", payload.timestamp(), |f| {
            f >= Fork::Prague
        })?;
        let sidecar = ExecutionPayloadSidecar::v4(
            CancunPayloadFields {
                parent_beacon_block_root,
                versioned_hashes,
            },
            PraguePayloadFields {
                requests: RequestsOrHash::Requests(execution_requests),
            },
        );
        self.new_payload("newPayloadV4", ExecutionPayload::V3(payload), sidecar)
            .await
    }

    async fn forkchoice_updated_v1(
        &self,
        state: ForkchoiceState,
        attributes: Option<FastPayloadAttributes>,
    ) -> RpcResult<ForkchoiceUpdated> {
        self.forkchoice_updated("forkchoiceUpdatedV1", state, attributes, |a, fork| {
            if fork != Fork::Paris {
                return Err(EngineRpcError::UnsupportedFork(format!(
                    "forkchoiceUpdatedV1 attributes for {fork:?}"
                )));
            }
            if a.inner.withdrawals.is_some() || a.inner.parent_beacon_block_root.is_some() {
                return Err(EngineRpcError::InvalidParams(
                    "PayloadAttributesV1 has no withdrawals or beacon root".into(),
                ));
            }
            Ok(())
        })
        .await
    }

    async fn forkchoice_updated_v2(
        &self,
        state: ForkchoiceState,
        attributes: Option<FastPayloadAttributes>,
    ) -> RpcResult<ForkchoiceUpdated> {
        self.forkchoice_updated("forkchoiceUpdatedV2", state, attributes, |a, fork| {
            if fork >= Fork::Cancun {
                return Err(EngineRpcError::UnsupportedFork(format!(
                    "forkchoiceUpdatedV2 attributes for {fork:?}"
                )));
            }
            if a.inner.parent_beacon_block_root.is_some()
                || (fork == Fork::Shanghai) != a.inner.withdrawals.is_some()
            {
                return Err(EngineRpcError::InvalidParams(
                    "wrong PayloadAttributes version for the fork".into(),
                ));
            }
            Ok(())
        })
        .await
    }

    async fn forkchoice_updated_v3(
        &self,
        state: ForkchoiceState,
        attributes: Option<FastPayloadAttributes>,
    ) -> RpcResult<ForkchoiceUpdated> {
        self.forkchoice_updated("forkchoiceUpdatedV3", state, attributes, |a, fork| {
            if a.inner.parent_beacon_block_root.is_none() || a.inner.withdrawals.is_none() {
                return Err(EngineRpcError::InvalidParams(
                    "PayloadAttributesV3 requires withdrawals and parentBeaconBlockRoot".into(),
                ));
            }
            if fork < Fork::Cancun {
                return Err(EngineRpcError::UnsupportedFork(format!(
                    "forkchoiceUpdatedV3 attributes for {fork:?}"
                )));
            }
            Ok(())
        })
        .await
    }

    async fn get_payload_v1(&self, id: PayloadId) -> RpcResult<ExecutionPayloadV1> {
        let p = self
            .built("engine_getPayloadV1", id, |f| f == Fork::Paris)
            .await?;
        Ok(ExecutionPayloadV1::from_block_unchecked(
            p.block.hash,
            &block_of(&p),
        ))
    }

    async fn get_payload_v2(&self, id: PayloadId) -> RpcResult<ExecutionPayloadEnvelopeV2> {
        let p = self
            .built("engine_getPayloadV2", id, |f| f < Fork::Cancun)
            .await?;
        let block = block_of(&p);
        let execution_payload = if block.body.withdrawals.is_some() {
            ExecutionPayloadFieldV2::V2(ExecutionPayloadV2::from_block_unchecked(
                p.block.hash,
                &block,
            ))
        } else {
            ExecutionPayloadFieldV2::V1(ExecutionPayloadV1::from_block_unchecked(
                p.block.hash,
                &block,
            ))
        };
        Ok(ExecutionPayloadEnvelopeV2 {
            execution_payload,
            block_value: p.block_value,
        })
    }

    async fn get_payload_v3(&self, id: PayloadId) -> RpcResult<ExecutionPayloadEnvelopeV3> {
        let p = self
            .built("engine_getPayloadV3", id, |f| f == Fork::Cancun)
            .await?;
        Ok(envelope_v3(&p)?)
    }

    async fn get_payload_v4(&self, id: PayloadId) -> RpcResult<ExecutionPayloadEnvelopeV4> {
        let p = self
            .built("engine_getPayloadV4", id, |f| f == Fork::Prague)
            .await?;
        Ok(ExecutionPayloadEnvelopeV4 {
            envelope_inner: envelope_v3(&p)?,
            execution_requests: p.requests.clone(),
        })
    }

    async fn get_payload_v5(&self, id: PayloadId) -> RpcResult<ExecutionPayloadEnvelopeV5> {
        let p = self
            .built("engine_getPayloadV5", id, |f| f >= Fork::Osaka)
            .await?;
        Ok(ExecutionPayloadEnvelopeV5 {
            execution_payload: ExecutionPayloadV3::from_block_unchecked(
                p.block.hash,
                &block_of(&p),
            ),
            block_value: p.block_value,
            blobs_bundle: blobs::bundle_v2(&p.sidecars)?,
            should_override_builder: false,
            execution_requests: p.requests.clone(),
        })
    }

    async fn get_payload_bodies_by_hash_v1(
        &self,
        hashes: Vec<B256>,
    ) -> RpcResult<Vec<Option<ExecutionPayloadBodyV1>>> {
        self.blocking("getPayloadBodiesByHashV1", move |engine| {
            Ok(engine.payload_bodies_by_hash(&hashes)?)
        })
        .await
    }

    async fn get_payload_bodies_by_range_v1(
        &self,
        start: U64,
        count: U64,
    ) -> RpcResult<Vec<Option<ExecutionPayloadBodyV1>>> {
        self.blocking("getPayloadBodiesByRangeV1", move |engine| {
            Ok(engine.payload_bodies_by_range(start.to::<u64>(), count.to::<u64>())?)
        })
        .await
    }

    async fn get_blobs_v1(
        &self,
        versioned_hashes: Vec<B256>,
    ) -> RpcResult<Vec<Option<BlobAndProofV1>>> {
        let head = self
            .engine
            .chain()
            .store()
            .head_header()
            .map_err(|e| EngineRpcError::Engine(e.into()))?;
        if self.fork(head.timestamp) >= Fork::Osaka {
            return Err(
                EngineRpcError::UnsupportedFork("engine_getBlobsV1 after Osaka".into()).into(),
            );
        }
        Ok(blobs::blobs_v1(&self.engine, &versioned_hashes)?)
    }

    async fn get_blobs_v2(
        &self,
        versioned_hashes: Vec<B256>,
    ) -> RpcResult<Option<Vec<BlobAndProofV2>>> {
        Ok(blobs::blobs_v2(&self.engine, &versioned_hashes)?)
    }

    async fn get_blobs_v3(
        &self,
        versioned_hashes: Vec<B256>,
    ) -> RpcResult<Vec<Option<BlobAndProofV2>>> {
        Ok(blobs::blobs_v3(&self.engine, &versioned_hashes)?)
    }

    async fn exchange_capabilities(&self, _capabilities: Vec<String>) -> RpcResult<Vec<String>> {
        Ok(CAPABILITIES.iter().map(|s| s.to_string()).collect())
    }

    async fn get_client_version_v1(
        &self,
        _client: ClientVersionV1,
    ) -> RpcResult<Vec<ClientVersionV1>> {
        Ok(vec![ClientVersionV1 {
            code: "FE".into(),
            name: "FastEVM".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            commit: option_env!("FASTEVM_GIT_COMMIT")
                .unwrap_or("00000000")
                .into(),
        }])
    }
}
