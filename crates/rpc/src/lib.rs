//! FastEVM's public JSON-RPC server.
//!
//! What it is: the `eth_*`, `net_*`, `web3_*`, `txpool_*`, `debug_getRaw*` and `debug_trace*`
//! methods of execution-apis and geth over jsonrpsee (HTTP and WebSocket, batches, size limits, CORS), with
//! geth's error codes and messages; state reads at any retained block (numbers, tags and EIP-1898
//! block objects); EVM calls through `fastevm-call`; log queries with range and result
//! limits; polling filters that expire on a logical clock; WebSocket subscriptions (`newHeads`,
//! `logs`, `newPendingTransactions`, `syncing`); the pool as the engine's [`PoolSource`]; and
//! the [`CanonicalFollower`], which follows the engine's published head moves on its own thread
//! to update the transaction pool and publish [`ChainEvents`].
//!
//! What it is not: no Engine API (that is `fastevm-engine-rpc` on the authenticated port), no
//! JavaScript or 4byte tracers, no keystore (only accounts unlocked at start-up, for dev chains,
//! sign: see [`UnlockedAccounts`]), no pending block (`pending` means the head), no blob transaction pool.
//!
//! Wiring: build an [`RpcContext`] over the store, chain spec and pool, connect it to the engine
//! with [`RpcContext::attach_to`], and [`start_rpc_server`].

#![warn(missing_docs)]

mod accounts;
mod api;
mod bad_blocks;
mod block_id;
mod blocks;
mod call;
mod call_metrics;
mod canonical_follower;
mod capabilities;
mod chain_config;
mod context;
mod convert;
mod cors;
mod debug_raw;
mod debug_trace;
mod error;
mod eth;
mod events;
mod fees;
mod filters;
mod logs;
mod net_web3;
mod param_check;
mod params;
mod pool;
mod pool_source;
mod server;
mod state;
mod subscription_id;
mod subscriptions;
mod testing;
mod txpool_types;

pub use accounts::{FillTransactionResult, SignTransactionResult, UnlockedAccounts};
pub use api::{
    DebugRawApiClient, DebugRawApiServer, DebugTraceApiClient, DebugTraceApiServer,
    EthAccountsApiClient, EthAccountsApiServer, EthApiClient, EthApiServer, EthPubSubApiClient,
    EthPubSubApiServer, NetApiClient, NetApiServer, TxpoolApiClient, TxpoolApiServer,
    Web3ApiClient, Web3ApiServer,
};
pub use bad_blocks::BadBlockInfo;
pub use canonical_follower::CanonicalFollower;
pub use capabilities::{Capabilities, HeadCapability, ResourceCapability};
pub use chain_config::{BlobScheduleEntry, EthConfig, ForkConfig};
pub use context::{QueryLimits, RpcContext};
pub use cors::{AllowAnyOrigin, AllowAnyOriginLayer};
pub use error::*;
pub use eth::EthRpc;
pub use events::{
    BlockEvent, CanonicalUpdate, ChainEvents, HeadState, EVENT_CHANNEL_CAPACITY, FOLLOWER_WAIT,
};
pub use fees::{
    DEFAULT_TIP, IGNORE_TIP_BELOW, MAX_FEE_HISTORY_BLOCKS, MAX_REWARD_PERCENTILES, MAX_TIP,
    TIP_PERCENTILE, TIP_SAMPLES_PER_BLOCK, TIP_SAMPLE_BLOCKS,
};
pub use filters::{FilterPoll, FilterRegistry, FILTER_TIMEOUT_SECS, MAX_BUFFERED_CHANGES};
pub use net_web3::CLIENT_VERSION;
pub use param_check::{check_params, signature, Arg, Param};
pub use params::GethParam;
pub use pool_source::PoolSource;
pub use server::{
    rpc_module, start_rpc_server, RpcServerConfig, RpcServerHandle, DEFAULT_MAX_CONNECTIONS,
};
pub use state::{MAX_PROOF_KEYS, MAX_STORAGE_VALUES};
pub use testing::{next_gas_limit, GETH_GAS_CEILING};
pub use txpool_types::{
    TransactionsByNonce, TxpoolContent, TxpoolContentFrom, TxpoolInspect, TxpoolStatus,
};
