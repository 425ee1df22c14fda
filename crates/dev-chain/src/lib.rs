//! FastEVM's development chain, in one place for the binary, the tests and the benchmarks.
//!
//! What it is: the dev chain's genesis (`genesis/dev.json` is [`dev_genesis_json`]), the ten
//! accounts of the standard test mnemonic that it funds and their signers, and signing EIP-1559
//! transactions from local keys (what `fastevm load` sends and tests build blocks from).
//!
//! What it is not: no node, no store, no network. A chain over this genesis is
//! `fastevm_executor::Blockchain::init`; test fixtures live in each crate's `test_utils`.

#![warn(missing_docs)]

mod genesis;
mod signing;

pub use genesis::{
    dev_genesis, dev_genesis_json, dev_signers, DEV_ACCOUNTS, DEV_BALANCE_WEI, DEV_CHAIN_ID,
    DEV_GAS_LIMIT, DEV_MNEMONIC,
};
pub use signing::{sign_eip1559, TxFees};
