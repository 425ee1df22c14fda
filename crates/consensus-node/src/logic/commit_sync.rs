//! Commit sync inside the validator: serving certified commit ranges to peers, and taking them
//! from peers while this validator is far behind (see [`crate::commit_syncer`]).

use std::collections::BTreeMap;

use fastevm_consensus::commit_certifier::certifiers_of;
use fastevm_consensus::{AuthorityIndex, Commit, CommitIndex, Round, SignedBlock, VerifiedBlock};

use super::{Destination, Outputs, ValidatorLogic};
use crate::commit_syncer::CommitSyncStats;
use crate::error::NodeResult;
use crate::message::ConsensusMessage;

/// Rounds after a commit's leader searched for blocks voting for it. Validators vote in their
/// first block after making the commit, a few rounds after the leader's.
const VOTE_SCAN_ROUNDS: Round = 20;
/// Commits tried, from the end of the range backwards and then past it, for one that the stored
/// blocks certify (the newest may not have gathered its votes yet).
const CERTIFY_ATTEMPTS: usize = 4;

impl ValidatorLogic {
    /// Commit-sync counters.
    pub fn commit_sync_stats(&self) -> CommitSyncStats {
        self.commit_sync.stats()
    }

    /// The highest commit index a quorum of validators has voted for, as far as this
    /// validator has seen (0 while unknown).
    pub fn quorum_commit_index(&self) -> CommitIndex {
        self.commit_sync.quorum_commit_index()
    }

    /// Whether this validator is far enough behind the others to sync commits.
    pub fn is_commit_lagging(&self) -> bool {
        self.commit_sync.is_lagging(self.core.last_commit_index())
    }

    /// Commits held by commit sync, waiting for blocks or their turn.
    pub fn commit_sync_held(&self) -> usize {
        self.commit_sync.held_commits()
    }

    /// Sends due commit-sync requests and hands complete ranges to the core; returns whether
    /// this validator is lagging.
    pub(super) fn sync_commits(&mut self, now_ms: u64, out: &mut Outputs) -> NodeResult<bool> {
        let own = self.core.own_index();
        self.commit_sync
            .observe_own(own, self.core.last_commit_index());
        self.take_held_blocks(false);
        self.apply_synced(out)?;
        for (peer, msg) in self.commit_sync.poll(self.core.last_commit_index(), now_ms) {
            out.messages.push((Destination::Peer(peer), msg));
        }
        let lagging = self.is_commit_lagging();
        if lagging != self.lagging {
            self.lagging = lagging;
            let local_commit = self.core.last_commit_index();
            let quorum_commit = self.quorum_commit_index();
            if lagging {
                tracing::info!(
                    local_commit,
                    quorum_commit,
                    "behind a quorum of validators: catching up through commit sync"
                );
            } else {
                tracing::info!(
                    local_commit,
                    quorum_commit,
                    commits_synced = self.commit_sync.stats().commits_synced,
                    "caught up through commit sync"
                );
            }
        }
        Ok(lagging)
    }

    fn apply_synced(&mut self, out: &mut Outputs) -> NodeResult<()> {
        loop {
            let ready = self.commit_sync.take_ready(self.core.last_commit_index());
            if ready.is_empty() {
                return Ok(());
            }
            let outcome = self.core.add_certified_commits(ready)?;
            self.stats.blocks_rejected += outcome.rejected.len() as u64;
            self.deliver(outcome.commits, out)?;
        }
    }

    /// A peer's answer to this validator's commit request.
    pub(super) fn on_commits(
        &mut self,
        from: AuthorityIndex,
        commits: Vec<Commit>,
        blocks: Vec<SignedBlock>,
        certifiers: Vec<SignedBlock>,
        now_ms: u64,
    ) {
        if let Err(reason) =
            self.commit_sync
                .on_commits(from, commits, blocks, certifiers, &self.verifier, now_ms)
        {
            tracing::debug!(from, %reason, "commit-sync response refused");
            return;
        }
        self.take_held_blocks(true);
    }

    /// Gives fetched ranges the blocks they wait for that this validator holds: from its DAG
    /// and, when a range has just arrived, its store. Such a block is not fetched, and one that
    /// entered the DAG while its fetch was under way (its copy then dropped as a duplicate) does
    /// not hold the range up.
    fn take_held_blocks(&mut self, read_store: bool) {
        let missing = self.commit_sync.missing_blocks();
        if missing.is_empty() {
            return;
        }
        let dag = self.core.dag();
        let mut held: Vec<VerifiedBlock> = missing
            .iter()
            .filter_map(|r| match dag.get_block(r) {
                Some(b) => Some(b.clone()),
                None if read_store => self.lookup(r).map(VerifiedBlock::new_trusted),
                None => None,
            })
            .collect();
        self.commit_sync.take_wanted_blocks(&mut held);
    }

