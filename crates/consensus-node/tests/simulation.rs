//! Deterministic multi-validator scenarios on the network simulator: agreement, crash,
//! equivocation, partition and restart from an in-memory or RocksDB store.

mod common;

use std::sync::Arc;

use common::*;
use fastevm_consensus::{leader_scoring::ReputationParams, CommittedSubDag, MemStore, Store};
use fastevm_consensus_node::{
    LogicConfig, RocksStore, RocksStoreOptions, SimValidator, SyntheticTransactions,
};
use fastevm_network::sim::{LinkConfig, RunLimit, SimConfig, Simulator};

/// Seeds every scenario runs with (jitter, drops and partitions differ per seed).
const SEEDS: [u64; 4] = [1, 2, 3, 4];

/// Honest validators over fresh in-memory stores (the stores are returned for inspection).
fn honest_cluster(n: usize, seed: u64) -> (Simulator<SimValidator>, Vec<Arc<MemStore>>) {
    honest_cluster_with(n, sim_config(seed))
}

fn honest_cluster_with(
    n: usize,
    config: SimConfig,
) -> (Simulator<SimValidator>, Vec<Arc<MemStore>>) {
    let (committee, keys) = committee(n);
    let stores: Vec<Arc<MemStore>> = (0..n).map(|_| Arc::new(MemStore::new())).collect();
    let nodes = (0..n)
        .map(|i| SimValidator::new(logic(&committee, &keys, i as u32, stores[i].clone(), 0)))
        .collect();
    (Simulator::new(config, nodes).unwrap(), stores)
}

fn commits_of(sim: &Simulator<SimValidator>, nodes: &[usize]) -> Vec<Vec<CommittedSubDag>> {
    nodes
        .iter()
        .map(|i| sim.node(*i).commits().to_vec())
        .collect()
}

fn all_have(sim: &Simulator<SimValidator>, nodes: &[usize], k: usize) -> bool {
    nodes.iter().all(|i| sim.node(*i).commits().len() >= k)
}

fn assert_no_fatal(sim: &Simulator<SimValidator>) {
    for i in 0..sim.len() {
        assert!(
            sim.node(i).fatal_error().is_none(),
            "node {i}: {:?}",
            sim.node(i).fatal_error()
        );
    }
}

#[test]
fn four_nodes_commit_identical_sequences() {
    for seed in SEEDS {
        four_nodes_commit_identical_sequences_with(seed);
    }
}

fn four_nodes_commit_identical_sequences_with(seed: u64) {
    let (mut sim, _) = honest_cluster(4, seed);
    let all = [0, 1, 2, 3];
    sim.run_until(|s| all_have(s, &all, 200), RunLimit::until_time(200_000))
        .unwrap();
    assert_no_fatal(&sim);
    let seqs = commits_of(&sim, &all);
    let refs: Vec<&[CommittedSubDag]> = seqs.iter().map(|s| s.as_slice()).collect();
    assert!(assert_consistent(&refs) >= 200);
    // Every committed transaction is unique and every author's blocks get committed.
    let mut txs = std::collections::BTreeSet::new();
    let mut authors = std::collections::BTreeSet::new();
    for c in &seqs[0] {
        for b in &c.blocks {
            authors.insert(b.author());
            for t in b.transactions() {
                assert!(txs.insert(SyntheticTransactions::parse(t).unwrap()));
            }
        }
    }
    assert_eq!(authors.len(), 4);
    assert!(txs.len() >= 200 * 2);
}

#[test]
fn same_seed_gives_the_same_trace_and_commits() {
    let run = |seed| {
        let (mut sim, _) = honest_cluster(4, seed);
        sim.run_until_time(4_000);
        (sim.trace_digest(), digests(sim.node(2).commits()))
    };
    let (t1, c1) = run(7);
    let (t2, c2) = run(7);
    assert_eq!(t1, t2);
    assert_eq!(c1, c2);
    assert!(!c1.is_empty());
    let (t3, _) = run(8);
    assert_ne!(t1, t3, "a different seed draws different jitter");
}

