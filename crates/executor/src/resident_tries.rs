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
//! kept. Memory is bounded: past [`ResidentTries::max_nodes`] loaded nodes, every kept trie is
//! pruned to its top [`PRUNE_LEVELS`] levels and storage tries the last block did not change are
//! dropped.

use alloy_primitives::{
    map::{HashMap, HashSet},
    Address, B256,
};
use fastevm_trie::SparseTrie;
use std::sync::Mutex;

/// Default bound of nodes held by one chain's kept tries (a few tens of MB).
pub const DEFAULT_RESIDENT_TRIE_NODES: usize = 200_000;

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
