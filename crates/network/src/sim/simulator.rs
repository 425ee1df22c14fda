//! The discrete-event engine: virtual time, an ordered event queue, links, faults, counters and
//! the trace digest.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::config::{LinkConfig, RunLimit, SimConfig};
use super::node::{Outbox, OutboxAction, SimMessage, SimNode};
use crate::{NetworkError, PeerIndex};

/// Traffic seen by one node, counted across crashes and restarts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeCounters {
    /// Messages the node handed to the network (including ones later dropped).
    pub messages_sent: u64,
    /// Bytes of those messages, per [`SimMessage::wire_bytes`].
    pub bytes_sent: u64,
    /// Messages delivered to the node.
    pub messages_received: u64,
    /// Bytes of those messages.
    pub bytes_received: u64,
}

/// A scheduled event. Keyed in the queue by `(time, sequence number)`, so events at the same
/// virtual time run in the order they were scheduled.
#[derive(Debug)]
enum Event<M> {
    Start {
        node: PeerIndex,
        incarnation: u64,
    },
    Deliver {
        from: PeerIndex,
        to: PeerIndex,
        to_incarnation: u64,
        msg: M,
    },
    Timer {
        node: PeerIndex,
        id: u64,
    },
}

/// Digest tags, one per kind of processed event.
const TAG_START: u8 = 1;
const TAG_DELIVER: u8 = 2;
const TAG_TIMER: u8 = 3;

/// Deterministic simulation of `n` nodes exchanging messages over virtual time.
///
/// Nothing here reads a clock or iterates a hash map; the only randomness is a ChaCha8 generator
/// seeded from [`SimConfig::seed`], drawn in event order. Hence the same nodes, seed and test
/// actions always give the same sequence of events, which [`trace_digest`](Self::trace_digest)
/// summarises.
///
/// Fault model:
/// - **Latency/jitter/drops** per directed link ([`set_link`](Self::set_link)).
/// - **Partitions** ([`partition`](Self::partition)): a message between different groups is
///   dropped if the partition is active when it is sent or when it would arrive.
/// - **Crash** ([`crash`](Self::crash)): the node stops receiving messages and its pending timers
///   are discarded; messages in flight to it are lost even if it restarts before they arrive
///   (like a broken TCP connection). Messages it sent before crashing are still delivered.
/// - **Restart** ([`restart`](Self::restart)): the test supplies a fresh node (for example one
///   recovered from its store), whose `on_start` runs at the current time.
#[derive(Debug)]
pub struct Simulator<N: SimNode> {
    nodes: Vec<N>,
    crashed: Vec<bool>,
    incarnation: Vec<u64>,
    now_ms: u64,
    next_seq: u64,
    queue: BTreeMap<(u64, u64), Event<N::Message>>,
    /// Pending timers: `(node, timer id)` to the queue key of its event.
    timers: BTreeMap<(PeerIndex, u64), (u64, u64)>,
    /// Row-major `n * n` matrix of directed links, `links[from * n + to]`.
    links: Vec<LinkConfig>,
    /// Latest scheduled arrival per directed link, used when `fifo_links` is on.
    last_arrival_ms: Vec<u64>,
    fifo_links: bool,
    /// Group of each node while a partition is active.
    partition_group: Option<Vec<usize>>,
    rng: ChaCha8Rng,
    counters: Vec<NodeCounters>,
    dropped_messages: u64,
    processed_events: u64,
    digest: blake3::Hasher,
}

