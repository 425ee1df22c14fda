//! Shared helpers for the simulation tests: committee, node construction, a Byzantine
//! equivocating node, and sequence comparisons.

#![allow(dead_code, unreachable_pub)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bytes::Bytes;
use ed25519_dalek::SigningKey;
use fastevm_consensus::{
    AuthorityIndex, BlockRef, CommitIndex, CommittedSubDag, Committee, Round, SignedBlock, Slot,
    Store, Transaction,
};
use fastevm_consensus_node::{
    ConsensusMessage, Destination, LogicConfig, MessageLimits, Outputs, SimValidator,
    SyntheticTransactions, ValidatorLogic, TICK_TIMER,
};
use fastevm_network::sim::{LinkConfig, Outbox, SimConfig, SimNode};
use fastevm_network::PeerIndex;

/// Deterministic test committee.
pub fn committee(n: usize) -> (Committee, Vec<SigningKey>) {
    Committee::new_for_test(n, 11)
}

/// Simulator settings: 50 ms ± 20 ms links, FIFO like TCP.
pub fn sim_config(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        default_link: LinkConfig {
            base_latency_ms: 50,
            jitter_ms: 20,
            drop_probability: 0.0,
        },
        fifo_links: true,
    }
}

/// A validator's logic over `store`, with 2 synthetic transactions of 32 bytes per block.
pub fn logic(
    committee: &Committee,
    keys: &[SigningKey],
    i: AuthorityIndex,
    store: Arc<dyn Store>,
    resume_after: CommitIndex,
) -> ValidatorLogic {
    logic_with(LogicConfig::new(i), committee, keys, store, resume_after)
}

/// [`logic`] with a given configuration (for validator `config.core.own_index`).
pub fn logic_with(
    config: LogicConfig,
    committee: &Committee,
    keys: &[SigningKey],
    store: Arc<dyn Store>,
    resume_after: CommitIndex,
) -> ValidatorLogic {
    let i = config.core.own_index;
    ValidatorLogic::new(
        config,
        committee.clone(),
        keys[i as usize].clone(),
        store,
        Box::new(SyntheticTransactions::new(i, 2, 32)),
        resume_after,
    )
    .expect("logic opens")
}

/// Honest validators or the equivocating one.
#[derive(Debug)]
pub enum TestNode {
    Honest(SimValidator),
    Byzantine(Equivocator),
}

impl TestNode {
    pub fn honest(&self) -> Option<&SimValidator> {
        match self {
            TestNode::Honest(v) => Some(v),
            TestNode::Byzantine(_) => None,
        }
    }
}

impl SimNode for TestNode {
    type Message = Bytes;
    fn on_start(&mut self, now: u64, out: &mut Outbox<Bytes>) {
        match self {
            TestNode::Honest(v) => v.on_start(now, out),
            TestNode::Byzantine(b) => b.on_start(now, out),
        }
    }
    fn on_message(&mut self, now: u64, from: PeerIndex, msg: Bytes, out: &mut Outbox<Bytes>) {
        match self {
            TestNode::Honest(v) => v.on_message(now, from, msg, out),
            TestNode::Byzantine(b) => b.on_message(now, from, msg, out),
        }
    }
    fn on_timer(&mut self, now: u64, id: u64, out: &mut Outbox<Bytes>) {
        match self {
            TestNode::Honest(v) => v.on_timer(now, id, out),
            TestNode::Byzantine(b) => b.on_timer(now, id, out),
        }
    }
}

/// Runs an honest core but signs, for every own block, a second block of the same round
/// (timestamp + 1, one extra transaction) and sends the original to peers below `split` and
/// the twin to the others. It answers requests for twins too.
#[derive(Debug)]
pub struct Equivocator {
    logic: ValidatorLogic,
    key: SigningKey,
    split: usize,
    n: usize,
    twins: BTreeMap<Round, SignedBlock>,
    by_ref: BTreeMap<BlockRef, SignedBlock>,
}

impl Equivocator {
    pub fn new(logic: ValidatorLogic, key: SigningKey, n: usize, split: usize) -> Self {
        Self {
            logic,
            key,
            split,
            n,
            twins: BTreeMap::new(),
            by_ref: BTreeMap::new(),
        }
    }

    /// Twins signed so far.
    pub fn twins_signed(&self) -> usize {
        self.twins.len()
    }

    fn twin(&mut self, original: &SignedBlock) -> SignedBlock {
        if let Some(t) = self.twins.get(&original.block.round) {
            return t.clone();
        }
        let mut block = original.block.clone();
        block.timestamp_ms += 1;
        block
            .transactions
            .push(Transaction(b"equivocation".to_vec()));
        let twin = SignedBlock::sign(block, &self.key);
        self.twins.insert(original.block.round, twin.clone());
        self.by_ref.insert(twin.reference(), twin.clone());
        twin
    }

