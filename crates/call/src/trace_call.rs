//! `debug_traceCall`: a call traced like `eth_call` runs it (same defaults, overrides and gas
//! cap), on the post-state of the context's block, with geth's tracers. Nothing is committed.

use super::{
    environment::CallSetup,
    error::evm_error,
    trace::{frame, Tracer},
    CallContext, CallError,
};
use alloy_evm::Evm;
use alloy_rpc_types_eth::TransactionRequest;
use alloy_rpc_types_trace::geth::{GethDebugTracingCallOptions, GethTrace};
use revm_inspectors::tracing::{TracingInspector, TracingInspectorConfig};

/// The trace of `request` run on the post-state of the context's block.
pub fn trace_call(
    ctx: &CallContext<'_>,
    request: TransactionRequest,
    options: GethDebugTracingCallOptions,
    gas_cap: u64,
) -> Result<GethTrace, CallError> {
    if options.tx_index.is_some() {
        return Err(CallError::InvalidParams(
            "txIndex is not supported: calls are traced on the block's post-state".into(),
        ));
    }
    let tracing = options.tracing_options;
    let tracer = Tracer::from_options(&tracing)?;
    let base = ctx.state()?;
    let mut setup = CallSetup::new(
        ctx.spec,
        ctx.header,
        &base,
        options.state_overrides,
        options.block_overrides,
        gas_cap,
    )?;
    let tx = setup.tx_env(request)?;
    let inspector = TracingInspector::new(tracer.inspector_config(&tracing));
    let mut evm = setup.evm_with_inspector(inspector)?;
    let outcome = evm.transact(tx).map_err(evm_error)?;
    let inspector = std::mem::replace(
        evm.inspector_mut(),
        TracingInspector::new(TracingInspectorConfig::none()),
    );
    frame(&tracer, &tracing, inspector, &outcome, &**evm.db_mut())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_chain::{word, TestChain, FORWARDER, REVERTER, STORE};
    use alloy_rpc_types_trace::geth::{
        GethDebugBuiltInTracerType, GethDebugTracerConfig, GethDebugTracerType,
        GethDebugTracingOptions,
    };

    fn options(tracer: Option<GethDebugBuiltInTracerType>) -> GethDebugTracingCallOptions {
        GethDebugTracingCallOptions::new(GethDebugTracingOptions {
            tracer: tracer.map(GethDebugTracerType::BuiltInTracer),
            tracer_config: GethDebugTracerConfig(serde_json::json!({})),
            ..Default::default()
        })
    }

    #[test]
    fn calls_are_traced_without_changing_state() {
        let chain = TestChain::new();
        let write = TestChain::to(FORWARDER).input(word(5).into());
        let GethTrace::CallTracer(frame) = trace_call(
            &chain.head(),
            write.clone(),
            options(Some(GethDebugBuiltInTracerType::CallTracer)),
            0,
        )
        .unwrap() else {
            panic!("a call frame expected");
        };
        assert_eq!(frame.to, Some(FORWARDER));
        assert_eq!(frame.calls[0].to, Some(STORE));

        let GethTrace::Default(logs) = trace_call(&chain.head(), write, options(None), 0).unwrap()
        else {
            panic!("struct logs expected");
        };
        assert!(!logs.failed && logs.struct_logs.iter().any(|l| l.op == "SSTORE"));

        let GethTrace::Default(reverted) =
            trace_call(&chain.head(), TestChain::to(REVERTER), options(None), 0).unwrap()
        else {
            panic!("struct logs expected");
        };
        assert!(reverted.failed);

        // Nothing was committed: the store still holds its genesis value.
        let read = crate::call(&chain.head(), TestChain::to(STORE), None, None, 0).unwrap();
        assert_eq!(read.output, word(crate::test_chain::STORE_VALUE));

        let mut at_index = options(None);
        at_index.tx_index = Some(0);
        let err = trace_call(&chain.head(), TestChain::to(STORE), at_index, 0).unwrap_err();
        assert!(matches!(err, CallError::InvalidParams(_)), "{err}");
    }
}
