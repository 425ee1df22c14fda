//! Simulator behaviour, exercised with the toy ping/pong protocol.

use super::test_utils::{EchoNode, LyingNode, ToyMsg};
use super::*;
use crate::{NetworkError, PeerIndex};

fn quiet_config(seed: u64, latency_ms: u64) -> SimConfig {
    SimConfig {
        seed,
        default_link: LinkConfig::fixed(latency_ms),
        fifo_links: false,
    }
}

#[test]
fn broadcast_reaches_every_peer_and_pongs_come_back() {
    let mut sim = Simulator::new(quiet_config(1, 10), EchoNode::committee(4, 1, 0)).unwrap();
    sim.run_until_time(1_000);

    for peer in 1..4 {
        assert_eq!(sim.node(peer).ping_rounds_from(0), vec![0]);
        assert_eq!(sim.node(peer).pings[0].at_ms, 10);
    }
    let mut pong_senders: Vec<PeerIndex> = sim.node(0).pongs.iter().map(|r| r.from).collect();
    pong_senders.sort_unstable();
    assert_eq!(pong_senders, vec![1, 2, 3]);
    assert!(sim.node(0).pongs.iter().all(|r| r.at_ms == 20));
    assert!(
        sim.node(0).pings.is_empty(),
        "broadcast must skip the sender"
    );

    // Each toy message is 9 bytes.
    assert_eq!(
        sim.counters(0),
        NodeCounters {
            messages_sent: 3,
            bytes_sent: 27,
            messages_received: 3,
            bytes_received: 27,
        }
    );
    assert_eq!(sim.counters(2).messages_received, 1);
    assert_eq!(sim.counters(2).messages_sent, 1);
    assert_eq!(sim.dropped_messages(), 0);
    assert_eq!(sim.now_ms(), 1_000);
}

#[test]
fn per_link_latency_orders_arrivals() {
    let mut sim = Simulator::new(quiet_config(1, 10), EchoNode::committee(4, 1, 0)).unwrap();
    sim.set_link(0, 1, LinkConfig::fixed(30)).unwrap();
    sim.set_link(0, 2, LinkConfig::fixed(5)).unwrap();
    sim.set_link(0, 3, LinkConfig::fixed(17)).unwrap();
    sim.run_until_time(1_000);

    assert_eq!(sim.node(1).pings[0].at_ms, 30);
    assert_eq!(sim.node(2).pings[0].at_ms, 5);
    assert_eq!(sim.node(3).pings[0].at_ms, 17);
    // Return links keep the default 10 ms, so pongs arrive in order 2, 3, 1.
    let pongs: Vec<(PeerIndex, u64)> = sim
        .node(0)
        .pongs
        .iter()
        .map(|r| (r.from, r.at_ms))
        .collect();
    assert_eq!(pongs, vec![(2, 15), (3, 27), (1, 40)]);
}

#[test]
fn jitter_stays_within_bounds_and_can_reorder_unless_fifo() {
    let jittery = LinkConfig {
        base_latency_ms: 20,
        jitter_ms: 100,
        drop_probability: 0.0,
    };
    let arrivals = |fifo_links: bool| {
        let config = SimConfig {
            seed: 3,
            default_link: jittery,
            fifo_links,
        };
        // 50 rounds 1 ms apart: far less than the jitter, so reordering is likely.
        let mut sim = Simulator::new(config, EchoNode::committee(2, 50, 1)).unwrap();
        sim.run_until_time(10_000);
        let pings = sim.node(1).pings.clone();
        assert_eq!(pings.len(), 50);
        for ping in &pings {
            let sent_at = ping.round;
            assert!(
                ping.at_ms >= sent_at + 20 && ping.at_ms <= sent_at + 120,
                "{ping:?}"
            );
        }
        pings.iter().map(|r| r.round).collect::<Vec<_>>()
    };

    let reordered = arrivals(false);
    assert!(reordered.windows(2).any(|w| w[0] > w[1]), "{reordered:?}");
    let fifo = arrivals(true);
    assert_eq!(fifo, (0..50).collect::<Vec<_>>());
}

