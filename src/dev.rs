//! `fastevm dev`: a whole chain in one process — for each validator an execution stack (RocksDB,
//! revm, pool, JSON-RPC) and a Mysticeti validator on loopback, joined by the consensus bridge
//! in process. One validator by default, `--nodes 4` for a local committee.

use crate::{
    commit_observer::CommitObserver,
    execution::{start_execution, ExecutionOptions, ExecutionStack, TXPOOL_JOURNAL_FILE},
    node::{open_chain, Durability},
    tx_feed::PoolFeed,
    validator_metrics::spawn_status_metrics,
};
use anyhow::{bail, Context};
use clap::Args;
use fastevm_consensus::{CoreParams, Round};
use fastevm_consensus_bridge::{ConsensusBridge, PayloadRules, RetryPolicy};
use fastevm_consensus_node::{
    generate_local_committee, AcceptedTransactionsHook, CommitteeFile, NodeConfigFile, NodeHandle,
    ValidatorNode,
};
use fastevm_dev_chain::{dev_genesis_json, dev_signers, DEV_BALANCE_WEI};
use fastevm_engine_rpc::InProcessClient;
use fastevm_executor::SenderCache;
use fastevm_metrics::NodeMetrics;
use fastevm_rpc::{RpcServerConfig, UnlockedAccounts};
use std::{
    net::{IpAddr, SocketAddr},
    path::{Path, PathBuf},
    sync::Arc,
};
use tokio::{net::TcpListener, sync::mpsc, task::JoinHandle};

/// Flags of `fastevm dev`.
#[derive(Debug, Clone, Args)]
pub struct DevArgs {
    /// Validators in the local committee (each with its own execution node and RPC port).
    #[arg(long, default_value_t = 1)]
    pub nodes: usize,
    /// Where the chain lives; reused across restarts (delete it for a fresh chain).
    #[arg(long, default_value = ".fastevm/dev")]
    pub datadir: PathBuf,
    /// JSON-RPC listen address.
    #[arg(long = "http.addr", default_value = "127.0.0.1")]
    pub http_addr: IpAddr,
    /// JSON-RPC port of the first node (HTTP and WebSocket); the others follow in steps of two,
    /// skipping 8551–8554 (8545, 8547, 8549, 8555). 0 picks free ports (they are printed).
    #[arg(long = "http.port", default_value_t = 8545)]
    pub http_port: u16,
    /// Make an empty block when no transaction arrived for this many milliseconds (0: blocks
    /// only when there are transactions).
    #[arg(long = "heartbeat-ms", default_value_t = 0)]
    pub heartbeat_ms: u64,
    /// fsync every block and consensus write. Implies --db.persist-every-block.
    #[arg(long = "db.sync")]
    pub db_sync: bool,
    /// Write every block to disk before the bridge moves on (by default blocks are written by a
    /// background thread; after a crash the bridge executes the lost commits again).
    #[arg(long = "db.persist-every-block")]
    pub db_persist_every_block: bool,
    /// Do not journal the transaction pools (by default each node keeps its pooled transactions
    /// in DATADIR/node-N/txpool.rlp and restores them at start).
    #[arg(long = "txpool.nojournal")]
    pub txpool_nojournal: bool,
    /// Serve each node's Prometheus metrics (execution, JSON-RPC, pool and consensus): node N on
    /// ADDR:PORT+N.
    #[arg(long)]
    pub metrics: Option<SocketAddr>,
    /// Rounds of consensus history each validator keeps below its last commit; older DAG blocks
    /// and commits are deleted once executed (0: keep everything).
    #[arg(long = "consensus.retention-rounds", default_value_t = CoreParams::new(0).retention_rounds)]
    pub retention_rounds: Round,
}

/// One validator of the dev chain.
struct DevNode {
    execution: ExecutionStack,
    validator: NodeHandle,
    commits: mpsc::Receiver<fastevm_consensus::CommittedSubDag>,
    bridge: ConsensusBridge<InProcessClient>,
    metrics: Option<NodeMetrics>,
}

/// Node `i`'s metrics and where they are served, when `--metrics` asks for them.
async fn node_metrics(
    args: &DevArgs,
    i: usize,
) -> anyhow::Result<Option<(NodeMetrics, JoinHandle<()>)>> {
    let Some(base) = args.metrics else {
        return Ok(None);
    };
    let port = u16::try_from(usize::from(base.port()) + i)
        .ok()
        .filter(|_| base.port() != 0)
        .unwrap_or(0);
    let metrics = NodeMetrics::new();
    let (bound, task) =
        fastevm_metrics::serve(SocketAddr::new(base.ip(), port), metrics.clone()).await?;
    println!("node {i}: metrics on http://{bound}/metrics");
    Ok(Some((metrics, task)))
}

