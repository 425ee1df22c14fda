//! The dashboard's I/O edge: polls every node's JSON-RPC (head, pool, the transaction counts
//! of new blocks, the block at the common height) and, where given, its Prometheus metrics
//! (round, peers, commit latency), and publishes a fresh [`DashboardView`] after every round.

use super::view::{agreement, ConsensusSample, DashboardView, History, Sample};
use jsonrpsee::{
    core::{client::ClientT, params::BatchRequestBuilder},
    http_client::{HttpClient, HttpClientBuilder},
    rpc_params,
};
use parking_lot::RwLock;
use serde_json::Value;
use std::{sync::Arc, time::Duration};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    time::Instant,
};

/// Most new blocks whose transactions are counted in one poll of one node.
const MAX_BLOCKS_PER_POLL: u64 = 256;
/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// One watched node.
struct Probe {
    url: String,
    metrics_url: Option<String>,
    client: HttpClient,
    history: History,
    /// Head of the previous successful poll, and transactions counted up to it.
    counted: Option<(u64, u64)>,
    error: Option<String>,
}

/// Polls `nodes` (JSON-RPC URLs) and `metrics` (metrics URLs, same order, may be shorter) every
/// `interval`, publishing into `view`, until the task is dropped.
pub(super) async fn run(
    nodes: Vec<String>,
    metrics: Vec<String>,
    interval: Duration,
    view: Arc<RwLock<DashboardView>>,
) -> anyhow::Result<()> {
    let mut probes = Vec::new();
    for (i, url) in nodes.into_iter().enumerate() {
        let client = HttpClientBuilder::default()
            .request_timeout(REQUEST_TIMEOUT)
            .build(&url)
            .map_err(|e| anyhow::anyhow!("node URL {url}: {e}"))?;
        probes.push(Probe {
            url,
            metrics_url: metrics.get(i).cloned(),
            client,
            history: History::default(),
            counted: None,
            error: None,
        });
    }
    let started = Instant::now();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut polls = 0;
    let mut chain_id = None;
    loop {
        ticker.tick().await;
        let at_ms = started.elapsed().as_millis() as u64;
        futures::future::join_all(probes.iter_mut().map(|p| p.poll(at_ms))).await;
        if chain_id.is_none() {
            chain_id = first_chain_id(&probes).await;
        }
        let agreement = common_block(&probes).await;
        polls += 1;
        let nodes: Vec<_> = probes
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut node = p.history.view(format!("node {i}"), p.url.clone());
                node.up = p.error.is_none() && p.history.latest().is_some();
                node.error = p.error.clone();
                node
            })
            .collect();
        let rates: Vec<f64> = nodes
            .iter()
            .filter(|n| n.up)
            .filter_map(|n| n.tx_per_sec)
            .collect();
        let tx_per_sec =
            (!rates.is_empty()).then(|| rates.iter().sum::<f64>() / rates.len() as f64);
        *view.write() = DashboardView {
            chain_id,
            polls,
            nodes,
            agreement,
            tx_per_sec,
        };
    }
}

