//! The single-threaded consensus state machine. Inputs: verified blocks, the current time,
//! transactions (pulled from a [`TransactionSource`]). Outputs: own blocks to broadcast,
//! missing references to fetch, committed sub-DAGs. No I/O besides the [`Store`].

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use ed25519_dalek::SigningKey;

use crate::block_manager::BlockManager;
use crate::commit::{Commit, CommitIndex, CommitRef, CommittedSubDag};
use crate::committee::Committee;
use crate::committer::{DecidedLeader, UniversalCommitter, UniversalCommitterOptions};
use crate::dag_state::DagState;
use crate::error::{ConsensusError, ConsensusResult};
use crate::leader_schedule::{LeaderElection, LeaderSchedule};
use crate::leader_scoring::{LeaderSwapTable, ReputationParams, ReputationScores};
use crate::linearizer::Linearizer;
use crate::retention::{
    prune_due, prune_floor, ConsumerProgress, FloorInputs, PruneFloor, RecoveryFloors,
};
use crate::store::{Store, StoreBatch};
use crate::threshold_clock::ThresholdClock;
use crate::types::{
    AuthorityIndex, Block, BlockRef, Round, SignedBlock, Slot, Transaction, VerifiedBlock,
};
use crate::verifier::BlockLimits;

/// Supplies transactions for new blocks.
pub trait TransactionSource: Send {
    /// Up to `max_count` transactions totalling at most `max_bytes` bytes. Anything beyond the
    /// limits is dropped by the core (it would make peers reject the block).
    fn next_transactions(&mut self, max_count: usize, max_bytes: usize) -> Vec<Transaction>;
}

/// A source that never has transactions.
pub struct NoTransactions;

impl TransactionSource for NoTransactions {
    fn next_transactions(&mut self, _: usize, _: usize) -> Vec<Transaction> {
        Vec::new()
    }
}

/// Core configuration.
#[derive(Clone, Debug)]
pub struct CoreParams {
    /// This node's authority index.
    pub own_index: AuthorityIndex,
    /// Propose without the previous round's leaders after this long in a round (ms).
    pub leader_timeout_ms: u64,
    /// Minimum time between own proposals unless forced (ms).
    pub min_round_delay_ms: u64,
    /// Rounds kept below the last committed leader (0 disables GC).
    pub gc_depth: Round,
    /// Committer shape (pipelining, leaders per round).
    pub committer: UniversalCommitterOptions,
    /// Leader election.
    pub leader_election: LeaderElection,
    /// Limits for own blocks (peers verify the same limits).
    pub block_limits: BlockLimits,
    /// Leader reputation: swap the lowest-scoring leaders out every window of commits (`None`:
    /// never; ignored with more than one leader per round). Every validator must use the same.
    pub leader_reputation: Option<ReputationParams>,
    /// Rounds of history the store keeps below the last committed leader; older blocks and
    /// commits are deleted once the consumer has handled them (0: keep everything). See
    /// [`crate::retention`].
    pub retention_rounds: Round,
}

impl CoreParams {
    /// Production-like defaults for authority `own_index`.
    pub fn new(own_index: AuthorityIndex) -> Self {
        Self {
            own_index,
            leader_timeout_ms: 200,
            min_round_delay_ms: 50,
            gc_depth: 60,
            committer: UniversalCommitterOptions::default(),
            leader_election: LeaderElection::StakeWeighted,
            block_limits: BlockLimits::default(),
            leader_reputation: Some(ReputationParams::default()),
            retention_rounds: 5_000,
        }
    }
}

/// Accepted blocks buffered before the core writes them anyway (a node catching up accepts many
/// blocks without committing or proposing).
const MAX_BUFFERED_BLOCKS: usize = 256;

/// Result of [`Core::add_blocks`].
#[derive(Debug, Default)]
pub struct AddBlocksOutcome {
    /// Blocks accepted into the DAG.
    pub accepted: Vec<BlockRef>,
    /// References to fetch from peers.
    pub missing: BTreeSet<BlockRef>,
    /// Blocks rejected after their ancestors became known.
    pub rejected: Vec<(BlockRef, ConsensusError)>,
    /// New commits, already persisted, in order.
    pub commits: Vec<CommittedSubDag>,
}

