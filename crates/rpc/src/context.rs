//! What every RPC method reads: the chain store, the chain spec, the transaction pool and the
//! event hub, plus the server's query limits.

use crate::{CanonicalFollower, ChainEvents, PoolSource, UnlockedAccounts};
use fastevm_engine::{BadBlocks, Engine};
use fastevm_executor::{ChainSpec, SenderCache};
use fastevm_metrics::NodeMetrics;
use fastevm_storage::ChainStore;
use fastevm_txpool::TxPool;
use std::sync::Arc;

/// Shared state of the RPC server. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RpcContext {
    /// The chain database.
    pub store: Arc<ChainStore>,
    /// The chain's rules.
    pub spec: Arc<ChainSpec>,
    /// The transaction pool.
    pub pool: Arc<TxPool>,
    /// Canonical-chain events (subscriptions and filters).
    pub events: Arc<ChainEvents>,
    /// Senders this node already recovered: the pool's admissions go in, so building and
    /// importing a block with these transactions does not recover them again.
    pub senders: SenderCache,
    /// Where the public server counts and times calls (`None`: not counted).
    pub metrics: Option<NodeMetrics>,
    /// The accounts this node signs for (none unless started with dev accounts).
    pub accounts: Arc<UnlockedAccounts>,
    /// The latest blocks the engine refused (`debug_getBadBlocks`).
    pub bad_blocks: Arc<BadBlocks>,
}

impl RpcContext {
    /// A context over `store`, `spec` and `pool` with a fresh event hub.
    pub fn new(store: Arc<ChainStore>, spec: Arc<ChainSpec>, pool: Arc<TxPool>) -> Self {
        Self {
            store,
            spec,
            pool,
            events: Arc::new(ChainEvents::new()),
            senders: SenderCache::default(),
            metrics: None,
            accounts: Arc::default(),
            bad_blocks: Arc::default(),
        }
    }

    /// Signs with `accounts` (`eth_accounts`, `eth_sendTransaction`, `eth_sign`, ...).
    pub fn with_accounts(mut self, accounts: UnlockedAccounts) -> Self {
        self.accounts = Arc::new(accounts);
        self
    }

    /// Reports the bad blocks `engine` records (`engine.bad_blocks()`).
    pub fn with_bad_blocks(mut self, bad_blocks: Arc<BadBlocks>) -> Self {
        self.bad_blocks = bad_blocks;
        self
    }

    /// Counts and times every public JSON-RPC call in `metrics`.
    pub fn with_metrics(mut self, metrics: NodeMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Shares `senders` (the chain's, see `Blockchain::sender_cache`) with the pool's admissions.
    pub fn with_sender_cache(mut self, senders: SenderCache) -> Self {
        self.senders = senders;
        self
    }

    /// Connects this context to `engine`: its pool becomes the engine's transaction source,
    /// and a [`CanonicalFollower`] thread keeps the pool, filters and subscriptions in step
    /// with every head move the engine publishes (until the engine is dropped).
    pub fn attach_to(&self, engine: &Engine) -> std::io::Result<()> {
        engine.set_transaction_source(Arc::new(PoolSource::new(self.clone())));
        CanonicalFollower::new(self.clone()).spawn(engine.subscribe_canonical_changes())?;
        Ok(())
    }
}

/// Limits the query methods enforce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// Gas limit of `eth_call`, `eth_estimateGas`, `eth_createAccessList` and `eth_simulateV1`.
    pub gas_cap: u64,
    /// Most blocks one `eth_getLogs` / `eth_getFilterLogs` query may span.
    pub max_logs_range: u64,
    /// Most logs one query may return.
    pub max_log_results: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            gas_cap: 50_000_000,
            max_logs_range: 10_000,
            max_log_results: 20_000,
        }
    }
}