impl Probe {
    async fn poll(&mut self, at_ms: u64) {
        match self.sample(at_ms).await {
            Ok(sample) => {
                self.error = None;
                self.history.push(sample);
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    async fn sample(&mut self, at_ms: u64) -> anyhow::Result<Sample> {
        let block: Value = self
            .client
            .request("eth_getBlockByNumber", rpc_params!["latest", false])
            .await?;
        let head = quantity(&block["number"])?;
        let hash = block["hash"].as_str().unwrap_or_default().to_string();
        let pool: Value = self.client.request("txpool_status", rpc_params![]).await?;
        let transactions = self.count_transactions(head).await?;
        let consensus = match &self.metrics_url {
            Some(url) => Some(scrape_consensus(url).await?),
            None => None,
        };
        Ok(Sample {
            at_ms,
            head,
            hash,
            transactions,
            pending: quantity(&pool["pending"]).unwrap_or_default(),
            queued: quantity(&pool["queued"]).unwrap_or_default(),
            consensus,
        })
    }

    /// Transactions counted up to `head`: those of the blocks since the previous poll are
    /// added (at most [`MAX_BLOCKS_PER_POLL`] of the newest; the first poll starts at the head).
    async fn count_transactions(&mut self, head: u64) -> anyhow::Result<u64> {
        let Some((counted_head, counted)) = self.counted else {
            self.counted = Some((head, 0));
            return Ok(0);
        };
        if head <= counted_head {
            self.counted = Some((head, counted));
            return Ok(counted);
        }
        let from = (counted_head + 1).max(head.saturating_sub(MAX_BLOCKS_PER_POLL - 1));
        let mut batch = BatchRequestBuilder::new();
        for number in from..=head {
            batch.insert(
                "eth_getBlockTransactionCountByNumber",
                rpc_params![format!("{number:#x}")],
            )?;
        }
        let answers = self.client.batch_request::<Value>(batch).await?;
        let mut total = counted;
        for answer in answers {
            total += quantity(&answer?).unwrap_or_default();
        }
        self.counted = Some((head, total));
        Ok(total)
    }
}

/// The chain id of the first node that answers.
async fn first_chain_id(probes: &[Probe]) -> Option<u64> {
    for probe in probes {
        if let Ok(id) = probe
            .client
            .request::<Value, _>("eth_chainId", rpc_params![])
            .await
        {
            return quantity(&id).ok();
        }
    }
    None
}

/// Agreement of the reachable nodes on the block at the lowest of their heads.
async fn common_block(probes: &[Probe]) -> super::view::Agreement {
    let up: Vec<&Probe> = probes
        .iter()
        .filter(|p| p.error.is_none() && p.history.latest().is_some())
        .collect();
    let Some(height) = up
        .iter()
        .filter_map(|p| p.history.latest())
        .map(|s| s.head)
        .min()
    else {
        return agreement(None, &[]);
    };
    let hashes = futures::future::join_all(up.iter().map(|p| async move {
        let latest = p.history.latest()?;
        if latest.head == height {
            return Some(latest.hash.clone());
        }
        let block: Value = p
            .client
            .request(
                "eth_getBlockByNumber",
                rpc_params![format!("{height:#x}"), false],
            )
            .await
            .ok()?;
        block["hash"].as_str().map(str::to_string)
    }))
    .await;
    let hashes: Vec<String> = hashes.into_iter().flatten().collect();
    agreement(Some(height), &hashes)
}

fn quantity(value: &Value) -> anyhow::Result<u64> {
    let text = value
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("expected a quantity, got {value}"))?;
    Ok(u64::from_str_radix(text.trim_start_matches("0x"), 16)?)
}

/// The consensus figures of the Prometheus text at `url` (`http://host:port/path`).
async fn scrape_consensus(url: &str) -> anyhow::Result<ConsensusSample> {
    let text = tokio::time::timeout(REQUEST_TIMEOUT, http_get(url))
        .await
        .map_err(|_| anyhow::anyhow!("metrics {url}: timed out"))??;
    let value = |name: &str| -> f64 {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .find_map(|l| {
                let (series, value) = l.rsplit_once(' ')?;
                (series == name).then(|| value.parse().ok()).flatten()
            })
            .unwrap_or_default()
    };
    Ok(ConsensusSample {
        round: value("fastevm_consensus_round") as u64,
        peers: value("fastevm_consensus_peers") as u64,
        latency_sum: value("fastevm_consensus_commit_latency_seconds_sum"),
        latency_count: value("fastevm_consensus_commit_latency_seconds_count"),
    })
}

/// The body of a plain HTTP GET.
async fn http_get(url: &str) -> anyhow::Result<String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| anyhow::anyhow!("metrics URL {url}: only http:// is supported"))?;
    let (host, path) = match rest.split_once('/') {
        Some((host, path)) => (host, format!("/{path}")),
        None => (rest, "/metrics".to_string()),
    };
    let mut stream = tokio::net::TcpStream::connect(host).await?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow::anyhow!("metrics {url}: malformed response"))?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        anyhow::bail!("metrics {url}: {}", head.lines().next().unwrap_or_default());
    }
    Ok(body.to_string())
}
