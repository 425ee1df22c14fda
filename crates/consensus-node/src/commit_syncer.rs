//! Commit sync: how a validator that fell far behind catches up (Sui's `CommitSyncer`).
//!
//! Block sync alone would fetch the whole DAG between the node's last round and today, parent
//! by parent, and hold it in memory until it connects. Instead, once the commits a quorum has
//! voted for ([`CommitVoteMonitor`]) are more than [`CommitSyncConfig::lag_threshold`] ahead of
//! the node's last commit, it asks its peers for ranges of commits, several peers in parallel.
//! A peer answers with a prefix of the range, the blocks those commits name (as many as fit) and
//! blocks from a quorum of authors voting for the last commit. The answer is checked
//! ([`verify_certified_range`]: consecutive, hash-chained, certified by a quorum's signed
//! votes), blocks that did not fit are fetched by reference, and complete ranges are handed to
//! the core in index order ([`fastevm_consensus::Core::add_certified_commits`]). Block sync
//! takes over again for the last few commits and the recent DAG.
//!
//! Memory is bounded: at most [`CommitSyncConfig::parallel_fetches`] ranges of at most
//! [`CommitSyncConfig::batch_size`] commits are requested or held at once, never further than
//! that many batches ahead of the node's last commit. Pure bookkeeping, no I/O and no clock:
//! the caller passes the time and sends the requests it gets back.

use std::collections::{BTreeMap, BTreeSet};

use fastevm_consensus::commit_certifier::{verify_certified_range, CommitVoteMonitor};
use fastevm_consensus::{
    AuthorityIndex, BlockRef, BlockVerifier, CertifiedCommit, Commit, CommitIndex, Committee,
    Round, SignedBlock, VerifiedBlock,
};

use crate::message::ConsensusMessage;
use crate::synchronizer::{BlockSynchronizer, SyncConfig};

/// Commit-sync settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommitSyncConfig {
    /// Start when a quorum has voted for commits more than this many ahead of the last one.
    pub lag_threshold: u64,
    /// Commits asked for in one request.
    pub batch_size: u64,
    /// Ranges requested or held at once (each from a different peer when possible).
    pub parallel_fetches: usize,
    /// A request without an answer after this long is asked again from the next peer.
    pub timeout_ms: u64,
    /// A range a peer could not certify (or answered wrongly) is asked again after this long.
    pub retry_delay_ms: u64,
}

impl Default for CommitSyncConfig {
    /// Lagging by more than 50 commits; 50 commits a request, 3 at once, 5 s timeout, 500 ms
    /// before asking again after a refusal.
    fn default() -> Self {
        Self {
            lag_threshold: 50,
            batch_size: 50,
            parallel_fetches: 3,
            timeout_ms: 5_000,
            retry_delay_ms: 500,
        }
    }
}

/// Counters of a [`CommitSyncer`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitSyncStats {
    /// Commit-range requests sent.
    pub requests_sent: u64,
    /// Responses that carried certified commits.
    pub ranges_verified: u64,
    /// Responses refused (not certified, not asked for, bad blocks).
    pub responses_refused: u64,
    /// Commits handed to the core.
    pub commits_synced: u64,
    /// Blocks of synced commits fetched by reference (they did not fit a response).
    pub blocks_fetched_separately: u64,
}

#[derive(Debug)]
struct Inflight {
    start: CommitIndex,
    end: CommitIndex,
    deadline_ms: u64,
}

/// A verified range waiting for its blocks or for its turn.
#[derive(Debug)]
struct FetchedRange {
    commits: Vec<Commit>,
    blocks: BTreeMap<BlockRef, VerifiedBlock>,
    missing: BTreeSet<BlockRef>,
}

