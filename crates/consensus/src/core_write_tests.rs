//! Grouped store writes: received blocks wait for the next commit or own block, and whatever
//! leaves the core (an own block, a commit) is durable first.

use super::tests::{all, commit_digests, Cluster};
use super::*;

fn stored(c: &Cluster, i: usize) -> Vec<BlockRef> {
    c.stores[i]
        .scan_blocks_from_round(0)
        .unwrap()
        .iter()
        .map(VerifiedBlock::reference)
        .collect()
}

#[test]
fn received_blocks_are_written_with_the_next_own_block_in_one_write() {
    let mut c = Cluster::new(4);
    // Cores 1..3 propose round 1 (one write each); core 0 only receives.
    let round1 = c.round(&[1, 2, 3], &[0], 100);
    assert_eq!(c.cores[1].store_writes(), 1);
    assert_eq!(
        c.cores[0].store_writes(),
        0,
        "receiving alone writes nothing"
    );
    assert!(stored(&c, 0).is_empty());

    let own = c.cores[0].try_propose(200, true).unwrap().unwrap();
    assert_eq!(own.block.block.round, 2);
    assert_eq!(
        c.cores[0].store_writes(),
        1,
        "one write for the own block and its parents"
    );
    let mut expected: Vec<BlockRef> = round1.iter().map(SignedBlock::reference).collect();
    expected.push(own.block.reference());
    expected.sort();
    assert_eq!(stored(&c, 0), expected);

    // A restart finds the broadcast block: it never signs round 2 again.
    c.reopen(0);
    assert_eq!(c.cores[0].last_proposed_block().signed(), &own.block);
    assert!(c.cores[0].try_propose(10_000, true).unwrap().is_none());
}

#[test]
fn every_handed_out_commit_is_stored_with_its_blocks_at_about_two_writes_a_round() {
    let n = 4;
    let rounds = 12u64;
    let mut c = Cluster::new(n);
    for r in 1..=rounds {
        c.round(&all(n), &all(n), r * 100);
    }
    for i in 0..n {
        assert!(!c.commits[i].is_empty());
        let stored_commits = c.stores[i].scan_commits_from(0).unwrap();
        for sub in &c.commits[i] {
            assert!(
                stored_commits.contains(&sub.commit),
                "commit {} stored",
                sub.commit_index
            );
            let blocks = c.stores[i].read_blocks(&sub.commit.blocks).unwrap();
            assert!(
                blocks.iter().all(Option::is_some),
                "commit {} blocks stored",
                sub.commit_index
            );
        }
        // One write per own block and at most one per delivery that committed; before grouping
        // every delivery wrote its blocks and again its commits (four writes a round here).
        let writes = c.cores[i].store_writes();
        assert!(
            writes <= 2 * rounds,
            "core {i}: {writes} writes in {rounds} rounds"
        );
        assert!(writes >= rounds, "core {i}: each own block is written");
    }
}

#[test]
fn a_crash_loses_only_unwritten_received_blocks_and_they_are_accepted_again() {
    let n = 4;
    let mut c = Cluster::new(n);
    for r in 1..=4u64 {
        c.round(&all(n), &all(n), r * 100);
    }
    let commits_before = c.cores[0].last_commit_index();
    let stored_before = stored(&c, 0);
    // Round 5 arrives from cores 1 and 2 only: no quorum for a commit, no own block.
    let late = c.round(&[1, 2], &[0], 500);
    assert_eq!(c.cores[0].last_commit_index(), commits_before);
    assert_eq!(
        stored(&c, 0),
        stored_before,
        "received blocks not written yet"
    );
    c.reopen(0);
    assert_eq!(c.cores[0].last_commit_index(), commits_before);
    assert_eq!(c.cores[0].dag().last_block_of(1).unwrap().round(), 4);
    // Peers serve them again: accepted without complaint, and the node goes on in agreement.
    c.deliver(&late, &all(n));
    for r in 6..=9u64 {
        c.round(&all(n), &all(n), r * 100);
    }
    assert!(c.cores[0].last_commit_index() > commits_before);
    let k = c.commits[0].len().min(c.commits[1].len());
    assert_eq!(
        commit_digests(&c.commits[0][..k]),
        commit_digests(&c.commits[1][..k])
    );
}

#[test]
fn flush_writes_what_waits_and_nothing_when_nothing_waits() {
    let mut c = Cluster::new(4);
    let round1 = c.round(&[1, 2, 3], &[0], 100);
    c.cores[0].flush().unwrap();
    assert_eq!(c.cores[0].store_writes(), 1);
    assert_eq!(stored(&c, 0).len(), round1.len());
    c.cores[0].flush().unwrap();
    assert_eq!(
        c.cores[0].store_writes(),
        1,
        "an empty flush writes nothing"
    );
}
