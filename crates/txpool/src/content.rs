//! Read-only views of what the pool holds (for `txpool_*` and `eth_*` RPC methods).

use std::collections::BTreeMap;

use alloy_consensus::TxEnvelope;
use alloy_primitives::{Address, B256};

/// A pooled transaction as seen from outside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PooledTransaction {
    /// The signed transaction.
    pub tx: TxEnvelope,
    /// Its recovered sender.
    pub sender: Address,
    /// Executable at the head (consecutive nonce from the account nonce, affordable); otherwise
    /// queued.
    pub is_pending: bool,
}

impl PooledTransaction {
    /// The transaction hash.
    pub fn hash(&self) -> B256 {
        *self.tx.tx_hash()
    }
}

/// Counts of pending and queued transactions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStatus {
    /// Executable transactions.
    pub pending: usize,
    /// Transactions waiting for a nonce gap to close or for funds.
    pub queued: usize,
}

/// Pooled transactions grouped by sender, then nonce.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolContent {
    /// Executable transactions.
    pub pending: BTreeMap<Address, BTreeMap<u64, PooledTransaction>>,
    /// Non-executable transactions.
    pub queued: BTreeMap<Address, BTreeMap<u64, PooledTransaction>>,
}
