//! Blobs as the Engine API hands them out: the blobs bundle of a built payload (blob proofs up to
//! Prague, cell proofs from Osaka on) and the pooled blobs of `engine_getBlobsV1/V2/V3`.

use alloy_eips::eip4844::{BlobAndProofV1, BlobAndProofV2};
use alloy_primitives::B256;
use alloy_rpc_types_engine::{BlobsBundleV1, BlobsBundleV2};
use fastevm_blobs::{with_blob_proofs, with_cell_proofs, BlobSidecar};
use fastevm_engine::{Engine, EngineError};
use std::sync::Arc;

use crate::error::EngineRpcError;

/// Most versioned hashes one `engine_getBlobs*` call may ask for (the spec's minimum).
pub(crate) const MAX_BLOB_REQUEST: usize = 128;

/// The blobs bundle of `engine_getPayloadV3/V4`: one KZG proof per blob.
pub(crate) fn bundle_v1(sidecars: &[Arc<BlobSidecar>]) -> Result<BlobsBundleV1, EngineRpcError> {
    let mut bundle = BlobsBundleV1::default();
    for sidecar in sidecars {
        let sidecar = with_blob_proofs(sidecar).map_err(internal)?;
        bundle.commitments.extend(sidecar.commitments);
        bundle.proofs.extend(sidecar.proofs);
        bundle.blobs.extend(sidecar.blobs);
    }
    Ok(bundle)
}

/// The blobs bundle of `engine_getPayloadV5`: 128 cell proofs per blob.
pub(crate) fn bundle_v2(sidecars: &[Arc<BlobSidecar>]) -> Result<BlobsBundleV2, EngineRpcError> {
    let mut bundle = BlobsBundleV2::default();
    for sidecar in sidecars {
        let sidecar = with_cell_proofs(sidecar).map_err(internal)?;
        bundle.commitments.extend(sidecar.commitments);
        bundle.proofs.extend(sidecar.cell_proofs);
        bundle.blobs.extend(sidecar.blobs);
    }
    Ok(bundle)
}

fn internal(e: fastevm_blobs::BlobError) -> EngineRpcError {
    EngineRpcError::Engine(EngineError::Internal(e.to_string()))
}

fn check_request_size(versioned_hashes: &[B256]) -> Result<(), EngineRpcError> {
    if versioned_hashes.len() > MAX_BLOB_REQUEST {
        return Err(EngineRpcError::Engine(EngineError::TooLargeRequest {
            requested: versioned_hashes.len() as u64,
            max: MAX_BLOB_REQUEST as u64,
        }));
    }
    Ok(())
}

/// `engine_getBlobsV1`: each blob with its KZG proof, `null` where the pool has none.
pub(crate) fn blobs_v1(
    engine: &Engine,
    versioned_hashes: &[B256],
) -> Result<Vec<Option<BlobAndProofV1>>, EngineRpcError> {
    check_request_size(versioned_hashes)?;
    Ok(engine.blobs_v1(versioned_hashes))
}

/// `engine_getBlobsV2`: every blob with its cell proofs, or `null` if any one is missing.
pub(crate) fn blobs_v2(
    engine: &Engine,
    versioned_hashes: &[B256],
) -> Result<Option<Vec<BlobAndProofV2>>, EngineRpcError> {
    check_request_size(versioned_hashes)?;
    Ok(engine.blobs_v2(versioned_hashes).into_iter().collect())
}

/// `engine_getBlobsV3`: each blob with its cell proofs, `null` at the positions of missing ones.
pub(crate) fn blobs_v3(
    engine: &Engine,
    versioned_hashes: &[B256],
) -> Result<Vec<Option<BlobAndProofV2>>, EngineRpcError> {
    check_request_size(versioned_hashes)?;
    Ok(engine.blobs_v2(versioned_hashes))
}
