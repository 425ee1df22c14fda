//! Proposals from the execution node's pool: [`RemotePoolFeed`] is the consensus
//! `TransactionSource` of a validator whose execution node runs in another process. A background
//! task long-polls the node's `fastevm_pendingTransactions` (`fastevm_engine_api::PoolFeedApi`)
//! into a queue that blocks drain within their limits ([`take_within_limits`], shared with the
//! in-process feed).

use alloy_primitives::{Bytes, U64};
use fastevm_consensus::{Transaction, TransactionSource};
use fastevm_engine_api::{PoolFeedApiClient, MAX_FEED_BATCH};
use parking_lot::Mutex;
use std::{collections::VecDeque, sync::Arc, time::Duration};

/// The shortest wait a [`RemotePoolFeed`] asks for.
pub const MIN_FEED_WAIT: Duration = Duration::from_millis(10);

/// Takes transactions from a queue within a block's limits. A transaction larger than a whole
/// block is dropped (no block could carry it; the pool's size limit normally prevents this).
pub fn take_within_limits(
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

impl TransactionSource for RemotePoolFeed {
    fn next_transactions(&mut self, max_count: usize, max_bytes: usize) -> Vec<Transaction> {
        take_within_limits(&mut self.queue.lock(), max_count, max_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
