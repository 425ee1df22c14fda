//! `eth_simulateV1` (execution-apis): a sequence of simulated blocks on top of the context's
//! block, each with its own block overrides, state overrides and calls, executed with the block
//! executor (EIP-4788/2935 system calls, receipts, requests) and sealed into real headers with
//! state, transactions and receipts roots.
//!
//! Answers are geth's, case for case (the execution-apis rpc-compat fixtures pass):
//! - Block numbers default to the parent's plus one (skipped numbers are filled with empty
//!   blocks), timestamps to the parent's plus 12 s; fee recipient, gas limit and (before the
//!   merge) difficulty carry over from the previous block.
//! - Without `validation` the nonce and base-fee checks are off and the base fee defaults to 0
//!   (a call from the highest nonce runs and wraps it to 0, as in geth); with it, base fee and
//!   nonces follow the chain's rules and the nonce is checked first.
//! - A call's gas defaults to what its block has left; the calls of all blocks share one budget
//!   of `gas_cap`, which lowers a call's gas when it runs short. EIP-7825's per-transaction cap
//!   does not apply to simulated calls.
//! - Logs and, with `traceTransfers`, ether transfers come from [`SimTracer`]; `maxUsedGas` is
//!   the gas before refunds. Refused calls get the execution-apis codes and geth's messages
//!   (`simulate_error`).
//!
//! Each block's state root is the base root with all simulated changes so far applied (nothing is
//! stored). A full `state` override of an account that has storage needs the base block to be the
//! canonical head (the wipe lists the old slots from the flat tables); elsewhere it is a
//! [`CallError::State`] error.

use super::{
    environment::{apply_state_overrides, move_precompiles, CallDb},
    error::halt_message,
    sim_tracer::SimTracer,
    simulate_error::{check_nonce, rejected_call},
    simulated_block::{sealed_block, SimulatedCall},
    CallContext, CallError, SimulationFailure,
};
use alloy_consensus::{
    constants::EMPTY_WITHDRAWALS, transaction::Recovered, Header, Signed, TxEip1559, TxEip4844,
    TxEip7702, TxEnvelope, EMPTY_OMMER_ROOT_HASH,
};
use alloy_evm::{
    block::BlockExecutor,
    eth::{receipt_builder::AlloyReceiptBuilder, EthBlockExecutionCtx, EthBlockExecutor},
    rpc::TryIntoTxEnv,
    EthEvmFactory, Evm, EvmEnv, EvmFactory,
};
use alloy_hardforks::EthereumHardforks;
use alloy_primitives::{Bytes, Signature, TxKind, B256, U256};
use alloy_rpc_types_eth::{
    simulate::{SimBlock, SimCallResult, SimulateError, SimulatePayload, SimulatedBlock},
    Block, BlockOverrides, TransactionRequest,
};
use fastevm_executor::{
    apply_diff, bundle_to_diff,
    header_validation::{expected_base_fee, expected_excess_blob_gas},
    ResidentTries, StateAtBlock,
};
use revm::{
    context::{result::ExecutionResult, TxEnv},
    context_interface::block::BlobExcessGasAndPrice,
    database::{states::bundle_state::BundleRetention, State},
    Database,
};
use std::borrow::Cow;

/// Most blocks one simulation may produce (skipped numbers included).
pub const MAX_SIMULATED_BLOCKS: u64 = 256;
/// Seconds between simulated blocks without a time override.
const BLOCK_TIME: u64 = 12;

/// Simulates `payload` on the post-state of the context's block and returns the simulated blocks
/// with their call results, full transactions or hashes as `returnFullTransactions` asks.
pub fn simulate_v1(
    ctx: &CallContext<'_>,
    payload: SimulatePayload,
    gas_cap: u64,
) -> Result<Vec<SimulatedBlock<Block>>, CallError> {
    let base = ctx.state()?;
    let mut simulator = Simulator {
        ctx,
        base: &base,
        db: State::builder()
            .with_database_ref(&base)
            .with_bundle_update()
            .build(),
        parent: ctx.header.clone(),
        parent_hash: ctx.block_hash,
        gas_pool: if gas_cap == 0 { u64::MAX } else { gas_cap },
        validation: payload.validation,
        trace_transfers: payload.trace_transfers,
        full_transactions: payload.return_full_transactions,
        blocks: Vec::new(),
    };
    for block in payload.block_state_calls {
        simulator.simulate_block(block)?;
    }
    Ok(simulator.blocks)
}

