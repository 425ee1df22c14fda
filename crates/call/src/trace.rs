//! `debug_traceTransaction` / `debug_traceBlockBy*`: a stored block re-executed on its parent's
//! state (pre-block system calls included) with geth's tracers from `revm-inspectors`: the struct
//! logger (default), `callTracer`, `prestateTracer` and `noopTracer`. Transactions before the
//! traced one run without inspection. Nothing is written to the store.

use super::CallError;
use alloy_consensus::{transaction::Recovered, Header, TxEnvelope};
use alloy_eips::eip4895::Withdrawal;
use alloy_evm::{
    block::{BlockExecutionError, BlockExecutor},
    eth::{receipt_builder::AlloyReceiptBuilder, EthBlockExecutor},
    EthEvmFactory, Evm, EvmFactory,
};
use alloy_primitives::{Address, Bytes, B256};
use alloy_rpc_types_trace::geth::{
    GethDebugBuiltInTracerType, GethDebugTracerType, GethDebugTracingOptions, GethTrace, NoopFrame,
};
use fastevm_executor::{block_env, execution_ctx, BodyParts, ChainSpec, StateAtBlock};
use fastevm_storage::ChainStore;
use revm::context::result::{ExecutionResult, ResultAndState};
use revm_inspectors::tracing::{TracingInspector, TracingInspectorConfig};

/// A stored block to re-execute.
#[derive(Debug, Clone, Copy)]
pub struct BlockToTrace<'a> {
    /// Its header.
    pub header: &'a Header,
    /// Its transactions with their senders, in block order.
    pub transactions: &'a [(TxEnvelope, Address)],
    /// Its ommers (pre-merge rewards).
    pub ommers: &'a [Header],
    /// Its withdrawals (from Shanghai).
    pub withdrawals: Option<&'a [Withdrawal]>,
}

/// What a tracer reports, and how it has to be set up.
#[derive(Debug, Clone)]
pub(super) enum Tracer {
    StructLogger,
    Call(alloy_rpc_types_trace::geth::CallConfig),
    PreState(alloy_rpc_types_trace::geth::PreStateConfig),
    Noop,
}

impl Tracer {
    pub(super) fn from_options(options: &GethDebugTracingOptions) -> Result<Self, CallError> {
        let config = &options.tracer_config;
        let unsupported = |name: &str| {
            CallError::InvalidParams(format!("tracer {name} is not supported by FastEVM"))
        };
        Ok(match &options.tracer {
            None => Self::StructLogger,
            Some(GethDebugTracerType::BuiltInTracer(tracer)) => match tracer {
                GethDebugBuiltInTracerType::CallTracer => Self::Call(
                    config
                        .clone()
                        .into_call_config()
                        .map_err(|e| CallError::InvalidParams(e.to_string()))?,
                ),
                GethDebugBuiltInTracerType::PreStateTracer => Self::PreState(
                    config
                        .clone()
                        .into_pre_state_config()
                        .map_err(|e| CallError::InvalidParams(e.to_string()))?,
                ),
                GethDebugBuiltInTracerType::NoopTracer => Self::Noop,
                other => return Err(unsupported(&format!("{other:?}"))),
            },
            Some(GethDebugTracerType::JsTracer(_)) => return Err(unsupported("(JavaScript)")),
        })
    }

    pub(super) fn inspector_config(
        &self,
        options: &GethDebugTracingOptions,
    ) -> TracingInspectorConfig {
        match self {
            Self::StructLogger => TracingInspectorConfig::from_geth_config(&options.config),
            Self::Call(config) => TracingInspectorConfig::from_geth_call_config(config),
            Self::PreState(_) => {
                TracingInspectorConfig::from_geth_prestate_config(&Default::default())
            }
            Self::Noop => TracingInspectorConfig::none(),
        }
    }
}

