//! A toy ping/pong protocol used by the simulator's tests.

use std::borrow::Cow;

use super::{Outbox, SimMessage, SimNode};
use crate::PeerIndex;

/// Timer id of the periodic ping round.
pub(crate) const PING_TIMER: u64 = 1;

/// Messages of the toy protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ToyMsg {
    Ping { round: u64 },
    Pong { round: u64 },
}

impl SimMessage for ToyMsg {
    fn wire_bytes(&self) -> Cow<'_, [u8]> {
        let (tag, round) = match self {
            ToyMsg::Ping { round } => (0u8, *round),
            ToyMsg::Pong { round } => (1u8, *round),
        };
        let mut bytes = vec![tag];
        bytes.extend_from_slice(&round.to_le_bytes());
        Cow::Owned(bytes)
    }
}

/// One message as seen by its receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Received {
    pub(crate) from: PeerIndex,
    pub(crate) round: u64,
    pub(crate) at_ms: u64,
}

/// Answers every ping with a pong. If `rounds > 0` it also broadcasts a ping at start and then
/// every `period_ms`, for `rounds` rounds in total.
#[derive(Debug, Clone, Default)]
pub(crate) struct EchoNode {
    pub(crate) rounds: u64,
    pub(crate) period_ms: u64,
    pub(crate) next_round: u64,
    pub(crate) starts: u32,
    pub(crate) pings: Vec<Received>,
    pub(crate) pongs: Vec<Received>,
}

impl EchoNode {
    /// A node that only answers.
    pub(crate) fn responder() -> Self {
        Self::default()
    }

    /// A node that pings everyone `rounds` times, `period_ms` apart.
    pub(crate) fn pinger(rounds: u64, period_ms: u64) -> Self {
        Self {
            rounds,
            period_ms,
            ..Self::default()
        }
    }

    /// `n` nodes where node 0 pings `rounds` times and the rest respond.
    pub(crate) fn committee(n: usize, rounds: u64, period_ms: u64) -> Vec<Self> {
        (0..n)
            .map(|i| {
                if i == 0 {
                    Self::pinger(rounds, period_ms)
                } else {
                    Self::responder()
                }
            })
            .collect()
    }

    /// Ping rounds received from `from`.
    pub(crate) fn ping_rounds_from(&self, from: PeerIndex) -> Vec<u64> {
        self.pings
            .iter()
            .filter(|r| r.from == from)
            .map(|r| r.round)
            .collect()
    }

    fn ping_round(&mut self, out: &mut Outbox<ToyMsg>) {
        if self.next_round >= self.rounds {
            return;
        }
        out.broadcast(ToyMsg::Ping {
            round: self.next_round,
        });
        self.next_round += 1;
        if self.next_round < self.rounds {
            out.set_timer_after(self.period_ms, PING_TIMER);
        }
    }
}

impl SimNode for EchoNode {
    type Message = ToyMsg;

    fn on_start(&mut self, _now_ms: u64, out: &mut Outbox<ToyMsg>) {
        self.starts += 1;
        self.ping_round(out);
    }

    fn on_message(&mut self, now_ms: u64, from: PeerIndex, msg: ToyMsg, out: &mut Outbox<ToyMsg>) {
        match msg {
            ToyMsg::Ping { round } => {
                self.pings.push(Received {
                    from,
                    round,
                    at_ms: now_ms,
                });
                out.send(from, ToyMsg::Pong { round });
            }
            ToyMsg::Pong { round } => self.pongs.push(Received {
                from,
                round,
                at_ms: now_ms,
            }),
        }
    }

    fn on_timer(&mut self, _now_ms: u64, timer_id: u64, out: &mut Outbox<ToyMsg>) {
        if timer_id == PING_TIMER {
            self.ping_round(out);
        }
    }
}

/// A Byzantine responder: answers every ping with a pong for a different round, twice.
#[derive(Debug, Default)]
pub(crate) struct LyingNode;

impl SimNode for LyingNode {
    type Message = ToyMsg;

    fn on_start(&mut self, _now_ms: u64, _out: &mut Outbox<ToyMsg>) {}

    fn on_message(&mut self, _now_ms: u64, from: PeerIndex, msg: ToyMsg, out: &mut Outbox<ToyMsg>) {
        if let ToyMsg::Ping { round } = msg {
            out.send(from, ToyMsg::Pong { round: round + 100 });
            out.send(from, ToyMsg::Pong { round: round + 200 });
        }
    }

    fn on_timer(&mut self, _now_ms: u64, _timer_id: u64, _out: &mut Outbox<ToyMsg>) {}
}
