//! Integration tests of the public RPC server over loopback: polling filters, the canonical
//! follower falling behind or stuck, WebSocket subscriptions driven by the engine, HTTP-level
//! behaviour (batches, limits, errors, CORS), transaction submission errors, historical state
//! reads, unlocked dev accounts, bad blocks, and the served method list against the
//! execution-apis spec.

#[path = "../common/mod.rs"]
mod common;

mod accounts;
mod bad_blocks;
mod filters;
mod follower;
mod http;
mod param_errors;
mod spec_methods;
mod state;
mod subscriptions;