/// A commit certified by votes from a quorum of the stake (see [`crate::commit_certifier`]),
/// with its blocks in commit order: what commit sync hands to [`Core::add_certified_commits`].
#[derive(Clone, Debug)]
pub struct CertifiedCommit {
    /// The commit record.
    pub commit: Commit,
    /// Its blocks, in the order of `commit.blocks`.
    pub blocks: Vec<VerifiedBlock>,
}

/// A new own block, already persisted: broadcast it.
#[derive(Debug)]
pub struct Proposal {
    /// The signed block.
    pub block: SignedBlock,
    /// Commits triggered by adding the own block (already persisted).
    pub commits: Vec<CommittedSubDag>,
}

/// The consensus state machine of one authority.
///
/// Writes are grouped as in Sui's `DagState::flush`: accepted blocks wait in memory and go to
/// the store in one atomic batch with the next commits or own block, so the store sees about two
/// writes per round instead of one per received block. What leaves the core is always durable
/// first: commits are persisted before they are returned, an own block (with every block it
/// references) before it is returned for broadcast. A crash loses at most blocks received since
/// the last write, which peers serve again; every stored block still has its ancestors stored.
///
/// A [`ConsensusError::Store`] from any method leaves the in-memory state ahead of the store;
/// the caller must stop the node and restart it from the store.
pub struct Core {
    params: CoreParams,
    key: SigningKey,
    dag: DagState,
    block_manager: BlockManager,
    clock: ThresholdClock,
    committer: UniversalCommitter,
    store: Arc<dyn Store>,
    transactions: Box<dyn TransactionSource>,
    last_decided: Slot,
    last_proposed: VerifiedBlock,
    /// (clock round, time it was first seen by `try_propose`).
    round_start: Option<(Round, u64)>,
    /// Never propose at or below this round (own blocks known to peers after state loss).
    propose_floor: Round,
    /// Leader reputation, when on: its parameters and the scores of the current window.
    reputation: Option<(ReputationParams, ReputationScores)>,
    /// The consumer's latest reported progress (nothing is pruned before the first report).
    consumer: Option<ConsumerProgress>,
    /// The floor the store was last pruned to.
    pruned: PruneFloor,
    /// Accepted blocks and commits not written yet (see the type's doc).
    unwritten: StoreBatch,
    /// Store writes made (batches, not blocks).
    store_writes: u64,
    /// Commits made (or synced) since the last own block: the next block votes for them.
    pending_votes: VecDeque<CommitRef>,
}

