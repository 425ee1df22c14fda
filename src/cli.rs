//! Command-line interface of the `fastevm` binary.

use anyhow::Context;
use clap::{Parser, Subcommand};
use fastevm_dev_chain::dev_genesis_json;
use fastevm_executor::{init_genesis, parse_genesis};
use fastevm_storage::{ChainStore, StoreOptions};
use std::path::PathBuf;

/// FastEVM: an EVM execution node over RocksDB, driven by Mysticeti consensus.
#[derive(Debug, Parser)]
#[command(name = "fastevm", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Log filter (error, warn, info, debug, trace, or a tracing filter).
    #[arg(long = "log-level", global = true, default_value = "info")]
    pub log_level: String,
    /// Colour in logs: `auto` (only when stderr is a terminal), `always` or `never`.
    #[arg(long, global = true, value_enum, default_value_t = LogColor::Auto)]
    pub color: LogColor,
    /// Log lines as text, or as one JSON object per line (for Loki and other collectors).
    #[arg(long = "log-format", global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// When logs carry ANSI colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogColor {
    /// Only on a terminal: files and pipes get plain text.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable text.
    Text,
    /// One JSON object per line.
    Json,
}

impl Cli {
    /// Installs the global log subscriber: stderr, filtered by `--log-level` (an invalid filter
    /// falls back to `info`), coloured per `--color`, text or JSON per `--log-format`.
    pub fn init_logging(&self) {
        use std::io::IsTerminal;
        let filter = tracing_subscriber::EnvFilter::try_new(&self.log_level)
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        let ansi = match self.color {
            LogColor::Always => true,
            LogColor::Never => false,
            LogColor::Auto => std::io::stderr().is_terminal(),
        };
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr);
        match self.log_format {
            LogFormat::Text => builder.with_ansi(ansi).init(),
            LogFormat::Json => builder.json().with_ansi(false).init(),
        }
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a database from a geth-format genesis.json and print the genesis hash and state root.
    Init {
        /// The genesis file.
        #[arg(long)]
        chain: PathBuf,
        /// Database directory.
        #[arg(long)]
        datadir: PathBuf,
    },
    /// Run an execution node: RocksDB store, revm executor, Engine API (JWT) and metrics.
    Node(crate::node::NodeArgs),
    /// Run a whole dev chain in one process: execution, pool, JSON-RPC on 127.0.0.1:8545 and
    /// Mysticeti consensus (1 validator, or `--nodes 4` on loopback).
    Dev(crate::dev::DevArgs),
    /// Run a Mysticeti validator that drives its execution node through the Engine API.
    Consensus(crate::consensus_cmd::ConsensusArgs),
    /// Write a committee file and one validator file per node, with fresh ed25519 keys.
    Keygen(crate::consensus_cmd::KeygenArgs),
    /// Send ETH transfers from the dev accounts to a running chain and print throughput and
    /// latency.
    Load(crate::load::LoadArgs),
    /// Import a chain file (concatenated RLP blocks, as geth's and reth's `export` write):
    /// every block validated and executed; blocks already canonical are skipped, so an
    /// interrupted import resumes.
    Import(crate::chain_file::ImportArgs),
    /// Export canonical blocks to a chain file (concatenated RLP blocks), as geth's `export`.
    Export(crate::chain_file::ExportArgs),
    /// Serve a live dashboard of running nodes (head, agreement, blocks/s, tx/s, commit
    /// latency, round rate, peers, pool) on http://127.0.0.1:8080.
    Dashboard(crate::dashboard::DashboardArgs),
    /// Print a built-in genesis file.
    Genesis {
        /// Which genesis (only `dev`).
        #[arg(value_parser = ["dev"])]
        name: String,
    },
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Init { chain, datadir } => {
            let json = std::fs::read_to_string(&chain)
                .with_context(|| format!("reading {}", chain.display()))?;
            let genesis = parse_genesis(&json)?;
            let store = ChainStore::open(&datadir, StoreOptions::default())
                .with_context(|| format!("opening database {}", datadir.display()))?;
            let block = init_genesis(&store, &genesis)?;
            store.flush()?;
            println!("genesis hash: {}", block.hash);
            println!("state root:   {}", block.header.state_root);
            println!("chain id:     {}", genesis.config.chain_id);
            println!("accounts:     {}", genesis.alloc.len());
            Ok(())
        }
        Command::Node(args) => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(crate::node::run_node(args))
        }
        Command::Dev(args) => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(crate::dev::run_dev(args))
        }
        Command::Consensus(args) => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(crate::consensus_cmd::run_consensus(args))
        }
        Command::Keygen(args) => crate::consensus_cmd::run_keygen(args),
        Command::Load(args) => {
            let runtime = tokio::runtime::Runtime::new()?;
            let report = runtime.block_on(crate::load::run_load(&args))?;
            report.print();
            Ok(())
        }
        Command::Dashboard(args) => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(crate::dashboard::run_dashboard(args))
        }
        Command::Import(args) => crate::chain_file::run_import(args),
        Command::Export(args) => crate::chain_file::run_export(args),
        Command::Genesis { .. } => {
            print!("{}", dev_genesis_json());
            Ok(())
        }
    }
}
