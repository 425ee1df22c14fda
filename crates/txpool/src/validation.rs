//! Stateless admission checks: decoding, size, type, chain id, gas, fees and the signature.
//! Checks that need the sender's account (nonce, balance) and the pool's contents live in
//! `tx_set`.

use alloy_consensus::{transaction::SignerRecoverable, Transaction, TxEnvelope};
use alloy_eips::eip2718::{Eip2718Error, Encodable2718};
use alloy_primitives::{Address, Bytes, B256, U256};
use fastevm_blobs::{encode_network, BlobSidecar, NetworkTransaction};
use std::sync::Arc;

use crate::{
    intrinsic_gas::{floor_data_gas, intrinsic_gas, MAX_INIT_CODE_SIZE},
    PoolConfig, PoolError, PoolResult,
};

/// A transaction that passed every check not involving the sender's account, with the values
/// the pool orders and prices by.
#[derive(Debug, Clone)]
pub(crate) struct ValidTx {
    pub(crate) tx: TxEnvelope,
    /// A blob transaction's blobs, commitments and proofs, verified.
    pub(crate) sidecar: Option<Arc<BlobSidecar>>,
    /// The network-form EIP-2718 encoding, a blob transaction wrapped with its sidecar (what
    /// `pending_since` hands out and the journal keeps).
    pub(crate) encoded: Bytes,
    pub(crate) hash: B256,
    pub(crate) sender: Address,
    pub(crate) nonce: u64,
    /// Max fee per gas; the gas price of legacy and EIP-2930 transactions.
    pub(crate) max_fee: u128,
    /// Max priority fee per gas; the gas price of legacy and EIP-2930 transactions.
    pub(crate) tip: u128,
    /// Most the transaction can take from the sender:
    /// `gas_limit * max_fee + value + blob_gas * max_fee_per_blob_gas`.
    pub(crate) cost: U256,
    /// When it passed validation (for latency metrics only; never orders anything).
    pub(crate) admitted: std::time::Instant,
}

impl ValidTx {
    /// What the block producer earns per gas at `base_fee`; `None` when the fee cap is below it.
    pub(crate) fn effective_tip(&self, base_fee: u64) -> Option<u128> {
        let headroom = self.max_fee.checked_sub(u128::from(base_fee))?;
        Some(headroom.min(self.tip))
    }

    /// What eviction compares: the effective tip at `base_fee` (zero when the fee cap is below
    /// it), then the fee cap.
    pub(crate) fn price(&self, base_fee: u64) -> (u128, u128) {
        (self.effective_tip(base_fee).unwrap_or(0), self.max_fee)
    }
}

/// EIP-2718 type flags of the transactions `TxEnvelope` decodes (legacy has no flag).
const KNOWN_TYPES: [u8; 4] = [1, 2, 3, 4];

/// Most bytes the sidecar of one blob transaction may add to its network form: nine blobs (the
/// most any fork allows one transaction) with their commitments and 128 cell proofs each.
pub(crate) const MAX_SIDECAR_BYTES: usize = 9 * (131_072 + 48 + 128 * 48) + 1024;

/// Decodes EIP-2718 bytes (legacy RLP included; a blob transaction in network form, with its
/// sidecar) after checking the size limit.
pub(crate) fn decode_raw(raw: &[u8], config: &PoolConfig) -> PoolResult<NetworkTransaction> {
    let limit = if raw.first() == Some(&3) {
        config.max_tx_bytes + MAX_SIDECAR_BYTES
    } else {
        config.max_tx_bytes
    };
    if raw.len() > limit {
        return Err(PoolError::OversizedData {
            size: raw.len(),
            limit,
        });
    }
    if raw.is_empty() {
        return Err(PoolError::Decode("empty input".into()));
    }
    NetworkTransaction::decode(raw).map_err(|error| {
        // A first byte below 0xc0 is an EIP-2718 type flag (0x80..0xbf is not valid anywhere);
        // geth answers an unknown type as unsupported rather than undecodable.
        let type_flag = raw[0];
        if type_flag <= 0x7f && !KNOWN_TYPES.contains(&type_flag) {
            PoolError::TxTypeNotSupported
        } else {
            PoolError::Decode(match error {
                Eip2718Error::RlpError(error) => error.to_string(),
                other => other.to_string(),
            })
        }
    })
}

