//! The public JSON-RPC API as jsonrpsee traits (execution-apis `src/eth`, plus geth's `net_*`,
//! `web3_*`, `txpool_*` and `debug_getRaw*`). The server implementation is [`crate::EthRpc`]; the
//! generated `*Client` traits are for tests and tools.
//!
//! Methods that may run long (EVM calls, log queries, proofs, fee history) or wait for the
//! canonical follower (filter polls and installs, `txpool_*`) are `blocking`: jsonrpsee runs them
//! on tokio's blocking pool.

use crate::{
    accounts::{FillTransactionResult, SignTransactionResult},
    bad_blocks::BadBlockInfo,
    capabilities::Capabilities,
    chain_config::EthConfig,
    params::GethParam,
    txpool_types::{TxpoolContent, TxpoolContentFrom, TxpoolInspect, TxpoolStatus},
};
use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::{Address, Bytes, B256, U256, U64};
use alloy_rpc_types_engine::{ExecutionPayloadEnvelopeV4, PayloadAttributes};
use alloy_rpc_types_eth::{
    pubsub::{Params, SubscriptionKind},
    simulate::{SimulatePayload, SimulatedBlock},
    state::StateOverride,
    AccessListResult, Block, BlockOverrides, EIP1186AccountProofResponse, FeeHistory, Filter,
    FilterChanges, Index, Log, SyncStatus, Transaction, TransactionReceipt, TransactionRequest,
};
use alloy_rpc_types_trace::geth::{
    GethDebugTracingCallOptions, GethDebugTracingOptions, GethTrace, TraceResult,
};
use alloy_serde::JsonStorageKey;
use jsonrpsee::{core::RpcResult, proc_macros::rpc};
use std::collections::BTreeMap;