#[test]
fn three_nodes_keep_committing_with_one_crashed_from_the_start() {
    for seed in SEEDS {
        three_nodes_keep_committing_with_one_crashed_from_the_start_with(seed);
    }
}

fn three_nodes_keep_committing_with_one_crashed_from_the_start_with(seed: u64) {
    let (mut sim, _) = honest_cluster(4, seed);
    sim.crash(3).unwrap();
    let live = [0, 1, 2];
    sim.run_until(|s| all_have(s, &live, 40), RunLimit::until_time(120_000))
        .unwrap();
    assert_no_fatal(&sim);
    let seqs = commits_of(&sim, &live);
    let refs: Vec<&[CommittedSubDag]> = seqs.iter().map(|s| s.as_slice()).collect();
    assert!(assert_consistent(&refs) >= 40);
    assert!(seqs[0]
        .iter()
        .flat_map(|c| &c.blocks)
        .all(|b| b.author() != 3));
    assert!(sim.node(3).commits().is_empty());
}

#[test]
fn lossy_reordering_links_still_agree() {
    for seed in SEEDS {
        lossy_reordering_links_still_agree_with(seed);
    }
}

fn lossy_reordering_links_still_agree_with(seed: u64) {
    let config = SimConfig {
        seed,
        default_link: LinkConfig {
            base_latency_ms: 40,
            jitter_ms: 40,
            drop_probability: 0.05,
        },
        fifo_links: false,
    };
    let (mut sim, _) = honest_cluster_with(4, config);
    let all = [0, 1, 2, 3];
    sim.run_until(|s| all_have(s, &all, 40), RunLimit::until_time(120_000))
        .unwrap();
    assert_no_fatal(&sim);
    assert!(sim.dropped_messages() > 0);
    let seqs = commits_of(&sim, &all);
    let refs: Vec<&[CommittedSubDag]> = seqs.iter().map(|s| s.as_slice()).collect();
    assert!(assert_consistent(&refs) >= 40);
    let fetched: u64 = (0..4)
        .map(|i| sim.node(i).logic().unwrap().stats().blocks_fetched)
        .sum();
    assert!(fetched > 0, "lost blocks were fetched by the synchronizer");
}

#[test]
fn equivocating_node_cannot_break_agreement() {
    for seed in SEEDS {
        equivocating_node_cannot_break_agreement_with(seed);
    }
}

fn equivocating_node_cannot_break_agreement_with(seed: u64) {
    let n = 4;
    let (committee, keys) = committee(n);
    let stores: Vec<Arc<MemStore>> = (0..n).map(|_| Arc::new(MemStore::new())).collect();
    let mut nodes: Vec<TestNode> = (0..3)
        .map(|i| {
            TestNode::Honest(SimValidator::new(logic(
                &committee,
                &keys,
                i,
                stores[i as usize].clone(),
                0,
            )))
        })
        .collect();
    // Node 3 sends one version of each own block to nodes 0 and 1, another to node 2.
    nodes.push(TestNode::Byzantine(Equivocator::new(
        logic(&committee, &keys, 3, stores[3].clone(), 0),
        keys[3].clone(),
        n,
        2,
    )));
    let mut sim = Simulator::new(sim_config(seed), nodes).unwrap();
    let honest = [0usize, 1, 2];
    sim.run_until(
        |s| {
            honest
                .iter()
                .all(|i| s.node(*i).honest().unwrap().commits().len() >= 50)
        },
        RunLimit::until_time(120_000),
    )
    .unwrap();
    let seqs: Vec<Vec<CommittedSubDag>> = honest
        .iter()
        .map(|i| sim.node(*i).honest().unwrap().commits().to_vec())
        .collect();
    let refs: Vec<&[CommittedSubDag]> = seqs.iter().map(|s| s.as_slice()).collect();
    assert!(assert_consistent(&refs) >= 50);
    // The equivocation really happened and reached the honest DAGs.
    match sim.node(3) {
        TestNode::Byzantine(b) => assert!(b.twins_signed() > 10),
        TestNode::Honest(_) => unreachable!(),
    }
    let seen: usize = honest
        .iter()
        .map(|i| equivocated_slots(stores[*i].as_ref(), 3))
        .sum();
    assert!(seen > 0, "honest stores hold both versions of some slot");
}

