//! `fastevm node`: the execution node — RocksDB store, block executor, Engine API on the
//! authenticated port, Prometheus metrics.

use crate::execution::{start_execution, ExecutionOptions, ExecutionStack, TXPOOL_JOURNAL_FILE};
use anyhow::Context;
use clap::Args;
use fastevm_dev_chain::dev_signers;
use fastevm_engine::Engine;
use fastevm_engine_api::{AuthEthApiServer, JwtSecret, PoolFeedApiServer};
use fastevm_engine_rpc::{start_auth_server, AuthEth, EngineRpc, PoolFeedServer};
use fastevm_executor::{init_genesis, parse_genesis, Blockchain, ChainSpec};
use fastevm_metrics::NodeMetrics;
use fastevm_rpc::{RpcServerConfig, UnlockedAccounts};
use fastevm_storage::{ChainStore, MetaKey, Persistence, StoreOptions};
use std::{net::SocketAddr, path::PathBuf, sync::Arc};

/// Flags of `fastevm node` (named as reth's).
#[derive(Debug, Clone, Args)]
pub struct NodeArgs {
    /// Genesis file (geth format), used the first time; later it must match the database.
    /// Without it on a new data directory the node starts the built-in dev genesis (chain id
    /// 1337, `fastevm genesis dev`), written to DATADIR/genesis.json.
    #[arg(long)]
    pub chain: Option<PathBuf>,
    /// Data directory (database in DATADIR/db).
    #[arg(long, default_value = ".fastevm/node")]
    pub datadir: PathBuf,
    /// Engine API listen address.
    #[arg(long = "authrpc.addr", default_value = "127.0.0.1")]
    pub authrpc_addr: std::net::IpAddr,
    /// Engine API port (0 picks a free port; the bound address is printed).
    #[arg(long = "authrpc.port", visible_alias = "port", default_value_t = 8551)]
    pub authrpc_port: u16,
    /// JWT secret file (hex, 32 bytes); generated there if absent.
    #[arg(long = "authrpc.jwtsecret")]
    pub authrpc_jwtsecret: Option<PathBuf>,
    /// Serve Prometheus metrics on ADDR:PORT.
    #[arg(long)]
    pub metrics: Option<SocketAddr>,
    /// Public JSON-RPC listen address.
    #[arg(long = "http.addr", default_value = "127.0.0.1")]
    pub http_addr: std::net::IpAddr,
    /// Public JSON-RPC port (HTTP, and WebSocket too unless --ws.port is given; 0 picks a free
    /// port).
    #[arg(long = "http.port", default_value_t = 8545)]
    pub http_port: u16,
    /// Serve WebSocket on its own port (same address as HTTP).
    #[arg(long = "ws.port")]
    pub ws_port: Option<u16>,
    /// Most simultaneous WebSocket connections plus HTTP requests in flight on the public
    /// JSON-RPC; further connections are refused (HTTP: 429).
    #[arg(long = "http.max-connections", default_value_t = fastevm_rpc::DEFAULT_MAX_CONNECTIONS)]
    pub http_max_connections: u32,
    /// Most simultaneous WebSocket connections plus HTTP requests in flight on the Engine API;
    /// further connections are refused (HTTP: 429).
    #[arg(long = "authrpc.max-connections", default_value_t = fastevm_engine_rpc::DEFAULT_AUTH_MAX_CONNECTIONS)]
    pub authrpc_max_connections: u32,
    /// Largest JSON-RPC request body (bytes).
    #[arg(long = "rpc.max-request-size", default_value_t = 15 * 1024 * 1024)]
    pub rpc_max_request_size: u32,
    /// Most calls in one JSON-RPC batch.
    #[arg(long = "rpc.max-batch", default_value_t = 1000)]
    pub rpc_max_batch: u32,
    /// Also serve the `testing_*` namespace (`testing_buildBlockV1`: builds a block without
    /// importing it, for test harnesses such as hive), like geth's `--http.api testing`.
    #[arg(long = "rpc.testing")]
    pub rpc_testing: bool,
    /// Unlock the ten dev accounts of the standard test mnemonic ("test test ... junk", as anvil
    /// and Hardhat): `eth_accounts` lists them and `eth_sendTransaction`, `eth_sign`,
    /// `eth_signTransaction` sign with them. Anyone who can reach the RPC port spends their
    /// funds: never on a chain with real value. `fastevm dev` always does this.
    #[arg(long = "dev.accounts")]
    pub dev_accounts: bool,
    /// Name of this node in logs (e.g. in a devnet).
    #[arg(long = "node-id")]
    pub node_id: Option<String>,
    /// fsync every block commit (survives power loss; slower). Implies --db.persist-every-block.
    #[arg(long = "db.sync")]
    pub db_sync: bool,
    /// Write every block to disk before answering newPayload/forkchoiceUpdated. By default
    /// blocks are served from memory at once and written by a background thread: a crash then
    /// loses the newest few blocks (never part of one), which the consensus client sends again.
    #[arg(long = "db.persist-every-block")]
    pub db_persist_every_block: bool,
    /// Transaction pool journal: pooled transactions are kept there and restored at start
    /// (default DATADIR/txpool.rlp).
    #[arg(long = "txpool.journal", conflicts_with = "txpool_nojournal")]
    pub txpool_journal: Option<PathBuf>,
    /// Do not journal the transaction pool (pooled transactions are lost at a restart).
    #[arg(long = "txpool.nojournal")]
    pub txpool_nojournal: bool,
}

