//! Core state machine tests: proposal rules, commits across a small in-process cluster, recovery.

use std::collections::BTreeSet;
use std::sync::Arc;

use ed25519_dalek::SigningKey;

use super::*;
use crate::store::MemStore;
use crate::verifier::BlockVerifier;

/// Produces one unique transaction per block: "<author>-<n>".
struct CountingSource {
    author: AuthorityIndex,
    next: u64,
}

impl TransactionSource for CountingSource {
    fn next_transactions(&mut self, max_count: usize, _max_bytes: usize) -> Vec<Transaction> {
        if max_count == 0 {
            return vec![];
        }
        self.next += 1;
        vec![Transaction(
            format!("{}-{}", self.author, self.next).into_bytes(),
        )]
    }
}

pub(super) fn params(own: AuthorityIndex) -> CoreParams {
    CoreParams {
        min_round_delay_ms: 0,
        leader_election: LeaderElection::RoundRobin,
        gc_depth: 0,
        ..CoreParams::new(own)
    }
}

pub(super) struct Cluster {
    params: fn(AuthorityIndex) -> CoreParams,
    /// Every block ever proposed, for answering fetches of missing references.
    pub(super) pool: std::collections::BTreeMap<BlockRef, SignedBlock>,
    pub(super) committee: Committee,
    keys: Vec<SigningKey>,
    pub(super) stores: Vec<Arc<MemStore>>,
    pub(super) cores: Vec<Core>,
    pub(super) verifier: BlockVerifier,
    pub(super) commits: Vec<Vec<CommittedSubDag>>,
}

impl Cluster {
    pub(super) fn new(n: usize) -> Self {
        Self::with_params(n, params)
    }

    pub(super) fn with_params(n: usize, params: fn(AuthorityIndex) -> CoreParams) -> Self {
        let (committee, keys) = Committee::new_for_test(n, 42);
        let stores: Vec<Arc<MemStore>> = (0..n).map(|_| Arc::new(MemStore::new())).collect();
        let cores = (0..n)
            .map(|i| Self::open_with(params, &committee, &keys, &stores[i], i as AuthorityIndex))
            .collect();
        let verifier = BlockVerifier::new(committee.clone(), BlockLimits::default());
        Self {
            params,
            pool: Default::default(),
            committee,
            keys,
            stores,
            cores,
            verifier,
            commits: vec![Vec::new(); n],
        }
    }

    pub(super) fn reopen(&mut self, i: usize) {
        self.cores[i] = Self::open_with(
            self.params,
            &self.committee,
            &self.keys,
            &self.stores[i],
            i as AuthorityIndex,
        );
    }

    fn open_with(
        params: fn(AuthorityIndex) -> CoreParams,
        committee: &Committee,
        keys: &[SigningKey],
        store: &Arc<MemStore>,
        i: AuthorityIndex,
    ) -> Core {
        Core::new(
            params(i),
            committee.clone(),
            keys[i as usize].clone(),
            store.clone(),
            Box::new(CountingSource { author: i, next: 0 }),
        )
        .unwrap()
    }

    /// Every core in `who` proposes (forced); blocks go to every core in `to` through bytes and the verifier.
    pub(super) fn round(&mut self, who: &[usize], to: &[usize], now: u64) -> Vec<SignedBlock> {
        let mut blocks = Vec::new();
        for &i in who {
            if let Some(p) = self.cores[i].try_propose(now, true).unwrap() {
                self.commits[i].extend(p.commits);
                blocks.push(p.block);
            }
        }
        self.deliver(&blocks, to);
        blocks
    }

    pub(super) fn deliver(&mut self, blocks: &[SignedBlock], to: &[usize]) {
        for b in blocks {
            self.pool.insert(b.reference(), b.clone());
        }
        for &j in to {
            let verified: Vec<VerifiedBlock> = blocks
                .iter()
                .filter(|b| b.block.author as usize != j)
                .map(|b| self.verifier.verify_bytes(&b.to_bytes()).unwrap())
                .collect();
            let out = self.cores[j].add_blocks(verified).unwrap();
            assert!(out.rejected.is_empty(), "{:?}", out.rejected);
            self.commits[j].extend(out.commits);
        }
    }

