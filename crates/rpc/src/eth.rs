//! [`EthRpc`], the server object behind every namespace, and its thin `eth_*` trait impl that
//! delegates to the per-topic modules (state, blocks, calls, fees, logs, pool).

use crate::{
    api::EthApiServer, capabilities::Capabilities, chain_config::EthConfig, params::GethParam,
    QueryLimits, RpcContext, RpcError,
};
use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::{Address, Bytes, B256, U256, U64};
use alloy_rpc_types_eth::{
    simulate::{SimulatePayload, SimulatedBlock},
    state::StateOverride,
    AccessListResult, Block, BlockOverrides, EIP1186AccountProofResponse, FeeHistory, Filter,
    FilterChanges, Index, Log, SyncStatus, Transaction, TransactionReceipt, TransactionRequest,
};
use alloy_serde::JsonStorageKey;
use jsonrpsee::core::RpcResult;
use parking_lot::Mutex;
use std::{collections::BTreeMap, sync::Arc};

/// The RPC server object: every namespace's methods over one [`RpcContext`].
#[derive(Debug, Clone)]
pub struct EthRpc {
    pub(crate) ctx: RpcContext,
    pub(crate) limits: QueryLimits,
    /// The tip oracle's answer for a head hash.
    pub(crate) tip_cache: Arc<Mutex<Option<(B256, u128)>>>,
}

impl EthRpc {
    /// Methods over `ctx` with `limits`.
    pub fn new(ctx: RpcContext, limits: QueryLimits) -> Self {
        Self {
            ctx,
            limits,
            tip_cache: Arc::default(),
        }
    }

    /// The context.
    pub fn context(&self) -> &RpcContext {
        &self.ctx
    }
}

/// Converts a method's result into jsonrpsee's.
pub(crate) fn rpc<T>(result: Result<T, RpcError>) -> RpcResult<T> {
    result.map_err(Into::into)
}

impl EthApiServer for EthRpc {
    fn chain_id(&self) -> RpcResult<U64> {
        Ok(U64::from(self.ctx.spec.chain_id))
    }

    fn block_number(&self) -> RpcResult<U64> {
        rpc(self.ctx.head_number().map(U64::from))
    }

    fn syncing(&self) -> RpcResult<SyncStatus> {
        Ok(SyncStatus::None)
    }

    fn gas_price(&self) -> RpcResult<U256> {
        rpc(self.suggested_gas_price())
    }

    fn max_priority_fee_per_gas(&self) -> RpcResult<U256> {
        rpc(self.suggested_tip().map(U256::from))
    }

    fn fee_history(
        &self,
        block_count: serde_json::Value,
        newest_block: BlockNumberOrTag,
        reward_percentiles: Option<Vec<f64>>,
    ) -> RpcResult<FeeHistory> {
        let block_count = crate::param_check::hex_or_decimal_u64(&block_count).ok_or_else(|| {
            crate::params::invalid_argument(
                0,
                format!("invalid hex or decimal integer {block_count}"),
            )
        });
        rpc(block_count
            .and_then(|count| self.fee_history_of(count, newest_block, reward_percentiles)))
    }

    fn base_fee(&self) -> RpcResult<U256> {
        rpc(self.ctx.next_base_fee().and_then(|fee| {
            fee.map(U256::from)
                .ok_or_else(|| RpcError::Server("base fee is not available before London".into()))
        }))
    }

    fn block_access_list(&self, block: GethParam<BlockId>) -> RpcResult<serde_json::Value> {
        rpc(block
            .decode(0)
            .and_then(|_| Err(RpcError::block_access_lists_inactive())))
    }

    fn blob_base_fee(&self) -> RpcResult<U256> {
        rpc(self.head_blob_base_fee())
    }

    fn balance(&self, address: Address, block: Option<BlockId>) -> RpcResult<U256> {
        rpc(self.balance_at(address, block))
    }

    fn code(&self, address: Address, block: Option<BlockId>) -> RpcResult<Bytes> {
        rpc(self.code_at(address, block))
    }

    fn storage_at(
        &self,
        address: Address,
        slot: String,
        block: Option<BlockId>,
    ) -> RpcResult<B256> {
        rpc(self.storage_slot_at(address, &slot, block))
    }

    fn storage_values(
        &self,
        slots: BTreeMap<Address, Vec<JsonStorageKey>>,
        block: Option<BlockId>,
    ) -> RpcResult<BTreeMap<Address, Vec<B256>>> {
        rpc(self.storage_values_at(slots, block))
    }

    fn transaction_count(&self, address: Address, block: Option<BlockId>) -> RpcResult<U256> {
        rpc(self.nonce_at(address, block).map(U256::from))
    }

    fn proof(
        &self,
        address: Address,
        keys: Vec<JsonStorageKey>,
        block: Option<BlockId>,
    ) -> RpcResult<EIP1186AccountProofResponse> {
        rpc(self.proof_at(address, keys, block))
    }

    fn call(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<StateOverride>,
        block_overrides: Option<Box<BlockOverrides>>,
    ) -> RpcResult<Bytes> {
        rpc(self.call_at(request, block, state_overrides, block_overrides))
    }