/// Runs the stateless checks and recovers the sender (or takes `known_sender`, for transactions
/// of blocks that left the canonical chain, whose senders were recovered when they were mined).
/// A blob transaction needs its `sidecar`, already checked ([`fastevm_blobs::check_sidecar`]).
pub(crate) fn validate(
    tx: TxEnvelope,
    sidecar: Option<Arc<BlobSidecar>>,
    known_sender: Option<Address>,
    config: &PoolConfig,
    chain_id: u64,
    base_fee: u64,
) -> PoolResult<ValidTx> {
    if tx.is_eip4844() && sidecar.is_none() {
        return Err(fastevm_blobs::BlobError::MissingSidecar.into());
    }
    let size = tx.encode_2718_len();
    if size > config.max_tx_bytes {
        return Err(PoolError::OversizedData {
            size,
            limit: config.max_tx_bytes,
        });
    }
    match tx.chain_id() {
        None => return Err(PoolError::NotReplayProtected),
        Some(id) if id != chain_id => return Err(PoolError::InvalidChainId),
        Some(_) => {}
    }
    if tx.authorization_list().is_some_and(|list| list.is_empty()) {
        return Err(PoolError::EmptyAuthorizationList);
    }
    if tx.is_create() && tx.input().len() > MAX_INIT_CODE_SIZE {
        return Err(PoolError::MaxInitCodeSizeExceeded {
            size: tx.input().len(),
            limit: MAX_INIT_CODE_SIZE,
        });
    }
    let gas = tx.gas_limit();
    if gas > config.block_gas_limit {
        return Err(PoolError::ExceedsBlockGasLimit);
    }
    if let Some(cap) = config.tx_gas_limit_cap {
        if gas > cap {
            return Err(PoolError::GasLimitTooHigh { cap, gas });
        }
    }
    let max_fee = tx.max_fee_per_gas();
    let tip = tx.max_priority_fee_per_gas().unwrap_or(max_fee);
    if tip > max_fee {
        return Err(PoolError::TipAboveFeeCap);
    }
    let minimum = intrinsic_gas(&tx);
    if gas < minimum {
        return Err(PoolError::IntrinsicGasTooLow { gas, minimum });
    }
    let floor = floor_data_gas(tx.input());
    if gas < floor {
        return Err(PoolError::FloorDataGas {
            gas,
            minimum: floor,
        });
    }
    let nonce = tx.nonce();
    if nonce == u64::MAX {
        return Err(PoolError::NonceMax);
    }
    let sender = match known_sender {
        Some(sender) => sender,
        None => tx.recover_signer().map_err(|_| PoolError::InvalidSender)?,
    };
    if max_fee < u128::from(base_fee) {
        return Err(PoolError::FeeCapBelowBaseFee {
            address: sender,
            max_fee,
            base_fee,
        });
    }
    let blob_cost = U256::from(tx.blob_gas_used().unwrap_or_default())
        .saturating_mul(U256::from(tx.max_fee_per_blob_gas().unwrap_or_default()));
    let cost = U256::from(gas)
        .saturating_mul(U256::from(max_fee))
        .saturating_add(tx.value())
        .saturating_add(blob_cost);
    Ok(ValidTx {
        encoded: encode_network(&tx, sidecar.as_deref()).into(),
        hash: *tx.tx_hash(),
        tx,
        sidecar,
        sender,
        nonce,
        max_fee,
        tip,
        cost,
        admitted: std::time::Instant::now(),
    })
}
