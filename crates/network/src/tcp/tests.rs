//! Transport tests on 127.0.0.1 with OS-chosen ports. Timeouts only bound failures.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::frame::encode_hello;
use super::*;
use crate::{NetworkError, PeerIndex};

/// Generous bound for anything that should happen "soon".
const LIMIT: Duration = Duration::from_secs(10);

async fn bind_local() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.unwrap()
}

/// An address nobody listens on right now (bound then released).
async fn free_addr() -> SocketAddr {
    bind_local().await.local_addr().unwrap()
}

fn config(own: PeerIndex, peers: &[(PeerIndex, SocketAddr)]) -> TcpConfig {
    let mut config = TcpConfig::new(own, peers[own].1, peers.to_vec());
    config.backoff = BackoffConfig {
        initial_ms: 10,
        max_ms: 200,
    };
    config
}

async fn start_cluster(
    n: usize,
) -> (
    Vec<(PeerIndex, SocketAddr)>,
    Vec<(TcpNetwork, InboundReceiver)>,
) {
    let mut listeners = Vec::new();
    for _ in 0..n {
        listeners.push(bind_local().await);
    }
    let peers: Vec<_> = listeners
        .iter()
        .enumerate()
        .map(|(i, l)| (i, l.local_addr().unwrap()))
        .collect();
    let nodes = listeners
        .into_iter()
        .enumerate()
        .map(|(i, l)| TcpNetwork::start_with_listener(config(i, &peers), l).unwrap())
        .collect();
    (peers, nodes)
}

async fn recv(inbound: &mut InboundReceiver) -> (PeerIndex, Bytes) {
    tokio::time::timeout(LIMIT, inbound.recv())
        .await
        .expect("no message within the limit")
        .expect("inbound channel closed")
}