/// The running simulation: state and chain tip after the blocks simulated so far.
struct Simulator<'c, 'a> {
    ctx: &'c CallContext<'c>,
    base: &'a StateAtBlock<'a>,
    db: CallDb<'a>,
    parent: Header,
    parent_hash: B256,
    /// Gas the remaining calls may still use (`gas_cap` for the whole simulation).
    gas_pool: u64,
    validation: bool,
    trace_transfers: bool,
    full_transactions: bool,
    blocks: Vec<SimulatedBlock<Block>>,
}

impl Simulator<'_, '_> {
    /// Simulates one requested block, after the empty blocks that fill a skipped number range.
    fn simulate_block(&mut self, block: SimBlock) -> Result<(), CallError> {
        let overrides = block.block_overrides.unwrap_or_default();
        let number = match overrides.number {
            Some(number) => u64::try_from(number).map_err(|_| {
                CallError::InvalidParams(format!("block number {number} too large"))
            })?,
            None => self.parent.number + 1,
        };
        if number <= self.parent.number {
            return Err(simulation_error(
                SimulationFailure::BlockNumberNotIncreasing,
                format!(
                    "block numbers must be in order: {number} <= {}",
                    self.parent.number
                ),
            ));
        }
        if number - self.ctx.header.number > MAX_SIMULATED_BLOCKS {
            return Err(simulation_error(
                SimulationFailure::ClientLimitExceeded,
                "too many blocks".into(),
            ));
        }
        while self.parent.number + 1 < number {
            self.execute_block(&BlockOverrides::default(), None, vec![])?;
        }
        self.execute_block(&overrides, block.state_overrides, block.calls)
    }

    /// The header of the next block before execution (roots and gas used are filled after).
    fn next_header(&self, overrides: &BlockOverrides) -> Result<Header, CallError> {
        let spec = self.ctx.spec;
        let parent = &self.parent;
        let timestamp = overrides
            .time
            .unwrap_or_else(|| parent.timestamp.saturating_add(BLOCK_TIME));
        if !spec.timestamp_follows(parent.timestamp, timestamp) {
            return Err(simulation_error(
                SimulationFailure::TimestampNotIncreasing,
                format!(
                    "block timestamps must be in order: {timestamp} <= {}",
                    parent.timestamp
                ),
            ));
        }
        let number = parent.number + 1;
        let base_fee = match overrides.base_fee {
            Some(fee) => Some(
                u64::try_from(fee)
                    .map_err(|_| CallError::InvalidParams(format!("base fee {fee} too large")))?,
            ),
            None if self.validation => expected_base_fee(spec, parent),
            None => spec.is_london_active_at_block(number).then_some(0),
        };
        let cancun = spec.is_cancun_active_at_timestamp(timestamp);
        Ok(Header {
            parent_hash: self.parent_hash,
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            // Fee recipient and difficulty carry over from the previous block (as geth's), the
            // difficulty only before the merge.
            beneficiary: overrides.coinbase.unwrap_or(parent.beneficiary),
            difficulty: overrides.difficulty.unwrap_or(
                if spec.is_post_merge(number) || spec.is_shanghai_active_at_timestamp(timestamp) {
                    U256::ZERO
                } else {
                    parent.difficulty
                },
            ),
            number,
            gas_limit: overrides.gas_limit.unwrap_or(parent.gas_limit),
            timestamp,
            mix_hash: overrides.random.unwrap_or_default(),
            base_fee_per_gas: base_fee,
            withdrawals_root: spec
                .is_shanghai_active_at_timestamp(timestamp)
                .then_some(EMPTY_WITHDRAWALS),
            excess_blob_gas: if cancun {
                expected_excess_blob_gas(spec, parent, timestamp)
            } else {
                None
            },
            parent_beacon_block_root: cancun.then(|| overrides.beacon_root.unwrap_or_default()),
            ..Default::default()
        })
    }

