//! FastEVM's pool feed on the authenticated port: a consensus client reads its execution node's
//! newly pending transactions (`fastevm_pendingTransactions`, a long poll: with nothing new the
//! answer waits until the pool admits a transaction) and hands it the transactions of accepted
//! DAG blocks so it recovers their senders early (`fastevm_prefetchSenders`).

use alloy_primitives::{Bytes, U64};
use jsonrpsee::{core::RpcResult, proc_macros::rpc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Most transactions one `fastevm_pendingTransactions` call returns.
pub const MAX_FEED_BATCH: u64 = 4096;

/// The longest one `fastevm_pendingTransactions` call waits for new transactions.
pub const MAX_FEED_WAIT: Duration = Duration::from_secs(10);

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