#[test]
fn partitioned_node_catches_up_after_heal() {
    for seed in SEEDS {
        partitioned_node_catches_up_after_heal_with(seed);
    }
}

fn partitioned_node_catches_up_after_heal_with(seed: u64) {
    let (mut sim, _) = honest_cluster(4, seed);
    sim.run_until_time(1_000);
    sim.partition([vec![0, 1, 2], vec![3]]).unwrap();
    // 10 s apart: longer than the GC depth (60 rounds) of the majority.
    sim.run_until_time(11_000);
    let lagging = sim.node(3).commits().len();
    let ahead = sim.node(0).commits().len();
    assert!(
        ahead >= lagging + 20,
        "majority kept committing: {ahead} vs {lagging}"
    );
    sim.heal();
    let target = ahead + 20;
    sim.run_until(
        |s| all_have(s, &[0, 1, 2, 3], target),
        RunLimit::until_time(60_000),
    )
    .unwrap();
    assert_no_fatal(&sim);
    let seqs = commits_of(&sim, &[0, 1, 2, 3]);
    let refs: Vec<&[CommittedSubDag]> = seqs.iter().map(|s| s.as_slice()).collect();
    assert!(assert_consistent(&refs) >= target);
    let stats = sim.node(3).logic().unwrap().stats();
    assert!(
        stats.requests_sent > 0 && stats.blocks_fetched > 0,
        "{stats:?}"
    );
}

#[test]
fn crashed_node_restarts_from_memory_store_without_equivocating() {
    for seed in SEEDS {
        crashed_node_restarts_from_memory_store_without_equivocating_with(seed);
    }
}

fn crashed_node_restarts_from_memory_store_without_equivocating_with(seed: u64) {
    let n = 4;
    let (committee, keys) = committee(n);
    let (mut sim, stores) = honest_cluster(n, seed);
    sim.run_until(
        |s| s.node(1).logic().unwrap().core().last_proposed_round() >= 25,
        RunLimit::until_time(60_000),
    )
    .unwrap();
    let round_before = sim.node(1).logic().unwrap().core().last_proposed_round();
    let before = sim.node(1).commits().to_vec();
    assert!(!before.is_empty());
    sim.crash(1).unwrap();
    sim.node_mut(1).shut_down();
    sim.run_for(2_000);
    // Restart over the same store; the consumer had processed everything it received.
    let resumed = before.len() as u64;
    let fresh = SimValidator::new(logic(&committee, &keys, 1, stores[1].clone(), resumed));
    assert_eq!(
        fresh.logic().unwrap().core().last_proposed_round(),
        round_before
    );
    sim.restart(1, fresh).unwrap();
    let target = sim.node(0).commits().len() + 20;
    sim.run_until(
        |s| before.len() + s.node(1).commits().len() >= target && all_have(s, &[0, 2, 3], target),
        RunLimit::until_time(120_000),
    )
    .unwrap();
    assert_no_fatal(&sim);
    let after = sim.node(1).commits();
    assert_eq!(
        after[0].commit_index,
        resumed + 1,
        "resumes right after the consumer's index"
    );
    let joined: Vec<CommittedSubDag> = before.iter().chain(after).cloned().collect();
    let others = commits_of(&sim, &[0, 2, 3]);
    let mut refs: Vec<&[CommittedSubDag]> = others.iter().map(|s| s.as_slice()).collect();
    refs.push(&joined);
    assert!(assert_consistent(&refs) >= target);
    assert!(sim.node(1).logic().unwrap().core().last_proposed_round() > round_before + 10);
    let all: Vec<&dyn Store> = stores.iter().map(|s| s.as_ref() as &dyn Store).collect();
    assert!(assert_single_block_per_slot(&all, 1) > 30);
}

