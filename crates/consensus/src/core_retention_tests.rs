//! Store retention through the core: what is pruned, what is kept for a lagging consumer, and
//! that a pruned store still recovers.

use super::tests::{all, commit_digests, params, Cluster};
use super::*;
use crate::retention::PRUNE_STEP_ROUNDS;

const RETENTION: Round = 20;

/// Without leader reputation the recovery window is two GC depths, so the retention window
/// decides alone.
fn retention_params(own: AuthorityIndex) -> CoreParams {
    CoreParams {
        gc_depth: 4,
        retention_rounds: RETENTION,
        leader_reputation: None,
        ..params(own)
    }
}

/// Node `i`'s consumer reports its `nth` commit (1-based; the latest when `None`) handled.
fn report_progress(c: &mut Cluster, i: usize, nth: Option<usize>) {
    let commit = match nth {
        Some(k) => c.commits[i].get(k - 1),
        None => c.commits[i].last(),
    };
    if let Some(commit) = commit {
        let progress = ConsumerProgress {
            commit: commit.commit_index,
            leader_round: commit.leader.round,
        };
        c.cores[i].set_consumer_progress(progress);
    }
}

fn stored_blocks(c: &Cluster, i: usize) -> usize {
    c.stores[i].scan_blocks_from_round(0).unwrap().len()
}

#[test]
fn the_store_stays_bounded_and_keeps_what_a_lagging_consumer_needs() {
    let n = 4;
    let mut c = Cluster::with_params(n, retention_params);
    // Node 0's consumer keeps up; node 1's stopped at its 150th commit; node 2's never reports.
    let mut sizes = Vec::new();
    for r in 1..=1_000u64 {
        c.round(&all(n), &all(n), r * 100);
        report_progress(&mut c, 0, None);
        report_progress(&mut c, 3, None);
        report_progress(&mut c, 1, Some(150));
        if r % 100 == 0 {
            sizes.push(stored_blocks(&c, 0));
        }
    }
    // Node 0: at most the retention window plus one prune step (and the rounds above the last
    // commit), from the first sample to the last: flat.
    let bound = n * (RETENTION + PRUNE_STEP_ROUNDS + 10) as usize;
    assert!(sizes.iter().all(|s| *s <= bound), "{sizes:?} > {bound}");
    let floor = c.cores[0].pruned_floor();
    assert!(floor.round > 800 && floor.commit > 700, "{floor:?}");
    let commits = c.stores[0].scan_commits_from(0).unwrap();
    assert!(commits.len() < 200, "{} commits kept", commits.len());
    assert_eq!(commits.first().unwrap().index, floor.commit);

    // Node 1 keeps every commit after its consumer's and every block they reference.
    let replay = c.cores[1].replay_commits(150).unwrap();
    assert_eq!(replay.len(), c.commits[1].len() - 150);
    assert_eq!(
        commit_digests(&replay),
        commit_digests(&c.commits[1][150..])
    );
    assert!(stored_blocks(&c, 1) > 3 * bound);
    assert!(
        c.cores[1].pruned_floor().round > 0,
        "the part below was pruned"
    );
    let oldest_kept = c.stores[1].scan_blocks_from_round(0).unwrap()[0].round();
    assert!(oldest_kept <= c.commits[1][149].leader.round);
    // Node 2 never heard from its consumer: nothing pruned.
    assert_eq!(c.cores[2].pruned_floor(), PruneFloor::default());
    assert!(stored_blocks(&c, 2) >= n * 990);

    // A pruned store recovers, and the node goes on in agreement.
    let index = c.cores[0].last_commit_index();
    c.reopen(0);
    assert_eq!(c.cores[0].last_commit_index(), index);
    for r in 1_001..=1_020u64 {
        c.round(&all(n), &all(n), r * 100);
    }
    let k = c.commits[0].len().min(c.commits[2].len());
    assert!(k > 1_000);
    assert_eq!(
        commit_digests(&c.commits[0][..k]),
        commit_digests(&c.commits[2][..k])
    );
}

#[test]
fn no_retention_keeps_everything() {
    let n = 4;
    let mut c = Cluster::with_params(n, |own| CoreParams {
        retention_rounds: 0,
        ..retention_params(own)
    });
    for r in 1..=300u64 {
        c.round(&all(n), &all(n), r * 100);
        report_progress(&mut c, 0, None);
    }
    assert_eq!(c.cores[0].pruned_floor(), PruneFloor::default());
    assert!(stored_blocks(&c, 0) >= n * 290);
}
