//! Errors of the consensus bridge.

use alloy_primitives::B256;
use fastevm_engine_api::EngineClientError;

/// Why the bridge could not turn a commit into a block.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// The execution node could not be reached (retried with backoff before giving up).
    #[error("execution node unreachable: {0}")]
    Unreachable(String),
    /// The execution node answered an Engine API error.
    #[error("execution node refused {method}: {reason}")]
    Refused {
        /// The Engine API method.
        method: &'static str,
        /// The error it returned.
        reason: String,
    },
    /// The execution node found the commit's block INVALID: the chain cannot go on.
    #[error("commit {commit} produced an INVALID block {block}: {reason}")]
    InvalidBlock {
        /// Commit index.
        commit: u64,
        /// Block hash.
        block: B256,
        /// The validation error.
        reason: String,
    },
    /// The execution node is syncing and cannot build on the expected head.
    #[error("execution node is syncing (head {0} unknown to it)")]
    Syncing(B256),
    /// The execution node's answers contradict what this bridge built or expects.
    #[error("divergence at commit {commit}: {detail}")]
    Divergence {
        /// Commit index.
        commit: u64,
        /// What did not match.
        detail: String,
    },
    /// The execution node lost blocks (a crash before they reached its disk) that the bridge
    /// can no longer execute again: restart the validator, it replays commits from its store.
    #[error(
        "execution node no longer has block {block}: its head is at commit {execution_commit}, \
         the bridge at {bridge_commit}, and the commits between are not kept"
    )]
    LostBlocks {
        /// The block the node answered SYNCING for.
        block: B256,
        /// Commit index of the node's head.
        execution_commit: u64,
        /// Last commit the bridge handled.
        bridge_commit: u64,
    },
    /// A commit arrived out of order.
    #[error("commit {got} arrived but the next to execute is {expected}")]
    CommitGap {
        /// The commit index expected next.
        expected: u64,
        /// The commit index received.
        got: u64,
    },
}

impl From<EngineClientError> for BridgeError {
    fn from(e: EngineClientError) -> Self {
        match e {
            EngineClientError::Unreachable(reason) => BridgeError::Unreachable(reason),
            EngineClientError::Refused { method, reason } => {
                BridgeError::Refused { method, reason }
            }
        }
    }
}

impl BridgeError {
    /// Whether retrying the same call may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, BridgeError::Unreachable(_))
    }
}
