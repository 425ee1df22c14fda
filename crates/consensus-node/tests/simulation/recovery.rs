//! Simulated scenarios of a validator's long life: leader reputation swapping a crashed leader
//! out, a wiped validator rejoining without equivocating, and restarts that read a bounded
//! window of an old store.

use std::sync::Arc;

use crate::common::*;
use crate::{
    all_have, assert_no_fatal, assert_rejoined, commits_of, honest_cluster, run_then_crash, SEEDS,
};
use fastevm_consensus::{leader_scoring::ReputationParams, CommittedSubDag, MemStore, Store};
use fastevm_consensus_node::{LogicConfig, SimValidator};
use fastevm_network::sim::{RunLimit, Simulator};

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
    assert!(assert_rejoined(&sim, 1, &before_restart, &[0, 2]) >= target);
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
    let (round_before, _) = run_then_crash(&mut sim, 1, 25);
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
    fn scan_blocks_in_rounds(
        &self,
        min_round: fastevm_consensus::Round,
        max_round: fastevm_consensus::Round,
    ) -> fastevm_consensus::ConsensusResult<Vec<fastevm_consensus::VerifiedBlock>> {
        let blocks = self.inner.scan_blocks_in_rounds(min_round, max_round)?;
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
    fn scan_commits_in(
        &self,
        from: fastevm_consensus::CommitIndex,
        to: fastevm_consensus::CommitIndex,
    ) -> fastevm_consensus::ConsensusResult<Vec<fastevm_consensus::Commit>> {
        let commits = self.inner.scan_commits_in(from, to)?;
        self.commits_read
            .fetch_add(commits.len(), std::sync::atomic::Ordering::Relaxed);
        Ok(commits)
    }
    fn read_last_commit(
        &self,
    ) -> fastevm_consensus::ConsensusResult<Option<fastevm_consensus::Commit>> {
        self.inner.read_last_commit()
    }
    fn prune(
        &self,
        floor: fastevm_consensus::PruneFloor,
    ) -> fastevm_consensus::ConsensusResult<()> {
        self.inner.prune(floor)
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
    assert!(assert_rejoined(&sim, 1, &before, &[0, 2, 3]) >= target);
}
