//! Throughput and latency of a 4-validator committee: first on the deterministic simulator
//! (simulated milliseconds), then over loopback TCP with RocksDB stores (wall clock). Each runs
//! with all four validators up, then with one crashed from the start, with leader reputation off
//! and on (figures before and after the first reputation window, when the crashed validator is
//! swapped out of the leader schedule).
//!
//! `cargo bench -p fastevm-consensus-node --bench consensus_node`
//! Environment: `BENCH_SIM_SECS` (default 60 simulated seconds; 180 with a crashed validator),
//! `BENCH_TCP_SECS` (default 10 wall seconds; `BENCH_TCP_CRASHED_SECS`, default 90, with a
//! crashed validator: the first 300-commit reputation window takes ~45 s of it),
//! `BENCH_TXS_PER_BLOCK` (default 20), `BENCH_TX_BYTES` (default 256), `BENCH_SYNC_WRITES`
//! (default 1).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fastevm_consensus::{leader_scoring::ReputationParams, CommittedSubDag, Committee, MemStore};
use fastevm_consensus_node::{
    LogicConfig, SimValidator, SyntheticTransactions, ValidatorConfig, ValidatorLogic,
    ValidatorNode,
};
use fastevm_network::sim::{LinkConfig, SimConfig, Simulator};
use tokio::net::TcpListener;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Workload {
    txs_per_block: usize,
    tx_bytes: usize,
}

/// Figures computed from one node's output.
struct Figures {
    seconds: f64,
    commits: usize,
    rounds: u32,
    leader_latency: Vec<u64>,
    block_latency: Vec<u64>,
    block_bytes: Vec<usize>,
    txs: usize,
}

impl Figures {
    fn from_commits(seconds: f64, rounds: u32, commits: &[(u64, CommittedSubDag)]) -> Self {
        let mut f = Figures {
            seconds,
            commits: commits.len(),
            rounds,
            leader_latency: Vec::new(),
            block_latency: Vec::new(),
            block_bytes: Vec::new(),
            txs: 0,
        };
        for (at, c) in commits {
            for b in &c.blocks {
                let latency = at.saturating_sub(b.timestamp_ms());
                if b.reference() == c.leader {
                    f.leader_latency.push(latency);
                }
                f.block_latency.push(latency);
                f.block_bytes.push(b.signed().to_bytes().len());
                f.txs += b.transactions().len();
            }
        }
        f.leader_latency.sort_unstable();
        f.block_latency.sort_unstable();
        f
    }

    /// Figures of `commits` alone (commit output times in ms), rounds counted from their
    /// leaders, with the share of leader rounds that committed no leader.
    fn of_part(commits: &[(u64, CommittedSubDag)]) -> Option<(Self, f64)> {
        let (first, last) = (commits.first()?, commits.last()?);
        let seconds = (last.0.saturating_sub(first.0)) as f64 / 1000.0;
        let rounds = last.1.leader.round - first.1.leader.round;
        if rounds == 0 || seconds == 0.0 {
            return None;
        }
        let skipped = 1.0 - (commits.len() - 1) as f64 / f64::from(rounds);
        Some((Self::from_commits(seconds, rounds, commits), skipped))
    }

    fn print(&self, unit: &str) {
        let pct = |v: &[u64], p: f64| -> u64 {
            if v.is_empty() {
                return 0;
            }
            v[((v.len() - 1) as f64 * p).round() as usize]
        };
        let avg_bytes =
            self.block_bytes.iter().sum::<usize>() as f64 / self.block_bytes.len().max(1) as f64;
        println!(
            "  commits/s              {:>10.1}",
            self.commits as f64 / self.seconds
        );
        println!(
            "  rounds/s               {:>10.1}",
            self.rounds as f64 / self.seconds
        );
        println!(
            "  committed txs/s        {:>10.1}",
            self.txs as f64 / self.seconds
        );
        println!(
            "  leader commit latency  p50 {} {unit}, p99 {} {unit} (leader block timestamp -> commit output)",
            pct(&self.leader_latency, 0.5),
            pct(&self.leader_latency, 0.99)
        );
        println!(
            "  block commit latency   p50 {} {unit}, p99 {} {unit} (any block timestamp -> commit output)",
            pct(&self.block_latency, 0.5),
            pct(&self.block_latency, 0.99)
        );
        println!("  bytes per block        {avg_bytes:>10.0} (signed block encoding)");
        println!(
            "  totals                 {} commits, {} blocks, {} rounds in {:.1} s",
            self.commits,
            self.block_bytes.len(),
            self.rounds,
            self.seconds
        );
    }
}