impl NodeArgs {
    /// Where the transaction pool journal lives, unless journaling is off.
    pub fn txpool_journal_path(&self) -> Option<PathBuf> {
        if self.txpool_nojournal {
            return None;
        }
        Some(
            self.txpool_journal
                .clone()
                .unwrap_or_else(|| self.datadir.join(TXPOOL_JOURNAL_FILE)),
        )
    }
}

/// A running execution node.
#[derive(Debug)]
pub struct RunningNode {
    /// The engine.
    pub engine: Arc<Engine>,
    /// Pool and public RPC.
    pub execution: ExecutionStack,
    /// Where the Engine API listens.
    pub authrpc: SocketAddr,
    /// The Engine API secret.
    pub jwt_secret: JwtSecret,
    /// Metrics registry.
    pub metrics: NodeMetrics,
    _auth_server: jsonrpsee::server::ServerHandle,
}

/// How blocks reach the disk (`--db.sync`, `--db.persist-every-block`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Durability {
    /// fsync every write.
    pub sync: bool,
    /// Write every block before answering (no background persistence).
    pub persist_every_block: bool,
}

impl Durability {
    fn store_options(self) -> StoreOptions {
        StoreOptions {
            sync_writes: self.sync,
            persistence: if self.sync || self.persist_every_block {
                Persistence::WriteThrough
            } else {
                Persistence::DEFAULT_BACKGROUND
            },
            ..StoreOptions::default()
        }
    }
}

/// Opens (initialising if needed) the database and its chain spec.
pub fn open_chain(
    datadir: &std::path::Path,
    chain: Option<&PathBuf>,
    durability: Durability,
) -> anyhow::Result<Blockchain> {
    std::fs::create_dir_all(datadir).with_context(|| format!("creating {}", datadir.display()))?;
    let options = durability.store_options();
    let db = datadir.join("db");
    let store = ChainStore::open(&db, options)
        .with_context(|| format!("opening database {}", db.display()))?;
    let spec = match chain {
        Some(path) => {
            let json = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let genesis = parse_genesis(&json)?;
            let block = init_genesis(&store, &genesis)?;
            tracing::info!(genesis = %block.hash, "genesis");
            ChainSpec::from_genesis(&genesis)?
        }
        None => {
            let config = store
                .meta(MetaKey::ChainConfig)?
                .context("the database is empty: pass --chain genesis.json the first time")?;
            let config = serde_json::from_slice(&config).context("stored chain config")?;
            ChainSpec::from_config(&config)?
        }
    };
    Ok(Blockchain::new(Arc::new(store), Arc::new(spec)))
}

/// Writes the built-in dev genesis to DATADIR/genesis.json for a node started without `--chain`
/// on a new data directory, saying so.
fn write_dev_genesis(datadir: &std::path::Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(datadir).with_context(|| format!("creating {}", datadir.display()))?;
    let path = datadir.join("genesis.json");
    std::fs::write(&path, fastevm_dev_chain::dev_genesis_json())
        .with_context(|| format!("writing {}", path.display()))?;
    tracing::warn!(
        genesis = %path.display(),
        "no --chain and a new data directory: starting the built-in dev genesis (chain id 1337)"
    );
    Ok(path)
}