#[test]
fn restarted_node_on_rocksdb_redelivers_after_index_exactly_once() {
    for seed in SEEDS {
        restarted_node_on_rocksdb_redelivers_after_index_exactly_once_with(seed);
    }
}

fn restarted_node_on_rocksdb_redelivers_after_index_exactly_once_with(seed: u64) {
    let n = 4;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node0");
    let open = || -> Arc<dyn Store> {
        let options = RocksStoreOptions {
            sync_writes: false,
            own_index: Some(0),
        };
        Arc::new(RocksStore::open(&path, options).unwrap())
    };
    let (committee, keys) = committee(n);
    let mem: Vec<Arc<MemStore>> = (0..n).map(|_| Arc::new(MemStore::new())).collect();
    let nodes = (0..n)
        .map(|i| {
            let store: Arc<dyn Store> = if i == 0 { open() } else { mem[i].clone() };
            SimValidator::new(logic(&committee, &keys, i as u32, store, 0))
        })
        .collect();
    let mut sim = Simulator::new(sim_config(seed), nodes).unwrap();
    sim.run_until(
        |s| s.node(0).commits().len() >= 25,
        RunLimit::until_time(60_000),
    )
    .unwrap();
    let before = sim.node(0).commits().to_vec();
    let round_before = sim.node(0).logic().unwrap().core().last_proposed_round();
    sim.crash(0).unwrap();
    sim.node_mut(0).shut_down(); // closes the database
    sim.run_for(1_500);
    // The consumer had only processed up to index 10: 11.. must come again, once each.
    let fresh = SimValidator::new(logic(&committee, &keys, 0, open(), 10));
    assert_eq!(
        fresh.logic().unwrap().core().last_proposed_round(),
        round_before
    );
    sim.restart(0, fresh).unwrap();
    let target = sim.node(1).commits().len() + 10;
    sim.run_until(
        |s| s.node(0).commits().len() + 10 >= target && s.node(1).commits().len() >= target,
        RunLimit::until_time(120_000),
    )
    .unwrap();
    assert_no_fatal(&sim);
    let after = sim.node(0).commits();
    let indices: Vec<u64> = after.iter().map(|c| c.commit_index).collect();
    let expected: Vec<u64> = (11..11 + after.len() as u64).collect();
    assert_eq!(indices, expected, "11, 12, … each exactly once");
    assert_eq!(digests(&after[..before.len() - 10]), digests(&before[10..]));
    let joined: Vec<CommittedSubDag> = before[..10].iter().chain(after).cloned().collect();
    let reference = sim.node(1).commits().to_vec();
    assert_consistent(&[&joined, &reference]);
    assert!(joined.len() >= target);
    let node0_store = sim.node(0).logic().unwrap().store().clone();
    let mut all: Vec<&dyn Store> = vec![node0_store.as_ref()];
    all.extend(mem[1..].iter().map(|s| s.as_ref() as &dyn Store));
    assert!(assert_single_block_per_slot(&all, 0) > 25);
}

/// Four validators with leader reputation over `window` commits (`None`: off); node 3 crashed
/// from the start.
fn one_crashed_of_four(
    seed: u64,
    window: Option<u64>,
) -> (Simulator<SimValidator>, Vec<Arc<MemStore>>) {
    let n = 4;
    let (committee, keys) = committee(n);
    let stores: Vec<Arc<MemStore>> = (0..n).map(|_| Arc::new(MemStore::new())).collect();
    let nodes = (0..n)
        .map(|i| {
            SimValidator::new(logic_with(
                reputation_config(i as u32, window),
                &committee,
                &keys,
                stores[i].clone(),
                0,
            ))
        })
        .collect();
    let mut sim = Simulator::new(sim_config(seed), nodes).unwrap();
    sim.crash(3).unwrap();
    (sim, stores)
}

