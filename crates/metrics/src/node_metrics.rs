//! The metrics a node reports.

use prometheus::{
    exponential_buckets, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec,
    IntGauge, Opts, Registry,
};

/// Every metric of a node, registered in one registry.
#[derive(Clone, Debug)]
pub struct NodeMetrics {
    registry: Registry,
    /// Seconds spent executing a block's transactions (revm).
    pub block_execution_seconds: Histogram,
    /// Seconds spent computing a block's state root.
    pub state_root_seconds: Histogram,
    /// Seconds spent committing a block (staging its writes; the disk write follows in the
    /// background unless every block is persisted at once).
    pub block_commit_seconds: Histogram,
    /// Gas executed, for gas/s as `rate(fastevm_gas_total[1m])`.
    pub gas_total: IntCounter,
    /// Number of the canonical head.
    pub head_number: IntGauge,
    /// Transactions in the last imported block.
    pub block_transactions: IntGauge,
    /// Engine API calls by method and outcome.
    pub engine_calls: IntCounterVec,
    /// JSON-RPC calls by method.
    pub rpc_calls: IntCounterVec,
    /// JSON-RPC latency by method.
    pub rpc_seconds: HistogramVec,
    /// Pending transactions in the pool.
    pub txpool_pending: IntGauge,
    /// Queued transactions in the pool.
    pub txpool_queued: IntGauge,
    /// Current consensus round.
    pub consensus_round: IntGauge,
    /// Index of the last consensus commit executed.
    pub consensus_commit_index: IntGauge,
    /// Other validators this one heard from recently (a block in the last 20 rounds).
    pub consensus_peers: IntGauge,
    /// Validators leader reputation swapped out of the leader schedule (they lead no round).
    pub consensus_leaders_swapped_out: IntGauge,
    /// Highest EVM block whose hash validators holding a quorum of the stake signed alike.
    pub executed_agreement_height: IntGauge,
    /// Blocks of rounds below this one were deleted from the consensus store (retention).
    pub consensus_pruned_round: IntGauge,
    /// Highest commit index validators holding a quorum of the stake voted for, as seen here
    /// (far above `consensus_commit_index`: this validator is catching up by commit sync).
    pub consensus_quorum_commit_index: IntGauge,
    /// Commits this validator took from its peers through commit sync since it started.
    pub consensus_commits_synced: IntGauge,
    /// Seconds from a commit's consensus timestamp (its leader block's) to its executed block,
    /// by this machine's clock.
    pub commit_latency_seconds: Histogram,
    /// Per-hop latency of a transaction, hop 1: pool admission to being handed to the validator
    /// for a proposal (the pool feed).
    pub tx_admission_to_proposal_seconds: Histogram,
    /// Hop 2: an own DAG block's proposal (its timestamp) to its commit reaching the bridge.
    pub proposal_to_commit_seconds: Histogram,
    /// End to end: pool admission to the canonical executed block holding the transaction
    /// (hop 3, commit to executed block, is `commit_latency_seconds`).
    pub tx_inclusion_seconds: Histogram,
}

