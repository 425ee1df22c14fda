//! What the dashboard shows, computed from samples: per node the head, rates over a sliding
//! window (blocks/s, tx/s, rounds/s, commit latency) and pool size; across nodes whether they
//! agree on the block at the lowest common height. Pure: the poller feeds it samples with
//! their times.

use serde::Serialize;
use std::{collections::VecDeque, time::Duration};

/// How far back rates are measured.
pub(super) const RATE_WINDOW: Duration = Duration::from_secs(10);

/// One observation of a node.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Sample {
    /// Milliseconds since the dashboard started.
    pub at_ms: u64,
    /// Head block number.
    pub head: u64,
    /// Head block hash.
    pub hash: String,
    /// Transactions in all blocks seen so far (since the first sample).
    pub transactions: u64,
    /// Pending and queued pool transactions.
    pub pending: u64,
    /// Queued pool transactions.
    pub queued: u64,
    /// From the node's metrics, when it serves them.
    pub consensus: Option<ConsensusSample>,
}

/// The consensus figures of a node's metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct ConsensusSample {
    /// `fastevm_consensus_round`.
    pub round: u64,
    /// `fastevm_consensus_peers`.
    pub peers: u64,
    /// `fastevm_consensus_commit_latency_seconds_sum`.
    pub latency_sum: f64,
    /// `fastevm_consensus_commit_latency_seconds_count`.
    pub latency_count: f64,
}

/// A node as the page shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeView {
    /// Label (`node 0`, ...).
    pub name: String,
    /// JSON-RPC URL.
    pub url: String,
    /// Whether the last poll reached it.
    pub up: bool,
    /// Why the last poll failed.
    pub error: Option<String>,
    /// Head block number.
    pub head: Option<u64>,
    /// Head block hash.
    pub hash: Option<String>,
    /// Blocks per second over the window.
    pub blocks_per_sec: Option<f64>,
    /// Transactions per second over the window.
    pub tx_per_sec: Option<f64>,
    /// Pending pool transactions.
    pub pending: Option<u64>,
    /// Queued pool transactions.
    pub queued: Option<u64>,
    /// Consensus round.
    pub round: Option<u64>,
    /// Rounds per second over the window.
    pub rounds_per_sec: Option<f64>,
    /// Validators heard from recently.
    pub peers: Option<u64>,
    /// Mean commit latency over the window, in milliseconds.
    pub commit_latency_ms: Option<f64>,
}

/// Whether the nodes agree.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Agreement {
    /// The lowest head among reachable nodes, where hashes are compared.
    pub height: Option<u64>,
    /// Every reachable node has the same block there.
    pub agree: bool,
    /// Distinct hashes at that height.
    pub distinct_hashes: usize,
}

/// The page's whole state (`GET /api/status`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DashboardView {
    /// Chain id of the first node that answered.
    pub chain_id: Option<u64>,
    /// Polls so far.
    pub polls: u64,
    /// The nodes, in `--nodes` order.
    pub nodes: Vec<NodeView>,
    /// Agreement at the common height.
    pub agreement: Agreement,
    /// Sum of the nodes' tx/s divided by the number of nodes reporting (every node executes
    /// every block).
    pub tx_per_sec: Option<f64>,
}

/// A node's samples within the window.
#[derive(Debug, Default)]
pub(super) struct History {
    samples: VecDeque<Sample>,
}

impl History {
    /// Adds `sample`, forgetting what fell out of the window.
    pub(super) fn push(&mut self, sample: Sample) {
        let window = RATE_WINDOW.as_millis() as u64;
        while self
            .samples
            .front()
            .is_some_and(|s| sample.at_ms.saturating_sub(s.at_ms) > window)
        {
            self.samples.pop_front();
        }
        self.samples.push_back(sample);
    }

    /// The latest sample.
    pub(super) fn latest(&self) -> Option<&Sample> {
        self.samples.back()
    }

    /// The view of this node from its samples.
    pub(super) fn view(&self, name: String, url: String) -> NodeView {
        let mut view = NodeView {
            name,
            url,
            ..NodeView::default()
        };
        let (Some(first), Some(last)) = (self.samples.front(), self.samples.back()) else {
            return view;
        };
        view.head = Some(last.head);
        view.hash = Some(last.hash.clone());
        view.pending = Some(last.pending);
        view.queued = Some(last.queued);
        let secs = (last.at_ms.saturating_sub(first.at_ms)) as f64 / 1e3;
        if secs > 0.0 {
            view.blocks_per_sec = Some(last.head.saturating_sub(first.head) as f64 / secs);
            view.tx_per_sec =
                Some(last.transactions.saturating_sub(first.transactions) as f64 / secs);
        }
        if let Some(now) = last.consensus {
            view.round = Some(now.round);
            view.peers = Some(now.peers);
            if let Some(then) = first.consensus {
                if secs > 0.0 {
                    view.rounds_per_sec = Some(now.round.saturating_sub(then.round) as f64 / secs);
                }
                let commits = now.latency_count - then.latency_count;
                if commits > 0.0 {
                    view.commit_latency_ms =
                        Some((now.latency_sum - then.latency_sum) / commits * 1e3);
                }
            }
        }
        view
    }
}

/// Agreement among `hashes` (one per reachable node) of the block at `height`.
pub(super) fn agreement(height: Option<u64>, hashes: &[String]) -> Agreement {
    let mut distinct: Vec<&String> = hashes.iter().collect();
    distinct.sort();
    distinct.dedup();
    Agreement {
        height,
        agree: height.is_some() && distinct.len() == 1,
        distinct_hashes: distinct.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at_ms: u64, head: u64, transactions: u64, round: u64, latency: (f64, f64)) -> Sample {
        Sample {
            at_ms,
            head,
            hash: format!("0x{head:x}"),
            transactions,
            pending: 3,
            queued: 1,
            consensus: Some(ConsensusSample {
                round,
                peers: 3,
                latency_sum: latency.0,
                latency_count: latency.1,
            }),
        }
    }

    #[test]
    fn rates_are_measured_over_the_window() {
        let mut history = History::default();
        history.push(sample(0, 10, 100, 50, (1.0, 10.0)));
        history.push(sample(2_000, 14, 500, 90, (1.6, 12.0)));
        let view = history.view("node 0".into(), "http://x".into());
        assert_eq!(view.head, Some(14));
        assert_eq!(view.blocks_per_sec, Some(2.0));
        assert_eq!(view.tx_per_sec, Some(200.0));
        assert_eq!(view.rounds_per_sec, Some(20.0));
        let latency = view.commit_latency_ms.unwrap();
        assert!((latency - 300.0).abs() < 1e-9, "{latency}");
        assert_eq!(
            (view.pending, view.queued, view.peers),
            (Some(3), Some(1), Some(3))
        );

        // Samples older than the window stop counting.
        history.push(sample(20_000, 24, 700, 300, (2.0, 14.0)));
        let view = history.view("node 0".into(), "http://x".into());
        assert_eq!(view.blocks_per_sec, None, "one sample left: no rate");
    }

    #[test]
    fn agreement_needs_one_hash() {
        let same = agreement(Some(5), &["0xa".into(), "0xa".into()]);
        assert!(same.agree);
        let split = agreement(Some(5), &["0xa".into(), "0xb".into(), "0xa".into()]);
        assert!(!split.agree);
        assert_eq!(split.distinct_hashes, 2);
        assert!(!agreement(None, &[]).agree);
    }
}
