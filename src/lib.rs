//! The `fastevm` node: command-line entry points that wire the execution crates (and, later, the
//! consensus crates) into one binary. Library code lives in `crates/*`; this crate only holds the
//! glue the binary and the end-to-end tests share.

pub mod cli;
pub mod dev_genesis;
pub mod node;
pub mod test_utils;
