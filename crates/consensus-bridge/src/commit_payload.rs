//! The deterministic mapping from a committed sub-DAG to the payload attributes of its block.

use crate::progress::encode_commit_marker;
use alloy_primitives::{keccak256, Address, Bytes, B256};
use alloy_rpc_types_engine::PayloadAttributes;
use fastevm_consensus::{commit::CommittedSubDag, Committee, PublicKey};
use fastevm_engine_api::PayloadRequest;
use std::collections::HashSet;

/// What the bridge knows of the block a commit builds on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParentBlock {
    /// Block hash.
    pub hash: B256,
    /// Block timestamp (seconds).
    pub timestamp: u64,
}

/// Chain parameters the mapping needs.
#[derive(Debug, Clone, Default)]
pub struct PayloadRules {
    /// Fee recipient of each authority (by authority index); authorities without one pay to the
    /// zero address.
    pub fee_recipients: Vec<Address>,
    /// Whether the chain accepts a block with its parent's timestamp (`allowEqualTimestamps`).
    pub allow_equal_timestamps: bool,
    /// `None`: every commit becomes a block. `Some(ms)`: a commit without transactions becomes a
    /// block only when its consensus time is at least `ms` after the parent block's timestamp (a
    /// heartbeat); otherwise it is passed over. The rule reads only committed data, so every node
    /// passes over the same commits.
    pub empty_block_interval_ms: Option<u64>,
}

impl PayloadRules {
    /// The rules every validator of `committee` must share (all must build the same blocks):
    /// each leader's fee recipient is the address of its consensus key, a block may have its
    /// parent's timestamp (FastEVM chains), and a commit without transactions makes a block
    /// only `heartbeat_ms` after the parent (0: never).
    pub fn for_committee(committee: &Committee, heartbeat_ms: u64) -> Self {
        Self {
            fee_recipients: committee
                .authorities
                .iter()
                .map(|a| fee_recipient_of(&a.public_key))
                .collect(),
            allow_equal_timestamps: true,
            empty_block_interval_ms: Some(if heartbeat_ms == 0 {
                u64::MAX
            } else {
                heartbeat_ms
            }),
        }
    }
}

/// The fee recipient of a validator: the last 20 bytes of the keccak hash of its ed25519 consensus
/// key (as an Ethereum address is of a public key).
pub fn fee_recipient_of(key: &PublicKey) -> Address {
    Address::from_slice(&keccak256(key.0.to_bytes())[12..])
}

/// Whether `subdag` makes a block on `parent` under `rules` (see
/// [`PayloadRules::empty_block_interval_ms`]).
pub fn makes_block(subdag: &CommittedSubDag, parent: &ParentBlock, rules: &PayloadRules) -> bool {
    let Some(interval) = rules.empty_block_interval_ms else {
        return true;
    };
    let has_transactions = subdag.blocks.iter().any(|b| !b.transactions().is_empty());
    has_transactions
        || subdag.timestamp_ms
            >= parent
                .timestamp
                .saturating_mul(1000)
                .saturating_add(interval)
}

/// The block timestamp of a commit: the commit's consensus time in seconds (a stake-weighted
/// median of validator clocks, monotonic), never before the parent's; when the chain demands
/// strictly increasing timestamps, at least the parent's plus one.
pub fn block_timestamp(commit_timestamp_ms: u64, parent_timestamp: u64, allow_equal: bool) -> u64 {
    let floor = if allow_equal {
        parent_timestamp
    } else {
        parent_timestamp + 1
    };
    (commit_timestamp_ms / 1000).max(floor)
}

/// The transactions of a sub-DAG in linearized order (blocks by round then author, each block's
/// transactions in order), each distinct transaction once (first occurrence wins).
pub fn ordered_transactions(subdag: &CommittedSubDag) -> Vec<Bytes> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for block in &subdag.blocks {
        for tx in block.transactions() {
            if seen.insert(keccak256(&tx.0)) {
                out.push(Bytes::from(tx.0.clone()));
            }
        }
    }
    out
}

/// The payload request for `subdag` on `parent`: exactly the sub-DAG's transactions
/// (`noTxPool`), prevRandao and parent beacon root from the commit digest, the leader's fee
/// recipient, no withdrawals, and the commit index in `extraData`.
pub fn payload_request(
    subdag: &CommittedSubDag,
    parent: &ParentBlock,
    rules: &PayloadRules,
) -> PayloadRequest {
    let digest = B256::from(subdag.commit_digest.0);
    let fee_recipient = rules
        .fee_recipients
        .get(subdag.leader.author as usize)
        .copied()
        .unwrap_or(Address::ZERO);
    PayloadRequest {
        attributes: PayloadAttributes {
            timestamp: block_timestamp(
                subdag.timestamp_ms,
                parent.timestamp,
                rules.allow_equal_timestamps,
            ),
            prev_randao: digest,
            suggested_fee_recipient: fee_recipient,
            withdrawals: Some(vec![]),
            parent_beacon_block_root: Some(digest),
            slot_number: None,
            target_gas_limit: None,
        },
        transactions: Some(ordered_transactions(subdag)),
        no_tx_pool: true,
        gas_limit: None,
        extra_data: Some(encode_commit_marker(subdag.commit_index)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn committee_rules_pay_each_leader_at_its_key_address() {
        let (committee, keys) = fastevm_consensus::Committee::new_for_test(4, 0);
        let rules = PayloadRules::for_committee(&committee, 0);
        for (i, key) in keys.iter().enumerate() {
            let expected = Address::from_slice(&keccak256(key.verifying_key().to_bytes())[12..]);
            assert_eq!(rules.fee_recipients[i], expected);
        }
        assert!(rules.allow_equal_timestamps);
        assert_eq!(
            rules.empty_block_interval_ms,
            Some(u64::MAX),
            "no heartbeat"
        );
        let rules = PayloadRules::for_committee(&committee, 1_000);
        assert_eq!(rules.empty_block_interval_ms, Some(1_000));
    }

    use super::*;

    #[test]
    fn timestamps_follow_commit_time_and_never_go_back() {
        assert_eq!(block_timestamp(12_345, 10, true), 12);
        assert_eq!(block_timestamp(12_999, 12, true), 12);
        assert_eq!(block_timestamp(12_999, 12, false), 13);
        assert_eq!(block_timestamp(5_000, 12, true), 12);
    }
}
