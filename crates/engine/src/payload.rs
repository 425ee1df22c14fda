//! Payloads under construction: the built block, its value, and the decoding of the ordered
//! transactions a request carries. The request itself is `fastevm_engine_api::PayloadRequest`.

use alloy_consensus::{Transaction, TxEnvelope};
use alloy_eips::eip7685::Requests;
use alloy_primitives::{Address, Bytes, B256, U256};
use fastevm_blobs::{BlobSidecar, NetworkTransaction};
use fastevm_executor::SenderCache;
use fastevm_storage::ExecutedBlock;
use std::{collections::BTreeMap, sync::Arc};

/// A block built for `engine_getPayload`.
#[derive(Debug, Clone)]
pub struct BuiltPayload {
    /// The executed block (shared with the engine's executed-block cache, not copied).
    pub block: Arc<ExecutedBlock>,
    /// EIP-7685 requests (Prague).
    pub requests: Requests,
    /// Fees the fee recipient earns (priority fees), the payload's `blockValue`.
    pub block_value: U256,
    /// The sidecars of the block's blob transactions, in block order: the blobs bundle.
    pub sidecars: Vec<Arc<BlobSidecar>>,
}

/// Priority fees earned by the fee recipient.
pub fn block_value(block: &ExecutedBlock) -> U256 {
    let base_fee = block.header.base_fee_per_gas.unwrap_or_default();
    let mut previous_cumulative = 0;
    let mut value = U256::ZERO;
    for (tx, receipt) in block.body.transactions.iter().zip(&block.receipts) {
        let cumulative = alloy_consensus::TxReceipt::cumulative_gas_used(receipt);
        let gas = cumulative - previous_cumulative;
        previous_cumulative = cumulative;
        let tip = tx.effective_tip_per_gas(base_fee).unwrap_or_default();
        value += U256::from(tip) * U256::from(gas);
    }
    value
}

/// Transactions ready for execution, with their senders.
pub type RecoveredTransactions = Vec<(TxEnvelope, Address)>;
/// Positions of dropped entries, with the reason.
pub type DroppedEntries = Vec<(usize, String)>;
/// Sidecars that came with blob transactions in network form, by transaction hash.
pub type ForcedSidecars = BTreeMap<B256, BlobSidecar>;

/// Decodes (network form accepted: a blob transaction's sidecar is split off) and recovers an
/// ordered list of raw transactions (senders this node already knows come from `senders`).
/// Undecodable or unsignable entries are dropped (deterministically, every node drops the same),
/// with their position.
pub fn decode_ordered_transactions(
    raw: &[Bytes],
    senders: &SenderCache,
) -> (RecoveredTransactions, DroppedEntries, ForcedSidecars) {
    let mut decoded = Vec::with_capacity(raw.len());
    let mut positions = Vec::with_capacity(raw.len());
    let mut dropped = Vec::new();
    let mut sidecars = ForcedSidecars::new();
    for (i, bytes) in raw.iter().enumerate() {
        match NetworkTransaction::decode(bytes) {
            Ok(NetworkTransaction { tx, sidecar }) => {
                if let Some(sidecar) = sidecar {
                    sidecars.insert(*tx.tx_hash(), sidecar);
                }
                decoded.push(tx);
                positions.push(i);
            }
            Err(e) => dropped.push((i, format!("undecodable transaction: {e}"))),
        }
    }
    let senders = senders.recover(&decoded);
    let mut ok = Vec::with_capacity(decoded.len());
    for ((tx, sender), i) in decoded.into_iter().zip(senders).zip(positions) {
        match sender {
            Ok(sender) => ok.push((tx, sender)),
            Err(e) => dropped.push((i, format!("invalid signature: {e}"))),
        }
    }
    dropped.sort_by_key(|(i, _)| *i);
    (ok, dropped, sidecars)
}
