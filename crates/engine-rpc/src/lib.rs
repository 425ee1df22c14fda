//! FastEVM's Engine API server, and the in-process client of the same engine.
//!
//! What it is: the server halves of `fastevm-engine-api`'s methods over the engine, with the
//! per-version fork and parameter checks of the execution-apis specs and their error codes;
//! HS256 JWT authentication of every request (HTTP 401 before any method runs); the `eth_*`
//! methods of the authenticated port; [`PoolFeedServer`], the pool feed a separate-process
//! validator reads; and [`InProcessClient`], the consensus bridge's
//! [`fastevm_engine_api::ExecutionClient`] for an engine in the same process.
//!
//! What it is not: the method definitions, attributes, JWT tokens and clients are in
//! `fastevm-engine-api`; block validation, fork choice and payload building live in
//! `fastevm-engine`; this crate only translates between the two.

#![warn(missing_docs)]

mod auth_eth;
mod auth_layer;
mod blobs;
mod engine_rpc;
mod error;
mod in_process_client;
mod pool_feed_server;
mod server;

pub use auth_eth::AuthEth;
pub use auth_layer::{Clock, JwtAuth, JwtAuthLayer};
pub use engine_rpc::EngineRpc;
pub use error::EngineRpcError;
pub use in_process_client::InProcessClient;
pub use pool_feed_server::PoolFeedServer;
pub use server::{start_auth_server, DEFAULT_AUTH_MAX_CONNECTIONS};
