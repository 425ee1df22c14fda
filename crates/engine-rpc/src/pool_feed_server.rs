//! The server of FastEVM's pool feed (`fastevm_engine_api::PoolFeedApi`) over the node's pool,
//! on the authenticated port: newly pending transactions by sequence number (offered again while
//! still pending, see `fastevm_txpool::Reoffer`), as a long poll on the pool's change signal;
//! and senders recovered ahead of the block for transactions of accepted DAG blocks.

use alloy_primitives::{Bytes, B256, U64};
use fastevm_engine_api::{PendingBatch, PoolFeedApiServer, MAX_FEED_BATCH, MAX_FEED_WAIT};
use fastevm_executor::SenderPrefetcher;
use fastevm_metrics::NodeMetrics;
use fastevm_txpool::{Reoffer, TxPool, REOFFER_AFTER};
use jsonrpsee::core::{async_trait, RpcResult};
use parking_lot::Mutex;
use std::{
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::watch;

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
        if let Some(metrics) = &self.metrics {
            let hashes: Vec<B256> = transactions.iter().map(|(hash, _)| *hash).collect();
            metrics.observe_admission_to_proposal(self.pool.admission_times(&hashes));
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_eips::eip2718::Encodable2718;
    use alloy_primitives::U256;
    use fastevm_txpool::{
        test_utils::{test_signer, MemoryState, TxBuilder, TEST_CHAIN_ID},
        PoolConfig,
    };

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
}
