//! `debug_traceTransaction`, `debug_traceBlockByNumber`, `debug_traceBlockByHash`: the stored
//! block re-executed on its parent's state with geth's tracers (struct logger by default,
//! `callTracer`, `prestateTracer`, `noopTracer`), geth's errors for what cannot be traced; and
//! `debug_traceCall`, a call traced as `eth_call` runs it.

use crate::{api::DebugTraceApiServer, block_id::StoredBlock, eth::rpc, EthRpc, RpcError};
use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::{Address, B256};
use alloy_rpc_types_eth::TransactionRequest;
use alloy_rpc_types_trace::geth::{
    GethDebugTracingCallOptions, GethDebugTracingOptions, GethTrace, TraceResult,
};
use fastevm_call::{trace_block, trace_call, BlockToTrace};
use jsonrpsee::core::RpcResult;

impl EthRpc {
    /// Traces of `block`'s transactions (only the one at `only`, if given).
    fn traces_of(
        &self,
        block: &StoredBlock,
        options: &GethDebugTracingOptions,
        only: Option<usize>,
    ) -> Result<Vec<(B256, GethTrace)>, RpcError> {
        if block.header.number == 0 {
            return Err(RpcError::Server("genesis is not traceable".into()));
        }
        let transactions: Vec<(_, Address)> = block
            .body
            .transactions
            .iter()
            .cloned()
            .zip(block.senders.iter().copied())
            .collect();
        let target = BlockToTrace {
            header: &block.header,
            transactions: &transactions,
            ommers: &block.body.ommers,
            withdrawals: block.body.withdrawals.as_deref().map(|w| &w[..]),
        };
        Ok(trace_block(
            &self.ctx.store,
            &self.ctx.spec,
            target,
            options,
            only,
        )?)
    }

    /// `debug_traceBlockBy*`: unknown blocks are an error, as in geth.
    fn trace_block_at(
        &self,
        id: BlockId,
        options: Option<GethDebugTracingOptions>,
    ) -> Result<Vec<TraceResult>, RpcError> {
        let block = self.stored(id)?.ok_or_else(|| {
            RpcError::Server(match id {
                BlockId::Hash(hash) => format!("block {} not found", hash.block_hash),
                BlockId::Number(number) => format!("block #{number} not found"),
            })
        })?;
        let options = options.unwrap_or_default();
        Ok(self
            .traces_of(&block, &options, None)?
            .into_iter()
            .map(|(tx_hash, result)| TraceResult::Success {
                result,
                tx_hash: Some(tx_hash),
            })
            .collect())
    }

    /// `debug_traceTransaction`: canonical transactions only.
    fn trace_transaction_with_hash(
        &self,
        hash: B256,
        options: Option<GethDebugTracingOptions>,
    ) -> Result<GethTrace, RpcError> {
        let (block, index) = self
            .canonical_location(hash)?
            .ok_or_else(|| RpcError::Server("transaction not found".into()))?;
        let options = options.unwrap_or_default();
        self.traces_of(&block, &options, Some(index))?
            .pop()
            .map(|(_, trace)| trace)
            .ok_or_else(|| RpcError::Server("transaction not found".into()))
    }
}

impl DebugTraceApiServer for EthRpc {
    fn trace_transaction(
        &self,
        hash: B256,
        options: Option<GethDebugTracingOptions>,
    ) -> RpcResult<GethTrace> {
        rpc(self.trace_transaction_with_hash(hash, options))
    }

    fn trace_block_by_number(
        &self,
        number: BlockNumberOrTag,
        options: Option<GethDebugTracingOptions>,
    ) -> RpcResult<Vec<TraceResult>> {
        rpc(self.trace_block_at(BlockId::Number(number), options))
    }

    fn trace_call(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        options: Option<GethDebugTracingCallOptions>,
    ) -> RpcResult<GethTrace> {
        let gas_cap = self.limits.gas_cap;
        rpc(self.with_call_context(block, |ctx| {
            Ok(trace_call(
                ctx,
                request,
                options.unwrap_or_default(),
                gas_cap,
            )?)
        }))
    }

    fn trace_block_by_hash(
        &self,
        hash: B256,
        options: Option<GethDebugTracingOptions>,
    ) -> RpcResult<Vec<TraceResult>> {
        rpc(self.trace_block_at(BlockId::hash(hash), options))
    }
}
