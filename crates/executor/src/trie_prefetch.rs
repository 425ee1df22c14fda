//! Warms the trie-node cache along the paths a block's state root will rewrite, on another
//! thread, while the block executes.
//!
//! Every account and storage slot the EVM reads is a key whose trie path the state-root update
//! walks after execution. Execution reads the flat state (one cached lookup per key), so those
//! trie nodes are still cold when execution ends: at a million accounts most of the state-root
//! time is loading them one by one. The [`TriePrefetcher`] receives each key as execution first
//! reads it and walks its path in the parent's state trie, which puts every node on the way into
//! the store's node cache; the update then finds them there.
//!
//! When the paths turn out to be in the cache already (a small or hot state), walking them again
//! would only compete with execution for the cache, so the prefetcher stops after
//! [`SAMPLE_WALKS`] walks that found fewer than [`MIN_SAMPLE_MISSES`] nodes missing from it.
//!
//! Prefetching only reads: it never changes what a block contains or which root it gets, and a
//! failure (a missing node, say) is left for the update itself to report.

use alloy_primitives::{keccak256, map::HashMap, Address, Bytes, B256};
use alloy_rlp::Decodable;
use alloy_trie::{TrieAccount, EMPTY_ROOT_HASH};
use fastevm_storage::ChainStore;
use fastevm_trie::{NodeStore, TrieError};
use std::cell::Cell;
use std::sync::{
    atomic::{AtomicBool, Ordering},
    mpsc::{channel, Receiver, Sender},
};

/// Walks after which the prefetcher judges whether the state is cold enough to go on.
pub(crate) const SAMPLE_WALKS: u64 = 64;

/// Nodes that the first [`SAMPLE_WALKS`] walks must have read from disk for prefetching to go on.
pub(crate) const MIN_SAMPLE_MISSES: u64 = 4;

/// Blocks with fewer transactions execute too quickly for a helper thread to pay off.
pub(crate) const PREFETCH_MIN_TXS: usize = 32;

/// A key execution read: its trie path is about to be rewritten if the block changes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TouchedKey {
    /// An account (path `keccak(address)` in the account trie).
    Account(Address),
    /// A storage slot (path `keccak(slot)` in the account's storage trie).
    Slot(Address, B256),
    /// Execution is over: stop walking.
    Stop,
}

/// Where execution reports the keys it reads. Sending never blocks; sends after the prefetcher
/// stopped are dropped.
pub(crate) type TouchSink = Sender<TouchedKey>;

/// The prefetcher's end of one block's execution: hands out the sink and stops the thread.
pub(crate) struct Prefetch<'s> {
    sink: Option<TouchSink>,
    done: Option<&'s AtomicBool>,
}

impl Prefetch<'_> {
    /// A prefetch that does nothing (small blocks, or states that are not the head).
    pub(crate) fn disabled() -> Self {
        Self {
            sink: None,
            done: None,
        }
    }

    /// Where execution reports the keys it reads (`None` when disabled).
    pub(crate) fn sink(&self) -> Option<TouchSink> {
        self.sink.clone()
    }

    /// Ends prefetching (keys still queued are left to the update). Idempotent.
    pub(crate) fn stop(&mut self) {
        if let Some(done) = self.done.take() {
            done.store(true, Ordering::Relaxed);
        }
        if let Some(sink) = self.sink.take() {
            // Wakes the thread if it waits for a key; it may already have gone.
            let _ = sink.send(TouchedKey::Stop);
        }
    }
}

impl Drop for Prefetch<'_> {
    fn drop(&mut self) {
        // Also on an early return or a panic, so that the scoped thread always ends.
        self.stop();
    }
}

/// Runs `execute` while a scoped thread walks, in the trie with root `state_root`, the paths of
/// the keys sent to [`Prefetch::sink`]. `execute` calls [`Prefetch::stop`] when execution is
/// over (before computing the root); the thread then ends after at most one more walk.
pub(crate) fn prefetch_while<R>(
    store: &ChainStore,
    state_root: B256,
    execute: impl FnOnce(&mut Prefetch<'_>) -> R,
) -> R {
    let (sink, touched) = channel();
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name("trie-prefetch".into())
            .spawn_scoped(scope, || {
                TriePrefetcher::new(store, state_root).run(touched, &done);
            });
        let mut prefetch = match spawned {
            Ok(_) => Prefetch {
                sink: Some(sink),
                done: Some(&done),
            },
            // No thread only means no prefetching.
            Err(_) => Prefetch::disabled(),
        };
        execute(&mut prefetch)
    })
}

