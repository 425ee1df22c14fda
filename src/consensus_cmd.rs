//! `fastevm consensus` (a Mysticeti validator driving its execution node over the authenticated
//! Engine API) and `fastevm keygen` (committee and validator files).

use crate::{
    commit_observer::CommitObserver, tx_feed::remote_sender_prefetch,
    validator_metrics::spawn_status_metrics,
};
use anyhow::{bail, Context};
use clap::Args;
use fastevm_consensus_bridge::{ConsensusBridge, PayloadRules, RemotePoolFeed, RetryPolicy};
use fastevm_consensus_node::{
    generate_local_committee, CommitteeFile, NodeConfigFile, ValidatorNode,
};
use fastevm_engine_api::{engine_http_client, JwtSecret, RpcExecutionClient};
use fastevm_metrics::NodeMetrics;
use std::{path::PathBuf, time::Duration};

/// Flags of `fastevm consensus`.
#[derive(Debug, Clone, Args)]
pub struct ConsensusArgs {
    /// The execution node's Engine API (e.g. http://127.0.0.1:8551).
    #[arg(long = "execution-url")]
    pub execution_url: String,
    /// The execution node's JWT secret file (hex, 32 bytes): `fastevm node` writes it to
    /// DATADIR/jwt.hex.
    #[arg(long = "jwt-secret")]
    pub jwt_secret: Option<PathBuf>,
    /// Committee file (from `fastevm keygen`).
    #[arg(long)]
    pub committee: Option<PathBuf>,
    /// This validator's file (from `fastevm keygen`): index, key, listen address, storage.
    #[arg(long = "node-config")]
    pub node_config: Option<PathBuf>,
    /// Name in logs.
    #[arg(long = "node-id")]
    pub node_id: Option<String>,
    /// Longest a request for new transactions waits on the execution node (a long poll: it
    /// answers as soon as the node admits one), and the pause after a failed request: a duration
    /// (`1s`, `500ms`); a bare number is milliseconds.
    #[arg(long = "poll-interval", default_value = "1s", value_parser = crate::duration_arg::millis)]
    pub poll_interval: Duration,
    /// Hand the transactions of every accepted peer DAG block to the execution node, which
    /// recovers their senders before the commit that builds them into a block. Worth it when the
    /// validator and its node have cores to spare between rounds (a machine each); on one small
    /// machine shared by all validators it costs throughput (README, Benchmarks).
    #[arg(long = "prefetch-senders")]
    pub prefetch_senders: bool,
    /// Retries of an Engine API call before the validator gives up.
    #[arg(long = "max-retries", default_value_t = 20)]
    pub max_retries: u32,
    /// Timeout of one Engine API call: a duration (`30s`, `500ms`); a bare number is seconds.
    #[arg(long, default_value = "10s", value_parser = crate::duration_arg::seconds)]
    pub timeout: Duration,
    /// Make an empty block when no transaction arrived for this many milliseconds (0: blocks
    /// only when there are transactions). Must be the same on every validator.
    #[arg(long = "heartbeat-ms", default_value_t = 0)]
    pub heartbeat_ms: u64,
    /// Serve Prometheus metrics (consensus round, commit index, commit latency) on ADDR:PORT.
    #[arg(long)]
    pub metrics: Option<std::net::SocketAddr>,
}

