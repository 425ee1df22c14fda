//! Certification rules on hand-built blocks and commit chains.

use super::*;
use crate::commit::CommitDigest;
use crate::types::{Block, BlockDigest, BlockRef, SignedBlock};

fn committee() -> Committee {
    Committee::new_for_test(4, 7).0
}

/// A block of `author` voting for `votes` (unsigned: these rules take verified blocks).
fn voter(author: u32, round: u32, votes: Vec<CommitRef>) -> VerifiedBlock {
    VerifiedBlock::new_trusted(SignedBlock {
        block: Block {
            epoch: 0,
            round,
            author,
            timestamp_ms: 0,
            ancestors: vec![BlockRef::new(round - 1, author, BlockDigest::MIN)],
            transactions: vec![],
            commit_votes: votes,
        },
        signature: [0; 64],
    })
}

/// Commits 1..=n, each naming its predecessor's digest.
fn chain(n: u64) -> Vec<Commit> {
    let mut out: Vec<Commit> = Vec::new();
    for index in 1..=n {
        let leader = BlockRef::new(index as u32, 0, BlockDigest([index as u8; 32]));
        out.push(Commit {
            index,
            previous_digest: out.last().map_or(CommitDigest::default(), Commit::digest),
            timestamp_ms: index * 10,
            leader,
            blocks: vec![leader],
        });
    }
    out
}

#[test]
fn quorum_commit_index_needs_a_quorum_of_voters() {
    let c = committee();
    let mut m = CommitVoteMonitor::new(4);
    assert_eq!(m.quorum_commit_index(&c), 0);
    // One validator claiming a far commit moves nothing.
    let far = CommitRef::new(1_000_000, CommitDigest([9; 32]));
    m.observe(&voter(3, 5, vec![far]));
    assert_eq!(m.quorum_commit_index(&c), 0);
    m.observe(&voter(
        0,
        5,
        vec![CommitRef::new(40, CommitDigest::default())],
    ));
    m.observe(&voter(
        1,
        5,
        vec![CommitRef::new(30, CommitDigest::default())],
    ));
    // Voters at ≥ 30: authorities 3, 0, 1 — three of four, a quorum.
    assert_eq!(m.quorum_commit_index(&c), 30);
    // A lower vote later never lowers what an authority was seen at.
    m.observe(&voter(
        1,
        6,
        vec![CommitRef::new(2, CommitDigest::default())],
    ));
    assert_eq!(m.quorum_commit_index(&c), 30);
    m.observe_index(2, 35);
    assert_eq!(m.quorum_commit_index(&c), 35);
    // Unknown authorities are ignored, not a panic.
    m.observe_index(99, 1_000);
    assert_eq!(m.quorum_commit_index(&c), 35);
}

#[test]
fn a_range_is_certified_by_a_quorum_voting_for_its_last_commit() {
    let c = committee();
    let commits = chain(5);
    let last = commits[4].reference();
    let votes: Vec<VerifiedBlock> = (0..3).map(|a| voter(a, 9, vec![last])).collect();
    assert_eq!(verify_certified_range(&c, 1, &commits, &votes), Ok(()));
    // A suffix of the chain ending at the same commit is certified as well.
    assert_eq!(verify_certified_range(&c, 3, &commits[2..], &votes), Ok(()));
}

#[test]
fn uncertified_or_broken_ranges_are_refused() {
    let c = committee();
    let commits = chain(5);
    let last = commits[4].reference();
    let quorum: Vec<VerifiedBlock> = (0..3).map(|a| voter(a, 9, vec![last])).collect();
    let refused = |start, commits: &[Commit], votes: &[VerifiedBlock]| {
        matches!(
            verify_certified_range(&c, start, commits, votes),
            Err(ConsensusError::UncertifiedCommits(_))
        )
    };
    assert!(refused(1, &[], &quorum), "empty");
    assert!(refused(2, &commits, &quorum), "wrong start");
    // Two of four voters, or one voter counted twice, is not a quorum.
    assert!(refused(1, &commits, &quorum[..2]));
    let twice = vec![
        quorum[0].clone(),
        voter(0, 10, vec![last]),
        quorum[1].clone(),
    ];
    assert!(refused(1, &commits, &twice));
    // Votes for another digest at the same index do not count.
    let other = CommitRef::new(5, CommitDigest([1; 32]));
    let wrong: Vec<VerifiedBlock> = (0..3).map(|a| voter(a, 9, vec![other])).collect();
    assert!(refused(1, &commits, &wrong));
    // A commit in the middle that does not name its predecessor breaks the chain.
    let mut broken = commits.clone();
    broken[2].previous_digest = CommitDigest([7; 32]);
    let votes: Vec<VerifiedBlock> = (0..3)
        .map(|a| voter(a, 9, vec![broken[4].reference()]))
        .collect();
    assert!(refused(1, &broken, &votes));
    // A gap in the indices too.
    let gap = vec![commits[0].clone(), commits[2].clone()];
    let votes: Vec<VerifiedBlock> = (0..3)
        .map(|a| voter(a, 9, vec![gap[1].reference()]))
        .collect();
    assert!(refused(1, &gap, &votes));
}

#[test]
fn certifiers_are_one_block_per_author_until_a_quorum() {
    let c = committee();
    let target = CommitRef::new(7, CommitDigest([3; 32]));
    let other = CommitRef::new(6, CommitDigest([2; 32]));
    let candidates = vec![
        voter(0, 9, vec![other, target]),
        voter(0, 10, vec![target]),
        voter(1, 9, vec![other]),
        voter(2, 9, vec![target]),
        voter(1, 10, vec![target]),
        voter(3, 10, vec![target]),
    ];
    let chosen = certifiers_of(target, &candidates, &c).expect("a quorum voted");
    let authors: Vec<u32> = chosen.iter().map(VerifiedBlock::author).collect();
    assert_eq!(authors, vec![0, 2, 1]);
    assert!(certifiers_of(target, &candidates[..4], &c).is_none());
}
