//! Starting the public JSON-RPC server: HTTP and WebSocket (on one port, or WebSocket on its own),
//! request/response size and batch limits, CORS for dapps, and the ticker that advances the
//! filters' logical clock.

use crate::{
    api::{
        DebugRawApiServer, DebugTraceApiServer, EthAccountsApiServer, EthApiServer,
        EthPubSubApiServer, NetApiServer, TestingApiServer, TxpoolApiServer, Web3ApiServer,
    },
    call_metrics::{CallMetrics, CallMetricsConfig},
    cors::AllowAnyOriginLayer,
    param_check::ParamCheck,
    EthRpc, QueryLimits, RpcContext, RpcError,
};
use jsonrpsee::{
    server::{BatchRequestConfig, ServerBuilder, ServerConfig, ServerHandle},
    RpcModule,
};
use std::{net::SocketAddr, sync::Arc, time::Duration};
use tokio::task::JoinHandle;

/// Default limit of simultaneous public JSON-RPC connections per listener.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 2048;

/// Settings of the public RPC server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcServerConfig {
    /// HTTP listen address (port 0 picks a free port).
    pub http_addr: SocketAddr,
    /// WebSocket listen address; `None` serves WebSocket on the HTTP port too.
    pub ws_addr: Option<SocketAddr>,
    /// Largest request body (bytes); larger requests get HTTP 413 / error -32007.
    pub max_request_body_bytes: u32,
    /// Largest response body (bytes).
    pub max_response_body_bytes: u32,
    /// Most calls in one batch request.
    pub max_batch_len: u32,
    /// Most simultaneous connections (per listener).
    pub max_connections: u32,
    /// Most subscriptions one WebSocket connection may hold.
    pub max_subscriptions_per_connection: u32,
    /// Gas cap of `eth_call` and friends.
    pub gas_cap: u64,
    /// Most blocks one log query may span.
    pub max_logs_range: u64,
    /// Most logs one log query may return.
    pub max_log_results: usize,
    /// Answer CORS preflights and allow every origin (browser dapps).
    pub cors_allow_any_origin: bool,
    /// Serve the `testing_*` namespace (`testing_buildBlockV1`), as geth with `--http.api
    /// testing`. Off by default.
    pub testing_api: bool,
}

impl Default for RpcServerConfig {
    fn default() -> Self {
        let limits = QueryLimits::default();
        Self {
            http_addr: SocketAddr::from(([127, 0, 0, 1], 8545)),
            ws_addr: None,
            max_request_body_bytes: 15 * 1024 * 1024,
            max_response_body_bytes: 160 * 1024 * 1024,
            max_batch_len: 1000,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_subscriptions_per_connection: 1024,
            gas_cap: limits.gas_cap,
            max_logs_range: limits.max_logs_range,
            max_log_results: limits.max_log_results,
            cors_allow_any_origin: true,
            testing_api: false,
        }
    }
}

impl RpcServerConfig {
    /// The query limits these settings give the methods.
    pub fn limits(&self) -> QueryLimits {
        QueryLimits {
            gas_cap: self.gas_cap,
            max_logs_range: self.max_logs_range,
            max_log_results: self.max_log_results,
        }
    }
}

/// A running server; dropping it stops the listeners and the filter clock.
#[derive(Debug)]
pub struct RpcServerHandle {
    /// Where HTTP (and WebSocket, when it shares the port) is served.
    pub http_addr: SocketAddr,
    /// Where WebSocket is served.
    pub ws_addr: SocketAddr,
    servers: Vec<ServerHandle>,
    clock: JoinHandle<()>,
}

impl RpcServerHandle {
    /// Stops accepting connections and ends the running ones.
    pub fn stop(&self) {
        for server in &self.servers {
            // Already stopped is fine.
            let _ = server.stop();
        }
        self.clock.abort();
    }

    /// Waits until every listener has stopped.
    pub async fn stopped(self) {
        for server in self.servers.clone() {
            server.stopped().await;
        }
    }
}