impl Core {
    /// Opens the core over `store`: fresh on an empty store, otherwise recovered from the
    /// stored blocks and commits (the last proposed round is re-derived from stored own
    /// blocks, so a round is never signed twice). After recovery call [`Core::try_commit`]
    /// and re-broadcast [`Core::last_proposed_block`].
    pub fn new(
        params: CoreParams,
        committee: Committee,
        key: SigningKey,
        store: Arc<dyn Store>,
        transactions: Box<dyn TransactionSource>,
    ) -> ConsensusResult<Self> {
        let own = committee
            .authority(params.own_index)
            .ok_or(ConsensusError::UnknownAuthority(params.own_index))?;
        if own.public_key.0 != key.verifying_key() {
            return Err(ConsensusError::InvalidCommittee(
                "signing key does not match own public key".into(),
            ));
        }
        let schedule = LeaderSchedule::new(committee.clone(), params.leader_election);
        let mut committer = UniversalCommitter::new(schedule, params.committer);
        let mut reputation = params
            .leader_reputation
            .filter(|_| params.committer.leaders_per_round == 1)
            .map(|p| (p, ReputationScores::new(committee.size())));
        let mut dag = DagState::new(committee.clone(), params.gc_depth);
        let mut clock = ThresholdClock::new(0);
        for g in VerifiedBlock::genesis(&committee) {
            clock.add_block(g.reference(), &committee);
        }
        // Recovery: a bounded window of stored blocks (all have their history stored before
        // them) and of commits, so restart time does not grow with the chain's age.
        let floors = RecoveryFloors::of(&params, store.read_last_commit()?.as_ref());
        let mut stored = store.scan_blocks_from_round(floors.block_round)?;
        stored.sort_by_key(|b| b.reference());
        for b in stored {
            clock.add_block(b.reference(), &committee);
            dag.accept_block(b);
        }
        let commits = store.scan_commits_from(floors.commit_index)?;
        let mut last_decided = Slot::default();
        for c in commits {
            for r in &c.blocks {
                dag.set_committed(*r);
            }
            last_decided = c.leader.slot();
            // The schedule changes at the same commits as it did when they were made.
            observe_commit(&mut reputation, &mut committer, &committee, &c);
            dag.set_last_commit(c);
        }
        dag.evict_below_gc_round();
        let mut last_proposed = dag
            .last_block_of(params.own_index)
            .ok_or(ConsensusError::UnknownAuthority(params.own_index))?;
        if last_proposed.round() == 0 && floors.block_round > 1 {
            // Its latest block is older than the window (it was down for long): look further
            // back once, so it never signs a round it signed before.
            let own = store
                .scan_blocks_from_round(1)?
                .into_iter()
                .filter(|b| b.author() == params.own_index)
                .max_by_key(|b| b.round());
            if let Some(own) = own {
                dag.accept_block(own.clone());
                last_proposed = own;
            }
        }
        Ok(Self {
            params,
            key,
            dag,
            block_manager: BlockManager::new(),
            clock,
            committer,
            store,
            transactions,
            last_decided,
            last_proposed,
            reputation,
            round_start: None,
            propose_floor: 0,
            consumer: None,
            pruned: PruneFloor::default(),
            unwritten: StoreBatch::default(),
            store_writes: 0,
            pending_votes: VecDeque::new(),
        })
    }

    /// Adds verified blocks: accepts those with complete history (persisted with the next
    /// commit or own block, see [`Core`]), reports missing ancestors, and commits whatever
    /// became decidable.
    pub fn add_blocks(&mut self, blocks: Vec<VerifiedBlock>) -> ConsensusResult<AddBlocksOutcome> {
        let out = self.block_manager.try_accept_blocks(blocks, &mut self.dag);
        let mut result = AddBlocksOutcome {
            missing: out.missing,
            rejected: out.rejected,
            ..Default::default()
        };
        self.on_accepted(out.accepted, &mut result.accepted)?;
        result.commits = self.try_commit_into(&mut result)?;
        result.missing = self.block_manager.missing_references();
        Ok(result)
    }

    pub(crate) fn on_accepted(
        &mut self,
        accepted: Vec<VerifiedBlock>,
        refs: &mut Vec<BlockRef>,
    ) -> ConsensusResult<()> {
        if accepted.is_empty() {
            return Ok(());
        }
        self.unwritten.blocks.extend(accepted.iter().cloned());
        if self.unwritten.blocks.len() >= MAX_BUFFERED_BLOCKS {
            self.flush()?;
        }
        for b in accepted {
            self.clock.add_block(b.reference(), self.dag.committee());
            // Our own block echoed back (e.g. after losing local state): never propose below it.
            if b.author() == self.params.own_index && b.round() > self.last_proposed.round() {
                self.last_proposed = b.clone();
            }
            refs.push(b.reference());
        }
        Ok(())
    }

    /// Commits every leader the committer can decide now; persists the commits before
    /// returning them.
    pub fn try_commit(&mut self) -> ConsensusResult<Vec<CommittedSubDag>> {
        let mut sink = AddBlocksOutcome::default();
        let commits = self.try_commit_into(&mut sink)?;
        Ok(commits)
    }