/// Reads nodes from memory (the node cache or writes not yet on disk), else from the store (which
/// caches them), counting the latter.
struct CountingReads<'a> {
    store: &'a ChainStore,
    misses: Cell<u64>,
}

impl NodeStore for CountingReads<'_> {
    fn node(&self, hash: &B256) -> Result<Option<Bytes>, TrieError> {
        if let Some(node) = self.store.trie_node_in_memory(hash) {
            return Ok(Some(node));
        }
        self.misses.set(self.misses.get() + 1);
        self.store.node(hash)
    }
}

/// Walks trie paths to warm the node cache.
struct TriePrefetcher<'a> {
    reads: CountingReads<'a>,
    walks: u64,
    state_root: B256,
    /// Storage roots of the accounts walked so far (`None`: the account does not exist).
    storage_roots: HashMap<Address, Option<B256>>,
}

impl<'a> TriePrefetcher<'a> {
    fn new(store: &'a ChainStore, state_root: B256) -> Self {
        Self {
            reads: CountingReads {
                store,
                misses: Cell::new(0),
            },
            walks: 0,
            state_root,
            storage_roots: HashMap::default(),
        }
    }

    /// Walks the paths of the keys received until told to stop; returns the number of walks.
    fn run(mut self, touched: Receiver<TouchedKey>, done: &AtomicBool) -> u64 {
        while let Ok(key) = touched.recv() {
            if done.load(Ordering::Relaxed) || self.warm_already() {
                break;
            }
            match key {
                TouchedKey::Stop => break,
                TouchedKey::Account(address) => {
                    self.storage_root(address);
                }
                TouchedKey::Slot(address, slot) => {
                    if let Some(root) = self.storage_root(address) {
                        if root != EMPTY_ROOT_HASH {
                            // Errors are the update's to report.
                            self.walks += 1;
                            let _ = fastevm_trie::get(&self.reads, root, &keccak256(slot));
                        }
                    }
                }
            }
        }
        self.walks
    }

    /// Whether the sample of walks found the paths in the cache already.
    fn warm_already(&self) -> bool {
        self.walks >= SAMPLE_WALKS && self.reads.misses.get() < MIN_SAMPLE_MISSES
    }

    /// Walks the account's path (once) and returns its storage root.
    fn storage_root(&mut self, address: Address) -> Option<B256> {
        if let Some(root) = self.storage_roots.get(&address) {
            return *root;
        }
        self.walks += 1;
        let root = fastevm_trie::get(&self.reads, self.state_root, &keccak256(address))
            .ok()
            .flatten()
            .and_then(|raw| TrieAccount::decode(&mut raw.as_ref()).ok())
            .map(|account| account.storage_root);
        self.storage_roots.insert(address, root);
        root
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init_genesis;
    use alloy_genesis::{Genesis, GenesisAccount};
    use alloy_primitives::U256;
    use fastevm_storage::{StoreOptions, Table};
    use std::sync::atomic::AtomicUsize;

    static STORES: AtomicUsize = AtomicUsize::new(0);

    const CONTRACT: Address = Address::repeat_byte(0xcc);

    fn account(i: u64) -> Address {
        Address::left_padding_from(&(i + 1).to_be_bytes())
    }

    /// A store whose genesis holds `accounts` funded accounts and a contract with 100 slots; the
    /// genesis is a bulk load, so none of its trie nodes is in the node cache.
    fn cold_store(accounts: u64) -> (ChainStore, B256) {
        let mut genesis: Genesis = serde_json::from_str(
            r#"{"config": {"chainId": 1337}, "gasLimit": "0x1c9c380", "difficulty": "0x0",
                "alloc": {}}"#,
        )
        .unwrap();
        let funded = GenesisAccount::default().with_balance(U256::from(1));
        genesis
            .alloc
            .extend((0..accounts).map(|i| (account(i), funded.clone())));
        let slots = (1..=100u64)
            .map(|i| (B256::from(U256::from(i)), B256::from(U256::from(i))))
            .collect();
        genesis.alloc.insert(
            CONTRACT,
            funded
                .with_code(Some(vec![0x00].into()))
                .with_storage(Some(slots)),
        );
        let name = format!("trie-prefetch-{}", STORES.fetch_add(1, Ordering::Relaxed));
        let store = ChainStore::open(name, StoreOptions::in_memory()).unwrap();
        let root = init_genesis(&store, &genesis).unwrap().header.state_root;
        (store, root)
    }

