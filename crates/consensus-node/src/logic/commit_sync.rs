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
/// Commits tried, from the end of the range backwards, for one that the stored blocks certify
/// (the newest may not have gathered its votes yet).
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
    ) {
        if let Err(reason) =
            self.commit_sync
                .on_commits(from, commits, blocks, certifiers, &self.verifier)
        {
            tracing::debug!(from, %reason, "commit-sync response refused");
            return;
        }
        // Blocks this validator already holds need no fetch.
        let mut held: Vec<VerifiedBlock> = self
            .commit_sync
            .missing_blocks()
            .iter()
            .filter_map(|r| self.lookup(r))
            .map(VerifiedBlock::new_trusted)
            .collect();
        self.commit_sync.take_wanted_blocks(&mut held);
    }

    /// Answer to a commit request: the longest prefix of `start..=end` (within the response
    /// limits) whose last commit blocks from a quorum of authors vote for, with as many of its
    /// blocks as fit and those voting blocks. Empty when nothing there can be certified.
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
        let end = end.min(start.saturating_add(limits.max_response_commits as u64 - 1));
        let mut commits = match self.store.scan_commits_in(start, end) {
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
        let mut certifiers = None;
        for _ in 0..CERTIFY_ATTEMPTS {
            let Some(last) = commits.last() else {
                break;
            };
            let round = last.leader.round;
            let candidates =
                self.blocks_in_rounds(round + 1, round.saturating_add(VOTE_SCAN_ROUNDS));
            certifiers = certifiers_of(last.reference(), &candidates, self.core.dag().committee());
            if certifiers.is_some() {
                break;
            }
            commits.pop();
        }
        let Some(certifiers) = certifiers else {
            return empty;
        };
        let certifiers: Vec<SignedBlock> = certifiers.iter().map(|b| b.signed().clone()).collect();
        let fixed: usize = commits
            .iter()
            .map(|c| c.to_bytes().len() + 4)
            .sum::<usize>()
            + certifiers
                .iter()
                .map(|b| b.to_bytes().len() + 4)
                .sum::<usize>()
            + 32;
        let budget = limits.max_message_bytes.saturating_sub(fixed);
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

    /// Blocks of rounds `from..=to`: the DAG's (it holds blocks not written yet), then the
    /// store's.
    fn blocks_in_rounds(&self, from: Round, to: Round) -> Vec<VerifiedBlock> {
        let mut found: BTreeMap<_, VerifiedBlock> = BTreeMap::new();
        for round in from..=to {
            for b in self.core.dag().get_blocks_at_round(round) {
                found.insert(b.reference(), b);
            }
        }
        match self.store.scan_blocks_in_rounds(from, to) {
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
