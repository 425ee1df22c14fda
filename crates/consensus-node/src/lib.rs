//! fastevm-consensus-node: the runtime that turns the pure Mysticeti core into a validator.
//!
//! What it is: the I/O edge around [`fastevm_consensus::Core`].
//! - [`RocksStore`]: the consensus [`Store`](fastevm_consensus::Store) in RocksDB (blocks,
//!   commits, metadata; one atomic `WriteBatch` per store batch; optional fsync).
//! - [`ConsensusMessage`]: the wire messages (block, block request, block response) with a
//!   deterministic, size-limited encoding and typed decode errors.
//! - [`ValidatorLogic`]: a pure, synchronous message handler (verification, synchronizer,
//!   leader-timeout and re-broadcast timers, ordered exactly-once commit delivery) shared by
//! - [`SimValidator`] (the deterministic simulator of `fastevm-network`) and
//! - [`ValidatorNode`] (tokio + TCP + RocksDB), started from a [`ValidatorConfig`] that can be
//!   built from the JSON [`CommitteeFile`] / [`NodeConfigFile`]; [`generate_local_committee`]
//!   makes a local committee for a keygen command.
//!
//! What it is not: no protocol rules (they live in `fastevm-consensus`), no transaction pool
//! and no execution — transactions come in through a
//! [`TransactionSource`](fastevm_consensus::TransactionSource) and committed sub-DAGs go out
//! through a channel. A node far behind catches up through certified commit ranges
//! ([`commit_syncer`]). Connections between validators are authenticated with their block-signing
//! keys ([`CommitteeAuth`]): a peer that cannot sign for the index it claims is dropped. A validator whose store holds
//! no block of its own first asks its peers for its latest block (amnesia recovery) and proposes
//! only above it.
//!
//! Safety invariants kept here: an own block is written to the store before it is broadcast
//! (the core persists it before returning it); after a restart the node recovers its DAG and
//! last commit from the store and never signs a second block for a round it already signed;
//! commits reach the consumer in index order, each once, after they are persisted.

#![warn(missing_docs)]

pub mod commit_syncer;
mod config;
mod error;
pub mod executed_votes;
pub mod future_blocks;
mod logic;
mod message;
mod node;
mod own_block_sync;
mod peer_auth;
mod rocks_store;
mod sim_validator;
mod synchronizer;

pub use config::{
    generate_local_committee, AcceptedTransactionsHook, AuthorityEntry, CommitteeFile,
    NodeConfigFile, TimeoutsFile, ValidatorConfig,
};
pub use error::{NodeError, NodeResult};
pub use logic::{Destination, LogicConfig, NodeStats, Outputs, ValidatorLogic};
pub use message::{ConsensusMessage, MessageLimits, WIRE_VERSION};
pub use node::{ExecutedReporter, NodeHandle, NodeStatus, ValidatorNode, PEER_LIVENESS_ROUNDS};
pub use peer_auth::CommitteeAuth;
pub use rocks_store::{
    RocksStore, RocksStoreOptions, CF_BLOCKS, CF_COMMITS, CF_META, META_OWN_INDEX,
    META_OWN_LAST_ROUND, META_SCHEMA_VERSION,
};
pub use sim_validator::{SimValidator, SyntheticTransactions, TICK_TIMER};
pub use synchronizer::{BlockSynchronizer, FetchRequest, SyncConfig};
