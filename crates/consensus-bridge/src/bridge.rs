//! The bridge proper: one committed sub-DAG in, one canonical block out, through
//! forkchoiceUpdated(attributes) → getPayload → newPayload → forkchoiceUpdated.

use crate::{
    commit_payload::{makes_block, payload_request, ParentBlock, PayloadRules},
    progress::decode_commit_marker,
    BridgeError,
};
use alloy_primitives::B256;
use alloy_rpc_types_engine::{ForkchoiceState, PayloadStatusEnum};
use fastevm_consensus::commit::CommittedSubDag;
use fastevm_engine_api::{EngineClientError, ExecutionClient, HeadInfo};
use std::{collections::VecDeque, future::Future, time::Duration};

/// How transient failures (execution node unreachable) are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts after the first one.
    pub max_retries: u32,
    /// First wait.
    pub initial_backoff: Duration,
    /// Longest wait.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 20,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
        }
    }
}

/// Outcome of executing one commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitOutcome {
    /// A new canonical block.
    Executed {
        /// Its hash.
        hash: B256,
        /// Its number.
        number: u64,
        /// Transactions it holds.
        transactions: usize,
    },
    /// The commit was executed before (a replay after restart): nothing done.
    AlreadyExecuted,
    /// The commit carried no transaction and no heartbeat block was due: no block.
    PassedOver,
}

/// What [`ConsensusBridge::run`] reports about each commit.
#[derive(Debug)]
pub enum CommitEvent<'a> {
    /// The commit reached the bridge.
    Arrived(&'a CommittedSubDag),
    /// The commit was executed.
    Executed(&'a CommittedSubDag, &'a CommitOutcome),
}

/// Commits kept after execution, to execute again those whose blocks the execution node loses
/// in a crash (it writes blocks to disk in the background, a few behind its head).
const COMMITS_KEPT_FOR_REPLAY: usize = 256;

/// Drives one execution node from the ordered stream of commits.
#[derive(Debug)]
pub struct ConsensusBridge<C> {
    client: C,
    rules: PayloadRules,
    retry: RetryPolicy,
    head: HeadInfo,
    last_executed: u64,
    /// The latest commits handled, oldest first (at most [`COMMITS_KEPT_FOR_REPLAY`]).
    recent: VecDeque<CommittedSubDag>,
    /// The heads this bridge connected on or made, by commit index (the connected head's
    /// marker, 0 without one), oldest first: the node may go back only to one of these.
    known_heads: VecDeque<(u64, B256)>,
}

impl<C: ExecutionClient> ConsensusBridge<C> {
    /// Connects to the execution node and reads where it is: the commit index recorded in its
    /// head block (0 when the head is not a consensus block, e.g. genesis).
    pub async fn connect(
        client: C,
        rules: PayloadRules,
        retry: RetryPolicy,
    ) -> Result<Self, BridgeError> {
        let head = with_retry(retry, || client.head()).await?;
        let last_executed = decode_commit_marker(&head.extra_data).unwrap_or(0);
        tracing::info!(head = %head.hash, number = head.number, last_executed, "bridge connected");
        Ok(Self {
            client,
            rules,
            retry,
            known_heads: VecDeque::from([(last_executed, head.hash)]),
            head,
            last_executed,
            recent: VecDeque::new(),
        })
    }

    /// Index of the last commit handled (executed into a block or passed over); consensus must
    /// deliver from the next one. After a restart this is the commit of the head block, so
    /// commits passed over since then are delivered and passed over again.
    pub fn last_executed_commit(&self) -> u64 {
        self.last_executed
    }

    /// The execution client.
    pub fn client(&self) -> &C {
        &self.client
    }

    /// The head the bridge builds on.
    pub fn head(&self) -> &HeadInfo {
        &self.head
    }

