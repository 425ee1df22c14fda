//! The validator's message handler: a pure, synchronous wrapper around the consensus [`Core`].
//!
//! [`ValidatorLogic`] takes messages, ticks and the time as arguments and returns [`Outputs`]
//! (messages to send, commits to hand to the application). It performs no network I/O and
//! reads no clock, so the same code runs inside the deterministic simulator
//! ([`crate::SimValidator`]) and inside the tokio runtime ([`crate::ValidatorNode`]). Its only
//! side effect is the consensus [`Store`] (written by the core).
//!
//! What it adds to the core:
//! - **Verification.** Every received block goes through the core's [`BlockVerifier`] (epoch,
//!   author, structure, signature); failures are counted and the block dropped. Equivocating
//!   blocks are valid blocks and go to the core, which keeps them apart.
//! - **Timestamp guard.** A block dated ahead of the node's clock waits until its time
//!   ([`crate::future_blocks`]), so no validator can drag the chain's time forward.
//! - **Synchronizer.** Missing ancestors reported by the core are requested from peers
//!   ([`BlockSynchronizer`]); requests from peers are answered from the DAG or the store, adding
//!   ancestors above the requester's highest accepted rounds so catching up needs few round trips.
//! - **Commit sync.** A node that a quorum's commit votes show far behind fetches certified
//!   commit ranges instead ([`CommitSyncer`]), and neither proposes nor fetches ancestors
//!   meanwhile; it serves such ranges to its peers from its store.
//! - **Timers.** [`ValidatorLogic::on_tick`] forces a proposal when the leader timeout expired
//!   and re-broadcasts the own last block after a silence; [`ValidatorLogic::next_wakeup_ms`]
//!   says when the next tick is due.
//! - **Ordered delivery.** Commits leave in index order, each exactly once, starting after the
//!   consumer's `resume_after` index — replayed from the store first after a restart.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ed25519_dalek::SigningKey;
use fastevm_consensus::{
    AuthorityIndex, BlockRef, BlockVerifier, CommitIndex, CommittedSubDag, Committee, Core,
    CoreParams, Round, SignedBlock, Store, Transaction, TransactionSource, VerifiedBlock,
};

use crate::commit_syncer::{CommitSyncConfig, CommitSyncer};
use crate::error::{NodeError, NodeResult};
use crate::executed_votes::ExecutedAgreement;
use crate::future_blocks::{Admission, FutureBlocks};
use crate::message::{ConsensusMessage, MessageLimits};
use crate::own_block_sync::OwnBlockSync;
use crate::synchronizer::{BlockSynchronizer, SyncConfig};

mod commit_sync;
mod peer_exchanges;

/// Settings of a [`ValidatorLogic`].
#[derive(Clone, Debug)]
pub struct LogicConfig {
    /// Consensus core parameters (own index, timeouts, GC depth, committer, block limits).
    pub core: CoreParams,
    /// Synchronizer settings.
    pub sync: SyncConfig,
    /// Commit-sync settings.
    pub commit_sync: CommitSyncConfig,
    /// Wire message limits.
    pub limits: MessageLimits,
    /// Amnesia recovery: with no own block in its store, wait up to this long (ms) for peers
    /// to report the latest block they hold from this validator before proposing (0: never
    /// wait).
    pub own_block_sync_timeout_ms: u64,
}

impl LogicConfig {
    /// Defaults for authority `own_index`.
    pub fn new(own_index: AuthorityIndex) -> Self {
        Self {
            core: CoreParams::new(own_index),
            sync: SyncConfig::default(),
            commit_sync: CommitSyncConfig::default(),
            limits: MessageLimits::default(),
            own_block_sync_timeout_ms: 10_000,
        }
    }
}

/// Where a message goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    /// Every other validator.
    All,
    /// One validator.
    Peer(AuthorityIndex),
}

