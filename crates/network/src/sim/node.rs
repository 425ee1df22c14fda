//! What a protocol implements to run in the simulator, and how it talks back to it.

use std::borrow::Cow;

use bytes::Bytes;

use crate::PeerIndex;

/// A message that can travel through the simulator.
///
/// The simulator never interprets messages. It only needs their bytes to feed the trace digest
/// (so two runs can be compared) and to count traffic. The bytes should be a faithful encoding:
/// two messages that differ should have different bytes, or the digest cannot tell them apart.
pub trait SimMessage: Clone {
    /// The message's encoding, as it would appear on the wire.
    fn wire_bytes(&self) -> Cow<'_, [u8]>;
}

impl SimMessage for Bytes {
    fn wire_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self.as_ref())
    }
}

impl SimMessage for Vec<u8> {
    fn wire_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self.as_slice())
    }
}

/// A protocol participant driven by the simulator.
///
/// Every callback receives the current virtual time and an [`Outbox`] in which the node queues
/// what it wants done (sends, broadcasts, timers). Callbacks must be deterministic functions of
/// the node's state and their arguments: no wall clock, no unseeded randomness, no `HashMap`
/// iteration that leaks into outputs.
///
/// **Byzantine nodes.** The simulator treats every node the same way, so a misbehaving node is
/// just another implementation of this trait (equivocating, withholding, sending garbage). To
/// mix honest and Byzantine nodes in one simulation use an enum of implementations, or
/// `Box<dyn SimNode<Message = M>>`, which implements this trait by delegation.
pub trait SimNode {
    /// The messages this protocol exchanges.
    type Message: SimMessage;

    /// Called once when the node starts: at time 0, and again after each
    /// [`restart`](super::Simulator::restart).
    fn on_start(&mut self, now_ms: u64, out: &mut Outbox<Self::Message>);

    /// Called when a message from `from` is delivered.
    fn on_message(
        &mut self,
        now_ms: u64,
        from: PeerIndex,
        msg: Self::Message,
        out: &mut Outbox<Self::Message>,
    );

    /// Called when a timer set through [`Outbox::set_timer_at`] or
    /// [`Outbox::set_timer_after`] fires.
    fn on_timer(&mut self, now_ms: u64, timer_id: u64, out: &mut Outbox<Self::Message>);
}

impl<M: SimMessage> SimNode for Box<dyn SimNode<Message = M>> {
    type Message = M;

    fn on_start(&mut self, now_ms: u64, out: &mut Outbox<M>) {
        (**self).on_start(now_ms, out);
    }

    fn on_message(&mut self, now_ms: u64, from: PeerIndex, msg: M, out: &mut Outbox<M>) {
        (**self).on_message(now_ms, from, msg, out);
    }

    fn on_timer(&mut self, now_ms: u64, timer_id: u64, out: &mut Outbox<M>) {
        (**self).on_timer(now_ms, timer_id, out);
    }
}

/// One request queued by a node during a callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OutboxAction<M> {
    Send { to: PeerIndex, msg: M },
    Broadcast { msg: M },
    SetTimer { at_ms: u64, id: u64 },
    CancelTimer { id: u64 },
}

/// Requests a node makes during one callback; the simulator carries them out, in order, when the
/// callback returns.
#[derive(Debug)]
pub struct Outbox<M> {
    now_ms: u64,
    actions: Vec<OutboxAction<M>>,
}

impl<M> Outbox<M> {
    pub(crate) fn new(now_ms: u64) -> Self {
        Self {
            now_ms,
            actions: Vec::new(),
        }
    }

    pub(crate) fn into_actions(self) -> Vec<OutboxAction<M>> {
        self.actions
    }

    /// Send `msg` to peer `to`. Sending to oneself delivers with zero latency, never dropped.
    /// Sending to an index outside the committee is ignored (and counted as dropped).
    pub fn send(&mut self, to: PeerIndex, msg: M) {
        self.actions.push(OutboxAction::Send { to, msg });
    }

    /// Send `msg` to every peer except the sender. Each copy crosses its own link, with its own
    /// latency and drop decision.
    pub fn broadcast(&mut self, msg: M) {
        self.actions.push(OutboxAction::Broadcast { msg });
    }

    /// Fire timer `id` at virtual time `at_ms` (a time in the past fires at the current time).
    ///
    /// A node has at most one pending timer per id: setting an id that is already pending
    /// replaces the earlier one.
    pub fn set_timer_at(&mut self, at_ms: u64, id: u64) {
        let at_ms = at_ms.max(self.now_ms);
        self.actions.push(OutboxAction::SetTimer { at_ms, id });
    }

    /// Fire timer `id` after `delay_ms` of virtual time. Same replacement rule as
    /// [`set_timer_at`](Self::set_timer_at).
    pub fn set_timer_after(&mut self, delay_ms: u64, id: u64) {
        let at_ms = self.now_ms.saturating_add(delay_ms);
        self.actions.push(OutboxAction::SetTimer { at_ms, id });
    }

    /// Cancel the pending timer `id`, if any.
    pub fn cancel_timer(&mut self, id: u64) {
        self.actions.push(OutboxAction::CancelTimer { id });
    }

    /// Virtual time of the callback this outbox belongs to.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_are_clamped_to_now_and_relative_timers_add_delay() {
        let mut out: Outbox<Vec<u8>> = Outbox::new(100);
        out.set_timer_at(50, 1);
        out.set_timer_after(25, 2);
        out.cancel_timer(3);
        assert_eq!(
            out.into_actions(),
            vec![
                OutboxAction::SetTimer { at_ms: 100, id: 1 },
                OutboxAction::SetTimer { at_ms: 125, id: 2 },
                OutboxAction::CancelTimer { id: 3 },
            ]
        );
    }
}