#[test]
fn drops_follow_link_probability() {
    let mut sim = Simulator::new(quiet_config(5, 10), EchoNode::committee(3, 1_000, 1)).unwrap();
    sim.set_link(
        0,
        1,
        LinkConfig {
            drop_probability: 1.0,
            ..LinkConfig::fixed(10)
        },
    )
    .unwrap();
    sim.set_link(
        0,
        2,
        LinkConfig {
            drop_probability: 0.5,
            ..LinkConfig::fixed(10)
        },
    )
    .unwrap();
    sim.run_until_time(10_000);

    assert!(sim.node(1).pings.is_empty());
    let half = sim.node(2).pings.len();
    assert!((400..=600).contains(&half), "received {half} of 1000");
    // Every ping that got through was answered over a loss-free link.
    assert_eq!(sim.node(0).pongs.len(), half);
    assert_eq!(sim.dropped_messages(), 2_000 - half as u64);
    assert_eq!(sim.counters(0).messages_sent, 2_000);
}

#[test]
fn partition_blocks_cross_group_traffic_until_heal() {
    // Node 0 pings every 100 ms for 10 rounds (t = 0, 100, ..., 900); latency 10 ms.
    let mut sim = Simulator::new(quiet_config(1, 10), EchoNode::committee(4, 10, 100)).unwrap();
    sim.partition([[0, 1], [2, 3]]).unwrap();
    sim.run_until_time(450);
    assert_eq!(sim.node(1).ping_rounds_from(0), vec![0, 1, 2, 3, 4]);
    assert!(sim.node(2).pings.is_empty());
    assert!(sim.node(3).pings.is_empty());

    sim.heal();
    sim.run_until_time(2_000);
    assert_eq!(sim.node(1).ping_rounds_from(0), (0..10).collect::<Vec<_>>());
    assert_eq!(sim.node(2).ping_rounds_from(0), vec![5, 6, 7, 8, 9]);
    assert_eq!(sim.node(3).ping_rounds_from(0), vec![5, 6, 7, 8, 9]);
    assert_eq!(sim.dropped_messages(), 10);
}

#[test]
fn partition_also_drops_messages_already_in_flight() {
    let mut sim = Simulator::new(quiet_config(1, 10), EchoNode::committee(2, 1, 0)).unwrap();
    sim.run_until_time(5); // Ping to node 1 sent at 0, due at 10.
    sim.partition([[0], [1]]).unwrap();
    sim.run_until_time(100);
    assert!(sim.node(1).pings.is_empty());
    assert_eq!(sim.dropped_messages(), 1);
}

#[test]
fn unlisted_nodes_are_isolated_and_bad_groups_are_rejected() {
    let mut sim = Simulator::new(quiet_config(1, 10), EchoNode::committee(4, 1, 0)).unwrap();
    sim.partition([vec![0, 1, 2]]).unwrap();
    sim.run_until_time(100);
    assert_eq!(sim.node(1).pings.len(), 1);
    assert_eq!(sim.node(2).pings.len(), 1);
    assert!(sim.node(3).pings.is_empty());

    assert!(matches!(
        sim.partition([vec![0, 1], vec![1, 2]]),
        Err(NetworkError::InvalidConfig { .. })
    ));
    assert!(matches!(
        sim.partition([vec![0, 9]]),
        Err(NetworkError::UnknownPeer { peer: 9 })
    ));
}

#[test]
fn crashed_node_receives_nothing_and_loses_its_timers() {
    // Node 0 pings every 100 ms for 10 rounds; node 1 answers.
    let mut sim = Simulator::new(quiet_config(1, 10), EchoNode::committee(3, 10, 100)).unwrap();
    sim.run_until_time(250);
    sim.crash(1).unwrap();
    sim.crash(0).unwrap();
    sim.run_until_time(2_000);

    // Node 0's ping timer died with it: it sent rounds 0..=2 only.
    assert_eq!(sim.node(0).next_round, 3);
    assert_eq!(sim.node(2).ping_rounds_from(0), vec![0, 1, 2]);
    assert_eq!(sim.node(1).ping_rounds_from(0), vec![0, 1, 2]);
    // Node 2's pong for round 2 (sent at 210, due at 220) arrived before the crash.
    assert_eq!(sim.node(0).pongs.len(), 6);
    assert!(sim.is_crashed(0) && sim.is_crashed(1) && !sim.is_crashed(2));
}

