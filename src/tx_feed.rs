//! How pooled transactions reach consensus blocks, wired for the two ways FastEVM runs.
//!
//! A consensus node proposes the pending transactions of its own execution node's pool, each
//! once, again at once when a block built from their commit left them out, and again while
//! still pending [`REOFFER_AFTER`] later (a proposal can be lost with its proposer; see
//! `fastevm_txpool::Reoffer`). [`PoolFeed`] reads the pool in process (`fastevm dev`); under
//! `fastevm consensus` the validator's `fastevm_consensus_bridge::RemotePoolFeed` long-polls the
//! node's `fastevm_pendingTransactions`, served by `fastevm_engine_rpc::PoolFeedServer` (the
//! protocol is `fastevm_engine_api::PoolFeedApi`). The same port takes the other direction too:
//! [`remote_sender_prefetch`] hands the node the transactions of every peer DAG block the
//! validator accepts (`fastevm_prefetchSenders`), rounds before the commit that builds them into
//! an EVM block, so the node recovers their senders off the block's critical path (in
//! `fastevm dev` the validators do this in process).

use alloy_primitives::{keccak256, Bytes, B256};
use fastevm_consensus::{Transaction, TransactionSource};
use fastevm_consensus_bridge::take_within_limits;
use fastevm_consensus_node::AcceptedTransactionsHook;
use fastevm_engine_api::PoolFeedApiClient;
use fastevm_metrics::NodeMetrics;
use fastevm_txpool::{Reoffer, TxPool, REOFFER_AFTER};
use std::{
    collections::VecDeque,
    sync::Arc,
    time::{Duration, Instant},
};

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

impl TransactionSource for PoolFeed {
    fn next_transactions(&mut self, max_count: usize, max_bytes: usize) -> Vec<Transaction> {
        let now = Instant::now();
        let again = self.reoffer.due(&self.pool, now);
        self.queue.extend(again);
        if self.queue.len() < max_count {
            let (transactions, next) = self.pool.pending_since(self.cursor, max_count);
            if let Some(metrics) = &self.metrics {
                let hashes: Vec<B256> = transactions.iter().map(|(hash, _)| *hash).collect();
                metrics.observe_admission_to_proposal(self.pool.admission_times(&hashes));
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_eips::eip2718::Encodable2718;
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
}