    pub(crate) fn try_commit_into(
        &mut self,
        sink: &mut AddBlocksOutcome,
    ) -> ConsensusResult<Vec<CommittedSubDag>> {
        let mut all = Vec::new();
        loop {
            let mut decided = self.committer.try_decide(&self.dag, self.last_decided)?;
            // Slots after a commit that changes the leader schedule are decided again, under
            // the new schedule, in the next pass.
            if let Some((params, _)) = &self.reputation {
                let mut index = self.dag.last_commit().map_or(0, |c| c.index);
                if let Some(cut) = decided.iter().position(|d| {
                    if d.committed().is_none() {
                        return false;
                    }
                    index += 1;
                    params.update_after(index)
                }) {
                    decided.truncate(cut + 1);
                }
            }
            let Some(last) = decided.last() else {
                break;
            };
            self.last_decided = last.slot();
            let leaders: Vec<VerifiedBlock> = decided
                .iter()
                .filter_map(DecidedLeader::committed)
                .cloned()
                .collect();
            let subs = Linearizer::handle_commit(&mut self.dag, &leaders);
            self.unwritten
                .commits
                .extend(subs.iter().map(|s| s.commit.clone()));
            for sub in &subs {
                self.vote_for(CommitRef::new(sub.commit_index, sub.commit_digest));
                observe_commit(
                    &mut self.reputation,
                    &mut self.committer,
                    self.dag.committee(),
                    &sub.commit,
                );
            }
            all.extend(subs);
            self.collect_garbage(sink)?;
        }
        if !all.is_empty() {
            self.persist_commits()?;
        }
        Ok(all)
    }

    /// After the last commit moved: drops DAG blocks below the GC round and accepts suspended
    /// blocks whose missing ancestors are now garbage.
    pub(crate) fn collect_garbage(&mut self, sink: &mut AddBlocksOutcome) -> ConsensusResult<()> {
        self.dag.evict_below_gc_round();
        let out = self.block_manager.on_gc(&mut self.dag);
        sink.rejected.extend(out.rejected);
        self.on_accepted(out.accepted, &mut sink.accepted)
    }

    /// Makes new commits (and the blocks they reference) durable before they leave the core,
    /// then prunes history that left the retention window.
    pub(crate) fn persist_commits(&mut self) -> ConsensusResult<()> {
        self.flush()?;
        self.prune_if_due()
    }

    /// Queues a vote for `commit` in the next own block (the newest ones when too many wait).
    pub(crate) fn vote_for(&mut self, commit: CommitRef) {
        let max = self.params.block_limits.max_commit_votes;
        if max == 0 {
            return;
        }
        while self.pending_votes.len() >= max {
            self.pending_votes.pop_front();
        }
        self.pending_votes.push_back(commit);
    }

    /// Writes the buffered blocks and commits in one atomic batch (nothing when none wait).
    /// The core calls it before handing out commits or an own block; call it before a clean
    /// shutdown to keep the blocks received since.
    pub fn flush(&mut self) -> ConsensusResult<()> {
        if self.unwritten.blocks.is_empty() && self.unwritten.commits.is_empty() {
            return Ok(());
        }
        self.store.write(std::mem::take(&mut self.unwritten))?;
        self.store_writes += 1;
        Ok(())
    }

    /// Store writes made so far (atomic batches).
    pub fn store_writes(&self) -> u64 {
        self.store_writes
    }

    /// The consumer has handled every commit up to `progress.commit` (and will not need them
    /// replayed): the store may delete them once they leave the retention window.
    pub fn set_consumer_progress(&mut self, progress: ConsumerProgress) {
        if self.consumer.is_none_or(|c| c.commit < progress.commit) {
            self.consumer = Some(progress);
        }
    }

    /// The floor the store was last pruned to.
    pub fn pruned_floor(&self) -> PruneFloor {
        self.pruned
    }

    /// Deletes history below the retention floor (see [`crate::retention`]) when it has moved
    /// far enough since the last time.
    fn prune_if_due(&mut self) -> ConsensusResult<()> {
        if self.params.retention_rounds == 0 || self.params.gc_depth == 0 {
            return Ok(());
        }
        let (Some(consumer), Some(last)) = (self.consumer, self.dag.last_commit()) else {
            return Ok(());
        };
        let recovery = RecoveryFloors::of(&self.params, Some(last));
        let floor = prune_floor(&FloorInputs {
            last_commit: last.index,
            last_leader_round: last.leader.round,
            recovery: PruneFloor {
                round: recovery.block_round,
                commit: recovery.commit_index,
            },
            retention_rounds: self.params.retention_rounds,
            gc_depth: self.params.gc_depth,
            leaders_per_round: self.params.committer.leaders_per_round,
            consumer,
            own_last_round: self.last_proposed.round(),
        });
        if prune_due(self.pruned, floor) {
            self.store.prune(floor)?;
            self.pruned = floor;
        }
        Ok(())
    }

