//! TCP transport for the node binary.
//!
//! Each node listens on one address and dials every peer once: messages to a peer travel on the
//! connection this node opened, messages from a peer arrive on the connection that peer opened.
//! Frames are length-delimited (4-byte big-endian length, see `tokio_util`'s
//! `LengthDelimitedCodec`) and capped at [`TcpConfig::max_frame_bytes`]; a peer that sends a
//! larger frame has its connection closed (logged, never a panic) and will redial.
//!
//! **Identity.** The listener opens each connection with a random challenge; the dialer's first
//! frame is a hello carrying its index and, with [`TcpConfig::auth`] set, its signature over the
//! challenge and both indices ([`auth_message`]). A dialer that does not prove it holds the key
//! of the index it claims is dropped, so with authentication `from` is a proven validator.
//! Without it the index is only a routing hint. Either way the consensus layer still verifies
//! the signature of every block.
//!
//! **Delivery.** Best effort, ordered per connection. Each peer has a bounded send queue
//! ([`TcpConfig::send_queue_capacity`]); while the peer is down or slow the queue keeps the
//! newest messages and drops the oldest, so memory stays bounded. Messages written to a
//! connection that then breaks are lost. Reconnection uses capped exponential backoff
//! ([`BackoffConfig`]). A peer named by host ([`PeerAddress::Host`]) is looked up again at every
//! attempt, so it is found at its new address after it moves.
//!
//! **Shutdown.** [`TcpNetwork::shutdown`] aborts all tasks and waits for them; dropping the
//! handle aborts them without waiting.
//!
//! ```no_run
//! # async fn example() -> Result<(), fastevm_network::NetworkError> {
//! use bytes::Bytes;
//! use fastevm_network::tcp::{PeerAddress, TcpConfig, TcpNetwork};
//!
//! // A socket address, or a name looked up at every connection attempt.
//! let peers = vec![
//!     (0, PeerAddress::parse("10.0.0.1:7000")?),
//!     (1, PeerAddress::parse("validator-1:7000")?),
//! ];
//! let config = TcpConfig::new(0, "0.0.0.0:7000".parse().unwrap(), peers);
//! let (network, mut inbound) = TcpNetwork::start(config).await?;
//! network.broadcast(Bytes::from_static(b"block"))?;
//! if let Some((from, payload)) = inbound.recv().await {
//!     println!("{} bytes from {from}", payload.len());
//! }
//! network.shutdown().await;
//! # Ok(()) }
//! ```

mod auth;
mod config;
mod frame;
mod inbound;
mod network;
mod outbound;
#[cfg(test)]
mod tests;

pub use auth::{auth_message, PeerAuth, PeerAuthenticator};
pub use config::{BackoffConfig, PeerAddress, TcpConfig};
pub use network::{InboundReceiver, TcpNetwork};
pub use outbound::PeerLinkStats;