impl NodeMetrics {
    /// Creates and registers every metric (names prefixed `fastevm_`).
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("fastevm".into()), None).expect("valid prefix");
        let seconds = |name: &str, help: &str| {
            let h = Histogram::with_opts(
                HistogramOpts::new(name, help)
                    .buckets(exponential_buckets(0.0005, 2.0, 16).expect("valid buckets")),
            )
            .expect("valid histogram");
            registry
                .register(Box::new(h.clone()))
                .expect("unique metric");
            h
        };
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("valid gauge");
            registry
                .register(Box::new(g.clone()))
                .expect("unique metric");
            g
        };
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid counter");
            registry
                .register(Box::new(c.clone()))
                .expect("unique metric");
            c
        };
        let gas_total =
            IntCounter::new("gas_total", "Gas executed in imported blocks").expect("valid counter");
        registry
            .register(Box::new(gas_total.clone()))
            .expect("unique metric");
        let rpc_seconds = HistogramVec::new(
            HistogramOpts::new("rpc_seconds", "JSON-RPC latency by method")
                .buckets(exponential_buckets(0.0001, 2.0, 16).expect("valid buckets")),
            &["method"],
        )
        .expect("valid histogram");
        registry
            .register(Box::new(rpc_seconds.clone()))
            .expect("unique metric");
        Self {
            block_execution_seconds: seconds(
                "block_execution_seconds",
                "Block transaction execution time",
            ),
            state_root_seconds: seconds("state_root_seconds", "Block state root computation time"),
            block_commit_seconds: seconds("block_commit_seconds", "Block commit time (staging its writes for the database)"),
            commit_latency_seconds: seconds(
                "consensus_commit_latency_seconds",
                "Seconds from a commit's consensus timestamp (its leader block's) to its executed block",
            ),
            tx_admission_to_proposal_seconds: seconds(
                "tx_admission_to_proposal_seconds",
                "Seconds from a transaction's pool admission to its hand-over to the validator for a proposal",
            ),
            proposal_to_commit_seconds: seconds(
                "consensus_proposal_to_commit_seconds",
                "Seconds from an own DAG block's proposal to its commit reaching the bridge",
            ),
            tx_inclusion_seconds: seconds(
                "tx_inclusion_seconds",
                "Seconds from a transaction's pool admission to the canonical executed block holding it",
            ),
            gas_total,
            head_number: gauge("head_number", "Canonical head block number"),
            block_transactions: gauge(
                "block_transactions",
                "Transactions in the last imported block",
            ),
            engine_calls: counter_vec(
                "engine_calls_total",
                "Engine API calls",
                &["method", "outcome"],
            ),
            rpc_calls: counter_vec("rpc_calls_total", "JSON-RPC calls", &["method"]),
            rpc_seconds,
            txpool_pending: gauge("txpool_pending", "Pending transactions"),
            txpool_queued: gauge("txpool_queued", "Queued transactions"),
            consensus_round: gauge("consensus_round", "Current consensus round"),
            consensus_commit_index: gauge(
                "consensus_commit_index",
                "Last executed consensus commit index",
            ),
            consensus_peers: gauge(
                "consensus_peers",
                "Other validators with a block in the last 20 rounds",
            ),
            consensus_leaders_swapped_out: gauge(
                "consensus_leaders_swapped_out",
                "Validators leader reputation swapped out of the leader schedule",
            ),
            executed_agreement_height: gauge(
                "executed_agreement_height",
                "Highest EVM block whose hash a quorum of validators signed alike",
            ),
            consensus_pruned_round: gauge(
                "consensus_pruned_round",
                "Blocks of rounds below this one were deleted from the consensus store",
            ),
            consensus_quorum_commit_index: gauge(
                "consensus_quorum_commit_index",
                "Highest commit index validators holding a quorum of the stake voted for",
            ),
            consensus_commits_synced: gauge(
                "consensus_commits_synced",
                "Commits taken from peers through commit sync since the validator started",
            ),
            registry,
        }
    }

    /// The metrics in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus::TextEncoder::new()
            .encode_utf8(&self.registry.gather(), &mut out)
            .expect("text encoding of gathered metrics cannot fail");
        out
    }

    /// Observes hop 1 for transactions just taken from the pool for a proposal, given when each
    /// was admitted (`None`: not known to the pool).
    pub fn observe_admission_to_proposal(
        &self,
        admitted: impl IntoIterator<Item = Option<std::time::Instant>>,
    ) {
        for admitted in admitted.into_iter().flatten() {
            self.tx_admission_to_proposal_seconds
                .observe(admitted.elapsed().as_secs_f64());
        }
    }
}

impl Default for NodeMetrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_registered_metrics() {
        let m = NodeMetrics::new();
        m.head_number.set(42);
        m.gas_total.inc_by(21_000);
        m.rpc_calls.with_label_values(&["eth_chainId"]).inc();
        m.block_execution_seconds.observe(0.004);
        let text = m.render();
        assert!(text.contains("fastevm_head_number 42"), "{text}");
        assert!(text.contains("fastevm_gas_total 21000"));
        assert!(text.contains("fastevm_rpc_calls_total{method=\"eth_chainId\"} 1"));
        assert!(text.contains("fastevm_block_execution_seconds_count 1"));
    }
}