fn reputation_config(i: u32, window: Option<u64>) -> LogicConfig {
    let mut config = LogicConfig::new(i);
    config.core.leader_reputation = window.map(|commits_per_update| ReputationParams {
        commits_per_update,
        swap_stake_percent: 33,
    });
    config
}

/// Of the leader rounds from commit `from` to commit `to`, the share that committed no leader
/// (one leader a round: each such round waited for a leader that never came).
fn skipped_share(commits: &[CommittedSubDag], from: usize, to: usize) -> f64 {
    let rounds = commits[to].leader.round - commits[from].leader.round + 1;
    let committed = (to - from + 1) as u32;
    let leader_rounds: Vec<u32> = commits[from..=to].iter().map(|c| c.leader.round).collect();
    assert!(committed <= rounds, "{leader_rounds:?}");
    f64::from(rounds - committed) / f64::from(rounds)
}

/// Rounds per second of consensus time (the simulator's clock) from commit `from` to `to`.
fn rounds_per_second(commits: &[CommittedSubDag], from: usize, to: usize) -> f64 {
    let rounds = f64::from(commits[to].leader.round - commits[from].leader.round);
    let ms = (commits[to].timestamp_ms - commits[from].timestamp_ms) as f64;
    rounds * 1000.0 / ms
}

#[test]
fn reputation_swaps_a_crashed_leader_out_of_the_schedule() {
    for seed in SEEDS {
        reputation_swaps_a_crashed_leader_out_of_the_schedule_with(seed);
    }
}

fn reputation_swaps_a_crashed_leader_out_of_the_schedule_with(seed: u64) {
    const WINDOW: u64 = 20;
    let live = [0, 1, 2];
    let (mut sim, stores) = one_crashed_of_four(seed, Some(WINDOW));
    sim.run_until(|s| all_have(s, &live, 150), RunLimit::until_time(300_000))
        .unwrap();
    assert_no_fatal(&sim);
    for i in live {
        assert_eq!(sim.node(i).logic().unwrap().core().leader_swaps(), [3]);
    }
    let seqs = commits_of(&sim, &live);
    let refs: Vec<&[CommittedSubDag]> = seqs.iter().map(|s| s.as_slice()).collect();
    assert!(assert_consistent(&refs) >= 150);

    // Once swapped out, the crashed validator costs (almost) no round; before, about a quarter.
    let before = skipped_share(&seqs[0], 0, WINDOW as usize - 1);
    let after = skipped_share(&seqs[0], 2 * WINDOW as usize, 149);
    assert!(
        after < 0.10,
        "seed {seed}: {after:.2} of rounds skipped after the swap"
    );
    assert!(
        before > after,
        "seed {seed}: before {before:.2}, after {after:.2}"
    );
    assert!(seqs[0][2 * WINDOW as usize..150]
        .iter()
        .all(|c| c.leader.author != 3));

    // Without reputation the same run keeps losing the crashed leader's rounds.
    let (mut plain, _) = one_crashed_of_four(seed, None);
    plain
        .run_until(|s| all_have(s, &live, 150), RunLimit::until_time(300_000))
        .unwrap();
    let without = skipped_share(plain.node(0).commits(), 2 * WINDOW as usize, 149);
    assert!(
        without > 0.15,
        "seed {seed}: {without:.2} skipped without reputation"
    );
    let (rate_after, rate_without) = (
        rounds_per_second(&seqs[0], 2 * WINDOW as usize, 149),
        rounds_per_second(plain.node(0).commits(), 2 * WINDOW as usize, 149),
    );
    assert!(
        rate_after > rate_without,
        "seed {seed}: swapping out speeds rounds up"
    );
    println!(
        "seed {seed}: leader rounds skipped: {:.1}% in the first window, {:.1}% after the swap, \
         {:.1}% without reputation; rounds/s {rate_after:.1} after the swap, {rate_without:.1} \
         without",
        before * 100.0,
        after * 100.0,
        without * 100.0
    );

    // A validator restarted from its store rebuilds the same schedule from its commits.
    let (committee, keys) = committee(4);
    let before_restart = sim.node(1).commits().to_vec();
    sim.crash(1).unwrap();
    sim.node_mut(1).shut_down();
    let fresh = SimValidator::new(logic_with(
        reputation_config(1, Some(WINDOW)),
        &committee,
        &keys,
        stores[1].clone(),
        before_restart.len() as u64,
    ));
    assert_eq!(fresh.logic().unwrap().core().leader_swaps(), [3]);
    sim.restart(1, fresh).unwrap();
    let target = before_restart.len() + 40;
    sim.run_until(
        |s| {
            before_restart.len() + s.node(1).commits().len() >= target
                && all_have(s, &[0, 2], target)
        },
        RunLimit::until_time(600_000),
    )
    .unwrap();
    assert_no_fatal(&sim);
    let joined: Vec<CommittedSubDag> = before_restart
        .iter()
        .chain(sim.node(1).commits())
        .cloned()
        .collect();
    let others = commits_of(&sim, &[0, 2]);
    let mut refs: Vec<&[CommittedSubDag]> = others.iter().map(|s| s.as_slice()).collect();
    refs.push(&joined);
    assert!(assert_consistent(&refs) >= target);
}

