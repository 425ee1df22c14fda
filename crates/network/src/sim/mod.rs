//! Deterministic discrete-event network simulator.
//!
//! A test builds `n` nodes implementing [`SimNode`], wraps them in a [`Simulator`] with a
//! [`SimConfig`] (seed, default link), shapes the network ([`Simulator::set_link`],
//! [`Simulator::partition`], [`Simulator::crash`], [`Simulator::restart`]) and drives virtual
//! time with [`Simulator::run_until_time`], [`Simulator::run_for`] or [`Simulator::run_until`].
//! Afterwards it inspects the nodes ([`Simulator::node`]), traffic ([`Simulator::counters`]) and
//! the trace digest ([`Simulator::trace_digest`]).
//!
//! Design:
//! - One thread, no tokio, no wall clock. Events (node start, message delivery, timer) sit in a
//!   `BTreeMap` keyed by `(virtual time, sequence number)`; equal times run in scheduling order.
//! - One seeded ChaCha8 generator decides jitter and drops, drawn in event order, so equal seeds
//!   give equal traces. The digest hashes every processed event so a test can assert this.
//! - Nodes talk back only through an [`Outbox`]; the simulator applies its requests after the
//!   callback returns.
//! - Byzantine behaviour needs no special support: plug in a different [`SimNode`]
//!   implementation for the faulty indices (an enum, or `Box<dyn SimNode<Message = M>>`).
//!
//! ```
//! use fastevm_network::sim::{Outbox, RunLimit, SimConfig, SimNode, Simulator};
//!
//! /// Counts the pings it receives; node 0 pings everyone at start.
//! struct Pinger { index: usize, pings: u32 }
//!
//! impl SimNode for Pinger {
//!     type Message = Vec<u8>;
//!     fn on_start(&mut self, _now: u64, out: &mut Outbox<Vec<u8>>) {
//!         if self.index == 0 { out.broadcast(b"ping".to_vec()); }
//!     }
//!     fn on_message(&mut self, _now: u64, _from: usize, _msg: Vec<u8>, _out: &mut Outbox<Vec<u8>>) {
//!         self.pings += 1;
//!     }
//!     fn on_timer(&mut self, _now: u64, _id: u64, _out: &mut Outbox<Vec<u8>>) {}
//! }
//!
//! let nodes = (0..4).map(|index| Pinger { index, pings: 0 }).collect();
//! let mut sim = Simulator::new(SimConfig::with_seed(1), nodes).unwrap();
//! sim.run_until(|s| s.nodes()[1..].iter().all(|n| n.pings == 1), RunLimit::until_time(1_000))
//!     .unwrap();
//! assert_eq!(sim.counters(0).messages_sent, 3);
//! ```

mod config;
mod node;
mod simulator;
#[cfg(test)]
mod test_utils;
#[cfg(test)]
mod tests;

pub use config::{LinkConfig, RunLimit, SimConfig};
pub use node::{Outbox, SimMessage, SimNode};
pub use simulator::{NodeCounters, Simulator};
