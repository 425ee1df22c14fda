//! Commit sync at the core: a core cut off from the committee takes the certified commits of a
//! peer, ends with the same chain, and goes on committing with the others.

use super::tests::{all, commit_digests, params, Cluster};
use super::*;
use crate::commit_certifier::{certifiers_of, verify_certified_range};

fn gc_params(own: AuthorityIndex) -> CoreParams {
    CoreParams {
        gc_depth: 10,
        retention_rounds: 0,
        ..params(own)
    }
}

/// Cores 0..=2 run `rounds` rounds among themselves; core 3 hears nothing.
fn cut_off_cluster(rounds: u64) -> Cluster {
    let mut c = Cluster::with_params(4, gc_params);
    for r in 1..=rounds {
        c.round(&[0, 1, 2], &[0, 1, 2], r * 100);
    }
    c
}

/// What a peer serves: core `from`'s stored commits from `start` up to the newest one its
/// stored blocks certify, with their blocks, and the certifying blocks.
fn serve(
    c: &Cluster,
    from: usize,
    start: CommitIndex,
) -> (Vec<CertifiedCommit>, Vec<VerifiedBlock>) {
    let store = &c.stores[from];
    let mut commits = store.scan_commits_from(start).unwrap();
    let blocks = store.scan_blocks_from_round(1).unwrap();
    while let Some(last) = commits.last() {
        if let Some(certifiers) = certifiers_of(last.reference(), &blocks, &c.committee) {
            let certified = commits
                .into_iter()
                .map(|commit| {
                    let blocks = store
                        .read_blocks(&commit.blocks)
                        .unwrap()
                        .into_iter()
                        .map(Option::unwrap)
                        .collect();
                    CertifiedCommit { commit, blocks }
                })
                .collect();
            return (certified, certifiers);
        }
        commits.pop();
    }
    panic!("nothing certified");
}

#[test]
fn a_cut_off_core_takes_certified_commits_and_rejoins() {
    let mut c = cut_off_cluster(40);
    let (certified, certifiers) = serve(&c, 0, 1);
    let records: Vec<Commit> = certified.iter().map(|x| x.commit.clone()).collect();
    verify_certified_range(&c.committee, 1, &records, &certifiers).unwrap();
    let synced = certified.len();
    assert!(synced >= 20, "{synced} commits certified after 40 rounds");

    let out = c.cores[3].add_certified_commits(certified).unwrap();
    assert_eq!(out.commits.len(), synced);
    assert_eq!(c.cores[3].last_commit_index(), synced as u64);
    assert_eq!(
        commit_digests(&out.commits),
        commit_digests(&c.commits[0][..synced])
    );
    for (ours, theirs) in out.commits.iter().zip(&c.commits[0]) {
        assert_eq!(ours.blocks, theirs.blocks, "commit {}", ours.commit_index);
        assert_eq!(ours.timestamp_ms, theirs.timestamp_ms);
    }
    c.commits[3].extend(out.commits);
    // Stored with their blocks: a consumer replaying from 0 gets the same sub-DAGs.
    assert_eq!(
        commit_digests(&c.cores[3].replay_commits(0).unwrap()),
        commit_digests(&c.commits[3])
    );
    // It votes for what it synced, like for its own commits.
    let p = c.cores[3].try_propose(4_100, true).unwrap().unwrap();
    assert_eq!(
        p.block.block.commit_votes.last().map(|v| v.index),
        Some(synced as u64)
    );
    assert!(p.block.block.round > 30, "proposes near the others' round");
    c.deliver_and_sync(&[p.block], &[0, 1, 2]);

    // Back in the committee: every core, every round, missing blocks fetched.
    let before = c.commits[0].len();
    for r in 42..=60 {
        let mut blocks = Vec::new();
        for i in all(4) {
            if let Some(p) = c.cores[i].try_propose(r * 100, true).unwrap() {
                c.commits[i].extend(p.commits);
                blocks.push(p.block);
            }
        }
        c.deliver_and_sync(&blocks, &all(4));
    }
    assert!(c.commits[0].len() > before + 10);
    let common = c.commits[0].len().min(c.commits[3].len());
    assert!(common > before, "core 3 commits again");
    assert_eq!(
        commit_digests(&c.commits[3][..common]),
        commit_digests(&c.commits[0][..common])
    );
    assert!(c.commits[3][synced..]
        .iter()
        .any(|s| s.blocks.iter().any(|b| b.author() == 3)));
}

#[test]
fn certified_commits_must_extend_the_chain() {
    let mut c = cut_off_cluster(20);
    let (certified, _) = serve(&c, 0, 1);
    assert!(certified.len() >= 3);
    let mismatch = |r: ConsensusResult<AddBlocksOutcome>| {
        matches!(r, Err(ConsensusError::CertifiedCommitMismatch { .. }))
    };
    // Not the next index.
    assert!(mismatch(
        c.cores[3].add_certified_commits(certified[1..2].to_vec())
    ));
    // Another previous digest.
    let mut forged = certified[0].clone();
    forged.commit.previous_digest = crate::commit::CommitDigest([1; 32]);
    assert!(mismatch(c.cores[3].add_certified_commits(vec![forged])));
    // Blocks that are not the ones the commit names.
    let mut swapped = certified[0].clone();
    swapped.blocks = certified[1].blocks.clone();
    assert!(mismatch(c.cores[3].add_certified_commits(vec![swapped])));
    assert_eq!(c.cores[3].last_commit_index(), 0, "nothing taken");

    // The real ones are taken once; offered again, they are skipped.
    let n = certified.len();
    assert_eq!(
        c.cores[3]
            .add_certified_commits(certified.clone())
            .unwrap()
            .commits
            .len(),
        n
    );
    let again = c.cores[3].add_certified_commits(certified).unwrap();
    assert!(again.commits.is_empty());
    assert_eq!(c.cores[3].last_commit_index(), n as u64);
}

#[test]
fn a_restarted_core_recovers_the_synced_chain() {
    let mut c = cut_off_cluster(30);
    let (certified, _) = serve(&c, 1, 1);
    let n = certified.len() as u64;
    c.cores[3].add_certified_commits(certified).unwrap();
    c.reopen(3);
    assert_eq!(c.cores[3].last_commit_index(), n);
    assert_eq!(
        c.cores[3].last_commit().map(Commit::digest),
        c.stores[1]
            .scan_commits_in(n, n)
            .unwrap()
            .first()
            .map(Commit::digest)
    );
}
