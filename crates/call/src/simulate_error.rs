//! Why eth_simulateV1 refuses a call: the transaction-validation errors of a simulated call in
//! geth's words (`err: <reason> (supplied gas N)`, the sender EIP-55 checksummed) and the
//! execution-apis kind of each ([`SimulationFailure`]), so clients see the same answer from
//! FastEVM as from geth.

use super::{simulate::simulation_error, CallError, SimulationFailure};
use alloy_evm::block::{BlockExecutionError, BlockValidationError};
use fastevm_executor::geth_invalid_tx as reason;
use revm::{context::TxEnv, context_interface::result::InvalidTransaction};

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
                SimulationFailure::BlockGasLimitReached,
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
    simulation_error(
        SimulationFailure::of_invalid_tx(invalid),
        format!(
            "err: {} (supplied gas {})",
            reason(invalid, tx, base_fee),
            tx.gas_limit
        ),
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
    Err(simulation_error(
        SimulationFailure::of_invalid_tx(&invalid),
        format!(
            "err: {} (supplied gas {})",
            reason(&invalid, tx, 0),
            tx.gas_limit
        ),
    ))
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
            "insufficient funds for gas * price + value: address \
             0xC000000000000000000000000000000000000000 have 0 want 1000"
        );
        assert_eq!(
            SimulationFailure::of_invalid_tx(&funds),
            SimulationFailure::InsufficientFunds
        );
        let message = reason(&InvalidTransaction::GasPriceLessThanBasefee, &tx(), 23);
        assert_eq!(
            message,
            "max fee per gas less than block base fee: address \
             0xC000000000000000000000000000000000000000, maxFeePerGas: 0, baseFee: 23"
        );
        let message = reason(&InvalidTransaction::NonceOverflowInTransaction, &tx(), 0);
        assert!(message.ends_with("nonce: 7"), "{message}");
    }

    #[test]
    fn nonce_is_checked_first() {
        assert!(check_nonce(&tx(), 7).is_ok());
        let err = check_nonce(&tx(), 9).unwrap_err();
        assert!(matches!(
            err,
            CallError::Simulation {
                failure: SimulationFailure::NonceTooLow,
                ..
            }
        ));
        assert_eq!(
            err.to_string(),
            "err: nonce too low: address 0xC000000000000000000000000000000000000000, tx: 7 \
             state: 9 (supplied gas 50000000)"
        );
        assert!(matches!(
            check_nonce(&tx(), 3),
            Err(CallError::Simulation {
                failure: SimulationFailure::NonceTooHigh,
                ..
            })
        ));
        let at_max = TxEnv {
            nonce: u64::MAX,
            ..tx()
        };
        assert!(matches!(
            check_nonce(&at_max, u64::MAX),
            Err(CallError::Simulation {
                failure: SimulationFailure::Internal,
                ..
            })
        ));
    }
}
