//! moka caches in front of hot state reads.
//!
//! Content-addressed entries (bytecode, trie nodes, headers by hash) never go stale. Account and
//! storage entries describe the canonical head; the block writer updates them in place from each
//! block's state diff (forward over added blocks, backward over reorganised-out ones) under the
//! store's state lock, in the same critical section as staging the block's writes (see
//! [`crate::ChainStore`]), so they stay warm across blocks.

use crate::StoreOptions;
use alloy_consensus::Header;
use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_trie::TrieAccount;
use moka::{policy::EvictionPolicy, sync::Cache};

fn lru<K, V>(entries: u64) -> Cache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    Cache::builder()
        .max_capacity(entries)
        .eviction_policy(EvictionPolicy::lru())
        .build()
}

pub(crate) struct StateCache {
    pub(crate) accounts: Cache<Address, Option<TrieAccount>>,
    pub(crate) storage: Cache<(Address, B256), U256>,
    pub(crate) code: Cache<B256, Bytes>,
    pub(crate) trie_nodes: Cache<B256, Bytes>,
    pub(crate) headers: Cache<B256, Header>,
}

/// Headers kept in memory: a few hours of sub-second blocks.
const HEADER_CACHE_ENTRIES: u64 = 16_384;

impl StateCache {
    pub(crate) fn new(options: &StoreOptions) -> Self {
        // LRU everywhere: blocks write what the next blocks read (new trie nodes, changed
        // accounts), and moka's default admission policy would turn those fresh entries away
        // in favour of older, more often read ones once a cache is full.
        let blob_cache = || {
            Cache::builder()
                .max_capacity(options.blob_cache_bytes)
                .weigher(|_k: &B256, v: &Bytes| v.len().clamp(1, u32::MAX as usize) as u32)
                .eviction_policy(EvictionPolicy::lru())
                .build()
        };
        Self {
            accounts: lru(options.account_cache_entries),
            storage: lru(options.storage_cache_entries),
            code: blob_cache(),
            trie_nodes: blob_cache(),
            headers: lru(HEADER_CACHE_ENTRIES),
        }
    }

    /// Drops every entry describing the canonical state (after a reorganisation).
    pub(crate) fn invalidate_state(&self) {
        self.accounts.invalidate_all();
        self.storage.invalidate_all();
    }
}
