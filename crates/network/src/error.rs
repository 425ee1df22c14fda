//! The crate's single error type.

use crate::PeerIndex;

/// Errors returned by the simulator and the TCP transport.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// A peer index outside the committee, or not configured as a peer.
    #[error("unknown peer {peer}")]
    UnknownPeer {
        /// The offending index.
        peer: PeerIndex,
    },
    /// A simulator run stopped at its time or step limit before its predicate held.
    #[error("simulation limit reached before the condition held: now {now_ms} ms, {steps} steps")]
    SimLimitReached {
        /// Virtual time when the run stopped.
        now_ms: u64,
        /// Events processed by this run.
        steps: u64,
    },
    /// A configuration value that cannot work (for example an empty committee).
    #[error("invalid configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: &'static str,
    },
    /// A frame larger than the configured maximum was passed to `send`/`broadcast`.
    #[error("frame of {len} bytes exceeds the maximum of {max} bytes")]
    FrameTooLarge {
        /// Size of the rejected payload.
        len: usize,
        /// Configured maximum frame size.
        max: usize,
    },
    /// Binding the listening socket failed.
    #[error("failed to bind {addr}: {source}")]
    Bind {
        /// Address that could not be bound.
        addr: std::net::SocketAddr,
        /// Underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Other socket I/O failure.
    #[error("network I/O error: {0}")]
    Io(#[from] std::io::Error),
}
