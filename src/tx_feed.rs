//! How pooled transactions reach consensus blocks.
//!
//! A consensus node proposes the pending transactions of its own execution node's pool, each
//! once: [`PoolFeed`] reads the pool in process (`fastevm dev`), [`RemotePoolFeed`] asks the
//! execution node's authenticated port (`fastevm consensus`), which serves
//! [`PoolFeedApiServer`] (`fastevm_pendingTransactions`) as a long poll: a request with nothing
//! new to return waits until the pool admits a transaction (or its `wait` runs out), so a
//! transaction reaches the validator as soon as it is admitted. Both follow the pool's pending
//! sequence numbers, so a transaction is offered once per feed whatever the polling rhythm — and
//! offered again if it is still pending [`REOFFER_AFTER`] later: a commit whose transactions do
//! not all fit its block leaves the rest out, and a proposal can be lost with its proposer.
//!
//! The same port takes the other direction too: a separate-process validator hands its node the
//! transactions of every peer DAG block it accepts (`fastevm_prefetchSenders`), rounds before the
//! commit that builds them into an EVM block, so the node decodes them and recovers their senders
//! off the block's critical path (in `fastevm dev` the validators do this in process).

use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{keccak256, Bytes, B256, U64};
use fastevm_consensus::{Transaction, TransactionSource};
use fastevm_consensus_node::AcceptedTransactionsHook;
use fastevm_executor::SenderPrefetcher;
use fastevm_metrics::NodeMetrics;
use fastevm_txpool::TxPool;
use jsonrpsee::{
    core::{async_trait, RpcResult},
    proc_macros::rpc,
};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::{
    collections::VecDeque,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::watch;

/// Most transactions one `fastevm_pendingTransactions` call returns.
pub const MAX_FEED_BATCH: u64 = 4096;

/// The longest one `fastevm_pendingTransactions` call waits for new transactions.
pub const MAX_FEED_WAIT: Duration = Duration::from_secs(10);

/// The shortest wait a [`RemotePoolFeed`] asks for.
pub const MIN_FEED_WAIT: Duration = Duration::from_millis(10);

/// A transaction offered this long ago and still pending is offered again.
pub const REOFFER_AFTER: Duration = Duration::from_secs(1);

/// The transactions a feed offered, oldest first, to offer again those the pool still holds as
/// pending once they are older than `delay` (and forget the others).
#[derive(Debug)]
struct Reoffer {
    offered: VecDeque<(B256, Instant)>,
    delay: Duration,
}

impl Reoffer {
    fn new(delay: Duration) -> Self {
        Self {
            offered: VecDeque::new(),
            delay,
        }
    }

    fn record(&mut self, hashes: impl IntoIterator<Item = B256>, now: Instant) {
        self.offered
            .extend(hashes.into_iter().map(|hash| (hash, now)));
    }

    /// Raw transactions offered at least `delay` before `now` and still pending, in the order
    /// they were offered; they count as offered again at `now`.
    fn due(&mut self, pool: &TxPool, now: Instant) -> Vec<Bytes> {
        let mut again = Vec::new();
        while let Some(&(hash, at)) = self.offered.front() {
            if now.saturating_duration_since(at) < self.delay {
                break;
            }
            self.offered.pop_front();
            if let Some(tx) = pool.get(&hash).filter(|tx| tx.is_pending) {
                again.push((hash, Bytes::from(tx.tx.encoded_2718())));
            }
        }
        if !again.is_empty() {
            tracing::debug!(
                count = again.len(),
                "offering again transactions still pending"
            );
        }
        self.record(again.iter().map(|(hash, _)| *hash), now);
        again.into_iter().map(|(_, raw)| raw).collect()
    }
}

/// Pending transactions after a sequence number.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PendingBatch {
    /// Raw EIP-2718 transactions in the order they became pending.
    pub transactions: Vec<Bytes>,
    /// The sequence number to ask after next time.
    pub next: U64,
    /// Identifies the pool instance: sequence numbers restart when the execution node does, so
    /// a feed that sees a new instance starts again from 0.
    pub instance: U64,
}

