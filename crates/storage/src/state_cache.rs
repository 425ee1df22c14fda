//! moka caches in front of hot state reads.
//!
//! Content-addressed entries (bytecode, trie nodes) never go stale. Account and storage entries
//! describe the canonical head; the block writer updates them under the store's state lock in
//! the same critical section as the RocksDB write (see [`crate::ChainStore`]).

use crate::StoreOptions;
use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_trie::TrieAccount;
use moka::sync::Cache;

pub(crate) struct StateCache {
    pub(crate) accounts: Cache<Address, Option<TrieAccount>>,
    pub(crate) storage: Cache<(Address, B256), U256>,
    pub(crate) code: Cache<B256, Bytes>,
    pub(crate) trie_nodes: Cache<B256, Bytes>,
}

impl StateCache {
    pub(crate) fn new(options: &StoreOptions) -> Self {
        let blob_cache = || {
            Cache::builder()
                .max_capacity(options.blob_cache_bytes)
                .weigher(|_k: &B256, v: &Bytes| v.len().clamp(1, u32::MAX as usize) as u32)
                .build()
        };
        Self {
            accounts: Cache::new(options.account_cache_entries),
            storage: Cache::new(options.storage_cache_entries),
            code: blob_cache(),
            trie_nodes: blob_cache(),
        }
    }

    /// Drops every entry describing the canonical state (after a reorganisation).
    pub(crate) fn invalidate_state(&self) {
        self.accounts.invalidate_all();
        self.storage.invalidate_all();
    }
}
