//! FastEVM's end-to-end tests, in one binary (one link of RocksDB and revm instead of one per
//! file): the `fastevm` binary's commands as a user runs them, the dev chain and the Docker
//! devnet, blocks built and imported across nodes, the Ethereum blockchain tests, a real
//! web3.py client. Each module's tests run one module at a time (see [`module_turn`]), as they
//! did when every file was its own binary.

mod blob_transactions;
mod block_building;
mod blockchain_tests;
mod chain_file;
mod connection_limits;
mod dashboard;
mod dev_chain;
mod dev_genesis;
mod docker_devnet;
mod log_output;
mod metrics;
mod module_turn;
mod monitoring_config;
mod node_restart;
mod pool_building;
mod pool_journal;
mod validator_restart;
mod web3_client;