/// What the caller must do after an event.
#[derive(Debug, Default)]
pub struct Outputs {
    /// Messages to send, in order. Own blocks in here are already persisted.
    pub messages: Vec<(Destination, ConsensusMessage)>,
    /// Commits for the application, in index order, each exactly once, already persisted.
    pub commits: Vec<CommittedSubDag>,
    /// Transactions of peers' blocks that were just verified and accepted into the DAG, usually
    /// a couple of rounds before they are committed: the application may decode them and
    /// recover their senders now, so the block that commits them starts warm.
    pub accepted_transactions: Vec<Transaction>,
}

/// Counters of a [`ValidatorLogic`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeStats {
    /// Received blocks that passed verification and went to the core.
    pub blocks_accepted_for_core: u64,
    /// Received blocks already in the DAG (not verified again).
    pub duplicate_blocks: u64,
    /// Received blocks failing verification, rejected by the core, or dated too far ahead.
    pub blocks_rejected: u64,
    /// Received blocks dated ahead of this node's clock, held until their time came.
    pub blocks_delayed: u64,
    /// Messages that could not be decoded or came from an unknown index.
    pub messages_malformed: u64,
    /// Block requests sent.
    pub requests_sent: u64,
    /// Block requests answered with at least one block.
    pub requests_answered: u64,
    /// Blocks received in responses.
    pub blocks_fetched: u64,
    /// Own blocks proposed.
    pub own_blocks_proposed: u64,
    /// Re-broadcasts of the own last block.
    pub rebroadcasts: u64,
    /// Commits handed out.
    pub commits_delivered: u64,
    /// Atomic writes to the consensus store (each accepted block is in one of them, grouped
    /// with the next commits or own block).
    pub store_writes: u64,
    /// Commit-range requests answered with certified commits.
    pub commit_requests_answered: u64,
}

/// Hands commits out in index order, each once, above the consumer's resume index.
#[derive(Debug)]
struct CommitDelivery {
    delivered: CommitIndex,
}

impl CommitDelivery {
    fn push(
        &mut self,
        commits: Vec<CommittedSubDag>,
        out: &mut Vec<CommittedSubDag>,
    ) -> NodeResult<()> {
        for c in commits {
            if c.commit_index <= self.delivered {
                continue;
            }
            if c.commit_index != self.delivered + 1 {
                return Err(NodeError::CommitGap {
                    expected: self.delivered + 1,
                    got: c.commit_index,
                });
            }
            self.delivered = c.commit_index;
            out.push(c);
        }
        Ok(())
    }
}

/// Pure validator state machine around [`Core`] (see the module docs).
pub struct ValidatorLogic {
    core: Core,
    store: Arc<dyn Store>,
    verifier: BlockVerifier,
    committee_size: usize,
    config: LogicConfig,
    sync: BlockSynchronizer,
    commit_sync: CommitSyncer,
    /// Whether the last event found this validator lagging (commit sync on).
    lagging: bool,
    delivery: CommitDelivery,
    resume_after: CommitIndex,
    started: bool,
    last_own_broadcast_ms: u64,
    stats: NodeStats,
    /// Received blocks dated ahead of the clock (the timestamp guard).
    future: FutureBlocks,
    /// While asking peers for this validator's latest block (amnesia recovery): no proposal.
    own_sync: Option<OwnBlockSync>,
    /// Signs this validator's executed results.
    key: SigningKey,
    /// Executed results of every validator, and what a quorum agrees on.
    agreement: ExecutedAgreement,
}

impl std::fmt::Debug for ValidatorLogic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidatorLogic")
            .field("own", &self.core.own_index())
            .field("round", &self.core.last_proposed_round())
            .field("delivered", &self.delivery.delivered)
            .finish()
    }
}