    fn apply(&mut self, now: u64, outputs: Outputs, out: &mut Outbox<Bytes>) {
        let own = self.logic.own_index();
        for (dest, msg) in outputs.messages {
            match (dest, &msg) {
                (Destination::All, ConsensusMessage::Block(b)) if b.block.author == own => {
                    let twin = self.twin(b);
                    let original = Bytes::from(msg.encode());
                    let twin = Bytes::from(ConsensusMessage::Block(twin).encode());
                    for p in (0..self.n).filter(|p| *p != own as usize) {
                        let m = if p < self.split { &original } else { &twin };
                        out.send(p, m.clone());
                    }
                }
                (Destination::All, _) => out.broadcast(Bytes::from(msg.encode())),
                (Destination::Peer(p), _) => out.send(p as PeerIndex, Bytes::from(msg.encode())),
            }
        }
        out.set_timer_at(self.logic.next_wakeup_ms(now), TICK_TIMER);
    }
}

impl SimNode for Equivocator {
    type Message = Bytes;
    fn on_start(&mut self, now: u64, out: &mut Outbox<Bytes>) {
        let o = self.logic.on_start(now).expect("equivocator start");
        self.apply(now, o, out);
    }
    fn on_message(&mut self, now: u64, from: PeerIndex, msg: Bytes, out: &mut Outbox<Bytes>) {
        if let Ok(ConsensusMessage::RequestBlocks { refs, .. }) =
            ConsensusMessage::decode(&msg, &MessageLimits::default())
        {
            let twins: Vec<SignedBlock> = refs
                .iter()
                .filter_map(|r| self.by_ref.get(r).cloned())
                .collect();
            if !twins.is_empty() {
                out.send(from, Bytes::from(ConsensusMessage::Blocks(twins).encode()));
            }
        }
        let o = self
            .logic
            .on_wire_message(from as AuthorityIndex, &msg, now)
            .expect("equivocator message");
        self.apply(now, o, out);
    }
    fn on_timer(&mut self, now: u64, id: u64, out: &mut Outbox<Bytes>) {
        if id == TICK_TIMER {
            let o = self.logic.on_tick(now).expect("equivocator tick");
            self.apply(now, o, out);
        }
    }
}

/// Commit digests of a sequence.
pub fn digests(commits: &[CommittedSubDag]) -> Vec<[u8; 32]> {
    commits.iter().map(|c| c.commit_digest.0).collect()
}

/// Asserts that every sequence is a prefix of the longest one, indices run 1, 2, 3, … and no
/// block or slot is committed twice. Returns the shortest length.
pub fn assert_consistent(sequences: &[&[CommittedSubDag]]) -> usize {
    let longest = sequences.iter().max_by_key(|s| s.len()).expect("sequences");
    for (k, s) in sequences.iter().enumerate() {
        assert_eq!(
            digests(s),
            digests(&longest[..s.len()]),
            "sequence {k} diverges"
        );
    }
    let mut slots: BTreeSet<Slot> = BTreeSet::new();
    for (i, c) in longest.iter().enumerate() {
        assert_eq!(
            c.commit_index,
            i as u64 + 1,
            "indices are contiguous from 1"
        );
        if i > 0 {
            assert_eq!(c.previous_digest, longest[i - 1].commit_digest);
        }
        for b in &c.blocks {
            assert!(slots.insert(b.slot()), "slot {} committed twice", b.slot());
        }
    }
    sequences.iter().map(|s| s.len()).min().unwrap_or(0)
}

/// Every slot of `author` across `stores` holds one block (no equivocation by `author`).
pub fn assert_single_block_per_slot(stores: &[&dyn Store], author: AuthorityIndex) -> usize {
    let mut by_slot: BTreeMap<Slot, BTreeSet<BlockRef>> = BTreeMap::new();
    for s in stores {
        for b in s.scan_blocks_from_round(1).expect("scan") {
            if b.author() == author {
                by_slot.entry(b.slot()).or_default().insert(b.reference());
            }
        }
    }
    for (slot, refs) in &by_slot {
        assert_eq!(
            refs.len(),
            1,
            "authority {author} signed two blocks in {slot}"
        );
    }
    by_slot.len()
}

/// Number of slots of `author` holding more than one block in `store`.
pub fn equivocated_slots(store: &dyn Store, author: AuthorityIndex) -> usize {
    let mut by_slot: BTreeMap<Slot, usize> = BTreeMap::new();
    for b in store.scan_blocks_from_round(1).expect("scan") {
        if b.author() == author {
            *by_slot.entry(b.slot()).or_default() += 1;
        }
    }
    by_slot.values().filter(|c| **c > 1).count()
}
