//! What a validator reports to its metrics, shared by `fastevm consensus` and `fastevm dev`:
//! the round, commit index and live peers from its node's status, and for every commit the
//! latency from its consensus timestamp to the executed block, the proposal-to-commit latency of
//! its own blocks in it, and the new head.

use fastevm_consensus::{AuthorityIndex, CommittedSubDag};
use fastevm_consensus_bridge::CommitOutcome;
use fastevm_consensus_node::NodeStatus;
use fastevm_metrics::NodeMetrics;
use tokio::{sync::watch, task::JoinHandle};

/// Copies every status change of a validator into `metrics` until the validator stops.
pub fn spawn_status_metrics(
    mut status: watch::Receiver<NodeStatus>,
    metrics: NodeMetrics,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while status.changed().await.is_ok() {
            let current = *status.borrow_and_update();
            metrics.consensus_round.set(current.clock_round as i64);
            metrics
                .consensus_commit_index
                .set(current.last_commit_index as i64);
            metrics.consensus_peers.set(current.live_peers as i64);
            metrics
                .consensus_leaders_swapped_out
                .set(current.leaders_swapped_out as i64);
            metrics
                .executed_agreement_height
                .set(current.executed_agreement_height as i64);
            metrics
                .consensus_pruned_round
                .set(i64::from(current.pruned_round));
            metrics
                .consensus_quorum_commit_index
                .set(current.quorum_commit_index as i64);
            metrics
                .consensus_commits_synced
                .set(current.commits_synced as i64);
        }
    })
}

/// Records, when `subdag` reaches the bridge, how long ago each of the validator's own blocks in
/// it (author `own`) was proposed, by the block's timestamp (this machine's clock).
pub fn observe_committed(metrics: &NodeMetrics, subdag: &CommittedSubDag, own: AuthorityIndex) {
    let now_ms = unix_now_ms();
    for block in subdag.blocks.iter().filter(|b| b.author() == own) {
        metrics
            .proposal_to_commit_seconds
            .observe(now_ms.saturating_sub(block.timestamp_ms()) as f64 / 1e3);
    }
}

/// Records a commit whose leader's consensus time is `timestamp_ms` and that the bridge has
/// just handled: its latency by this machine's clock and, if it made a block, the new head.
pub fn observe_commit(metrics: &NodeMetrics, timestamp_ms: u64, outcome: Option<&CommitOutcome>) {
    metrics
        .commit_latency_seconds
        .observe(unix_now_ms().saturating_sub(timestamp_ms) as f64 / 1e3);
    if let Some(CommitOutcome::Executed {
        number,
        transactions,
        ..
    }) = outcome
    {
        metrics.head_number.set(*number as i64);
        metrics.block_transactions.set(*transactions as i64);
    }
}

fn unix_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}