    fn estimate_gas(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<StateOverride>,
        block_overrides: Option<Box<BlockOverrides>>,
    ) -> RpcResult<U64> {
        if block_overrides.is_some() {
            return rpc(Err(RpcError::invalid_params(
                "block overrides are not supported by eth_estimateGas on this node",
            )));
        }
        rpc(self
            .estimate_gas_at(request, block, state_overrides)
            .map(U64::from))
    }

    fn create_access_list(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
    ) -> RpcResult<AccessListResult> {
        rpc(self.access_list_at(request, block))
    }

    fn simulate_v1(
        &self,
        payload: SimulatePayload,
        block: Option<BlockId>,
    ) -> RpcResult<Vec<SimulatedBlock<Block>>> {
        rpc(self.simulate_at(payload, block))
    }

    fn send_raw_transaction(&self, raw: Bytes) -> RpcResult<B256> {
        rpc(self.submit_raw_transaction(&raw))
    }

    fn block_by_number(&self, number: BlockNumberOrTag, full: bool) -> RpcResult<Option<Block>> {
        rpc(self.block_by_id(BlockId::Number(number), full))
    }

    fn block_by_hash(&self, hash: B256, full: bool) -> RpcResult<Option<Block>> {
        rpc(self.block_by_id(BlockId::hash(hash), full))
    }

    fn block_transaction_count_by_hash(&self, hash: B256) -> RpcResult<Option<U64>> {
        rpc(self.transaction_count_in(BlockId::hash(hash)))
    }

    fn block_transaction_count_by_number(
        &self,
        number: BlockNumberOrTag,
    ) -> RpcResult<Option<U64>> {
        rpc(self.transaction_count_in(BlockId::Number(number)))
    }

    fn uncle_count_by_hash(&self, hash: B256) -> RpcResult<Option<U64>> {
        rpc(self.uncle_count_in(BlockId::hash(hash)))
    }

    fn uncle_count_by_number(&self, number: BlockNumberOrTag) -> RpcResult<Option<U64>> {
        rpc(self.uncle_count_in(BlockId::Number(number)))
    }

    fn uncle_by_hash_and_index(&self, hash: B256, index: Index) -> RpcResult<Option<Block>> {
        rpc(self.uncle_at(BlockId::hash(hash), index.into()))
    }

    fn uncle_by_number_and_index(
        &self,
        number: BlockNumberOrTag,
        index: Index,
    ) -> RpcResult<Option<Block>> {
        rpc(self.uncle_at(BlockId::Number(number), index.into()))
    }

    fn block_receipts(&self, block: BlockId) -> RpcResult<Option<Vec<TransactionReceipt>>> {
        rpc(self.receipts_of(block))
    }

    fn transaction_by_hash(&self, hash: B256) -> RpcResult<Option<Transaction>> {
        rpc(self.transaction_with_hash(hash))
    }

    fn transaction_by_block_hash_and_index(
        &self,
        hash: B256,
        index: Index,
    ) -> RpcResult<Option<Transaction>> {
        rpc(self.transaction_at(BlockId::hash(hash), index.0))
    }

    fn transaction_by_block_number_and_index(
        &self,
        number: BlockNumberOrTag,
        index: Index,
    ) -> RpcResult<Option<Transaction>> {
        rpc(self.transaction_at(BlockId::Number(number), index.0))
    }

    fn transaction_receipt(&self, hash: B256) -> RpcResult<Option<TransactionReceipt>> {
        rpc(self.receipt_with_hash(hash))
    }

    fn logs(&self, filter: GethParam<Filter>) -> RpcResult<Vec<Log>> {
        rpc(crate::logs::decode_filter(&filter).and_then(|f| self.query_logs(&f)))
    }

    fn new_filter(&self, filter: GethParam<Filter>) -> RpcResult<U64> {
        // A new filter starts after the blocks the client may have seen already.
        self.ctx.events.wait_for_follower();
        rpc(crate::logs::decode_filter(&filter).map(|f| self.install_log_filter(f)))
    }

    fn new_block_filter(&self) -> RpcResult<U64> {
        self.ctx.events.wait_for_follower();
        Ok(U64::from(self.ctx.events.filters().install_block_filter()))
    }

    fn new_pending_transaction_filter(&self) -> RpcResult<U64> {
        let cursor = self.ctx.pool.pending_sequence();
        Ok(U64::from(
            self.ctx.events.filters().install_pending_filter(cursor),
        ))
    }

    fn filter_changes(&self, id: U64) -> RpcResult<FilterChanges> {
        rpc(self.poll_filter(id.to()))
    }

    fn filter_logs(&self, id: U64) -> RpcResult<Vec<Log>> {
        rpc(self.filter_logs_of(id.to()))
    }

    fn uninstall_filter(&self, id: U64) -> RpcResult<bool> {
        Ok(self.ctx.events.filters().uninstall(id.to()))
    }

    fn config(&self) -> RpcResult<EthConfig> {
        rpc(self.chain_config())
    }

    fn capabilities(&self) -> RpcResult<Capabilities> {
        rpc(self.capability_report())
    }
}