    /// Answer to a commit request: consecutive commits from `start` up to one that blocks from
    /// a quorum of authors vote for — at or before `end` if possible, else a little past it
    /// (within the response limits) — with as many of their blocks as fit and those voting
    /// blocks. Empty when nothing there can be certified.
    pub(super) fn serve_commits(
        &mut self,
        start: CommitIndex,
        end: CommitIndex,
    ) -> ConsensusMessage {
        let limits = &self.config.limits;
        let empty = ConsensusMessage::Commits {
            commits: Vec::new(),
            blocks: Vec::new(),
            certifiers: Vec::new(),
        };
        if start == 0 || end < start || limits.max_response_commits == 0 {
            return empty;
        }
        let max_end = start.saturating_add(limits.max_response_commits as u64 - 1);
        let end = end.min(max_end);
        // The asked range and the few commits past it that may be tried for certification.
        let read_end = end.saturating_add(CERTIFY_ATTEMPTS as u64).min(max_end);
        let mut commits = match self.store.scan_commits_in(start, read_end) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "store read failed while serving commits");
                return empty;
            }
        };
        // Only a run of consecutive commits from `start` (pruned ones are gone).
        let run = commits
            .iter()
            .zip(start..)
            .take_while(|(c, i)| c.index == *i)
            .count();
        commits.truncate(run);
        // The range ends at the last commit the stored votes certify: tried from the end asked
        // for backwards, then past it (within the response limit) when the votes for the end
        // are not in the rounds searched.
        let asked = commits.iter().take_while(|c| c.index <= end).count();
        let order: Vec<usize> = (0..asked)
            .rev()
            .take(CERTIFY_ATTEMPTS)
            .chain((asked..commits.len()).take(CERTIFY_ATTEMPTS))
            .collect();
        let mut chosen = None;
        for i in order {
            let last = &commits[i];
            let round = last.leader.round;
            let mut candidates =
                self.blocks_in_rounds(round + 1, round.saturating_add(VOTE_SCAN_ROUNDS));
            // The smallest voting blocks keep the answer small.
            candidates.sort_by_key(|b| (approximate_size(b), b.reference()));
            let Some(found) =
                certifiers_of(last.reference(), &candidates, self.core.dag().committee())
            else {
                continue;
            };
            let found: Vec<SignedBlock> = found.iter().map(|b| b.signed().clone()).collect();
            let fixed: usize = commits[..=i]
                .iter()
                .map(|c| c.to_bytes().len() + 4)
                .sum::<usize>()
                + found.iter().map(|b| b.to_bytes().len() + 4).sum::<usize>()
                + 32;
            if fixed > limits.max_message_bytes {
                // Too big to send: another commit's voting blocks may be smaller.
                tracing::debug!(
                    start,
                    bytes = fixed,
                    "the blocks certifying a commit range do not fit in a message"
                );
                continue;
            }
            chosen = Some((i, found, fixed));
            break;
        }
        let Some((last, certifiers, fixed)) = chosen else {
            return empty;
        };
        commits.truncate(last + 1);
        let budget = limits.max_message_bytes - fixed;
        let mut blocks = Vec::new();
        let mut bytes = 0usize;
        'commits: for c in &commits {
            for r in &c.blocks {
                if blocks.len() >= limits.max_response_blocks {
                    break 'commits;
                }
                let Some(b) = self.lookup(r) else {
                    continue;
                };
                let size = b.to_bytes().len() + 4;
                if bytes + size > budget {
                    break 'commits;
                }
                bytes += size;
                blocks.push(b);
            }
        }
        self.stats.commit_requests_answered += 1;
        ConsensusMessage::Commits {
            commits,
            blocks,
            certifiers,
        }
    }

    /// Blocks of rounds `from..=to`: above the GC round from the DAG (it holds every accepted
    /// block there, written or not), below it from the store.
    fn blocks_in_rounds(&self, from: Round, to: Round) -> Vec<VerifiedBlock> {
        let mut found: BTreeMap<_, VerifiedBlock> = BTreeMap::new();
        let gc_round = self.core.dag().gc_round();
        for round in from.max(gc_round + 1)..=to {
            for b in self.core.dag().get_blocks_at_round(round) {
                found.insert(b.reference(), b);
            }
        }
        if from > gc_round {
            return found.into_values().collect();
        }
        match self.store.scan_blocks_in_rounds(from, to.min(gc_round)) {
            Ok(stored) => {
                for b in stored {
                    found.entry(b.reference()).or_insert(b);
                }
            }
            Err(e) => tracing::warn!(error = %e, "store read failed while certifying commits"),
        }
        found.into_values().collect()
    }
}

/// Encoded size of a block, give or take a few bytes, without encoding it.
fn approximate_size(b: &VerifiedBlock) -> usize {
    let block = b.block();
    block.transactions_bytes()
        + 4 * block.transactions.len()
        + 40 * (block.ancestors.len() + block.commit_votes.len())
        + 100
}
