//! Batch update of a trie in one recursive pass over sorted changes.
//!
//! Only nodes on the paths of changed keys are read and rebuilt; untouched subtrees are kept as
//! the references their parents already hold. Old nodes are never deleted (archive mode).

use crate::{
    node::{commit_root, Child, Node, NodeLoader},
    NodeStore, TrieError,
};
use alloy_primitives::{Bytes, B256};
use alloy_trie::{Nibbles, EMPTY_ROOT_HASH};
use std::collections::BTreeMap;

/// Length in nibbles of every key (a 32-byte hash).
pub(crate) const KEY_NIBBLES: usize = 64;

/// The result of an update: the new root and the nodes the caller must persist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrieUpdate {
    /// Root hash after the update ([`EMPTY_ROOT_HASH`] for an empty trie).
    pub root: B256,
    /// `(keccak256(rlp), rlp)` of every node created by the update and reachable from `root`,
    /// sorted by hash without duplicates. Nodes embedded in their parent are not listed; the
    /// root node is always listed (even when its RLP is shorter than 32 bytes) unless the root
    /// did not change or the trie is empty.
    pub new_nodes: Vec<(B256, Bytes)>,
}

impl TrieUpdate {
    /// An update that changed nothing.
    pub(crate) fn unchanged(root: B256) -> Self {
        Self {
            root,
            new_nodes: Vec::new(),
        }
    }

    /// Turns a built root node into the update, recording all new hashed nodes.
    pub(crate) fn from_root_node(node: Option<Node>) -> Self {
        let Some(node) = node else {
            return Self::unchanged(EMPTY_ROOT_HASH);
        };
        let mut new_nodes = Vec::new();
        let root = commit_root(node, &mut new_nodes);
        Self::from_nodes(root, new_nodes)
    }

    /// Sorts and deduplicates `new_nodes` (equal subtrees can appear under different paths).
    pub(crate) fn from_nodes(root: B256, mut new_nodes: Vec<(B256, Bytes)>) -> Self {
        new_nodes.sort_unstable_by_key(|(hash, _)| *hash);
        new_nodes.dedup_by(|a, b| a.0 == b.0);
        Self { root, new_nodes }
    }
}

/// Applies a batch of changes to the trie with root `root` ([`EMPTY_ROOT_HASH`] for an empty
/// trie).
///
/// Keys are already-hashed 32-byte paths (secure trie: the caller passes `keccak(address)` or
/// `keccak(slot)`). `Some(value)` inserts or updates a leaf, `None` deletes it; an empty value
/// also deletes, as in geth. Changes may come in any order; for duplicate keys the last wins.
/// Work and node reads are proportional to the number of changed keys times the trie depth.
pub fn apply_changes<S: NodeStore + ?Sized>(
    store: &S,
    root: B256,
    changes: impl IntoIterator<Item = (B256, Option<Bytes>)>,
) -> Result<TrieUpdate, TrieError> {
    let changes = sorted_changes(changes);
    if changes.is_empty() {
        return Ok(TrieUpdate::unchanged(root));
    }
    let updater = Updater::new(store);
    let root_node = updater.loader.root(root)?;
    updater.apply(root, root_node, &changes)
}

/// Changes sorted by key, the last one of each key kept, empty values turned into deletions.
pub(crate) fn sorted_changes(
    changes: impl IntoIterator<Item = (B256, Option<Bytes>)>,
) -> Vec<Change> {
    let sorted: BTreeMap<B256, Option<Bytes>> = changes.into_iter().collect();
    sorted
        .into_iter()
        .map(|(key, value)| Change {
            key: Nibbles::unpack(key),
            value: value.filter(|value| !value.is_empty()),
        })
        .collect()
}

/// `changes` (sorted, all sharing their first `depth` nibbles) in runs of equal nibble at
/// `depth`: the changes below each child of a branch there.
pub(crate) fn nibble_groups(
    changes: &[Change],
    depth: usize,
) -> impl Iterator<Item = (u8, &[Change])> {
    let mut rest = changes;
    std::iter::from_fn(move || {
        let nibble = rest.first()?.key.get_unchecked(depth);
        let len = rest.partition_point(|change| change.key.get_unchecked(depth) == nibble);
        let (group, tail) = rest.split_at(len);
        rest = tail;
        Some((nibble, group))
    })
}

