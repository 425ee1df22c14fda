//! The roots a block's header commits to besides the state root: the transactions root, the
//! receipts root and the logs bloom. They depend only on the executed transactions and their
//! receipts, so they are computed on a second thread while the state root is computed on the
//! first (`fastevm_trie::on_two_threads`): for 1,000 transfers the two tries are ~2 ms of hashing that no longer sit
//! after the state root.

use alloy_consensus::{proofs::ordered_trie_root_with_encoder, ReceiptEnvelope, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bloom, B256};

/// Blocks with fewer transactions compute their body roots inline: a thread costs more than
/// their tries.
pub(crate) const PARALLEL_BODY_ROOTS_MIN_TXS: usize = 64;

/// The transactions root, receipts root and logs bloom of an executed block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyRoots {
    /// Root of the trie of the block's transactions (EIP-2718 encodings by index).
    pub transactions_root: B256,
    /// Root of the trie of the block's receipts.
    pub receipts_root: B256,
    /// Union of the blooms of every receipt.
    pub logs_bloom: Bloom,
}

impl BodyRoots {
    /// The roots of `transactions` (with their senders, as executed) and their `receipts`.
    pub fn of(transactions: &[(TxEnvelope, Address)], receipts: &[ReceiptEnvelope]) -> Self {
        Self {
            transactions_root: ordered_trie_root_with_encoder(transactions, |(tx, _), buf| {
                tx.encode_2718(buf)
            }),
            receipts_root: ordered_trie_root_with_encoder(receipts, |receipt, buf| {
                receipt.encode_2718(buf)
            }),
            logs_bloom: crate::logs_bloom(receipts),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_consensus::proofs::{calculate_receipt_root, calculate_transaction_root};
    use alloy_consensus::{Receipt, ReceiptWithBloom, Signed, TxLegacy, TxReceipt};
    use alloy_primitives::{Log, LogData, Signature, TxKind, U256};

    fn transactions(n: u64) -> Vec<(TxEnvelope, Address)> {
        (0..n)
            .map(|i| {
                let tx = TxLegacy {
                    nonce: i,
                    gas_limit: 21_000,
                    to: TxKind::Call(Address::with_last_byte(i as u8)),
                    value: U256::from(i),
                    ..Default::default()
                };
                let signature = Signature::new(U256::from(i + 1), U256::from(i + 2), false);
                (
                    TxEnvelope::Legacy(Signed::new_unhashed(tx, signature)),
                    Address::with_last_byte(0xee),
                )
            })
            .collect()
    }

    fn receipts(n: u64) -> Vec<ReceiptEnvelope> {
        (0..n)
            .map(|i| {
                let log = Log {
                    address: Address::with_last_byte(i as u8),
                    data: LogData::new_unchecked(
                        vec![B256::with_last_byte(i as u8)],
                        vec![].into(),
                    ),
                };
                let receipt = Receipt {
                    status: (i % 3 != 0).into(),
                    cumulative_gas_used: 21_000 * (i + 1),
                    logs: if i % 2 == 0 { vec![log] } else { vec![] },
                };
                ReceiptEnvelope::Eip1559(ReceiptWithBloom::from(receipt))
            })
            .collect()
    }

    #[test]
    fn body_roots_are_alloys_roots_of_the_same_lists() {
        for n in [0, 1, 2, 17, 130] {
            let transactions = transactions(n);
            let receipts = receipts(n);
            let roots = BodyRoots::of(&transactions, &receipts);
            let plain: Vec<TxEnvelope> = transactions.iter().map(|(tx, _)| tx.clone()).collect();
            assert_eq!(roots.transactions_root, calculate_transaction_root(&plain));
            assert_eq!(roots.receipts_root, calculate_receipt_root(&receipts));
            let bloom = receipts.iter().fold(Bloom::ZERO, |acc, r| acc | r.bloom());
            assert_eq!(roots.logs_bloom, bloom);
        }
        // Different lists give different roots (the roots are not constants).
        assert_ne!(
            BodyRoots::of(&transactions(3), &receipts(3)),
            BodyRoots::of(&transactions(4), &receipts(4))
        );
    }
}