#[test]
fn wiped_node_rejoins_without_equivocating() {
    for seed in SEEDS {
        wiped_node_rejoins_without_equivocating_with(seed);
    }
}

fn wiped_node_rejoins_without_equivocating_with(seed: u64) {
    let n = 4;
    let (committee, keys) = committee(n);
    let (mut sim, stores) = honest_cluster(n, seed);
    sim.run_until(
        |s| s.node(1).logic().unwrap().core().last_proposed_round() >= 25,
        RunLimit::until_time(60_000),
    )
    .unwrap();
    let round_before = sim.node(1).logic().unwrap().core().last_proposed_round();
    sim.crash(1).unwrap();
    sim.node_mut(1).shut_down();
    sim.run_for(1_000);

    // The disk is gone: a fresh, empty store.
    let wiped = Arc::new(MemStore::new());
    let fresh = SimValidator::new(logic(&committee, &keys, 1, wiped.clone(), 0));
    assert_eq!(fresh.logic().unwrap().core().last_proposed_round(), 0);
    sim.restart(1, fresh).unwrap();
    let target = sim.node(0).commits().len() + 30;
    sim.run_until(
        |s| {
            all_have(s, &[0, 2, 3], target)
                && s.node(1).logic().unwrap().core().last_proposed_round() > round_before + 10
        },
        RunLimit::until_time(180_000),
    )
    .unwrap();
    assert_no_fatal(&sim);

    // It signs blocks again (its old ones came back through block sync) and never a second
    // block for a round: every store, the wiped one included, holds one block per round of it.
    let signed_again = wiped
        .scan_blocks_from_round(round_before + 1)
        .unwrap()
        .iter()
        .filter(|b| b.author() == 1)
        .count();
    assert!(signed_again > 10);
    let mut all: Vec<&dyn Store> = stores.iter().map(|s| s.as_ref() as &dyn Store).collect();
    all.push(wiped.as_ref());
    assert!(assert_single_block_per_slot(&all, 1) > round_before as usize);
    let seqs = commits_of(&sim, &[0, 2, 3]);
    let refs: Vec<&[CommittedSubDag]> = seqs.iter().map(|s| s.as_slice()).collect();
    assert!(assert_consistent(&refs) >= target);
}

/// A store that counts what recovery reads from it.
struct CountingStore {
    inner: Arc<MemStore>,
    blocks_read: std::sync::atomic::AtomicUsize,
    commits_read: std::sync::atomic::AtomicUsize,
}

