//! The state's tries kept decoded in memory from one block to the next ([`ResidentTries`]).
//!
//! A block's state root rewrites the account trie along the paths of the accounts it changed,
//! and the storage tries of the contracts whose storage it changed. The next block, built on that
//! root, walks mostly the same upper nodes again. [`ResidentTries`] keeps the account trie and the
//! storage tries of recently changed contracts as [`SparseTrie`]s anchored at the roots they
//! reached, so the next block on top of them neither reads nor decodes those nodes again.
//!
//! A trie is reused only when the next update starts from exactly the root it stands for (a
//! block on another parent starts from the hash, as before); results never depend on what is
//! kept. Memory is bounded: past [`ResidentTries::max_nodes`] nodes held, every kept trie is
//! pruned to its top [`PRUNE_LEVELS`] levels and storage tries the last block did not change are
//! dropped.

use alloy_primitives::{
    map::{HashMap, HashSet},
    Address, B256,
};
use fastevm_trie::SparseTrie;
use std::sync::Mutex;

/// Default bound of nodes held by one chain's kept tries: about 20 MB (a branch holds ~760
/// bytes, a leaf ~200), the whole account trie of a state of about 30,000 accounts.
pub const DEFAULT_RESIDENT_TRIE_NODES: usize = 50_000;

/// Levels of each trie kept when the bound is reached: the account trie's top four levels are
/// 4,369 nodes at most, the ones every block walks.
pub const PRUNE_LEVELS: usize = 4;

/// The account trie and storage tries kept between blocks (see the module docs).
#[derive(Debug)]
pub struct ResidentTries {
    kept: Mutex<Kept>,
    max_nodes: usize,
}

#[derive(Debug, Default)]
struct Kept {
    accounts: Option<SparseTrie>,
    storage: HashMap<Address, SparseTrie>,
}

impl Kept {
    /// Nodes held by all kept tries (an upper bound).
    fn held(&self) -> usize {
        let storage: usize = self.storage.values().map(SparseTrie::resident_nodes).sum();
        self.accounts.as_ref().map_or(0, SparseTrie::resident_nodes) + storage
    }
}

impl Default for ResidentTries {
    fn default() -> Self {
        Self::new(DEFAULT_RESIDENT_TRIE_NODES)
    }
}

impl ResidentTries {
    /// Tries kept up to about `max_nodes` loaded nodes; `0` keeps nothing between updates.
    pub fn new(max_nodes: usize) -> Self {
        Self {
            kept: Mutex::new(Kept::default()),
            max_nodes,
        }
    }

    /// Tries that keep nothing: every update starts from the root hash (one-off roots: genesis,
    /// simulated blocks).
    pub fn none() -> Self {
        Self::new(0)
    }

    /// The bound of loaded nodes past which the kept tries are pruned.
    pub fn max_nodes(&self) -> usize {
        self.max_nodes
    }

    /// The account trie with root `root`: the kept one if it stands for that root.
    pub(crate) fn take_accounts(&self, root: B256) -> SparseTrie {
        let kept = self.lock().accounts.take();
        kept.filter(|trie| trie.root() == root)
            .unwrap_or_else(|| SparseTrie::new(root))
    }

    /// The storage trie of `address` with root `root`: the kept one if it stands for that root.
    pub(crate) fn take_storage(&self, address: Address, root: B256) -> SparseTrie {
        let kept = self.lock().storage.remove(&address);
        kept.filter(|trie| trie.root() == root)
            .unwrap_or_else(|| SparseTrie::new(root))
    }

    /// Keeps the tries one block updated (each at the root it reached), then enforces the bound.
    pub(crate) fn keep(&self, accounts: SparseTrie, storage: Vec<(Address, SparseTrie)>) {
        if self.max_nodes == 0 {
            return;
        }
        let mut kept = self.lock();
        let touched: HashSet<Address> = storage.iter().map(|(address, _)| *address).collect();
        kept.accounts = Some(accounts);
        kept.storage.extend(storage);
        if kept.held() <= self.max_nodes {
            return;
        }
        // The counts only grow between prunes (a node an update replaced is still counted): count
        // exactly before dropping anything.
        let Kept { accounts, storage } = &mut *kept;
        for trie in accounts.iter_mut().chain(storage.values_mut()) {
            trie.prune(usize::MAX);
        }
        if kept.held() <= self.max_nodes {
            return;
        }
        kept.storage.retain(|address, _| touched.contains(address));
        let Kept { accounts, storage } = &mut *kept;
        for trie in accounts.iter_mut().chain(storage.values_mut()) {
            trie.prune(PRUNE_LEVELS);
        }
        if kept.held() > self.max_nodes {
            // Even the pruned tries are too many (a block that changed thousands of contracts'
            // storage): keep only the account trie.
            kept.storage.clear();
        }
    }