    /// Like `deliver`, then answers every missing reference from the pool until none is left.
    pub(super) fn deliver_and_sync(&mut self, blocks: &[SignedBlock], to: &[usize]) {
        self.deliver(blocks, to);
        for &j in to {
            loop {
                let missing = self.cores[j].missing_references();
                if missing.is_empty() {
                    break;
                }
                let fetched: Vec<VerifiedBlock> = missing
                    .iter()
                    .map(|r| self.verifier.verify(self.pool[r].clone()).unwrap())
                    .collect();
                let out = self.cores[j].add_blocks(fetched).unwrap();
                assert!(out.rejected.is_empty(), "{:?}", out.rejected);
                self.commits[j].extend(out.commits);
            }
        }
    }
}

pub(super) fn all(n: usize) -> Vec<usize> {
    (0..n).collect()
}

#[test]
fn proposes_after_genesis_and_never_twice_per_round() {
    let mut c = Cluster::new(4);
    let p = c.cores[0].try_propose(5, false).unwrap().unwrap();
    assert_eq!(p.block.block.round, 1);
    assert_eq!(p.block.block.ancestors.len(), 4);
    assert_eq!(p.block.block.ancestors[0].author, 0);
    assert_eq!(p.block.block.timestamp_ms, 5);
    // The block passes a peer's verifier.
    assert!(c.verifier.verify(p.block.clone()).is_ok());
    for now in [5, 500, 10_000] {
        assert!(c.cores[0].try_propose(now, true).unwrap().is_none());
    }
    assert_eq!(c.cores[0].last_proposed_round(), 1);
    // Persisted before being returned.
    assert_eq!(c.stores[0].scan_blocks_from_round(1).unwrap().len(), 1);
}

#[test]
fn proposes_only_with_quorum_and_leader_or_timeout() {
    let mut c = Cluster::new(4);
    let r1: Vec<SignedBlock> = (0..4)
        .map(|i| c.cores[i].try_propose(0, false).unwrap().unwrap().block)
        .collect();
    // Leader of round 1 (round-robin) is authority 1. Core 0 gets only C1: no quorum.
    c.deliver(&r1[2..3], &[0]);
    assert_eq!(c.cores[0].clock_round(), 1);
    assert!(c.cores[0].try_propose(100, true).unwrap().is_none());
    // D1 completes a quorum (A, C, D) without the leader B1.
    c.deliver(&r1[3..4], &[0]);
    assert_eq!(c.cores[0].clock_round(), 2);
    assert!(c.cores[0].try_propose(1000, false).unwrap().is_none());
    assert_eq!(c.cores[0].leader_timeout_deadline_ms(), Some(1200));
    assert!(c.cores[0].try_propose(1199, false).unwrap().is_none());
    let p = c.cores[0].try_propose(1200, false).unwrap().unwrap();
    assert_eq!(p.block.block.round, 2);
    assert_eq!(c.cores[0].leader_timeout_deadline_ms(), None);
    // Core 1 gets A1, B1 is its own, C1: quorum with the leader present ⇒ proposes at once.
    c.deliver(&[r1[0].clone(), r1[2].clone()], &[1]);
    let p = c.cores[1].try_propose(1000, false).unwrap().unwrap();
    assert_eq!(p.block.block.round, 2);
    // Core 2 may be forced (leader timeout fired in the driver).
    c.deliver(&[r1[0].clone(), r1[3].clone()], &[2]);
    assert!(c.cores[2].try_propose(0, true).unwrap().is_some());
}

#[test]
fn min_round_delay_applies_unless_forced() {
    let (committee, keys) = Committee::new_for_test(1, 3);
    let mut core = Core::new(
        CoreParams {
            min_round_delay_ms: 50,
            ..params(0)
        },
        committee,
        keys[0].clone(),
        Arc::new(MemStore::new()),
        Box::new(NoTransactions),
    )
    .unwrap();
    assert_eq!(
        core.try_propose(100, false)
            .unwrap()
            .unwrap()
            .block
            .block
            .round,
        1
    );
    assert!(core.try_propose(120, false).unwrap().is_none());
    assert_eq!(
        core.try_propose(150, false)
            .unwrap()
            .unwrap()
            .block
            .block
            .round,
        2
    );
    assert_eq!(
        core.try_propose(151, true)
            .unwrap()
            .unwrap()
            .block
            .block
            .round,
        3
    );
}