/// Reads (the listener's challenge, then nothing) until the listener closes the connection;
/// panics if it stays open past [`LIMIT`].
async fn assert_closed_by_peer(raw: &mut TcpStream) {
    let mut buf = [0u8; 64];
    tokio::time::timeout(LIMIT, async {
        loop {
            match raw.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await
    .expect("the listener kept the connection open");
}

/// Poll `condition` until it holds; panics after [`LIMIT`].
async fn wait_until(mut condition: impl FnMut() -> bool) {
    tokio::time::timeout(LIMIT, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("condition not reached within the limit");
}

/// Start on `config.listen_addr`, retrying while the previous owner's socket is being closed.
async fn start_retrying(config: TcpConfig) -> (TcpNetwork, InboundReceiver) {
    tokio::time::timeout(LIMIT, async {
        loop {
            match TcpNetwork::start(config.clone()).await {
                Ok(started) => return started,
                Err(NetworkError::Bind { .. }) => {
                    tokio::time::sleep(Duration::from_millis(10)).await
                }
                Err(other) => panic!("unexpected start error: {other}"),
            }
        }
    })
    .await
    .expect("could not rebind within the limit")
}

#[tokio::test]
async fn four_peers_exchange_broadcasts_and_direct_messages() {
    let (_, mut nodes) = start_cluster(4).await;
    for (i, (net, _)) in nodes.iter().enumerate() {
        net.broadcast(Bytes::from(format!("broadcast from {i}")))
            .unwrap();
        net.send(
            (i + 1) % 4,
            Bytes::from(format!("direct {i}->{}", (i + 1) % 4)),
        )
        .unwrap();
    }
    for (i, (_, inbound)) in nodes.iter_mut().enumerate() {
        let mut got = Vec::new();
        for _ in 0..4 {
            let (from, payload) = recv(inbound).await;
            got.push((from, String::from_utf8(payload.to_vec()).unwrap()));
        }
        got.sort();
        let prev = (i + 3) % 4;
        let mut expected: Vec<(PeerIndex, String)> = (0..4)
            .filter(|&j| j != i)
            .map(|j| (j, format!("broadcast from {j}")))
            .collect();
        expected.push((prev, format!("direct {prev}->{i}")));
        expected.sort();
        assert_eq!(got, expected, "node {i}");
    }
    for (net, _) in nodes {
        net.shutdown().await;
    }
}

#[tokio::test]
async fn messages_on_one_link_arrive_in_order() {
    let (_, mut nodes) = start_cluster(2).await;
    for k in 0..500u32 {
        nodes[0]
            .0
            .send(1, Bytes::from(k.to_be_bytes().to_vec()))
            .unwrap();
    }
    for k in 0..500u32 {
        let (from, payload) = recv(&mut nodes[1].1).await;
        assert_eq!(from, 0);
        assert_eq!(payload.as_ref(), &k.to_be_bytes());
    }
}

#[tokio::test]
async fn late_peer_is_reached_after_backoff() {
    let late_addr = free_addr().await;
    let l0 = bind_local().await;
    let l1 = bind_local().await;
    let peers = vec![
        (0, l0.local_addr().unwrap()),
        (1, l1.local_addr().unwrap()),
        (2, late_addr),
    ];
    let (net0, _in0) = TcpNetwork::start_with_listener(config(0, &peers), l0).unwrap();
    let (net1, _in1) = TcpNetwork::start_with_listener(config(1, &peers), l1).unwrap();
    net0.send(2, Bytes::from_static(b"queued 1")).unwrap();
    net0.send(2, Bytes::from_static(b"queued 2")).unwrap();
    net1.send(2, Bytes::from_static(b"from 1")).unwrap();

    // Both dialers have failed and backed off at least twice before the peer appears.
    wait_until(|| {
        net0.peer_stats(2).unwrap().connect_failures >= 2
            && net1.peer_stats(2).unwrap().connect_failures >= 2
    })
    .await;
    assert!(!net0.peer_stats(2).unwrap().connected);
    assert_eq!(net0.peer_stats(2).unwrap().queued, 2);

    let (net2, mut in2) = start_retrying(config(2, &peers)).await;
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(recv(&mut in2).await);
    }
    let from0: Vec<&Bytes> = got
        .iter()
        .filter(|(f, _)| *f == 0)
        .map(|(_, p)| p)
        .collect();
    assert_eq!(
        from0,
        vec![
            &Bytes::from_static(b"queued 1"),
            &Bytes::from_static(b"queued 2")
        ]
    );
    assert!(got.contains(&(1, Bytes::from_static(b"from 1"))));
    assert_eq!(net0.peer_stats(2).unwrap().connections, 1);
    net2.shutdown().await;
}

#[tokio::test]
async fn restarted_peer_is_reconnected() {
    let (peers, mut nodes) = start_cluster(3).await;
    let (net2, mut in2) = nodes.pop().unwrap();
    nodes[0].0.send(2, Bytes::from_static(b"before")).unwrap();
    assert_eq!(recv(&mut in2).await, (0, Bytes::from_static(b"before")));
    wait_until(|| nodes[1].0.peer_stats(2).unwrap().connected).await;

    drop(net2);
    drop(in2);
    // Both dialers notice the closed connection without sending anything.
    wait_until(|| {
        !nodes[0].0.peer_stats(2).unwrap().connected && !nodes[1].0.peer_stats(2).unwrap().connected
    })
    .await;

    let (net2, mut in2) = start_retrying(config(2, &peers)).await;
    // A message written into the dying connection may be lost, so keep sending until one lands.
    let mut heard_from = [false; 2];
    tokio::time::timeout(LIMIT, async {
        let mut k = 0u32;
        while !heard_from.iter().all(|h| *h) {
            for (i, (net, _)) in nodes.iter().enumerate() {
                net.send(2, Bytes::from(format!("after {i} {k}"))).unwrap();
            }
            k += 1;
            if let Ok(Some((from, payload))) =
                tokio::time::timeout(Duration::from_millis(50), in2.recv()).await
            {
                assert!(payload.starts_with(format!("after {from} ").as_bytes()));
                heard_from[from] = true;
            }
        }
    })
    .await
    .expect("restarted peer not reached within the limit");
    for (net, _) in &nodes {
        assert!(net.peer_stats(2).unwrap().connections >= 2);
    }
    net2.shutdown().await;
}

#[tokio::test]
async fn oversized_frame_closes_that_connection_only() {
    let l0 = bind_local().await;
    let l1 = bind_local().await;
    let peers = vec![(0, l0.local_addr().unwrap()), (1, l1.local_addr().unwrap())];
    let mut receiver_config = config(0, &peers);
    receiver_config.max_frame_bytes = 1024;
    let (receiver, mut inbound) = TcpNetwork::start_with_listener(receiver_config, l0).unwrap();

    // A raw client claims to be peer 1, then announces a 1 MiB frame.
    let mut raw = TcpStream::connect(peers[0].1).await.unwrap();
    let hello = encode_hello(1, &[]);
    raw.write_all(&(hello.len() as u32).to_be_bytes())
        .await
        .unwrap();
    raw.write_all(&hello).await.unwrap();
    raw.write_all(&(1u32 << 20).to_be_bytes()).await.unwrap();
    raw.write_all(&[0u8; 4096]).await.unwrap();
    assert_closed_by_peer(&mut raw).await;

    // The receiver still serves other connections, and nothing from the raw client got through.
    let (honest, _in1) = TcpNetwork::start_with_listener(config(1, &peers), l1).unwrap();
    honest.send(0, Bytes::from_static(b"still alive")).unwrap();
    assert_eq!(
        recv(&mut inbound).await,
        (1, Bytes::from_static(b"still alive"))
    );
    receiver.shutdown().await;
}

#[tokio::test]
async fn peer_with_a_larger_limit_is_cut_off_then_recovers() {
    let l0 = bind_local().await;
    let l1 = bind_local().await;
    let peers = vec![(0, l0.local_addr().unwrap()), (1, l1.local_addr().unwrap())];
    let mut receiver_config = config(0, &peers);
    receiver_config.max_frame_bytes = 1024;
    let mut sender_config = config(1, &peers);
    sender_config.max_frame_bytes = 4096;
    let (_receiver, mut inbound) = TcpNetwork::start_with_listener(receiver_config, l0).unwrap();
    let (sender, _) = TcpNetwork::start_with_listener(sender_config, l1).unwrap();

    sender.send(0, Bytes::from(vec![7u8; 2048])).unwrap();
    // The receiver drops the connection; the sender redials and small frames flow again.
    tokio::time::timeout(LIMIT, async {
        loop {
            sender.send(0, Bytes::from_static(b"small")).unwrap();
            if let Ok(Some((from, payload))) =
                tokio::time::timeout(Duration::from_millis(50), inbound.recv()).await
            {
                assert_eq!(from, 1);
                assert_eq!(
                    payload.as_ref(),
                    b"small",
                    "the oversized frame must never arrive"
                );
                break;
            }
        }
    })
    .await
    .expect("sender did not recover within the limit");
    wait_until(|| sender.peer_stats(0).unwrap().connections >= 2).await;
}

#[tokio::test]
async fn hello_with_an_unknown_index_is_rejected() {
    let (peers, mut nodes) = start_cluster(2).await;
    let mut raw = TcpStream::connect(peers[0].1).await.unwrap();
    let hello = encode_hello(9, &[]);
    raw.write_all(&(hello.len() as u32).to_be_bytes())
        .await
        .unwrap();
    raw.write_all(&hello).await.unwrap();
    raw.write_all(&5u32.to_be_bytes()).await.unwrap();
    raw.write_all(b"forged").await.unwrap();
    assert_closed_by_peer(&mut raw).await;

    nodes[1].0.send(0, Bytes::from_static(b"real")).unwrap();
    assert_eq!(
        recv(&mut nodes[0].1).await,
        (1, Bytes::from_static(b"real"))
    );
}

#[tokio::test]
async fn queue_for_an_unreachable_peer_keeps_only_the_newest() {
    let absent = free_addr().await;
    let l0 = bind_local().await;
    let peers = vec![(0, l0.local_addr().unwrap()), (1, absent)];
    let mut c0 = config(0, &peers);
    c0.send_queue_capacity = 4;
    let (net0, _) = TcpNetwork::start_with_listener(c0, l0).unwrap();
    for k in 0..10u8 {
        net0.send(1, Bytes::from(vec![k])).unwrap();
    }
    let stats = net0.peer_stats(1).unwrap();
    assert_eq!((stats.queued, stats.dropped), (4, 6));

    let (_net1, mut in1) = start_retrying(config(1, &peers)).await;
    for k in 6..10u8 {
        assert_eq!(recv(&mut in1).await, (0, Bytes::from(vec![k])));
    }
}

#[tokio::test]
async fn invalid_sends_are_errors() {
    let (_, nodes) = start_cluster(2).await;
    let net = &nodes[0].0;
    assert!(matches!(
        net.send(0, Bytes::from_static(b"to myself")),
        Err(NetworkError::UnknownPeer { peer: 0 })
    ));
    assert!(matches!(
        net.send(5, Bytes::from_static(b"x")),
        Err(NetworkError::UnknownPeer { peer: 5 })
    ));
    let huge = Bytes::from(vec![0u8; 16 * 1024 * 1024 + 1]);
    assert!(matches!(
        net.broadcast(huge.clone()),
        Err(NetworkError::FrameTooLarge { .. })
    ));
    assert!(matches!(
        net.send(1, huge),
        Err(NetworkError::FrameTooLarge { .. })
    ));
    assert_eq!(
        net.peer_stats(1).unwrap().queued + net.peer_stats(1).unwrap().dropped as usize,
        0
    );
}

#[tokio::test]
async fn shutdown_releases_the_port_and_closes_the_inbound_channel() {
    let (peers, mut nodes) = start_cluster(2).await;
    let (net1, mut in1) = nodes.pop().unwrap();
    net1.shutdown().await;
    assert!(tokio::time::timeout(LIMIT, in1.recv())
        .await
        .unwrap()
        .is_none());
    TcpListener::bind(peers[1].1)
        .await
        .expect("port still held after shutdown");
}

#[tokio::test]
async fn peers_named_by_host_are_looked_up_when_dialling() {
    let listeners = [bind_local().await, bind_local().await];
    let ports: Vec<u16> = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect();
    // Both nodes know each other only by name.
    let named: Vec<(PeerIndex, PeerAddress)> = ports
        .iter()
        .enumerate()
        .map(|(i, port)| (i, PeerAddress::parse(&format!("localhost:{port}")).unwrap()))
        .collect();
    let mut nodes = Vec::new();
    for (i, listener) in listeners.into_iter().enumerate() {
        let mut config = config(i, &[(0, free_addr().await), (1, free_addr().await)]);
        config.peers = named.clone();
        nodes.push(TcpNetwork::start_with_listener(config, listener).unwrap());
    }
    nodes[0].0.send(1, Bytes::from_static(b"by name")).unwrap();
    let (from, bytes) = recv(&mut nodes[1].1).await;
    assert_eq!((from, bytes.as_ref()), (0, b"by name".as_ref()));
}

/// A stand-in signature scheme: a peer's "signature" is a keyed hash with its secret.
struct KeyedHash {
    own_secret: [u8; 32],
    secrets: Vec<[u8; 32]>,
}

impl PeerAuth for KeyedHash {
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        blake3::keyed_hash(&self.own_secret, message)
            .as_bytes()
            .to_vec()
    }
    fn verify(&self, peer: PeerIndex, message: &[u8], signature: &[u8]) -> bool {
        self.secrets
            .get(peer)
            .is_some_and(|secret| blake3::keyed_hash(secret, message).as_bytes() == signature)
    }
}

fn authenticated(
    own: PeerIndex,
    own_secret: [u8; 32],
    peers: &[(PeerIndex, SocketAddr)],
) -> TcpConfig {
    let mut config = config(own, peers);
    config.auth = Some(PeerAuthenticator(std::sync::Arc::new(KeyedHash {
        own_secret,
        secrets: vec![[0; 32], [1; 32], [2; 32]],
    })));
    config
}

#[tokio::test]
async fn an_impostor_connection_is_refused() {
    let l0 = bind_local().await;
    let l1 = bind_local().await;
    let l2 = bind_local().await;
    let peers = vec![
        (0, l0.local_addr().unwrap()),
        (1, l1.local_addr().unwrap()),
        (2, l2.local_addr().unwrap()),
    ];
    let (_receiver, mut inbound) =
        TcpNetwork::start_with_listener(authenticated(0, [0; 32], &peers), l0).unwrap();

    // Claims index 1 but holds another key: connected, then dropped; nothing it sends arrives.
    let (impostor, _) =
        TcpNetwork::start_with_listener(authenticated(1, [9; 32], &peers), l1).unwrap();
    impostor.send(0, Bytes::from_static(b"forged")).unwrap();
    // Claims index 2 without signing at all.
    let (unsigned, _) = TcpNetwork::start_with_listener(config(2, &peers), l2).unwrap();
    unsigned.send(0, Bytes::from_static(b"unsigned")).unwrap();
    wait_until(|| {
        impostor.peer_stats(0).unwrap().connections >= 2
            && unsigned.peer_stats(0).unwrap().connections >= 2
    })
    .await;
    assert!(
        tokio::time::timeout(Duration::from_millis(200), inbound.recv())
            .await
            .is_err(),
        "an unproven peer's message got through"
    );
    impostor.shutdown().await;

    // The real validator 1, with its key, gets through on the same port.
    let l1 = TcpListener::bind(peers[1].1).await.unwrap();
    let (genuine, _) =
        TcpNetwork::start_with_listener(authenticated(1, [1; 32], &peers), l1).unwrap();
    genuine.send(0, Bytes::from_static(b"real")).unwrap();
    assert_eq!(recv(&mut inbound).await, (1, Bytes::from_static(b"real")));
}

#[tokio::test]
async fn a_flooding_peer_is_slowed_to_the_frame_rate() {
    let l0 = bind_local().await;
    let l1 = bind_local().await;
    let peers = vec![(0, l0.local_addr().unwrap()), (1, l1.local_addr().unwrap())];
    let mut receiver_config = config(0, &peers);
    receiver_config.max_inbound_frames_per_second = 100;
    let (_receiver, mut inbound) = TcpNetwork::start_with_listener(receiver_config, l0).unwrap();
    let (flooder, _) = TcpNetwork::start_with_listener(config(1, &peers), l1).unwrap();
    // A second's burst passes at once; the next 100 frames take about another second.
    let started = tokio::time::Instant::now();
    for i in 0..200u32 {
        flooder
            .send(0, Bytes::from(i.to_be_bytes().to_vec()))
            .unwrap();
    }
    for i in 0..200u32 {
        let (from, payload) = recv(&mut inbound).await;
        assert_eq!((from, payload.as_ref()), (1, &i.to_be_bytes()[..]));
    }
    // A lower bound only (a slow machine takes longer, never shorter).
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "200 frames at 100/s arrived in {:?}",
        started.elapsed()
    );
}