    /// The block environment of `header` for simulated calls.
    fn block_env(&self, header: &Header, overrides: &BlockOverrides) -> EvmEnv {
        let spec = self.ctx.spec;
        let mut env = EvmEnv::for_eth_block(
            header,
            spec,
            spec.chain_id,
            spec.blob_params_at(header.timestamp),
        );
        env.cfg_env.disable_eip3607 = true;
        // Simulated calls skip EIP-7825's per-transaction gas cap, as geth's do (a call's gas
        // defaults to what the block has left).
        env.cfg_env.tx_gas_limit_cap = Some(u64::MAX);
        if !self.validation {
            env.cfg_env.disable_nonce_check = true;
            env.cfg_env.disable_base_fee = true;
        }
        if let Some(fee) = overrides.blob_base_fee {
            let excess_blob_gas = header.excess_blob_gas.unwrap_or_default();
            env.block_env.blob_excess_gas_and_price = Some(BlobExcessGasAndPrice {
                excess_blob_gas,
                blob_gasprice: fee.saturating_to(),
            });
        }
        env
    }

    /// Executes one block with `calls` and appends its result.
    fn execute_block(
        &mut self,
        overrides: &BlockOverrides,
        state_overrides: Option<alloy_rpc_types_eth::state::StateOverride>,
        calls: Vec<TransactionRequest>,
    ) -> Result<(), CallError> {
        let spec = self.ctx.spec;
        let mut header = self.next_header(overrides)?;
        let env = self.block_env(&header, overrides);
        if let Some(hashes) = &overrides.block_hash {
            for (number, hash) in hashes {
                self.db.block_hashes.insert(*number, *hash);
            }
        }
        let moves = apply_state_overrides(&mut self.db, state_overrides)?;
        let shanghai = spec.is_shanghai_active_at_timestamp(header.timestamp);
        let tracer = SimTracer::new(self.trace_transfers);
        let mut evm =
            EthEvmFactory::default().create_evm_with_inspector(&mut self.db, env.clone(), tracer);
        let still_warm = move_precompiles(evm.precompiles_mut(), &moves, env.cfg_env.spec)?;
        evm.inspector_mut().keep_warm(still_warm);
        let exec_ctx = EthBlockExecutionCtx {
            parent_hash: self.parent_hash,
            parent_beacon_block_root: header.parent_beacon_block_root,
            ommers: &[],
            withdrawals: shanghai.then_some(Cow::Borrowed(&[])),
            extra_data: Default::default(),
            tx_count_hint: Some(calls.len()),
            slot_number: None,
        };
        let mut executor =
            EthBlockExecutor::new(evm, exec_ctx, spec, AlloyReceiptBuilder::default());
        executor
            .apply_pre_execution_changes()
            .map_err(|e| CallError::State(e.to_string()))?;

        let mut gas_used = 0u64;
        let mut executed = Vec::with_capacity(calls.len());
        for request in calls {
            let from = request.from.unwrap_or_default();
            let limits = CallLimits {
                block_gas_limit: header.gas_limit,
                block_gas_used: gas_used,
                gas_pool: self.gas_pool,
                chain_id: spec.chain_id,
            };
            let (tx_env, envelope, capped) = prepare_call(&mut executor, &env, limits, request)?;
            if self.validation {
                check_nonce(&tx_env, state_nonce(&mut executor, from)?)?;
            }
            // Without validation geth lets a call from an account at the highest nonce run and
            // wraps the nonce to 0; revm refuses such a transaction, so it runs with nonce 0 (no
            // nonce check is made) and the wrap is applied after it.
            let wraps_nonce = !self.validation && tx_env.nonce == u64::MAX && tx_env.kind.is_call();
            let mut run = tx_env.clone();
            if wraps_nonce {
                run.nonce = 0;
            }
            let effective_gas_price = effective_gas_price(&tx_env, &env);
            let output = executor
                .execute_transaction_without_commit((
                    run,
                    Recovered::new_unchecked(&envelope, from),
                ))
                .map_err(|e| rejected_call(e, &tx_env, env.block_env.basefee))?;
            let result = call_result(&output.result.result, capped);
            let logs = executor.evm_mut().inspector_mut().take_transaction_logs();
            let used = executor.commit_transaction(output).tx_gas_used();
            if wraps_nonce {
                wrap_nonce(executor.evm_mut().db_mut(), from)?;
            }
            gas_used += used;
            self.gas_pool = self.gas_pool.saturating_sub(used);
            executed.push(SimulatedCall {
                transaction: envelope,
                from,
                effective_gas_price,
                result,
                logs,
            });
        }
        let (_, outcome) = executor
            .finish()
            .map_err(|e| CallError::State(e.to_string()))?;

        self.db.merge_transitions(BundleRetention::PlainState);
        let mut diff = bundle_to_diff(&self.db.bundle_state, self.base)?;
        // A simulated block's tries are not kept: they would displace the chain's own.
        let tries = ResidentTries::none();
        header.state_root = apply_diff(
            self.ctx.store,
            &tries,
            self.ctx.header.state_root,
            &mut diff,
        )?
        .state_root;
        header.gas_used = outcome.gas_used;
        if spec.is_cancun_active_at_timestamp(header.timestamp) {
            header.blob_gas_used = Some(outcome.blob_gas_used);
        }
        if spec.is_prague_active_at_timestamp(header.timestamp) {
            header.requests_hash = Some(outcome.requests.requests_hash());
        }
        let block = sealed_block(header, executed, &outcome.receipts, self.full_transactions);
        let sealed = &block.inner.header;
        self.db.block_hashes.insert(sealed.number, sealed.hash);
        self.parent_hash = sealed.hash;
        self.parent = sealed.inner.clone();
        self.blocks.push(block);
        Ok(())
    }
}

