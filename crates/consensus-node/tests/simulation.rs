//! Deterministic multi-validator scenarios on the network simulator: agreement, crash,
//! equivocation, partition and restart from an in-memory or RocksDB store.

#[path = "simulation/commit_sync.rs"]
mod commit_sync;
mod common;
#[path = "simulation/recovery.rs"]
mod recovery;
#[path = "simulation/retention.rs"]
mod retention;

use std::sync::Arc;

use common::*;
use fastevm_consensus::{CommittedSubDag, MemStore, Store};
use fastevm_consensus_node::{RocksStore, RocksStoreOptions, SimValidator, SyntheticTransactions};
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

/// Runs until validator `node` proposed round `round`, then crashes it; returns the round it had
/// reached and the commits it had delivered.
fn run_then_crash(
    sim: &mut Simulator<SimValidator>,
    node: usize,
    round: u32,
) -> (u32, Vec<CommittedSubDag>) {
    sim.run_until(
        |s| s.node(node).logic().unwrap().core().last_proposed_round() >= round,
        RunLimit::until_time(60_000),
    )
    .unwrap();
    let reached = sim.node(node).logic().unwrap().core().last_proposed_round();
    let before = sim.node(node).commits().to_vec();
    sim.crash(node).unwrap();
    sim.node_mut(node).shut_down();
    (reached, before)
}

/// Asserts that `node`'s commits from before a restart (`before`) followed by those since agree
/// with the sequences of `others`; returns the agreed length.
fn assert_rejoined(
    sim: &Simulator<SimValidator>,
    node: usize,
    before: &[CommittedSubDag],
    others: &[usize],
) -> usize {
    let joined: Vec<CommittedSubDag> = before
        .iter()
        .chain(sim.node(node).commits())
        .cloned()
        .collect();
    let sequences = commits_of(sim, others);
    let mut refs: Vec<&[CommittedSubDag]> = sequences.iter().map(|s| s.as_slice()).collect();
    refs.push(&joined);
    assert_consistent(&refs)
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
    let (round_before, before) = run_then_crash(&mut sim, 1, 25);
    assert!(!before.is_empty());
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
    assert!(assert_rejoined(&sim, 1, &before, &[0, 2, 3]) >= target);
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
