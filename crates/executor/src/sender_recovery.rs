//! Recovering transaction senders (ECDSA public-key recovery), spread over the machine's cores.
//! Order is preserved, so results are deterministic.

use alloy_consensus::{transaction::SignerRecoverable, TxEnvelope};
use alloy_primitives::Address;

/// Below this many transactions, recovery runs on the calling thread.
const PARALLEL_THRESHOLD: usize = 64;

/// The sender of each transaction, in order; `Err` holds why a signature does not recover.
pub fn recover_senders(transactions: &[TxEnvelope]) -> Vec<Result<Address, String>> {
    let recover = |tx: &TxEnvelope| tx.recover_signer().map_err(|e| e.to_string());
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    if transactions.len() < PARALLEL_THRESHOLD || threads < 2 {
        return transactions.iter().map(recover).collect();
    }
    let chunk = transactions.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = transactions
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(recover).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("sender recovery does not panic"))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_consensus::{SignableTransaction, TxLegacy};
    use alloy_primitives::{TxKind, B256, U256};
    use alloy_signer::SignerSync;
    use alloy_signer_local::PrivateKeySigner;

    #[test]
    fn parallel_recovery_keeps_order_and_reports_bad_signatures() {
        let mut expected = Vec::new();
        let mut txs = Vec::new();
        for i in 0..150u64 {
            let signer = PrivateKeySigner::from_bytes(&B256::from(U256::from(i + 1))).unwrap();
            let tx = TxLegacy {
                chain_id: Some(1),
                nonce: i,
                gas_limit: 21_000,
                to: TxKind::Call(Default::default()),
                ..Default::default()
            };
            let sig = signer.sign_hash_sync(&tx.signature_hash()).unwrap();
            txs.push(TxEnvelope::from(tx.into_signed(sig)));
            expected.push(signer.address());
        }
        // Corrupt one signature: s = 0 never recovers.
        let bad = TxLegacy {
            chain_id: Some(1),
            nonce: 999,
            gas_limit: 21_000,
            ..Default::default()
        };
        let sig = alloy_primitives::Signature::new(U256::from(1), U256::ZERO, false);
        txs.insert(70, TxEnvelope::from(bad.into_signed(sig)));
        let got = recover_senders(&txs);
        assert_eq!(got.len(), 151);
        assert!(got[70].is_err());
        let ok: Vec<Address> = got.into_iter().filter_map(Result::ok).collect();
        assert_eq!(ok, expected);
    }
}
