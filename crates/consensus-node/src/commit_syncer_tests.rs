//! The commit-sync state machine on hand-made commit chains and signed blocks.

use super::*;
use fastevm_consensus::{Block, BlockLimits, CommitDigest, CommitRef, Transaction};

use ed25519_dalek::SigningKey;

struct Fixture {
    committee: Committee,
    keys: Vec<SigningKey>,
    verifier: BlockVerifier,
}

fn fixture() -> Fixture {
    let (committee, keys) = Committee::new_for_test(4, 11);
    let verifier = BlockVerifier::new(committee.clone(), BlockLimits::default());
    Fixture {
        committee,
        keys,
        verifier,
    }
}

impl Fixture {
    /// A valid round-1 block of `author`, made distinct by `tag`, voting for `votes`.
    fn block(&self, author: u32, tag: u8, votes: Vec<CommitRef>) -> SignedBlock {
        let genesis: Vec<BlockRef> = VerifiedBlock::genesis(&self.committee)
            .iter()
            .map(VerifiedBlock::reference)
            .collect();
        let mut ancestors = vec![genesis[author as usize]];
        ancestors.extend(genesis.iter().filter(|g| g.author != author));
        SignedBlock::sign(
            Block {
                epoch: 0,
                round: 1,
                author,
                timestamp_ms: 1,
                ancestors,
                transactions: vec![Transaction(vec![tag])],
                commit_votes: votes,
            },
            &self.keys[author as usize],
        )
    }

    /// Commits 1..=n, commit i holding one block; with those blocks.
    fn chain(&self, n: u64) -> (Vec<Commit>, Vec<SignedBlock>) {
        let mut commits: Vec<Commit> = Vec::new();
        let mut blocks = Vec::new();
        for index in 1..=n {
            let b = self.block((index % 4) as u32, index as u8, vec![]);
            commits.push(Commit {
                index,
                previous_digest: commits
                    .last()
                    .map_or(CommitDigest::default(), Commit::digest),
                timestamp_ms: index,
                leader: b.reference(),
                blocks: vec![b.reference()],
            });
            blocks.push(b);
        }
        (commits, blocks)
    }

    /// Blocks of authors `authors` voting for `commit`.
    fn votes(&self, commit: &Commit, authors: &[u32]) -> Vec<SignedBlock> {
        authors
            .iter()
            .map(|a| self.block(*a, 200, vec![commit.reference()]))
            .collect()
    }

    /// A syncer of authority 0 that has seen authorities 1..=3 vote for commit `index`.
    fn syncer(&self, config: CommitSyncConfig, index: CommitIndex) -> CommitSyncer {
        let mut s = CommitSyncer::new(0, self.committee.clone(), config, SyncConfig::default());
        for a in 1..4 {
            let vote = CommitRef::new(index, CommitDigest::default());
            let b = self
                .verifier
                .verify(self.block(a, 100, vec![vote]))
                .unwrap();
            s.observe(&b);
        }
        s
    }
}

fn config(batch: u64, parallel: usize) -> CommitSyncConfig {
    CommitSyncConfig {
        lag_threshold: 5,
        batch_size: batch,
        parallel_fetches: parallel,
        timeout_ms: 1_000,
        retry_delay_ms: 100,
    }
}

fn commit_requests(msgs: &[(AuthorityIndex, ConsensusMessage)]) -> Vec<(u32, u64, u64)> {
    msgs.iter()
        .filter_map(|(p, m)| match m {
            ConsensusMessage::RequestCommits { start, end } => Some((*p, *start, *end)),
            _ => None,
        })
        .collect()
}

#[test]
fn asks_nothing_until_a_quorum_is_far_ahead() {
    let f = fixture();
    let mut s = f.syncer(config(10, 2), 4);
    assert_eq!(s.quorum_commit_index(), 4);
    assert!(!s.is_lagging(0), "4 ahead, threshold 5");
    assert!(s.poll(0, 0).is_empty());
    // One authority far ahead is not a quorum.
    let far = CommitRef::new(1_000, CommitDigest::default());
    s.observe(&f.verifier.verify(f.block(1, 101, vec![far])).unwrap());
    assert!(!s.is_lagging(0));
}