impl Drop for RpcServerHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Every public namespace over `ctx`, as one module (e.g. to serve it on another server too).
pub fn rpc_module(
    ctx: RpcContext,
    limits: QueryLimits,
    testing_api: bool,
) -> Result<RpcModule<()>, RpcError> {
    let rpc = EthRpc::new(ctx, limits);
    let mut module = RpcModule::new(());
    let merge_error = |e: jsonrpsee::core::RegisterMethodError| RpcError::Server(e.to_string());
    module
        .merge(EthApiServer::into_rpc(rpc.clone()))
        .map_err(merge_error)?;
    module
        .merge(EthAccountsApiServer::into_rpc(rpc.clone()))
        .map_err(merge_error)?;
    module
        .merge(EthPubSubApiServer::into_rpc(rpc.clone()))
        .map_err(merge_error)?;
    module
        .merge(NetApiServer::into_rpc(rpc.clone()))
        .map_err(merge_error)?;
    module
        .merge(Web3ApiServer::into_rpc(rpc.clone()))
        .map_err(merge_error)?;
    module
        .merge(TxpoolApiServer::into_rpc(rpc.clone()))
        .map_err(merge_error)?;
    module
        .merge(DebugRawApiServer::into_rpc(rpc.clone()))
        .map_err(merge_error)?;
    if testing_api {
        module
            .merge(TestingApiServer::into_rpc(rpc.clone()))
            .map_err(merge_error)?;
    }
    module
        .merge(DebugTraceApiServer::into_rpc(rpc))
        .map_err(merge_error)?;
    Ok(module)
}

fn server_config(config: &RpcServerConfig, transport: Transport) -> ServerConfig {
    let builder = ServerConfig::builder()
        .max_request_body_size(config.max_request_body_bytes)
        .max_response_body_size(config.max_response_body_bytes)
        .max_connections(config.max_connections)
        .max_subscriptions_per_connection(config.max_subscriptions_per_connection)
        .set_batch_request_config(BatchRequestConfig::Limit(config.max_batch_len))
        .set_id_provider(crate::subscription_id::HexSubscriptionIds::new());
    match transport {
        Transport::Both => builder.build(),
        Transport::HttpOnly => builder.http_only().build(),
        Transport::WsOnly => builder.ws_only().build(),
    }
}

#[derive(Debug, Clone, Copy)]
enum Transport {
    Both,
    HttpOnly,
    WsOnly,
}

async fn listen(
    addr: SocketAddr,
    config: &RpcServerConfig,
    transport: Transport,
    module: RpcModule<()>,
    call_metrics: Option<CallMetricsConfig>,
) -> Result<(ServerHandle, SocketAddr), RpcError> {
    let middleware =
        tower::ServiceBuilder::new().layer(AllowAnyOriginLayer::new(config.cors_allow_any_origin));
    let rpc_middleware = jsonrpsee::core::middleware::RpcServiceBuilder::new()
        .layer_fn(move |service| CallMetrics::new(service, call_metrics.clone()))
        .layer_fn(ParamCheck::new);
    let server = ServerBuilder::with_config(server_config(config, transport))
        .set_http_middleware(middleware)
        .set_rpc_middleware(rpc_middleware)
        .build(addr)
        .await?;
    let bound = server.local_addr()?;
    Ok((server.start(module), bound))
}

/// Starts the public JSON-RPC server over `ctx`. Returns once it listens; the handle tells the
/// bound addresses.
pub async fn start_rpc_server(
    config: RpcServerConfig,
    ctx: RpcContext,
) -> Result<RpcServerHandle, RpcError> {
    let module = rpc_module(ctx.clone(), config.limits(), config.testing_api)?;
    let call_metrics = ctx.metrics.clone().map(|metrics| CallMetricsConfig {
        metrics,
        served: Arc::new(module.method_names().collect()),
    });
    let (servers, http_addr, ws_addr) = match config.ws_addr {
        None => {
            let (server, bound) = listen(
                config.http_addr,
                &config,
                Transport::Both,
                module,
                call_metrics,
            )
            .await?;
            (vec![server], bound, bound)
        }
        Some(ws) => {
            let (http, http_bound) = listen(
                config.http_addr,
                &config,
                Transport::HttpOnly,
                module.clone(),
                call_metrics.clone(),
            )
            .await?;
            let (ws, ws_bound) =
                listen(ws, &config, Transport::WsOnly, module, call_metrics).await?;
            (vec![http, ws], http_bound, ws_bound)
        }
    };
    let events = ctx.events.clone();
    let clock = tokio::spawn(async move {
        let start = tokio::time::Instant::now();
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        loop {
            ticker.tick().await;
            let removed = events.filters().advance_clock(start.elapsed().as_secs());
            if removed > 0 {
                tracing::debug!(removed, "expired filters removed");
            }
        }
    });
    tracing::info!(%http_addr, %ws_addr, "JSON-RPC listening");
    Ok(RpcServerHandle {
        http_addr,
        ws_addr,
        servers,
        clock,
    })
}
