//! Blob transactions (EIP-4844, with EIP-7594 cell proofs from Osaka on) as FastEVM moves them:
//! the network form a wallet submits (transaction plus sidecar) split into the canonical
//! transaction that goes into blocks and the sidecar that stays beside it, the KZG checks a
//! sidecar must pass before it is pooled or built into a block, and the blob lookups
//! `engine_getBlobsV1/V2` serve.
//!
//! It is not a pool (the transaction pool keeps the sidecars) and knows nothing of JSON-RPC: the
//! Engine API crate turns sidecars into blobs bundles.

#![warn(missing_docs)]

mod convert;
mod error;
mod network;
mod proofs;
mod verify;

#[cfg(any(test, feature = "test-utils"))]
pub mod test_utils;

pub use alloy_eips::eip7594::BlobTransactionSidecarVariant as BlobSidecar;
pub use convert::{with_blob_proofs, with_cell_proofs};
pub use error::BlobError;
pub use network::{encode_network, NetworkTransaction};
pub use proofs::{blob_and_proof_v1, blob_and_proof_v2};
pub use verify::{check_sidecar, kzg_settings, verify_sidecar, BlobRules};