impl ValidatorLogic {
    /// Opens the core over `store` (fresh, or recovered from it). Commits with index greater
    /// than `resume_after` will be handed out, starting with those already in the store.
    pub fn new(
        config: LogicConfig,
        committee: Committee,
        key: SigningKey,
        store: Arc<dyn Store>,
        tx_source: Box<dyn TransactionSource>,
        resume_after: CommitIndex,
    ) -> NodeResult<Self> {
        let own = config.core.own_index;
        if !committee.is_valid_index(own) {
            return Err(NodeError::UnknownAuthority(own));
        }
        let verifier = BlockVerifier::new(committee.clone(), config.core.block_limits);
        let committee_size = committee.size();
        let sync = BlockSynchronizer::new(own, committee_size, config.sync);
        let commit_sync =
            CommitSyncer::new(own, committee.clone(), config.commit_sync, config.sync);
        let core = Core::new(
            config.core.clone(),
            committee,
            key.clone(),
            store.clone(),
            tx_source,
        )?;
        let own_sync = (config.own_block_sync_timeout_ms > 0 && core.last_proposed_round() == 0)
            .then(|| OwnBlockSync::new(own));
        Ok(Self {
            core,
            store,
            verifier,
            committee_size,
            config,
            sync,
            commit_sync,
            lagging: false,
            delivery: CommitDelivery {
                delivered: resume_after,
            },
            resume_after,
            started: false,
            last_own_broadcast_ms: 0,
            stats: NodeStats::default(),
            future: FutureBlocks::default(),
            own_sync,
            key,
            agreement: ExecutedAgreement::new(own),
        })
    }

    /// Never propose at or below `round` (e.g. the own last round recorded in store metadata).
    pub fn set_last_known_own_round(&mut self, round: Round) {
        self.core.set_last_known_own_round(round);
    }

    /// First call of a (re)started node: replays stored commits above `resume_after`, commits
    /// what recovery made decidable, re-broadcasts the own last block and tries to propose.
    /// Later calls do nothing.
    pub fn on_start(&mut self, now_ms: u64) -> NodeResult<Outputs> {
        let mut out = Outputs::default();
        self.start_into(now_ms, &mut out)?;
        Ok(out)
    }

    fn start_into(&mut self, now_ms: u64, out: &mut Outputs) -> NodeResult<()> {
        if self.started {
            return Ok(());
        }
        self.started = true;
        let replay = self.core.replay_commits(self.resume_after)?;
        self.delivery.push(replay, &mut out.commits)?;
        let commits = self.core.try_commit()?;
        self.delivery.push(commits, &mut out.commits)?;
        self.rebroadcast_own(now_ms, out);
        self.ask_own_last_block(now_ms, out);
        self.after_event(now_ms, None, out)
    }

    /// Handles one message from validator `from`. `Err` only for fatal errors (store failure,
    /// broken commit order); bad input is counted in [`NodeStats`] and dropped.
    pub fn on_message(
        &mut self,
        from: AuthorityIndex,
        msg: ConsensusMessage,
        now_ms: u64,
    ) -> NodeResult<Outputs> {
        let mut out = Outputs::default();
        self.start_into(now_ms, &mut out)?;
        if from as usize >= self.committee_size || from == self.core.own_index() {
            self.stats.messages_malformed += 1;
            return Ok(out);
        }
        match msg {
            ConsensusMessage::Block(block) => self.receive_blocks(vec![block], now_ms, &mut out)?,
            ConsensusMessage::Blocks(blocks) => {
                self.stats.blocks_fetched += blocks.len() as u64;
                self.receive_blocks(blocks, now_ms, &mut out)?;
            }
            ConsensusMessage::RequestBlocks {
                refs,
                highest_accepted,
            } => {
                let blocks = self.collect_for_request(&refs, &highest_accepted);
                if !blocks.is_empty() {
                    self.stats.requests_answered += 1;
                    out.messages
                        .push((Destination::Peer(from), ConsensusMessage::Blocks(blocks)));
                }
            }
            ConsensusMessage::RequestOwnLastBlock => {
                let last = self
                    .core
                    .dag()
                    .last_block_of(from)
                    .filter(|b| b.round() > 0)
                    .map(|b| b.signed().clone());
                out.messages.push((
                    Destination::Peer(from),
                    ConsensusMessage::OwnLastBlock(last),
                ));
            }
            ConsensusMessage::OwnLastBlock(block) => self.on_own_last_block(from, block),
            ConsensusMessage::RequestCommits { start, end } => {
                let answer = self.serve_commits(start, end);
                out.messages.push((Destination::Peer(from), answer));
            }
            ConsensusMessage::Commits {
                commits,
                blocks,
                certifiers,
            } => self.on_commits(from, commits, blocks, certifiers, now_ms),
            ConsensusMessage::ExecutedVote(vote) => {
                // Each validator sends its own votes; a vote must be its sender's and signed.
                if vote.author != from || !vote.verify(self.core.dag().committee()) {
                    self.stats.messages_malformed += 1;
                } else {
                    self.count_vote(&vote)?;
                }
            }
        }
        self.after_event(now_ms, Some(from), &mut out)?;
        Ok(out)
    }

