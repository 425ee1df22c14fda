//! Signed blob transactions and sidecars for tests (KZG commitments and proofs computed for
//! real, so verification can pass or fail).

use alloy_consensus::{SignableTransaction, TxEip1559, TxEip4844, TxEnvelope};
use alloy_eips::{
    eip4844::{Blob, BlobTransactionSidecar, BYTES_PER_BLOB},
    eip7594::BlobTransactionSidecarEip7594,
};
use alloy_primitives::{Address, TxKind, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;

use crate::{kzg_settings, BlobRules, BlobSidecar};

/// Chain id of the transactions built here.
pub const CHAIN_ID: u64 = 1;

/// Blob rules before Osaka: blob proofs, at most 6 blobs a transaction.
pub const CANCUN: BlobRules = BlobRules {
    cell_proofs: false,
    max_blobs_per_tx: 6,
};

/// Blob rules from Osaka on: cell proofs, at most 6 blobs a transaction.
pub const OSAKA: BlobRules = BlobRules {
    cell_proofs: true,
    max_blobs_per_tx: 6,
};

/// The signer of the transactions built here (a fixed key).
pub fn signer() -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&alloy_primitives::b256!(
        "45a915e4d060149eb4365960e6a7a45f334393093061116b197e3240065ff2d8"
    ))
    .expect("valid key")
}

/// `count` distinct blobs: every field element starts with a zero byte (so it is canonical) and
/// carries its blob's and its own index.
pub fn blobs(count: usize) -> Vec<Blob> {
    (0..count)
        .map(|b| {
            let mut bytes = [0u8; BYTES_PER_BLOB];
            for (i, element) in bytes.chunks_mut(32).enumerate() {
                element[1] = b as u8 + 1;
                element[2..4].copy_from_slice(&(i as u16).to_be_bytes());
            }
            Blob::from(bytes)
        })
        .collect()
}

/// A sidecar with blob proofs (EIP-4844, before Osaka) for `blobs(count)`.
pub fn sidecar_v0(count: usize) -> BlobSidecar {
    BlobSidecar::Eip4844(
        BlobTransactionSidecar::try_from_blobs_with_settings(blobs(count), kzg_settings())
            .expect("valid blobs"),
    )
}

/// A sidecar with cell proofs (EIP-7594, from Osaka on) for `blobs(count)`.
pub fn sidecar_v1(count: usize) -> BlobSidecar {
    BlobSidecar::Eip7594(
        BlobTransactionSidecarEip7594::try_from_blobs_with_settings(blobs(count), kzg_settings())
            .expect("valid blobs"),
    )
}

/// A blob transaction from [`signer`] on [`CHAIN_ID`] committing to `sidecar`'s blobs.
pub fn blob_tx(sidecar: &BlobSidecar, nonce: u64) -> TxEnvelope {
    signed_blob_tx(&signer(), CHAIN_ID, sidecar, nonce)
}

/// A blob transaction from `signer` on `chain_id` committing to `sidecar`'s blobs: 21,000 gas
/// at 10 gwei (1 gwei tip), 1 wei to `0x…bb`, at most 1 gwei per blob gas.
pub fn signed_blob_tx(
    signer: &PrivateKeySigner,
    chain_id: u64,
    sidecar: &BlobSidecar,
    nonce: u64,
) -> TxEnvelope {
    let tx = TxEip4844 {
        chain_id,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: Address::with_last_byte(0xbb),
        value: U256::from(1),
        max_fee_per_blob_gas: 1_000_000_000,
        blob_versioned_hashes: sidecar.versioned_hashes().collect(),
        ..Default::default()
    };
    let signature = signer
        .sign_hash_sync(&tx.signature_hash())
        .expect("signing");
    tx.into_signed(signature).into()
}

/// An EIP-1559 transfer from [`signer`].
pub fn plain_tx(nonce: u64) -> TxEnvelope {
    let tx = TxEip1559 {
        chain_id: CHAIN_ID,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(Address::with_last_byte(0xbb)),
        value: U256::from(1),
        ..Default::default()
    };
    let signature = signer()
        .sign_hash_sync(&tx.signature_hash())
        .expect("signing");
    tx.into_signed(signature).into()
}