/// One change at a full 64-nibble key; `None` deletes.
#[derive(Debug)]
pub(crate) struct Change {
    pub(crate) key: Nibbles,
    pub(crate) value: Option<Bytes>,
}

/// What an update did to a subtree.
pub(crate) enum Outcome {
    /// The subtree holds the same keys and values as before; keep its old reference.
    Unchanged,
    /// The subtree's new canonical root node (`None`: the subtree is now empty).
    Changed(Option<Node>),
}

pub(crate) struct Updater<'a, S: ?Sized> {
    pub(crate) loader: NodeLoader<'a, S>,
}

impl<'a, S: NodeStore + ?Sized> Updater<'a, S> {
    pub(crate) fn new(store: &'a S) -> Self {
        Self {
            loader: NodeLoader::new(store),
        }
    }

    /// Applies `changes` (sorted, distinct, non-empty) to the trie whose root `root` decodes to
    /// `root_node`.
    pub(crate) fn apply(
        &self,
        root: B256,
        root_node: Option<Node>,
        changes: &[Change],
    ) -> Result<TrieUpdate, TrieError> {
        Ok(match self.update(root_node, 0, changes)? {
            Outcome::Unchanged => TrieUpdate::unchanged(root),
            Outcome::Changed(node) => TrieUpdate::from_root_node(node),
        })
    }

    /// Applies `changes` (sorted, distinct, all sharing their first `depth` nibbles) to the
    /// subtree rooted at `node`, which sits at `depth`.
    fn update(
        &self,
        node: Option<Node>,
        depth: usize,
        changes: &[Change],
    ) -> Result<Outcome, TrieError> {
        match node {
            None => {
                let inserts: Vec<(Nibbles, Bytes)> = changes
                    .iter()
                    .filter_map(|change| change.value.clone().map(|value| (change.key, value)))
                    .collect();
                Ok(if inserts.is_empty() {
                    Outcome::Unchanged
                } else {
                    Outcome::Changed(Some(build_subtree(depth, &inserts)))
                })
            }
            Some(Node::Leaf { key, value }) => update_leaf(depth, key, value, changes),
            Some(Node::Extension { key, child }) => {
                self.update_extension(depth, key, child, changes)
            }
            Some(Node::Branch { children }) => self.update_branch(depth, children, changes),
        }
    }

    fn update_extension(
        &self,
        depth: usize,
        key: Nibbles,
        child: Child,
        changes: &[Change],
    ) -> Result<Outcome, TrieError> {
        let end = depth + key.len();
        if end >= KEY_NIBBLES {
            return Err(TrieError::InvalidPath { depth });
        }
        let under = |change: &Change| change.key.slice(depth..end) == key;
        // Changes are sorted, so if the first and last are under the extension, all are.
        if changes.first().is_some_and(under) && changes.last().is_some_and(under) {
            let (child, changed) = self.update_child(Some(child), end, changes)?;
            if !changed {
                return Ok(Outcome::Unchanged);
            }
            return Ok(Outcome::Changed(
                child.map(|child| self.prepend(key, child)).transpose()?,
            ));
        }
        // Some key leaves the extension: view it as a branch with one child and update that.
        let rest = key.slice(1..);
        let below = if rest.is_empty() {
            child
        } else {
            Child::Built(Box::new(Node::Extension { key: rest, child }))
        };
        let mut children: Box<[Option<Child>; 16]> = Box::default();
        children[key.get_unchecked(0) as usize] = Some(below);
        self.update_branch(depth, children, changes)
    }

    fn update_branch(
        &self,
        depth: usize,
        mut children: Box<[Option<Child>; 16]>,
        changes: &[Change],
    ) -> Result<Outcome, TrieError> {
        if depth >= KEY_NIBBLES {
            return Err(TrieError::InvalidPath { depth });
        }
        let mut changed = false;
        for (nibble, group) in nibble_groups(changes, depth) {
            let slot = &mut children[nibble as usize];
            let (child, child_changed) = self.update_child(slot.take(), depth + 1, group)?;
            *slot = child;
            changed |= child_changed;
        }
        if !changed {
            return Ok(Outcome::Unchanged);
        }
        let mut present = children
            .iter()
            .enumerate()
            .filter(|(_, child)| child.is_some());
        let only = match (present.next(), present.next()) {
            (None, _) => return Ok(Outcome::Changed(None)),
            (Some((nibble, _)), None) => nibble,
            (Some(_), Some(_)) => return Ok(Outcome::Changed(Some(Node::Branch { children }))),
        };
        // A branch left with one child merges into it.
        let child = children[only].take().expect("child is present");
        let prefix = Nibbles::from_nibbles_unchecked([only as u8]);
        Ok(Outcome::Changed(Some(self.prepend(prefix, child)?)))
    }

