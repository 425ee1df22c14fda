//! The consensus bridge: turns each Mysticeti `CommittedSubDag` into exactly one EVM block on its
//! execution node, through the Engine API only.
//!
//! What it is: the deterministic commit → payload-attributes mapping (transactions in linearized
//! order without duplicates, `noTxPool`, timestamp from the commit time, prevRandao and parent
//! beacon root from the commit digest, the leader's fee recipient, the commit index in
//! `extraData`), the FCU → getPayload → newPayload → FCU sequence with retries and divergence
//! checks, and resumption from the commit index recorded in the execution head.
//!
//! What it is not: it neither runs consensus nor executes blocks; it is the glue between the
//! `fastevm-consensus` commit stream and an execution node.

#![warn(missing_docs)]

mod bridge;
mod commit_payload;
mod error;
mod execution_client;
mod progress;
mod rpc_client;

pub use bridge::{CommitEvent, CommitOutcome, ConsensusBridge, RetryPolicy};
pub use commit_payload::{
    block_timestamp, fee_recipient_of, makes_block, ordered_transactions, payload_request,
    ParentBlock, PayloadRules,
};
pub use error::BridgeError;
pub use execution_client::{BuiltBlock, ExecutionClient, HeadInfo, InProcessClient};
pub use progress::{decode_commit_marker, encode_commit_marker, COMMIT_MARKER_PREFIX};
pub use rpc_client::RpcExecutionClient;
