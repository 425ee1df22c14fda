//! Starting the authenticated Engine API server.

use crate::{auth_layer::JwtAuthLayer, EngineRpc};
use fastevm_engine_api::{EngineApiServer, JwtSecret, MAX_REQUEST_BYTES};
use jsonrpsee::{
    server::{ServerBuilder, ServerConfig, ServerHandle},
    RpcModule,
};
use std::net::SocketAddr;

/// Default limit of simultaneous Engine API connections (`--authrpc.max-connections`).
pub const DEFAULT_AUTH_MAX_CONNECTIONS: u32 = 1024;

/// Starts the Engine API on `addr` (HTTP and WebSocket), every request authenticated with
/// `secret`. `extra` methods (e.g. `eth_*` that consensus clients call on the auth port) are
/// served behind the same authentication. At most `max_connections` connections are open at
/// once (further ones are refused). Returns the handle and the bound address.
pub async fn start_auth_server(
    addr: SocketAddr,
    secret: JwtSecret,
    engine: EngineRpc,
    extra: Option<RpcModule<()>>,
    max_connections: u32,
) -> std::io::Result<(ServerHandle, SocketAddr)> {
    let middleware = tower::ServiceBuilder::new().layer(JwtAuthLayer::new(secret));
    let config = ServerConfig::builder()
        .max_request_body_size(MAX_REQUEST_BYTES)
        .max_response_body_size(MAX_REQUEST_BYTES)
        .max_connections(max_connections)
        .build();
    let server = ServerBuilder::with_config(config)
        .set_http_middleware(middleware)
        .build(addr)
        .await?;
    let bound = server.local_addr()?;
    let mut module = RpcModule::new(());
    module
        .merge(engine.into_rpc())
        .map_err(std::io::Error::other)?;
    if let Some(extra) = extra {
        module.merge(extra).map_err(std::io::Error::other)?;
    }
    tracing::info!(%bound, "Engine API listening (JWT)");
    Ok((server.start(module), bound))
}
