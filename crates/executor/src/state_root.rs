//! From revm's per-block `BundleState` to a deterministic [`StateDiff`] and the new state root.
//!
//! The root is computed incrementally: only the storage tries of accounts whose storage changed
//! and the account-trie paths of changed accounts are rewritten (`fastevm_trie::SparseTrie::update`),
//! so the work is proportional to the keys the block touched, never to the size of the state.
//! Large updates of one trie run on two threads. The tries are `fastevm_trie::SparseTrie`s kept
//! from block to block by [`ResidentTries`], so the nodes the previous block loaded or wrote are
//! not read and decoded again.

use crate::{state_db::StateAtBlock, ExecutorError, ResidentTries};
use alloy_primitives::{keccak256, Bytes, B256, U256};
use alloy_trie::{TrieAccount, EMPTY_ROOT_HASH, KECCAK_EMPTY};
use fastevm_storage::{AccountDiff, SlotDiff, StateDiff};
use fastevm_trie::NodeStore;
use revm::database::BundleState;
use std::collections::BTreeMap;

/// The new state root and the trie nodes created to reach it.
#[derive(Debug)]
pub struct StateRootUpdate {
    /// Root of the account trie after the block.
    pub state_root: B256,
    /// New trie nodes to persist with the block.
    pub nodes: Vec<(B256, Bytes)>,
}

/// Turns a block's bundle into a [`StateDiff`] whose `before` values come from `parent` (the state
/// the block executed on). Storage roots of `after` accounts are filled in by [`apply_diff`].
pub fn bundle_to_diff(
    bundle: &BundleState,
    parent: &StateAtBlock<'_>,
) -> Result<StateDiff, ExecutorError> {
    let mut sorted: Vec<_> = bundle.state.iter().collect();
    sorted.sort_unstable_by_key(|(address, _)| **address);
    let mut accounts = Vec::with_capacity(sorted.len());
    for (address, account) in sorted {
        let before = parent.trie_account(address)?;
        let wiped = account.was_destroyed();
        let mut slots: BTreeMap<B256, SlotDiff> = BTreeMap::new();
        if wiped {
            for (slot, value) in parent.storage_slots(address)? {
                slots.insert(
                    slot,
                    SlotDiff {
                        slot,
                        before: value,
                        after: U256::ZERO,
                    },
                );
            }
        }
        for (key, slot) in &account.storage {
            let key = B256::from(*key);
            if wiped {
                let entry = slots.entry(key).or_insert(SlotDiff {
                    slot: key,
                    before: U256::ZERO,
                    after: U256::ZERO,
                });
                entry.after = slot.present_value;
            } else if slot.is_changed() {
                slots.insert(
                    key,
                    SlotDiff {
                        slot: key,
                        before: slot.previous_or_original_value,
                        after: slot.present_value,
                    },
                );
            }
        }
        let after = account.info.as_ref().map(|info| TrieAccount {
            nonce: info.nonce,
            balance: info.balance,
            // Placeholder until apply_diff computes the storage trie.
            storage_root: before.map(|b| b.storage_root).unwrap_or(EMPTY_ROOT_HASH),
            code_hash: info.code_hash,
        });
        let storage: Vec<SlotDiff> = slots
            .into_values()
            .filter(|s| s.before != s.after)
            .collect();
        if before == after && storage.is_empty() && !wiped {
            continue;
        }
        accounts.push(AccountDiff {
            address: *address,
            before,
            after,
            storage_wiped: wiped,
            storage,
        });
    }
    let mut new_code: Vec<(B256, Bytes)> = bundle
        .contracts
        .iter()
        .filter(|(hash, _)| **hash != KECCAK_EMPTY)
        .map(|(hash, code)| (*hash, code.original_bytes()))
        .collect();
    new_code.sort_unstable_by_key(|(hash, _)| *hash);
    Ok(StateDiff { accounts, new_code })
}

/// Applies `diff` to the state trie rooted at `parent_root`: rewrites the storage tries of the
/// changed accounts (setting their `after.storage_root`), then the account trie. The tries are
/// taken from `tries` when it keeps them at the right roots and handed back to it updated.
pub fn apply_diff(
    store: &(impl NodeStore + Sync),
    tries: &ResidentTries,
    parent_root: B256,
    diff: &mut StateDiff,
) -> Result<StateRootUpdate, ExecutorError> {
    let mut nodes = Vec::new();
    let mut account_changes = Vec::with_capacity(diff.accounts.len());
    let mut storage_tries = Vec::new();
    for account in &mut diff.accounts {
        if let Some(after) = account.after.as_mut() {
            let base = if account.storage_wiped {
                EMPTY_ROOT_HASH
            } else {
                account
                    .before
                    .map(|b| b.storage_root)
                    .unwrap_or(EMPTY_ROOT_HASH)
            };
            let changes: Vec<(B256, Option<Bytes>)> = account
                .storage
                .iter()
                .filter(|s| !(account.storage_wiped && s.after.is_zero()))
                .map(|s| {
                    let value =
                        (!s.after.is_zero()).then(|| Bytes::from(alloy_rlp::encode(s.after)));
                    (keccak256(s.slot), value)
                })
                .collect();
            after.storage_root = if changes.is_empty() {
                base
            } else {
                let trie = tries.take_storage(account.address, base);
                let (trie, update) = trie.update(store, changes)?;
                storage_tries.push((account.address, trie));
                nodes.extend(update.new_nodes);
                update.root
            };
        }
        if account.before != account.after {
            let value = account
                .after
                .as_ref()
                .map(|a| Bytes::from(alloy_rlp::encode(a)));
            account_changes.push((keccak256(account.address), value));
        }
    }
    let accounts = tries.take_accounts(parent_root);
    let (accounts, update) = accounts.update(store, account_changes)?;
    nodes.extend(update.new_nodes);
    tries.keep(accounts, storage_tries);
    Ok(StateRootUpdate {
        state_root: update.root,
        nodes,
    })
}

#[cfg(test)]
#[path = "state_root_tests.rs"]
mod tests;