/// Sets `account`'s nonce to 0 after a call from the highest nonce (geth's 64-bit wrap).
fn wrap_nonce(db: &mut CallDb<'_>, account: alloy_primitives::Address) -> Result<(), CallError> {
    let state = alloy_rpc_types_eth::state::AccountOverride {
        nonce: Some(0),
        ..Default::default()
    };
    apply_state_overrides(db, Some([(account, state)].into_iter().collect()))?;
    Ok(())
}

/// What bounds a simulated call's gas, and the chain id it defaults to.
#[derive(Debug, Clone, Copy)]
struct CallLimits {
    block_gas_limit: u64,
    block_gas_used: u64,
    gas_pool: u64,
    chain_id: u64,
}

/// `account`'s nonce in the simulation's state so far.
fn state_nonce<E: BlockExecutor>(
    executor: &mut E,
    account: alloy_primitives::Address,
) -> Result<u64, CallError> {
    Ok(executor
        .evm_mut()
        .db_mut()
        .basic(account)
        .map_err(CallError::state)?
        .map(|info| info.nonce)
        .unwrap_or_default())
}

/// Fills a call's defaults (nonce from the state, gas = what the block has left, within the gas
/// pool) and turns it into the executor's input and the transaction it stands for; `true` when
/// the gas pool lowered the call's gas.
fn prepare_call<E: BlockExecutor>(
    executor: &mut E,
    env: &EvmEnv,
    limits: CallLimits,
    mut request: TransactionRequest,
) -> Result<(TxEnv, TxEnvelope, bool), CallError> {
    let from = request.from.unwrap_or_default();
    request.from = Some(from);
    if request.nonce.is_none() {
        request.nonce = Some(state_nonce(executor, from)?);
    }
    let CallLimits {
        block_gas_limit,
        block_gas_used,
        ..
    } = limits;
    let remaining = block_gas_limit.saturating_sub(block_gas_used);
    let gas = request.gas.unwrap_or(remaining);
    if gas > remaining {
        return Err(simulation_error(
            SimulationFailure::BlockGasLimitReached,
            format!("block gas limit reached: remaining: {remaining}, required: {gas}"),
        ));
    }
    let capped = gas > limits.gas_pool;
    request.gas = Some(gas.min(limits.gas_pool));
    request.chain_id.get_or_insert(limits.chain_id);
    // A blob fee cap without blob hashes does not make a blob transaction (geth ignores it).
    if request.blob_versioned_hashes.is_none() {
        request.max_fee_per_blob_gas = None;
        request.sidecar = None;
    }
    let tx_env: TxEnv = request
        .clone()
        .try_into_tx_env(env)
        .map_err(|e| CallError::InvalidParams(e.to_string()))?;
    let envelope = simulated_transaction(request, &tx_env)?;
    Ok((tx_env, envelope, capped))
}

