//! EVM simulation methods — `eth_call`, `eth_estimateGas`, `eth_createAccessList`,
//! `eth_simulateV1` — over the executor's call primitives, at any retained block, capped at the
//! server's gas cap.

use crate::{block_id::or_latest, EthRpc, RpcError};
use alloy_eips::BlockId;
use alloy_primitives::Bytes;
use alloy_rpc_types_eth::{
    simulate::{SimulatePayload, SimulatedBlock},
    state::StateOverride,
    AccessListResult, Block, BlockOverrides, TransactionRequest,
};
use fastevm_call::{self as call, CallContext};

impl EthRpc {
    /// Runs `f` with the call context of the block `id` names (default `latest`).
    pub(crate) fn with_call_context<T>(
        &self,
        id: Option<BlockId>,
        f: impl FnOnce(&CallContext<'_>) -> Result<T, RpcError>,
    ) -> Result<T, RpcError> {
        let block = self.ctx.resolve(or_latest(id))?;
        let ctx = CallContext {
            store: &self.ctx.store,
            spec: &self.ctx.spec,
            header: &block.header,
            block_hash: block.hash,
        };
        f(&ctx)
    }

    /// `eth_call`.
    pub(crate) fn call_at(
        &self,
        request: TransactionRequest,
        id: Option<BlockId>,
        state_overrides: Option<StateOverride>,
        block_overrides: Option<Box<BlockOverrides>>,
    ) -> Result<Bytes, RpcError> {
        let gas_cap = self.limits.gas_cap;
        self.with_call_context(id, |ctx| {
            let outcome = call::call(
                ctx,
                request,
                state_overrides,
                block_overrides.map(|b| *b),
                gas_cap,
            )?;
            Ok(outcome.output)
        })
    }

    /// `eth_estimateGas`.
    pub(crate) fn estimate_gas_at(
        &self,
        request: TransactionRequest,
        id: Option<BlockId>,
        state_overrides: Option<StateOverride>,
    ) -> Result<u64, RpcError> {
        let gas_cap = self.limits.gas_cap;
        self.with_call_context(id, |ctx| {
            Ok(call::estimate_gas(ctx, request, state_overrides, gas_cap)?)
        })
    }

    /// `eth_createAccessList`.
    pub(crate) fn access_list_at(
        &self,
        request: TransactionRequest,
        id: Option<BlockId>,
    ) -> Result<AccessListResult, RpcError> {
        let gas_cap = self.limits.gas_cap;
        self.with_call_context(id, |ctx| {
            Ok(call::create_access_list(ctx, request, gas_cap)?)
        })
    }

    /// `eth_simulateV1`.
    pub(crate) fn simulate_at(
        &self,
        payload: SimulatePayload,
        id: Option<BlockId>,
    ) -> Result<Vec<SimulatedBlock<Block>>, RpcError> {
        let gas_cap = self.limits.gas_cap;
        self.with_call_context(id, |ctx| Ok(call::simulate_v1(ctx, payload, gas_cap)?))
    }
}
