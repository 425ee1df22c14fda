//! Builders of synthetic blocks for storage tests (no execution: roots are placeholders, the
//! store does not validate them).

use crate::{AccountDiff, ExecutedBlock, SlotDiff, StateDiff};
use alloy_consensus::{BlockBody, Header, TxEnvelope};
use alloy_primitives::{Address, B256, U256};
use alloy_trie::{TrieAccount, EMPTY_ROOT_HASH, KECCAK_EMPTY};

/// Address of synthetic account `i`.
pub fn account_address(i: u64) -> Address {
    let mut bytes = [0u8; 20];
    bytes[12..].copy_from_slice(&(i + 1).to_be_bytes());
    Address::from(bytes)
}

/// A synthetic account with `balance`.
pub fn account(balance: u64) -> TrieAccount {
    TrieAccount {
        nonce: 0,
        balance: U256::from(balance),
        storage_root: EMPTY_ROOT_HASH,
        code_hash: KECCAK_EMPTY,
    }
}

/// A block on `parent` whose state change sets the balance of accounts `0..accounts` to `value`
/// and slot 0 of each to `value` (the previous values are `previous`, `None` for "absent").
pub fn block_setting_balances(
    parent: &Header,
    parent_hash: B256,
    accounts: u64,
    previous: Option<u64>,
    value: u64,
    salt: u8,
) -> ExecutedBlock {
    let header = Header {
        parent_hash,
        number: parent.number + 1,
        timestamp: parent.timestamp + 1,
        gas_limit: parent.gas_limit,
        extra_data: vec![salt].into(),
        ..Default::default()
    };
    let diff = StateDiff {
        accounts: (0..accounts)
            .map(|i| AccountDiff {
                address: account_address(i),
                before: previous.map(account),
                after: Some(account(value)),
                storage_wiped: false,
                storage: vec![SlotDiff {
                    slot: B256::ZERO,
                    before: U256::from(previous.unwrap_or(0)),
                    after: U256::from(value),
                }],
            })
            .collect(),
        new_code: vec![],
    };
    ExecutedBlock {
        hash: header.hash_slow(),
        header,
        body: BlockBody::<TxEnvelope> {
            transactions: vec![],
            ommers: vec![],
            withdrawals: None,
        },
        senders: vec![],
        receipts: vec![],
        diff,
        trie_nodes: vec![(B256::from(U256::from(value)), vec![0xc0].into())],
    }
}

/// A synthetic genesis block with no state.
pub fn genesis() -> ExecutedBlock {
    let header = Header {
        gas_limit: 30_000_000,
        ..Default::default()
    };
    ExecutedBlock {
        hash: header.hash_slow(),
        header,
        body: BlockBody {
            transactions: vec![],
            ommers: vec![],
            withdrawals: None,
        },
        senders: vec![],
        receipts: vec![],
        diff: StateDiff::default(),
        trie_nodes: vec![],
    }
}