    /// Decodes `bytes` with the configured limits and handles the message; undecodable input
    /// is counted and ignored.
    pub fn on_wire_message(
        &mut self,
        from: AuthorityIndex,
        bytes: &[u8],
        now_ms: u64,
    ) -> NodeResult<Outputs> {
        match ConsensusMessage::decode(bytes, &self.config.limits) {
            Ok(msg) => self.on_message(from, msg, now_ms),
            Err(e) => {
                self.stats.messages_malformed += 1;
                tracing::debug!(from, error = %e, "dropping undecodable message");
                let mut out = Outputs::default();
                self.start_into(now_ms, &mut out)?;
                Ok(out)
            }
        }
    }

    /// Timer event: forced proposal after the leader timeout, re-broadcast after a silence,
    /// fetch retries. Call it at [`next_wakeup_ms`](Self::next_wakeup_ms) (earlier is harmless).
    pub fn on_tick(&mut self, now_ms: u64) -> NodeResult<Outputs> {
        let mut out = Outputs::default();
        self.start_into(now_ms, &mut out)?;
        self.ask_own_last_block(now_ms, &mut out);
        let force = self
            .core
            .leader_timeout_deadline_ms()
            .is_some_and(|deadline| now_ms >= deadline);
        self.propose(now_ms, force, &mut out)?;
        if now_ms
            >= self
                .last_own_broadcast_ms
                .saturating_add(self.config.sync.rebroadcast_ms)
        {
            self.rebroadcast_own(now_ms, &mut out);
        }
        self.after_event(now_ms, None, &mut out)?;
        Ok(out)
    }

    /// When [`on_tick`](Self::on_tick) should run next (always later than `now_ms`).
    pub fn next_wakeup_ms(&self, now_ms: u64) -> u64 {
        let mut next = now_ms.saturating_add(self.config.sync.rebroadcast_ms.max(1));
        if let Some(deadline) = self.core.leader_timeout_deadline_ms() {
            next = next.min(deadline);
        }
        if self.core.clock_round() > self.core.last_proposed_round() {
            let ready = self
                .core
                .last_proposed_block()
                .timestamp_ms()
                .saturating_add(self.config.core.min_round_delay_ms);
            if ready > now_ms {
                next = next.min(ready);
            }
        }
        if let Some(deadline) = self
            .sync
            .next_deadline_ms()
            .filter(|_| !self.is_commit_lagging())
        {
            next = next.min(deadline);
        }
        if let Some(deadline) = self.commit_sync.next_deadline_ms() {
            next = next.min(deadline);
        }
        if let Some(release) = self.future.next_release_ms() {
            next = next.min(release);
        }
        if let Some(deadline) = self
            .own_sync
            .as_ref()
            .and_then(|sync| sync.deadline_ms(self.config.own_block_sync_timeout_ms))
        {
            next = next.min(deadline);
        }
        if self.core.last_proposed_round() > 0 {
            next = next.min(
                self.last_own_broadcast_ms
                    .saturating_add(self.config.sync.rebroadcast_ms),
            );
        }
        next.max(now_ms.saturating_add(1))
    }