/// Who runs in a scenario.
#[derive(Clone, Copy)]
struct Scenario {
    /// Validator 3 never runs.
    crashed: bool,
    /// Leader reputation (Sui's production window of 300 commits) or none.
    reputation: bool,
}

impl Scenario {
    const ALL: [Scenario; 3] = [
        Scenario {
            crashed: false,
            reputation: true,
        },
        Scenario {
            crashed: true,
            reputation: false,
        },
        Scenario {
            crashed: true,
            reputation: true,
        },
    ];

    fn describe(self) -> &'static str {
        match (self.crashed, self.reputation) {
            (false, _) => "all 4 validators up",
            (true, false) => "validator 3 crashed from the start, leader reputation off",
            (true, true) => {
                "validator 3 crashed from the start, leader reputation on (300-commit windows)"
            }
        }
    }

    fn logic_config(self, i: u32) -> LogicConfig {
        let mut config = LogicConfig::new(i);
        config.core.leader_reputation = self.reputation.then(ReputationParams::default);
        config
    }

    fn running(self) -> usize {
        if self.crashed {
            3
        } else {
            4
        }
    }
}

/// Prints the figures of a run; with a crashed validator, also those before and after the first
/// reputation window (when reputation is on, the crashed validator leads no round after it).
fn print_run(
    scenario: Scenario,
    seconds: f64,
    rounds: u32,
    commits: &[(u64, CommittedSubDag)],
    unit: &str,
) {
    Figures::from_commits(seconds, rounds, commits).print(unit);
    if !scenario.crashed {
        return;
    }
    let window = ReputationParams::default().commits_per_update as usize;
    if commits.len() <= window + 1 {
        println!("  (run too short to reach the end of the first {window}-commit window)");
        return;
    }
    for (label, part) in [
        (
            format!("commits 1-{window} (first window)"),
            &commits[..window],
        ),
        (format!("commits after {window}"), &commits[window..]),
    ] {
        if let Some((f, skipped)) = Figures::of_part(part) {
            println!(
                "  -- {label}: {:.1}% of leader rounds committed no leader",
                skipped * 100.0
            );
            f.print(unit);
        }
    }
}

fn simulated(workload: &Workload, scenario: Scenario, secs: u64) {
    let n = 4;
    let (committee, keys) = Committee::new_for_test(n, 1);
    let nodes = (0..n)
        .map(|i| {
            let logic = ValidatorLogic::new(
                scenario.logic_config(i as u32),
                committee.clone(),
                keys[i].clone(),
                Arc::new(MemStore::new()),
                Box::new(SyntheticTransactions::new(
                    i as u32,
                    workload.txs_per_block,
                    workload.tx_bytes,
                )),
                0,
            )
            .expect("logic");
            SimValidator::new(logic)
        })
        .collect();
    let link = LinkConfig {
        base_latency_ms: 50,
        jitter_ms: 20,
        drop_probability: 0.0,
    };
    let config = SimConfig {
        seed: 1,
        default_link: link,
        fifo_links: true,
    };
    let mut sim = Simulator::new(config, nodes).expect("simulator");
    if scenario.crashed {
        sim.crash(3).expect("crash");
    }
    let wall = Instant::now();
    sim.run_until_time(secs * 1000);
    let wall = wall.elapsed();
    let node = sim.node(0);
    let commits: Vec<(u64, CommittedSubDag)> = node
        .commit_times_ms()
        .iter()
        .copied()
        .zip(node.commits().iter().cloned())
        .collect();
    let rounds = node.logic().expect("running").core().last_proposed_round();
    println!(
        "simulated, {}: one-way latency 50 ms + uniform 0..20 ms jitter, FIFO links, no loss, \
         seed 1, {secs} simulated s (took {:.1} s wall); leader timeout 200 ms, min round delay 50 ms; \
         MemStore; figures at validator 0",
        scenario.describe(),
        wall.as_secs_f64()
    );
    print_run(scenario, secs as f64, rounds, &commits, "ms (simulated)");
    let sent: u64 = (0..scenario.running())
        .map(|i| sim.counters(i).bytes_sent)
        .sum();
    println!(
        "  network bytes/s (all)  {:>10.0} ({} messages dropped)",
        sent as f64 / secs as f64,
        sim.dropped_messages()
    );
}

fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

async fn tcp(workload: &Workload, scenario: Scenario, secs: u64, sync_writes: bool) {
    let n = 4;
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut committee, keys) = Committee::new_for_test(n, 2);
    let mut listeners = Vec::new();
    for a in committee.authorities.iter_mut() {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        a.address = l.local_addr().expect("addr").to_string();
        listeners.push(l);
    }
    let mut handles = Vec::new();
    let mut collectors = Vec::new();
    // A crashed validator's port is closed: its peers' dials are refused and retried.
    listeners.truncate(scenario.running());
    for (i, listener) in listeners.into_iter().enumerate() {
        let mut config = ValidatorConfig::new(i as u32, listener.local_addr().expect("addr"));
        config.sync_writes = sync_writes;
        config.logic = scenario.logic_config(i as u32);
        let (handle, mut rx) = ValidatorNode::start_with_listener(
            config,
            committee.clone(),
            keys[i].clone(),
            dir.path().join(format!("v{i}")),
            Box::new(SyntheticTransactions::new(
                i as u32,
                workload.txs_per_block,
                workload.tx_bytes,
            )),
            0,
            listener,
        )
        .expect("start");
        handles.push(handle);
        collectors.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(c) = rx.recv().await {
                got.push((wall_ms(), c));
            }
            got
        }));
    }
    let started = Instant::now();
    let cpu_before = process_cpu_seconds();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let elapsed = started.elapsed().as_secs_f64();
    let status = handles[0].status();
    let rounds = status.last_proposed_round;
    let cpu = process_cpu_seconds()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    for h in handles {
        h.shutdown().await.expect("clean shutdown");
    }
    let mut outputs = Vec::new();
    for c in collectors {
        outputs.push(c.await.expect("collector"));
    }
    let k = outputs.iter().map(|o| o.len()).min().unwrap_or(0);
    let agree = outputs.iter().all(|o| {
        o[..k]
            .iter()
            .map(|x| x.1.commit_digest)
            .eq(outputs[0][..k].iter().map(|x| x.1.commit_digest))
    });
    println!(
        "loopback TCP, {}: {} ValidatorNodes on 127.0.0.1 in one process, RocksDB stores \
         (sync_writes={sync_writes}), {secs} s wall; leader timeout 200 ms, min round delay 50 ms; \
         figures at validator 0; all {} agree on the first {k} commits: {agree}; leaders swapped \
         out at the end: {}",
        scenario.describe(),
        scenario.running(),
        scenario.running(),
        status.leaders_swapped_out
    );
    print_run(scenario, elapsed, rounds, &outputs[0], "ms");
    println!(
        "  consensus store writes at validator 0: {} in {rounds} rounds ({:.2} per round)",
        status.stats.store_writes,
        status.stats.store_writes as f64 / f64::from(rounds.max(1))
    );
    if let Some(cpu) = cpu {
        println!(
            "  CPU time of the 4 validators over the run: {cpu:.2} s, {:.1} ms per round",
            cpu * 1e3 / f64::from(rounds.max(1))
        );
    }
}

/// User + system CPU time of this process so far (Linux `/proc/self/stat`, 100 ticks/s).
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which ends with ')'): utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn main() {
    let workload = Workload {
        txs_per_block: env_u64("BENCH_TXS_PER_BLOCK", 20) as usize,
        tx_bytes: env_u64("BENCH_TX_BYTES", 256) as usize,
    };
    println!(
        "workload: every block carries {} synthetic transactions of {} bytes ({} payload bytes/block)",
        workload.txs_per_block,
        workload.tx_bytes,
        workload.txs_per_block * workload.tx_bytes
    );
    println!(
        "machine: {} logical CPUs",
        std::thread::available_parallelism().map_or(0, |p| p.get())
    );
    for scenario in Scenario::ALL {
        let secs = if scenario.crashed {
            env_u64("BENCH_SIM_SECS", 180)
        } else {
            env_u64("BENCH_SIM_SECS", 60)
        };
        simulated(&workload, scenario, secs);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let sync_writes = env_u64("BENCH_SYNC_WRITES", 1) != 0;
    for scenario in Scenario::ALL {
        let secs = if scenario.crashed {
            env_u64("BENCH_TCP_CRASHED_SECS", 90)
        } else {
            env_u64("BENCH_TCP_SECS", 10)
        };
        runtime.block_on(tcp(&workload, scenario, secs, sync_writes));
    }
}
