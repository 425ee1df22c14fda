//! Running [`ValidatorLogic`] inside the deterministic network simulator.
//!
//! [`SimValidator`] implements [`SimNode`] with [`Bytes`] messages: everything it sends is the
//! real wire encoding ([`crate::ConsensusMessage::encode`]) and everything it receives is decoded with
//! the configured limits, exactly as over TCP. One simulator timer drives
//! [`ValidatorLogic::on_tick`] at [`ValidatorLogic::next_wakeup_ms`]. Commits are recorded with
//! the virtual time they came out, for assertions and benchmarks.
//!
//! A crash in a test is `Simulator::crash` plus [`SimValidator::shut_down`] (drops the logic
//! and with it the store handle, so a RocksDB store can be reopened); a restart is
//! `Simulator::restart` with a new `SimValidator` built over the same store.

use bytes::Bytes;
use fastevm_consensus::{
    AuthorityIndex, CommittedSubDag, ConsumerProgress, Transaction, TransactionSource,
};
use fastevm_network::sim::{Outbox, SimNode};
use fastevm_network::PeerIndex;

use crate::error::NodeError;
use crate::logic::{Destination, Outputs, ValidatorLogic};

/// Simulator timer id of the logic's tick.
pub const TICK_TIMER: u64 = 1;

/// A validator in the simulator (see the module docs).
#[derive(Debug)]
pub struct SimValidator {
    logic: Option<ValidatorLogic>,
    commits: Vec<CommittedSubDag>,
    commit_times_ms: Vec<u64>,
    fatal: Option<NodeError>,
}

impl SimValidator {
    /// Wraps `logic`; it starts when the simulator starts the node.
    pub fn new(logic: ValidatorLogic) -> Self {
        Self {
            logic: Some(logic),
            commits: Vec::new(),
            commit_times_ms: Vec::new(),
            fatal: None,
        }
    }

    /// Commits output so far by this instance, in order.
    pub fn commits(&self) -> &[CommittedSubDag] {
        &self.commits
    }

    /// Virtual time at which each of [`commits`](Self::commits) was output.
    pub fn commit_times_ms(&self) -> &[u64] {
        &self.commit_times_ms
    }

    /// The logic, unless shut down or stopped by a fatal error.
    pub fn logic(&self) -> Option<&ValidatorLogic> {
        self.logic.as_ref()
    }

    /// The fatal error that stopped this node, if any.
    pub fn fatal_error(&self) -> Option<&NodeError> {
        self.fatal.as_ref()
    }

    /// Drops the logic (process death): the node ignores all further events and releases its
    /// store handle.
    pub fn shut_down(&mut self) {
        self.logic = None;
    }

    fn apply(&mut self, now_ms: u64, result: Result<Outputs, NodeError>, out: &mut Outbox<Bytes>) {
        let outputs = match result {
            Ok(o) => o,
            Err(e) => {
                self.fatal = Some(e);
                self.logic = None;
                return;
            }
        };
        for (dest, msg) in outputs.messages {
            let bytes = Bytes::from(msg.encode());
            match dest {
                Destination::All => out.broadcast(bytes),
                Destination::Peer(p) => out.send(p as PeerIndex, bytes),
            }
        }
        // The simulation's consumer handles a commit when it comes out: the store may prune it
        // once it leaves the retention window.
        if let (Some(last), Some(logic)) = (outputs.commits.last(), self.logic.as_mut()) {
            logic.on_commit_handled(ConsumerProgress::of(last));
        }
        for c in outputs.commits {
            self.commits.push(c);
            self.commit_times_ms.push(now_ms);
        }
        if let Some(logic) = &self.logic {
            out.set_timer_at(logic.next_wakeup_ms(now_ms), TICK_TIMER);
        }
    }
}

impl SimNode for SimValidator {
    type Message = Bytes;

    fn on_start(&mut self, now_ms: u64, out: &mut Outbox<Bytes>) {
        if let Some(logic) = self.logic.as_mut() {
            let r = logic.on_start(now_ms);
            self.apply(now_ms, r, out);
        }
    }

    fn on_message(&mut self, now_ms: u64, from: PeerIndex, msg: Bytes, out: &mut Outbox<Bytes>) {
        if let Some(logic) = self.logic.as_mut() {
            let from = AuthorityIndex::try_from(from).unwrap_or(AuthorityIndex::MAX);
            let r = logic.on_wire_message(from, &msg, now_ms);
            self.apply(now_ms, r, out);
        }
    }

    fn on_timer(&mut self, now_ms: u64, timer_id: u64, out: &mut Outbox<Bytes>) {
        if timer_id != TICK_TIMER {
            return;
        }
        if let Some(logic) = self.logic.as_mut() {
            let r = logic.on_tick(now_ms);
            self.apply(now_ms, r, out);
        }
    }
}

/// A deterministic [`TransactionSource`] for simulations and benchmarks: every block gets
/// `per_block` transactions of `tx_bytes` bytes, each unique (author, sequence number, padding).
#[derive(Clone, Debug)]
pub struct SyntheticTransactions {
    author: AuthorityIndex,
    per_block: usize,
    tx_bytes: usize,
    next: u64,
}

impl SyntheticTransactions {
    /// Source for `author` producing `per_block` transactions of `tx_bytes` (≥ 12) bytes.
    pub fn new(author: AuthorityIndex, per_block: usize, tx_bytes: usize) -> Self {
        Self {
            author,
            per_block,
            tx_bytes: tx_bytes.max(12),
            next: 0,
        }
    }

    /// Decodes (author, sequence) from a transaction made by this type.
    pub fn parse(tx: &Transaction) -> Option<(AuthorityIndex, u64)> {
        let a = tx.0.get(..4)?;
        let s = tx.0.get(4..12)?;
        Some((
            AuthorityIndex::from_le_bytes(a.try_into().ok()?),
            u64::from_le_bytes(s.try_into().ok()?),
        ))
    }
}

impl TransactionSource for SyntheticTransactions {
    fn next_transactions(&mut self, max_count: usize, max_bytes: usize) -> Vec<Transaction> {
        let count = self.per_block.min(max_count).min(max_bytes / self.tx_bytes);
        (0..count)
            .map(|_| {
                let mut tx = Vec::with_capacity(self.tx_bytes);
                tx.extend_from_slice(&self.author.to_le_bytes());
                tx.extend_from_slice(&self.next.to_le_bytes());
                tx.resize(self.tx_bytes, 0xab);
                self.next += 1;
                Transaction(tx)
            })
            .collect()
    }
}