/// `eth_*` request/response methods.
#[rpc(server, client, namespace = "eth")]
pub trait EthApi {
    /// `eth_chainId`.
    #[method(name = "chainId")]
    fn chain_id(&self) -> RpcResult<U64>;
    /// `eth_blockNumber`: the canonical head's number.
    #[method(name = "blockNumber")]
    fn block_number(&self) -> RpcResult<U64>;
    /// `eth_syncing`: always `false` (FastEVM follows its consensus, it never syncs).
    #[method(name = "syncing")]
    fn syncing(&self) -> RpcResult<SyncStatus>;
    /// `eth_gasPrice`: suggested tip plus the head's base fee.
    #[method(name = "gasPrice", blocking)]
    fn gas_price(&self) -> RpcResult<U256>;
    /// `eth_maxPriorityFeePerGas`: suggested tip.
    #[method(name = "maxPriorityFeePerGas", blocking)]
    fn max_priority_fee_per_gas(&self) -> RpcResult<U256>;
    /// `eth_feeHistory` (the block count as a JSON number, decimal or hex string, as geth).
    #[method(name = "feeHistory", blocking)]
    fn fee_history(
        &self,
        block_count: serde_json::Value,
        newest_block: BlockNumberOrTag,
        reward_percentiles: Option<Vec<f64>>,
    ) -> RpcResult<FeeHistory>;
    /// `eth_baseFee`: the base fee of the next block.
    #[method(name = "baseFee")]
    fn base_fee(&self) -> RpcResult<U256>;
    /// `eth_blobBaseFee`: blob base fee of the head.
    #[method(name = "blobBaseFee")]
    fn blob_base_fee(&self) -> RpcResult<U256>;
    /// `eth_getBalance`.
    #[method(name = "getBalance", blocking)]
    fn balance(&self, address: Address, block: Option<BlockId>) -> RpcResult<U256>;
    /// `eth_getCode`.
    #[method(name = "getCode", blocking)]
    fn code(&self, address: Address, block: Option<BlockId>) -> RpcResult<Bytes>;
    /// `eth_getStorageAt` (the slot is decoded by the method, geth's errors).
    #[method(name = "getStorageAt", blocking)]
    fn storage_at(&self, address: Address, slot: String, block: Option<BlockId>)
        -> RpcResult<B256>;
    /// `eth_getStorageValues`: several slots of several accounts at one block.
    #[method(name = "getStorageValues", blocking)]
    fn storage_values(
        &self,
        slots: BTreeMap<Address, Vec<JsonStorageKey>>,
        block: Option<BlockId>,
    ) -> RpcResult<BTreeMap<Address, Vec<B256>>>;
    /// `eth_getTransactionCount` (`pending` counts pooled transactions).
    #[method(name = "getTransactionCount", blocking)]
    fn transaction_count(&self, address: Address, block: Option<BlockId>) -> RpcResult<U256>;
    /// `eth_getProof` (EIP-1186).
    #[method(name = "getProof", blocking)]
    fn proof(
        &self,
        address: Address,
        keys: Vec<JsonStorageKey>,
        block: Option<BlockId>,
    ) -> RpcResult<EIP1186AccountProofResponse>;
    /// `eth_call`.
    #[method(name = "call", blocking)]
    fn call(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<StateOverride>,
        block_overrides: Option<Box<BlockOverrides>>,
    ) -> RpcResult<Bytes>;
    /// `eth_estimateGas` (block overrides, geth 1.15's fourth parameter, are refused).
    #[method(name = "estimateGas", blocking)]
    fn estimate_gas(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<StateOverride>,
        block_overrides: Option<Box<BlockOverrides>>,
    ) -> RpcResult<U64>;
    /// `eth_createAccessList`.
    #[method(name = "createAccessList", blocking)]
    fn create_access_list(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
    ) -> RpcResult<AccessListResult>;
    /// `eth_simulateV1`.
    #[method(name = "simulateV1", blocking)]
    fn simulate_v1(
        &self,
        payload: SimulatePayload,
        block: Option<BlockId>,
    ) -> RpcResult<Vec<SimulatedBlock<Block>>>;
    /// `eth_getBlockAccessList`: EIP-7928 block access lists (Amsterdam), which no FastEVM chain
    /// has activated: always an error saying so.
    #[method(name = "getBlockAccessList")]
    fn block_access_list(&self, block: GethParam<BlockId>) -> RpcResult<serde_json::Value>;
    /// `eth_sendRawTransaction`: validates against the head and adds to the pool.
    #[method(name = "sendRawTransaction", blocking)]
    fn send_raw_transaction(&self, raw: Bytes) -> RpcResult<B256>;
    /// `eth_getBlockByNumber`.
    #[method(name = "getBlockByNumber", blocking)]
    fn block_by_number(&self, number: BlockNumberOrTag, full: bool) -> RpcResult<Option<Block>>;
    /// `eth_getBlockByHash` (any stored block, canonical or not).
    #[method(name = "getBlockByHash", blocking)]
    fn block_by_hash(&self, hash: B256, full: bool) -> RpcResult<Option<Block>>;
    /// `eth_getBlockTransactionCountByHash`.
    #[method(name = "getBlockTransactionCountByHash")]
    fn block_transaction_count_by_hash(&self, hash: B256) -> RpcResult<Option<U64>>;
    /// `eth_getBlockTransactionCountByNumber`.
    #[method(name = "getBlockTransactionCountByNumber")]
    fn block_transaction_count_by_number(&self, number: BlockNumberOrTag)
        -> RpcResult<Option<U64>>;
    /// `eth_getUncleCountByBlockHash`.
    #[method(name = "getUncleCountByBlockHash", blocking)]
    fn uncle_count_by_hash(&self, hash: B256) -> RpcResult<Option<U64>>;
    /// `eth_getUncleCountByBlockNumber`.
    #[method(name = "getUncleCountByBlockNumber", blocking)]
    fn uncle_count_by_number(&self, number: BlockNumberOrTag) -> RpcResult<Option<U64>>;
    /// `eth_getUncleByBlockHashAndIndex`: the ommer header as a block without transactions.
    #[method(name = "getUncleByBlockHashAndIndex", blocking)]
    fn uncle_by_hash_and_index(&self, hash: B256, index: Index) -> RpcResult<Option<Block>>;
    /// `eth_getUncleByBlockNumberAndIndex`.
    #[method(name = "getUncleByBlockNumberAndIndex", blocking)]
    fn uncle_by_number_and_index(
        &self,
        number: BlockNumberOrTag,
        index: Index,
    ) -> RpcResult<Option<Block>>;
    /// `eth_getBlockReceipts`.
    #[method(name = "getBlockReceipts", blocking)]
    fn block_receipts(&self, block: BlockId) -> RpcResult<Option<Vec<TransactionReceipt>>>;
    /// `eth_getTransactionByHash` (pool transactions too, with null block fields).
    #[method(name = "getTransactionByHash", blocking)]
    fn transaction_by_hash(&self, hash: B256) -> RpcResult<Option<Transaction>>;
    /// `eth_getTransactionByBlockHashAndIndex`.
    #[method(name = "getTransactionByBlockHashAndIndex", blocking)]
    fn transaction_by_block_hash_and_index(
        &self,
        hash: B256,
        index: Index,
    ) -> RpcResult<Option<Transaction>>;
    /// `eth_getTransactionByBlockNumberAndIndex`.
    #[method(name = "getTransactionByBlockNumberAndIndex", blocking)]
    fn transaction_by_block_number_and_index(
        &self,
        number: BlockNumberOrTag,
        index: Index,
    ) -> RpcResult<Option<Transaction>>;
    /// `eth_getTransactionReceipt`.
    #[method(name = "getTransactionReceipt", blocking)]
    fn transaction_receipt(&self, hash: B256) -> RpcResult<Option<TransactionReceipt>>;
    /// `eth_getLogs` (block range or block hash; range and result count are limited).
    #[method(name = "getLogs", blocking)]
    fn logs(&self, filter: GethParam<Filter>) -> RpcResult<Vec<Log>>;
    /// `eth_newFilter`.
    #[method(name = "newFilter", blocking)]
    fn new_filter(&self, filter: GethParam<Filter>) -> RpcResult<U64>;
    /// `eth_newBlockFilter`.
    #[method(name = "newBlockFilter", blocking)]
    fn new_block_filter(&self) -> RpcResult<U64>;
    /// `eth_newPendingTransactionFilter`.
    #[method(name = "newPendingTransactionFilter")]
    fn new_pending_transaction_filter(&self) -> RpcResult<U64>;
    /// `eth_getFilterChanges`.
    #[method(name = "getFilterChanges", blocking)]
    fn filter_changes(&self, id: U64) -> RpcResult<FilterChanges>;
    /// `eth_getFilterLogs`.
    #[method(name = "getFilterLogs", blocking)]
    fn filter_logs(&self, id: U64) -> RpcResult<Vec<Log>>;
    /// `eth_uninstallFilter`.
    #[method(name = "uninstallFilter")]
    fn uninstall_filter(&self, id: U64) -> RpcResult<bool>;
    /// `eth_config` (EIP-7910): the current, next and last fork's configuration.
    #[method(name = "config")]
    fn config(&self) -> RpcResult<EthConfig>;
    /// `eth_capabilities`: which history the node serves (all of it).
    #[method(name = "capabilities")]
    fn capabilities(&self) -> RpcResult<Capabilities>;
}

