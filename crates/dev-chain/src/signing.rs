//! Signing EIP-1559 transactions from local keys: what `fastevm load` sends, and what tests and
//! benchmarks build their transactions with.

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_primitives::{Address, Bytes, TxKind, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;

/// Fees and limits of a transaction to sign.
#[derive(Debug, Clone, Copy)]
pub struct TxFees {
    /// Gas limit.
    pub gas_limit: u64,
    /// Max fee per gas.
    pub max_fee_per_gas: u128,
    /// Max priority fee per gas.
    pub max_priority_fee_per_gas: u128,
}

impl Default for TxFees {
    fn default() -> Self {
        Self {
            gas_limit: 21_000,
            max_fee_per_gas: 10_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
        }
    }
}

/// Signs an EIP-1559 call or transfer.
pub fn sign_eip1559(
    signer: &PrivateKeySigner,
    chain_id: u64,
    nonce: u64,
    to: Address,
    value: U256,
    input: Bytes,
    fees: TxFees,
) -> TxEnvelope {
    let tx = TxEip1559 {
        chain_id,
        nonce,
        gas_limit: fees.gas_limit,
        max_fee_per_gas: fees.max_fee_per_gas,
        max_priority_fee_per_gas: fees.max_priority_fee_per_gas,
        to: TxKind::Call(to),
        value,
        access_list: Default::default(),
        input,
    };
    let signature = signer
        .sign_hash_sync(&tx.signature_hash())
        .expect("local signing cannot fail");
    tx.into_signed(signature).into()
}