#[test]
fn cluster_commits_identical_sequences_with_every_transaction_once() {
    let n = 4;
    let mut c = Cluster::new(n);
    for r in 1..=30u64 {
        c.round(&all(n), &all(n), r * 100);
    }
    let first: Vec<_> = c.commits[0].iter().map(|s| s.commit.clone()).collect();
    assert!(first.len() >= 25, "{} commits", first.len());
    for i in 1..n {
        let other: Vec<_> = c.commits[i].iter().map(|s| s.commit.clone()).collect();
        let k = first.len().min(other.len());
        assert_eq!(first[..k], other[..k], "core {i}");
    }
    let mut txs = BTreeSet::new();
    for s in &c.commits[0] {
        for b in &s.blocks {
            for t in b.transactions() {
                assert!(txs.insert(t.0.clone()), "transaction committed twice");
            }
        }
    }
    // Every block of rounds 1..=25 was committed.
    assert!(txs.len() >= 25 * n);
    for w in c.commits[0].windows(2) {
        assert_eq!(w[1].commit_index, w[0].commit_index + 1);
        assert_eq!(w[1].previous_digest, w[0].commit_digest);
        assert!(w[1].timestamp_ms >= w[0].timestamp_ms);
    }
    // Commits are persisted and replayable.
    let replay = c.cores[0].replay_commits(2).unwrap();
    assert_eq!(replay, c.commits[0][2..].to_vec());
}

#[test]
fn progresses_with_one_node_silent() {
    let n = 4;
    let mut c = Cluster::new(n);
    for r in 1..=20u64 {
        c.round(&[0, 1, 2], &[0, 1, 2], r * 100);
    }
    assert!(c.commits[0].len() >= 10);
    assert_eq!(
        c.commits[0]
            .iter()
            .map(|s| s.commit.digest())
            .collect::<Vec<_>>(),
        c.commits[1]
            .iter()
            .map(|s| s.commit.digest())
            .collect::<Vec<_>>()
    );
    assert!(c.commits[0].iter().all(|s| s.leader.author != 3));
}

#[test]
fn recover_from_store_full_round() {
    let n = 4;
    let mut c = Cluster::new(n);
    for r in 1..=8u64 {
        c.round(&all(n), &all(n), r * 100);
    }
    let before_round = c.cores[0].last_proposed_round();
    let before_commit = c.cores[0].last_commit_index();
    let before_clock = c.cores[0].clock_round();
    let before_block = c.cores[0].last_proposed_block().clone();
    assert!(before_commit > 0);
    // Restart core 0 from its store.
    c.reopen(0);
    let core = &mut c.cores[0];
    assert_eq!(core.last_proposed_round(), before_round);
    assert_eq!(core.last_proposed_block(), &before_block);
    assert_eq!(core.last_commit_index(), before_commit);
    assert_eq!(core.clock_round(), before_clock);
    assert!(
        core.try_commit().unwrap().is_empty(),
        "nothing re-committed"
    );
    // Continue: commit indices and the digest chain continue across the restart.
    for r in 9..=14u64 {
        c.round(&all(n), &all(n), r * 100);
    }
    let reference: Vec<_> = c.commits[1].iter().map(|s| s.commit.clone()).collect();
    let mine: Vec<_> = c.commits[0].iter().map(|s| s.commit.clone()).collect();
    let k = mine.len().min(reference.len());
    assert!(k > before_commit as usize);
    assert_eq!(mine[..k], reference[..k]);
}