    /// Reads nodes without putting them in the cache.
    struct Uncached<'a>(&'a ChainStore);

    impl NodeStore for Uncached<'_> {
        fn node(&self, hash: &B256) -> Result<Option<Bytes>, TrieError> {
            let node = self.0.get(Table::TrieNodes, hash.as_slice());
            Ok(node.map_err(TrieError::store)?.map(Bytes::from))
        }
    }

    /// Hashes of the stored nodes on the path of `key`.
    fn path(store: &ChainStore, root: B256, key: B256) -> Vec<B256> {
        let nodes = fastevm_trie::proof(&Uncached(store), root, &key).unwrap();
        nodes.iter().map(keccak256).collect()
    }

    fn run(store: &ChainStore, root: B256, keys: impl IntoIterator<Item = TouchedKey>) -> u64 {
        let (sink, touched) = channel();
        keys.into_iter().for_each(|key| sink.send(key).unwrap());
        drop(sink);
        TriePrefetcher::new(store, root).run(touched, &AtomicBool::new(false))
    }

    #[test]
    fn walks_put_the_paths_of_touched_accounts_and_slots_in_the_cache() {
        let (store, root) = cold_store(200);
        let storage_root = fastevm_trie::get(&Uncached(&store), root, &keccak256(CONTRACT))
            .unwrap()
            .map(|raw| TrieAccount::decode(&mut raw.as_ref()).unwrap().storage_root)
            .unwrap();
        let slot = B256::from(U256::from(7));
        let mut expected = path(&store, root, keccak256(account(3)));
        expected.extend(path(&store, root, keccak256(CONTRACT)));
        expected.extend(path(&store, storage_root, keccak256(slot)));
        assert!(expected.len() > 3, "the paths hold stored nodes");
        assert!(expected
            .iter()
            .all(|h| store.trie_node_in_memory(h).is_none()));

        let walks = run(
            &store,
            root,
            [
                TouchedKey::Account(account(3)),
                TouchedKey::Slot(CONTRACT, slot),
            ],
        );
        assert_eq!(walks, 3, "the contract's account path, then its slot path");
        for hash in &expected {
            assert!(
                store.trie_node_in_memory(hash).is_some(),
                "node {hash} in memory"
            );
        }
        // Nothing else was walked: another account's leaf is still cold.
        let other = path(&store, root, keccak256(account(150)));
        assert!(store.trie_node_in_memory(other.last().unwrap()).is_none());
    }

    #[test]
    fn stops_after_a_sample_that_found_every_node_cached() {
        let (store, root) = cold_store(200);
        let touched = || (0..150).map(|i| TouchedKey::Account(account(i)));
        assert_eq!(
            run(&store, root, touched()),
            150,
            "a cold state is walked whole"
        );
        assert_eq!(
            run(&store, root, touched()),
            SAMPLE_WALKS,
            "a warm state only for the sample"
        );
    }

    #[test]
    fn prefetch_while_ends_its_thread_on_early_return() {
        let (store, root) = cold_store(10);
        let result: Result<(), &str> = prefetch_while(&store, root, |prefetch| {
            let sink = prefetch.sink().expect("prefetching");
            sink.send(TouchedKey::Account(account(1))).unwrap();
            Err("execution failed")
        });
        assert_eq!(result, Err("execution failed"));
    }
}
