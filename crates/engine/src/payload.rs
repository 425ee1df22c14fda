//! Payloads under construction: attributes in, deterministic id, built block out.

use alloy_consensus::{Transaction, TxEnvelope};
use alloy_eips::eip7685::Requests;
use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_rpc_types_engine::{PayloadAttributes, PayloadId};
use fastevm_blobs::{BlobSidecar, NetworkTransaction};
use fastevm_executor::SenderCache;
use fastevm_storage::ExecutedBlock;
use std::{collections::BTreeMap, sync::Arc};

/// What a `forkchoiceUpdated` with attributes asks for: the standard attributes plus FastEVM's
/// extension (Optimism op-node's field names): an ordered transaction list, and whether the pool
/// may add transactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadRequest {
    /// Standard Engine API attributes.
    pub attributes: PayloadAttributes,
    /// Raw EIP-2718 transactions the block must contain in this order (invalid ones are skipped).
    /// A blob transaction comes in network form, with the sidecar its blobs bundle needs.
    pub transactions: Option<Vec<Bytes>>,
    /// When true, nothing is taken from the transaction pool.
    pub no_tx_pool: bool,
    /// Gas limit of the block; the parent's when `None`.
    pub gas_limit: Option<u64>,
    /// Extra data of the block (at most 32 bytes); empty when `None`. FastEVM's consensus bridge
    /// records the commit index here.
    pub extra_data: Option<Bytes>,
}

impl PayloadRequest {
    /// The payload id: a hash of the parent and every attribute, so the same request on any node
    /// gives the same id (and, building deterministically, the same block).
    pub fn payload_id(&self, parent: &B256) -> PayloadId {
        let a = &self.attributes;
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(parent.as_slice());
        buf.extend_from_slice(&a.timestamp.to_be_bytes());
        buf.extend_from_slice(a.prev_randao.as_slice());
        buf.extend_from_slice(a.suggested_fee_recipient.as_slice());
        match &a.withdrawals {
            Some(ws) => {
                buf.push(1);
                for w in ws {
                    buf.extend_from_slice(&w.index.to_be_bytes());
                    buf.extend_from_slice(&w.validator_index.to_be_bytes());
                    buf.extend_from_slice(w.address.as_slice());
                    buf.extend_from_slice(&w.amount.to_be_bytes());
                }
            }
            None => buf.push(0),
        }
        match a.parent_beacon_block_root {
            Some(root) => {
                buf.push(1);
                buf.extend_from_slice(root.as_slice());
            }
            None => buf.push(0),
        }
        match &self.transactions {
            Some(txs) => {
                buf.push(1);
                for tx in txs {
                    buf.extend_from_slice(keccak256(tx).as_slice());
                }
            }
            None => buf.push(0),
        }
        buf.push(self.no_tx_pool as u8);
        buf.extend_from_slice(&self.gas_limit.unwrap_or_default().to_be_bytes());
        if let Some(extra) = &self.extra_data {
            buf.extend_from_slice(extra);
        }
        let hash = keccak256(&buf);
        PayloadId::new(hash[..8].try_into().expect("8 bytes"))
    }
}

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
