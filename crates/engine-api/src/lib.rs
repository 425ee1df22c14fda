//! The Engine API as FastEVM speaks it, shared by the server and its clients.
//!
//! What it is: the `engine_*` methods (and the few `eth_*` ones served on the same
//! authenticated port) as jsonrpsee traits with server and client halves; the payload
//! attributes with FastEVM's extension (an ordered transaction list, `noTxPool`, gas limit,
//! extra data) and the deterministic payload id; HS256 JWT authentication; an HTTP client that
//! signs every request; the execution-apis error codes; [`ExecutionClient`], the block-level
//! view of the four calls the consensus bridge makes, with its JSON-RPC implementation; and
//! FastEVM's pool feed on the same port ([`PoolFeedApi`](PoolFeedApiServer)).
//!
//! What it is not: it depends on no other FastEVM crate. The server (`fastevm-engine-rpc`) and
//! the in-process client live next to the engine they serve; the consensus bridge depends on
//! this crate only, so it reaches its execution node through the Engine API by construction.

#![warn(missing_docs)]

mod api;
mod attributes;
mod error_codes;
mod execution_client;
mod http_client;
pub mod jwt;
mod pool_feed;
mod rpc_execution_client;
#[cfg(any(test, feature = "test-utils"))]
pub mod test_utils;

pub use api::{
    AuthEthApiClient, AuthEthApiServer, ClientVersionV1, EngineApiClient, EngineApiServer,
    CAPABILITIES,
};
pub use attributes::{FastPayloadAttributes, PayloadRequest};
pub use error_codes::*;
pub use execution_client::{BuiltBlock, EngineClientError, ExecutionClient, HeadInfo};
pub use http_client::{engine_http_client, EngineHttpClient, JwtClient, JwtClientLayer};
pub use jwt::{JwtError, JwtSecret};
pub use pool_feed::{
    PendingBatch, PoolFeedApiClient, PoolFeedApiServer, MAX_FEED_BATCH, MAX_FEED_WAIT,
};
pub use rpc_execution_client::RpcExecutionClient;
