//! `fastevm load`: a load generator for a running chain (e.g. `fastevm dev --nodes 4`). Sends
//! signed ETH transfers from the dev accounts through the given nodes' JSON-RPC and prints the
//! sustained throughput and submit→inclusion latency.

use crate::json_rpc_client::JsonRpc;
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, B256, U256};
use anyhow::bail;
use clap::Args;
use fastevm_dev_chain::{dev_signers, sign_eip1559, TxFees, DEV_CHAIN_ID};
use serde_json::{json, Value};
use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

/// Flags of `fastevm load`.
#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// JSON-RPC addresses (host:port), comma separated; sender s uses node s mod count.
    #[arg(long, value_delimiter = ',', default_value = "127.0.0.1:8545")]
    pub rpc: Vec<String>,
    /// Transactions to send in all.
    #[arg(long, default_value_t = 5_000)]
    pub txs: u64,
    /// Dev accounts sending (1–10).
    #[arg(long, default_value_t = 10)]
    pub senders: usize,
    /// Give up waiting for inclusion after this many seconds.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
    /// Requests each sender keeps in flight (sent in nonce order, answered in any order).
    #[arg(long, default_value_t = 1)]
    pub inflight: usize,
    /// Send at most this many transactions per second in all (spread evenly over the senders and
    /// over time); 0 sends as fast as the nodes accept them.
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
}

/// What one load run measured.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Transactions sent.
    pub sent: u64,
    /// Seconds from the first submission to the last inclusion.
    pub elapsed: Duration,
    /// Seconds spent submitting.
    pub submit_time: Duration,
    /// Submit→inclusion latencies, sorted.
    pub latencies: Vec<Duration>,
    /// Blocks the transactions landed in.
    pub blocks: usize,
}

impl LoadReport {
    fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let index = ((self.latencies.len() - 1) as f64 * p).round() as usize;
        self.latencies[index]
    }

    /// Prints the figures.
    pub fn print(&self) {
        let tps = self.sent as f64 / self.elapsed.as_secs_f64();
        println!(
            "sent {} transfers in {:.2} s ({:.0} tx/s submitted); all included after {:.2} s in {} blocks",
            self.sent,
            self.submit_time.as_secs_f64(),
            self.sent as f64 / self.submit_time.as_secs_f64(),
            self.elapsed.as_secs_f64(),
            self.blocks
        );
        println!("sustained throughput: {tps:.0} tx/s");
        println!(
            "submit→inclusion latency: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
            self.percentile(0.5).as_secs_f64() * 1e3,
            self.percentile(0.99).as_secs_f64() * 1e3,
            self.latencies
                .last()
                .copied()
                .unwrap_or_default()
                .as_secs_f64()
                * 1e3
        );
    }
}

/// Sends one raw transaction, waiting while the pool is full or the sender is far ahead.
/// Returns its hash and when it was first sent.
async fn submit(node: &JsonRpc, nonce: u64, raw: Bytes) -> anyhow::Result<(B256, Instant)> {
    let at = Instant::now();
    loop {
        match node
            .call::<B256>("eth_sendRawTransaction", vec![json!(raw.clone())])
            .await
        {
            Ok(hash) => return Ok((hash, at)),
            // The pool is full or this sender is far ahead: wait for blocks.
            Err(e)
                if e.to_string().contains("txpool is full")
                    || e.to_string().contains("nonce too high") =>
            {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Err(e) => return Err(anyhow::Error::new(e).context(format!("sending nonce {nonce}"))),
        }
    }
}

/// When sender `sender` (of `senders`) sends its `k`-th transaction so that all of them together
/// send `rate` a second, interleaved; `None` when the rate is unlimited.
fn paced_send_time(
    started: Instant,
    rate: u64,
    senders: usize,
    sender: usize,
    k: usize,
) -> Option<Instant> {
    if rate == 0 {
        return None;
    }
    let slot = (k * senders + sender) as u128;
    let nanos = slot * 1_000_000_000 / u128::from(rate);
    Some(started + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX)))
}

