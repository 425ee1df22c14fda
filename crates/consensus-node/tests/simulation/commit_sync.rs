//! Commit sync on the simulated network: a validator that was down for 10,000 rounds catches
//! up through certified commit ranges, in bounded time and memory, and agrees with the others.

use std::sync::Arc;

use crate::common::*;
use crate::{all_have, assert_no_fatal, assert_rejoined};
use fastevm_consensus::{MemStore, Store};
use fastevm_consensus_node::{LogicConfig, SimValidator};
use fastevm_network::sim::{RunLimit, Simulator};

/// Rounds the validator stays down.
const DOWNTIME_ROUNDS: u32 = 10_000;

fn config(i: u32) -> LogicConfig {
    let mut config = LogicConfig::new(i);
    // The peers must still hold what the returning validator missed: retention covers the
    // downtime (commit sync cannot fetch what every peer has deleted).
    config.core.retention_rounds = 2 * DOWNTIME_ROUNDS;
    config
}

/// Four validators over in-memory stores (returned for inspection).
fn cluster(seed: u64) -> (Simulator<SimValidator>, Vec<Arc<MemStore>>) {
    let (committee, keys) = committee(4);
    let stores: Vec<Arc<MemStore>> = (0..4).map(|_| Arc::new(MemStore::new())).collect();
    let nodes = (0..4)
        .map(|i| {
            let store: Arc<dyn Store> = stores[i].clone();
            SimValidator::new(logic_with(config(i as u32), &committee, &keys, store, 0))
        })
        .collect();
    (Simulator::new(sim_config(seed), nodes).unwrap(), stores)
}

/// The most a validator held in memory at once while catching up.
#[derive(Debug, Default, Clone, Copy)]
struct Peak {
    dag_blocks: usize,
    suspended_blocks: usize,
    synced_commits_held: usize,
}

#[test]
fn a_validator_down_for_10_000_rounds_catches_up_through_commit_sync() {
    let (committee, keys) = committee(4);
    let (mut sim, stores) = cluster(5);
    let all = [0, 1, 2, 3];
    let live = [0, 1, 2];
    sim.run_until(|s| all_have(s, &all, 20), RunLimit::until_time(60_000))
        .unwrap();

    // Validator 3 goes down; the others run on for 10,000 rounds.
    let before = sim.node(3).commits().to_vec();
    let down_round = sim.node(0).logic().unwrap().core().clock_round();
    sim.crash(3).unwrap();
    sim.node_mut(3).shut_down();
    sim.run_until(
        |s| s.node(0).logic().unwrap().core().clock_round() >= down_round + DOWNTIME_ROUNDS,
        RunLimit::until_time(10_000_000),
    )
    .unwrap();
    let behind = sim.node(0).commits().len() - before.len();
    assert!(behind > 9_000, "{behind} commits made while it was down");

    // It comes back from its own store.
    let store: Arc<dyn Store> = stores[3].clone();
    let fresh = logic_with(config(3), &committee, &keys, store, before.len() as u64);
    sim.restart(3, SimValidator::new(fresh)).unwrap();
    let restarted_ms = sim.now_ms();
    let mut peak = Peak::default();
    let caught_up = |s: &Simulator<SimValidator>| {
        let logic = s.node(3).logic().unwrap();
        peak.dag_blocks = peak.dag_blocks.max(logic.core().dag().num_blocks());
        peak.suspended_blocks = peak.suspended_blocks.max(logic.core().suspended_count());
        peak.synced_commits_held = peak.synced_commits_held.max(logic.commit_sync_held());
        let target = s.node(0).commits().len();
        before.len() + s.node(3).commits().len() >= target
            && logic.core().last_proposed_round() + 5
                >= s.node(0).logic().unwrap().core().last_proposed_round()
    };
    sim.run_until(caught_up, RunLimit::until_time(restarted_ms + 120_000))
        .unwrap();
    let took_ms = sim.now_ms() - restarted_ms;
    assert_no_fatal(&sim);

    let logic = sim.node(3).logic().unwrap();
    let synced = logic.commit_sync_stats();
    let stats = logic.stats();
    eprintln!(
        "caught up {behind} commits in {took_ms} ms of simulated time: {synced:?}, {} blocks \
         fetched by block sync, peak {peak:?}",
        stats.blocks_fetched
    );
    assert!(
        synced.commits_synced as usize > behind - 200,
        "most commits came through commit sync: {synced:?}"
    );
    // Block sync only filled in the recent DAG, not the 40,000 blocks of the downtime.
    assert!(stats.blocks_fetched < 2_000, "{stats:?}");
    // Bounded memory: the GC window of the DAG, the blocks that arrived while it synced, and
    // at most `parallel_fetches` ranges of commits.
    assert!(peak.dag_blocks < 1_000, "{peak:?}");
    assert!(peak.suspended_blocks < 2_000, "{peak:?}");
    let cfg = config(3).commit_sync;
    assert!(
        peak.synced_commits_held <= cfg.parallel_fetches * cfg.batch_size as usize,
        "{peak:?}"
    );
    // Bounded time: ~10,000 commits at 50 a request, three requests at a time.
    assert!(took_ms < 60_000, "took {took_ms} ms");

    // It proposes again and every validator agrees on the whole sequence.
    let target = sim.node(0).commits().len() + 50;
    sim.run_until(
        |s| all_have(s, &live, target) && before.len() + s.node(3).commits().len() >= target,
        RunLimit::until_time(sim.now_ms() + 120_000),
    )
    .unwrap();
    assert_no_fatal(&sim);
    assert!(assert_rejoined(&sim, 3, &before, &live) >= target);
    let recent = &sim.node(0).commits()[target - 50..target];
    assert!(
        recent
            .iter()
            .any(|c| c.blocks.iter().any(|b| b.author() == 3)),
        "the returned validator's blocks are committed again"
    );
}