    fn receive_blocks(
        &mut self,
        blocks: Vec<SignedBlock>,
        now_ms: u64,
        out: &mut Outputs,
    ) -> NodeResult<()> {
        let mut verified = Vec::with_capacity(blocks.len());
        for signed in blocks {
            if self.core.dag().contains_block(&signed.reference()) {
                self.stats.duplicate_blocks += 1;
                continue;
            }
            let checked = self.verifier.verify(signed);
            if let Ok(b) = &checked {
                // Its commit votes tell how far the others have committed (even when the
                // block itself has to wait).
                self.commit_sync.observe(b);
            }
            match checked {
                Ok(b) => match self.future.admit(b, now_ms) {
                    Admission::Now(b) => verified.push(b),
                    Admission::Held => self.stats.blocks_delayed += 1,
                    Admission::Refused => {
                        self.stats.blocks_rejected += 1;
                        tracing::debug!("refused a block dated too far ahead");
                    }
                },
                Err(e) => {
                    self.stats.blocks_rejected += 1;
                    tracing::debug!(error = %e, "rejected block");
                }
            }
        }
        self.commit_sync.take_wanted_blocks(&mut verified);
        self.add_verified(verified, out)
    }

    /// Hands verified blocks (received now, or held until their time) to the core.
    fn add_verified(&mut self, verified: Vec<VerifiedBlock>, out: &mut Outputs) -> NodeResult<()> {
        if verified.is_empty() {
            return Ok(());
        }
        self.stats.blocks_accepted_for_core += verified.len() as u64;
        for block in &verified {
            out.accepted_transactions
                .extend(block.transactions().iter().cloned());
        }
        let outcome = self.core.add_blocks(verified)?;
        self.stats.blocks_rejected += outcome.rejected.len() as u64;
        self.deliver(outcome.commits, out)
    }

    /// After any event: try to propose, then send whatever fetches are due.
    fn after_event(
        &mut self,
        now_ms: u64,
        source: Option<AuthorityIndex>,
        out: &mut Outputs,
    ) -> NodeResult<()> {
        let due = self.future.release(now_ms);
        self.add_verified(due, out)?;
        let lagging = self.sync_commits(now_ms, out)?;
        self.propose(now_ms, false, out)?;
        self.sync
            .set_missing(&self.core.missing_references(), source);
        if lagging {
            // The history is coming as certified commits; ancestors would be fetched for
            // nothing (and held in memory until they connect).
            return Ok(());
        }
        let requests = self.sync.poll(now_ms);
        if !requests.is_empty() {
            let highest = self.highest_accepted_rounds();
            for req in requests {
                self.stats.requests_sent += 1;
                out.messages.push((
                    Destination::Peer(req.peer),
                    ConsensusMessage::RequestBlocks {
                        refs: req.refs,
                        highest_accepted: highest.clone(),
                    },
                ));
            }
        }
        Ok(())
    }

    /// One proposal attempt (the core refuses a second block for a round it already signed).
    fn propose(&mut self, now_ms: u64, force: bool, out: &mut Outputs) -> NodeResult<()> {
        if self.own_sync.is_some() {
            // Amnesia recovery: not before peers said which rounds this validator signed.
            return Ok(());
        }
        if self.commit_sync.is_lagging(self.core.last_commit_index()) {
            // Far behind: a block on an old round would only be garbage to the others.
            return Ok(());
        }
        if let Some(proposal) = self.core.try_propose(now_ms, force)? {
            self.stats.own_blocks_proposed += 1;
            self.last_own_broadcast_ms = now_ms;
            out.messages
                .push((Destination::All, ConsensusMessage::Block(proposal.block)));
            self.deliver(proposal.commits, out)?;
        }
        Ok(())
    }

    fn rebroadcast_own(&mut self, now_ms: u64, out: &mut Outputs) {
        let last = self.core.last_proposed_block();
        if last.round() > 0 {
            self.stats.rebroadcasts += 1;
            out.messages.push((
                Destination::All,
                ConsensusMessage::Block(last.signed().clone()),
            ));
        }
        self.last_own_broadcast_ms = now_ms;
    }