/// Runs the load and waits until every transaction is included (seen on the first node).
pub async fn run_load(args: &LoadArgs) -> anyhow::Result<LoadReport> {
    if args.rpc.is_empty() || args.senders == 0 || args.senders > 10 {
        bail!("need at least one --rpc and 1–10 --senders");
    }
    let nodes: Vec<JsonRpc> = args.rpc.iter().map(|a| JsonRpc::new(a)).collect();
    let watcher = nodes[0].clone();
    let signers: Vec<_> = dev_signers().into_iter().take(args.senders).collect();
    let start_block: U256 = watcher.call("eth_blockNumber", vec![]).await?;
    let mut nonces = Vec::new();
    for signer in &signers {
        let nonce: U256 = nodes[0]
            .call(
                "eth_getTransactionCount",
                vec![json!(signer.address()), json!("pending")],
            )
            .await?;
        nonces.push(nonce.to::<u64>());
    }
    let per_sender = args.txs.div_ceil(args.senders as u64);
    // Sign everything before the clock starts: a chain's users sign on their own machines, and
    // signing here would take the CPU the chain under test runs on.
    let signing = Instant::now();
    let mut batches = Vec::new();
    for (s, signer) in signers.into_iter().enumerate() {
        let first = nonces[s];
        let count = per_sender.min(args.txs - per_sender * s as u64);
        let raw: Vec<(u64, Bytes)> = (first..first + count)
            .map(|nonce| {
                let tx = sign_eip1559(
                    &signer,
                    DEV_CHAIN_ID,
                    nonce,
                    Address::with_last_byte(0x77),
                    U256::from(1),
                    Bytes::new(),
                    TxFees {
                        max_fee_per_gas: 100_000_000_000,
                        ..TxFees::default()
                    },
                );
                (nonce, Bytes::from(tx.encoded_2718()))
            })
            .collect();
        batches.push(raw);
    }
    println!(
        "signed {} transfers in {:.2} s (before the clock starts)",
        args.txs,
        signing.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let senders = batches.len();
    let mut tasks = Vec::new();
    for (s, batch) in batches.into_iter().enumerate() {
        let node = nodes[s % nodes.len()].clone();
        let inflight = args.inflight.max(1);
        let rate = args.rate;
        tasks.push(tokio::spawn(async move {
            use futures::stream::{self, StreamExt, TryStreamExt};
            stream::iter(batch.into_iter().enumerate())
                .map(|(k, (nonce, raw))| {
                    let node = node.clone();
                    async move {
                        if let Some(at) = paced_send_time(started, rate, senders, s, k) {
                            tokio::time::sleep_until(at.into()).await;
                        }
                        submit(&node, nonce, raw).await
                    }
                })
                .buffered(inflight)
                .try_collect::<Vec<_>>()
                .await
        }));
    }
    // Watch blocks while the senders run.
    let mut submitted: HashMap<B256, Instant> = HashMap::new();
    let mut pending_tasks = tasks;
    let mut included: HashMap<B256, Instant> = HashMap::new();
    let mut next_block = start_block.to::<u64>() + 1;
    let mut blocks = 0;
    let mut submit_time = None;
    let deadline = started + Duration::from_secs(args.timeout);
    loop {
        if !pending_tasks.is_empty() && pending_tasks.iter().all(|t| t.is_finished()) {
            for task in pending_tasks.drain(..) {
                submitted.extend(task.await??);
            }
            submit_time = Some(started.elapsed());
        }
        let head: U256 = watcher.call("eth_blockNumber", vec![]).await?;
        while next_block <= head.to::<u64>() {
            let block: Value = watcher
                .call(
                    "eth_getBlockByNumber",
                    vec![json!(format!("{next_block:#x}")), json!(false)],
                )
                .await?;
            let now = Instant::now();
            let txs = block["transactions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if !txs.is_empty() {
                blocks += 1;
            }
            for tx in txs {
                if let Ok(hash) = serde_json::from_value::<B256>(tx) {
                    included.insert(hash, now);
                }
            }
            next_block += 1;
        }
        if submit_time.is_some() && submitted.keys().all(|h| included.contains_key(h)) {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "{} of {} transactions included before the timeout",
                included.len(),
                args.txs
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let last = submitted
        .keys()
        .filter_map(|h| included.get(h))
        .max()
        .copied()
        .unwrap_or(started);
    let mut latencies: Vec<Duration> = submitted
        .iter()
        .map(|(h, at)| included[h].saturating_duration_since(*at))
        .collect();
    latencies.sort();
    Ok(LoadReport {
        sent: submitted.len() as u64,
        elapsed: last.saturating_duration_since(started),
        submit_time: submit_time.unwrap_or_default(),
        latencies,
        blocks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paced_sends_interleave_senders_at_the_rate() {
        let t0 = Instant::now();
        assert_eq!(paced_send_time(t0, 0, 10, 3, 7), None);
        // 1,000 a second over 10 senders: sender 3's 8th transaction is slot 73, at 73 ms.
        let at = paced_send_time(t0, 1_000, 10, 3, 7).unwrap();
        assert_eq!(at - t0, Duration::from_millis(73));
        // Every slot of the first second is taken once, in order, by sender then index.
        let mut times: Vec<Duration> = (0..10)
            .flat_map(|s| (0..100).map(move |k| (s, k)))
            .map(|(s, k)| paced_send_time(t0, 1_000, 10, s, k).unwrap() - t0)
            .collect();
        times.sort();
        times.dedup();
        assert_eq!(times.len(), 1_000);
        assert_eq!(times.last(), Some(&Duration::from_millis(999)));
    }
}
