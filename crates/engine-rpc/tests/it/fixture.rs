//! Engines over a genesis and Engine API servers in front of them, shared by the tests.

use alloy_genesis::Genesis;
use fastevm_engine::Engine;
use fastevm_engine_api::{AuthEthApiServer, JwtSecret};
use fastevm_engine_rpc::{start_auth_server, AuthEth, EngineRpc, DEFAULT_AUTH_MAX_CONNECTIONS};
use fastevm_executor::{
    test_utils::{in_memory_chain, on_disk_chain},
    Blockchain,
};
use jsonrpsee::server::ServerHandle;
use std::{net::SocketAddr, path::Path, sync::Arc};

/// An engine over `genesis` in a fresh in-memory store.
pub(crate) fn engine_on(genesis: &Genesis, name: &str) -> Arc<Engine> {
    Arc::new(Engine::new(in_memory_chain(name, genesis)))
}

/// An engine over the dev genesis in a fresh in-memory store.
pub(crate) fn dev_engine(name: &str) -> Arc<Engine> {
    engine_on(&fastevm_dev_chain::dev_genesis(), name)
}

/// An engine over the dev genesis in a RocksDB store at `dir` (reopened if it exists).
pub(crate) fn dev_engine_at(dir: &Path) -> Arc<Engine> {
    let chain: Blockchain = on_disk_chain(dir, &fastevm_dev_chain::dev_genesis());
    Arc::new(Engine::new(chain))
}

/// An engine behind the JWT-authenticated Engine API server on a loopback port.
pub(crate) struct Node {
    pub(crate) engine: Arc<Engine>,
    pub(crate) addr: SocketAddr,
    pub(crate) secret: JwtSecret,
    pub(crate) _server: ServerHandle,
}

/// Serves `engine` on a free loopback port with a random secret: the `engine_*` methods and
/// the `eth_*` ones a consensus client reads on the same port, as `fastevm node` does.
pub(crate) async fn serve(engine: Arc<Engine>) -> Node {
    let secret = JwtSecret::random();
    let (server, addr) = start_auth_server(
        "127.0.0.1:0".parse().unwrap(),
        secret.clone(),
        EngineRpc::new(engine.clone(), None),
        Some(AuthEth::new(engine.clone()).into_rpc().remove_context()),
        DEFAULT_AUTH_MAX_CONNECTIONS,
    )
    .await
    .unwrap();
    Node {
        engine,
        addr,
        secret,
        _server: server,
    }
}
