//! Pool limits and admission parameters.

/// Limits and admission rules of a [`crate::TxPool`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// Most transactions one sender may have pooled; also the widest nonce gap accepted
    /// (a nonce `>= account nonce + max_account_slots` is "nonce too high").
    pub max_account_slots: usize,
    /// Most executable ("pending") transactions across all senders.
    pub max_pending: usize,
    /// Most non-executable ("queued") transactions across all senders.
    pub max_queued: usize,
    /// Largest accepted encoded (EIP-2718) transaction, in bytes.
    pub max_tx_bytes: usize,
    /// A replacement (same sender and nonce) must raise both fee caps by at least this percent.
    pub price_bump_percent: u64,
    /// No transaction may use more gas than a block holds.
    pub block_gas_limit: u64,
    /// Per-transaction gas cap (EIP-7825, Osaka) when the chain enforces one.
    pub tx_gas_limit_cap: Option<u64>,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_account_slots: 64,
            max_pending: 5_000,
            max_queued: 1_024,
            max_tx_bytes: 128 * 1024,
            price_bump_percent: 10,
            block_gas_limit: 60_000_000,
            tx_gas_limit_cap: None,
        }
    }
}
