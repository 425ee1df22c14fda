//! A trie kept decoded in memory across updates ([`SparseTrie`]).
//!
//! [`crate::apply_changes`] starts every update from the root hash: each node on a changed path is
//! fetched from the store and decoded again, block after block, although the upper levels are the
//! same nodes every time. A [`SparseTrie`] keeps every node it has loaded or built, decoded and
//! with its reference (hash) cached, so the next update walks memory, loads only the nodes it has
//! never seen, and rehashes only the nodes whose subtree changed. Nodes it never needed stay
//! references ("sparse": the trie is only partly revealed). [`SparseTrie::prune`] bounds the
//! memory by forgetting everything below a level.
//!
//! The result of an update is exactly that of [`crate::apply_changes`] on the same root: the same
//! root and the same new nodes for the caller to persist. Large batches are updated and hashed on
//! two threads, split below the root branch as [`crate::apply_changes_parallel`] does.

use crate::{
    node::{Child, Node, NodeLoader},
    parallel::{on_two_threads, split_in_halves, CORES},
    update::{
        build_subtree, nibble_groups, sorted_changes, update_leaf, Change, Outcome, KEY_NIBBLES,
    },
    NodeStore, TrieError, TrieUpdate, PARALLEL_MIN_CHANGES,
};
use alloy_primitives::{keccak256, Bytes, B256};
use alloy_rlp::{Decodable, Encodable};
use alloy_trie::{
    nodes::{BranchNodeRef, ExtensionNodeRef, LeafNodeRef, RlpNode, TrieNode},
    Nibbles, TrieMask, EMPTY_ROOT_HASH,
};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A trie whose loaded nodes stay decoded in memory between updates.
///
/// It stands for the trie with root [`SparseTrie::root`]. An update that fails (a node missing
/// from the store, say) consumes it: the caller starts again from [`SparseTrie::new`].
#[derive(Debug)]
pub struct SparseTrie {
    root: Option<Link>,
    root_hash: B256,
    /// Nodes loaded or built since the last [`SparseTrie::prune`] (an upper bound of the nodes
    /// held: nodes an update drops are not subtracted).
    nodes: usize,
}

/// A child reference inside a resident node.
#[derive(Debug)]
enum Link {
    /// Not loaded: the reference the parent's RLP holds (`rlp(hash)` or a small node's RLP).
    Ref(RlpNode),
    /// Loaded or built, kept in memory.
    Node(Box<Resident>),
}

/// A decoded node and, unless it changed since it was last hashed, its reference.
#[derive(Debug)]
struct Resident {
    kind: Kind,
    /// What a parent stores for this node; `None` while the node must be encoded again.
    reference: Option<RlpNode>,
}

#[derive(Debug)]
enum Kind {
    Leaf { key: Nibbles, value: Bytes },
    Extension { key: Nibbles, child: Link },
    Branch { children: Box<[Option<Link>; 16]> },
}

impl SparseTrie {
    /// The trie with root `root` ([`EMPTY_ROOT_HASH`] for an empty trie), nothing loaded yet.
    pub fn new(root: B256) -> Self {
        Self {
            root: (root != EMPTY_ROOT_HASH).then(|| Link::Ref(RlpNode::word_rlp(&root))),
            root_hash: root,
            nodes: 0,
        }
    }

    /// The root hash of the trie this stands for.
    pub fn root(&self) -> B256 {
        self.root_hash
    }

    /// Nodes loaded or built since the last prune: an upper bound of the nodes held in memory.
    pub fn resident_nodes(&self) -> usize {
        self.nodes
    }

    /// Applies `changes` as [`crate::apply_changes`] does (same root, same new nodes), loading
    /// from `store` only nodes this trie does not hold yet. Batches of at least
    /// [`PARALLEL_MIN_CHANGES`] keys are split over two threads when the machine has two cores.
    pub fn update<S: NodeStore + Sync + ?Sized>(
        self,
        store: &S,
        changes: impl IntoIterator<Item = (B256, Option<Bytes>)>,
    ) -> Result<(Self, TrieUpdate), TrieError> {
        let changes = sorted_changes(changes);
        let split_from = if changes.len() >= PARALLEL_MIN_CHANGES && *CORES > 1 {
            PARALLEL_MIN_CHANGES
        } else {
            usize::MAX
        };
        self.update_sorted(store, &changes, split_from)
    }

