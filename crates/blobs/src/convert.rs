//! A sidecar in the other proof form: blob proofs for a Prague-era blobs bundle, cell proofs for
//! an Osaka one. A pool keeps each sidecar in the form of the fork it was admitted under, so a
//! conversion is needed only for blocks built across a fork boundary.

use alloy_eips::{
    eip4844::{c_kzg, BlobTransactionSidecar, Bytes48},
    eip7594::BlobTransactionSidecarEip7594,
};

use crate::{kzg_settings, BlobError, BlobSidecar};

/// `sidecar` with one KZG proof per blob (computed when it carries cell proofs).
pub fn with_blob_proofs(sidecar: &BlobSidecar) -> Result<BlobTransactionSidecar, BlobError> {
    let cells = match sidecar {
        BlobSidecar::Eip4844(sidecar) => return Ok(sidecar.clone()),
        BlobSidecar::Eip7594(cells) => cells,
    };
    let settings = kzg_settings();
    let proofs = cells
        .blobs
        .iter()
        .zip(&cells.commitments)
        .map(|(blob, commitment)| {
            settings
                .compute_blob_kzg_proof(
                    &c_kzg::Blob::new(blob.0),
                    &c_kzg::Bytes48::new(commitment.0),
                )
                .map(|proof| Bytes48::from(proof.to_bytes().into_inner()))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| BlobError::InvalidSidecar(format!("computing blob proofs: {e:?}")))?;
    Ok(BlobTransactionSidecar {
        blobs: cells.blobs.clone(),
        commitments: cells.commitments.clone(),
        proofs,
    })
}

/// `sidecar` with 128 cell proofs per blob (computed when it carries blob proofs).
pub fn with_cell_proofs(sidecar: &BlobSidecar) -> Result<BlobTransactionSidecarEip7594, BlobError> {
    match sidecar {
        BlobSidecar::Eip7594(sidecar) => Ok(sidecar.clone()),
        BlobSidecar::Eip4844(_) => sidecar
            .clone()
            .try_into_eip7594_with_settings(kzg_settings())
            .map_err(|e| BlobError::InvalidSidecar(format!("computing cell proofs: {e:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        test_utils::{blob_tx, sidecar_v0, sidecar_v1},
        verify_sidecar,
    };

    #[test]
    fn conversions_give_sidecars_that_verify() {
        let v1 = sidecar_v1(2);
        let tx = blob_tx(&v1, 0);
        let v0 = with_blob_proofs(&v1).unwrap();
        assert_eq!(v0.blobs, v1.blobs());
        assert_eq!(BlobSidecar::Eip4844(v0.clone()), sidecar_v0(2));
        verify_sidecar(&tx, &BlobSidecar::Eip4844(v0.clone()), 6).unwrap();
        let back = with_cell_proofs(&BlobSidecar::Eip4844(v0)).unwrap();
        assert_eq!(BlobSidecar::Eip7594(back), v1);
    }
}