/// The commit-sync state machine (see the module docs).
#[derive(Debug)]
pub struct CommitSyncer {
    own: AuthorityIndex,
    committee: Committee,
    config: CommitSyncConfig,
    monitor: CommitVoteMonitor,
    /// Ranges to ask for, start → (end, not before this time): not requested yet, or to ask
    /// again.
    queued: BTreeMap<CommitIndex, (CommitIndex, u64)>,
    /// Highest index queued, requested or fetched so far.
    frontier: CommitIndex,
    /// One outstanding request per peer.
    inflight: BTreeMap<AuthorityIndex, Inflight>,
    fetched: BTreeMap<CommitIndex, FetchedRange>,
    /// Blocks of fetched ranges that did not fit a response.
    blocks: BlockSynchronizer,
    next_peer: u32,
    stats: CommitSyncStats,
}

impl CommitSyncer {
    /// Syncer of authority `own`; `block_sync` shapes the by-reference block fetches.
    pub fn new(
        own: AuthorityIndex,
        committee: Committee,
        config: CommitSyncConfig,
        block_sync: SyncConfig,
    ) -> Self {
        let size = committee.size();
        Self {
            own,
            monitor: CommitVoteMonitor::new(size),
            blocks: BlockSynchronizer::new(own, size, block_sync),
            committee,
            config,
            queued: BTreeMap::new(),
            frontier: 0,
            inflight: BTreeMap::new(),
            fetched: BTreeMap::new(),
            next_peer: own.wrapping_add(1),
            stats: CommitSyncStats::default(),
        }
    }

    /// Records the commit votes of a verified block from any source.
    pub fn observe(&mut self, block: &VerifiedBlock) {
        self.monitor.observe(block);
    }

    /// Records that this node (authority `own`) has made commits up to `index`.
    pub fn observe_own(&mut self, own: AuthorityIndex, index: CommitIndex) {
        self.monitor.observe_index(own, index);
    }

    /// Blocks that fetched ranges still wait for.
    pub fn missing_blocks(&self) -> BTreeSet<BlockRef> {
        self.fetched
            .values()
            .flat_map(|f| f.missing.iter().copied())
            .collect()
    }

    /// The highest commit a quorum has voted for (0 while unknown).
    pub fn quorum_commit_index(&self) -> CommitIndex {
        self.monitor.quorum_commit_index(&self.committee)
    }

    /// Whether a node whose last commit is `local_last` is far enough behind to sync commits
    /// (and stop proposing and fetching ancestors meanwhile).
    pub fn is_lagging(&self, local_last: CommitIndex) -> bool {
        self.quorum_commit_index() > local_last.saturating_add(self.config.lag_threshold)
    }

    /// Counters.
    pub fn stats(&self) -> CommitSyncStats {
        self.stats
    }

    /// Commits held in fetched ranges (for memory bounds in tests and metrics).
    pub fn held_commits(&self) -> usize {
        self.fetched.values().map(|r| r.commits.len()).sum()
    }

    /// Whether block `r` is awaited by a fetched range.
    pub fn wants_block(&self, r: &BlockRef) -> bool {
        self.fetched.values().any(|f| f.missing.contains(r))
    }

