//! Integration tests of the public RPC server over loopback: polling filters, WebSocket
//! subscriptions driven by the engine, HTTP-level behaviour (batches, limits, errors, CORS),
//! transaction submission errors and historical state reads.

#[path = "../common/mod.rs"]
mod common;

mod filters;
mod http;
mod state;
mod subscriptions;
