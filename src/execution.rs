//! The execution side of a node, shared by `fastevm node` and `fastevm dev`: the engine over
//! the chain, the transaction pool wired to canonical-chain changes, and the public JSON-RPC
//! server.

use anyhow::Context;
use fastevm_engine::Engine;
use fastevm_executor::{header_validation::expected_base_fee, Blockchain};
use fastevm_metrics::NodeMetrics;
use fastevm_rpc::{
    start_rpc_server, HeadState, RpcContext, RpcServerConfig, RpcServerHandle, UnlockedAccounts,
};
use fastevm_txpool::{PoolConfig, TxPool};
use std::{path::Path, sync::Arc};

/// File name of the transaction pool journal in a node's data directory (geth keeps
/// `transactions.rlp`; the format is the same).
pub const TXPOOL_JOURNAL_FILE: &str = "txpool.rlp";

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

/// What [`start_execution`] starts besides the engine and the pool.
#[derive(Debug, Default)]
pub struct ExecutionOptions<'a> {
    /// The public JSON-RPC server's settings (`None`: no server).
    pub rpc: Option<RpcServerConfig>,
    /// Where the pool is restored from (pending transactions that were not mined before a
    /// crash or restart) and records its admissions.
    pub txpool_journal: Option<&'a Path>,
    /// Where the engine reports block timings, gas and the head, and the server counts and
    /// times calls.
    pub metrics: Option<&'a NodeMetrics>,
    /// The accounts `eth_sendTransaction`, `eth_sign` and friends sign for (dev chains).
    pub accounts: UnlockedAccounts,
}

/// Starts the engine and pool over `chain`, and what `options` ask for.
pub async fn start_execution(
    chain: Blockchain,
    options: ExecutionOptions<'_>,
) -> anyhow::Result<ExecutionStack> {
    let ExecutionOptions {
        rpc,
        txpool_journal,
        metrics,
        accounts,
    } = options;
    let store = chain.store().clone();
    let spec = chain.spec().clone();
    let head = store.head_header()?;
    let config = PoolConfig {
        block_gas_limit: head.gas_limit,
        // Sub-second blocks drain the pool fast; let one sender queue a burst (load tools,
        // deployment scripts) and the pool hold several blocks' worth.
        max_account_slots: 1024,
        max_pending: 20_000,
        max_queued: 5_000,
        ..PoolConfig::default()
    };
    let pool = match txpool_journal {
        Some(path) => {
            // Transactions are judged as `eth_sendRawTransaction` would judge them now.
            let base_fee = expected_base_fee(&spec, &head).unwrap_or_default();
            let (pool, report) = TxPool::with_journal(
                config,
                spec.chain_id,
                path,
                &HeadState::new(&store, &spec),
                base_fee,
            )
            .with_context(|| format!("restoring the transaction pool from {}", path.display()))?;
            if report.discarded_bytes > 0 {
                tracing::warn!(
                    path = %path.display(),
                    bytes = report.discarded_bytes,
                    "txpool journal ended in a torn entry; cut it off"
                );
            }
            tracing::info!(
                path = %path.display(),
                loaded = report.loaded,
                restored = report.readmitted,
                dropped = report.loaded - report.readmitted,
                "transaction pool journal"
            );
            pool
        }
        None => TxPool::new(config, spec.chain_id),
    };
    let pool = Arc::new(pool);
    let engine = Arc::new(Engine::new(chain));
    let mut rpc_context = RpcContext::new(store, spec, pool.clone())
        .with_sender_cache(engine.chain().sender_cache().clone())
        .with_bad_blocks(engine.bad_blocks())
        .with_accounts(accounts);
    if let Some(metrics) = metrics {
        rpc_context = rpc_context.with_metrics(metrics.clone());
        engine.set_metrics(metrics.clone());
    }
    rpc_context
        .attach_to(&engine)
        .context("starting the canonical-chain follower thread")?;
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