    /// Messages to send now, given the node's last commit: new ranges while lagging, ranges
    /// whose request timed out (to the next peer), and blocks that did not fit a response.
    pub fn poll(
        &mut self,
        local_last: CommitIndex,
        now_ms: u64,
    ) -> Vec<(AuthorityIndex, ConsensusMessage)> {
        let mut out = Vec::new();
        if self.committee.size() <= 1 {
            return out;
        }
        self.fetched
            .retain(|_, f| f.commits.last().is_some_and(|c| c.index > local_last));
        self.queued.retain(|_, (end, _)| *end > local_last);
        let expired: Vec<AuthorityIndex> = self
            .inflight
            .iter()
            .filter(|(_, f)| f.deadline_ms <= now_ms)
            .map(|(p, _)| *p)
            .collect();
        for peer in expired {
            if let Some(f) = self.inflight.remove(&peer) {
                tracing::debug!(peer, start = f.start, "commit request timed out");
                self.queued.insert(f.start, (f.end, 0));
            }
        }
        self.frontier = self.frontier.max(local_last);
        let target = self.quorum_commit_index();
        if self.is_lagging(local_last) {
            // Never more than `parallel_fetches` batches ahead of what the core has.
            let batch = self.config.batch_size.max(1);
            let horizon = local_last
                .saturating_add(batch.saturating_mul(self.config.parallel_fetches as u64))
                .min(target);
            while self.frontier < horizon {
                let start = self.frontier + 1;
                let end = (start + batch - 1).min(horizon);
                self.queued.insert(start, (end, 0));
                self.frontier = end;
            }
        }
        while self.inflight.len() + self.fetched.len() < self.config.parallel_fetches.max(1) {
            // The lowest range that may be asked now (the core takes ranges in order).
            let Some((&start, &(end, not_before))) = self.queued.iter().next() else {
                break;
            };
            if not_before > now_ms {
                break;
            }
            let Some(peer) = self.pick_peer(start) else {
                break;
            };
            self.queued.remove(&start);
            self.inflight.insert(
                peer,
                Inflight {
                    start,
                    end,
                    deadline_ms: now_ms.saturating_add(self.config.timeout_ms.max(1)),
                },
            );
            self.stats.requests_sent += 1;
            out.push((peer, ConsensusMessage::RequestCommits { start, end }));
        }
        let missing = self.missing_blocks();
        self.blocks.set_missing(&missing, None);
        let exact = vec![Round::MAX; self.committee.size()];
        for req in self.blocks.poll(now_ms) {
            out.push((
                req.peer,
                ConsensusMessage::RequestBlocks {
                    refs: req.refs,
                    // Above every round: the peer adds no ancestors, only what is asked.
                    highest_accepted: exact.clone(),
                },
            ));
        }
        out
    }

    /// The next peer in turn without an outstanding request, preferring peers seen voting for
    /// commit `start` or later.
    fn pick_peer(&mut self, start: CommitIndex) -> Option<AuthorityIndex> {
        let n = self.committee.size() as u32;
        let free: Vec<AuthorityIndex> = (0..n)
            .map(|k| (self.next_peer + k) % n)
            .filter(|p| *p != self.own && !self.inflight.contains_key(p))
            .collect();
        let peer = free
            .iter()
            .copied()
            .find(|p| self.monitor.highest_voted(*p) >= start)
            .or_else(|| free.first().copied())?;
        self.next_peer = (peer + 1) % n;
        Some(peer)
    }

    /// A peer's answer to a commit request. Returns why it was refused, if it was (the range
    /// is asked again from the next peer after [`CommitSyncConfig::retry_delay_ms`]). An answer
    /// to an earlier request of the same peer (it came after the timeout) is ignored.
    pub fn on_commits(
        &mut self,
        from: AuthorityIndex,
        commits: Vec<Commit>,
        blocks: Vec<SignedBlock>,
        certifiers: Vec<SignedBlock>,
        verifier: &BlockVerifier,
        now_ms: u64,
    ) -> Result<(), String> {
        let current = self.inflight.get(&from).map(|f| f.start);
        let answered = commits.first().map(|c| c.index);
        if current.is_none() || (answered.is_some() && answered != current) {
            self.stats.responses_refused += 1;
            return Err("not asked for (or asked before and timed out)".into());
        }
        let Some(request) = self.inflight.remove(&from) else {
            return Err("not asked for".into());
        };
        let result = self.accept_range(&request, commits, blocks, certifiers, verifier);
        match &result {
            Ok(last) if *last < request.end => {
                // A prefix: the rest is asked again (from the next peer).
                self.queued.insert(last + 1, (request.end, 0));
            }
            Ok(last) => self.frontier = self.frontier.max(*last),
            Err(_) => {
                self.stats.responses_refused += 1;
                let not_before = now_ms.saturating_add(self.config.retry_delay_ms);
                self.queued.insert(request.start, (request.end, not_before));
            }
        }
        result.map(|_| ())
    }