    fn deliver(&mut self, commits: Vec<CommittedSubDag>, out: &mut Outputs) -> NodeResult<()> {
        let before = out.commits.len();
        self.delivery.push(commits, &mut out.commits)?;
        self.stats.commits_delivered += (out.commits.len() - before) as u64;
        Ok(())
    }

    /// Highest accepted round of every authority (0 where only genesis is known).
    pub fn highest_accepted_rounds(&self) -> Vec<Round> {
        (0..self.committee_size as AuthorityIndex)
            .map(|a| self.core.dag().last_block_of(a).map_or(0, |b| b.round()))
            .collect()
    }

    /// Blocks answering a request: the requested ones, then their ancestors above the
    /// requester's highest accepted rounds (highest rounds first), within the response limits;
    /// returned in reference order so parents precede children.
    fn collect_for_request(&self, refs: &[BlockRef], highest: &[Round]) -> Vec<SignedBlock> {
        let limits = &self.config.limits;
        let byte_budget = limits.max_message_bytes.saturating_sub(16);
        let mut chosen: BTreeMap<BlockRef, SignedBlock> = BTreeMap::new();
        let mut bytes = 0usize;
        let mut frontier: BTreeSet<BlockRef> = BTreeSet::new();
        let mut take = |r: BlockRef,
                        chosen: &mut BTreeMap<BlockRef, SignedBlock>,
                        frontier: &mut BTreeSet<BlockRef>|
         -> bool {
            if chosen.len() >= limits.max_response_blocks || chosen.contains_key(&r) {
                return false;
            }
            let Some(block) = self.lookup(&r) else {
                return true;
            };
            let size = block.to_bytes().len() + 4;
            if bytes + size > byte_budget {
                return false;
            }
            bytes += size;
            for a in &block.block.ancestors {
                let known = highest.get(a.author as usize).copied().unwrap_or(0);
                if a.round > known && a.round > 0 && !chosen.contains_key(a) {
                    frontier.insert(*a);
                }
            }
            chosen.insert(r, block);
            true
        };
        for r in refs {
            if !take(*r, &mut chosen, &mut frontier) && chosen.len() >= limits.max_response_blocks {
                break;
            }
        }
        while let Some(r) = frontier.pop_last() {
            if chosen.contains_key(&r) {
                continue;
            }
            if !take(r, &mut chosen, &mut frontier) {
                break;
            }
        }
        chosen.into_values().collect()
    }

    fn lookup(&self, r: &BlockRef) -> Option<SignedBlock> {
        if let Some(b) = self.core.dag().get_block(r) {
            return Some(b.signed().clone());
        }
        match self.store.read_blocks(std::slice::from_ref(r)) {
            Ok(mut found) => found.pop().flatten().map(|b| b.signed().clone()),
            Err(e) => {
                tracing::warn!(error = %e, "store read failed while answering a request");
                None
            }
        }
    }

    /// Writes the blocks received since the core's last write (a clean shutdown keeps them).
    pub fn flush(&mut self) -> NodeResult<()> {
        Ok(self.core.flush()?)
    }

    /// The consensus core (read-only).
    pub fn core(&self) -> &Core {
        &self.core
    }
    /// Counters.
    pub fn stats(&self) -> NodeStats {
        NodeStats {
            store_writes: self.core.store_writes(),
            ..self.stats
        }
    }
    /// This node's authority index.
    pub fn own_index(&self) -> AuthorityIndex {
        self.core.own_index()
    }
    /// Highest commit index handed out so far (or the resume index).
    pub fn delivered_commit_index(&self) -> CommitIndex {
        self.delivery.delivered
    }
    /// The store the core writes to.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
    /// The configuration.
    pub fn config(&self) -> &LogicConfig {
        &self.config
    }
    /// Missing references being fetched.
    pub fn missing_count(&self) -> usize {
        self.sync.missing_count()
    }
}
