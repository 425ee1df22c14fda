//! Settings of the TCP transport.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use super::auth::PeerAuthenticator;
use crate::{NetworkError, PeerIndex};

/// Where a peer listens. A `host:port` name is looked up again at every connection attempt, so a
/// peer whose name moves to a new address (a restarted container, a replaced machine) is found
/// again without restarting this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerAddress {
    /// A fixed socket address.
    Socket(SocketAddr),
    /// A `host:port` name, resolved when dialling.
    Host(String),
}

impl PeerAddress {
    /// `address` as a socket address if it is one, else as a `host:port` name (checked for
    /// shape only: the name need not resolve yet).
    pub fn parse(address: &str) -> Result<Self, NetworkError> {
        if let Ok(socket) = address.parse::<SocketAddr>() {
            return Ok(Self::Socket(socket));
        }
        match address.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                Ok(Self::Host(address.to_string()))
            }
            _ => Err(NetworkError::InvalidConfig {
                reason: "peer address is not host:port",
            }),
        }
    }
}

impl From<SocketAddr> for PeerAddress {
    fn from(socket: SocketAddr) -> Self {
        Self::Socket(socket)
    }
}

impl std::fmt::Display for PeerAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Socket(socket) => socket.fmt(f),
            Self::Host(host) => f.write_str(host),
        }
    }
}

/// Reconnect delays: the first retry waits `initial_ms`, each further failure doubles the wait,
/// up to `max_ms`. A successful connection resets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffConfig {
    /// First delay after a failed or broken connection, in milliseconds (> 0).
    pub initial_ms: u64,
    /// Upper bound of the delay, in milliseconds (>= `initial_ms`).
    pub max_ms: u64,
}

impl Default for BackoffConfig {
    /// 100 ms doubling up to 5 s.
    fn default() -> Self {
        Self {
            initial_ms: 100,
            max_ms: 5_000,
        }
    }
}

/// Configuration of a [`TcpNetwork`](super::TcpNetwork).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpConfig {
    /// This node's index; announced to peers in the hello frame.
    pub own_index: PeerIndex,
    /// Address to listen on (used by [`TcpNetwork::start`](super::TcpNetwork::start)).
    pub listen_addr: SocketAddr,
    /// Every peer's index and address. An entry for `own_index` is allowed and ignored, so the
    /// whole committee can be passed as is. Indices must be unique.
    pub peers: Vec<(PeerIndex, PeerAddress)>,
    /// Reconnect delays.
    pub backoff: BackoffConfig,
    /// Largest payload accepted or sent, in bytes. A peer sending a larger frame has its
    /// connection closed.
    pub max_frame_bytes: usize,
    /// Messages kept per peer while it is unreachable or slow; beyond this the **oldest** queued
    /// message is dropped, so memory stays bounded and the freshest messages survive.
    pub send_queue_capacity: usize,
    /// Capacity of the inbound channel. When it is full, readers stop reading their sockets
    /// (TCP back-pressure) until the consumer catches up.
    pub inbound_capacity: usize,
    /// Most frames a second one inbound connection may deliver (sustained; a burst of as many
    /// is allowed). Beyond it the connection is read more slowly — TCP back-pressure slows that
    /// peer alone — so a flooding peer cannot starve the others. 0: no limit.
    pub max_inbound_frames_per_second: u32,
    /// Peer authentication: dialers sign the listener's challenge and listeners drop a dialer
    /// whose signature does not check against the index it claims. `None`: the hello's index
    /// is only a routing hint.
    pub auth: Option<PeerAuthenticator>,
}

impl TcpConfig {
    /// A configuration with default backoff, 16 MiB frames, 4096 queued messages per peer and an
    /// inbound channel of 4096 messages.
    pub fn new<A: Into<PeerAddress>>(
        own_index: PeerIndex,
        listen_addr: SocketAddr,
        peers: impl IntoIterator<Item = (PeerIndex, A)>,
    ) -> Self {
        Self {
            own_index,
            listen_addr,
            peers: peers
                .into_iter()
                .map(|(index, address)| (index, address.into()))
                .collect(),
            backoff: BackoffConfig::default(),
            max_frame_bytes: 16 * 1024 * 1024,
            send_queue_capacity: 4_096,
            inbound_capacity: 4_096,
            max_inbound_frames_per_second: 20_000,
            auth: None,
        }
    }

    /// Peers other than this node, sorted by index. Fails on duplicate indices or zero limits.
    pub(crate) fn remote_peers(&self) -> Result<Vec<(PeerIndex, PeerAddress)>, NetworkError> {
        let invalid = |reason| Err(NetworkError::InvalidConfig { reason });
        if self.backoff.initial_ms == 0 || self.backoff.max_ms < self.backoff.initial_ms {
            return invalid("backoff needs 0 < initial_ms <= max_ms");
        }
        if self.max_frame_bytes < super::frame::HELLO_LEN {
            return invalid("max_frame_bytes is smaller than the hello frame");
        }
        if self.send_queue_capacity == 0 || self.inbound_capacity == 0 {
            return invalid("queue capacities must be positive");
        }
        let mut seen = BTreeSet::new();
        if self.peers.iter().any(|(index, _)| !seen.insert(*index)) {
            return invalid("duplicate peer index");
        }
        let mut remote: Vec<_> = self
            .peers
            .iter()
            .filter(|(index, _)| *index != self.own_index)
            .cloned()
            .collect();
        remote.sort_by_key(|(index, _)| *index);
        Ok(remote)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn own_entry_is_skipped_and_peers_are_sorted() {
        let config = TcpConfig::new(1, addr(1), vec![(2, addr(2)), (1, addr(1)), (0, addr(0))]);
        assert_eq!(
            config.remote_peers().unwrap(),
            vec![(0, addr(0).into()), (2, addr(2).into())]
        );
    }

    #[test]
    fn addresses_are_sockets_or_host_names() {
        assert_eq!(
            PeerAddress::parse("127.0.0.1:7000").unwrap(),
            PeerAddress::Socket(addr(7000))
        );
        assert_eq!(
            PeerAddress::parse("validator-2:7000").unwrap(),
            PeerAddress::Host("validator-2:7000".into())
        );
        for bad in [
            "validator-2",
            ":7000",
            "validator-2:port",
            "validator-2:70000",
        ] {
            assert!(PeerAddress::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_configurations_are_rejected() {
        let base = TcpConfig::new(0, addr(0), vec![(1, addr(1))]);
        let mut duplicate = base.clone();
        duplicate.peers.push((1, addr(5).into()));
        let mut backoff = base.clone();
        backoff.backoff = BackoffConfig {
            initial_ms: 10,
            max_ms: 5,
        };
        let mut tiny_frames = base.clone();
        tiny_frames.max_frame_bytes = 2;
        let mut no_queue = base.clone();
        no_queue.send_queue_capacity = 0;
        for config in [duplicate, backoff, tiny_frames, no_queue] {
            assert!(matches!(
                config.remote_peers(),
                Err(NetworkError::InvalidConfig { .. })
            ));
        }
        assert!(base.remote_peers().is_ok());
    }
}