    /// Proposes a block for the threshold-clock round if this node has not proposed in it yet,
    /// and either all leaders of the previous round are in the DAG, the leader timeout expired
    /// (`leader_timeout_ms` after this core first saw the round), or `force` is set.
    pub fn try_propose(&mut self, now_ms: u64, force: bool) -> ConsensusResult<Option<Proposal>> {
        let round = self.clock.round();
        if round <= self.last_proposed.round() || round <= self.propose_floor {
            return Ok(None);
        }
        let started = match self.round_start {
            Some((r, t)) if r == round => t,
            _ => {
                self.round_start = Some((round, now_ms));
                now_ms
            }
        };
        let timed_out = now_ms >= started.saturating_add(self.params.leader_timeout_ms);
        if !(force || timed_out || self.leaders_present(round - 1)) {
            return Ok(None);
        }
        if !force
            && self.last_proposed.round() > 0
            && now_ms
                < self
                    .last_proposed
                    .timestamp_ms()
                    .saturating_add(self.params.min_round_delay_ms)
        {
            return Ok(None);
        }
        let block = self.build_block(round, now_ms);
        let signed = SignedBlock::sign(block, &self.key);
        let verified = VerifiedBlock::new_trusted(signed.clone());
        self.unwritten.blocks.push(verified.clone());
        self.dag.accept_block(verified.clone());
        self.clock
            .add_block(verified.reference(), self.dag.committee());
        self.last_proposed = verified;
        let mut sink = AddBlocksOutcome::default();
        let commits = self.try_commit_into(&mut sink)?;
        // Never broadcast a block a restart would not find: it is written (with the blocks it
        // references and the commits it made) before it leaves.
        self.flush()?;
        Ok(Some(Proposal {
            block: signed,
            commits,
        }))
    }

    /// The leader swaps reputation installed last (empty while off or nothing swapped).
    pub fn leader_swaps(&self) -> Vec<AuthorityIndex> {
        self.committer.swapped_out()
    }

    fn leaders_present(&self, round: Round) -> bool {
        round == 0
            || self
                .committer
                .get_leaders(round)
                .into_iter()
                .all(|a| !self.dag.get_blocks_at_slot(Slot::new(round, a)).is_empty())
    }

    fn build_block(&mut self, round: Round, now_ms: u64) -> Block {
        let own = self.params.own_index;
        let previous = &self.last_proposed;
        let already: BTreeSet<BlockRef> = previous.ancestors().iter().copied().collect();
        let gc_round = self.dag.gc_round();
        let mut ancestors = vec![previous.reference()];
        for a in self.dag.committee().indices() {
            if a == own {
                continue;
            }
            if let Some(b) = self.dag.last_block_of_below(a, round) {
                let r = b.reference();
                if (r.round > gc_round || r.round + 1 == round) && !already.contains(&r) {
                    ancestors.push(r);
                }
            }
        }
        let max_ancestor_ts = ancestors
            .iter()
            .filter_map(|r| self.dag.get_block(r))
            .map(|b| b.timestamp_ms())
            .max()
            .unwrap_or(0);
        let limits = self.params.block_limits;
        let mut transactions = self
            .transactions
            .next_transactions(limits.max_transactions, limits.max_transaction_bytes);
        // Never exceed the limits peers enforce, whatever the source returned.
        let mut bytes = 0usize;
        let fit = transactions
            .iter()
            .take(limits.max_transactions)
            .take_while(|t| {
                bytes += t.0.len();
                bytes <= limits.max_transaction_bytes
            })
            .count();
        transactions.truncate(fit);
        Block {
            epoch: self.dag.committee().epoch,
            round,
            author: own,
            timestamp_ms: now_ms.max(max_ancestor_ts),
            ancestors,
            transactions,
            commit_votes: self.pending_votes.drain(..).collect(),
        }
    }