/// Starts the node's services; they run until the returned value is dropped.
pub async fn start_node(args: &NodeArgs) -> anyhow::Result<RunningNode> {
    let durability = Durability {
        sync: args.db_sync,
        persist_every_block: args.db_persist_every_block,
    };
    let genesis = match &args.chain {
        Some(path) => Some(path.clone()),
        None if !args.datadir.join("db").exists() => Some(write_dev_genesis(&args.datadir)?),
        None => None,
    };
    let chain = open_chain(&args.datadir, genesis.as_ref(), durability)?;
    let head = chain.store().head_header()?;
    let metrics = NodeMetrics::new();
    metrics.head_number.set(head.number as i64);
    let rpc = RpcServerConfig {
        http_addr: SocketAddr::new(args.http_addr, args.http_port),
        ws_addr: args
            .ws_port
            .map(|port| SocketAddr::new(args.http_addr, port)),
        max_request_body_bytes: args.rpc_max_request_size,
        max_batch_len: args.rpc_max_batch,
        testing_api: args.rpc_testing,
        max_connections: args.http_max_connections,
        ..RpcServerConfig::default()
    };
    let journal = args.txpool_journal_path();
    let accounts = if args.dev_accounts {
        UnlockedAccounts::new(dev_signers())
    } else {
        UnlockedAccounts::default()
    };
    let execution = start_execution(
        chain,
        ExecutionOptions {
            rpc: Some(rpc),
            txpool_journal: journal.as_deref(),
            metrics: Some(&metrics),
            accounts,
        },
    )
    .await?;
    let engine = execution.engine.clone();
    let mut auth_methods = AuthEth::new(engine.clone()).into_rpc().remove_context();
    auth_methods
        .merge(
            PoolFeedServer::new(execution.pool.clone())
                .with_metrics(metrics.clone())
                .with_changes(execution.rpc_context.events.pool_changes())
                .with_prefetcher(engine.chain().sender_cache().spawn_prefetcher())
                .into_rpc()
                .remove_context(),
        )
        .context("merging auth-port methods")?;
    let secret_path = args
        .authrpc_jwtsecret
        .clone()
        .unwrap_or_else(|| args.datadir.join("jwt.hex"));
    let jwt_secret = JwtSecret::load_or_generate(&secret_path)?;
    let (auth_server, authrpc) = start_auth_server(
        SocketAddr::new(args.authrpc_addr, args.authrpc_port),
        jwt_secret.clone(),
        EngineRpc::new(engine.clone(), Some(metrics.clone())),
        Some(auth_methods),
        args.authrpc_max_connections,
    )
    .await
    .context("starting the Engine API server")?;
    if let Some(addr) = args.metrics {
        let (bound, _task) = fastevm_metrics::serve(addr, metrics.clone()).await?;
        println!("metrics listening on {bound}");
        let (pool, gauges) = (execution.pool.clone(), metrics.clone());
        let store = engine.chain().store().clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(std::time::Duration::from_secs(1));
            loop {
                ticker.tick().await;
                if let Ok(head) = store.head_header() {
                    gauges.head_number.set(head.number as i64);
                }
                let status = pool.status();
                gauges.txpool_pending.set(status.pending as i64);
                gauges.txpool_queued.set(status.queued as i64);
            }
        });
    }
    if let Some(rpc) = &execution.rpc {
        println!("JSON-RPC listening on {}", rpc.http_addr);
        if rpc.ws_addr != rpc.http_addr {
            println!("WebSocket listening on {}", rpc.ws_addr);
        }
    }
    println!(
        "Engine API listening on {authrpc} (JWT secret {})",
        secret_path.display()
    );
    println!(
        "head: #{} {}",
        head.number,
        engine.chain().store().head_hash()?
    );
    Ok(RunningNode {
        engine,
        execution,
        authrpc,
        jwt_secret,
        metrics,
        _auth_server: auth_server,
    })
}

/// `fastevm node`: runs until interrupted.
pub async fn run_node(args: NodeArgs) -> anyhow::Result<()> {
    let node = start_node(&args).await?;
    tracing::info!(node = args.node_id.as_deref().unwrap_or("node"), authrpc = %node.authrpc, "execution node running");
    shutdown_signal().await;
    tracing::info!("shutting down");
    // Leave a compact journal behind (a crash leaves a longer one, which is fine too).
    if let Err(e) = node.execution.pool.rotate_journal() {
        tracing::warn!(error = %e, "could not rewrite the txpool journal");
    }
    node.engine.chain().store().flush()?;
    Ok(())
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