/// The transaction a simulated call stands for: unsigned (zero signature), EIP-1559 unless it
/// carries blobs or an authorization list, as geth builds it.
fn simulated_transaction(request: TransactionRequest, tx: &TxEnv) -> Result<TxEnvelope, CallError> {
    let signature = Signature::new(U256::ZERO, U256::ZERO, false);
    let chain_id = tx.chain_id.unwrap_or_default();
    let max_fee_per_gas = request.max_fee_per_gas.unwrap_or(tx.gas_price);
    let max_priority_fee_per_gas = request.max_priority_fee_per_gas.unwrap_or_default();
    let access_list = request.access_list.unwrap_or_default();
    let input = request.input.into_input().unwrap_or_default();
    let call_target = |what: &str| match tx.kind {
        TxKind::Call(to) => Ok(to),
        TxKind::Create => Err(CallError::InvalidParams(format!(
            "{what} transactions cannot create contracts"
        ))),
    };
    Ok(
        if let Some(authorization_list) = request.authorization_list {
            let tx = TxEip7702 {
                chain_id,
                nonce: tx.nonce,
                gas_limit: tx.gas_limit,
                max_fee_per_gas,
                max_priority_fee_per_gas,
                to: call_target("EIP-7702")?,
                value: tx.value,
                access_list,
                authorization_list,
                input,
            };
            Signed::new_unhashed(tx, signature).into()
        } else if let Some(blob_versioned_hashes) = request.blob_versioned_hashes {
            let tx = TxEip4844 {
                chain_id,
                nonce: tx.nonce,
                gas_limit: tx.gas_limit,
                max_fee_per_gas,
                max_priority_fee_per_gas,
                to: call_target("blob")?,
                value: tx.value,
                access_list,
                blob_versioned_hashes,
                max_fee_per_blob_gas: tx.max_fee_per_blob_gas,
                input,
            };
            TxEnvelope::Eip4844(Signed::new_unhashed(tx.into(), signature))
        } else {
            let tx = TxEip1559 {
                chain_id,
                nonce: tx.nonce,
                gas_limit: tx.gas_limit,
                max_fee_per_gas,
                max_priority_fee_per_gas,
                to: tx.kind,
                value: tx.value,
                access_list,
                input,
            };
            Signed::new_unhashed(tx, signature).into()
        },
    )
}

/// The price per gas a call pays in `env`.
fn effective_gas_price(tx: &TxEnv, env: &EvmEnv) -> u128 {
    let base_fee = u128::from(env.block_env.basefee);
    match tx.gas_priority_fee {
        Some(tip) => tx.gas_price.min(base_fee.saturating_add(tip)),
        None => tx.gas_price,
    }
}

/// A call's status, return data, gas and error as eth_simulateV1 reports them (logs are filled in
/// when the block is sealed); `capped`: the gas pool lowered the call's gas.
fn call_result(result: &ExecutionResult, capped: bool) -> SimCallResult {
    let (return_data, error) = match result {
        ExecutionResult::Success { output, .. } => (output.data().clone(), None),
        ExecutionResult::Revert { output, .. } => {
            let reverted = CallError::reverted(output.clone());
            let error = SimulateError {
                code: SimulateError::EXECUTION_REVERTED_CODE,
                message: reverted.to_string(),
                data: Some(output.clone()),
            };
            // geth reports no return data for a failed call (the revert output is the error's
            // data).
            (Bytes::new(), Some(error))
        }
        ExecutionResult::Halt { reason, .. } => {
            let mut message = halt_message(reason);
            if capped {
                message.push_str(" (gas limit was capped by the RPC server's global gas cap)");
            }
            let error = SimulateError {
                code: SimulateError::VM_EXECUTION_ERROR_CODE,
                message,
                data: None,
            };
            (Default::default(), Some(error))
        }
    };
    SimCallResult {
        return_data,
        logs: vec![],
        gas_used: result.tx_gas_used(),
        // Gas before refunds, raised to the EIP-7623 calldata floor (geth's peak gas).
        max_used_gas: Some(result.gas().total_gas_spent().max(result.gas().floor_gas())),
        status: result.is_success(),
        error,
    }
}

pub(super) fn simulation_error(failure: SimulationFailure, message: String) -> CallError {
    CallError::Simulation { failure, message }
}

#[cfg(test)]
#[path = "simulate_tests.rs"]
mod tests;
