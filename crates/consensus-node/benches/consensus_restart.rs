//! Restart time of a validator as its chain ages: four validators on RocksDB stores run on the
//! deterministic simulator; at each checkpoint (in commits) one validator that keeps its whole
//! history (`retention_rounds = 0`) and one with the default retention window (5,000 rounds) are
//! stopped, and reopening their store and recovering their consensus state is timed (wall clock,
//! what `fastevm consensus` does at start: open RocksDB, read its own last round, recover the
//! core), before they rejoin.
//!
//! `cargo bench -p fastevm-consensus-node --bench consensus_restart`
//! Environment: `BENCH_RESTART_AT` (commits, comma separated; default `10000,100000`),
//! `BENCH_RESTART_DIR` (where to keep the stores; default a temporary directory, deleted).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use fastevm_consensus::{Committee, Store};
use fastevm_consensus_node::{
    LogicConfig, RocksStore, RocksStoreOptions, SimValidator, SyntheticTransactions, ValidatorLogic,
};
use fastevm_network::sim::{LinkConfig, RunLimit, SimConfig, Simulator};

/// Validator keeping everything.
const ARCHIVE: usize = 1;
/// Validator with the default retention window.
const PRUNING: usize = 2;

fn config(i: usize) -> LogicConfig {
    let mut config = LogicConfig::new(i as u32);
    if i == ARCHIVE {
        config.core.retention_rounds = 0;
    }
    config
}

fn open(path: &Path, own: usize) -> Arc<RocksStore> {
    let options = RocksStoreOptions {
        sync_writes: false,
        own_index: Some(own as u32),
    };
    Arc::new(RocksStore::open(path, options).expect("store opens"))
}

fn logic(
    i: usize,
    committee: &Committee,
    keys: &[SigningKey],
    store: Arc<dyn Store>,
    resume_after: u64,
) -> ValidatorLogic {
    ValidatorLogic::new(
        config(i),
        committee.clone(),
        keys[i].clone(),
        store,
        Box::new(SyntheticTransactions::new(i as u32, 2, 32)),
        resume_after,
    )
    .expect("logic recovers")
}

/// Bytes of the files in a RocksDB directory, by kind: table files, write-ahead log, manifest,
/// RocksDB's info log, the rest.
#[derive(Default)]
struct DirBytes {
    tables: u64,
    wal: u64,
    manifest: u64,
    info_log: u64,
    other: u64,
}

impl DirBytes {
    fn of(dir: &Path) -> Self {
        let mut bytes = Self::default();
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let slot = if name.ends_with(".sst") {
                &mut bytes.tables
            } else if name.ends_with(".log") {
                &mut bytes.wal
            } else if name.starts_with("MANIFEST") {
                &mut bytes.manifest
            } else if name.starts_with("LOG") {
                &mut bytes.info_log
            } else {
                &mut bytes.other
            };
            *slot += meta.len();
        }
        bytes
    }

    fn describe(&self) -> String {
        let mb = |b: u64| b as f64 / 1e6;
        format!(
            "{:.1} MB in its directory (tables {:.1}, write-ahead log {:.1}, manifest {:.1}, \
             info log {:.1}, other {:.1})",
            mb(self.tables + self.wal + self.manifest + self.info_log + self.other),
            mb(self.tables),
            mb(self.wal),
            mb(self.manifest),
            mb(self.info_log),
            mb(self.other)
        )
    }
}

/// What one restart measured.
struct Restart {
    open: Duration,
    recover: Duration,
    open_again: Duration,
    blocks_stored: usize,
    /// The directory as the restart found it.
    dir: DirBytes,
}