/// Traces of the block's transactions (only the one at `only`, if given), in block order, each
/// with its hash.
pub fn trace_block(
    store: &ChainStore,
    spec: &ChainSpec,
    block: BlockToTrace<'_>,
    options: &GethDebugTracingOptions,
    only: Option<usize>,
) -> Result<Vec<(B256, GethTrace)>, CallError> {
    let tracer = Tracer::from_options(options)?;
    let inspector_config = tracer.inspector_config(options);
    let header = block.header;
    let parent_state = StateAtBlock::new(store, header.parent_hash)?;
    let mut state = revm::database::State::builder()
        .with_database_ref(&parent_state)
        .with_bundle_update()
        .build();
    let mut evm = EthEvmFactory::default().create_evm_with_inspector(
        &mut state,
        block_env(spec, header),
        TracingInspector::new(inspector_config),
    );
    evm.disable_inspector();
    let body = BodyParts {
        ommers: block.ommers,
        withdrawals: block.withdrawals,
    };
    let ctx = execution_ctx(header, body, block.transactions.len());
    let mut executor = EthBlockExecutor::new(evm, ctx, spec, AlloyReceiptBuilder::default());
    executor
        .apply_pre_execution_changes()
        .map_err(replay_error)?;

    let mut traces = Vec::new();
    for (index, (tx, sender)) in block.transactions.iter().enumerate() {
        let traced = only.is_none_or(|only| only == index);
        if traced {
            let evm = executor.evm_mut();
            *evm.inspector_mut() = TracingInspector::new(inspector_config);
            evm.enable_inspector();
        }
        let output = executor
            .execute_transaction_without_commit(Recovered::new_unchecked(tx, *sender))
            .map_err(replay_error)?;
        if traced {
            let evm = executor.evm_mut();
            evm.disable_inspector();
            let inspector = std::mem::replace(
                evm.inspector_mut(),
                TracingInspector::new(TracingInspectorConfig::none()),
            );
            let trace = frame(&tracer, options, inspector, &output.result, &**evm.db_mut())?;
            traces.push((*tx.tx_hash(), trace));
        }
        executor.commit_transaction(output);
        if only == Some(index) {
            break;
        }
    }
    Ok(traces)
}

/// The trace `tracer` reports for one transaction; `pre_state` is the state before it.
pub(super) fn frame(
    tracer: &Tracer,
    options: &GethDebugTracingOptions,
    inspector: TracingInspector,
    outcome: &ResultAndState,
    pre_state: impl revm::DatabaseRef<Error: std::fmt::Display>,
) -> Result<GethTrace, CallError> {
    let result = &outcome.result;
    let gas_used = result.tx_gas_used();
    let builder = inspector.into_geth_builder();
    Ok(match tracer {
        Tracer::StructLogger => {
            GethTrace::Default(builder.geth_traces(gas_used, return_value(result), options.config))
        }
        Tracer::Call(config) => GethTrace::CallTracer(builder.geth_call_traces(*config, gas_used)),
        Tracer::PreState(config) => GethTrace::PreStateTracer(
            builder
                .geth_prestate_traces(outcome, config, pre_state)
                .map_err(|e| CallError::State(e.to_string()))?,
        ),
        Tracer::Noop => GethTrace::NoopTracer(NoopFrame::default()),
    })
}

/// What the struct logger reports as `returnValue`: the output, also of a revert.
fn return_value(result: &ExecutionResult) -> Bytes {
    match result {
        ExecutionResult::Success { output, .. } => output.data().clone(),
        ExecutionResult::Revert { output, .. } => output.clone(),
        ExecutionResult::Halt { .. } => Bytes::new(),
    }
}