    /// Updates a child slot; returns the new slot content and whether it changed.
    pub(crate) fn update_child(
        &self,
        child: Option<Child>,
        depth: usize,
        changes: &[Change],
    ) -> Result<(Option<Child>, bool), TrieError> {
        let node = child
            .as_ref()
            .map(|child| self.loader.child(child))
            .transpose()?;
        Ok(match self.update(node, depth, changes)? {
            Outcome::Unchanged => (child, false),
            Outcome::Changed(node) => (node.map(|node| Child::Built(Box::new(node))), true),
        })
    }

    /// The canonical node for `child` placed `prefix.len()` nibbles lower: leaves and extensions
    /// absorb the prefix, a branch gets an extension above it (keeping its old reference).
    fn prepend(&self, prefix: Nibbles, child: Child) -> Result<Node, TrieError> {
        let node = match child {
            Child::Built(node) => *node,
            Child::Stored(_) => match self.loader.child(&child)? {
                Node::Branch { .. } => return Ok(Node::Extension { key: prefix, child }),
                node => node,
            },
        };
        Ok(match node {
            Node::Leaf { key, value } => Node::Leaf {
                key: prefix.join(&key),
                value,
            },
            Node::Extension { key, child } => Node::Extension {
                key: prefix.join(&key),
                child,
            },
            branch @ Node::Branch { .. } => Node::Extension {
                key: prefix,
                child: Child::Built(Box::new(branch)),
            },
        })
    }
}

/// Updates a leaf by rebuilding its subtree from the union of the leaf and the changes.
pub(crate) fn update_leaf(
    depth: usize,
    key: Nibbles,
    value: Bytes,
    changes: &[Change],
) -> Result<Outcome, TrieError> {
    if depth + key.len() != KEY_NIBBLES {
        return Err(TrieError::InvalidPath { depth });
    }
    let leaf_key = changes[0].key.slice(..depth).join(&key);
    let mut entries = Vec::with_capacity(changes.len() + 1);
    let mut changed = false;
    let mut leaf_placed = false;
    for change in changes {
        if !leaf_placed && leaf_key < change.key {
            entries.push((leaf_key, value.clone()));
            leaf_placed = true;
        }
        if change.key == leaf_key {
            leaf_placed = true;
            changed |= change.value.as_ref() != Some(&value);
        } else {
            changed |= change.value.is_some();
        }
        if let Some(new_value) = &change.value {
            entries.push((change.key, new_value.clone()));
        }
    }
    if !leaf_placed {
        entries.push((leaf_key, value));
    }
    Ok(match (changed, entries.is_empty()) {
        (false, _) => Outcome::Unchanged,
        (true, true) => Outcome::Changed(None),
        (true, false) => Outcome::Changed(Some(build_subtree(depth, &entries))),
    })
}

/// Builds the canonical subtree at `depth` holding `entries` (sorted, distinct, non-empty, all
/// sharing their first `depth` nibbles).
pub(crate) fn build_subtree(depth: usize, entries: &[(Nibbles, Bytes)]) -> Node {
    let (first, last) = (&entries[0], &entries[entries.len() - 1]);
    if entries.len() == 1 {
        return Node::Leaf {
            key: first.0.slice(depth..),
            value: first.1.clone(),
        };
    }
    let branch_depth = first.0.common_prefix_length(&last.0);
    let mut children: Box<[Option<Child>; 16]> = Box::default();
    let mut rest = entries;
    while let Some((key, _)) = rest.first() {
        let nibble = key.get_unchecked(branch_depth);
        let group_len = rest.partition_point(|(key, _)| key.get_unchecked(branch_depth) == nibble);
        let (group, tail) = rest.split_at(group_len);
        children[nibble as usize] = Some(Child::Built(Box::new(build_subtree(
            branch_depth + 1,
            group,
        ))));
        rest = tail;
    }
    let branch = Node::Branch { children };
    if branch_depth == depth {
        branch
    } else {
        Node::Extension {
            key: first.0.slice(depth..branch_depth),
            child: Child::Built(Box::new(branch)),
        }
    }
}

#[cfg(test)]
mod tests;
