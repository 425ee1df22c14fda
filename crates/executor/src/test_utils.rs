//! Chains for tests: a genesis written into a fresh store. Compiled only for tests and with the
//! `test-utils` feature.

use crate::Blockchain;
use alloy_genesis::Genesis;
use fastevm_storage::{ChainStore, StoreOptions};
use std::{path::Path, sync::Arc};

/// The chain of `genesis` in a fresh in-memory store (`name` only labels it: every call gets
/// its own store).
pub fn in_memory_chain(name: &str, genesis: &Genesis) -> Blockchain {
    let store = ChainStore::open(name, StoreOptions::in_memory()).expect("in-memory store");
    Blockchain::init(Arc::new(store), genesis).expect("genesis")
}

/// The chain of `genesis` in a RocksDB store at `dir` (created, or reopened when it already
/// holds this genesis).
pub fn on_disk_chain(dir: &Path, genesis: &Genesis) -> Blockchain {
    let store = ChainStore::open(dir, StoreOptions::default()).expect("store");
    Blockchain::init(Arc::new(store), genesis).expect("genesis")
}
