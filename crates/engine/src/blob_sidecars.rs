//! The sidecars of forced blob transactions: what the builder requires of a blob transaction
//! that reached it through consensus before building it into a payload.

use alloy_consensus::{Transaction, TxEnvelope};
use alloy_primitives::B256;
use fastevm_blobs::{verify_sidecar, BlobSidecar};
use std::sync::Arc;

use crate::engine::TransactionSource;

/// The sidecar a forced blob transaction brings, or why the transaction is left out: blob
/// transactions need their blobs (a block whose blobs nobody has is of no use to anyone) and the
/// blobs must verify. Deterministic: the answer depends only on the bytes consensus ordered and
/// the block's fork (a sidecar identical to one this node's pool verified is not verified
/// again).
pub(crate) fn forced_blob_sidecar(
    tx: &TxEnvelope,
    sidecar: Option<BlobSidecar>,
    max_blobs_per_tx: Option<u64>,
    source: Option<&dyn TransactionSource>,
) -> Result<Arc<BlobSidecar>, String> {
    let max_blobs_per_tx =
        max_blobs_per_tx.ok_or("blob transactions are not valid before Cancun")?;
    let sidecar = sidecar.ok_or("blob transaction without its sidecar")?;
    // The per-transaction limit is the block's fork's, whatever the pool admitted under.
    let blobs = tx.blob_versioned_hashes().map_or(0, <[B256]>::len);
    if blobs as u64 > max_blobs_per_tx {
        return Err(format!(
            "too many blobs in transaction: have {blobs}, permitted {max_blobs_per_tx}"
        ));
    }
    if let Some(pooled) = source.and_then(|source| source.blob_sidecar(tx.tx_hash())) {
        if *pooled == sidecar {
            return Ok(pooled);
        }
    }
    verify_sidecar(tx, &sidecar, max_blobs_per_tx).map_err(|e| e.to_string())?;
    Ok(Arc::new(sidecar))
}
