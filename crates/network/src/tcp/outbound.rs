//! Outbound side: one bounded send queue and one dialing task per peer.
//!
//! The dialer connects, sends the hello frame, then writes whatever is queued. While the
//! connection is up it also reads from it: the listener never writes, so a read returning means
//! the peer closed or reset the connection, and the dialer reconnects at once instead of losing
//! the next message to a dead socket. Failed or broken connections are retried with capped
//! exponential backoff.

use std::collections::VecDeque;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use parking_lot::Mutex;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_util::codec::{FramedRead, FramedWrite};

use super::auth::{auth_message, PeerAuthenticator};
use super::config::{BackoffConfig, PeerAddress};
use super::frame::{codec, encode_hello, CHALLENGE_LEN};
use crate::PeerIndex;

/// How long one connection attempt may take before it counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Snapshot of one outbound link, for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerLinkStats {
    /// Whether a connection to the peer is currently established.
    pub connected: bool,
    /// Connections established so far (1 plus the number of reconnects).
    pub connections: u64,
    /// Connection attempts that failed (refused, timed out, or broke before the hello).
    pub connect_failures: u64,
    /// Messages waiting in the queue.
    pub queued: usize,
    /// Messages discarded because the queue was full (oldest first).
    pub dropped: u64,
}

/// Queue and counters shared between the handle (producer) and the dialer (consumer).
#[derive(Debug)]
pub(crate) struct PeerLink {
    peer: PeerIndex,
    addr: PeerAddress,
    capacity: usize,
    queue: Mutex<VecDeque<Bytes>>,
    wake: Notify,
    connected: AtomicBool,
    connections: AtomicU64,
    connect_failures: AtomicU64,
    dropped: AtomicU64,
}