/// The pool feed on the execution node's authenticated port.
#[rpc(server, client, namespace = "fastevm")]
pub trait PoolFeedApi {
    /// Transactions that became pending after sequence `after`, at most `max` of them. With
    /// `wait` (milliseconds, at most [`MAX_FEED_WAIT`]) and nothing to return yet, the answer
    /// waits until the pool admits a transaction or `wait` has passed.
    #[method(name = "pendingTransactions")]
    async fn pending_transactions(
        &self,
        after: U64,
        max: U64,
        wait: Option<U64>,
    ) -> RpcResult<PendingBatch>;

    /// Raw transactions whose senders the node should recover ahead of the block that will
    /// carry them (those of accepted DAG blocks). Answers at once; `false` when the node does
    /// not prefetch. Undecodable transactions are passed over.
    #[method(name = "prefetchSenders")]
    fn prefetch_senders(&self, transactions: Vec<Bytes>) -> RpcResult<bool>;
}

/// Serves [`PoolFeedApiServer`] from a pool.
#[derive(Debug, Clone)]
pub struct PoolFeedServer {
    pool: Arc<TxPool>,
    instance: u64,
    reoffer: Arc<Mutex<Reoffer>>,
    /// Signals that the pool may hold new pending transactions (absent: requests never wait).
    changes: Option<watch::Receiver<u64>>,
    /// Where `fastevm_prefetchSenders` hands transactions (absent: it does nothing).
    prefetcher: Option<SenderPrefetcher>,
    /// Where admission-to-proposal latencies go.
    metrics: Option<NodeMetrics>,
}

impl PoolFeedServer {
    /// Over `pool`; the instance id is the server's start time in nanoseconds.
    pub fn new(pool: Arc<TxPool>) -> Self {
        let instance = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default();
        Self {
            pool,
            instance,
            reoffer: Arc::new(Mutex::new(Reoffer::new(REOFFER_AFTER))),
            changes: None,
            prefetcher: None,
            metrics: None,
        }
    }

    /// Reports each transaction's pool admission to hand-over latency to `metrics`.
    pub fn with_metrics(mut self, metrics: NodeMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Serves `fastevm_prefetchSenders` with `prefetcher` (the node's sender cache's).
    pub fn with_prefetcher(mut self, prefetcher: SenderPrefetcher) -> Self {
        self.prefetcher = Some(prefetcher);
        self
    }

    /// Lets requests with a `wait` wait for `changes` (the RPC's pool-change signal,
    /// `ChainEvents::pool_changes`) instead of answering empty at once.
    pub fn with_changes(mut self, changes: watch::Receiver<u64>) -> Self {
        self.changes = Some(changes);
        self
    }

    fn batch(&self, after: u64, max: usize) -> PendingBatch {
        let now = Instant::now();
        let mut reoffer = self.reoffer.lock();
        let mut batch = reoffer.due(&self.pool, now);
        let (transactions, next) = self.pool.pending_since(after, max);
        observe_admission_to_proposal(self.metrics.as_ref(), &self.pool, &transactions);
        reoffer.record(transactions.iter().map(|(hash, _)| *hash), now);
        batch.extend(transactions.into_iter().map(|(_, raw)| raw));
        PendingBatch {
            transactions: batch,
            next: U64::from(next),
            instance: U64::from(self.instance),
        }
    }
}

#[async_trait]
impl PoolFeedApiServer for PoolFeedServer {
    async fn pending_transactions(
        &self,
        after: U64,
        max: U64,
        wait: Option<U64>,
    ) -> RpcResult<PendingBatch> {
        let max = max.to::<u64>().min(MAX_FEED_BATCH) as usize;
        let wait = Duration::from_millis(wait.map_or(0, |w| w.saturating_to::<u64>()));
        let deadline = tokio::time::Instant::now() + wait.min(MAX_FEED_WAIT);
        let mut changes = self.changes.clone();
        if let Some(changes) = &mut changes {
            // Seen before the pool is read: a transaction admitted after the read wakes the wait.
            changes.borrow_and_update();
        }
        loop {
            let batch = self.batch(after.to(), max);
            if !batch.transactions.is_empty() || wait.is_zero() {
                return Ok(batch);
            }
            let Some(changes) = changes.as_mut() else {
                return Ok(batch);
            };
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => continue,
                // The wait ran out, or the pool's signal is gone (node shutting down).
                _ => return Ok(batch),
            }
        }
    }

