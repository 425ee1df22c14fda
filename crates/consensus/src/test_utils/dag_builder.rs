//! Builds test DAGs layer by layer: fully connected, with authorities missing, links omitted,
//! leaders missing or unlinked, equivocations, or random quorum links.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use ed25519_dalek::SigningKey;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::committee::Committee;
use crate::dag_state::DagState;
use crate::leader_schedule::{LeaderElection, LeaderSchedule};
use crate::stake_aggregator::StakeAggregator;
use crate::types::{
    AuthorityIndex, Block, BlockRef, Round, SignedBlock, Slot, Transaction, VerifiedBlock,
};

/// Accumulates blocks of a test DAG.
pub struct DagBuilder {
    /// The committee.
    pub committee: Committee,
    /// Signing keys (index = authority).
    pub keys: Vec<SigningKey>,
    /// Leader schedule used by `no_leader_*` options (round-robin by default).
    pub schedule: LeaderSchedule,
    /// Leaders per round considered by `no_leader_*` options.
    pub leaders_per_round: u32,
    /// Whether blocks get real signatures (slow in debug builds; off by default).
    pub sign: bool,
    /// All blocks built so far, genesis included.
    pub blocks: BTreeMap<BlockRef, VerifiedBlock>,
    last_layer: Vec<BlockRef>,
    own_last: Vec<BlockRef>,
    tag: u64,
}

impl DagBuilder {
    /// Builder over an equal-stake committee of `n` with deterministic keys.
    pub fn new(n: usize) -> Self {
        let (committee, keys) = Committee::new_for_test(n, 0);
        Self::with_committee(committee, keys)
    }
    /// Builder over a given committee.
    pub fn with_committee(committee: Committee, keys: Vec<SigningKey>) -> Self {
        let genesis = VerifiedBlock::genesis(&committee);
        let refs: Vec<BlockRef> = genesis.iter().map(|b| b.reference()).collect();
        Self {
            schedule: LeaderSchedule::new(committee.clone(), LeaderElection::RoundRobin),
            committee,
            keys,
            leaders_per_round: 1,
            sign: false,
            blocks: genesis.into_iter().map(|b| (b.reference(), b)).collect(),
            last_layer: refs.clone(),
            own_last: refs,
            tag: 0,
        }
    }
    /// Starts configuring one round.
    pub fn layer(&mut self, round: Round) -> LayerBuilder<'_> {
        self.layers(round..=round)
    }
    /// Starts configuring a range of rounds built with the same options.
    pub fn layers(&mut self, rounds: RangeInclusive<Round>) -> LayerBuilder<'_> {
        LayerBuilder {
            builder: self,
            rounds,
            producers: None,
            omit: Vec::new(),
            no_leader_link: false,
            no_leader_block: false,
            equivocate: 0,
            random: None,
            links_override: None,
        }
    }
    /// The `offset`-th leader of `round` under the builder's schedule.
    pub fn leader(&self, round: Round, offset: u32) -> AuthorityIndex {
        self.schedule.elect_leader(round, offset)
    }
    /// Blocks of `round`.
    pub fn blocks_at_round(&self, round: Round) -> Vec<VerifiedBlock> {
        self.blocks
            .values()
            .filter(|b| b.round() == round)
            .cloned()
            .collect()
    }
    /// References of the blocks of `round`.
    pub fn refs_at_round(&self, round: Round) -> Vec<BlockRef> {
        self.blocks_at_round(round)
            .iter()
            .map(|b| b.reference())
            .collect()
    }
    /// Blocks at `slot`.
    pub fn blocks_at_slot(&self, slot: Slot) -> Vec<VerifiedBlock> {
        self.blocks
            .values()
            .filter(|b| b.slot() == slot)
            .cloned()
            .collect()
    }
    /// The (first) block at `slot`; panics if none.
    pub fn block(&self, round: Round, author: AuthorityIndex) -> VerifiedBlock {
        self.blocks_at_slot(Slot::new(round, author))
            .into_iter()
            .next()
            .expect("block exists")
    }
    /// All non-genesis blocks in (round, author, digest) order.
    pub fn all_blocks(&self) -> Vec<VerifiedBlock> {
        self.blocks
            .values()
            .filter(|b| b.round() > 0)
            .cloned()
            .collect()
    }
    /// Adds every built block to `dag` (parents first).
    pub fn persist(&self, dag: &mut DagState) {
        for b in self.blocks.values() {
            dag.accept_block(b.clone());
        }
    }
    /// Creates one block with exactly these ancestors (the caller chooses the order).
    pub fn add_block(
        &mut self,
        round: Round,
        author: AuthorityIndex,
        ancestors: Vec<BlockRef>,
    ) -> VerifiedBlock {
        self.tag += 1;
        let block = Block {
            epoch: self.committee.epoch,
            round,
            author,
            timestamp_ms: round as u64 * 1000 + author as u64,
            ancestors,
            transactions: vec![Transaction(self.tag.to_le_bytes().to_vec())],
            commit_votes: vec![],
        };
        let signed = if self.sign {
            SignedBlock::sign(block, &self.keys[author as usize])
        } else {
            SignedBlock {
                block,
                signature: [0; 64],
            }
        };
        let b = VerifiedBlock::new_trusted(signed);
        self.blocks.insert(b.reference(), b.clone());
        if b.round() >= self.own_last[author as usize].round {
            self.own_last[author as usize] = b.reference();
        }
        b
    }
    /// Sets the ancestors used by the next layer (e.g. after building blocks by hand).
    pub fn set_last_layer(&mut self, refs: Vec<BlockRef>) {
        self.last_layer = refs;
    }
    /// Latest block of each author (what the next layer would reference as "own previous").
    pub fn own_last(&self, author: AuthorityIndex) -> BlockRef {
        self.own_last[author as usize]
    }
}

