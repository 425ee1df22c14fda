//! The consensus bridge: turns each Mysticeti `CommittedSubDag` into exactly one EVM block on its
//! execution node, through the Engine API only.
//!
//! What it is: the deterministic commit → payload-attributes mapping (transactions in linearized
//! order without duplicates, `noTxPool`, timestamp from the commit time, prevRandao and parent
//! beacon root from the commit digest, the leader's fee recipient, the commit index in
//! `extraData`), the FCU → getPayload → newPayload → FCU sequence with retries and divergence
//! checks, and resumption from the commit index recorded in the execution head. In the other
//! direction, [`RemotePoolFeed`] feeds a validator's proposals from its execution node's pool.
//!
//! What it is not: it neither runs consensus nor executes blocks; it is the glue between the
//! `fastevm-consensus` commit stream and an execution node, which it reaches only through a
//! `fastevm_engine_api::ExecutionClient` (over JSON-RPC, or in process): it depends on no
//! execution crate.

#![warn(missing_docs)]

mod bridge;
mod commit_payload;
mod error;
mod progress;
mod remote_pool_feed;

pub use bridge::{CommitEvent, CommitOutcome, ConsensusBridge, RetryPolicy};
pub use commit_payload::{
    block_timestamp, fee_recipient_of, makes_block, ordered_transactions, payload_request,
    ParentBlock, PayloadRules,
};
pub use error::BridgeError;
pub use progress::{decode_commit_marker, encode_commit_marker, COMMIT_MARKER_PREFIX};
pub use remote_pool_feed::{take_within_limits, RemotePoolFeed, MIN_FEED_WAIT};

#[cfg(test)]
mod layering_tests {
    /// The `fastevm-*` crates a manifest depends on (normal dependencies).
    fn fastevm_dependencies(manifest: &str) -> Vec<String> {
        let section = manifest
            .split("[dependencies]")
            .nth(1)
            .unwrap_or_default()
            .split("\n[")
            .next()
            .unwrap_or_default();
        section
            .lines()
            .filter_map(|line| line.split(['.', ' ', '=']).next())
            .filter(|name| name.starts_with("fastevm-"))
            .map(str::to_string)
            .collect()
    }

    /// The bridge reaches its execution node through the Engine API only: it depends on the
    /// consensus core and the Engine API crate, and the Engine API crate on no FastEVM crate.
    #[test]
    fn the_bridge_depends_on_no_execution_crate() {
        let bridge = include_str!("../Cargo.toml");
        assert_eq!(
            fastevm_dependencies(bridge),
            ["fastevm-consensus", "fastevm-engine-api"]
        );
        let api = include_str!("../../engine-api/Cargo.toml");
        assert!(fastevm_dependencies(api).is_empty(), "{api}");
        let consensus = include_str!("../../consensus/Cargo.toml");
        assert!(fastevm_dependencies(consensus).is_empty(), "{consensus}");
    }
}