    /// Executes every commit `commits` delivers, in order, until the channel closes (`Ok`) or a
    /// commit cannot be executed (`Err`). `observe` sees each commit as it arrives and again
    /// with its outcome (for metrics, logs and executed-result votes). The loop every validator
    /// runs, `fastevm dev` and `fastevm consensus` alike.
    pub async fn run(
        &mut self,
        commits: &mut tokio::sync::mpsc::Receiver<CommittedSubDag>,
        mut observe: impl FnMut(CommitEvent<'_>),
    ) -> Result<(), BridgeError> {
        while let Some(subdag) = commits.recv().await {
            observe(CommitEvent::Arrived(&subdag));
            let outcome = self.execute(&subdag).await?;
            observe(CommitEvent::Executed(&subdag, &outcome));
        }
        Ok(())
    }

    /// Turns `subdag` into the next canonical block.
    ///
    /// If the execution node no longer knows the head the bridge built last (it crashed before
    /// writing its newest blocks and restarted), the bridge goes back to the node's head and
    /// executes the lost commits again from the ones it kept, then this one.
    pub async fn execute(
        &mut self,
        subdag: &CommittedSubDag,
    ) -> Result<CommitOutcome, BridgeError> {
        let outcome = match self.execute_next(subdag).await {
            Err(BridgeError::Syncing(lost)) => {
                self.rewind(lost).await?;
                self.execute_next(subdag).await
            }
            other => other,
        }?;
        if outcome != CommitOutcome::AlreadyExecuted {
            if self.recent.len() == COMMITS_KEPT_FOR_REPLAY {
                self.recent.pop_front();
            }
            self.recent.push_back(subdag.clone());
        }
        if let CommitOutcome::Executed { hash, .. } = outcome {
            if self.known_heads.len() > COMMITS_KEPT_FOR_REPLAY {
                self.known_heads.pop_front();
            }
            self.known_heads.push_back((subdag.commit_index, hash));
        }
        Ok(outcome)
    }

    /// The execution node answered SYNCING for `lost`, a block it had accepted: moves the bridge
    /// back to the node's head and executes the kept commits after it again. They make the same
    /// blocks (a block is a function of its commit and its parent).
    async fn rewind(&mut self, lost: B256) -> Result<(), BridgeError> {
        let head = with_retry(self.retry, || self.client.head()).await?;
        let persisted = decode_commit_marker(&head.extra_data).unwrap_or(0);
        let kept_from = self.recent.front().map(|c| c.commit_index);
        if head.hash == self.head.hash {
            // Only the block being made was lost (commits since the head made no block): the
            // commit is executed again on the same head.
            tracing::warn!(lost = %lost, execution_head = %head.hash, "the execution node lost the block just made");
            return Ok(());
        }
        if !self.known_heads.contains(&(persisted, head.hash)) {
            let older_than_kept = self
                .known_heads
                .front()
                .is_none_or(|(first, _)| persisted < *first);
            if !older_than_kept {
                // A head on another chain: not blocks this bridge made.
                return Err(BridgeError::Divergence {
                    commit: self.last_executed + 1,
                    detail: format!(
                        "the execution node's head {} (commit {persisted}) is not a block this \
                         bridge made",
                        head.hash
                    ),
                });
            }
        }
        if persisted >= self.last_executed {
            // Not behind: the node does not know the block for another reason.
            return Err(BridgeError::Syncing(lost));
        }
        if kept_from.is_none_or(|first| first > persisted + 1) {
            return Err(BridgeError::LostBlocks {
                block: lost,
                execution_commit: persisted,
                bridge_commit: self.last_executed,
            });
        }
        tracing::warn!(
            lost = %lost,
            execution_head = %head.hash,
            from_commit = persisted + 1,
            to_commit = self.last_executed,
            "the execution node lost its newest blocks: executing their commits again"
        );
        self.head = head;
        self.last_executed = persisted;
        let replay: Vec<CommittedSubDag> = self
            .recent
            .iter()
            .filter(|c| c.commit_index > persisted)
            .cloned()
            .collect();
        for commit in &replay {
            self.execute_next(commit).await?;
        }
        Ok(())
    }

    async fn execute_next(
        &mut self,
        subdag: &CommittedSubDag,
    ) -> Result<CommitOutcome, BridgeError> {
        let index = subdag.commit_index;
        if index <= self.last_executed {
            return Ok(CommitOutcome::AlreadyExecuted);
        }
        if index != self.last_executed + 1 {
            return Err(BridgeError::CommitGap {
                expected: self.last_executed + 1,
                got: index,
            });
        }
        let parent = ParentBlock {
            hash: self.head.hash,
            timestamp: self.head.timestamp,
        };
        if !makes_block(subdag, &parent, &self.rules) {
            self.last_executed = index;
            return Ok(CommitOutcome::PassedOver);
        }
        let request = payload_request(subdag, &parent, &self.rules);
        let at_head = fcs(parent.hash);

        let updated = with_retry(self.retry, || {
            self.client
                .forkchoice_updated(at_head, Some(request.clone()))
        })
        .await?;
        match updated.payload_status.status {
            PayloadStatusEnum::Valid => {}
            PayloadStatusEnum::Syncing | PayloadStatusEnum::Accepted => {
                return Err(BridgeError::Syncing(parent.hash))
            }
            PayloadStatusEnum::Invalid { validation_error } => {
                return Err(BridgeError::Divergence {
                    commit: index,
                    detail: format!("head {} is INVALID: {validation_error}", parent.hash),
                })
            }
        }
        let id = updated.payload_id.ok_or_else(|| BridgeError::Divergence {
            commit: index,
            detail: "forkchoiceUpdated with attributes returned no payload id".into(),
        })?;
        let built = with_retry(self.retry, || self.client.get_payload(id)).await?;
        let header = &built.block.header;
        if header.parent_hash != parent.hash
            || decode_commit_marker(&header.extra_data) != Some(index)
        {
            return Err(BridgeError::Divergence {
                commit: index,
                detail: format!(
                    "payload {} does not extend {} with commit {index}",
                    built.hash, parent.hash
                ),
            });
        }
        let computed = header.hash_slow();
        if computed != built.hash {
            return Err(BridgeError::Divergence {
                commit: index,
                detail: format!(
                    "payload claims hash {} but its header hashes to {computed}",
                    built.hash
                ),
            });
        }
        let status = with_retry(self.retry, || self.client.new_payload(&built)).await?;
        match status.status {
            PayloadStatusEnum::Valid => {}
            PayloadStatusEnum::Invalid { validation_error } => {
                return Err(BridgeError::InvalidBlock {
                    commit: index,
                    block: built.hash,
                    reason: validation_error,
                })
            }
            PayloadStatusEnum::Syncing | PayloadStatusEnum::Accepted => {
                return Err(BridgeError::Syncing(parent.hash))
            }
        }
        let updated = with_retry(self.retry, || {
            self.client.forkchoice_updated(fcs(built.hash), None)
        })
        .await?;
        match updated.payload_status.status {
            PayloadStatusEnum::Valid => {}
            // The node restarted after newPayload and lost the block.
            PayloadStatusEnum::Syncing => return Err(BridgeError::Syncing(built.hash)),
            other => {
                return Err(BridgeError::Divergence {
                    commit: index,
                    detail: format!("forkchoiceUpdated to {} answered {other:?}", built.hash),
                })
            }
        }
        let head = with_retry(self.retry, || self.client.head()).await?;
        if head.hash != built.hash
            && decode_commit_marker(&head.extra_data).is_none_or(|commit| commit < index)
        {
            // The node moved its head to the block, then restarted without it (it was still
            // being written): a head from before this commit. Make the lost blocks again.
            return Err(BridgeError::Syncing(built.hash));
        }
        if head.hash != built.hash {
            return Err(BridgeError::Divergence {
                commit: index,
                detail: format!(
                    "head is {} after forkchoiceUpdated to {}",
                    head.hash, built.hash
                ),
            });
        }
        let outcome = CommitOutcome::Executed {
            hash: head.hash,
            number: head.number,
            transactions: built.block.body.transactions.len(),
        };
        self.head = head;
        self.last_executed = index;
        Ok(outcome)
    }
}

/// head = safe = finalized: a committed block is final (BFT finality).
fn fcs(hash: B256) -> ForkchoiceState {
    ForkchoiceState {
        head_block_hash: hash,
        safe_block_hash: hash,
        finalized_block_hash: hash,
    }
}

async fn with_retry<T, F, Fut>(policy: RetryPolicy, mut call: F) -> Result<T, BridgeError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, EngineClientError>>,
{
    let mut backoff = policy.initial_backoff;
    let mut attempt = 0;
    loop {
        match call().await {
            Err(e) if e.is_transient() && attempt < policy.max_retries => {
                attempt += 1;
                tracing::warn!(error = %e, attempt, "execution node call failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(policy.max_backoff);
            }
            other => return other.map_err(BridgeError::from),
        }
    }
}
