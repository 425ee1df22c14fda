//! The execution side of a node, shared by `fastevm node` and `fastevm dev`: the engine over
//! the chain, the transaction pool wired to canonical-chain changes, and the public JSON-RPC
//! server.

use anyhow::Context;
use fastevm_engine::Engine;
use fastevm_executor::Blockchain;
use fastevm_rpc::{start_rpc_server, RpcContext, RpcServerConfig, RpcServerHandle};
use fastevm_txpool::{PoolConfig, TxPool};
use std::sync::Arc;

/// A running execution stack.
#[derive(Debug)]
pub struct ExecutionStack {
    /// Engine API semantics over the chain.
    pub engine: Arc<Engine>,
    /// The transaction pool.
    pub pool: Arc<TxPool>,
    /// What the RPC methods read.
    pub rpc_context: RpcContext,
    /// The public JSON-RPC server, when one was asked for.
    pub rpc: Option<RpcServerHandle>,
}

/// Starts the engine and pool over `chain`, and the public JSON-RPC server when `rpc` is given.
pub async fn start_execution(
    chain: Blockchain,
    rpc: Option<RpcServerConfig>,
) -> anyhow::Result<ExecutionStack> {
    let store = chain.store().clone();
    let spec = chain.spec().clone();
    let head = store.head_header()?;
    let pool = Arc::new(TxPool::new(
        PoolConfig {
            block_gas_limit: head.gas_limit,
            // Sub-second blocks drain the pool fast; let one sender queue a burst (load tools,
            // deployment scripts) and the pool hold several blocks' worth.
            max_account_slots: 1024,
            max_pending: 20_000,
            max_queued: 5_000,
            ..PoolConfig::default()
        },
        spec.chain_id,
    ));
    let engine = Arc::new(Engine::new(chain));
    let rpc_context = RpcContext::new(store, spec, pool.clone());
    engine.set_transaction_source(Arc::new(rpc_context.notifier()));
    let rpc = match rpc {
        Some(config) => Some(
            start_rpc_server(config, rpc_context.clone())
                .await
                .context("starting the JSON-RPC server")?,
        ),
        None => None,
    };
    Ok(ExecutionStack {
        engine,
        pool,
        rpc_context,
        rpc,
    })
}
