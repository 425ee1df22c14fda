//! Transactions that cannot run, in geth's words (the sender EIP-55 checksummed, the numbers geth
//! prints), so RPC answers, payload errors and logs read the same as geth's.

use revm::{context::TxEnv, context_interface::result::InvalidTransaction};

/// Maximum init code size (EIP-3860), as geth's message names it.
const MAX_INITCODE_SIZE: usize = 2 * 24_576;

/// geth's message for a transaction that cannot run; `tx` is the transaction as it was
/// submitted and `base_fee` the block's.
pub fn geth_invalid_tx(err: &InvalidTransaction, tx: &TxEnv, base_fee: u64) -> String {
    use InvalidTransaction as E;
    let from = tx.caller.to_checksum(None);
    let max_fee = tx.gas_price;
    let tip = tx.gas_priority_fee.unwrap_or_default();
    match err {
        E::NonceTooLow { tx, state } => {
            format!("nonce too low: address {from}, tx: {tx} state: {state}")
        }
        E::NonceTooHigh { tx, state } => {
            format!("nonce too high: address {from}, tx: {tx} state: {state}")
        }
        E::NonceOverflowInTransaction => {
            format!("nonce has max value: address {from}, nonce: {}", tx.nonce)
        }
        E::GasPriceLessThanBasefee => format!(
            "max fee per gas less than block base fee: address {from}, maxFeePerGas: \
             {max_fee}, baseFee: {base_fee}"
        ),
        E::PriorityFeeGreaterThanMaxFee => format!(
            "max priority fee per gas higher than max fee per gas: address {from}, \
             maxPriorityFeePerGas: {tip}, maxFeePerGas: {max_fee}"
        ),
        E::CallGasCostMoreThanGasLimit {
            initial_gas,
            gas_limit,
        } => format!("intrinsic gas too low: have {gas_limit}, want {initial_gas}"),
        E::GasFloorMoreThanGasLimit {
            gas_floor,
            gas_limit,
        } => {
            format!("insufficient gas for floor data gas cost: have {gas_limit}, want {gas_floor}")
        }
        E::LackOfFundForMaxFee { fee, balance } => format!(
            "insufficient funds for gas * price + value: address {from} have {balance} want {fee}"
        ),
        E::CreateInitCodeSizeLimit => format!(
            "max initcode size exceeded: code size {} limit {MAX_INITCODE_SIZE}",
            tx.data.len()
        ),
        E::InvalidChainId => "invalid chain id".into(),
        other => other.to_string(),
    }
}
