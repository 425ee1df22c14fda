//! The checks a sidecar must pass: one blob per versioned hash, commitments that hash to them,
//! and KZG proofs (one per blob before Osaka, one per cell from Osaka on) that verify against
//! the Ethereum trusted setup.

use alloy_consensus::{Transaction, TxEnvelope};
use alloy_eips::eip4844::env_settings::{EnvKzgSettings, KzgSettings};

use crate::{BlobError, BlobSidecar};

/// What the fork of the next block asks of a blob transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobRules {
    /// From Osaka on (EIP-7594) sidecars carry cell proofs; a pool converts blob proofs.
    pub cell_proofs: bool,
    /// Most blobs one transaction may carry.
    pub max_blobs_per_tx: u64,
}

/// The Ethereum KZG trusted setup (loaded once, on first use).
pub fn kzg_settings() -> &'static KzgSettings {
    static SETTINGS: EnvKzgSettings = EnvKzgSettings::Default;
    SETTINGS.get()
}

/// Verifies `sidecar` (either version) against `tx`'s versioned hashes: the check a block
/// builder makes on a sidecar that reached it through consensus. Deterministic: every node
/// decides the same for the same bytes.
pub fn verify_sidecar(
    tx: &TxEnvelope,
    sidecar: &BlobSidecar,
    max_blobs_per_tx: u64,
) -> Result<(), BlobError> {
    let hashes = tx
        .blob_versioned_hashes()
        .ok_or_else(|| BlobError::InvalidSidecar("not a blob transaction".into()))?;
    if hashes.is_empty() {
        return Err(BlobError::NoBlobs);
    }
    if hashes.len() as u64 > max_blobs_per_tx {
        return Err(BlobError::TooManyBlobs {
            have: hashes.len(),
            max: max_blobs_per_tx,
        });
    }
    if sidecar.blobs().len() != hashes.len() {
        return Err(BlobError::InvalidSidecar(format!(
            "{} blobs for {} versioned hashes",
            sidecar.blobs().len(),
            hashes.len()
        )));
    }
    sidecar
        .validate(hashes, kzg_settings())
        .map_err(|e| BlobError::InvalidSidecar(e.to_string()))
}

/// What a pool admits: `sidecar` verified against `tx` and in the form the fork serves (a
/// blob-proof sidecar is converted to cell proofs from Osaka on, as geth does; a cell-proof
/// sidecar is refused before Osaka).
pub fn check_sidecar(
    tx: &TxEnvelope,
    sidecar: BlobSidecar,
    rules: &BlobRules,
) -> Result<BlobSidecar, BlobError> {
    if matches!(sidecar, BlobSidecar::Eip7594(_)) && !rules.cell_proofs {
        return Err(BlobError::CellProofsBeforeOsaka);
    }
    verify_sidecar(tx, &sidecar, rules.max_blobs_per_tx)?;
    if rules.cell_proofs && matches!(sidecar, BlobSidecar::Eip4844(_)) {
        return sidecar
            .try_convert_into_eip7594_with_settings(kzg_settings())
            .map_err(|e| BlobError::InvalidSidecar(format!("computing cell proofs: {e:?}")));
    }
    Ok(sidecar)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_utils::{blob_tx, sidecar_v0, sidecar_v1, CANCUN, OSAKA};

    #[test]
    fn valid_sidecars_pass_in_the_forks_form() {
        let v0 = sidecar_v0(2);
        let tx = blob_tx(&v0, 0);
        assert_eq!(check_sidecar(&tx, v0.clone(), &CANCUN).unwrap(), v0);
        // From Osaka on a blob-proof sidecar becomes a cell-proof one for the same blobs.
        let converted = check_sidecar(&tx, v0.clone(), &OSAKA).unwrap();
        assert!(matches!(converted, BlobSidecar::Eip7594(_)));
        assert_eq!(converted.blobs(), v0.blobs());
        verify_sidecar(&tx, &converted, 6).unwrap();

        let v1 = sidecar_v1(1);
        let tx = blob_tx(&v1, 0);
        assert_eq!(check_sidecar(&tx, v1.clone(), &OSAKA).unwrap(), v1);
        assert_eq!(
            check_sidecar(&tx, v1, &CANCUN),
            Err(BlobError::CellProofsBeforeOsaka)
        );
    }

    #[test]
    fn broken_sidecars_are_refused() {
        // A proof that belongs to another blob.
        let mut v0 = sidecar_v0(2);
        let tx = blob_tx(&v0, 0);
        if let BlobSidecar::Eip4844(inner) = &mut v0 {
            inner.proofs.swap(0, 1);
        }
        assert!(matches!(
            check_sidecar(&tx, v0, &CANCUN),
            Err(BlobError::InvalidSidecar(_))
        ));

        // A cell proof flipped.
        let mut v1 = sidecar_v1(1);
        let tx = blob_tx(&v1, 0);
        if let BlobSidecar::Eip7594(inner) = &mut v1 {
            inner.cell_proofs.swap(0, 1);
        }
        assert!(matches!(
            check_sidecar(&tx, v1, &OSAKA),
            Err(BlobError::InvalidSidecar(_))
        ));

        // Blobs that are not the ones the transaction commits to.
        let other = sidecar_v0(1);
        let tx = blob_tx(&sidecar_v0(2), 0);
        assert!(matches!(
            check_sidecar(&tx, other, &CANCUN),
            Err(BlobError::InvalidSidecar(_))
        ));

        let three = sidecar_v0(3);
        let tx = blob_tx(&three, 0);
        let tight = BlobRules {
            max_blobs_per_tx: 2,
            ..CANCUN
        };
        assert_eq!(
            check_sidecar(&tx, three, &tight),
            Err(BlobError::TooManyBlobs { have: 3, max: 2 })
        );
    }
}