#[test]
fn recover_from_store_partial_round_does_not_resign() {
    let n = 4;
    let mut c = Cluster::new(n);
    for r in 1..=5u64 {
        c.round(&all(n), &all(n), r * 100);
    }
    // Core 0 proposes round 6 but crashes before anyone else's round-6 block arrives.
    let p = c.cores[0].try_propose(600, true).unwrap().unwrap();
    assert_eq!(p.block.block.round, 6);
    c.reopen(0);
    assert_eq!(c.cores[0].last_proposed_round(), 6);
    assert_eq!(c.cores[0].last_proposed_block().signed(), &p.block);
    assert!(c.cores[0].try_propose(10_000, true).unwrap().is_none());
    // Others' round-6 blocks arrive: it proposes round 7, not another round 6.
    let others: Vec<SignedBlock> = (1..n)
        .map(|i| c.cores[i].try_propose(600, true).unwrap().unwrap().block)
        .collect();
    c.deliver(&others, &[0]);
    let next = c.cores[0].try_propose(700, true).unwrap().unwrap();
    assert_eq!(next.block.block.round, 7);
}

#[test]
fn own_block_echoed_back_prevents_equivocation_after_state_loss() {
    let n = 4;
    let mut c = Cluster::new(n);
    let mut own_blocks = Vec::new();
    for r in 1..=4u64 {
        let blocks = c.round(&all(n), &all(n), r * 100);
        own_blocks.extend(blocks.into_iter().filter(|b| b.block.author == 0));
    }
    // Core 0 loses its store; peers send its blocks back.
    c.stores[0] = Arc::new(MemStore::new());
    c.reopen(0);
    assert_eq!(c.cores[0].last_proposed_round(), 0);
    let mut everything = Vec::new();
    for i in 1..n {
        everything.extend(c.stores[i].scan_blocks_from_round(1).unwrap());
    }
    let out = c.cores[0].add_blocks(everything).unwrap();
    assert!(!out.accepted.is_empty());
    assert_eq!(c.cores[0].last_proposed_round(), 4);
    let p = c.cores[0].try_propose(500, true).unwrap().unwrap();
    assert_eq!(p.block.block.round, 5);
    assert_eq!(p.block.block.ancestors[0], own_blocks[3].reference());
}

#[test]
fn missing_ancestors_are_reported_and_fetched() {
    let n = 4;
    let mut c = Cluster::new(n);
    let r1 = c.round(&all(n), &[1, 2, 3], 100);
    let r2 = c.round(&[1, 2, 3], &[1, 2, 3], 200);
    // Core 0 missed rounds 1 and 2 of others; it receives round 2 only.
    let verified: Vec<VerifiedBlock> = r2
        .iter()
        .map(|b| c.verifier.verify(b.clone()).unwrap())
        .collect();
    let out = c.cores[0].add_blocks(verified).unwrap();
    assert!(out.accepted.is_empty());
    let want: BTreeSet<BlockRef> = r1
        .iter()
        .filter(|b| b.block.author != 0)
        .map(|b| b.reference())
        .collect();
    assert_eq!(out.missing, want);
    let fetched: Vec<VerifiedBlock> = r1
        .iter()
        .filter(|b| b.block.author != 0)
        .map(|b| c.verifier.verify(b.clone()).unwrap())
        .collect();
    let out = c.cores[0].add_blocks(fetched).unwrap();
    assert_eq!(out.accepted.len(), 6);
    assert!(out.missing.is_empty());
    assert_eq!(c.cores[0].clock_round(), 3);
}

#[test]
fn rejects_mismatched_key() {
    let (committee, keys) = Committee::new_for_test(4, 1);
    let r = Core::new(
        params(0),
        committee,
        keys[1].clone(),
        Arc::new(MemStore::new()),
        Box::new(NoTransactions),
    );
    assert!(matches!(r, Err(ConsensusError::InvalidCommittee(_))));
}

pub(super) fn commit_digests(c: &[CommittedSubDag]) -> Vec<crate::commit::CommitDigest> {
    c.iter().map(|s| s.commit_digest).collect()
}

fn assert_no_slot_twice(c: &[CommittedSubDag]) {
    let mut slots = BTreeSet::new();
    for s in c {
        for b in &s.blocks {
            assert!(slots.insert(b.slot()), "slot {} committed twice", b.slot());
        }
    }
}

