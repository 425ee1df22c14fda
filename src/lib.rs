//! The `fastevm` node: command-line entry points that wire the execution and consensus crates
//! into one binary (`init`, `node`, `consensus`, `keygen`, `dev`, `import`, `export`, `load`,
//! `dashboard`).
//! Library code lives in `crates/*`; this crate only holds the glue the binary and the
//! end-to-end tests share.

#![warn(missing_docs)]

pub mod chain_file;
pub mod cli;
pub mod commit_observer;
pub mod consensus_cmd;
pub mod dashboard;
pub mod dev;
pub mod duration_arg;
pub mod execution;
pub mod json_rpc_client;
pub mod load;
pub mod node;
#[cfg(any(test, feature = "test-utils"))]
pub mod test_utils;
pub mod tx_feed;
pub mod validator_metrics;
