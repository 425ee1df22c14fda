//! Transports for FastEVM's consensus: a deterministic network simulator and a TCP transport.
//!
//! What this crate **is**:
//! - [`sim`]: a discrete-event simulator that runs `n` protocol nodes in one thread on virtual
//!   time, with seeded latency, jitter, drops, partitions and crash/restart. Same seed, same trace.
//!   Protocols plug in by implementing [`sim::SimNode`].
//! - [`tcp`]: a tokio transport for the node binary. Length-delimited frames over one outbound TCP
//!   connection per peer, reconnecting with capped exponential backoff and a bounded send queue.
//!
//! What this crate **is not**:
//! - It knows nothing about consensus: messages are opaque bytes ([`bytes::Bytes`]) or any
//!   `M: Clone` that can expose its bytes ([`sim::SimMessage`]). It does not depend on the
//!   consensus crate.
//! - It does not authenticate peers. The index a TCP peer announces is only a routing hint;
//!   the consensus layer must verify signatures on everything it accepts.
//! - It does not guarantee delivery. Both transports may lose messages (drops, partitions,
//!   crashes, broken connections, full queues); protocols must recover by their own means
//!   (for example by fetching missing blocks).

#![warn(missing_docs)]

mod error;
pub mod sim;
pub mod tcp;

pub use error::NetworkError;

/// Index of a peer (validator) in the committee: `0..n`.
pub type PeerIndex = usize;