    /// Records the highest round of an own block that peers report (amnesia recovery: after
    /// losing the store, ask f+1 peers for this node's latest block before proposing). The
    /// core will only propose above it.
    pub fn set_last_known_own_round(&mut self, round: Round) {
        self.propose_floor = self.propose_floor.max(round);
    }

    /// Time at which the leader timeout for the current clock round fires, if a proposal is
    /// pending (for the driver's timer).
    pub fn leader_timeout_deadline_ms(&self) -> Option<u64> {
        match self.round_start {
            Some((r, t)) if r == self.clock.round() && r > self.last_proposed.round() => {
                Some(t.saturating_add(self.params.leader_timeout_ms))
            }
            _ => None,
        }
    }

    /// Re-reads committed sub-DAGs with index > `after` from the store (for a consumer that
    /// restarts; it must persist the last index it processed).
    pub fn replay_commits(&self, after: CommitIndex) -> ConsensusResult<Vec<CommittedSubDag>> {
        let mut out = Vec::new();
        for commit in self.store.scan_commits_from(after + 1)? {
            let blocks = self
                .store
                .read_blocks(&commit.blocks)?
                .into_iter()
                .zip(&commit.blocks)
                .map(|(b, r)| b.ok_or_else(|| ConsensusError::Store(format!("missing {r:?}"))))
                .collect::<ConsensusResult<Vec<_>>>()?;
            out.push(CommittedSubDag {
                commit_index: commit.index,
                leader: commit.leader,
                blocks,
                timestamp_ms: commit.timestamp_ms,
                previous_digest: commit.previous_digest,
                commit_digest: commit.digest(),
                commit,
            });
        }
        Ok(out)
    }

    /// This node's latest own block (genesis before the first proposal).
    pub fn last_proposed_block(&self) -> &VerifiedBlock {
        &self.last_proposed
    }
    /// Round of the latest own block.
    pub fn last_proposed_round(&self) -> Round {
        self.last_proposed.round()
    }
    /// Threshold-clock round (the round of the next own block).
    pub fn clock_round(&self) -> Round {
        self.clock.round()
    }
    /// Last decided leader slot (commit or skip).
    pub fn last_decided(&self) -> Slot {
        self.last_decided
    }
    /// Index of the last commit (0 if none).
    pub fn last_commit_index(&self) -> CommitIndex {
        self.dag.last_commit().map_or(0, |c| c.index)
    }
    /// Read access to the DAG.
    pub fn dag(&self) -> &DagState {
        &self.dag
    }
    /// References still awaited by suspended blocks.
    pub fn missing_references(&self) -> BTreeSet<BlockRef> {
        self.block_manager.missing_references()
    }
    /// Blocks held back until their ancestors arrive.
    pub fn suspended_count(&self) -> usize {
        self.block_manager.num_suspended()
    }
    /// The last commit (None before the first).
    pub fn last_commit(&self) -> Option<&Commit> {
        self.dag.last_commit()
    }
    /// Own authority index.
    pub fn own_index(&self) -> AuthorityIndex {
        self.params.own_index
    }
}

#[cfg(test)]
#[path = "core_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "core_random_tests.rs"]
mod random_tests;

/// Scores `commit` for leader reputation and, when it closes a window, installs the new leader
/// swaps and starts the next window. Called for every commit in order, live and on recovery.
pub(crate) fn observe_commit(
    reputation: &mut Option<(ReputationParams, ReputationScores)>,
    committer: &mut UniversalCommitter,
    committee: &Committee,
    commit: &Commit,
) {
    let Some((params, scores)) = reputation else {
        return;
    };
    scores.add_commit(commit);
    if params.update_after(commit.index) {
        let swaps = LeaderSwapTable::new(committee, scores, params.swap_stake_percent);
        committer.set_swaps(commit.leader.round, Arc::new(swaps));
        *scores = ReputationScores::new(committee.size());
    }
}

#[path = "core_certified.rs"]
mod certified;

#[cfg(test)]
#[path = "core_certified_tests.rs"]
mod certified_tests;

#[cfg(test)]
#[path = "core_retention_tests.rs"]
mod retention_tests;

#[cfg(test)]
#[path = "core_write_tests.rs"]
mod write_tests;
