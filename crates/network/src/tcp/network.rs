//! The handle the node binary holds: start, send, broadcast, shut down.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::config::TcpConfig;
use super::inbound::{run_listener, Admission};
use super::outbound::{run_dialer, PeerLink, PeerLinkStats};
use crate::{NetworkError, PeerIndex};

/// Receiving end of the transport: `(sender index as announced in its hello, payload)`.
pub type InboundReceiver = mpsc::Receiver<(PeerIndex, Bytes)>;

/// A running TCP transport. Dropping it aborts every task and closes every socket; use
/// [`shutdown`](Self::shutdown) to also wait until that has happened.
#[derive(Debug)]
pub struct TcpNetwork {
    own_index: PeerIndex,
    local_addr: SocketAddr,
    max_frame_bytes: usize,
    links: BTreeMap<PeerIndex, Arc<PeerLink>>,
    tasks: JoinSet<()>,
}

impl TcpNetwork {
    /// Bind `config.listen_addr` and start the transport. Must run inside a tokio runtime.
    pub async fn start(config: TcpConfig) -> Result<(Self, InboundReceiver), NetworkError> {
        let addr = config.listen_addr;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| NetworkError::Bind { addr, source })?;
        Self::start_with_listener(config, listener)
    }

    /// Start the transport on an already bound listener (`config.listen_addr` is ignored).
    /// Useful when the port is chosen by the OS (bind to port 0) before peers are configured.
    pub fn start_with_listener(
        config: TcpConfig,
        listener: TcpListener,
    ) -> Result<(Self, InboundReceiver), NetworkError> {
        let remote = config.remote_peers()?;
        let local_addr = listener.local_addr()?;
        let (inbound_tx, inbound_rx) = mpsc::channel(config.inbound_capacity);
        let mut tasks = JoinSet::new();

        let known_peers: BTreeSet<PeerIndex> = remote.iter().map(|(index, _)| *index).collect();
        tasks.spawn(run_listener(
            listener,
            Admission {
                own_index: config.own_index,
                known_peers: Arc::new(known_peers),
                auth: config.auth.clone(),
                max_frames_per_second: config.max_inbound_frames_per_second,
            },
            config.max_frame_bytes,
            inbound_tx,
        ));

        let mut links = BTreeMap::new();
        for (peer, addr) in remote {
            let link = Arc::new(PeerLink::new(peer, addr, config.send_queue_capacity));
            tasks.spawn(run_dialer(
                link.clone(),
                config.own_index,
                config.backoff,
                config.max_frame_bytes,
                config.auth.clone(),
            ));
            links.insert(peer, link);
        }
        tracing::info!(own_index = config.own_index, %local_addr, peers = links.len(), "tcp network started");
        Ok((
            Self {
                own_index: config.own_index,
                local_addr,
                max_frame_bytes: config.max_frame_bytes,
                links,
                tasks,
            },
            inbound_rx,
        ))
    }

    /// This node's index.
    pub fn own_index(&self) -> PeerIndex {
        self.own_index
    }

    /// The address actually listened on (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Queue `payload` for peer `to`. Never blocks: if the peer's queue is full the oldest queued
    /// message is dropped. Delivery is best effort (a connection may break with data in flight).
    /// Fails for an unknown peer (including this node itself) or an oversized payload.
    pub fn send(&self, to: PeerIndex, payload: Bytes) -> Result<(), NetworkError> {
        self.check_size(&payload)?;
        let link = self
            .links
            .get(&to)
            .ok_or(NetworkError::UnknownPeer { peer: to })?;
        link.push(payload);
        Ok(())
    }

    /// Queue `payload` for every peer (not this node). Same rules as [`send`](Self::send).
    pub fn broadcast(&self, payload: Bytes) -> Result<(), NetworkError> {
        self.check_size(&payload)?;
        for link in self.links.values() {
            link.push(payload.clone());
        }
        Ok(())
    }

    /// Link counters for peer `to`, or `None` if it is not a configured peer.
    pub fn peer_stats(&self, to: PeerIndex) -> Option<PeerLinkStats> {
        self.links.get(&to).map(|link| link.stats())
    }

    /// Stop every task, close every socket and the listener, and wait until they are gone.
    /// Afterwards the listening port can be bound again.
    pub async fn shutdown(mut self) {
        self.tasks.shutdown().await;
        tracing::info!(own_index = self.own_index, "tcp network stopped");
    }

    fn check_size(&self, payload: &Bytes) -> Result<(), NetworkError> {
        if payload.len() > self.max_frame_bytes {
            return Err(NetworkError::FrameTooLarge {
                len: payload.len(),
                max: self.max_frame_bytes,
            });
        }
        Ok(())
    }
}
