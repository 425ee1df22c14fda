//! Engine API semantics for FastEVM (the layer reth calls the engine tree).
//!
//! What it is: the synchronous state machine behind `engine_newPayload`,
//! `engine_forkchoiceUpdated`, `engine_getPayload` and `engine_getPayloadBodies*`: payload
//! validation with VALID / INVALID / SYNCING answers, an invalid-block cache and the latest bad
//! blocks (`debug_getBadBlocks`), head moves and
//! reorganisations, safe/finalized tracking, and deterministic payload building from ordered
//! transactions (FastEVM's `transactions` + `noTxPool` attributes extension) or from a pool.
//!
//! The engine runs on its own OS thread ([`Engine::run`]): the Engine API server and the
//! in-process consensus bridge send it calls and await the answers, so no block is built or
//! executed on an async runtime's workers. Each head move is published on a broadcast channel
//! ([`Engine::subscribe_canonical_changes`]) that the pool, filters and subscriptions follow on
//! their own thread.
//!
//! What it is not: no JSON-RPC, no JWT, no fork-version checks of method versions — the
//! `fastevm-engine-rpc` server does those and calls in here.

#![warn(missing_docs)]

mod actor;
mod bad_blocks;
mod blob_sidecars;
mod canonical;
mod engine;
mod error;
mod payload;

pub use bad_blocks::{BadBlock, BadBlocks, BAD_BLOCKS_KEPT};
pub use canonical::{
    CanonicalChange, CanonicalSubscription, ChainBlock, PublishedChanges,
    CANONICAL_CHANNEL_CAPACITY,
};
pub use engine::{Engine, TransactionSource, MAX_PAYLOAD_BODIES};
pub use error::EngineError;
pub use payload::{
    block_value, decode_ordered_transactions, BuiltPayload, DroppedEntries, ForcedSidecars,
    RecoveredTransactions,
};
