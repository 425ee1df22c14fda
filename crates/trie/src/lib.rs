//! Incremental Ethereum Merkle Patricia Trie over a hash-keyed node store.
//!
//! Used for the account trie and the per-account storage tries: state roots, historical state
//! reads and `eth_getProof`. Nodes are addressed by the keccak256 of their RLP, so every root
//! ever committed stays readable as long as its nodes are kept (archive mode: nothing is
//! deleted). [`apply_changes`] updates a trie in one pass over the sorted changed keys and reads
//! only the nodes on their paths; it returns the new root and the new nodes, which the caller
//! persists. [`apply_changes_parallel`] does the same on two threads for large batches.
//! [`SparseTrie`] gives the same results while keeping the nodes it loaded decoded in memory
//! between updates (the state root's tries, kept from block to block).
//!
//! What this crate is not: it does not hash keys (callers pass `keccak(address)` /
//! `keccak(slot)`), does not encode accounts, and does no I/O of its own — storage sits behind
//! the [`NodeStore`] trait. Keys are always 32 bytes, so branch nodes never hold values.

#![warn(missing_docs)]

mod build;
mod error;
mod node;
mod parallel;
mod read;
mod sparse;
mod store;
mod update;

#[cfg(test)]
mod test_utils;

pub use alloy_trie::EMPTY_ROOT_HASH;
pub use build::build_from_leaves;
pub use error::TrieError;
pub use parallel::{apply_changes_parallel, on_two_threads, CORES, PARALLEL_MIN_CHANGES};
pub use read::{get, proof};
pub use sparse::SparseTrie;
pub use store::{MemoryNodeStore, NodeStore, OverlayNodeStore};
pub use update::{apply_changes, TrieUpdate};