impl PeerLink {
    pub(crate) fn new(peer: PeerIndex, addr: PeerAddress, capacity: usize) -> Self {
        Self {
            peer,
            addr,
            capacity,
            queue: Mutex::new(VecDeque::new()),
            wake: Notify::new(),
            connected: AtomicBool::new(false),
            connections: AtomicU64::new(0),
            connect_failures: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    /// Queue a payload, dropping the oldest one if the queue is full.
    pub(crate) fn push(&self, payload: Bytes) {
        {
            let mut queue = self.queue.lock();
            if queue.len() >= self.capacity {
                queue.pop_front();
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            queue.push_back(payload);
        }
        self.wake.notify_one();
    }

    pub(crate) fn stats(&self) -> PeerLinkStats {
        PeerLinkStats {
            connected: self.connected.load(Ordering::Relaxed),
            connections: self.connections.load(Ordering::Relaxed),
            connect_failures: self.connect_failures.load(Ordering::Relaxed),
            queued: self.queue.lock().len(),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }

    fn take_all(&self) -> Vec<Bytes> {
        self.queue.lock().drain(..).collect()
    }

    /// Put back payloads that could not be written, ahead of newer ones, within capacity.
    fn requeue_front(&self, unsent: Vec<Bytes>) {
        let mut queue = self.queue.lock();
        for payload in unsent.into_iter().rev() {
            if queue.len() >= self.capacity {
                // The requeued payloads are the oldest; they are the ones to give up.
                self.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            queue.push_front(payload);
        }
    }
}

/// Why a connection ended.
#[derive(Debug)]
enum Disconnect {
    Write(std::io::Error),
    Read(std::io::Error),
    ClosedByPeer,
}

impl std::fmt::Display for Disconnect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Disconnect::Write(error) => write!(f, "write failed: {error}"),
            Disconnect::Read(error) => write!(f, "read failed: {error}"),
            Disconnect::ClosedByPeer => f.write_str("closed by peer"),
        }
    }
}

/// Connects to `address`, looking a host name up afresh.
async fn dial(address: &PeerAddress) -> std::io::Result<TcpStream> {
    match address {
        PeerAddress::Socket(socket) => TcpStream::connect(socket).await,
        PeerAddress::Host(host) => TcpStream::connect(host.as_str()).await,
    }
}

/// Keep a connection to `link`'s peer up and drain its queue into it, forever (the task is
/// aborted on shutdown).
pub(crate) async fn run_dialer(
    link: std::sync::Arc<PeerLink>,
    own_index: PeerIndex,
    backoff: BackoffConfig,
    max_frame_bytes: usize,
    auth: Option<PeerAuthenticator>,
) {
    let mut delay_ms = backoff.initial_ms;
    loop {
        match tokio::time::timeout(CONNECT_TIMEOUT, dial(&link.addr)).await {
            Ok(Ok(stream)) => {
                let reason =
                    run_connection(&link, stream, own_index, max_frame_bytes, auth.as_ref()).await;
                match reason {
                    Ok(disconnect) => {
                        tracing::info!(peer = link.peer, addr = %link.addr, %disconnect, "connection to peer lost");
                        delay_ms = backoff.initial_ms;
                    }
                    Err(error) => {
                        link.connect_failures.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(peer = link.peer, %error, "hello to peer failed");
                    }
                }
            }
            Ok(Err(error)) => {
                link.connect_failures.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(peer = link.peer, addr = %link.addr, %error, retry_ms = delay_ms, "connect to peer failed");
            }
            Err(_) => {
                link.connect_failures.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(peer = link.peer, addr = %link.addr, retry_ms = delay_ms, "connect to peer timed out");
            }
        }
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        delay_ms = next_delay_ms(delay_ms, backoff);
    }
}

/// The delay after `current_ms`: doubled, capped at `backoff.max_ms`.
fn next_delay_ms(current_ms: u64, backoff: BackoffConfig) -> u64 {
    current_ms.saturating_mul(2).min(backoff.max_ms)
}

/// Read the listener's challenge, send the hello (signed when authenticating), then forward
/// queued payloads until the connection ends. `Err` means the handshake itself failed (the
/// connection never became usable).
async fn run_connection(
    link: &PeerLink,
    stream: TcpStream,
    own_index: PeerIndex,
    max_frame_bytes: usize,
    auth: Option<&PeerAuthenticator>,
) -> Result<Disconnect, std::io::Error> {
    stream.set_nodelay(true)?;
    let (reader, writer) = stream.into_split();
    let mut challenge_reader = FramedRead::new(reader, codec(CHALLENGE_LEN));
    let challenge = match tokio::time::timeout(CONNECT_TIMEOUT, challenge_reader.next()).await {
        Ok(Some(Ok(challenge))) if challenge.len() == CHALLENGE_LEN => challenge,
        Ok(Some(Err(error))) => return Err(error),
        Ok(_) => return Err(std::io::Error::other("no valid challenge from the peer")),
        Err(_) => return Err(std::io::Error::other("no challenge from the peer in time")),
    };
    // The listener sends nothing after its challenge, so no buffered byte is lost here.
    let mut reader = challenge_reader.into_inner();
    let signature = auth
        .map(|auth| auth.0.sign(&auth_message(&challenge, own_index, link.peer)))
        .unwrap_or_default();
    let mut frames = FramedWrite::new(writer, codec(max_frame_bytes));
    frames.send(encode_hello(own_index, &signature)).await?;

    link.connected.store(true, Ordering::Relaxed);
    link.connections.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(peer = link.peer, addr = %link.addr, "connected to peer");
    let disconnect = forward_queue(link, &mut reader, &mut frames).await;
    link.connected.store(false, Ordering::Relaxed);
    Ok(disconnect)
}

async fn forward_queue(
    link: &PeerLink,
    reader: &mut tokio::net::tcp::OwnedReadHalf,
    frames: &mut FramedWrite<
        tokio::net::tcp::OwnedWriteHalf,
        tokio_util::codec::LengthDelimitedCodec,
    >,
) -> Disconnect {
    let mut scratch = [0u8; 64];
    loop {
        let batch = link.take_all();
        if !batch.is_empty() {
            let mut pending = batch.into_iter();
            while let Some(payload) = pending.next() {
                if let Err(error) = frames.feed(payload.clone()).await {
                    let mut unsent = vec![payload];
                    unsent.extend(pending);
                    link.requeue_front(unsent);
                    return Disconnect::Write(error);
                }
            }
            if let Err(error) = SinkExt::<Bytes>::flush(frames).await {
                return Disconnect::Write(error);
            }
        }
        tokio::select! {
            () = link.wake.notified() => {}
            read = reader.read(&mut scratch) => match read {
                Ok(0) => return Disconnect::ClosedByPeer,
                Ok(_) => tracing::warn!(peer = link.peer, "peer wrote on an outbound-only connection; ignored"),
                Err(error) => return Disconnect::Read(error),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(capacity: usize) -> PeerLink {
        PeerLink::new(
            1,
            std::net::SocketAddr::from(([127, 0, 0, 1], 1)).into(),
            capacity,
        )
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let backoff = BackoffConfig {
            initial_ms: 10,
            max_ms: 100,
        };
        let mut delays = vec![backoff.initial_ms];
        for _ in 0..6 {
            delays.push(next_delay_ms(*delays.last().unwrap(), backoff));
        }
        assert_eq!(delays, vec![10, 20, 40, 80, 100, 100, 100]);
        assert_eq!(next_delay_ms(u64::MAX, backoff), 100);
    }

    #[test]
    fn full_queue_drops_the_oldest() {
        let link = link(3);
        for i in 0..5u8 {
            link.push(Bytes::from(vec![i]));
        }
        let stats = link.stats();
        assert_eq!((stats.queued, stats.dropped), (3, 2));
        let kept: Vec<u8> = link.take_all().iter().map(|b| b[0]).collect();
        assert_eq!(kept, vec![2, 3, 4]);
    }

    #[test]
    fn requeued_payloads_go_first_and_respect_capacity() {
        let link = link(3);
        link.push(Bytes::from_static(b"c"));
        link.push(Bytes::from_static(b"d"));
        link.requeue_front(vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")]);
        let order: Vec<Bytes> = link.take_all();
        assert_eq!(order, vec![&b"b"[..], &b"c"[..], &b"d"[..]]);
        assert_eq!(link.stats().dropped, 1);
    }
}