/// The committee of this datadir: created on first start, then reused (keys must not change).
fn load_or_create_committee(
    datadir: &Path,
    nodes: usize,
) -> anyhow::Result<(CommitteeFile, Vec<NodeConfigFile>)> {
    let committee_path = datadir.join("committee.json");
    if committee_path.exists() {
        let committee = CommitteeFile::load(&committee_path)?;
        if committee.authorities.len() != nodes {
            bail!(
                "{} holds a {}-validator chain; pass --nodes {} or use another --datadir",
                datadir.display(),
                committee.authorities.len(),
                committee.authorities.len()
            );
        }
        let configs = (0..nodes)
            .map(|i| NodeConfigFile::load(datadir.join(format!("validator-{i}.json"))))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok((committee, configs));
    }
    let (committee, mut configs) = generate_local_committee(nodes, 0, None)?;
    for (i, config) in configs.iter_mut().enumerate() {
        config.storage_path = datadir.join(format!("node-{i}/consensus"));
        config.save(datadir.join(format!("validator-{i}.json")))?;
    }
    committee.save(&committee_path)?;
    Ok((committee, configs))
}

/// Ports 8551–8554 are the Engine API's in the Docker devnet; dev RPC ports step around them.
const ENGINE_PORTS: std::ops::RangeInclusive<u16> = 8551..=8554;

/// The JSON-RPC port of dev node `index`: `base` for node 0, then every second port, skipping the
/// Engine API range (so 8545, 8547, 8549, 8555 as in the Docker devnet). 0 stays 0 (free ports).
pub fn rpc_port(base: u16, index: usize) -> Option<u16> {
    if base == 0 {
        return Some(0);
    }
    let mut port = base;
    for _ in 0..index {
        port = port.checked_add(2)?;
        while ENGINE_PORTS.contains(&port) {
            port = port.checked_add(2)?;
        }
    }
    Some(port)
}

