//! Where trie nodes live: a read trait keyed by node hash, and an in-memory implementation.

use crate::TrieError;
use alloy_primitives::{Bytes, B256};
use std::{collections::BTreeMap, sync::Arc};

/// Read access to trie nodes by the keccak256 hash of their RLP encoding.
///
/// Returning `Ok(None)` means the store does not hold the node; the trie turns that into
/// [`TrieError::MissingNode`] when it needs the node.
pub trait NodeStore {
    /// The RLP encoding of the node whose keccak256 is `hash`, if stored.
    fn node(&self, hash: &B256) -> Result<Option<Bytes>, TrieError>;
}

impl<T: NodeStore + ?Sized> NodeStore for &T {
    fn node(&self, hash: &B256) -> Result<Option<Bytes>, TrieError> {
        (**self).node(hash)
    }
}

impl<T: NodeStore + ?Sized> NodeStore for Arc<T> {
    fn node(&self, hash: &B256) -> Result<Option<Bytes>, TrieError> {
        (**self).node(hash)
    }
}

impl<T: NodeStore + ?Sized> NodeStore for Box<T> {
    fn node(&self, hash: &B256) -> Result<Option<Bytes>, TrieError> {
        (**self).node(hash)
    }
}

/// A [`MemoryNodeStore`] of not-yet-persisted nodes over another store: reads look in `top`
/// first, then in `base`. Lets several updates chain (e.g. blocks built before a commit) and
/// then persist `top` in one write.
#[derive(Debug, Clone, Default)]
pub struct OverlayNodeStore<S> {
    /// The persisted store below.
    pub base: S,
    /// Nodes created since `base` was written.
    pub top: MemoryNodeStore,
}

impl<S> OverlayNodeStore<S> {
    /// An overlay with nothing on top of `base`.
    pub fn new(base: S) -> Self {
        Self {
            base,
            top: MemoryNodeStore::new(),
        }
    }
}

impl<S: NodeStore> NodeStore for OverlayNodeStore<S> {
    fn node(&self, hash: &B256) -> Result<Option<Bytes>, TrieError> {
        match self.top.node(hash)? {
            Some(rlp) => Ok(Some(rlp)),
            None => self.base.node(hash),
        }
    }
}

/// In-memory node store for tests and genesis building, ordered by hash.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryNodeStore {
    nodes: BTreeMap<B256, Bytes>,
}

impl MemoryNodeStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `(hash, rlp)` pairs, e.g. [`crate::TrieUpdate::new_nodes`]. Existing entries are kept
    /// as they are: a hash names one node.
    pub fn insert_nodes(&mut self, nodes: impl IntoIterator<Item = (B256, Bytes)>) {
        for (hash, rlp) in nodes {
            self.nodes.entry(hash).or_insert(rlp);
        }
    }

    /// Number of stored nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True if no node is stored.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// True if a node is stored under `hash`.
    pub fn contains(&self, hash: &B256) -> bool {
        self.nodes.contains_key(hash)
    }

    /// All stored nodes in hash order.
    pub fn iter(&self) -> impl Iterator<Item = (&B256, &Bytes)> {
        self.nodes.iter()
    }
}

impl NodeStore for MemoryNodeStore {
    fn node(&self, hash: &B256) -> Result<Option<Bytes>, TrieError> {
        Ok(self.nodes.get(hash).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{apply_changes, get, EMPTY_ROOT_HASH};

    #[test]
    fn overlay_reads_top_then_base_and_chains_updates() {
        let value = |text: &'static str| Some(Bytes::from_static(text.as_bytes()));
        let (a, b) = (B256::repeat_byte(0xaa), B256::repeat_byte(0xbb));
        let first = apply_changes(&MemoryNodeStore::new(), EMPTY_ROOT_HASH, [(a, value("a"))]);
        let first = first.unwrap();
        let mut base = MemoryNodeStore::new();
        base.insert_nodes(first.new_nodes);

        let mut overlay = OverlayNodeStore::new(Arc::new(base));
        let second = apply_changes(&overlay, first.root, [(b, value("b"))]).unwrap();
        overlay.top.insert_nodes(second.new_nodes);
        assert_eq!(get(&overlay, second.root, &a).unwrap(), value("a"));
        let as_trait_object: &dyn NodeStore = &overlay;
        assert_eq!(get(as_trait_object, second.root, &b).unwrap(), value("b"));
        // The base alone does not know the new root.
        assert!(matches!(
            get(&overlay.base, second.root, &a),
            Err(TrieError::MissingNode(hash)) if hash == second.root
        ));
    }
}