    fn prefetch_senders(&self, transactions: Vec<Bytes>) -> RpcResult<bool> {
        let Some(prefetcher) = &self.prefetcher else {
            return Ok(false);
        };
        prefetcher.submit(transactions.into_iter().map(Vec::from).collect());
        Ok(true)
    }
}

/// Takes transactions from a queue within a block's limits. A transaction larger than a whole
/// block is dropped (no block could carry it; the pool's size limit normally prevents this).
fn take_within_limits(
    queue: &mut VecDeque<Bytes>,
    max_count: usize,
    max_bytes: usize,
) -> Vec<Transaction> {
    let mut out = Vec::new();
    let mut bytes = 0;
    while out.len() < max_count {
        let Some(next) = queue.front() else { break };
        if next.len() > max_bytes {
            tracing::warn!(
                size = next.len(),
                max_bytes,
                "dropping a transaction larger than a block"
            );
            queue.pop_front();
            continue;
        }
        if bytes + next.len() > max_bytes {
            break;
        }
        bytes += next.len();
        let tx = queue.pop_front().expect("front exists");
        out.push(Transaction(tx.to_vec()));
    }
    out
}

/// Proposes the pending transactions of an in-process pool.
#[derive(Debug)]
pub struct PoolFeed {
    pool: Arc<TxPool>,
    cursor: u64,
    queue: VecDeque<Bytes>,
    reoffer: Reoffer,
    metrics: Option<NodeMetrics>,
}

impl PoolFeed {
    /// Starts at the pool's first pending transaction.
    pub fn new(pool: Arc<TxPool>) -> Self {
        Self::with_reoffer_delay(pool, REOFFER_AFTER)
    }

    fn with_reoffer_delay(pool: Arc<TxPool>, delay: Duration) -> Self {
        Self {
            pool,
            cursor: 0,
            queue: VecDeque::new(),
            reoffer: Reoffer::new(delay),
            metrics: None,
        }
    }

    /// Reports each transaction's pool admission to proposal latency to `metrics`.
    pub fn with_metrics(mut self, metrics: Option<NodeMetrics>) -> Self {
        self.metrics = metrics;
        self
    }
}

/// Observes, for `transactions` just taken from `pool` for a proposal, the time since each was
/// admitted.
fn observe_admission_to_proposal(
    metrics: Option<&NodeMetrics>,
    pool: &TxPool,
    transactions: &[(B256, Bytes)],
) {
    let Some(metrics) = metrics else {
        return;
    };
    let hashes: Vec<B256> = transactions.iter().map(|(hash, _)| *hash).collect();
    for admitted in pool.admission_times(&hashes).into_iter().flatten() {
        metrics
            .tx_admission_to_proposal_seconds
            .observe(admitted.elapsed().as_secs_f64());
    }
}

impl TransactionSource for PoolFeed {
    fn next_transactions(&mut self, max_count: usize, max_bytes: usize) -> Vec<Transaction> {
        let now = Instant::now();
        let again = self.reoffer.due(&self.pool, now);
        self.queue.extend(again);
        if self.queue.len() < max_count {
            let (transactions, next) = self.pool.pending_since(self.cursor, max_count);
            observe_admission_to_proposal(self.metrics.as_ref(), &self.pool, &transactions);
            self.cursor = next;
            self.queue
                .extend(transactions.into_iter().map(|(_, raw)| raw));
        }
        let taken = take_within_limits(&mut self.queue, max_count, max_bytes);
        // Offered when proposed, not when queued here.
        self.reoffer
            .record(taken.iter().map(|tx| keccak256(&tx.0)), now);
        taken
    }
}

/// Proposes the pending transactions of an execution node reached over its authenticated port:
/// a background task long-polls `fastevm_pendingTransactions` into a queue that blocks drain.
#[derive(Debug, Clone)]
pub struct RemotePoolFeed {
    queue: Arc<Mutex<VecDeque<Bytes>>>,
}

