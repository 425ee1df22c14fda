//! Knobs of a simulation: link behaviour, seed, and run limits.

use crate::NetworkError;

/// Behaviour of one directed link (sender to receiver).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkConfig {
    /// Minimum one-way latency in virtual milliseconds.
    pub base_latency_ms: u64,
    /// Extra latency drawn uniformly from `0..=jitter_ms` for every message.
    pub jitter_ms: u64,
    /// Probability in `[0, 1]` that a message on this link is lost.
    pub drop_probability: f64,
}

impl LinkConfig {
    /// A perfect link with a fixed latency: no jitter, no loss.
    pub fn fixed(latency_ms: u64) -> Self {
        Self {
            base_latency_ms: latency_ms,
            jitter_ms: 0,
            drop_probability: 0.0,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), NetworkError> {
        if !(0.0..=1.0).contains(&self.drop_probability) {
            return Err(NetworkError::InvalidConfig {
                reason: "drop_probability must be within [0, 1]",
            });
        }
        Ok(())
    }
}

impl Default for LinkConfig {
    /// 50 ms base latency, 20 ms jitter, no loss.
    fn default() -> Self {
        Self {
            base_latency_ms: 50,
            jitter_ms: 20,
            drop_probability: 0.0,
        }
    }
}

/// Configuration of a [`Simulator`](super::Simulator).
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Seed of the only random source (ChaCha8): latency jitter and drops.
    pub seed: u64,
    /// Initial behaviour of every link; change single links with
    /// [`Simulator::set_link`](super::Simulator::set_link).
    pub default_link: LinkConfig,
    /// When true, messages on one directed link arrive in the order they were sent (like TCP):
    /// jitter may delay a message but never lets it overtake an earlier one. When false, jitter
    /// may reorder messages on the same link.
    pub fifo_links: bool,
}

impl SimConfig {
    /// Default links (see [`LinkConfig::default`]), reordering allowed, with the given seed.
    pub fn with_seed(seed: u64) -> Self {
        Self {
            seed,
            default_link: LinkConfig::default(),
            fifo_links: false,
        }
    }
}

/// Bounds for [`Simulator::run_until`](super::Simulator::run_until), so a run whose condition
/// never holds still terminates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunLimit {
    /// Absolute virtual time after which the run gives up; events later than this stay queued.
    pub max_time_ms: u64,
    /// Maximum number of events the run may process.
    pub max_steps: u64,
}

impl RunLimit {
    /// Give up at virtual time `max_time_ms`, with a step budget of ten million events.
    pub fn until_time(max_time_ms: u64) -> Self {
        Self {
            max_time_ms,
            max_steps: 10_000_000,
        }
    }
}