    fn accept_range(
        &mut self,
        request: &Inflight,
        commits: Vec<Commit>,
        blocks: Vec<SignedBlock>,
        certifiers: Vec<SignedBlock>,
        verifier: &BlockVerifier,
    ) -> Result<CommitIndex, String> {
        if commits.is_empty() {
            return Err("nothing certified in the range".into());
        }
        let certifiers = certifiers
            .into_iter()
            .map(|b| verifier.verify(b))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("certifying block: {e}"))?;
        verify_certified_range(&self.committee, request.start, &commits, &certifiers)
            .map_err(|e| e.to_string())?;
        let named: BTreeSet<BlockRef> = commits
            .iter()
            .flat_map(|c| c.blocks.iter().copied())
            .collect();
        let mut held = BTreeMap::new();
        for b in blocks {
            if !named.contains(&b.reference()) {
                return Err(format!("block {:?} is not in the commits", b.reference()));
            }
            let b = verifier.verify(b).map_err(|e| format!("block: {e}"))?;
            held.insert(b.reference(), b);
        }
        let missing = named
            .into_iter()
            .filter(|r| !held.contains_key(r))
            .collect();
        let last = commits[commits.len() - 1].index;
        self.stats.ranges_verified += 1;
        self.fetched.insert(
            request.start,
            FetchedRange {
                commits,
                blocks: held,
                missing,
            },
        );
        Ok(last)
    }

    /// Takes the blocks that fetched ranges wait for out of `blocks` (verified blocks that
    /// arrived by reference); the rest are left for the core.
    pub fn take_wanted_blocks(&mut self, blocks: &mut Vec<VerifiedBlock>) {
        if self.fetched.is_empty() {
            return;
        }
        blocks.retain(|b| {
            let r = b.reference();
            let Some(range) = self.fetched.values_mut().find(|f| f.missing.contains(&r)) else {
                return true;
            };
            range.missing.remove(&r);
            range.blocks.insert(r, b.clone());
            self.stats.blocks_fetched_separately += 1;
            false
        });
    }

    /// Complete ranges that continue the chain after `local_last`, in order, as certified
    /// commits for the core.
    pub fn take_ready(&mut self, local_last: CommitIndex) -> Vec<CertifiedCommit> {
        let mut out = Vec::new();
        let mut next = local_last + 1;
        // The complete range holding the next commit, as long as there is one.
        while let Some(start) = self
            .fetched
            .iter()
            .find(|(s, f)| **s <= next && f.commits.last().is_some_and(|c| c.index >= next))
            .filter(|(_, f)| f.missing.is_empty())
            .map(|(s, _)| *s)
        {
            let Some(range) = self.fetched.remove(&start) else {
                break;
            };
            for commit in range.commits {
                if commit.index < next {
                    continue;
                }
                let blocks = commit
                    .blocks
                    .iter()
                    .filter_map(|r| range.blocks.get(r).cloned())
                    .collect();
                next = commit.index + 1;
                out.push(CertifiedCommit { commit, blocks });
            }
        }
        self.stats.commits_synced += out.len() as u64;
        out
    }

    /// When [`poll`](Self::poll) may have something new to send: a request's timeout, the
    /// retry time of the lowest queued range when a request slot is free for it (ranges go out
    /// lowest first), or a block fetch's.
    pub fn next_deadline_ms(&self) -> Option<u64> {
        let slot_free =
            self.inflight.len() + self.fetched.len() < self.config.parallel_fetches.max(1);
        let retry = self
            .queued
            .values()
            .next()
            .map(|(_, not_before)| *not_before)
            .filter(|t| slot_free && *t > 0);
        let requests = self
            .inflight
            .values()
            .map(|f| f.deadline_ms)
            .chain(retry)
            .min();
        match (requests, self.blocks.next_deadline_ms()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
#[path = "commit_syncer_tests.rs"]
mod tests;