/// `eth_subscribe` / `eth_unsubscribe` (WebSocket only).
#[rpc(server, client, namespace = "eth")]
pub trait EthPubSubApi {
    /// `newHeads`, `logs` (with an optional filter) and `newPendingTransactions`.
    #[subscription(
        name = "subscribe" => "subscription",
        unsubscribe = "unsubscribe",
        item = serde_json::Value
    )]
    async fn subscribe_to(
        &self,
        kind: SubscriptionKind,
        params: Option<Params>,
    ) -> jsonrpsee::core::SubscriptionResult;
}

/// `net_*`.
#[rpc(server, client, namespace = "net")]
pub trait NetApi {
    /// `net_version`: the chain id in decimal.
    #[method(name = "version")]
    fn version(&self) -> RpcResult<String>;
    /// `net_listening`.
    #[method(name = "listening")]
    fn listening(&self) -> RpcResult<bool>;
    /// `net_peerCount`: FastEVM's execution layer has no devp2p peers.
    #[method(name = "peerCount")]
    fn peer_count(&self) -> RpcResult<U64>;
}

/// `web3_*`.
#[rpc(server, client, namespace = "web3")]
pub trait Web3Api {
    /// `web3_clientVersion`.
    #[method(name = "clientVersion")]
    fn client_version(&self) -> RpcResult<String>;
    /// `web3_sha3`: keccak-256 of the input.
    #[method(name = "sha3")]
    fn sha3(&self, input: Bytes) -> RpcResult<B256>;
}

/// `txpool_*` (geth's pool inspection namespace).
#[rpc(server, client, namespace = "txpool")]
pub trait TxpoolApi {
    /// `txpool_status`.
    #[method(name = "status", blocking)]
    fn status(&self) -> RpcResult<TxpoolStatus>;
    /// `txpool_content`.
    #[method(name = "content", blocking)]
    fn content(&self) -> RpcResult<TxpoolContent>;
    /// `txpool_contentFrom`.
    #[method(name = "contentFrom", blocking)]
    fn content_from(&self, address: Address) -> RpcResult<TxpoolContentFrom>;
    /// `txpool_inspect`.
    #[method(name = "inspect", blocking)]
    fn inspect(&self) -> RpcResult<TxpoolInspect>;
}