#[test]
fn asks_ranges_from_different_peers_within_the_window() {
    let f = fixture();
    let mut s = f.syncer(config(10, 2), 100);
    assert!(s.is_lagging(0));
    let asked = commit_requests(&s.poll(0, 0));
    assert_eq!(asked, vec![(1, 1, 10), (2, 11, 20)]);
    // Nothing more while both are outstanding: memory stays bounded.
    assert!(commit_requests(&s.poll(0, 10)).is_empty());
    // A timed-out range goes to a peer without an outstanding request.
    let again = commit_requests(&s.poll(0, 1_000));
    assert_eq!(again.len(), 2);
    assert!(again.contains(&(3, 1, 10)), "{again:?}");
    assert_eq!(s.stats().requests_sent, 4);
}

#[test]
fn certified_ranges_are_handed_out_in_order_with_their_blocks() {
    let f = fixture();
    let (commits, blocks) = f.chain(20);
    let mut s = f.syncer(config(10, 2), 20 + 6);
    let asked = commit_requests(&s.poll(0, 0));
    assert_eq!(asked, vec![(1, 1, 10), (2, 11, 20)]);
    // The second range arrives first: held, not handed out.
    s.on_commits(
        2,
        commits[10..20].to_vec(),
        blocks[10..20].to_vec(),
        f.votes(&commits[19], &[1, 2, 3]),
        &f.verifier,
        0,
    )
    .unwrap();
    assert!(s.take_ready(0).is_empty());
    assert_eq!(s.held_commits(), 10);
    // The first one, without its last three blocks (they did not fit).
    s.on_commits(
        1,
        commits[..10].to_vec(),
        blocks[..7].to_vec(),
        f.votes(&commits[9], &[0, 2, 3]),
        &f.verifier,
        0,
    )
    .unwrap();
    assert!(s.take_ready(0).is_empty(), "blocks still missing");
    assert_eq!(s.missing_blocks().len(), 3);
    let fetches: Vec<_> = s
        .poll(0, 5)
        .into_iter()
        .filter(|(_, m)| matches!(m, ConsensusMessage::RequestBlocks { .. }))
        .collect();
    assert!(!fetches.is_empty());
    assert!(s.wants_block(&blocks[8].reference()));
    let mut arrived: Vec<VerifiedBlock> = blocks[7..10]
        .iter()
        .chain(std::iter::once(&f.block(3, 250, vec![])))
        .map(|b| f.verifier.verify(b.clone()).unwrap())
        .collect();
    s.take_wanted_blocks(&mut arrived);
    assert_eq!(
        arrived.len(),
        1,
        "a block nobody waits for is left for the core"
    );
    let ready = s.take_ready(0);
    let indices: Vec<u64> = ready.iter().map(|c| c.commit.index).collect();
    assert_eq!(indices, (1..=20).collect::<Vec<_>>());
    for c in &ready {
        let refs: Vec<BlockRef> = c.blocks.iter().map(VerifiedBlock::reference).collect();
        assert_eq!(refs, c.commit.blocks);
    }
    assert_eq!(s.stats().commits_synced, 20);
    assert_eq!(s.stats().blocks_fetched_separately, 3);
    assert_eq!(s.held_commits(), 0);
}

#[test]
fn a_prefix_answer_leaves_the_rest_to_ask_again() {
    let f = fixture();
    let (commits, blocks) = f.chain(10);
    let mut s = f.syncer(config(10, 1), 10 + 6);
    assert_eq!(commit_requests(&s.poll(0, 0)), vec![(1, 1, 10)]);
    s.on_commits(
        1,
        commits[..4].to_vec(),
        blocks[..4].to_vec(),
        f.votes(&commits[3], &[0, 1, 2]),
        &f.verifier,
        0,
    )
    .unwrap();
    assert_eq!(s.take_ready(0).len(), 4);
    assert_eq!(commit_requests(&s.poll(4, 10)), vec![(2, 5, 10)]);
}