    /// [`Self::update`] of sorted changes, split over two threads from `split_from` changes.
    pub(crate) fn update_sorted<S: NodeStore + Sync + ?Sized>(
        mut self,
        store: &S,
        changes: &[Change],
        split_from: usize,
    ) -> Result<(Self, TrieUpdate), TrieError> {
        if changes.is_empty() {
            let root = self.root_hash;
            return Ok((self, TrieUpdate::unchanged(root)));
        }
        let updater = ResidentUpdater {
            loader: NodeLoader::new(store),
            loaded: AtomicUsize::new(0),
        };
        let mut new_nodes = Vec::new();
        let changed = if changes.len() >= split_from {
            updater.update_split(&mut self.root, changes, &mut new_nodes)?
        } else {
            updater.update(&mut self.root, 0, changes)?
        };
        self.nodes += updater.loaded.into_inner();
        if !changed {
            let root = self.root_hash;
            return Ok((self, TrieUpdate::unchanged(root)));
        }
        self.root_hash = match &mut self.root {
            None => EMPTY_ROOT_HASH,
            Some(link) => {
                let reference = link_reference(link, &mut new_nodes);
                match reference.as_hash() {
                    Some(hash) => hash,
                    // The root is stored by hash even when its RLP is shorter than a hash.
                    None => {
                        let hash = keccak256(reference.as_slice());
                        new_nodes.push((hash, Bytes::copy_from_slice(reference.as_slice())));
                        hash
                    }
                }
            }
        };
        let root = self.root_hash;
        Ok((self, TrieUpdate::from_nodes(root, new_nodes)))
    }

    /// Forgets every node below the first `levels` levels (the root is level 0), keeping their
    /// references: they are loaded again if an update needs them. Returns the nodes still held,
    /// counted exactly (`usize::MAX` levels only counts them).
    pub fn prune(&mut self, levels: usize) -> usize {
        self.nodes = match &mut self.root {
            Some(link) => prune_link(link, 0, levels),
            None => 0,
        };
        self.nodes
    }
}

/// Counts the nodes under `link` (at `level`), turning those at `levels` and below into
/// references.
fn prune_link(link: &mut Link, level: usize, levels: usize) -> usize {
    let Link::Node(node) = link else {
        return 0;
    };
    if level >= levels {
        if let Some(reference) = node.reference.clone() {
            *link = Link::Ref(reference);
            return 0;
        }
    }
    1 + match &mut node.kind {
        Kind::Leaf { .. } => 0,
        Kind::Extension { child, .. } => prune_link(child, level + 1, levels),
        Kind::Branch { children } => children
            .iter_mut()
            .flatten()
            .map(|child| prune_link(child, level + 1, levels))
            .sum(),
    }
}

/// One update's access to the store.
struct ResidentUpdater<'a, S: ?Sized> {
    loader: NodeLoader<'a, S>,
    /// Nodes loaded or built by this update (shared by its threads).
    loaded: AtomicUsize,
}

