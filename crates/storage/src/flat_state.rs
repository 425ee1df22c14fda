//! Reads of the canonical head's state from the flat tables (through the cache).

use crate::{
    codec::{decode_account, decode_u256, storage_key},
    ChainStore, StorageError, Table,
};
use alloy_primitives::{Address, B256, U256};
use alloy_trie::TrieAccount;
use rocksdb::{Direction, IteratorMode};
use std::collections::BTreeMap;

impl ChainStore {
    /// Account at the canonical head (`None` if it does not exist).
    pub fn account(&self, address: &Address) -> Result<Option<TrieAccount>, StorageError> {
        let _guard = self.state_lock.read();
        if let Some(account) = self.cache.accounts.get(address) {
            return Ok(account);
        }
        let account = self
            .get(Table::Accounts, address.as_slice())?
            .map(|v| decode_account(&v))
            .transpose()?;
        self.cache.accounts.insert(*address, account);
        Ok(account)
    }

    /// Storage slot at the canonical head (zero if unset).
    pub fn storage(&self, address: &Address, slot: &B256) -> Result<U256, StorageError> {
        let _guard = self.state_lock.read();
        if let Some(value) = self.cache.storage.get(&(*address, *slot)) {
            return Ok(value);
        }
        let value = self
            .get(Table::Storage, &storage_key(address, slot))?
            .map(|v| decode_u256(&v))
            .transpose()?
            .unwrap_or_default();
        self.cache.storage.insert((*address, *slot), value);
        Ok(value)
    }

    /// Every non-zero slot of an account at the canonical head, sorted by slot. Used when a
    /// block wipes an account's storage, to record what the wipe removed.
    pub fn storage_slots(&self, address: &Address) -> Result<Vec<(B256, U256)>, StorageError> {
        let _guard = self.state_lock.read();
        let prefix = address.as_slice();
        let read_disk = || -> Result<BTreeMap<B256, U256>, StorageError> {
            let iter = self.db.iterator_cf(
                self.cf(Table::Storage),
                IteratorMode::From(prefix, Direction::Forward),
            );
            let mut slots = BTreeMap::new();
            for item in iter {
                let (key, value) = item?;
                if !key.starts_with(prefix) {
                    break;
                }
                slots.insert(slot_of(&key)?, decode_u256(&value)?);
            }
            Ok(slots)
        };
        let slots = match &self.write_behind {
            None => read_disk()?,
            Some(write_behind) => {
                // Staged writes not yet on disk override what the disk holds.
                let (mut slots, staged) =
                    write_behind.read_prefix(Table::Storage, prefix, read_disk)?;
                for (key, value) in staged {
                    let slot = slot_of(&key)?;
                    match value {
                        Some(value) => slots.insert(slot, decode_u256(&value)?),
                        None => slots.remove(&slot),
                    };
                }
                slots
            }
        };
        Ok(slots.into_iter().collect())
    }
}

/// The slot of a [`Table::Storage`] key (address ‖ slot).
fn slot_of(key: &[u8]) -> Result<B256, StorageError> {
    if key.len() != 52 {
        return Err(StorageError::decode("storage", "key is not address ‖ slot"));
    }
    Ok(B256::from_slice(&key[20..]))
}
