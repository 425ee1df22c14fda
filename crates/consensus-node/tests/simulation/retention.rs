//! A long simulated run with store retention: disk and memory stay flat on validators that
//! prune, grow on one that keeps everything, and a pruned validator restarts and rejoins.

use std::sync::Arc;

use crate::common::*;
use crate::{all_have, assert_no_fatal, assert_rejoined};
use fastevm_consensus::Store;
use fastevm_consensus_node::{LogicConfig, RocksStore, RocksStoreOptions, SimValidator};
use fastevm_network::sim::{RunLimit, Simulator};

const RETENTION: u32 = 200;

fn open(path: &std::path::Path, own: u32) -> Arc<RocksStore> {
    let options = RocksStoreOptions {
        sync_writes: false,
        own_index: Some(own),
    };
    Arc::new(RocksStore::open(path, options).unwrap())
}

fn config(i: u32) -> LogicConfig {
    let mut config = LogicConfig::new(i);
    // Validator 3 keeps everything: the control.
    config.core.retention_rounds = if i == 3 { 0 } else { RETENTION };
    config
}

/// What each validator holds at one point of the run.
#[derive(Debug, Clone, Copy)]
struct Footprint {
    blocks_stored: usize,
    bytes_stored: u64,
    blocks_in_memory: usize,
}

fn footprint(sim: &Simulator<SimValidator>, stores: &[Arc<RocksStore>], i: usize) -> Footprint {
    Footprint {
        blocks_stored: stores[i].scan_blocks_from_round(0).unwrap().len(),
        bytes_stored: stores[i].disk_bytes().unwrap(),
        blocks_in_memory: sim.node(i).logic().unwrap().core().dag().num_blocks(),
    }
}

#[test]
fn pruning_validators_keep_disk_and_memory_flat_over_a_long_run() {
    let n = 4;
    let (committee, keys) = committee(n);
    let dir = tempfile::tempdir().unwrap();
    let stores: Vec<Arc<RocksStore>> = (0..n)
        .map(|i| open(&dir.path().join(format!("node{i}")), i as u32))
        .collect();
    let nodes = (0..n)
        .map(|i| {
            let store: Arc<dyn Store> = stores[i].clone();
            SimValidator::new(logic_with(config(i as u32), &committee, &keys, store, 0))
        })
        .collect();
    let mut sim = Simulator::new(sim_config(7), nodes).unwrap();
    let all = [0, 1, 2, 3];
    let checkpoints = [2_000, 6_000, 10_000];
    let mut seen: Vec<Vec<Footprint>> = Vec::new();
    for k in checkpoints {
        sim.run_until(|s| all_have(s, &all, k), RunLimit::until_time(3_000_000))
            .unwrap();
        seen.push((0..n).map(|i| footprint(&sim, &stores, i)).collect());
    }
    assert_no_fatal(&sim);
    eprintln!("footprints at {checkpoints:?} commits: {seen:?}");
    let first = &seen[0];
    let last = &seen[checkpoints.len() - 1];
    for i in 0..3 {
        let floor = sim.node(i).logic().unwrap().core().pruned_floor();
        assert!(floor.round > 9_000, "node {i} pruned below {floor:?}");
        // At most the retention window plus a prune step of rounds, whatever the age.
        let bound = n * (RETENTION as usize + 100 + 20);
        for point in &seen {
            assert!(point[i].blocks_stored <= bound, "node {i}: {seen:?}");
        }
        assert!(
            last[i].bytes_stored * 4 <= first[i].bytes_stored * 5,
            "node {i}: disk grew from {} to {} bytes",
            first[i].bytes_stored,
            last[i].bytes_stored
        );
    }
    // The validator that keeps everything grows with the chain (five times the commits: at
    // least three and a half times the blocks and the bytes).
    assert_eq!(sim.node(3).logic().unwrap().core().pruned_floor().round, 0);
    assert!(
        last[3].blocks_stored * 2 >= first[3].blocks_stored * 7,
        "{seen:?}"
    );
    assert!(
        last[3].bytes_stored * 2 >= first[3].bytes_stored * 7,
        "{seen:?}"
    );
    // Memory is bounded on every validator (GC), pruning or not.
    for i in 0..n {
        assert!(
            last[i].blocks_in_memory <= first[i].blocks_in_memory + 4 * n,
            "{seen:?}"
        );
    }

    // A pruned validator restarts from its store and goes on in agreement.
    drop(stores);
    let before = sim.node(1).commits().to_vec();
    sim.crash(1).unwrap();
    sim.node_mut(1).shut_down(); // closes its database
    let reopened: Arc<dyn Store> = open(&dir.path().join("node1"), 1);
    let fresh = logic_with(config(1), &committee, &keys, reopened, before.len() as u64);
    sim.restart(1, SimValidator::new(fresh)).unwrap();
    let target = before.len() + 40;
    sim.run_until(
        |s| before.len() + s.node(1).commits().len() >= target && all_have(s, &[0, 2, 3], target),
        RunLimit::until_time(3_600_000),
    )
    .unwrap();
    assert_no_fatal(&sim);
    assert!(assert_rejoined(&sim, 1, &before, &[0, 2, 3]) >= target);
}
