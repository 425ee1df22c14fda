//! FastEVM's Engine API server and its authentication.
//!
//! What it is: the `engine_*` JSON-RPC methods (jsonrpsee) with the per-version fork and
//! parameter checks of the execution-apis specs and their error codes, HS256 JWT authentication
//! (secret file, ±60 s `iat`, HTTP 401 before any method runs), FastEVM's payload-attributes
//! extension, and a client helper that signs every request with a fresh token.
//!
//! What it is not: block validation, fork choice and payload building live in `fastevm-engine`;
//! this crate only translates between JSON-RPC and that engine.

#![warn(missing_docs)]

mod api;
mod attributes;
mod auth_eth;
mod auth_layer;
mod blobs;
mod client;
mod engine_rpc;
mod error;
pub mod jwt;
mod server;

pub use api::{ClientVersionV1, EngineApiClient, EngineApiServer, CAPABILITIES};
pub use attributes::FastPayloadAttributes;
pub use auth_eth::{AuthEth, AuthEthApiClient, AuthEthApiServer};
pub use auth_layer::{Clock, JwtAuth, JwtAuthLayer};
pub use client::{engine_http_client, EngineHttpClient, JwtClient, JwtClientLayer};
pub use engine_rpc::EngineRpc;
pub use error::*;
pub use jwt::{JwtError, JwtSecret};
pub use server::{start_auth_server, DEFAULT_AUTH_MAX_CONNECTIONS, MAX_REQUEST_BYTES};
