//! Shared builders for tests (also usable by simulation tests in other crates).

mod dag_builder;
mod dag_parser;

pub use dag_builder::{DagBuilder, LayerBuilder};
pub use dag_parser::parse_dag;

/// Seed for randomized tests: `DAG_TEST_SEED` if set, else `default`.
pub fn test_seed(default: u64) -> u64 {
    std::env::var("DAG_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}
