//! Shared test builders: a read-counting store, an independent root oracle, random keys, and a
//! model that checks every update against the oracle.

use crate::{apply_changes, get, MemoryNodeStore, NodeStore, TrieError};
use alloy_primitives::{Bytes, B256};
use alloy_trie::{HashBuilder, Nibbles, EMPTY_ROOT_HASH};
use rand::Rng;
use std::{
    collections::BTreeMap,
    sync::atomic::{AtomicUsize, Ordering},
};

/// Wraps a store and counts node reads.
pub(crate) struct CountingNodeStore<S> {
    pub(crate) inner: S,
    reads: AtomicUsize,
}

impl<S> CountingNodeStore<S> {
    pub(crate) fn new(inner: S) -> Self {
        Self {
            inner,
            reads: AtomicUsize::new(0),
        }
    }

    /// Reads so far; resets the counter.
    pub(crate) fn take_reads(&self) -> usize {
        self.reads.swap(0, Ordering::Relaxed)
    }
}

impl<S: NodeStore> NodeStore for CountingNodeStore<S> {
    fn node(&self, hash: &B256) -> Result<Option<Bytes>, TrieError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.inner.node(hash)
    }
}

/// Root of `leaves` computed from scratch by alloy's `HashBuilder` (no code of this crate).
pub(crate) fn oracle_root(leaves: &BTreeMap<B256, Bytes>) -> B256 {
    let mut builder = HashBuilder::default();
    for (key, value) in leaves {
        builder.add_leaf(Nibbles::unpack(key), value);
    }
    builder.root()
}

/// A random value of 1..=40 bytes (short values make small, embedded leaves possible).
pub(crate) fn random_value(rng: &mut impl Rng) -> Bytes {
    let len = rng.gen_range(1..=40);
    (0..len)
        .map(|_| rng.r#gen::<u8>())
        .collect::<Vec<u8>>()
        .into()
}

/// A uniformly random key.
pub(crate) fn uniform_key(rng: &mut impl Rng) -> B256 {
    B256::from(rng.r#gen::<[u8; 32]>())
}

/// A random key; one in four shares all but its last byte with one of a few fixed prefixes, so
/// that deep branches with small embedded children occur.
pub(crate) fn random_key(rng: &mut impl Rng) -> B256 {
    let mut key = uniform_key(rng);
    if rng.gen_ratio(1, 4) {
        let prefix = rng.gen_range(0u8..3);
        key.0[..31].fill(prefix);
        key.0[31] = rng.gen_range(0u8..24);
    }
    key
}

/// A trie kept in a memory store next to the key/value map it should hold.
#[derive(Default)]
pub(crate) struct TrieModel {
    pub(crate) store: MemoryNodeStore,
    pub(crate) root: B256,
    pub(crate) expected: BTreeMap<B256, Bytes>,
}

impl TrieModel {
    pub(crate) fn new() -> Self {
        Self {
            root: EMPTY_ROOT_HASH,
            ..Default::default()
        }
    }

    /// Applies `changes` to the trie and the map, persists the new nodes, and asserts the new
    /// root equals the oracle's root of the map.
    pub(crate) fn apply(&mut self, changes: Vec<(B256, Option<Bytes>)>) {
        let update = apply_changes(&self.store, self.root, changes.clone()).expect("update");
        for (key, value) in changes {
            match value.filter(|value| !value.is_empty()) {
                Some(value) => self.expected.insert(key, value),
                None => self.expected.remove(&key),
            };
        }
        self.store.insert_nodes(update.new_nodes);
        self.root = update.root;
        assert_eq!(self.root, oracle_root(&self.expected), "root after update");
    }

    /// Asserts `get` returns the expected value for every key in `keys`.
    pub(crate) fn assert_reads(&self, keys: impl IntoIterator<Item = B256>) {
        for key in keys {
            assert_eq!(
                get(&self.store, self.root, &key).expect("get"),
                self.expected.get(&key).cloned(),
                "get {key}"
            );
        }
    }
}
