//! Inbound side: accept connections, challenge the dialer, check its hello (and, with
//! authentication, its signature), and forward frames to the inbound channel.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::codec::{FramedRead, FramedWrite};

use super::auth::{auth_message, PeerAuthenticator};
use super::frame::{codec, decode_hello, CHALLENGE_LEN};
use crate::PeerIndex;

/// Who this listener is and whom it lets in.
#[derive(Clone)]
pub(crate) struct Admission {
    pub(crate) own_index: PeerIndex,
    pub(crate) known_peers: Arc<BTreeSet<PeerIndex>>,
    /// When set, a dialer must prove it holds its index's key.
    pub(crate) auth: Option<PeerAuthenticator>,
    /// Frames a second per connection (0: unlimited).
    pub(crate) max_frames_per_second: u32,
}

/// A token bucket holding up to a second's worth of frames.
struct FrameRate {
    per_second: f64,
    tokens: f64,
    last: tokio::time::Instant,
}

impl FrameRate {
    fn new(per_second: u32) -> Option<Self> {
        (per_second > 0).then(|| Self {
            per_second: f64::from(per_second),
            tokens: f64::from(per_second),
            last: tokio::time::Instant::now(),
        })
    }

    /// Waits until one more frame may be taken.
    async fn take(&mut self) {
        let now = tokio::time::Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() * self.per_second;
        self.tokens = (self.tokens + refill).min(self.per_second);
        self.last = now;
        if self.tokens < 1.0 {
            let wait = (1.0 - self.tokens) / self.per_second;
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
            self.tokens = 1.0;
            self.last = tokio::time::Instant::now();
        }
        self.tokens -= 1.0;
    }
}

/// How long a new connection may take to send its hello before it is closed.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// Pause after a failed `accept` (e.g. out of file descriptors) before trying again.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Accept connections forever; each gets its own reader task. Readers live in a `JoinSet`
/// owned by this task, so aborting this task closes every inbound connection too.
pub(crate) async fn run_listener(
    listener: TcpListener,
    admission: Admission,
    max_frame_bytes: usize,
    inbound: mpsc::Sender<(PeerIndex, Bytes)>,
) {
    let mut readers = JoinSet::new();
    loop {
        while readers.try_join_next().is_some() {}
        match listener.accept().await {
            Ok((stream, remote)) => {
                tracing::debug!(%remote, "accepted connection");
                readers.spawn(run_reader(
                    stream,
                    admission.clone(),
                    max_frame_bytes,
                    inbound.clone(),
                ));
            }
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(ACCEPT_RETRY).await;
            }
        }
    }
}

/// Send a challenge, read the hello (checking the signature when authenticating), then forward
/// frames until the connection ends or misbehaves.
async fn run_reader(
    stream: TcpStream,
    admission: Admission,
    max_frame_bytes: usize,
    inbound: mpsc::Sender<(PeerIndex, Bytes)>,
) {
    let remote = stream.peer_addr().ok();
    let (reader, writer) = stream.into_split();
    // The write half stays open for the life of the connection: closing it would tell the
    // dialer the connection is gone.
    let mut writer = FramedWrite::new(writer, codec(max_frame_bytes));
    let challenge: [u8; CHALLENGE_LEN] = rand::random();
    if writer
        .send(Bytes::copy_from_slice(&challenge))
        .await
        .is_err()
    {
        return;
    }
    let mut frames = FramedRead::new(reader, codec(max_frame_bytes));
    let from = match tokio::time::timeout(HELLO_TIMEOUT, frames.next()).await {
        Ok(Some(Ok(hello))) => match decode_hello(&hello) {
            Some((index, signature)) if admission.known_peers.contains(&index) => {
                let proven = admission.auth.as_ref().is_none_or(|auth| {
                    let message = auth_message(&challenge, index, admission.own_index);
                    auth.0.verify(index, &message, signature)
                });
                if !proven {
                    tracing::warn!(
                        ?remote,
                        index,
                        "peer did not prove it holds its key; closing"
                    );
                    return;
                }
                index
            }
            Some((index, _)) => {
                tracing::warn!(?remote, index, "hello from an unknown peer index; closing");
                return;
            }
            None => {
                tracing::warn!(?remote, "malformed hello; closing");
                return;
            }
        },
        Ok(Some(Err(error))) => {
            tracing::warn!(?remote, %error, "bad first frame; closing");
            return;
        }
        Ok(None) => return,
        Err(_) => {
            tracing::warn!(?remote, "no hello in time; closing");
            return;
        }
    };
    tracing::debug!(?remote, peer = from, "peer identified");
    let mut rate = FrameRate::new(admission.max_frames_per_second);
    while let Some(frame) = frames.next().await {
        match frame {
            Ok(payload) => {
                if let Some(rate) = &mut rate {
                    rate.take().await;
                }
                if inbound.send((from, payload.freeze())).await.is_err() {
                    return; // Nobody listens any more.
                }
            }
            Err(error) => {
                tracing::error!(?remote, peer = from, max_frame_bytes, %error, "bad frame (oversized?); closing connection");
                return;
            }
        }
    }
    tracing::debug!(?remote, peer = from, "peer closed connection");
}
