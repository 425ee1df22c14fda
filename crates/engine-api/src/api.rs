//! The `engine_*` JSON-RPC methods (execution-apis `src/engine`) and the `eth_*` methods served
//! beside them on the authenticated port, as jsonrpsee traits: `fastevm-engine-rpc` implements
//! the server halves; the generated `EngineApiClient` and `AuthEthApiClient` are used by the
//! consensus bridge, tests and tools.

use crate::attributes::FastPayloadAttributes;
use alloy_eips::{eip7685::Requests, BlockNumberOrTag};
use alloy_primitives::{B256, U64};
use alloy_rpc_types_engine::{
    BlobAndProofV1, BlobAndProofV2, ExecutionPayloadBodyV1, ExecutionPayloadEnvelopeV2,
    ExecutionPayloadEnvelopeV3, ExecutionPayloadEnvelopeV4, ExecutionPayloadEnvelopeV5,
    ExecutionPayloadInputV2, ExecutionPayloadV1, ExecutionPayloadV3, ForkchoiceState,
    ForkchoiceUpdated, PayloadId, PayloadStatus,
};
use alloy_rpc_types_eth::Block;
use jsonrpsee::{core::RpcResult, proc_macros::rpc};
use serde::{Deserialize, Serialize};

/// `ClientVersionV1` (identification.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientVersionV1 {
    /// Two-letter client code.
    pub code: String,
    /// Client name.
    pub name: String,
    /// Client version.
    pub version: String,
    /// First 4 bytes of the commit, hex.
    pub commit: String,
}