/// `fastevm consensus`: runs until interrupted or until the bridge fails.
pub async fn run_consensus(args: ConsensusArgs) -> anyhow::Result<()> {
    let (committee_path, node_config_path, jwt_path) = required_files(&args)?;
    let committee_file = CommitteeFile::load(committee_path)
        .with_context(|| format!("reading {}", committee_path.display()))?;
    let node_file = NodeConfigFile::load(node_config_path)
        .with_context(|| format!("reading {}", node_config_path.display()))?;
    let committee = committee_file.to_committee()?;
    let secret = std::fs::read_to_string(jwt_path)
        .with_context(|| format!("reading {}", jwt_path.display()))?;
    let secret = JwtSecret::from_hex(secret.trim())
        .with_context(|| format!("JWT secret in {}", jwt_path.display()))?;
    let timeout = args.timeout;
    let client = RpcExecutionClient::new(&args.execution_url, secret.clone(), timeout)?;
    let rules = PayloadRules::for_committee(&committee, args.heartbeat_ms);
    let retry = RetryPolicy {
        max_retries: args.max_retries,
        ..RetryPolicy::default()
    };
    let mut bridge = ConsensusBridge::connect(client, rules, retry).await?;
    let feed_client = engine_http_client(&args.execution_url, secret.clone(), timeout)?;
    // A long poll must answer well within the request timeout.
    let feed = RemotePoolFeed::spawn(feed_client, args.poll_interval.min(timeout / 2));
    let mut config = node_file.validator_config()?;
    if args.prefetch_senders {
        // Peers' transactions reach the node when their DAG block is accepted, rounds before the
        // commit: it recovers their senders off the block's critical path.
        config.accepted_transactions = Some(remote_sender_prefetch(engine_http_client(
            &args.execution_url,
            secret.clone(),
            timeout,
        )?));
    }
    let (validator, mut commits) = ValidatorNode::start(
        config,
        committee,
        node_file.signing_key()?,
        &node_file.storage_path,
        Box::new(feed),
        bridge.last_executed_commit(),
    )
    .await?;
    let metrics = NodeMetrics::new();
    if let Some(addr) = args.metrics {
        let (bound, _task) = fastevm_metrics::serve(addr, metrics.clone()).await?;
        println!("metrics listening on {bound}");
    }
    let _status_metrics = spawn_status_metrics(validator.subscribe_status(), metrics.clone());
    let name = args
        .node_id
        .unwrap_or_else(|| format!("validator-{}", validator.own_index()));
    println!(
        "{name}: consensus listening on {}, executing through {} from commit {}",
        validator.local_addr(),
        args.execution_url,
        bridge.last_executed_commit() + 1
    );
    let observer = CommitObserver {
        metrics: Some(metrics.clone()),
        own_index: validator.own_index(),
        reporter: validator.executed_reporter(),
        node: None,
    };
    let run = async {
        bridge
            .run(&mut commits, |e| observer.observe(e))
            .await
            .map_err(|e| anyhow::anyhow!("consensus bridge stopped: {e}"))?;
        bail!("the validator stopped delivering commits")
    };
    let outcome = tokio::select! {
        _ = crate::node::shutdown_signal() => Ok(()),
        result = run => result,
    };
    validator.shutdown().await?;
    outcome
}

/// The three files a validator needs, or an error saying how to make the missing ones.
fn required_files(args: &ConsensusArgs) -> anyhow::Result<(&PathBuf, &PathBuf, &PathBuf)> {
    let mut missing = Vec::new();
    if args.committee.is_none() || args.node_config.is_none() {
        missing.push(
            "--committee and --node-config: make a committee with `fastevm keygen --nodes 4 --out \
             keys` and pass --committee keys/committee.json --node-config keys/validator-N.json \
             (N = this validator's index; one committee for all validators). For a whole local \
             chain in one process, run `fastevm dev --nodes 4` instead",
        );
    }
    if args.jwt_secret.is_none() {
        missing.push(
            "--jwt-secret: the execution node's secret file, DATADIR/jwt.hex of `fastevm node` \
             (or the file given to its --authrpc.jwtsecret)",
        );
    }
    match (&args.committee, &args.node_config, &args.jwt_secret) {
        (Some(committee), Some(node_config), Some(jwt)) => Ok((committee, node_config, jwt)),
        _ => bail!("missing {}", missing.join("; ")),
    }
}

/// Flags of `fastevm keygen`.
#[derive(Debug, Clone, Args)]
pub struct KeygenArgs {
    /// Validators in the committee.
    #[arg(long, default_value_t = 4)]
    pub nodes: usize,
    /// Output directory: committee.json and validator-<i>.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Consensus port of validator 0 (validator i gets this + i).
    #[arg(long = "base-port", default_value_t = 9000)]
    pub base_port: u16,
    /// Host names of the validators, comma separated (default 127.0.0.1 for all), e.g.
    /// consensus-0,consensus-1,... in a container network where every validator uses base-port.
    #[arg(long, value_delimiter = ',')]
    pub hosts: Vec<String>,
    /// Where each validator keeps its consensus database (validator-<i> is appended).
    #[arg(long = "storage-root", default_value = "consensus-db")]
    pub storage_root: PathBuf,
}

/// `fastevm keygen`: writes a committee with fresh keys.
pub fn run_keygen(args: KeygenArgs) -> anyhow::Result<()> {
    if !args.hosts.is_empty() && args.hosts.len() != args.nodes {
        bail!(
            "--hosts names {} hosts for {} nodes",
            args.hosts.len(),
            args.nodes
        );
    }
    let (mut committee, mut nodes) = generate_local_committee(args.nodes, args.base_port, None)?;
    for (i, (authority, node)) in committee
        .authorities
        .iter_mut()
        .zip(nodes.iter_mut())
        .enumerate()
    {
        if let Some(host) = args.hosts.get(i) {
            authority.network_address = format!("{host}:{}", args.base_port);
            node.listen_address = format!("0.0.0.0:{}", args.base_port);
        }
        node.storage_path = args.storage_root.join(format!("validator-{i}"));
    }
    std::fs::create_dir_all(&args.out)?;
    committee.save(args.out.join("committee.json"))?;
    for (i, node) in nodes.iter().enumerate() {
        node.save(args.out.join(format!("validator-{i}.json")))?;
    }
    println!(
        "wrote committee.json and {} validator files to {}",
        nodes.len(),
        args.out.display()
    );
    Ok(())
}
