//! Mysticeti-C commit rule: [`base::BaseCommitter`] decides single leader slots,
//! [`universal::UniversalCommitter`] pipelines them into a decided leader sequence.

pub mod base;
pub mod universal;

#[cfg(test)]
mod base_tests;
#[cfg(test)]
mod universal_tests;

pub use base::{BaseCommitter, CommitterOptions, LeaderStatus};
pub use universal::{DecidedLeader, UniversalCommitter, UniversalCommitterOptions};
