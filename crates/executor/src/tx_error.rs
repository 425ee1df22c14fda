//! Transactions that cannot run, in geth's words (the sender EIP-55 checksummed, the numbers geth
//! prints), so RPC answers, payload errors and logs read the same as geth's.

use revm::{context::TxEnv, context_interface::result::InvalidTransaction};

/// Maximum init code size (EIP-3860), as geth's message names it.
const MAX_INITCODE_SIZE: usize = 2 * 24_576;

/// geth's message for a transaction that cannot run, and the execution-apis code eth_simulateV1
/// gives it; `tx` is the transaction as it was submitted and `base_fee` the block's.
pub fn geth_invalid_tx(err: &InvalidTransaction, tx: &TxEnv, base_fee: u64) -> (i32, String) {
    use InvalidTransaction as E;
    let from = tx.caller.to_checksum(None);
    let max_fee = tx.gas_price;
    let tip = tx.gas_priority_fee.unwrap_or_default();
    match err {
        E::NonceTooLow { tx, state } => (
            -38010,
            format!("nonce too low: address {from}, tx: {tx} state: {state}"),
        ),
        E::NonceTooHigh { tx, state } => (
            -38011,
            format!("nonce too high: address {from}, tx: {tx} state: {state}"),
        ),
        E::NonceOverflowInTransaction => (
            -32603,
            format!("nonce has max value: address {from}, nonce: {}", tx.nonce),
        ),
        E::GasPriceLessThanBasefee => (
            -38012,
            format!(
                "max fee per gas less than block base fee: address {from}, maxFeePerGas: \
                 {max_fee}, baseFee: {base_fee}"
            ),
        ),
        E::PriorityFeeGreaterThanMaxFee => (
            -32602,
            format!(
                "max priority fee per gas higher than max fee per gas: address {from}, \
                 maxPriorityFeePerGas: {tip}, maxFeePerGas: {max_fee}"
            ),
        ),
        E::CallGasCostMoreThanGasLimit {
            initial_gas,
            gas_limit,
        } => (
            -38013,
            format!("intrinsic gas too low: have {gas_limit}, want {initial_gas}"),
        ),
        E::GasFloorMoreThanGasLimit {
            gas_floor,
            gas_limit,
        } => (
            -32603,
            format!("insufficient gas for floor data gas cost: have {gas_limit}, want {gas_floor}"),
        ),
        E::LackOfFundForMaxFee { fee, balance } => (
            -38014,
            format!("insufficient funds for gas * price + value: address {from} have {balance} want {fee}"),
        ),
        E::CreateInitCodeSizeLimit => (
            -38025,
            format!(
                "max initcode size exceeded: code size {} limit {MAX_INITCODE_SIZE}",
                tx.data.len()
            ),
        ),
        E::InvalidChainId => (-32602, "invalid chain id".into()),
        other => (-32603, other.to_string()),
    }
}