#[test]
fn a_wiped_validator_rejoins_through_commit_sync_without_equivocating() {
    let (committee, keys) = committee(4);
    let (mut sim, stores) = cluster(9);
    let all = [0, 1, 2, 3];
    let others = [0, 1, 3];
    sim.run_until(|s| all_have(s, &all, 500), RunLimit::until_time(600_000))
        .unwrap();
    let round_before = sim.node(2).logic().unwrap().core().last_proposed_round();
    let before = sim.node(2).commits().to_vec();
    sim.crash(2).unwrap();
    sim.node_mut(2).shut_down();
    sim.run_for(5_000);

    // Its disk is gone; its application (the execution node) kept what it had executed.
    let wiped = Arc::new(MemStore::new());
    let store: Arc<dyn Store> = wiped.clone();
    let fresh = logic_with(config(2), &committee, &keys, store, before.len() as u64);
    sim.restart(2, SimValidator::new(fresh)).unwrap();
    let target = sim.node(0).commits().len() + 50;
    sim.run_until(
        |s| {
            all_have(s, &others, target)
                && before.len() + s.node(2).commits().len() >= target
                && s.node(2).logic().unwrap().core().last_proposed_round() > round_before + 10
        },
        RunLimit::until_time(sim.now_ms() + 180_000),
    )
    .unwrap();
    assert_no_fatal(&sim);
    let synced = sim.node(2).logic().unwrap().commit_sync_stats();
    assert!(
        synced.commits_synced >= 400,
        "it took its chain from its peers: {synced:?}"
    );
    // Never a second block for a round it signed before the wipe.
    let mut every: Vec<&dyn Store> = stores.iter().map(|s| s.as_ref() as &dyn Store).collect();
    every.push(wiped.as_ref());
    assert!(assert_single_block_per_slot(&every, 2) > round_before as usize);
    assert!(assert_rejoined(&sim, 2, &before, &others) >= target);
}