impl<N: SimNode> Simulator<N> {
    /// Build a simulator for `nodes` (node `i` has index `i`). Every node's `on_start` is
    /// scheduled at time 0 and runs on the first step, so links and partitions configured
    /// before running already apply to the first messages.
    pub fn new(config: SimConfig, nodes: Vec<N>) -> Result<Self, NetworkError> {
        if nodes.is_empty() {
            return Err(NetworkError::InvalidConfig {
                reason: "a simulation needs at least one node",
            });
        }
        config.default_link.validate()?;
        let n = nodes.len();
        let mut sim = Self {
            nodes,
            crashed: vec![false; n],
            incarnation: vec![0; n],
            now_ms: 0,
            next_seq: 0,
            queue: BTreeMap::new(),
            timers: BTreeMap::new(),
            links: vec![config.default_link; n * n],
            last_arrival_ms: vec![0; n * n],
            fifo_links: config.fifo_links,
            partition_group: None,
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            counters: vec![NodeCounters::default(); n],
            dropped_messages: 0,
            processed_events: 0,
            digest: blake3::Hasher::new(),
        };
        for node in 0..n {
            sim.schedule(
                0,
                Event::Start {
                    node,
                    incarnation: 0,
                },
            );
        }
        Ok(sim)
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Always false: a simulator has at least one node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Current virtual time in milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// The node at `index`, for assertions. Panics if `index >= len()`.
    pub fn node(&self, index: PeerIndex) -> &N {
        &self.nodes[index]
    }

    /// Mutable access to the node at `index` (e.g. to inject a command). Panics if out of range.
    pub fn node_mut(&mut self, index: PeerIndex) -> &mut N {
        &mut self.nodes[index]
    }

    /// All nodes, crashed ones included (a crashed node keeps its last state until restarted).
    pub fn nodes(&self) -> &[N] {
        &self.nodes
    }

    /// Whether the node is currently crashed.
    pub fn is_crashed(&self, index: PeerIndex) -> bool {
        self.crashed[index]
    }

    /// Traffic counters of one node. Panics if out of range.
    pub fn counters(&self, index: PeerIndex) -> NodeCounters {
        self.counters[index]
    }

    /// Messages lost so far: link drops, partitions, crashed or restarted receivers, bad indices.
    pub fn dropped_messages(&self) -> u64 {
        self.dropped_messages
    }

    /// Events processed so far (starts, deliveries, timers; stale timers excluded).
    pub fn processed_events(&self) -> u64 {
        self.processed_events
    }

    /// Events still queued (including messages to crashed nodes not yet discarded).
    pub fn pending_events(&self) -> usize {
        self.queue.len()
    }

    /// BLAKE3 digest of every processed event so far: kind, time, endpoints, message bytes and
    /// timer ids. Two runs that behaved identically have equal digests.
    pub fn trace_digest(&self) -> [u8; 32] {
        *self.digest.finalize().as_bytes()
    }

    /// Replace the behaviour of the directed link `from -> to`.
    pub fn set_link(
        &mut self,
        from: PeerIndex,
        to: PeerIndex,
        link: LinkConfig,
    ) -> Result<(), NetworkError> {
        self.check_peer(from)?;
        self.check_peer(to)?;
        link.validate()?;
        let n = self.len();
        self.links[from * n + to] = link;
        Ok(())
    }

    /// Replace the behaviour of every link.
    pub fn set_all_links(&mut self, link: LinkConfig) -> Result<(), NetworkError> {
        link.validate()?;
        self.links.fill(link);
        Ok(())
    }

    /// Split the network into `groups`; messages between different groups are dropped until
    /// [`heal`](Self::heal) or another `partition` call. A node listed in no group is isolated
    /// on its own. Listing a node twice or an unknown index is an error.
    pub fn partition<G, I>(&mut self, groups: G) -> Result<(), NetworkError>
    where
        G: IntoIterator<Item = I>,
        I: IntoIterator<Item = PeerIndex>,
    {
        let n = self.len();
        let mut group_of: Vec<Option<usize>> = vec![None; n];
        let mut group_count = 0;
        for (group, members) in groups.into_iter().enumerate() {
            for peer in members {
                self.check_peer(peer)?;
                if group_of[peer].replace(group).is_some() {
                    return Err(NetworkError::InvalidConfig {
                        reason: "a node appears in two partition groups",
                    });
                }
            }
            group_count = group + 1;
        }
        let groups = group_of
            .into_iter()
            .enumerate()
            .map(|(peer, group)| group.unwrap_or(group_count + peer))
            .collect();
        self.partition_group = Some(groups);
        Ok(())
    }

    /// End any partition.
    pub fn heal(&mut self) {
        self.partition_group = None;
    }

    /// Crash a node: it receives nothing, its timers are discarded, and messages in flight to it
    /// are lost. Its state stays readable through [`node`](Self::node) until restarted.
    pub fn crash(&mut self, index: PeerIndex) -> Result<(), NetworkError> {
        self.check_peer(index)?;
        if self.crashed[index] {
            return Ok(());
        }
        self.crashed[index] = true;
        self.incarnation[index] += 1;
        let timer_keys: Vec<(PeerIndex, u64)> = self
            .timers
            .range((index, 0)..=(index, u64::MAX))
            .map(|(key, _)| *key)
            .collect();
        for key in timer_keys {
            if let Some(queue_key) = self.timers.remove(&key) {
                self.queue.remove(&queue_key);
            }
        }
        Ok(())
    }

    /// Replace node `index` with `node` and start it at the current time. A running node is
    /// crashed first, so messages in flight to the old instance are lost.
    pub fn restart(&mut self, index: PeerIndex, node: N) -> Result<(), NetworkError> {
        self.crash(index)?;
        self.nodes[index] = node;
        self.crashed[index] = false;
        let incarnation = self.incarnation[index];
        self.schedule(
            self.now_ms,
            Event::Start {
                node: index,
                incarnation,
            },
        );
        Ok(())
    }

    /// Process the earliest queued event. Returns false if the queue is empty.
    pub fn step(&mut self) -> bool {
        let Some(((time, seq), event)) = self.queue.pop_first() else {
            return false;
        };
        self.now_ms = time;
        match event {
            Event::Start { node, incarnation } => {
                if self.crashed[node] || self.incarnation[node] != incarnation {
                    return true;
                }
                self.record(TAG_START, &[node as u64], &[]);
                self.dispatch(node, |n, now, out| n.on_start(now, out));
            }
            Event::Deliver {
                from,
                to,
                to_incarnation,
                msg,
            } => {
                if self.crashed[to]
                    || self.incarnation[to] != to_incarnation
                    || self.partitioned(from, to)
                {
                    self.dropped_messages += 1;
                    return true;
                }
                let bytes = msg.wire_bytes();
                let counters = &mut self.counters[to];
                counters.messages_received += 1;
                counters.bytes_received += bytes.len() as u64;
                let bytes = bytes.into_owned();
                self.record(TAG_DELIVER, &[from as u64, to as u64], &bytes);
                self.dispatch(to, |n, now, out| n.on_message(now, from, msg, out));
            }
            Event::Timer { node, id } => {
                // Replaced and cancelled timers leave the queue at once; this is a safety net.
                if self.timers.get(&(node, id)) != Some(&(time, seq)) {
                    return true;
                }
                self.timers.remove(&(node, id));
                self.record(TAG_TIMER, &[node as u64, id], &[]);
                self.dispatch(node, |n, now, out| n.on_timer(now, id, out));
            }
        }
        true
    }

    /// Process every event up to and including virtual time `time_ms`, then advance the clock
    /// to `time_ms` (if it is not already later).
    pub fn run_until_time(&mut self, time_ms: u64) {
        while let Some((&(time, _), _)) = self.queue.first_key_value() {
            if time > time_ms {
                break;
            }
            self.step();
        }
        self.now_ms = self.now_ms.max(time_ms);
    }

    /// Run for `duration_ms` of virtual time from now.
    pub fn run_for(&mut self, duration_ms: u64) {
        self.run_until_time(self.now_ms.saturating_add(duration_ms));
    }

    /// Process events until `condition(self)` holds, checking before the first event and after
    /// each one. Returns the number of events processed. Fails with
    /// [`NetworkError::SimLimitReached`] if the limit is hit or the queue empties first; events
    /// past the time limit stay queued and the clock stops at the limit.
    pub fn run_until<F>(&mut self, mut condition: F, limit: RunLimit) -> Result<u64, NetworkError>
    where
        F: FnMut(&Self) -> bool,
    {
        let mut steps = 0;
        loop {
            if condition(self) {
                return Ok(steps);
            }
            let next_time = self.queue.first_key_value().map(|(&(time, _), _)| time);
            match next_time {
                Some(time) if time <= limit.max_time_ms && steps < limit.max_steps => {
                    self.step();
                    steps += 1;
                }
                Some(time) if time > limit.max_time_ms => {
                    self.now_ms = self.now_ms.max(limit.max_time_ms);
                    return Err(self.limit_reached(steps));
                }
                _ => return Err(self.limit_reached(steps)),
            }
        }
    }

    fn limit_reached(&self, steps: u64) -> NetworkError {
        NetworkError::SimLimitReached {
            now_ms: self.now_ms,
            steps,
        }
    }

    fn check_peer(&self, peer: PeerIndex) -> Result<(), NetworkError> {
        if peer < self.len() {
            Ok(())
        } else {
            Err(NetworkError::UnknownPeer { peer })
        }
    }

    fn schedule(&mut self, time_ms: u64, event: Event<N::Message>) -> (u64, u64) {
        let key = (time_ms, self.next_seq);
        self.next_seq += 1;
        self.queue.insert(key, event);
        key
    }

    fn partitioned(&self, from: PeerIndex, to: PeerIndex) -> bool {
        match &self.partition_group {
            Some(groups) => from != to && groups[from] != groups[to],
            None => false,
        }
    }

    fn record(&mut self, tag: u8, fields: &[u64], bytes: &[u8]) {
        self.processed_events += 1;
        self.digest.update(&[tag]);
        self.digest.update(&self.now_ms.to_le_bytes());
        for field in fields {
            self.digest.update(&field.to_le_bytes());
        }
        self.digest.update(&(bytes.len() as u64).to_le_bytes());
        self.digest.update(bytes);
    }

    /// Run one callback on `node` and carry out what it queued, in order.
    fn dispatch<F>(&mut self, node: PeerIndex, callback: F)
    where
        F: FnOnce(&mut N, u64, &mut Outbox<N::Message>),
    {
        let mut out = Outbox::new(self.now_ms);
        callback(&mut self.nodes[node], self.now_ms, &mut out);
        for action in out.into_actions() {
            match action {
                OutboxAction::Send { to, msg } => self.transmit(node, to, msg),
                OutboxAction::Broadcast { msg } => {
                    for to in (0..self.len()).filter(|&to| to != node) {
                        self.transmit(node, to, msg.clone());
                    }
                }
                OutboxAction::SetTimer { at_ms, id } => {
                    if let Some(old) = self.timers.remove(&(node, id)) {
                        self.queue.remove(&old);
                    }
                    let key = self.schedule(at_ms, Event::Timer { node, id });
                    self.timers.insert((node, id), key);
                }
                OutboxAction::CancelTimer { id } => {
                    if let Some(old) = self.timers.remove(&(node, id)) {
                        self.queue.remove(&old);
                    }
                }
            }
        }
    }

    /// Put one message on the link `from -> to`, or drop it.
    fn transmit(&mut self, from: PeerIndex, to: PeerIndex, msg: N::Message) {
        let n = self.len();
        let len = msg.wire_bytes().len() as u64;
        let counters = &mut self.counters[from];
        counters.messages_sent += 1;
        counters.bytes_sent += len;
        if to >= n || self.partitioned(from, to) {
            self.dropped_messages += 1;
            return;
        }
        let to_incarnation = self.incarnation[to];
        let event = Event::Deliver {
            from,
            to,
            to_incarnation,
            msg,
        };
        if from == to {
            self.schedule(self.now_ms, event);
            return;
        }
        let link = self.links[from * n + to];
        if link.drop_probability > 0.0 && self.rng.gen_bool(link.drop_probability) {
            self.dropped_messages += 1;
            return;
        }
        let jitter = if link.jitter_ms > 0 {
            self.rng.gen_range(0..=link.jitter_ms)
        } else {
            0
        };
        let mut arrival = self
            .now_ms
            .saturating_add(link.base_latency_ms)
            .saturating_add(jitter);
        if self.fifo_links {
            let last = &mut self.last_arrival_ms[from * n + to];
            arrival = arrival.max(*last);
            *last = arrival;
        }
        self.schedule(arrival, event);
    }
}
