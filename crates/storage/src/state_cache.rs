//! Caches in front of hot state reads.
//!
//! Content-addressed entries (bytecode, trie nodes, headers by hash) never go stale; they live in
//! moka caches. Account and storage entries are read by every transaction and rewritten by every
//! block, so they live in `quick_cache` caches, which allocate nothing per entry (moka's per-entry
//! bookkeeping was a quarter of block execution and half of a block's commit in profiles). They
//! describe the canonical head; the block writer updates them in place from each
//! block's state diff (forward over added blocks, backward over reorganised-out ones) under the
//! store's state lock, in the same critical section as staging the block's writes (see
//! [`crate::ChainStore`]), so they stay warm across blocks.

use crate::StoreOptions;
use alloy_consensus::Header;
use alloy_primitives::{
    map::{DefaultHashBuilder, FbBuildHasher},
    Address, Bytes, B256, U256,
};
use alloy_trie::TrieAccount;
use moka::{policy::EvictionPolicy, sync::Cache};
use quick_cache::{sync::Cache as StateEntries, UnitWeighter};
use std::hash::BuildHasher;

/// A cache keyed by 32-byte hashes (trie nodes, bytecode, headers). The keys are already
/// uniformly distributed, so they are hashed with alloy's fixed-bytes hasher rather than moka's
/// default SipHash, which the profile showed among the hottest functions of block import.
pub(crate) type HashKeyed<V> = Cache<B256, V, FbBuildHasher<32>>;

/// The trie-node cache: node RLP by node hash.
pub(crate) type NodeCache = HashKeyed<Bytes>;

fn lru<K, V, S>(entries: u64, hasher: S) -> Cache<K, V, S>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: BuildHasher + Clone + Send + Sync + 'static,
{
    Cache::builder()
        .max_capacity(entries)
        .eviction_policy(EvictionPolicy::lru())
        .build_with_hasher(hasher)
}

/// A cache of canonical state entries holding at most `entries` of them. Room for a few
/// thousand is reserved up front; the rest grows with use.
fn state_entries<K, V, S>(entries: u64, hasher: S) -> StateEntries<K, V, UnitWeighter, S>
where
    K: std::hash::Hash + Eq,
    V: Clone,
    S: BuildHasher + Clone,
{
    let entries = entries.max(1);
    StateEntries::with(
        entries.min(4_096) as usize,
        entries,
        UnitWeighter,
        hasher,
        Default::default(),
    )
}

pub(crate) struct StateCache {
    pub(crate) accounts:
        StateEntries<Address, Option<TrieAccount>, UnitWeighter, FbBuildHasher<20>>,
    pub(crate) storage: StateEntries<(Address, B256), U256, UnitWeighter, DefaultHashBuilder>,
    pub(crate) code: HashKeyed<Bytes>,
    pub(crate) trie_nodes: NodeCache,
    pub(crate) headers: HashKeyed<Header>,
}

/// Headers kept in memory: a few hours of sub-second blocks.
const HEADER_CACHE_ENTRIES: u64 = 16_384;

impl StateCache {
    pub(crate) fn new(options: &StoreOptions) -> Self {
        // moka caches are LRU: blocks write what the next blocks read (new trie nodes), and
        // moka's default admission policy would turn those fresh entries away in favour of
        // older, more often read ones once a cache is full. (quick_cache admits every insert.)
        let blob_cache = || {
            Cache::builder()
                .max_capacity(options.blob_cache_bytes)
                .weigher(|_k: &B256, v: &Bytes| v.len().clamp(1, u32::MAX as usize) as u32)
                .eviction_policy(EvictionPolicy::lru())
                .build_with_hasher(FbBuildHasher::default())
        };
        Self {
            accounts: state_entries(options.account_cache_entries, FbBuildHasher::default()),
            storage: state_entries(options.storage_cache_entries, DefaultHashBuilder::default()),
            code: blob_cache(),
            trie_nodes: blob_cache(),
            headers: lru(HEADER_CACHE_ENTRIES, FbBuildHasher::default()),
        }
    }

    /// Drops every entry describing the canonical state (after a reorganisation).
    pub(crate) fn invalidate_state(&self) {
        self.accounts.clear();
        self.storage.clear();
    }
}