impl<S: NodeStore + Sync + ?Sized> ResidentUpdater<'_, S> {
    /// The node behind `link`, loaded (and kept) first if it is only a reference.
    fn reveal<'l>(&self, link: &'l mut Link) -> Result<&'l mut Resident, TrieError> {
        if let Link::Ref(reference) = link {
            let reference = reference.clone();
            let node = match reference.as_hash() {
                Some(hash) => {
                    Resident::decode(&self.loader.rlp_by_hash(&hash)?, Some(hash), reference)?
                }
                None => Resident::decode(&reference.clone(), None, reference)?,
            };
            self.loaded.fetch_add(1, Ordering::Relaxed);
            *link = Link::Node(Box::new(node));
        }
        match link {
            Link::Node(node) => Ok(node),
            Link::Ref(_) => unreachable!("revealed above"),
        }
    }

    /// A link to a node an update built (not yet hashed).
    fn built(&self, node: Node) -> Link {
        let mut count = 0;
        let link = Link::Node(Box::new(Resident::built(node, &mut count)));
        self.loaded.fetch_add(count, Ordering::Relaxed);
        link
    }

    /// Applies `changes` (sorted, distinct, non-empty, sharing their first `depth` nibbles) to
    /// the subtree in `slot`, which sits at `depth`. Returns whether it changed; an unchanged
    /// subtree keeps its reference (it may now be loaded).
    fn update(
        &self,
        slot: &mut Option<Link>,
        depth: usize,
        changes: &[Change],
    ) -> Result<bool, TrieError> {
        let Some(link) = slot.as_mut() else {
            let inserts: Vec<(Nibbles, Bytes)> = changes
                .iter()
                .filter_map(|change| change.value.clone().map(|value| (change.key, value)))
                .collect();
            if inserts.is_empty() {
                return Ok(false);
            }
            *slot = Some(self.built(build_subtree(depth, &inserts)));
            return Ok(true);
        };
        let node = self.reveal(link)?;
        match &mut node.kind {
            Kind::Leaf { key, value } => {
                // The common case, a new value for this very leaf: set it in place.
                if let [Change {
                    key: changed,
                    value: Some(new_value),
                }] = changes
                {
                    if depth + key.len() == KEY_NIBBLES && changed.slice(depth..) == *key {
                        if new_value == value {
                            return Ok(false);
                        }
                        *value = new_value.clone();
                        node.reference = None;
                        return Ok(true);
                    }
                }
                self.update_other_leaf(slot, depth, changes)
            }
            Kind::Extension { key, child } => {
                let key = *key;
                let end = depth + key.len();
                if end >= KEY_NIBBLES {
                    return Err(TrieError::InvalidPath { depth });
                }
                let under = |change: &Change| change.key.slice(depth..end) == key;
                let all_under =
                    changes.first().is_some_and(under) && changes.last().is_some_and(under);
                let inserts_elsewhere = !all_under
                    && changes
                        .iter()
                        .any(|change| change.value.is_some() && !under(change));
                if !inserts_elsewhere {
                    // Only deletions of absent keys leave the extension's path: they change
                    // nothing, so only the changes below it count.
                    let below = if all_under {
                        changes
                    } else {
                        let Some(start) = changes.iter().position(under) else {
                            return Ok(false);
                        };
                        let len = changes[start..].iter().take_while(|c| under(c)).count();
                        &changes[start..start + len]
                    };
                    let mut inner = Some(std::mem::replace(child, Link::Ref(RlpNode::default())));
                    let changed = self.update(&mut inner, end, below)?;
                    if !changed {
                        if let Some(inner) = inner {
                            *child = inner;
                        }
                        return Ok(false);
                    }
                    *slot = match inner {
                        None => None,
                        Some(inner) => Some(Link::Node(Box::new(self.prepend(key, inner)?))),
                    };
                    return Ok(true);
                }
                // A new key leaves the extension: it becomes a branch with one child (the rest of
                // the extension, or the branch below it), which the changes then update.
                let below = std::mem::replace(child, Link::Ref(RlpNode::default()));
                let rest = key.slice(1..);
                let below = if rest.is_empty() {
                    below
                } else {
                    Link::Node(Box::new(Resident::changed(Kind::Extension {
                        key: rest,
                        child: below,
                    })))
                };
                let mut children: Box<[Option<Link>; 16]> = Box::default();
                children[key.get_unchecked(0) as usize] = Some(below);
                *slot = Some(Link::Node(Box::new(Resident::changed(Kind::Branch {
                    children,
                }))));
                self.update(slot, depth, changes)?;
                Ok(true)
            }
            Kind::Branch { children } => {
                if depth >= KEY_NIBBLES {
                    return Err(TrieError::InvalidPath { depth });
                }
                let mut changed = false;
                for (nibble, group) in nibble_groups(changes, depth) {
                    changed |= self.update(&mut children[nibble as usize], depth + 1, group)?;
                }
                if changed {
                    node.reference = None;
                    self.settle_branch(slot)?;
                }
                Ok(changed)
            }
        }
    }

    /// [`Self::update`] of the leaf in `slot` by rebuilding its subtree from the leaf and the
    /// changes.
    fn update_other_leaf(
        &self,
        slot: &mut Option<Link>,
        depth: usize,
        changes: &[Change],
    ) -> Result<bool, TrieError> {
        let Some(Link::Node(node)) = slot.as_ref() else {
            return Ok(false);
        };
        let Kind::Leaf { key, value } = &node.kind else {
            return Ok(false);
        };
        match update_leaf(depth, *key, value.clone(), changes)? {
            Outcome::Unchanged => Ok(false),
            Outcome::Changed(node) => {
                *slot = node.map(|node| self.built(node));
                Ok(true)
            }
        }
    }

    /// [`Self::update`] at the root, with the root branch's children updated and hashed on two
    /// threads (about half of the changes each).
    fn update_split(
        &self,
        slot: &mut Option<Link>,
        changes: &[Change],
        new_nodes: &mut Vec<(B256, Bytes)>,
    ) -> Result<bool, TrieError> {
        let is_branch = match slot.as_mut() {
            Some(link) => matches!(self.reveal(link)?.kind, Kind::Branch { .. }),
            None => false,
        };
        let Some(Link::Node(root)) = slot.as_mut().filter(|_| is_branch) else {
            return self.update(slot, 0, changes);
        };
        let Kind::Branch { children } = &mut root.kind else {
            return self.update(slot, 0, changes);
        };
        let mut slots: Vec<Option<&mut Option<Link>>> = children.iter_mut().map(Some).collect();
        let mut jobs: Vec<_> = nibble_groups(changes, 0)
            .filter_map(|(nibble, group)| Some((slots[nibble as usize].take()?, group)))
            .collect();
        let second = split_in_halves(&mut jobs, |(_, group)| group.len());
        type Jobs<'s, 'c> = Vec<(&'s mut Option<Link>, &'c [Change])>;
        let run = |jobs: Jobs<'_, '_>| -> Result<(bool, Vec<(B256, Bytes)>), TrieError> {
            let mut nodes = Vec::new();
            let mut changed = false;
            for (child, group) in jobs {
                changed |= self.update(child, 1, group)?;
                // Hash here, so the root only encodes references.
                if let Some(link) = child {
                    link_reference(link, &mut nodes);
                }
            }
            Ok((changed, nodes))
        };
        let (first, second) = on_two_threads(|| run(jobs), || run(second));
        let (first, second) = (first?, second?);
        new_nodes.extend(first.1);
        new_nodes.extend(second.1);
        let changed = first.0 || second.0;
        if changed {
            if let Some(Link::Node(root)) = slot.as_mut() {
                root.reference = None;
            }
            self.settle_branch(slot)?;
        }
        Ok(changed)
    }

    /// Makes the changed branch in `slot` canonical: an empty branch disappears, a branch left
    /// with one child merges into it.
    fn settle_branch(&self, slot: &mut Option<Link>) -> Result<(), TrieError> {
        let Some(Link::Node(node)) = slot.as_mut() else {
            return Ok(());
        };
        let Kind::Branch { children } = &mut node.kind else {
            return Ok(());
        };
        let mut present = children.iter().enumerate().filter(|(_, c)| c.is_some());
        let only = match (present.next(), present.next()) {
            (None, _) => {
                *slot = None;
                return Ok(());
            }
            (Some((nibble, _)), None) => nibble,
            (Some(_), Some(_)) => return Ok(()),
        };
        let Some(child) = children[only].take() else {
            return Ok(());
        };
        let prefix = Nibbles::from_nibbles_unchecked([only as u8]);
        *slot = Some(Link::Node(Box::new(self.prepend(prefix, child)?)));
        Ok(())
    }

    /// The canonical node for `link` placed `prefix.len()` nibbles lower: leaves and extensions
    /// absorb the prefix, a branch gets an extension above it (keeping its reference).
    fn prepend(&self, prefix: Nibbles, mut link: Link) -> Result<Resident, TrieError> {
        self.reveal(&mut link)?;
        let Link::Node(node) = link else {
            unreachable!("revealed above")
        };
        Ok(match node.kind {
            Kind::Leaf { key, value } => Resident::changed(Kind::Leaf {
                key: prefix.join(&key),
                value,
            }),
            Kind::Extension { key, child } => Resident::changed(Kind::Extension {
                key: prefix.join(&key),
                child,
            }),
            Kind::Branch { .. } => Resident::changed(Kind::Extension {
                key: prefix,
                child: Link::Node(node),
            }),
        })
    }
}