impl RemotePoolFeed {
    /// Starts asking `client` for new transactions, each request waiting up to `wait` on the node
    /// for one to arrive, and pausing `wait` after a failed request; the task ends when every
    /// clone of the feed is dropped.
    pub fn spawn<C>(client: C, wait: Duration) -> Self
    where
        C: PoolFeedApiClient + Send + Sync + 'static,
    {
        let queue = Arc::new(Mutex::new(VecDeque::new()));
        let weak = Arc::downgrade(&queue);
        tokio::spawn(async move {
            let mut cursor = 0u64;
            let mut instance = None;
            // A zero wait would make every empty answer a busy loop.
            let wait = wait.max(MIN_FEED_WAIT);
            let wait_ms = U64::from(wait.as_millis() as u64);
            loop {
                if weak.strong_count() == 0 {
                    return;
                }
                let asked = tokio::time::Instant::now();
                let answer = client
                    .pending_transactions(
                        U64::from(cursor),
                        U64::from(MAX_FEED_BATCH),
                        Some(wait_ms),
                    )
                    .await;
                let Some(queue) = weak.upgrade() else { return };
                if answer.as_ref().is_ok_and(|b| b.transactions.is_empty()) {
                    // An empty answer should have waited; one that did not (a node that does not
                    // long-poll) must not turn this loop into a busy one.
                    tokio::time::sleep_until(asked + wait / 2).await;
                }
                match answer {
                    Ok(batch) if instance.is_some_and(|i| i != batch.instance) => {
                        // The execution node restarted: its sequence numbers start over.
                        tracing::info!(
                            "execution node's pool restarted; reading it from the start"
                        );
                        instance = Some(batch.instance);
                        cursor = 0;
                    }
                    Ok(batch) => {
                        instance = Some(batch.instance);
                        cursor = batch.next.to();
                        queue.lock().extend(batch.transactions);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "asking the execution node's pool");
                        tokio::time::sleep(wait).await;
                    }
                }
            }
        });
        Self { queue }
    }
}

/// Accepted DAG blocks' transaction batches waiting to be sent to the node; more are passed
/// over (prefetching is only a head start).
const PREFETCH_BACKLOG: usize = 64;

/// The validator hook of a separate-process validator: hands the transactions of every accepted
/// DAG block to its execution node over `client` (`fastevm_prefetchSenders`). The hook only
/// queues (it runs on the validator's event loop); a background task, which ends with the hook,
/// sends.
pub fn remote_sender_prefetch<C>(client: C) -> AcceptedTransactionsHook
where
    C: PoolFeedApiClient + Send + Sync + 'static,
{
    let (batches, mut queued) = tokio::sync::mpsc::channel::<Vec<Bytes>>(PREFETCH_BACKLOG);
    tokio::spawn(async move {
        while let Some(batch) = queued.recv().await {
            if let Err(e) = client.prefetch_senders(batch).await {
                tracing::debug!(error = %e, "handing accepted transactions to the execution node");
            }
        }
    });
    AcceptedTransactionsHook(Arc::new(move |txs: Vec<Transaction>| {
        if !txs.is_empty() {
            let _ = batches.try_send(txs.into_iter().map(|tx| Bytes::from(tx.0)).collect());
        }
    }))
}

