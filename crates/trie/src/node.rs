//! The trie's working form of a node: decoded from stored RLP, edited in memory, encoded back.
//!
//! Children that an update does not touch stay as [`Child::Stored`] references (a hash or the
//! embedded RLP of a small node), so they are neither read nor re-encoded.

use crate::{NodeStore, TrieError};
use alloy_primitives::{keccak256, Bytes, B256};
use alloy_rlp::{Decodable, Encodable};
use alloy_trie::{
    nodes::{BranchNodeRef, ExtensionNodeRef, LeafNodeRef, RlpNode, TrieNode},
    Nibbles, TrieMask, EMPTY_ROOT_HASH,
};

/// Number of children of a branch node.
const BRANCH_WIDTH: usize = 16;

/// Reference from a parent node to a child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Child {
    /// As found in the parent's RLP: `rlp(hash)` of a stored node, or a small node's own RLP.
    Stored(RlpNode),
    /// A node built or changed by the current update, not yet encoded.
    Built(Box<Node>),
}

/// A non-empty trie node. Keys are 32-byte hashes, so branches never carry a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    /// The rest of one key and its value.
    Leaf {
        /// Remaining key nibbles below this node's position.
        key: Nibbles,
        /// The leaf value (e.g. RLP of an account or of a storage word).
        value: Bytes,
    },
    /// A shared run of nibbles leading to a branch.
    Extension {
        /// The shared nibbles (at least one).
        key: Nibbles,
        /// The branch below.
        child: Child,
    },
    /// Sixteen optional children, one per next nibble.
    Branch {
        /// Child per nibble; at least two are present in a canonical trie.
        children: Box<[Option<Child>; BRANCH_WIDTH]>,
    },
}

impl Node {
    /// Decodes one node; `hash` is only used in the error. `None` for the empty node (`0x80`).
    pub(crate) fn decode(mut rlp: &[u8], hash: Option<B256>) -> Result<Option<Self>, TrieError> {
        let error = |source| TrieError::Decode { hash, source };
        let decoded = TrieNode::decode(&mut rlp).map_err(error)?;
        if !rlp.is_empty() {
            return Err(error(alloy_rlp::Error::UnexpectedLength));
        }
        Ok(match decoded {
            TrieNode::EmptyRoot => None,
            TrieNode::Leaf(leaf) => Some(Self::Leaf {
                key: leaf.key,
                value: leaf.value.into(),
            }),
            TrieNode::Extension(ext) => Some(Self::Extension {
                key: ext.key,
                child: Child::Stored(ext.child),
            }),
            TrieNode::Branch(branch) => {
                let mut children: Box<[Option<Child>; BRANCH_WIDTH]> = Box::default();
                for (nibble, child) in branch.as_ref().children() {
                    children[nibble as usize] = child.cloned().map(Child::Stored);
                }
                Some(Self::Branch { children })
            }
        })
    }

    /// RLP encoding of this node. Built children are encoded first; those of 32 bytes or more are
    /// hashed and pushed to `new_nodes`, smaller ones are embedded.
    pub(crate) fn encode(self, new_nodes: &mut Vec<(B256, Bytes)>) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Self::Leaf { key, value } => LeafNodeRef::new(&key, &value).encode(&mut out),
            Self::Extension { key, child } => {
                let child = child.into_reference(new_nodes);
                ExtensionNodeRef::new(&key, &child).encode(&mut out);
            }
            Self::Branch { children } => {
                let mut stack = Vec::with_capacity(BRANCH_WIDTH);
                let mut mask = TrieMask::default();
                for (nibble, child) in children.into_iter().enumerate() {
                    if let Some(child) = child {
                        stack.push(child.into_reference(new_nodes));
                        mask.set_bit(nibble as u8);
                    }
                }
                BranchNodeRef::new(&stack, mask).encode(&mut out);
            }
        }
        out
    }
}

impl Child {
    /// The reference a parent stores for this child, encoding (and recording) it if built.
    pub(crate) fn into_reference(self, new_nodes: &mut Vec<(B256, Bytes)>) -> RlpNode {
        match self {
            Self::Stored(reference) => reference,
            Self::Built(node) => {
                let rlp = node.encode(new_nodes);
                let reference = RlpNode::from_rlp(&rlp);
                if let Some(hash) = reference.as_hash() {
                    new_nodes.push((hash, rlp.into()));
                }
                reference
            }
        }
    }
}

/// Reads nodes from a store for one operation.
pub(crate) struct NodeLoader<'a, S: ?Sized> {
    store: &'a S,
}

impl<'a, S: NodeStore + ?Sized> NodeLoader<'a, S> {
    pub(crate) fn new(store: &'a S) -> Self {
        Self { store }
    }

    /// RLP of the node stored under `hash`.
    pub(crate) fn rlp_by_hash(&self, hash: &B256) -> Result<Bytes, TrieError> {
        self.store.node(hash)?.ok_or(TrieError::MissingNode(*hash))
    }

    /// The root node of the trie with root `root`; `None` for the empty trie.
    pub(crate) fn root(&self, root: B256) -> Result<Option<Node>, TrieError> {
        if root == EMPTY_ROOT_HASH {
            return Ok(None);
        }
        Node::decode(&self.rlp_by_hash(&root)?, Some(root))
    }

    /// The node a child reference points to (read from the store only if referenced by hash).
    pub(crate) fn child(&self, child: &Child) -> Result<Node, TrieError> {
        match child {
            Child::Built(node) => Ok((**node).clone()),
            Child::Stored(reference) => {
                let node = match reference.as_hash() {
                    Some(hash) => Node::decode(&self.rlp_by_hash(&hash)?, Some(hash))?,
                    None => Node::decode(reference, None)?,
                };
                node.ok_or(TrieError::Decode {
                    hash: reference.as_hash(),
                    source: alloy_rlp::Error::Custom("empty node used as a child"),
                })
            }
        }
    }
}

/// Hashes a root node's RLP and records it: the root is always stored by hash, even when short.
pub(crate) fn commit_root(node: Node, new_nodes: &mut Vec<(B256, Bytes)>) -> B256 {
    let rlp = node.encode(new_nodes);
    let hash = keccak256(&rlp);
    new_nodes.push((hash, rlp.into()));
    hash
}