impl Resident {
    fn changed(kind: Kind) -> Self {
        Self {
            kind,
            reference: None,
        }
    }

    /// Decodes the node whose RLP is `rlp` (stored under `hash`, `None` if embedded) and that its
    /// parent refers to as `reference`; its children stay references.
    fn decode(rlp: &[u8], hash: Option<B256>, reference: RlpNode) -> Result<Self, TrieError> {
        let error = |source| TrieError::Decode { hash, source };
        let mut buf = rlp;
        let decoded = TrieNode::decode(&mut buf).map_err(error)?;
        if !buf.is_empty() {
            return Err(error(alloy_rlp::Error::UnexpectedLength));
        }
        let kind = match decoded {
            TrieNode::EmptyRoot => {
                return Err(error(alloy_rlp::Error::Custom(
                    "empty node used as a child",
                )))
            }
            TrieNode::Leaf(leaf) => Kind::Leaf {
                key: leaf.key,
                value: leaf.value.into(),
            },
            TrieNode::Extension(ext) => Kind::Extension {
                key: ext.key,
                child: Link::Ref(ext.child),
            },
            TrieNode::Branch(branch) => {
                let mut children: Box<[Option<Link>; 16]> = Box::default();
                let mut stack = branch.stack.into_iter();
                for (nibble, child) in children.iter_mut().enumerate() {
                    if branch.state_mask.is_bit_set(nibble as u8) {
                        *child = stack.next().map(Link::Ref);
                    }
                }
                Kind::Branch { children }
            }
        };
        Ok(Self {
            kind,
            reference: Some(reference),
        })
    }