#[test]
fn restart_runs_a_fresh_node_that_rejoins() {
    let mut sim = Simulator::new(quiet_config(1, 10), EchoNode::committee(3, 10, 100)).unwrap();
    sim.run_until_time(150);
    sim.crash(2).unwrap();
    sim.run_until_time(350);
    // Round 4 is broadcast at 400; restart node 2 at 395.
    sim.run_until_time(395);
    sim.restart(2, EchoNode::responder()).unwrap();
    sim.run_until_time(2_000);

    let node2 = sim.node(2);
    assert_eq!(node2.starts, 1, "the fresh node is started once");
    assert_eq!(node2.ping_rounds_from(0), vec![4, 5, 6, 7, 8, 9]);
    assert_eq!(sim.node(1).ping_rounds_from(0), (0..10).collect::<Vec<_>>());
    // Rounds 2 and 3 were lost while node 2 was down.
    assert_eq!(sim.dropped_messages(), 2);
}

#[test]
fn messages_in_flight_to_a_crashed_node_are_lost_even_if_it_restarts_in_time() {
    let mut sim = Simulator::new(quiet_config(1, 50), EchoNode::committee(2, 1, 0)).unwrap();
    sim.run_until_time(10); // Ping due at 50.
    sim.restart(1, EchoNode::responder()).unwrap();
    sim.run_until_time(1_000);
    assert!(sim.node(1).pings.is_empty());
    assert_eq!(sim.dropped_messages(), 1);
}

#[test]
fn a_restarted_pinger_starts_over() {
    let mut sim = Simulator::new(quiet_config(1, 10), EchoNode::committee(2, 3, 100)).unwrap();
    sim.run_until_time(1_000);
    sim.restart(0, EchoNode::pinger(3, 100)).unwrap();
    sim.run_until_time(2_000);
    let arrivals: Vec<u64> = sim.node(1).pings.iter().map(|r| r.at_ms).collect();
    assert_eq!(arrivals, vec![10, 110, 210, 1_010, 1_110, 1_210]);
}

fn lossy_jittery_run(seed: u64) -> ([u8; 32], Vec<u64>) {
    let config = SimConfig {
        seed,
        default_link: LinkConfig {
            base_latency_ms: 20,
            jitter_ms: 40,
            drop_probability: 0.1,
        },
        fifo_links: false,
    };
    let mut sim = Simulator::new(config, EchoNode::committee(5, 200, 7)).unwrap();
    sim.run_until_time(700);
    sim.partition([vec![0, 1, 2], vec![3, 4]]).unwrap();
    sim.run_until_time(900);
    sim.crash(4).unwrap();
    sim.heal();
    sim.run_until_time(1_100);
    sim.restart(4, EchoNode::responder()).unwrap();
    sim.run_until_time(5_000);
    let arrivals = sim.node(0).pongs.iter().map(|r| r.at_ms).collect();
    (sim.trace_digest(), arrivals)
}

#[test]
fn same_seed_gives_the_same_trace_and_another_seed_does_not() {
    let (digest_a, arrivals_a) = lossy_jittery_run(42);
    let (digest_b, arrivals_b) = lossy_jittery_run(42);
    assert_eq!(digest_a, digest_b);
    assert_eq!(arrivals_a, arrivals_b);
    assert!(!arrivals_a.is_empty());

    let (digest_c, arrivals_c) = lossy_jittery_run(43);
    assert_ne!(digest_a, digest_c);
    assert_ne!(arrivals_a, arrivals_c);
}

#[test]
fn digest_reflects_message_contents() {
    // Same timing, different rounds: only the bytes differ.
    let run = |rounds| {
        let mut sim =
            Simulator::new(quiet_config(1, 10), EchoNode::committee(2, rounds, 0)).unwrap();
        sim.run_until_time(100);
        sim.trace_digest()
    };
    let mut other = EchoNode::committee(2, 1, 0);
    other[0].next_round = 7;
    other[0].rounds = 8;
    let mut sim = Simulator::new(quiet_config(1, 10), other).unwrap();
    sim.run_until_time(100);
    assert_ne!(run(1), sim.trace_digest());
    assert_eq!(run(1), run(1));
}