/// The methods of accounts the node signs for (see [`crate::UnlockedAccounts`]).
#[rpc(server, client, namespace = "eth")]
pub trait EthAccountsApi {
    /// `eth_accounts`: the unlocked accounts (none on a production node).
    #[method(name = "accounts")]
    fn accounts(&self) -> RpcResult<Vec<Address>>;
    /// `eth_coinbase`: the first unlocked account.
    #[method(name = "coinbase")]
    fn coinbase(&self) -> RpcResult<Address>;
    /// `eth_sign`: EIP-191 signature of a message by an unlocked account.
    #[method(name = "sign")]
    fn sign(&self, address: GethParam<Address>, message: GethParam<Bytes>) -> RpcResult<Bytes>;
    /// `eth_signTransaction`: signs a complete transaction with an unlocked account.
    #[method(name = "signTransaction", blocking)]
    fn sign_transaction(
        &self,
        request: GethParam<TransactionRequest>,
    ) -> RpcResult<SignTransactionResult>;
    /// `eth_fillTransaction`: fills in nonce, gas, fees and chain id, unsigned.
    #[method(name = "fillTransaction", blocking)]
    fn fill_transaction(
        &self,
        request: GethParam<TransactionRequest>,
    ) -> RpcResult<FillTransactionResult>;
    /// `eth_sendTransaction`: fills in, signs with the unlocked `from` and submits.
    #[method(name = "sendTransaction", blocking)]
    fn send_transaction(&self, request: GethParam<TransactionRequest>) -> RpcResult<B256>;
}

/// The raw-data `debug_*` methods.
#[rpc(server, client, namespace = "debug")]
pub trait DebugRawApi {
    /// `debug_getRawBlock`: the block's RLP.
    #[method(name = "getRawBlock", blocking)]
    fn raw_block(&self, block: GethParam<BlockId>) -> RpcResult<Bytes>;
    /// `debug_getRawHeader`: the header's RLP.
    #[method(name = "getRawHeader", blocking)]
    fn raw_header(&self, block: GethParam<BlockId>) -> RpcResult<Bytes>;
    /// `debug_getRawReceipts`: EIP-2718 encoded receipts.
    #[method(name = "getRawReceipts", blocking)]
    fn raw_receipts(&self, block: GethParam<BlockId>) -> RpcResult<Vec<Bytes>>;
    /// `debug_getRawTransaction`: EIP-2718 encoded transaction.
    #[method(name = "getRawTransaction", blocking)]
    fn raw_transaction(&self, hash: B256) -> RpcResult<Bytes>;
    /// `debug_getRawBlockAccessList`: always an error (no chain has EIP-7928 active).
    #[method(name = "getRawBlockAccessList")]
    fn raw_block_access_list(&self, block: GethParam<BlockId>) -> RpcResult<Bytes>;
    /// `debug_getBadBlocks`: the latest blocks the engine refused as invalid, newest first.
    #[method(name = "getBadBlocks", blocking)]
    fn bad_blocks(&self) -> RpcResult<Vec<BadBlockInfo>>;
}

/// geth's `debug_trace*` (re-execution of stored blocks with a tracer).
#[rpc(server, client, namespace = "debug")]
pub trait DebugTraceApi {
    /// `debug_traceTransaction`: the trace of a canonical transaction.
    #[method(name = "traceTransaction", blocking)]
    fn trace_transaction(
        &self,
        hash: B256,
        options: Option<GethDebugTracingOptions>,
    ) -> RpcResult<GethTrace>;
    /// `debug_traceBlockByNumber`: the traces of a block's transactions, in order.
    #[method(name = "traceBlockByNumber", blocking)]
    fn trace_block_by_number(
        &self,
        number: BlockNumberOrTag,
        options: Option<GethDebugTracingOptions>,
    ) -> RpcResult<Vec<TraceResult>>;
    /// `debug_traceCall`: a call traced on a block's post-state, with `eth_call`'s defaults and
    /// overrides.
    #[method(name = "traceCall", blocking)]
    fn trace_call(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        options: Option<GethDebugTracingCallOptions>,
    ) -> RpcResult<GethTrace>;
    /// `debug_traceBlockByHash`.
    #[method(name = "traceBlockByHash", blocking)]
    fn trace_block_by_hash(
        &self,
        hash: B256,
        options: Option<GethDebugTracingOptions>,
    ) -> RpcResult<Vec<TraceResult>>;
}

/// hive's `testing_*` namespace: served only when [`crate::RpcServerConfig::testing_api`] is set.
#[rpc(server, client, namespace = "testing")]
pub trait TestingApi {
    /// `testing_buildBlockV1`: builds (and does not import) a block on `parent` with the given
    /// transactions (`null`: the pool's best), returned as `engine_getPayloadV4` would.
    #[method(name = "buildBlockV1", blocking)]
    fn build_block_v1(
        &self,
        parent: B256,
        attributes: PayloadAttributes,
        transactions: Option<Vec<Bytes>>,
        extra_data: Option<Bytes>,
    ) -> RpcResult<ExecutionPayloadEnvelopeV4>;
}
