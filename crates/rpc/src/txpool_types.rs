//! Response objects of geth's `txpool_*` namespace (keys as geth writes them: checksummed
//! addresses, decimal nonces).

use alloy_primitives::U64;
use alloy_rpc_types_eth::Transaction;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `txpool_status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxpoolStatus {
    /// Executable transactions.
    pub pending: U64,
    /// Transactions waiting for a nonce gap or funds.
    pub queued: U64,
}

/// Transactions by nonce (decimal string).
pub type TransactionsByNonce<T> = BTreeMap<String, T>;

/// `txpool_content`: transactions by sender (checksummed) and nonce.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxpoolContent {
    /// Executable transactions.
    pub pending: BTreeMap<String, TransactionsByNonce<Transaction>>,
    /// Non-executable transactions.
    pub queued: BTreeMap<String, TransactionsByNonce<Transaction>>,
}

/// `txpool_contentFrom`: one sender's transactions by nonce.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxpoolContentFrom {
    /// Executable transactions.
    pub pending: TransactionsByNonce<Transaction>,
    /// Non-executable transactions.
    pub queued: TransactionsByNonce<Transaction>,
}

/// `txpool_inspect`: one-line summaries by sender and nonce
/// (`0xTo: 1 wei + 21000 gas × 2 wei`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxpoolInspect {
    /// Executable transactions.
    pub pending: BTreeMap<String, TransactionsByNonce<String>>,
    /// Non-executable transactions.
    pub queued: BTreeMap<String, TransactionsByNonce<String>>,
}