fn gc_params(own: AuthorityIndex) -> CoreParams {
    CoreParams {
        gc_depth: 4,
        ..params(own)
    }
}

#[test]
fn gc_keeps_agreement_and_a_lagging_node_catches_up() {
    let n = 4;
    let mut c = Cluster::with_params(n, gc_params);
    for r in 1..=30u64 {
        c.round(&[0, 1, 2], &[0, 1, 2], r * 100);
    }
    assert!(c.cores[0].dag().gc_round() > 20);
    // Old blocks were evicted from memory.
    assert!(c.cores[0].dag().get_blocks_at_round(5).is_empty());
    assert!(c.commits[0].len() >= 20);
    assert_eq!(commit_digests(&c.commits[0]), commit_digests(&c.commits[1]));
    // Node 3 receives everything in reverse order, in chunks, and reaches the same commits.
    let mut all_blocks: Vec<SignedBlock> = c.pool.values().cloned().collect();
    all_blocks.reverse();
    for chunk in all_blocks.chunks(7) {
        c.deliver(chunk, &[3]);
    }
    assert!(c.cores[3].missing_references().is_empty());
    assert_eq!(commit_digests(&c.commits[3]), commit_digests(&c.commits[0]));
    // Node 3 now participates again.
    for r in 31..=36u64 {
        c.round(&all(n), &all(n), r * 100);
    }
    assert!(c.commits[0].iter().any(|s| s.leader.author == 3));
    assert_eq!(commit_digests(&c.commits[3]), commit_digests(&c.commits[0]));
    // Restarting a node with GC enabled restores the same commit state.
    let idx = c.cores[2].last_commit_index();
    c.reopen(2);
    assert_eq!(c.cores[2].last_commit_index(), idx);
    for r in 37..=40u64 {
        c.round(&all(n), &all(n), r * 100);
    }
    let k = c.commits[2].len().min(c.commits[0].len());
    assert_eq!(
        commit_digests(&c.commits[2][..k]),
        commit_digests(&c.commits[0][..k])
    );
}

fn weighted_two_leaders(own: AuthorityIndex) -> CoreParams {
    let mut p = params(own);
    p.leader_election = LeaderElection::StakeWeighted;
    p.committer.leaders_per_round = 2;
    p.gc_depth = 10;
    p
}

#[test]
fn stake_weighted_multi_leader_cluster_agrees() {
    let n = 5;
    let mut c = Cluster::with_params(n, weighted_two_leaders);
    for r in 1..=25u64 {
        c.round(&all(n), &all(n), r * 100);
    }
    // Two leaders per round, rounds 1..=23 decided.
    assert!(c.commits[0].len() >= 40, "{}", c.commits[0].len());
    for i in 1..n {
        assert_eq!(commit_digests(&c.commits[i]), commit_digests(&c.commits[0]));
    }
    assert_no_slot_twice(&c.commits[0]);
}

#[test]
fn equivocating_node_cannot_break_agreement() {
    let n = 4;
    let mut c = Cluster::new(n);
    // A second core with authority 3's key but its own store: it signs different blocks for the same rounds.
    let twin_store = Arc::new(MemStore::new());
    let mut twin = Core::new(
        params(3),
        c.committee.clone(),
        c.keys[3].clone(),
        twin_store,
        Box::new(CountingSource {
            author: 3,
            next: 1_000_000,
        }),
    )
    .unwrap();
    for r in 1..=20u64 {
        let honest = c.round(&[0, 1, 2], &[], r * 100);
        let a = c.cores[3].try_propose(r * 100, true).unwrap();
        let b = twin.try_propose(r * 100, true).unwrap();
        let mut to01 = honest.clone();
        let mut to2 = honest.clone();
        if let Some(a) = a {
            to01.push(a.block.clone());
            c.pool.insert(a.block.reference(), a.block);
        }
        if let Some(b) = b {
            to2.push(b.block.clone());
            c.pool.insert(b.block.reference(), b.block);
        }
        c.deliver_and_sync(&to01, &[0, 1, 3]);
        c.deliver_and_sync(&to2, &[2]);
        let v: Vec<VerifiedBlock> = honest
            .iter()
            .map(|x| c.verifier.verify(x.clone()).unwrap())
            .collect();
        twin.add_blocks(v).unwrap();
    }
    for i in 0..3 {
        assert!(c.commits[i].len() >= 10, "core {i}: {}", c.commits[i].len());
        assert_no_slot_twice(&c.commits[i]);
    }
    let k = c.commits.iter().take(3).map(|x| x.len()).min().unwrap();
    assert_eq!(
        commit_digests(&c.commits[0][..k]),
        commit_digests(&c.commits[1][..k])
    );
    assert_eq!(
        commit_digests(&c.commits[0][..k]),
        commit_digests(&c.commits[2][..k])
    );
    // Equivocations really reached the honest nodes.
    let seen_both = (1..=18)
        .filter(|r| (0..3).any(|i| c.cores[i].dag().get_blocks_at_slot(Slot::new(*r, 3)).len() > 1))
        .count();
    assert!(
        seen_both > 0,
        "the test did not produce visible equivocations"
    );
}