/// A stored block that fails to re-execute means the store and the executor disagree.
fn replay_error(err: BlockExecutionError) -> CallError {
    CallError::State(format!("stored block does not re-execute: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_chain::{word, TestChain, FORWARDER, REVERTER, STORE};
    use alloy_primitives::U256;
    use alloy_rpc_types_trace::geth::{GethDebugTracerConfig, PreStateFrame};

    fn traced(
        chain: &TestChain,
        options: GethDebugTracingOptions,
        only: Option<usize>,
    ) -> Vec<GethTrace> {
        let (hash, header) = chain.blocks.last().unwrap();
        let store = chain.blockchain.store();
        let body = store.body(hash).unwrap().unwrap();
        let senders = store.senders(hash).unwrap().unwrap();
        let transactions: Vec<_> = body.transactions.into_iter().zip(senders).collect();
        let block = BlockToTrace {
            header,
            transactions: &transactions,
            ommers: &[],
            withdrawals: Some(&[]),
        };
        trace_block(store, chain.blockchain.spec(), block, &options, only)
            .unwrap()
            .into_iter()
            .map(|(_, trace)| trace)
            .collect()
    }

    fn with_tracer(
        tracer: GethDebugBuiltInTracerType,
        config: serde_json::Value,
    ) -> GethDebugTracingOptions {
        GethDebugTracingOptions {
            tracer: Some(GethDebugTracerType::BuiltInTracer(tracer)),
            tracer_config: GethDebugTracerConfig(config),
            ..Default::default()
        }
    }

    #[test]
    fn replays_the_stored_block_with_each_tracer() {
        let mut chain = TestChain::new();
        let write = chain.sign(0, FORWARDER, word(9));
        let revert = chain.sign(1, REVERTER, Bytes::new());
        chain.mine(vec![write.clone(), revert]);
        let receipts = chain
            .blockchain
            .store()
            .receipts(&chain.blocks[1].0)
            .unwrap()
            .unwrap();
        let first_gas = receipts[0].cumulative_gas_used();

        // Struct logger: both transactions, opcode by opcode; the revert is marked failed.
        let logs = traced(&chain, GethDebugTracingOptions::default(), None);
        let [GethTrace::Default(first), GethTrace::Default(second)] = &logs[..] else {
            panic!("two struct-logger traces expected: {logs:?}");
        };
        assert!(!first.failed && second.failed);
        assert_eq!(first.gas, first_gas);
        assert!(first.struct_logs.iter().any(|log| log.op == "SSTORE"));
        assert!(
            first.struct_logs.iter().any(|log| log.depth == 2),
            "the forwarded call"
        );

        // callTracer on the first transaction only: the forwarder's call into the store.
        let calls = traced(
            &chain,
            with_tracer(
                GethDebugBuiltInTracerType::CallTracer,
                serde_json::json!({}),
            ),
            Some(0),
        );
        let [GethTrace::CallTracer(frame)] = &calls[..] else {
            panic!("one call frame expected: {calls:?}");
        };
        assert_eq!(frame.to, Some(FORWARDER));
        assert_eq!(frame.gas_used, U256::from(first_gas));
        assert_eq!(frame.calls.len(), 1);
        assert_eq!(frame.calls[0].to, Some(STORE));

        // prestateTracer sees the slot before the write.
        let pre = traced(
            &chain,
            with_tracer(
                GethDebugBuiltInTracerType::PreStateTracer,
                serde_json::json!({}),
            ),
            Some(0),
        );
        let [GethTrace::PreStateTracer(PreStateFrame::Default(accounts))] = &pre[..] else {
            panic!("one prestate frame expected: {pre:?}");
        };
        let store_slots = accounts.0[&STORE].storage.clone();
        assert_eq!(
            store_slots.get(&B256::ZERO),
            Some(&B256::from(U256::from(crate::test_chain::STORE_VALUE)))
        );

        // JavaScript tracers are refused with a clear error.
        let js = GethDebugTracingOptions {
            tracer: Some(GethDebugTracerType::JsTracer("{}".into())),
            ..Default::default()
        };
        let (_, header) = chain.blocks.last().unwrap();
        let block = BlockToTrace {
            header,
            transactions: &[],
            ommers: &[],
            withdrawals: Some(&[]),
        };
        let err = trace_block(
            chain.blockchain.store(),
            chain.blockchain.spec(),
            block,
            &js,
            None,
        )
        .unwrap_err();
        assert!(matches!(err, CallError::InvalidParams(_)), "{err}");
    }
}
