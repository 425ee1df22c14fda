//! `fastevm node`: the execution node — RocksDB store, block executor, Engine API on the
//! authenticated port, Prometheus metrics.

use anyhow::Context;
use clap::Args;
use fastevm_engine::Engine;
use fastevm_engine_rpc::{start_auth_server, AuthEth, AuthEthApiServer, EngineRpc, JwtSecret};
use fastevm_executor::{init_genesis, parse_genesis, Blockchain, ChainSpec};
use fastevm_metrics::NodeMetrics;
use fastevm_storage::{ChainStore, MetaKey, StoreOptions};
use std::{net::SocketAddr, path::PathBuf, sync::Arc};

/// Flags of `fastevm node` (named as reth's).
#[derive(Debug, Clone, Args)]
pub struct NodeArgs {
    /// Genesis file (geth format). Required the first time; later it must match the database.
    #[arg(long)]
    pub chain: Option<PathBuf>,
    /// Data directory (database in DATADIR/db).
    #[arg(long, default_value = ".fastevm/node")]
    pub datadir: PathBuf,
    /// Engine API listen address.
    #[arg(long = "authrpc.addr", default_value = "127.0.0.1")]
    pub authrpc_addr: std::net::IpAddr,
    /// Engine API port (0 picks a free port; the bound address is printed).
    #[arg(long = "authrpc.port", default_value_t = 8551)]
    pub authrpc_port: u16,
    /// JWT secret file (hex, 32 bytes); generated there if absent.
    #[arg(long = "authrpc.jwtsecret")]
    pub authrpc_jwtsecret: Option<PathBuf>,
    /// Serve Prometheus metrics on ADDR:PORT.
    #[arg(long)]
    pub metrics: Option<SocketAddr>,
    /// Name of this node in logs (e.g. in a devnet).
    #[arg(long = "node-id")]
    pub node_id: Option<String>,
    /// fsync every block commit (survives power loss; slower).
    #[arg(long = "db.sync")]
    pub db_sync: bool,
}

/// A running execution node.
#[derive(Debug)]
pub struct RunningNode {
    /// The engine.
    pub engine: Arc<Engine>,
    /// Where the Engine API listens.
    pub authrpc: SocketAddr,
    /// The Engine API secret.
    pub jwt_secret: JwtSecret,
    /// Metrics registry.
    pub metrics: NodeMetrics,
    _auth_server: jsonrpsee::server::ServerHandle,
}

/// Opens (initialising if needed) the database and its chain spec.
pub fn open_chain(
    datadir: &std::path::Path,
    chain: Option<&PathBuf>,
    sync: bool,
) -> anyhow::Result<Blockchain> {
    std::fs::create_dir_all(datadir).with_context(|| format!("creating {}", datadir.display()))?;
    let options = StoreOptions {
        sync_writes: sync,
        ..StoreOptions::default()
    };
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

/// Starts the node's services; they run until the returned value is dropped.
pub async fn start_node(args: &NodeArgs) -> anyhow::Result<RunningNode> {
    let chain = open_chain(&args.datadir, args.chain.as_ref(), args.db_sync)?;
    let head = chain.store().head_header()?;
    let metrics = NodeMetrics::new();
    metrics.head_number.set(head.number as i64);
    let engine = Arc::new(Engine::new(chain));
    let secret_path = args
        .authrpc_jwtsecret
        .clone()
        .unwrap_or_else(|| args.datadir.join("jwt.hex"));
    let jwt_secret = JwtSecret::load_or_generate(&secret_path)?;
    let (auth_server, authrpc) = start_auth_server(
        SocketAddr::new(args.authrpc_addr, args.authrpc_port),
        jwt_secret.clone(),
        EngineRpc::new(engine.clone(), Some(metrics.clone())),
        Some(AuthEth::new(engine.clone()).into_rpc().remove_context()),
    )
    .await
    .context("starting the Engine API server")?;
    if let Some(addr) = args.metrics {
        let (bound, _task) = fastevm_metrics::serve(addr, metrics.clone()).await?;
        println!("metrics listening on {bound}");
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
    Ok(())
}

async fn shutdown_signal() {
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
