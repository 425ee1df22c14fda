//! fastevm-consensus: the Mysticeti-C DAG consensus protocol core.
//!
//! What it is: a pure, synchronous, deterministic implementation of the protocol logic — block
//! types and their canonical encoding, committee and thresholds, block verification, the
//! threshold clock, an in-memory DAG with a block manager that waits for causal history, the
//! leader schedule, the pipelined multi-leader Mysticeti-C committer (direct and indirect
//! rules), the linearizer producing hash-chained committed sub-DAGs, and a message-driven
//! [`core::Core`] state machine behind a small [`store::Store`] trait.
//!
//! What it is not: no networking, no async tasks, no disk I/O and no wall clock. Time is passed
//! in by the caller, transactions come from a caller-supplied source, and the outputs (blocks to
//! broadcast, missing blocks to fetch, commits) are returned for the caller to act on.
//!
//! Driving a [`Core`] (one per authority, single-threaded):
//! 1. `Core::new(params, committee, key, store, tx_source)` — fresh or recovered from the store;
//!    after recovery call `try_commit()` and re-broadcast `last_proposed_block()`.
//! 2. Bytes from a peer → [`verifier::BlockVerifier::verify_bytes`] → `add_blocks(vec)`; fetch
//!    `outcome.missing` from peers and feed the answers through the same path; hand
//!    `outcome.commits` (already persisted) to the application in order.
//! 3. On every event and on a timer (`leader_timeout_deadline_ms()`), call
//!    `try_propose(now_ms, force)`; broadcast `proposal.block` (already persisted) and consume
//!    `proposal.commits`.
//! 4. A consumer that restarts asks `replay_commits(last_processed_index)`.
//! 5. A node far behind takes certified commit ranges from peers
//!    ([`commit_certifier::verify_certified_range`]) and hands them to
//!    `add_certified_commits(vec)`; its own blocks vote for the commits it makes or takes
//!    (`Block::commit_votes`), which is what certifies them for others.
//!
//! Deviations from Sui worth knowing: direct-skip blame counts voting-round blocks that do not
//! reference any block of the leader *slot* (Sui: of the leader authority at any round); two
//! certified blocks in one slot return [`ConsensusError::MultipleCertifiedBlocks`] instead of
//! panicking; leaders of round 1 use their own timestamp as commit timestamp (their parents are
//! the genesis blocks at time 0). Leader reputation ([`leader_scoring`]) scores authorities by
//! the blocks committed sub-DAGs carry (Sui scores votes for leaders) and is installed only with
//! one leader per round.

#![warn(missing_docs)]

pub mod block_manager;
pub mod commit;
pub mod commit_certifier;
pub mod committee;
pub mod committer;
pub mod core;
pub mod dag_state;
pub mod encoding;
pub mod error;
pub mod leader_schedule;
pub mod leader_scoring;
pub mod linearizer;
pub mod retention;
pub mod stake_aggregator;
pub mod store;
#[cfg(any(test, feature = "test-utils"))]
pub mod test_utils;
pub mod threshold_clock;
pub mod types;
pub mod verifier;

pub use crate::commit::{Commit, CommitDigest, CommitIndex, CommitRef, CommittedSubDag};
pub use crate::committee::{Authority, Committee, PublicKey};
pub use crate::core::{
    AddBlocksOutcome, CertifiedCommit, Core, CoreParams, Proposal, TransactionSource,
};
pub use crate::error::{ConsensusError, ConsensusResult};
pub use crate::retention::{ConsumerProgress, PruneFloor};
pub use crate::store::{MemStore, Store, StoreBatch};
pub use crate::types::{
    AuthorityIndex, Block, BlockDigest, BlockRef, Round, SignedBlock, Slot, Transaction,
    VerifiedBlock,
};
pub use crate::verifier::{BlockLimits, BlockVerifier};
