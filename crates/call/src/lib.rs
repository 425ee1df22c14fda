//! State simulation for the JSON-RPC server: `eth_call`, `eth_estimateGas`,
//! `eth_createAccessList`, `eth_getProof` and `eth_simulateV1` over the post-state of any
//! retained block, and `debug_trace*` re-execution of stored blocks.
//!
//! Every primitive takes a [`CallContext`]: the store, the chain spec, and the block (header and
//! hash) whose post-state is read. Reads go through [`StateAtBlock`]: flat
//! tables at the canonical head, the state trie for any other retained block. Nothing is ever
//! written to the store; overrides and simulated blocks live in revm's in-memory cache.
//!
//! Semantics follow geth:
//! - A call runs in the environment of the block's own header (number, timestamp, base fee,
//!   prevRandao), with the nonce and EOA checks off and no block gas limit; the gas limit defaults
//!   to the gas cap ([`DEFAULT_GAS_CAP`] unless the server sets another; 0 means no cap) and
//!   explicit limits above the cap are lowered to it.
//! - A call without fee fields (or with zero fees) pays gas price 0 and runs with base fee 0, so
//!   no fee check fails; the balance must still cover the value.
//! - A revert is [`CallError::Reverted`] (data = revert output, message "execution reverted"
//!   plus the decoded `Error(string)`/`Panic(uint256)` reason).
//!
//! Errors are [`CallError`], with geth's messages and [`CallError::data`]; the RPC server
//! (`fastevm-rpc`) gives each its JSON-RPC code.
//!
//! What it is not: block execution and storage (`fastevm-executor`, `fastevm-storage`, whose
//! state it reads and never writes), and the JSON-RPC server (`fastevm-rpc`, which calls in here).

#![warn(missing_docs)]

mod access_list;
mod error;
mod estimate_gas;
mod eth_call;
mod proof;
mod sim_tracer;
mod simulate;
mod simulate_error;
mod simulated_block;
mod trace;
mod trace_call;

pub(crate) mod environment;

#[cfg(test)]
mod test_chain;

pub use access_list::create_access_list;
pub use error::{decode_revert_reason, CallError, SimulationFailure};
pub use estimate_gas::estimate_gas;
pub use eth_call::call;
pub use proof::account_proof;
pub use simulate::{simulate_v1, MAX_SIMULATED_BLOCKS};
pub use trace::{trace_block, BlockToTrace};
pub use trace_call::trace_call;

use alloy_consensus::Header;
use alloy_primitives::{Bytes, Log, B256};
use fastevm_executor::{ChainSpec, StateAtBlock};
use fastevm_storage::ChainStore;

/// Gas cap of calls when the server configures none (geth's `--rpc.gascap` default).
pub const DEFAULT_GAS_CAP: u64 = 50_000_000;

/// The block whose post-state a call reads.
#[derive(Debug, Clone, Copy)]
pub struct CallContext<'a> {
    /// The chain database.
    pub store: &'a ChainStore,
    /// The chain's rules.
    pub spec: &'a ChainSpec,
    /// Header of the block whose post-state is read (its fields also form the call's block
    /// environment).
    pub header: &'a Header,
    /// Hash of that block.
    pub block_hash: B256,
}

impl CallContext<'_> {
    /// The block's post-state.
    pub(crate) fn state(&self) -> Result<StateAtBlock<'_>, CallError> {
        Ok(StateAtBlock::new(self.store, self.block_hash)?)
    }
}

/// What a successful call returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallOutcome {
    /// Return data (for a contract creation: the deployed code).
    pub output: Bytes,
    /// Gas used, after refunds.
    pub gas_used: u64,
    /// Logs emitted.
    pub logs: Vec<Log>,
}