/// Options for a range of layers.
pub struct LayerBuilder<'a> {
    builder: &'a mut DagBuilder,
    rounds: RangeInclusive<Round>,
    producers: Option<Vec<AuthorityIndex>>,
    omit: Vec<(Vec<AuthorityIndex>, Vec<AuthorityIndex>)>,
    no_leader_link: bool,
    no_leader_block: bool,
    equivocate: usize,
    random: Option<(&'a mut ChaCha8Rng, bool)>,
    links_override: Option<Vec<BlockRef>>,
}

impl<'a> LayerBuilder<'a> {
    /// Only these authorities produce blocks.
    pub fn authorities(mut self, a: &[AuthorityIndex]) -> Self {
        self.producers = Some(a.to_vec());
        self
    }
    /// These authorities produce no block.
    pub fn skip_authorities(mut self, skip: &[AuthorityIndex]) -> Self {
        let all: Vec<AuthorityIndex> = self.builder.committee.indices().collect();
        let base = self.producers.take().unwrap_or(all);
        self.producers = Some(base.into_iter().filter(|a| !skip.contains(a)).collect());
        self
    }
    /// Blocks authored by `from` do not reference previous-round blocks of `to`.
    pub fn omit_links(mut self, from: &[AuthorityIndex], to: &[AuthorityIndex]) -> Self {
        self.omit.push((from.to_vec(), to.to_vec()));
        self
    }
    /// No block references blocks of `to` from the previous layer.
    pub fn skip_ancestor_links(self, to: &[AuthorityIndex]) -> Self {
        let all: Vec<AuthorityIndex> = self.builder.committee.indices().collect();
        self.omit_links(&all, to)
    }
    /// No block references the previous round's leader(s).
    pub fn no_leader_link(mut self) -> Self {
        self.no_leader_link = true;
        self
    }
    /// The leader(s) of the round produce no block.
    pub fn no_leader_block(mut self) -> Self {
        self.no_leader_block = true;
        self
    }
    /// Each producer makes `extra + 1` distinct blocks in the round.
    pub fn equivocate(mut self, extra: usize) -> Self {
        self.equivocate = extra;
        self
    }
    /// Each block links a random quorum of the previous layer (plus its own previous block), and
    /// the previous round's leader(s) when `include_leader` (otherwise leader links are random too).
    pub fn random_links(mut self, rng: &'a mut ChaCha8Rng, include_leader: bool) -> Self {
        self.random = Some((rng, include_leader));
        self
    }
    /// Use exactly these previous-layer references (own previous block is still put first).
    pub fn ancestors(mut self, refs: Vec<BlockRef>) -> Self {
        self.links_override = Some(refs);
        self
    }
    /// Builds the layers; returns the references created.
    pub fn build(mut self) -> Vec<BlockRef> {
        let mut created_all = Vec::new();
        for round in self.rounds.clone() {
            let b = &mut *self.builder;
            let leaders: Vec<AuthorityIndex> = (0..b.leaders_per_round)
                .map(|o| b.leader(round, o))
                .collect();
            let prev_leaders: Vec<AuthorityIndex> = (0..b.leaders_per_round)
                .map(|o| b.leader(round.saturating_sub(1), o))
                .collect();
            let mut producers: Vec<AuthorityIndex> = self
                .producers
                .clone()
                .unwrap_or_else(|| b.committee.indices().collect());
            if self.no_leader_block {
                producers.retain(|a| !leaders.contains(a));
            }
            // One reference per author from the previous layer (first one if it equivocated).
            let source = self
                .links_override
                .clone()
                .unwrap_or_else(|| b.last_layer.clone());
            let mut prev: BTreeMap<AuthorityIndex, BlockRef> = BTreeMap::new();
            for r in source {
                prev.entry(r.author).or_insert(r);
            }
            let mut created = Vec::new();
            for &author in &producers {
                let own = b.own_last[author as usize];
                let mut others: Vec<BlockRef> = prev
                    .values()
                    .filter(|r| r.author != author)
                    .filter(|r| {
                        !self
                            .omit
                            .iter()
                            .any(|(from, to)| from.contains(&author) && to.contains(&r.author))
                    })
                    .filter(|r| !(self.no_leader_link && prev_leaders.contains(&r.author)))
                    .copied()
                    .collect();
                if let Some((rng, include_leader)) = self.random.as_mut() {
                    others.shuffle(*rng);
                    let mut agg = StakeAggregator::quorum();
                    if own.round + 1 == round {
                        agg.add(author, &b.committee);
                    }
                    let mut picked = Vec::new();
                    for r in others.iter() {
                        if agg.reached(&b.committee) {
                            break;
                        }
                        agg.add(r.author, &b.committee);
                        picked.push(*r);
                    }
                    if *include_leader {
                        for r in others.iter() {
                            if prev_leaders.contains(&r.author) && !picked.contains(r) {
                                picked.push(*r);
                            }
                        }
                    }
                    others = picked;
                }
                others.sort();
                let mut ancestors = vec![own];
                ancestors.extend(others.into_iter().filter(|r| *r != own));
                for _ in 0..=self.equivocate {
                    let blk = b.add_block(round, author, ancestors.clone());
                    created.push(blk.reference());
                }
                // Keep "own previous" deterministic under equivocation: the first block.
                let first = created
                    .iter()
                    .find(|r| r.author == author)
                    .copied()
                    .unwrap_or(own);
                b.own_last[author as usize] = first;
            }
            if !created.is_empty() {
                b.last_layer = created.clone();
            }
            self.links_override = None;
            created_all.extend(created);
        }
        created_all
    }
}