    /// Nodes the kept tries hold (an upper bound), for tests and metrics.
    pub fn resident_nodes(&self) -> usize {
        self.lock().held()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        // The kept tries are a cache: after a panic elsewhere they are still valid tries.
        self.kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{keccak256, Bytes};
    use fastevm_trie::{MemoryNodeStore, NodeStore, TrieError, EMPTY_ROOT_HASH};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A memory store that counts node reads.
    #[derive(Default)]
    struct CountingStore {
        nodes: MemoryNodeStore,
        reads: AtomicUsize,
    }

    impl NodeStore for CountingStore {
        fn node(&self, hash: &B256) -> Result<Option<Bytes>, TrieError> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            self.nodes.node(hash)
        }
    }

    /// `count` keys, each set to `value`.
    fn changes(count: u64, value: u8) -> Vec<(B256, Option<Bytes>)> {
        (0..count)
            .map(|i| {
                (
                    keccak256(i.to_be_bytes()),
                    Some(Bytes::from(vec![value; 40])),
                )
            })
            .collect()
    }

    /// Updates the kept account trie at `root` with `changes`, persists the new nodes and keeps
    /// the trie; returns the new root and the nodes the update read.
    fn block(
        tries: &ResidentTries,
        store: &mut CountingStore,
        root: B256,
        changes: Vec<(B256, Option<Bytes>)>,
    ) -> (B256, usize) {
        store.reads.store(0, Ordering::Relaxed);
        let trie = tries.take_accounts(root);
        let (trie, update) = trie.update(&*store, changes).unwrap();
        let reads = store.reads.load(Ordering::Relaxed);
        store.nodes.insert_nodes(update.new_nodes);
        tries.keep(trie, Vec::new());
        (update.root, reads)
    }

    #[test]
    fn a_trie_within_the_bound_is_kept_however_often_it_is_rewritten() {
        let tries = ResidentTries::new(5_000);
        let mut store = CountingStore::default();
        let (mut root, _) = block(&tries, &mut store, EMPTY_ROOT_HASH, changes(2_000, 1));
        // Every block rewrites every leaf: the count of loaded and built nodes passes the bound
        // long before the trie (about 2,700 nodes) does.
        for value in 2..12 {
            let (next, reads) = block(&tries, &mut store, root, changes(2_000, value));
            assert_eq!(reads, 0, "block {value}: the kept trie read nothing");
            root = next;
        }
        assert!(tries.resident_nodes() <= 5_000);
        // Another root: the kept trie does not stand for it, the update starts from the hash.
        let other = tries.take_accounts(EMPTY_ROOT_HASH);
        assert_eq!(other.root(), EMPTY_ROOT_HASH);
        assert_eq!(other.resident_nodes(), 0);
    }

    #[test]
    fn past_the_bound_the_tries_keep_their_top_levels() {
        let tries = ResidentTries::new(500);
        let mut store = CountingStore::default();
        // 20,000 keys: the fourth level (node level 3) is mostly branches, the leaves below.
        let (root, _) = block(&tries, &mut store, EMPTY_ROOT_HASH, changes(20_000, 1));
        let held = tries.resident_nodes();
        // At most the first four levels of a 16-ary trie.
        assert!(held <= 1 + 16 + 256 + 4_096, "{held} nodes held");
        assert!(held > 0);
        // The leaves were dropped: rewriting them reads them (and their parents) again.
        let (_, reads) = block(&tries, &mut store, root, changes(20_000, 2));
        assert!(reads >= 10_000, "{reads} nodes read");
    }

    #[test]
    fn none_keeps_nothing() {
        let tries = ResidentTries::none();
        let mut store = CountingStore::default();
        let (root, _) = block(&tries, &mut store, EMPTY_ROOT_HASH, changes(100, 1));
        assert_eq!(tries.resident_nodes(), 0);
        let (_, reads) = block(&tries, &mut store, root, changes(100, 2));
        assert!(reads > 0);
    }
}
