//! One blob and its proofs out of a sidecar, as `engine_getBlobsV1` (KZG proof, before Osaka)
//! and `engine_getBlobsV2` (cell proofs, from Osaka on) return them.

use alloy_eips::{
    eip4844::{BlobAndProofV1, BlobAndProofV2},
    eip7594::CELLS_PER_EXT_BLOB,
};
use alloy_primitives::B256;

use crate::BlobSidecar;

/// The blob with `versioned_hash` and its KZG proof, if `sidecar` holds it with a blob proof.
pub fn blob_and_proof_v1(sidecar: &BlobSidecar, versioned_hash: &B256) -> Option<BlobAndProofV1> {
    let BlobSidecar::Eip4844(sidecar) = sidecar else {
        return None;
    };
    let index = sidecar.versioned_hash_index(versioned_hash)?;
    Some(BlobAndProofV1 {
        blob: Box::new(*sidecar.blobs.get(index)?),
        proof: *sidecar.proofs.get(index)?,
    })
}

/// The blob with `versioned_hash` and its cell proofs, if `sidecar` holds it with cell proofs.
pub fn blob_and_proof_v2(sidecar: &BlobSidecar, versioned_hash: &B256) -> Option<BlobAndProofV2> {
    let BlobSidecar::Eip7594(sidecar) = sidecar else {
        return None;
    };
    let index = sidecar.versioned_hash_index(versioned_hash)?;
    let proofs = sidecar
        .cell_proofs
        .get(index * CELLS_PER_EXT_BLOB..(index + 1) * CELLS_PER_EXT_BLOB)?;
    Some(BlobAndProofV2 {
        blob: Box::new(*sidecar.blobs.get(index)?),
        proofs: proofs.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_utils::{sidecar_v0, sidecar_v1};

    #[test]
    fn each_blob_comes_with_its_own_proofs() {
        let v0 = sidecar_v0(2);
        let hashes: Vec<B256> = v0.versioned_hashes().collect();
        let second = blob_and_proof_v1(&v0, &hashes[1]).unwrap();
        let BlobSidecar::Eip4844(inner) = &v0 else {
            unreachable!()
        };
        assert_eq!(*second.blob, inner.blobs[1]);
        assert_eq!(second.proof, inner.proofs[1]);
        assert!(
            blob_and_proof_v2(&v0, &hashes[1]).is_none(),
            "no cell proofs in a v0 sidecar"
        );
        assert!(blob_and_proof_v1(&v0, &B256::ZERO).is_none());

        let v1 = sidecar_v1(2);
        let hashes: Vec<B256> = v1.versioned_hashes().collect();
        let second = blob_and_proof_v2(&v1, &hashes[1]).unwrap();
        let BlobSidecar::Eip7594(inner) = &v1 else {
            unreachable!()
        };
        assert_eq!(*second.blob, inner.blobs[1]);
        assert_eq!(second.proofs, inner.cell_proofs[CELLS_PER_EXT_BLOB..]);
        assert!(blob_and_proof_v1(&v1, &hashes[0]).is_none());
    }
}
