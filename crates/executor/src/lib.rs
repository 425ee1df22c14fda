//! FastEVM's execution core.
//!
//! What it is: the chain spec (forks and blob schedule from a geth genesis `config`), genesis
//! import, header validation, block execution on revm through alloy-evm's Ethereum block executor
//! (system calls, withdrawals, EIP-7685 requests, EIP-7702), incremental state-root computation,
//! block building from ordered transactions, and the [`Blockchain`] facade that stores results in
//! `fastevm-storage`. The block environment and the geth error strings are public for
//! `fastevm-call`, the state simulation behind the JSON-RPC server.
//!
//! What it is not: no networking, no JSON-RPC server, no transaction pool, no fork-choice policy —
//! callers (the Engine API, import tools) decide which blocks to insert and which head to follow;
//! no `eth_call` and tracing (`fastevm-call`).

#![warn(missing_docs)]

mod block_execution;
mod blockchain;
mod body_roots;
mod chain_spec;
mod error;
mod genesis;
pub mod header_validation;
mod resident_tries;
mod sender_recovery;
mod state_db;
mod state_root;
#[cfg(any(test, feature = "test-utils"))]
pub mod test_utils;
mod trie_prefetch;
mod tx_error;

pub use block_execution::{
    block_env, execution_ctx, BodyParts, ExecutionOutcome, ExecutionTimings, InvalidTxPolicy,
    SkippedTx,
};
pub use blockchain::{
    logs_bloom, BlockAttributes, Blockchain, BuiltBlock, InsertOutcome, MAX_RLP_BLOCK_SIZE,
};
pub use body_roots::BodyRoots;
pub use chain_spec::{ChainSpec, FastEvmRules, FASTEVM_RULES_KEY};
pub use error::{ExecutorError, InvalidBlock};
pub use genesis::{alloc_state, genesis_block, init_genesis, merged_at_genesis, parse_genesis};
pub use resident_tries::{ResidentTries, DEFAULT_RESIDENT_TRIE_NODES, PRUNE_LEVELS};
pub use sender_recovery::{
    recover_senders, SenderCache, SenderPrefetcher, DEFAULT_SENDER_CACHE_ENTRIES,
};
pub use state_db::StateAtBlock;
pub use state_root::{apply_diff, bundle_to_diff, StateRootUpdate};
pub use tx_error::geth_invalid_tx;
