//! Prometheus metrics of a FastEVM node and a minimal HTTP exporter for them.
//!
//! What it is: one [`NodeMetrics`] registry holding every metric the node reports (execution,
//! Engine API, JSON-RPC, transaction pool, consensus), and [`serve`], which answers
//! `GET /metrics` in the Prometheus text format.
//!
//! What it is not: no push gateway, no dashboards (the Docker devnet ships the Prometheus config).

#![warn(missing_docs)]

mod exporter;
mod node_metrics;

pub use exporter::{serve, MetricsError};
pub use node_metrics::NodeMetrics;
