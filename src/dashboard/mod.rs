//! `fastevm dashboard`: one live page (default port 8080) showing each node's head number and
//! hash, whether the nodes agree, blocks/s, tx/s, commit latency, round rate, peers and pool
//! size. The page and its script are served from the binary (no CDN: the machine may be
//! offline); it reads `GET /api/status`, which a poller refreshes from the nodes' JSON-RPC and,
//! where given, their Prometheus metrics.

mod poller;
mod server;
mod view;

pub use view::{Agreement, DashboardView, NodeView};

use clap::Args;
use parking_lot::RwLock;
use std::{net::SocketAddr, sync::Arc, time::Duration};

/// `fastevm dashboard`.
#[derive(Debug, Clone, Args)]
pub struct DashboardArgs {
    /// The nodes' JSON-RPC URLs, comma-separated (e.g. those `fastevm dev --nodes 4` prints).
    #[arg(long, value_delimiter = ',', required = true)]
    pub nodes: Vec<String>,
    /// The nodes' Prometheus metrics URLs, comma-separated, in the same order (consensus round,
    /// peers and commit latency come from there; `fastevm dev --metrics` and `fastevm consensus
    /// --metrics` serve them).
    #[arg(long, value_delimiter = ',')]
    pub metrics: Vec<String>,
    /// Where the page is served.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// How often the nodes are polled, in milliseconds.
    #[arg(long = "interval-ms", default_value_t = 500)]
    pub interval_ms: u64,
}

/// Runs the dashboard until Ctrl-C.
pub async fn run_dashboard(args: DashboardArgs) -> anyhow::Result<()> {
    if args.metrics.len() > args.nodes.len() {
        anyhow::bail!(
            "{} metrics URLs for {} nodes: give at most one per node, in node order",
            args.metrics.len(),
            args.nodes.len()
        );
    }
    let view = Arc::new(RwLock::new(DashboardView::default()));
    let (bound, server) = server::serve(args.addr, view.clone()).await?;
    println!("dashboard on http://{bound}");
    let poller = poller::run(
        args.nodes,
        args.metrics,
        Duration::from_millis(args.interval_ms.max(50)),
        view,
    );
    let outcome = tokio::select! {
        _ = crate::node::shutdown_signal() => Ok(()),
        result = poller => result,
    };
    server.abort();
    outcome
}