#[test]
fn amnesia_floor_prevents_reproposing_known_rounds() {
    let n = 4;
    let mut c = Cluster::new(n);
    for r in 1..=3u64 {
        c.round(&all(n), &all(n), r * 100);
    }
    let mut others = Vec::new();
    for i in 1..n {
        others.extend(c.stores[i].scan_blocks_from_round(1).unwrap());
    }
    others.retain(|b| b.author() != 0);
    // Without the floor, a node that lost its store would sign round 2 again: equivocation.
    c.stores[0] = Arc::new(MemStore::new());
    c.reopen(0);
    c.cores[0].add_blocks(others.clone()).unwrap();
    assert_eq!(
        c.cores[0].clock_round(),
        2,
        "round-2 blocks wait for the lost A1"
    );
    let hazard = c.cores[0].try_propose(1_000, true).unwrap().unwrap();
    assert_eq!(hazard.block.block.round, 2);
    // With the floor learned from peers (its latest block is at round 3) it waits.
    c.stores[0] = Arc::new(MemStore::new());
    c.reopen(0);
    c.cores[0].set_last_known_own_round(3);
    let out = c.cores[0].add_blocks(others).unwrap();
    assert!(!out.missing.is_empty() && out.missing.iter().all(|r| r.author == 0));
    assert!(c.cores[0].try_propose(1_000, true).unwrap().is_none());
    // Its old blocks are fetched from peers; it resumes above them.
    let own_old: Vec<VerifiedBlock> = c
        .pool
        .values()
        .filter(|b| b.block.author == 0)
        .map(|b| c.verifier.verify(b.clone()).unwrap())
        .collect();
    c.cores[0].add_blocks(own_old).unwrap();
    assert_eq!(c.cores[0].last_proposed_round(), 3);
    let p = c.cores[0].try_propose(1_100, true).unwrap().unwrap();
    assert_eq!(p.block.block.round, 4);
}

/// Returns more than it is asked for, to check that the core enforces the limits itself.
struct GreedySource;

impl TransactionSource for GreedySource {
    fn next_transactions(&mut self, _max_count: usize, _max_bytes: usize) -> Vec<Transaction> {
        (0..10u8).map(|i| Transaction(vec![i; 4])).collect()
    }
}

#[test]
fn own_blocks_respect_block_limits() {
    let (committee, keys) = Committee::new_for_test(1, 9);
    let limits = BlockLimits {
        max_transactions: 3,
        max_transaction_bytes: 10,
        ..BlockLimits::default()
    };
    let mut core = Core::new(
        CoreParams {
            block_limits: limits,
            ..params(0)
        },
        committee.clone(),
        keys[0].clone(),
        Arc::new(MemStore::new()),
        Box::new(GreedySource),
    )
    .unwrap();
    let p = core.try_propose(0, true).unwrap().unwrap();
    assert_eq!(
        p.block.block.transactions.len(),
        2,
        "8 bytes fit, 12 do not"
    );
    assert!(BlockVerifier::new(committee, limits)
        .verify(p.block)
        .is_ok());
}
