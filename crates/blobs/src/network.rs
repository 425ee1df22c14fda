//! The network form of a transaction (EIP-4844's `PooledTransactions` encoding, what
//! `eth_sendRawTransaction` receives): for a blob transaction the canonical transaction wrapped
//! together with its blobs, commitments and proofs (EIP-7594 adds a wrapper version and cell
//! proofs); for every other type the canonical EIP-2718 bytes themselves.

use alloy_consensus::{
    EthereumTxEnvelope, Signed, TxEip4844Variant, TxEip4844WithSidecar, TxEnvelope,
};
use alloy_eips::eip2718::{Decodable2718, Eip2718Error, Encodable2718};

use crate::BlobSidecar;

/// Transactions whose blob variant may carry a sidecar of either version (alloy's `TxEnvelope`
/// is this type; the alias says what it is used for here).
type WithSidecars = EthereumTxEnvelope<TxEip4844Variant<BlobSidecar>>;

/// A decoded network-form transaction: the canonical transaction and, for a blob transaction
/// sent with its blobs, the sidecar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkTransaction {
    /// The transaction as blocks hold it (never with a sidecar).
    pub tx: TxEnvelope,
    /// The blobs, commitments and proofs that came with a blob transaction.
    pub sidecar: Option<BlobSidecar>,
}

impl NetworkTransaction {
    /// Decodes EIP-2718 bytes (legacy RLP too) in network or canonical form; the whole input
    /// must be one transaction.
    pub fn decode(raw: &[u8]) -> Result<Self, Eip2718Error> {
        let decoded = WithSidecars::decode_2718_exact(raw)?;
        let mut sidecar = None;
        let tx = decoded.map_eip4844(|variant| {
            let (tx, found) = variant.strip_sidecar();
            sidecar = found;
            tx
        });
        Ok(Self { tx, sidecar })
    }

    /// The network-form bytes: [`NetworkTransaction::decode`] gives back `self`.
    pub fn encode(&self) -> Vec<u8> {
        encode_network(&self.tx, self.sidecar.as_ref())
    }
}

/// Encodes `tx` in network form: wrapped with `sidecar` when it is a blob transaction that has
/// one, its canonical EIP-2718 bytes otherwise.
pub fn encode_network(tx: &TxEnvelope, sidecar: Option<&BlobSidecar>) -> Vec<u8> {
    match (tx, sidecar) {
        (TxEnvelope::Eip4844(signed), Some(sidecar)) => {
            let with = TxEip4844WithSidecar::from_tx_and_sidecar(
                signed.tx().tx().clone(),
                sidecar.clone(),
            );
            let signed = Signed::new_unchecked(
                TxEip4844Variant::TxEip4844WithSidecar(with),
                *signed.signature(),
                *signed.hash(),
            );
            WithSidecars::Eip4844(signed).encoded_2718()
        }
        _ => tx.encoded_2718(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_utils::{blob_tx, plain_tx, sidecar_v0, sidecar_v1};

    #[test]
    fn blob_transactions_round_trip_with_either_sidecar() {
        for sidecar in [sidecar_v0(1), sidecar_v1(1)] {
            let tx = blob_tx(&sidecar, 0);
            let raw = encode_network(&tx, Some(&sidecar));
            assert!(raw.len() > 131_072, "the blob travels with the transaction");
            let decoded = NetworkTransaction::decode(&raw).unwrap();
            assert_eq!(decoded.tx, tx);
            assert_eq!(decoded.tx.tx_hash(), tx.tx_hash());
            assert_eq!(decoded.sidecar.as_ref(), Some(&sidecar));
            assert_eq!(decoded.encode(), raw);
            // The canonical form decodes too, without a sidecar.
            let canonical = NetworkTransaction::decode(&tx.encoded_2718()).unwrap();
            assert_eq!(canonical.tx, tx);
            assert!(canonical.sidecar.is_none());
        }
    }

    #[test]
    fn other_types_are_their_canonical_bytes() {
        let tx = plain_tx(3);
        let raw = tx.encoded_2718();
        assert_eq!(encode_network(&tx, None), raw);
        let decoded = NetworkTransaction::decode(&raw).unwrap();
        assert_eq!(decoded.tx, tx);
        assert!(decoded.sidecar.is_none());
        let mut trailing = raw.clone();
        trailing.push(0);
        assert!(NetworkTransaction::decode(&trailing).is_err());
    }

    /// execution-apis' `eth_sendRawTransaction/send-blob-tx`: an Osaka blob transaction with a
    /// cell-proof sidecar, whose hash geth returns.
    #[test]
    fn the_execution_apis_blob_transaction_decodes() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/fixtures/rpc-compat/eth_sendRawTransaction/send-blob-tx.io"
        );
        let text = std::fs::read_to_string(path).expect("the shared fixtures sit beside the repo");
        let request = text.lines().find_map(|l| l.strip_prefix(">> ")).unwrap();
        let request: serde_json::Value = serde_json::from_str(request).unwrap();
        let hex = request["params"][0].as_str().unwrap();
        let raw = alloy_primitives::hex::decode(hex).unwrap();
        let decoded = NetworkTransaction::decode(&raw).unwrap();
        assert_eq!(
            decoded.tx.tx_hash().to_string(),
            "0x05d85f6a761cac82cfdf06dd168952838ac452b10641aabccdfdad46e03d2f0b"
        );
        assert!(matches!(decoded.sidecar, Some(BlobSidecar::Eip7594(_))));
        assert_eq!(decoded.encode(), raw);
    }
}
