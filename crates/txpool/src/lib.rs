//! FastEVM's transaction pool.
//!
//! What it is: a synchronous, internally locked pool (share it as `Arc<TxPool>`) that decodes and
//! validates transactions (EIP-2718 and legacy, chain id, signature, intrinsic gas, fees, nonce,
//! balance), keeps them per sender in nonce order split into *pending* (executable at the head)
//! and *queued* (nonce gap or unaffordable), replaces same-nonce transactions on a fee bump,
//! enforces per-sender and global limits by evicting the lowest-paying transactions, orders
//! pending transactions for block building, follows head moves (including reorg reinjection) and
//! numbers every entry into the pending set so that consumers can read it exactly once.
//!
//! Persistence is optional and file-based only: a pool made by [`TxPool::with_journal`] restores
//! the transactions of its [`PoolJournal`] (geth's `transactions.rlp`: EIP-2718 transactions as
//! concatenated RLP strings) through normal admission, appends every admission to it, and
//! rewrites it atomically once it holds mostly transactions that left the pool, so pooled
//! transactions survive a crash or `kill -9`. [`TxPool::new`] does no I/O at all.
//!
//! Blob transactions (EIP-4844) are pooled with their sidecars, KZG-verified on admission
//! (converted to EIP-7594 cell proofs from Osaka on) and handed out in network form, so the
//! blobs travel with the transaction to every block builder; `blobs_v1`/`blobs_v2` serve
//! `engine_getBlobsV1/V2`. A blob transaction that comes back from a reorged-out block has lost
//! its sidecar and is dropped.
//!
//! What it is not: no networking or gossip, no RPC, no async runtime, and no state access beyond the [`PoolState`] account view the caller passes. Everything
//! observable is deterministic: ordered maps and sequence numbers, never hash-map iteration order
//! or clocks.
//!
//! Rules worth knowing:
//! - Prague rules apply: EIP-7623's calldata floor is always checked, EIP-7702 is accepted, blob
//!   transactions are once [`PoolState::blob_rules`] says the fork has them. An Osaka chain sets [`PoolConfig::tx_gas_limit_cap`] (EIP-7825).
//! - A sender already in the pool is judged against the account view of the last
//!   [`TxPool::on_new_head`] (or of its first admission), so all its transactions see one state.
//! - Limits: a nonce at or past `account nonce + max_account_slots` is "nonce too high". When the
//!   queued set is full, the cheapest queued transactions make room; when the pending set is full,
//!   the cheapest *last* pending transactions of other senders do (so no pending transaction
//!   loses its predecessor). "Cheapest" is the effective tip at the base fee, then the fee cap,
//!   the newest first among equals; nothing is evicted for a newcomer paying no more than it, and
//!   then the newcomer gets "txpool is full".

#![warn(missing_docs)]

mod account_state;
mod best;
mod config;
mod content;
mod error;
mod eviction;
mod intrinsic_gas;
mod journal;
mod left_out;
mod pending_log;
mod pool;
mod reoffer;
mod sender_txs;
#[cfg(any(test, feature = "test-utils"))]
pub mod test_utils;
mod tx_set;
mod validation;

pub use account_state::{AccountInfo, PoolState};
pub use config::PoolConfig;
pub use content::{PoolContent, PoolStatus, PooledTransaction};
pub use error::{PoolError, PoolResult};
pub use journal::PoolJournal;
pub use pool::{JournalReport, TxPool};
pub use reoffer::{Reoffer, REOFFER_AFTER};
