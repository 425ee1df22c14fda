//! Why eth_simulateV1 refuses a call: the transaction-validation errors of a simulated call in
//! geth's words and with the execution-apis codes (`err: <reason> (supplied gas N)`, the sender
//! EIP-55 checksummed), so clients see the same answer from FastEVM as from geth.

use super::{simulate::simulation_error, CallError};
use alloy_evm::block::{BlockExecutionError, BlockValidationError};
use revm::{context::TxEnv, context_interface::result::InvalidTransaction};

/// Maximum init code size (EIP-3860), as geth's message names it.
const MAX_INITCODE_SIZE: usize = 2 * 24_576;

/// The error of a call the executor refused to run; `tx` is the call as it was submitted and
/// `base_fee` the block's base fee.
pub(super) fn rejected_call(err: BlockExecutionError, tx: &TxEnv, base_fee: u64) -> CallError {
    let BlockExecutionError::Validation(err) = err else {
        return CallError::State(err.to_string());
    };
    let invalid = match &err {
        BlockValidationError::InvalidTx { error, .. } => error.as_invalid_tx_err(),
        BlockValidationError::TransactionGasLimitMoreThanAvailableBlockGas {
            transaction_gas_limit,
            block_available_gas,
        } => {
            return simulation_error(
                -38015,
                format!(
                    "block gas limit reached: remaining: {block_available_gas}, required: \
                     {transaction_gas_limit}"
                ),
            )
        }
        _ => None,
    };
    let Some(invalid) = invalid else {
        return CallError::State(err.to_string());
    };
    let (code, reason) = reason(invalid, tx, base_fee);
    simulation_error(
        code,
        format!("err: {reason} (supplied gas {})", tx.gas_limit),
    )
}

/// geth checks a validated call's nonce before anything else (revm checks fees first): the
/// same refusal, in the same order, whatever else is wrong with the call.
pub(super) fn check_nonce(tx: &TxEnv, state_nonce: u64) -> Result<(), CallError> {
    let invalid = if tx.nonce > state_nonce {
        InvalidTransaction::NonceTooHigh {
            tx: tx.nonce,
            state: state_nonce,
        }
    } else if tx.nonce < state_nonce {
        InvalidTransaction::NonceTooLow {
            tx: tx.nonce,
            state: state_nonce,
        }
    } else if state_nonce == u64::MAX {
        InvalidTransaction::NonceOverflowInTransaction
    } else {
        return Ok(());
    };
    let (code, reason) = reason(&invalid, tx, 0);
    Err(simulation_error(
        code,
        format!("err: {reason} (supplied gas {})", tx.gas_limit),
    ))
}

/// The execution-apis code and geth's message of an invalid simulated transaction.
fn reason(err: &InvalidTransaction, tx: &TxEnv, base_fee: u64) -> (i32, String) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{address, U256};

    fn tx() -> TxEnv {
        TxEnv {
            caller: address!("c000000000000000000000000000000000000000"),
            gas_limit: 50_000_000,
            nonce: 7,
            ..Default::default()
        }
    }

    #[test]
    fn messages_are_geths() {
        let funds = InvalidTransaction::LackOfFundForMaxFee {
            fee: Box::new(U256::from(1000)),
            balance: Box::new(U256::ZERO),
        };
        assert_eq!(
            reason(&funds, &tx(), 0),
            (
                -38014,
                "insufficient funds for gas * price + value: address \
                 0xC000000000000000000000000000000000000000 have 0 want 1000"
                    .to_string()
            )
        );
        let (code, message) = reason(&InvalidTransaction::GasPriceLessThanBasefee, &tx(), 23);
        assert_eq!(code, -38012);
        assert_eq!(
            message,
            "max fee per gas less than block base fee: address \
             0xC000000000000000000000000000000000000000, maxFeePerGas: 0, baseFee: 23"
        );
        let (code, message) = reason(&InvalidTransaction::NonceOverflowInTransaction, &tx(), 0);
        assert_eq!(code, -32603);
        assert!(message.ends_with("nonce: 7"), "{message}");
    }

    #[test]
    fn nonce_is_checked_first() {
        assert!(check_nonce(&tx(), 7).is_ok());
        let err = check_nonce(&tx(), 9).unwrap_err();
        assert_eq!(err.code(), -38010);
        assert_eq!(
            err.to_string(),
            "err: nonce too low: address 0xC000000000000000000000000000000000000000, tx: 7 \
             state: 9 (supplied gas 50000000)"
        );
        assert_eq!(check_nonce(&tx(), 3).unwrap_err().code(), -38011);
        let at_max = TxEnv {
            nonce: u64::MAX,
            ..tx()
        };
        assert_eq!(check_nonce(&at_max, u64::MAX).unwrap_err().code(), -32603);
    }
}
