//! FastEVM's chain database on RocksDB.
//!
//! What it is: the persistent store of blocks (headers, bodies, senders, receipts), the
//! canonical chain index, transaction lookups, the flat state of the canonical head (accounts,
//! storage, bytecode) behind a moka cache, the trie nodes of every retained state root, and one
//! [`StateDiff`] per block so the canonical head can move across reorganisations. Every block
//! commit and every head move is one group of writes that readers see at once; groups reach
//! RocksDB in order, whole, in atomic `WriteBatch`es — at once ([`Persistence::WriteThrough`]) or
//! from a background thread ([`Persistence::Background`], the default) — so a crash at any point
//! leaves the database at a whole block, at most a few blocks behind what readers last saw.
//!
//! What it is not: it executes nothing and validates nothing — the executor crate decides what
//! goes in. It does not compute state roots (that is `fastevm-trie`, over this store's nodes).

#![warn(missing_docs)]

mod block_commit;
mod codec;
mod error;
mod flat_state;
mod persistence;
mod state_cache;
mod state_diff;
mod store;
mod tables;
#[cfg(any(test, feature = "test-utils"))]
pub mod test_utils;

pub use block_commit::ExecutedBlock;
pub use codec::TxLocation;
pub use error::StorageError;
pub use persistence::Persistence;
pub use state_diff::{AccountDiff, SlotDiff, StateDiff};
pub use store::{ChainStore, SafeAndFinalized, StoreOptions};
pub use tables::{MetaKey, Table};