/// `fastevm dev`: runs until interrupted or until a bridge fails.
pub async fn run_dev(args: DevArgs) -> anyhow::Result<()> {
    if args.nodes == 0 {
        bail!("--nodes must be at least 1");
    }
    std::fs::create_dir_all(&args.datadir)
        .with_context(|| format!("creating {}", args.datadir.display()))?;
    let genesis_path = args.datadir.join("genesis.json");
    if !genesis_path.exists() {
        std::fs::write(&genesis_path, dev_genesis_json())?;
    }
    let (mut committee_file, node_files) = load_or_create_committee(&args.datadir, args.nodes)?;

    // Consensus listeners on free loopback ports; the committee learns them before any start.
    let mut listeners = Vec::new();
    for authority in committee_file.authorities.iter_mut() {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        authority.network_address = listener.local_addr()?.to_string();
        listeners.push(listener);
    }
    let committee = committee_file.to_committee()?;
    let rules = PayloadRules::for_committee(&committee, args.heartbeat_ms);

    // The validators of this process share one sender cache and one prefetch thread: a sender
    // is a pure function of the signed transaction, so each transaction is recovered once per
    // process (separate machines each recover it once).
    let senders = SenderCache::default();
    let prefetcher = senders.spawn_prefetcher();
    let mut nodes = Vec::new();
    let mut exporters = Vec::new();
    for (i, (node_file, listener)) in node_files.iter().zip(listeners).enumerate() {
        let node_dir = args.datadir.join(format!("node-{i}"));
        let durability = Durability {
            sync: args.db_sync,
            persist_every_block: args.db_persist_every_block,
        };
        let chain = open_chain(&node_dir, Some(&genesis_path), durability)?
            .with_sender_cache(senders.clone());
        let port =
            rpc_port(args.http_port, i).context("--http.port too high for this many nodes")?;
        let rpc = RpcServerConfig {
            http_addr: SocketAddr::new(args.http_addr, port),
            ..RpcServerConfig::default()
        };
        let journal = (!args.txpool_nojournal).then(|| node_dir.join(TXPOOL_JOURNAL_FILE));
        let served_metrics = node_metrics(&args, i).await?;
        let metrics = served_metrics.as_ref().map(|(m, _)| m.clone());
        exporters.extend(served_metrics.map(|(_, task)| task));
        let execution = start_execution(
            chain,
            ExecutionOptions {
                rpc: Some(rpc),
                txpool_journal: journal.as_deref(),
                metrics: metrics.as_ref(),
                accounts: UnlockedAccounts::new(dev_signers()),
            },
        )
        .await?;
        let bridge = ConsensusBridge::connect(
            InProcessClient::new(execution.engine.clone()),
            rules.clone(),
            RetryPolicy::default(),
        )
        .await?;
        let mut config = node_file.validator_config()?;
        config.sync_writes = args.db_sync;
        config.logic.core.retention_rounds = args.retention_rounds;
        // Peers' transactions are decoded and their senders recovered when their DAG block is
        // accepted, rounds before the commit that builds them into an EVM block. The cache is
        // shared, so validator 0 alone hands them over: it accepts every peer's block, and its
        // own blocks' transactions were recovered when its pool admitted them.
        if i == 0 {
            let prefetcher = prefetcher.clone();
            config.accepted_transactions = Some(AcceptedTransactionsHook(Arc::new(move |txs| {
                prefetcher.submit(txs.into_iter().map(|tx| tx.0).collect())
            })));
        }
        let (validator, commits) = ValidatorNode::start_with_listener(
            config,
            committee.clone(),
            node_file.signing_key()?,
            node_dir.join("consensus"),
            Box::new(PoolFeed::new(execution.pool.clone()).with_metrics(metrics.clone())),
            bridge.last_executed_commit(),
            listener,
        )?;
        if let Some(metrics) = &metrics {
            spawn_status_metrics(validator.subscribe_status(), metrics.clone());
        }
        nodes.push(DevNode {
            execution,
            validator,
            commits,
            bridge,
            metrics,
        });
    }
    print_banner(&args, &nodes)?;

    let (failed_tx, mut failed_rx) = mpsc::channel::<anyhow::Error>(nodes.len());
    let mut handles = Vec::new();
    for (i, node) in nodes.into_iter().enumerate() {
        let DevNode {
            execution,
            validator,
            mut commits,
            mut bridge,
            metrics,
        } = node;
        let failed = failed_tx.clone();
        let observer = CommitObserver {
            metrics,
            own_index: validator.own_index(),
            reporter: validator.executed_reporter(),
            node: Some(i),
        };
        handles.push((validator, execution));
        tokio::spawn(async move {
            if let Err(e) = bridge.run(&mut commits, |e| observer.observe(e)).await {
                let _ = failed
                    .send(anyhow::anyhow!("node {i}: consensus bridge stopped: {e}"))
                    .await;
            }
        });
    }
    drop(failed_tx);
    let outcome = tokio::select! {
        _ = crate::node::shutdown_signal() => Ok(()),
        Some(e) = failed_rx.recv() => Err(e),
    };
    tracing::info!("shutting down");
    for exporter in exporters {
        exporter.abort();
    }
    for (validator, execution) in handles {
        if let Err(e) = validator.shutdown().await {
            tracing::warn!(error = %e, "validator shutdown");
        }
        if let Err(e) = execution.pool.rotate_journal() {
            tracing::warn!(error = %e, "could not rewrite the txpool journal");
        }
        if let Err(e) = execution.engine.chain().store().flush() {
            tracing::warn!(error = %e, "could not write the newest blocks");
        }
    }
    outcome
}

fn print_banner(args: &DevArgs, nodes: &[DevNode]) -> anyhow::Result<()> {
    println!(
        "FastEVM dev chain (chain id 1337), {} validator(s)",
        nodes.len()
    );
    println!("datadir: {}", args.datadir.display());
    for (i, node) in nodes.iter().enumerate() {
        let rpc = node.execution.rpc.as_ref().context("rpc server")?;
        let head = node.execution.engine.chain().store().head_header()?;
        println!(
            "node {i}: RPC http://{addr} ws://{addr} consensus {} head #{}",
            node.validator.local_addr(),
            head.number,
            addr = rpc.http_addr,
        );
    }
    println!();
    println!(
        "Dev accounts ({} ETH each at genesis; mnemonic \"test test ... junk\"):",
        DEV_BALANCE_WEI / 1_000_000_000_000_000_000
    );
    for (i, signer) in dev_signers().iter().enumerate() {
        println!(
            "({i}) {} private key 0x{}",
            signer.address(),
            alloy_primitives::hex::encode(signer.credential().to_bytes())
        );
    }
    println!();
    println!("ready");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_ports_step_around_the_engine_api() {
        let ports: Vec<_> = (0..5).map(|i| rpc_port(8545, i).unwrap()).collect();
        assert_eq!(ports, vec![8545, 8547, 8549, 8555, 8557]);
        assert_eq!(rpc_port(0, 3), Some(0));
        assert_eq!(rpc_port(65535, 1), None);
    }
}