/// The Engine API.
#[rpc(server, client, namespace = "engine")]
pub trait EngineApi {
    /// <https://github.com/ethereum/execution-apis/blob/main/src/engine/paris.md#engine_newpayloadv1>
    #[method(name = "newPayloadV1")]
    async fn new_payload_v1(&self, payload: ExecutionPayloadV1) -> RpcResult<PayloadStatus>;
    /// <https://github.com/ethereum/execution-apis/blob/main/src/engine/shanghai.md#engine_newpayloadv2>
    #[method(name = "newPayloadV2")]
    async fn new_payload_v2(&self, payload: ExecutionPayloadInputV2) -> RpcResult<PayloadStatus>;
    /// <https://github.com/ethereum/execution-apis/blob/main/src/engine/cancun.md#engine_newpayloadv3>
    #[method(name = "newPayloadV3")]
    async fn new_payload_v3(
        &self,
        payload: ExecutionPayloadV3,
        versioned_hashes: Vec<B256>,
        parent_beacon_block_root: B256,
    ) -> RpcResult<PayloadStatus>;
    /// <https://github.com/ethereum/execution-apis/blob/main/src/engine/prague.md#engine_newpayloadv4>
    #[method(name = "newPayloadV4")]
    async fn new_payload_v4(
        &self,
        payload: ExecutionPayloadV3,
        versioned_hashes: Vec<B256>,
        parent_beacon_block_root: B256,
        execution_requests: Requests,
    ) -> RpcResult<PayloadStatus>;
    /// <https://github.com/ethereum/execution-apis/blob/main/src/engine/paris.md#engine_forkchoiceupdatedv1>
    #[method(name = "forkchoiceUpdatedV1")]
    async fn forkchoice_updated_v1(
        &self,
        state: ForkchoiceState,
        attributes: Option<FastPayloadAttributes>,
    ) -> RpcResult<ForkchoiceUpdated>;
    /// <https://github.com/ethereum/execution-apis/blob/main/src/engine/shanghai.md#engine_forkchoiceupdatedv2>
    #[method(name = "forkchoiceUpdatedV2")]
    async fn forkchoice_updated_v2(
        &self,
        state: ForkchoiceState,
        attributes: Option<FastPayloadAttributes>,
    ) -> RpcResult<ForkchoiceUpdated>;
    /// <https://github.com/ethereum/execution-apis/blob/main/src/engine/cancun.md#engine_forkchoiceupdatedv3>
    #[method(name = "forkchoiceUpdatedV3")]
    async fn forkchoice_updated_v3(
        &self,
        state: ForkchoiceState,
        attributes: Option<FastPayloadAttributes>,
    ) -> RpcResult<ForkchoiceUpdated>;
    /// <https://github.com/ethereum/execution-apis/blob/main/src/engine/paris.md#engine_getpayloadv1>
    #[method(name = "getPayloadV1")]
    async fn get_payload_v1(&self, id: PayloadId) -> RpcResult<ExecutionPayloadV1>;
    /// <https://github.com/ethereum/execution-apis/blob/main/src/engine/shanghai.md#engine_getpayloadv2>
    #[method(name = "getPayloadV2")]
    async fn get_payload_v2(&self, id: PayloadId) -> RpcResult<ExecutionPayloadEnvelopeV2>;
    /// <https://github.com/ethereum/execution-apis/blob/main/src/engine/cancun.md#engine_getpayloadv3>
    #[method(name = "getPayloadV3")]
    async fn get_payload_v3(&self, id: PayloadId) -> RpcResult<ExecutionPayloadEnvelopeV3>;
    /// <https://github.com/ethereum/execution-apis/blob/main/src/engine/prague.md#engine_getpayloadv4>
    #[method(name = "getPayloadV4")]
    async fn get_payload_v4(&self, id: PayloadId) -> RpcResult<ExecutionPayloadEnvelopeV4>;
    /// <https://github.com/ethereum/execution-apis/blob/main/src/engine/osaka.md#engine_getpayloadv5>
    #[method(name = "getPayloadV5")]
    async fn get_payload_v5(&self, id: PayloadId) -> RpcResult<ExecutionPayloadEnvelopeV5>;
    /// <https://github.com/ethereum/execution-apis/blob/main/src/engine/shanghai.md#engine_getpayloadbodiesbyhashv1>
    #[method(name = "getPayloadBodiesByHashV1")]
    async fn get_payload_bodies_by_hash_v1(
        &self,
        hashes: Vec<B256>,
    ) -> RpcResult<Vec<Option<ExecutionPayloadBodyV1>>>;
    /// <https://github.com/ethereum/execution-apis/blob/main/src/engine/shanghai.md#engine_getpayloadbodiesbyrangev1>
    #[method(name = "getPayloadBodiesByRangeV1")]
    async fn get_payload_bodies_by_range_v1(
        &self,
        start: U64,
        count: U64,
    ) -> RpcResult<Vec<Option<ExecutionPayloadBodyV1>>>;
    /// <https://github.com/ethereum/execution-apis/blob/main/src/engine/cancun.md#engine_getblobsv1>
    #[method(name = "getBlobsV1")]
    async fn get_blobs_v1(
        &self,
        versioned_hashes: Vec<B256>,
    ) -> RpcResult<Vec<Option<BlobAndProofV1>>>;
    /// <https://github.com/ethereum/execution-apis/blob/main/src/engine/osaka.md#engine_getblobsv2>
    #[method(name = "getBlobsV2")]
    async fn get_blobs_v2(
        &self,
        versioned_hashes: Vec<B256>,
    ) -> RpcResult<Option<Vec<BlobAndProofV2>>>;
    /// <https://github.com/ethereum/execution-apis/blob/main/src/engine/osaka.md#engine_getblobsv3>
    #[method(name = "getBlobsV3")]
    async fn get_blobs_v3(
        &self,
        versioned_hashes: Vec<B256>,
    ) -> RpcResult<Vec<Option<BlobAndProofV2>>>;
    /// <https://github.com/ethereum/execution-apis/blob/main/src/engine/common.md#engine_exchangecapabilities>
    #[method(name = "exchangeCapabilities")]
    async fn exchange_capabilities(&self, capabilities: Vec<String>) -> RpcResult<Vec<String>>;
    /// <https://github.com/ethereum/execution-apis/blob/main/src/engine/identification.md#engine_getclientversionv1>
    #[method(name = "getClientVersionV1")]
    async fn get_client_version_v1(
        &self,
        client: ClientVersionV1,
    ) -> RpcResult<Vec<ClientVersionV1>>;
}

/// The methods this server supports (answer of `engine_exchangeCapabilities`).
pub const CAPABILITIES: &[&str] = &[
    "engine_newPayloadV1",
    "engine_newPayloadV2",
    "engine_newPayloadV3",
    "engine_newPayloadV4",
    "engine_forkchoiceUpdatedV1",
    "engine_forkchoiceUpdatedV2",
    "engine_forkchoiceUpdatedV3",
    "engine_getPayloadV1",
    "engine_getPayloadV2",
    "engine_getPayloadV3",
    "engine_getPayloadV4",
    "engine_getPayloadV5",
    "engine_getPayloadBodiesByHashV1",
    "engine_getPayloadBodiesByRangeV1",
    "engine_getBlobsV1",
    "engine_getBlobsV2",
    "engine_getBlobsV3",
    "engine_getClientVersionV1",
];

/// `eth_*` on the Engine API port.
#[rpc(server, client, namespace = "eth")]
pub trait AuthEthApi {
    /// `eth_chainId`.
    #[method(name = "chainId")]
    fn chain_id(&self) -> RpcResult<U64>;
    /// `eth_blockNumber`.
    #[method(name = "blockNumber")]
    fn block_number(&self) -> RpcResult<U64>;
    /// `eth_getBlockByNumber` (transaction hashes only).
    #[method(name = "getBlockByNumber")]
    fn block_by_number(
        &self,
        number: BlockNumberOrTag,
        full: bool,
    ) -> RpcResult<Option<Block<B256>>>;
}