impl TransactionSource for RemotePoolFeed {
    fn next_transactions(&mut self, max_count: usize, max_bytes: usize) -> Vec<Transaction> {
        take_within_limits(&mut self.queue.lock(), max_count, max_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::U256;
    use fastevm_txpool::{
        test_utils::{test_signer, MemoryState, TxBuilder, TEST_CHAIN_ID},
        PoolConfig,
    };

    #[test]
    fn transactions_still_pending_are_offered_again_after_the_delay() {
        let pool = Arc::new(TxPool::new(PoolConfig::default(), TEST_CHAIN_ID));
        let mut state = MemoryState::funded(1, U256::from(10u64).pow(U256::from(18)));
        let signer = test_signer(0);
        let txs: Vec<_> = (0..3)
            .map(|nonce| TxBuilder::eip1559().nonce(nonce).sign(&signer))
            .collect();
        for tx in &txs {
            pool.add_transaction(tx.clone(), &state, 7).unwrap();
        }
        let raw = |i: usize| Transaction(txs[i].encoded_2718());

        let mut feed = PoolFeed::with_reoffer_delay(pool.clone(), Duration::from_millis(50));
        assert_eq!(
            feed.next_transactions(10, 1 << 20),
            vec![raw(0), raw(1), raw(2)]
        );
        assert!(
            feed.next_transactions(10, 1 << 20).is_empty(),
            "offered once"
        );
        // Transaction 0 makes it into a block; 1 and 2 are left out and stay pending.
        state.set_account(signer.address(), 1, U256::from(10u64).pow(U256::from(18)));
        pool.on_new_head(&state, 7, vec![]);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(feed.next_transactions(10, 1 << 20), vec![raw(1), raw(2)]);
        assert!(feed.next_transactions(10, 1 << 20).is_empty());
        // Once mined they are forgotten.
        state.set_account(signer.address(), 3, U256::from(10u64).pow(U256::from(18)));
        pool.on_new_head(&state, 7, vec![]);
        std::thread::sleep(Duration::from_millis(60));
        assert!(feed.next_transactions(10, 1 << 20).is_empty());
    }

    #[tokio::test]
    async fn a_request_with_nothing_new_waits_for_the_next_admission() {
        let pool = Arc::new(TxPool::new(PoolConfig::default(), TEST_CHAIN_ID));
        let state = MemoryState::funded(1, U256::from(10u64).pow(U256::from(18)));
        let (changed, changes) = watch::channel(0u64);
        let server = PoolFeedServer::new(pool.clone()).with_changes(changes);
        let first = TxBuilder::eip1559().nonce(0).sign(&test_signer(0));
        pool.add_transaction(first.clone(), &state, 7).unwrap();
        let batch = server
            .pending_transactions(U64::ZERO, U64::from(10), Some(U64::from(60_000)))
            .await
            .unwrap();
        assert_eq!(batch.transactions, vec![Bytes::from(first.encoded_2718())]);

        // Nothing new: the request waits (here up to a minute) and answers with the next one.
        let waiting = tokio::spawn({
            let server = server.clone();
            async move {
                server
                    .pending_transactions(batch.next, U64::from(10), Some(U64::from(60_000)))
                    .await
            }
        });
        tokio::task::yield_now().await;
        let second = TxBuilder::eip1559().nonce(1).sign(&test_signer(0));
        pool.add_transaction(second.clone(), &state, 7).unwrap();
        changed.send_modify(|n| *n += 1);
        let batch = waiting.await.unwrap().unwrap();
        assert_eq!(batch.transactions, vec![Bytes::from(second.encoded_2718())]);

        // Without `wait` an empty answer comes at once.
        let empty = server
            .pending_transactions(batch.next, U64::from(10), None)
            .await
            .unwrap();
        assert!(empty.transactions.is_empty());
    }

    #[tokio::test]
    async fn prefetched_transactions_get_their_senders_recovered() {
        let pool = Arc::new(TxPool::new(PoolConfig::default(), TEST_CHAIN_ID));
        let senders = fastevm_executor::SenderCache::new(100);
        let server = PoolFeedServer::new(pool.clone()).with_prefetcher(senders.spawn_prefetcher());
        let tx = TxBuilder::eip1559().nonce(0).sign(&test_signer(0));
        let raw = Bytes::from(tx.encoded_2718());
        assert!(server.prefetch_senders(vec![raw.clone()]).unwrap());
        let deadline = Instant::now() + Duration::from_secs(30);
        while senders.get(tx.tx_hash()).is_none() {
            assert!(Instant::now() < deadline, "sender never recovered");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(senders.get(tx.tx_hash()), Some(test_signer(0).address()));
        // A node without a prefetcher says so.
        assert!(!PoolFeedServer::new(pool)
            .prefetch_senders(vec![raw])
            .unwrap());
    }

    #[test]
    fn takes_within_count_and_bytes_and_drops_oversized() {
        let mut queue: VecDeque<Bytes> = [vec![1u8; 10], vec![2; 10], vec![3; 100], vec![4; 5]]
            .into_iter()
            .map(Bytes::from)
            .collect();
        let first = take_within_limits(&mut queue, 1, 50);
        assert_eq!(first, vec![Transaction(vec![1; 10])]);
        // The 100-byte transaction can never fit a 50-byte block: dropped, the next one taken.
        let second = take_within_limits(&mut queue, 10, 50);
        assert_eq!(
            second,
            vec![Transaction(vec![2; 10]), Transaction(vec![4; 5])]
        );
        assert!(queue.is_empty());
        let mut queue: VecDeque<Bytes> = [vec![1u8; 30], vec![2; 30]]
            .into_iter()
            .map(Bytes::from)
            .collect();
        // Fits one at a time: the second waits for the next block.
        assert_eq!(take_within_limits(&mut queue, 10, 50).len(), 1);
        assert_eq!(take_within_limits(&mut queue, 10, 50).len(), 1);
    }
}
