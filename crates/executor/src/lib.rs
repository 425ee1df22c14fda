//! FastEVM's execution core.
//!
//! What it is: the chain spec (forks and blob schedule from a geth genesis `config`), genesis
//! import, header validation, block execution on revm through alloy-evm's Ethereum block executor
//! (system calls, withdrawals, EIP-7685 requests, EIP-7702), incremental state-root computation,
//! block building from ordered transactions, the [`Blockchain`] facade that stores results in
//! `fastevm-storage`, and the state simulation behind the JSON-RPC server ([`call`]: `eth_call`,
//! `eth_estimateGas`, `eth_createAccessList`, `eth_getProof`, `eth_simulateV1`).
//!
//! What it is not: no networking, no JSON-RPC server, no transaction pool, no fork-choice policy —
//! callers (the Engine API, import tools) decide which blocks to insert and which head to follow.

#![warn(missing_docs)]

mod block_execution;
mod blockchain;
pub mod call;
mod chain_spec;
mod error;
mod genesis;
pub mod header_validation;
mod sender_recovery;
mod state_db;
mod state_root;
mod trie_prefetch;
mod tx_error;

pub use block_execution::{ExecutionOutcome, ExecutionTimings, InvalidTxPolicy, SkippedTx};
pub use blockchain::{
    logs_bloom, BlockAttributes, Blockchain, BuiltBlock, InsertOutcome, MAX_RLP_BLOCK_SIZE,
};
pub use call::{CallContext, CallError, CallOutcome};
pub use chain_spec::{ChainSpec, FastEvmRules, FASTEVM_RULES_KEY};
pub use error::{ExecutorError, InvalidBlock};
pub use genesis::{alloc_state, genesis_block, init_genesis, merged_at_genesis, parse_genesis};
pub use sender_recovery::{
    recover_senders, SenderCache, SenderPrefetcher, DEFAULT_SENDER_CACHE_ENTRIES,
};
pub use state_db::StateAtBlock;
pub use state_root::{apply_diff, bundle_to_diff, StateRootUpdate};