impl Store for CountingStore {
    fn write(
        &self,
        batch: fastevm_consensus::StoreBatch,
    ) -> fastevm_consensus::ConsensusResult<()> {
        self.inner.write(batch)
    }
    fn scan_blocks_from_round(
        &self,
        min_round: fastevm_consensus::Round,
    ) -> fastevm_consensus::ConsensusResult<Vec<fastevm_consensus::VerifiedBlock>> {
        let blocks = self.inner.scan_blocks_from_round(min_round)?;
        self.blocks_read
            .fetch_add(blocks.len(), std::sync::atomic::Ordering::Relaxed);
        Ok(blocks)
    }
    fn read_blocks(
        &self,
        refs: &[fastevm_consensus::BlockRef],
    ) -> fastevm_consensus::ConsensusResult<Vec<Option<fastevm_consensus::VerifiedBlock>>> {
        self.inner.read_blocks(refs)
    }
    fn scan_commits_from(
        &self,
        from: fastevm_consensus::CommitIndex,
    ) -> fastevm_consensus::ConsensusResult<Vec<fastevm_consensus::Commit>> {
        let commits = self.inner.scan_commits_from(from)?;
        self.commits_read
            .fetch_add(commits.len(), std::sync::atomic::Ordering::Relaxed);
        Ok(commits)
    }
    fn read_last_commit(
        &self,
    ) -> fastevm_consensus::ConsensusResult<Option<fastevm_consensus::Commit>> {
        self.inner.read_last_commit()
    }
}

#[test]
fn a_restart_reads_a_bounded_window_of_an_old_store() {
    let n = 4;
    let (committee, keys) = committee(n);
    let (mut sim, stores) = honest_cluster(n, 5);
    let all = [0, 1, 2, 3];
    sim.run_until(|s| all_have(s, &all, 1_000), RunLimit::until_time(900_000))
        .unwrap();
    let before = sim.node(1).commits().to_vec();
    sim.crash(1).unwrap();
    sim.node_mut(1).shut_down();
    let stored_blocks = stores[1].scan_blocks_from_round(1).unwrap().len();
    let stored_commits = stores[1].scan_commits_from(1).unwrap().len();

    let counting = Arc::new(CountingStore {
        inner: stores[1].clone(),
        blocks_read: Default::default(),
        commits_read: Default::default(),
    });
    let fresh = SimValidator::new(logic(
        &committee,
        &keys,
        1,
        counting.clone(),
        before.len() as u64,
    ));
    let config = LogicConfig::new(1);
    let gc = config.core.gc_depth as usize;
    let window = config.core.leader_reputation.unwrap().commits_per_update as usize;
    let blocks_read = counting
        .blocks_read
        .load(std::sync::atomic::Ordering::Relaxed);
    let commits_read = counting
        .commits_read
        .load(std::sync::atomic::Ordering::Relaxed);
    // The window: blocks of 2 × GC depth rounds below the last commit (and the few rounds the
    // DAG runs ahead of it), and the commits of the last three reputation windows at most,
    // whatever the age of the store.
    assert!(stored_blocks > 3_500 && stored_commits >= 1_000);
    assert!(
        blocks_read <= n * (2 * gc + 10),
        "read {blocks_read} of {stored_blocks} blocks"
    );
    assert!(
        commits_read <= 3 * window,
        "read {commits_read} of {stored_commits} commits"
    );

    // Recovered from the window, it goes on in agreement with the others.
    sim.restart(1, fresh).unwrap();
    let target = before.len() + 40;
    sim.run_until(
        |s| before.len() + s.node(1).commits().len() >= target && all_have(s, &[0, 2, 3], target),
        RunLimit::until_time(1_200_000),
    )
    .unwrap();
    assert_no_fatal(&sim);
    let joined: Vec<CommittedSubDag> = before
        .iter()
        .chain(sim.node(1).commits())
        .cloned()
        .collect();
    let others = commits_of(&sim, &[0, 2, 3]);
    let mut refs: Vec<&[CommittedSubDag]> = others.iter().map(|s| s.as_slice()).collect();
    refs.push(&joined);
    assert!(assert_consistent(&refs) >= target);
}