#[test]
fn run_until_stops_when_the_condition_holds_or_the_limit_is_hit() {
    let mut sim = Simulator::new(quiet_config(1, 10), EchoNode::committee(4, 100, 10)).unwrap();
    let steps = sim
        .run_until(|s| s.node(3).pings.len() >= 5, RunLimit::until_time(10_000))
        .unwrap();
    assert!(steps > 0);
    assert_eq!(sim.node(3).pings.len(), 5);
    assert_eq!(sim.now_ms(), 50);

    let err = sim
        .run_until(
            |s| s.node(3).pings.len() >= 1_000,
            RunLimit::until_time(300),
        )
        .unwrap_err();
    assert!(matches!(
        err,
        NetworkError::SimLimitReached { now_ms: 300, .. }
    ));
    assert_eq!(sim.node(3).pings.len(), 30);

    let err = sim
        .run_until(
            |_| false,
            RunLimit {
                max_time_ms: u64::MAX,
                max_steps: 3,
            },
        )
        .unwrap_err();
    assert!(matches!(
        err,
        NetworkError::SimLimitReached { steps: 3, .. }
    ));

    // With an empty queue nothing can change: fail instead of spinning.
    let mut idle = Simulator::new(quiet_config(1, 10), vec![EchoNode::responder()]).unwrap();
    assert!(idle
        .run_until(|_| false, RunLimit::until_time(u64::MAX))
        .is_err());
}

/// Sets, replaces and cancels timers, recording what fires.
#[derive(Default)]
struct TimerNode {
    fired: Vec<(u64, u64)>,
}

impl SimNode for TimerNode {
    type Message = Vec<u8>;

    fn on_start(&mut self, _now_ms: u64, out: &mut Outbox<Vec<u8>>) {
        out.set_timer_at(100, 1);
        out.set_timer_after(50, 2);
        out.set_timer_at(200, 1); // Replaces the first timer 1.
        out.set_timer_at(10, 3);
        out.cancel_timer(3);
        out.set_timer_at(30, 4);
    }

    fn on_message(&mut self, _: u64, _: PeerIndex, _: Vec<u8>, _: &mut Outbox<Vec<u8>>) {}

    fn on_timer(&mut self, now_ms: u64, timer_id: u64, out: &mut Outbox<Vec<u8>>) {
        self.fired.push((now_ms, timer_id));
        if timer_id == 4 {
            // Re-arming from inside the callback works, and a past time fires now.
            out.set_timer_at(0, 5);
        }
    }
}

#[test]
fn timers_fire_once_and_can_be_replaced_or_cancelled() {
    let mut sim = Simulator::new(SimConfig::with_seed(1), vec![TimerNode::default()]).unwrap();
    sim.run_until_time(1_000);
    assert_eq!(sim.node(0).fired, vec![(30, 4), (30, 5), (50, 2), (200, 1)]);
    assert_eq!(sim.pending_events(), 0);
}

#[test]
fn byzantine_nodes_plug_in_as_another_sim_node() {
    let nodes: Vec<Box<dyn SimNode<Message = ToyMsg>>> = vec![
        Box::new(EchoNode::pinger(1, 0)),
        Box::new(EchoNode::responder()),
        Box::new(LyingNode),
    ];
    let mut sim = Simulator::new(quiet_config(1, 10), nodes).unwrap();
    sim.run_until_time(100);
    // Node 0 got one honest pong and two forged ones.
    assert_eq!(sim.counters(0).messages_received, 3);
    assert_eq!(sim.counters(2).messages_sent, 2);
    assert_eq!(sim.counters(1).messages_sent, 1);
}

#[test]
fn invalid_configurations_are_rejected() {
    let empty: Vec<EchoNode> = Vec::new();
    assert!(matches!(
        Simulator::new(SimConfig::with_seed(1), empty),
        Err(NetworkError::InvalidConfig { .. })
    ));
    let mut sim = Simulator::new(SimConfig::with_seed(1), EchoNode::committee(2, 1, 0)).unwrap();
    let bad = LinkConfig {
        drop_probability: 1.5,
        ..LinkConfig::default()
    };
    assert!(sim.set_link(0, 1, bad).is_err());
    assert!(sim.set_all_links(bad).is_err());
    assert!(matches!(
        sim.set_link(0, 2, LinkConfig::default()),
        Err(NetworkError::UnknownPeer { peer: 2 })
    ));
    assert!(matches!(
        sim.crash(5),
        Err(NetworkError::UnknownPeer { peer: 5 })
    ));
}