/// Stops validator `i`, reopens its store and recovers it (timed), then restarts it in `sim`;
/// its consumer had handled `delivered` commits.
fn restart(
    sim: &mut Simulator<SimValidator>,
    i: usize,
    path: &Path,
    (committee, keys): (&Committee, &[SigningKey]),
    delivered: u64,
) -> Restart {
    sim.crash(i).expect("crash");
    sim.node_mut(i).shut_down(); // closes its database
    let dir = DirBytes::of(path);
    // The simulation's stores (and the previous restart) flush and compact in RocksDB's
    // background threads; a process restarting on its own machine does not share the cores with
    // them: give them 3 s (a large store's compactions can take longer; the pruning validator is
    // restarted first for that reason).
    std::thread::sleep(Duration::from_secs(3));
    let started = Instant::now();
    let store = open(path, i);
    store.own_last_round().expect("own last round");
    let open_time = started.elapsed();
    let started = Instant::now();
    let fresh = logic(i, committee, keys, store.clone(), delivered);
    let recover = started.elapsed();
    let blocks_stored = store.scan_blocks_from_round(0).expect("scan").len();
    // The first open also rewrites RocksDB's manifest and rotates its info log: an open right
    // after it shows what the data alone costs.
    drop((fresh, store));
    std::thread::sleep(Duration::from_secs(1));
    let started = Instant::now();
    let store = open(path, i);
    let open_again = started.elapsed();
    let fresh = logic(i, committee, keys, store, delivered);
    let measured = Restart {
        open: open_time,
        recover,
        open_again,
        blocks_stored,
        dir,
    };
    sim.restart(i, SimValidator::new(fresh)).expect("restart");
    measured
}

fn main() {
    let checkpoints: Vec<usize> = std::env::var("BENCH_RESTART_AT")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000]);
    let n = 4;
    let (committee, keys) = Committee::new_for_test(n, 3);
    let temp = tempfile::tempdir().expect("tempdir");
    // BENCH_RESTART_DIR keeps the stores for a look afterwards (it must not hold stores already).
    let dir = std::env::var_os("BENCH_RESTART_DIR")
        .map_or_else(|| temp.path().to_path_buf(), PathBuf::from);
    let paths: Vec<PathBuf> = (0..n).map(|i| dir.join(format!("v{i}"))).collect();
    let nodes = (0..n)
        .map(|i| {
            let store: Arc<dyn Store> = open(&paths[i], i);
            SimValidator::new(logic(i, &committee, &keys, store, 0))
        })
        .collect();
    let sim_config = SimConfig {
        seed: 11,
        default_link: LinkConfig {
            base_latency_ms: 50,
            jitter_ms: 20,
            drop_probability: 0.0,
        },
        fifo_links: true,
    };
    let mut sim = Simulator::new(sim_config, nodes).expect("simulator");
    println!(
        "restart time: 4 validators on the simulator (50 ms + 0..20 ms links), RocksDB stores \
         without fsync, 2 transactions of 32 bytes per block; validator {ARCHIVE} keeps \
         everything, validator {PRUNING} keeps the default 5,000-round window; machine: {} \
         logical CPUs",
        std::thread::available_parallelism().map_or(0, |p| p.get())
    );
    let wall = Instant::now();
    // Commits each validator delivered before its last restart (a restarted node's output
    // starts empty).
    let mut earlier = [0usize; 4];
    for target in checkpoints {
        sim.run_until(
            |s| (0..n).all(|i| earlier[i] + s.node(i).commits().len() >= target),
            RunLimit {
                max_time_ms: u64::MAX / 4,
                max_steps: u64::MAX,
            },
        )
        .expect("simulation runs");
        let round = sim
            .node(0)
            .logic()
            .expect("running")
            .core()
            .last_proposed_round();
        println!(
            "after {target} commits (round {round}, {:.0} s simulated, {:.1} s wall so far):",
            sim.now_ms() as f64 / 1000.0,
            wall.elapsed().as_secs_f64()
        );
        for (i, label) in [
            (PRUNING, "5,000-round window"),
            (ARCHIVE, "keeps everything"),
        ] {
            earlier[i] += sim.node(i).commits().len();
            let r = restart(
                &mut sim,
                i,
                &paths[i],
                (&committee, &keys),
                earlier[i] as u64,
            );
            println!(
                "  validator {i} ({label}): open {:.1} ms + recover {:.1} ms = {:.1} ms \
                 (open again right after: {:.1} ms); {} blocks stored; {}",
                r.open.as_secs_f64() * 1e3,
                r.recover.as_secs_f64() * 1e3,
                (r.open + r.recover).as_secs_f64() * 1e3,
                r.open_again.as_secs_f64() * 1e3,
                r.blocks_stored,
                r.dir.describe()
            );
        }
    }
    for i in 0..n {
        if let Some(e) = sim.node(i).fatal_error() {
            panic!("validator {i} stopped: {e}");
        }
    }
}
