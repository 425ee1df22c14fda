//! Inbound side: accept connections, check the hello, and forward frames to the inbound channel.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::codec::FramedRead;

use super::frame::{codec, decode_hello};
use crate::PeerIndex;

/// How long a new connection may take to send its hello before it is closed.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// Pause after a failed `accept` (e.g. out of file descriptors) before trying again.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Accept connections forever; each gets its own reader task. Readers live in a `JoinSet`
/// owned by this task, so aborting this task closes every inbound connection too.
pub(crate) async fn run_listener(
    listener: TcpListener,
    known_peers: Arc<BTreeSet<PeerIndex>>,
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
                    known_peers.clone(),
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

/// Read the hello, then forward frames until the connection ends or misbehaves.
async fn run_reader(
    stream: TcpStream,
    known_peers: Arc<BTreeSet<PeerIndex>>,
    max_frame_bytes: usize,
    inbound: mpsc::Sender<(PeerIndex, Bytes)>,
) {
    let remote = stream.peer_addr().ok();
    let mut frames = FramedRead::new(stream, codec(max_frame_bytes));
    let from = match tokio::time::timeout(HELLO_TIMEOUT, frames.next()).await {
        Ok(Some(Ok(hello))) => match decode_hello(&hello) {
            Some(index) if known_peers.contains(&index) => index,
            Some(index) => {
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
    while let Some(frame) = frames.next().await {
        match frame {
            Ok(payload) => {
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
