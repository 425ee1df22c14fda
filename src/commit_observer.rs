//! What a validator does around each commit its bridge executes, shared by `fastevm dev` and
//! `fastevm consensus`: latency metrics, the executed-result vote and the handled commit to its
//! validator, a log line.

use fastevm_consensus::AuthorityIndex;
use fastevm_consensus_bridge::{CommitEvent, CommitOutcome};
use fastevm_consensus_node::ExecutedReporter;
use fastevm_metrics::NodeMetrics;

use crate::validator_metrics::{observe_commit, observe_committed};

/// Observes one validator's commits (see [`fastevm_consensus_bridge::ConsensusBridge::run`]).
#[derive(Debug, Clone)]
pub struct CommitObserver {
    /// Where latencies and the head go, if anywhere.
    pub metrics: Option<NodeMetrics>,
    /// The validator's index (its own blocks' proposal-to-commit latency is measured).
    pub own_index: AuthorityIndex,
    /// Where executed blocks are reported for the executed-result vote.
    pub reporter: ExecutedReporter,
    /// The node's number in a multi-node process, for log lines.
    pub node: Option<usize>,
}

impl CommitObserver {
    /// Handles one event of the bridge loop.
    pub fn observe(&self, event: CommitEvent<'_>) {
        match event {
            CommitEvent::Arrived(subdag) => {
                if let Some(metrics) = &self.metrics {
                    observe_committed(metrics, subdag, self.own_index);
                }
            }
            CommitEvent::Executed(subdag, outcome) => {
                if let Some(metrics) = &self.metrics {
                    observe_commit(metrics, subdag.timestamp_ms, Some(outcome));
                }
                // Its block is in the execution node (staged or written): the validator's store
                // may delete the commit once it leaves the retention window, which is far longer
                // than the blocks a crashed execution node can lose before writing them.
                self.reporter.commit_handled(subdag);
                if let CommitOutcome::Executed {
                    hash,
                    number,
                    transactions,
                } = outcome
                {
                    self.reporter.report(*number, hash.0);
                    tracing::info!(node = self.node, number, %hash, transactions, commit = subdag.commit_index, "block");
                }
            }
        }
    }
}
