//! Randomized in-process runs of several cores: random delivery order and delays, dropped
//! messages recovered by fetching missing references, crashes and restarts from the store.
//! Checks agreement (prefix-consistent commit chains), no gaps or repeats, and progress.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::commit::CommitDigest;
use crate::store::MemStore;
use crate::test_utils::test_seed;
use crate::verifier::BlockVerifier;

struct Node {
    core: Option<Core>,
    store: Arc<MemStore>,
    inbox: Vec<SignedBlock>,
    down_until: usize,
    commits: Vec<CommittedSubDag>,
}

struct Sim {
    rng: ChaCha8Rng,
    committee: Committee,
    keys: Vec<SigningKey>,
    params: CoreParams,
    verifier: BlockVerifier,
    pool: BTreeMap<BlockRef, SignedBlock>,
    nodes: Vec<Node>,
}

impl Sim {
    fn open(&self, i: usize) -> Core {
        Core::new(
            CoreParams {
                own_index: i as AuthorityIndex,
                ..self.params.clone()
            },
            self.committee.clone(),
            self.keys[i].clone(),
            self.nodes[i].store.clone(),
            Box::new(NoTransactions),
        )
        .unwrap()
    }

    fn broadcast(&mut self, from: usize, block: SignedBlock) {
        self.pool.insert(block.reference(), block.clone());
        for j in 0..self.nodes.len() {
            if j != from && !self.rng.gen_bool(0.1) {
                self.nodes[j].inbox.push(block.clone());
            }
        }
    }

    fn step(&mut self, step: usize, now: u64) {
        let n = self.nodes.len();
        let max_down = (n - 1) / 3;
        // Crash or restart.
        let down = self.nodes.iter().filter(|x| x.core.is_none()).count();
        if down < max_down && self.rng.gen_bool(0.01) {
            let i = self.rng.gen_range(0..n);
            if self.nodes[i].core.is_some() {
                self.nodes[i].core = None;
                self.nodes[i].inbox.clear();
                self.nodes[i].down_until = step + self.rng.gen_range(5..40);
            }
        }
        for i in 0..n {
            if self.nodes[i].core.is_none() && step >= self.nodes[i].down_until {
                let core = self.open(i);
                let last = core.last_proposed_block().signed().clone();
                self.nodes[i].core = Some(core);
                if last.block.round > 0 {
                    self.broadcast(i, last);
                }
            }
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut self.rng);
        for i in order {
            let Some(mut core) = self.nodes[i].core.take() else {
                continue;
            };
            // Deliver a random part of the inbox, in random order.
            let mut inbox = std::mem::take(&mut self.nodes[i].inbox);
            inbox.shuffle(&mut self.rng);
            let keep = self.rng.gen_range(0..=inbox.len() / 2);
            self.nodes[i].inbox = inbox.split_off(inbox.len() - keep);
            let verified: Vec<VerifiedBlock> = inbox
                .iter()
                .map(|b| self.verifier.verify_bytes(&b.to_bytes()).unwrap())
                .collect();
            let out = core.add_blocks(verified).unwrap();
            assert!(out.rejected.is_empty(), "{:?}", out.rejected);
            self.nodes[i].commits.extend(out.commits);
            // Fetch missing references (sometimes).
            if self.rng.gen_bool(0.7) {
                for _ in 0..50 {
                    let missing = core.missing_references();
                    if missing.is_empty() {
                        break;
                    }
                    let fetched: Vec<VerifiedBlock> = missing
                        .iter()
                        .filter_map(|r| self.pool.get(r))
                        .map(|b| self.verifier.verify(b.clone()).unwrap())
                        .collect();
                    let out = core.add_blocks(fetched).unwrap();
                    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
                    self.nodes[i].commits.extend(out.commits);
                }
            }
            if let Some(p) = core.try_propose(now, false).unwrap() {
                self.nodes[i].commits.extend(p.commits);
                self.broadcast(i, p.block);
            }
            self.nodes[i].core = Some(core);
        }
    }
}

fn check(sim: &Sim, ctx: &str) -> usize {
    let chains: Vec<Vec<CommitDigest>> = sim
        .nodes
        .iter()
        .map(|x| x.commits.iter().map(|s| s.commit_digest).collect())
        .collect();
    for (i, node) in sim.nodes.iter().enumerate() {
        let mut slots = BTreeSet::new();
        for (k, s) in node.commits.iter().enumerate() {
            assert_eq!(
                s.commit_index,
                k as u64 + 1,
                "{ctx} node {i}: gap or repeat"
            );
            for b in &s.blocks {
                assert!(slots.insert(b.slot()), "{ctx} node {i}: slot twice");
            }
        }
    }
    for a in &chains {
        for b in &chains {
            let k = a.len().min(b.len());
            assert_eq!(a[..k], b[..k], "{ctx}: divergent commit chains");
        }
    }
    chains.iter().map(|c| c.len()).min().unwrap_or(0)
}

#[test]
fn randomized_cluster_with_delays_drops_and_restarts() {
    let seed = test_seed(0xc0de);
    let mut meta = ChaCha8Rng::seed_from_u64(seed);
    for run in 0..12u64 {
        let n = meta.gen_range(4..=7);
        let (committee, keys) = Committee::new_for_test(n, run);
        let mut params = CoreParams::new(0);
        params.min_round_delay_ms = 0;
        params.gc_depth = [0, 3, 10][meta.gen_range(0..3)];
        params.committer.leaders_per_round = meta.gen_range(1..=2);
        let verifier = BlockVerifier::new(committee.clone(), BlockLimits::default());
        let nodes = (0..n)
            .map(|_| Node {
                core: None,
                store: Arc::new(MemStore::new()),
                inbox: Vec::new(),
                down_until: 0,
                commits: Vec::new(),
            })
            .collect();
        let mut sim = Sim {
            rng: ChaCha8Rng::seed_from_u64(meta.gen()),
            committee,
            keys,
            params,
            verifier,
            pool: BTreeMap::new(),
            nodes,
        };
        let mut now = 0;
        for step in 0..300 {
            now += sim.rng.gen_range(10..60);
            sim.step(step, now);
        }
        let ctx = format!("seed {seed} run {run} n {n}");
        let min_commits = check(&sim, &ctx);
        assert!(min_commits >= 30, "{ctx}: only {min_commits} commits");
    }
}
