//! How much history a validator keeps in its store, and the floor below which blocks and commits
//! are deleted, so disk use stays flat however long the chain runs.
//!
//! The floor never passes what is still needed:
//! - what a restart reads (the core's recovery window: blocks of two GC depths below the last
//!   committed leader, and the commits that rebuild the leader schedule);
//! - a window of `retention_rounds` rounds below the last committed leader (block sync for
//!   peers that fell a little behind, and margin for an execution node that loses its newest
//!   unwritten blocks in a crash and has their commits replayed);
//! - every commit the consumer (the consensus bridge) has not reported handled, and every block
//!   such a commit references (they are replayed to it after a restart);
//! - this validator's own latest block (it must never sign a round twice).
//!
//! Pure: the core feeds it and writes the result through [`crate::Store::prune`].

use crate::commit::{Commit, CommitIndex, CommittedSubDag};
use crate::core::CoreParams;
use crate::types::Round;

/// Blocks of rounds below `round` and commits with index below `commit` may be deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PruneFloor {
    /// Lowest block round kept.
    pub round: Round,
    /// Lowest commit index kept.
    pub commit: CommitIndex,
}

/// The consumer's progress: the highest commit it handled, and that commit's leader round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsumerProgress {
    /// Index of the highest handled commit.
    pub commit: CommitIndex,
    /// Round of its leader.
    pub leader_round: Round,
}

impl ConsumerProgress {
    /// Progress up to and including `commit`.
    pub fn of(commit: &CommittedSubDag) -> Self {
        Self {
            commit: commit.commit_index,
            leader_round: commit.leader.round,
        }
    }
}

/// What the floor is computed from.
#[derive(Clone, Copy, Debug)]
pub struct FloorInputs {
    /// Index of the last commit.
    pub last_commit: CommitIndex,
    /// Round of the last committed leader.
    pub last_leader_round: Round,
    /// Where a restart starts reading the store.
    pub recovery: PruneFloor,
    /// Rounds kept below the last committed leader.
    pub retention_rounds: Round,
    /// The core's GC depth: a commit references no block at or below the previous committed
    /// leader's round minus this.
    pub gc_depth: Round,
    /// At most this many leaders are committed per round.
    pub leaders_per_round: u32,
    /// What the consumer has handled.
    pub consumer: ConsumerProgress,
    /// Round of this validator's latest own block.
    pub own_last_round: Round,
}

/// The lowest floor that keeps everything the module docs list.
pub fn prune_floor(i: &FloorInputs) -> PruneFloor {
    // The commits after the consumer's have blocks above its leader round minus the GC depth.
    let round = i
        .recovery
        .round
        .min(i.last_leader_round.saturating_sub(i.retention_rounds))
        .min(i.consumer.leader_round.saturating_sub(i.gc_depth))
        .min(i.own_last_round);
    let window_commits = u64::from(i.retention_rounds) * u64::from(i.leaders_per_round.max(1));
    let commit = i
        .recovery
        .commit
        .min(i.last_commit.saturating_sub(window_commits))
        .min(i.consumer.commit.saturating_add(1));
    PruneFloor { round, commit }
}

/// Rounds the floor must have moved by before the store is pruned again (pruning is a range
/// delete plus a compaction of the deleted range: worth batching).
pub const PRUNE_STEP_ROUNDS: Round = 100;

/// Whether pruning to `next` is due after pruning last to `done`.
pub fn prune_due(done: PruneFloor, next: PruneFloor) -> bool {
    next.round >= done.round.saturating_add(PRUNE_STEP_ROUNDS) && next.commit >= done.commit
}

/// Where recovery starts reading the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RecoveryFloors {
    /// Lowest block round loaded.
    pub(crate) block_round: Round,
    /// Lowest commit index replayed into the DAG state and leader reputation.
    pub(crate) commit_index: CommitIndex,
}

impl RecoveryFloors {
    /// After commit `last`: blocks from a GC depth below the GC round (the DAG needs those
    /// above the GC round; the margin keeps authorities' recent blocks), the commits that
    /// committed any of them, and — with leader reputation — every commit since the start of
    /// the window before the last closed one, so both swap tables in use are rebuilt exactly.
    /// Without GC, or before any commit, everything.
    pub(crate) fn of(params: &CoreParams, last: Option<&Commit>) -> Self {
        let everything = Self {
            block_round: 1,
            commit_index: 1,
        };
        let Some(last) = last else {
            return everything;
        };
        if params.gc_depth == 0 {
            return everything;
        }
        let block_round = last.leader.round.saturating_sub(2 * params.gc_depth).max(1);
        // Leader rounds grow with the commit index, at most `leaders_per_round` per round.
        let rounds = u64::from(last.leader.round - block_round + 1);
        let per_round = u64::from(params.committer.leaders_per_round.max(1));
        let mut commit_index = last.index.saturating_sub(rounds * per_round).max(1);
        if let Some(reputation) = params.leader_reputation {
            let window = reputation.commits_per_update;
            if let Some(closed) = last.index.checked_div(window) {
                let window_start = closed.saturating_sub(2) * window + 1;
                commit_index = commit_index.min(window_start);
            }
        }
        Self {
            block_round,
            commit_index,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> FloorInputs {
        FloorInputs {
            last_commit: 10_000,
            last_leader_round: 20_000,
            recovery: PruneFloor {
                round: 19_880,
                commit: 9_700,
            },
            retention_rounds: 5_000,
            gc_depth: 60,
            leaders_per_round: 1,
            consumer: ConsumerProgress {
                commit: 9_990,
                leader_round: 19_980,
            },
            own_last_round: 20_001,
        }
    }

    #[test]
    fn a_caught_up_consumer_leaves_the_retention_window() {
        assert_eq!(
            prune_floor(&inputs()),
            PruneFloor {
                round: 15_000,
                commit: 5_000,
            }
        );
    }

    #[test]
    fn a_lagging_consumer_keeps_its_commits_and_their_blocks() {
        let mut i = inputs();
        i.consumer = ConsumerProgress {
            commit: 1_000,
            leader_round: 2_000,
        };
        assert_eq!(
            prune_floor(&i),
            PruneFloor {
                round: 1_940,
                commit: 1_001,
            }
        );
    }

    #[test]
    fn the_recovery_window_and_the_own_block_are_kept() {
        let mut i = inputs();
        i.retention_rounds = 10;
        assert_eq!(prune_floor(&i), i.recovery);
        i.own_last_round = 7_000;
        assert_eq!(prune_floor(&i).round, 7_000);
        i.own_last_round = 0;
        assert_eq!(prune_floor(&i).round, 0, "never proposed: nothing pruned");
    }

    #[test]
    fn pruning_waits_for_the_floor_to_move_a_step() {
        let done = PruneFloor {
            round: 1_000,
            commit: 500,
        };
        let mut next = done;
        next.round += PRUNE_STEP_ROUNDS - 1;
        assert!(!prune_due(done, next));
        next.round += 1;
        assert!(prune_due(done, next));
        next.commit = 499;
        assert!(!prune_due(done, next));
    }
}