#[test]
fn uncertified_or_unasked_answers_are_refused_and_asked_again() {
    let f = fixture();
    let (commits, blocks) = f.chain(10);
    let mut s = f.syncer(config(10, 1), 10 + 6);
    assert_eq!(commit_requests(&s.poll(0, 0)), vec![(1, 1, 10)]);
    // From a peer that was not asked.
    assert!(s
        .on_commits(
            3,
            commits.clone(),
            blocks.clone(),
            f.votes(&commits[9], &[0, 1, 2]),
            &f.verifier,
            0
        )
        .is_err());
    // Two votes of four are not a quorum.
    assert!(s
        .on_commits(
            1,
            commits.clone(),
            blocks.clone(),
            f.votes(&commits[9], &[1, 2]),
            &f.verifier,
            0
        )
        .is_err());
    // The range is asked again, from the next peer, after the retry delay.
    assert!(commit_requests(&s.poll(0, 1)).is_empty());
    assert_eq!(commit_requests(&s.poll(0, 100)), vec![(2, 1, 10)]);
    // A block that none of the commits names.
    let mut stray = blocks.clone();
    stray[0] = f.block(2, 77, vec![]);
    assert!(s
        .on_commits(
            2,
            commits.clone(),
            stray,
            f.votes(&commits[9], &[0, 1, 2]),
            &f.verifier,
            0
        )
        .is_err());
    // A forged signature on a certifying block.
    let mut forged = f.votes(&commits[9], &[0, 1, 2]);
    forged[0].signature[0] ^= 1;
    assert_eq!(commit_requests(&s.poll(0, 100)), vec![(3, 1, 10)]);
    assert!(s
        .on_commits(3, commits.clone(), blocks.clone(), forged, &f.verifier, 0)
        .is_err());
    assert_eq!(s.stats().responses_refused, 4);
    assert!(s.take_ready(0).is_empty());
}

#[test]
fn a_late_answer_to_an_earlier_request_is_ignored() {
    let f = fixture();
    let (commits, blocks) = f.chain(20);
    let mut s = f.syncer(config(10, 1), 20 + 6);
    assert_eq!(commit_requests(&s.poll(0, 0)), vec![(1, 1, 10)]);
    // Peer 1 is slow: the range goes to peer 2, and the next one later to peer 1 again.
    assert_eq!(commit_requests(&s.poll(0, 1_000)), vec![(2, 1, 10)]);
    s.on_commits(
        2,
        commits[..10].to_vec(),
        blocks[..10].to_vec(),
        f.votes(&commits[9], &[0, 1, 3]),
        &f.verifier,
        1_001,
    )
    .unwrap();
    assert_eq!(s.take_ready(0).len(), 10);
    assert_eq!(commit_requests(&s.poll(10, 1_002)), vec![(3, 11, 20)]);
    // Peer 1's answer to the first request arrives now: not asked for any more.
    assert!(s
        .on_commits(
            1,
            commits[..10].to_vec(),
            blocks[..10].to_vec(),
            f.votes(&commits[9], &[0, 2, 3]),
            &f.verifier,
            1_003,
        )
        .is_err());
    // Peer 3 answers the second range.
    s.on_commits(
        3,
        commits[10..20].to_vec(),
        blocks[10..20].to_vec(),
        f.votes(&commits[19], &[0, 1, 2]),
        &f.verifier,
        1_004,
    )
    .unwrap();
    assert_eq!(s.take_ready(10).len(), 10);
}

#[test]
fn a_delayed_retry_wakes_the_node_at_its_time_not_before() {
    let f = fixture();
    let mut s = f.syncer(config(10, 1), 10 + 6);
    assert_eq!(commit_requests(&s.poll(0, 0)), vec![(1, 1, 10)]);
    assert_eq!(s.next_deadline_ms(), Some(1_000), "the request's timeout");
    // An empty answer: asked again in 100 ms, and the node is woken then, not at once.
    assert!(s
        .on_commits(1, vec![], vec![], vec![], &f.verifier, 0)
        .is_err());
    assert_eq!(s.next_deadline_ms(), Some(100));
    assert!(commit_requests(&s.poll(0, 50)).is_empty());
    assert_eq!(commit_requests(&s.poll(0, 100)), vec![(2, 1, 10)]);
    assert_eq!(s.next_deadline_ms(), Some(1_100));
}