    /// A node an update built, with every built node below it; counts them into `count`.
    fn built(node: Node, count: &mut usize) -> Self {
        *count += 1;
        let mut link = |child: Child| match child {
            Child::Stored(reference) => Link::Ref(reference),
            Child::Built(node) => Link::Node(Box::new(Self::built(*node, count))),
        };
        let kind = match node {
            Node::Leaf { key, value } => Kind::Leaf { key, value },
            Node::Extension { key, child } => Kind::Extension {
                key,
                child: link(child),
            },
            Node::Branch { children } => Kind::Branch {
                children: Box::new((*children).map(|child| child.map(&mut link))),
            },
        };
        Self::changed(kind)
    }
}

/// The reference a parent stores for `link`, encoding (and recording in `new_nodes`, when
/// referenced by hash) every changed node below it first.
fn link_reference(link: &mut Link, new_nodes: &mut Vec<(B256, Bytes)>) -> RlpNode {
    let node = match link {
        Link::Ref(reference) => return reference.clone(),
        Link::Node(node) => node,
    };
    if let Some(reference) = &node.reference {
        return reference.clone();
    }
    let out = match &mut node.kind {
        Kind::Leaf { key, value } => encoded(&LeafNodeRef::new(key, value)),
        Kind::Extension { key, child } => {
            let child = link_reference(child, new_nodes);
            encoded(&ExtensionNodeRef::new(key, &child))
        }
        Kind::Branch { children } => {
            let mut stack: [RlpNode; 16] = Default::default();
            let mut len = 0;
            let mut mask = TrieMask::default();
            for (nibble, child) in children.iter_mut().enumerate() {
                if let Some(child) = child {
                    stack[len] = link_reference(child, new_nodes);
                    len += 1;
                    mask.set_bit(nibble as u8);
                }
            }
            encoded(&BranchNodeRef::new(&stack[..len], mask))
        }
    };
    let reference = RlpNode::from_rlp(&out);
    if let Some(hash) = reference.as_hash() {
        new_nodes.push((hash, out.into()));
    }
    node.reference = Some(reference.clone());
    reference
}

/// The RLP of `node`, in a buffer of exactly its length.
fn encoded(node: &impl Encodable) -> Vec<u8> {
    let mut out = Vec::with_capacity(node.length());
    node.encode(&mut out);
    out
}

#[cfg(test)]
#[path = "sparse_tests.rs"]
mod tests;
