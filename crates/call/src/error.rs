//! Errors of the call primitives, with the messages geth gives them. Which JSON-RPC code each
//! one gets is the RPC server's business (`fastevm-rpc`); here an error only says what went
//! wrong.
//!
//! Revert data is decoded the way Solidity encodes it: `Error(string)` (selector `0x08c379a0`)
//! gives the message, `Panic(uint256)` (selector `0x4e487b71`) the panic's meaning.

use alloy_evm::{EvmError, InvalidTxError};
use alloy_primitives::{Bytes, U256};
use revm::context::result::{HaltReason, InvalidTransaction, OutOfGasError};

/// Why a call, gas estimation, access-list creation, proof or simulation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The execution ended in `REVERT`.
    #[error("{}", revert_message(reason.as_deref()))]
    Reverted {
        /// The revert data.
        output: Bytes,
        /// The decoded `Error(string)` message or `Panic(uint256)` meaning, if any.
        reason: Option<String>,
    },
    /// The execution halted (out of gas, invalid opcode, ...), with geth's message.
    #[error("{0}")]
    Halted(String),
    /// The transaction cannot run at all, with geth's message (e.g. "nonce too low",
    /// "intrinsic gas too low: have 20000, want 21000",
    /// "insufficient funds for gas * price + value: ...").
    #[error("{0}")]
    InvalidTransaction(String),
    /// The gas limit is above what a transaction may carry (EIP-7825 cap).
    #[error("transaction gas limit too high")]
    GasTooHigh,
    /// eth_estimateGas: the transaction fails even with the highest gas limit allowed.
    #[error("gas required exceeds allowance ({allowance})")]
    OutOfGas {
        /// The highest gas limit tried.
        allowance: u64,
    },
    /// The request itself is malformed.
    #[error("{0}")]
    InvalidParams(String),
    /// The state overrides cannot be applied (geth's messages).
    #[error("{0}")]
    Override(String),
    /// The state could not be read.
    #[error("state unavailable: {0}")]
    State(String),
    /// eth_simulateV1 refuses a block or a call, as execution-apis classifies it.
    #[error("{message}")]
    Simulation {
        /// Which of execution-apis' simulation errors it is.
        failure: SimulationFailure,
        /// What went wrong, in geth's words.
        message: String,
    },
}

/// The kinds of refusal execution-apis defines for eth_simulateV1 (each has its own error
/// code there, given by the RPC server).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimulationFailure {
    /// A validated call's nonce is below the sender's.
    NonceTooLow,
    /// A validated call's nonce is above the sender's.
    NonceTooHigh,
    /// A validated call's max fee is below the block's base fee.
    BaseFeeTooLow,
    /// The call's gas is below its intrinsic gas.
    IntrinsicGasTooLow,
    /// The sender cannot pay for gas and value.
    InsufficientFunds,
    /// The calls of a block need more gas than the block has left.
    BlockGasLimitReached,
    /// Block numbers of the simulated blocks are not increasing.
    BlockNumberNotIncreasing,
    /// Block timestamps of the simulated blocks are not increasing.
    TimestampNotIncreasing,
    /// A creation's init code is larger than EIP-3860 allows.
    InitCodeTooLarge,
    /// More blocks than the server simulates at once.
    ClientLimitExceeded,
    /// The call's parameters contradict each other (e.g. priority fee above max fee).
    InvalidParams,
    /// Anything else the executor refuses.
    Internal,
}

impl SimulationFailure {
    /// The refusal revm's `err` stands for when a validated call cannot run.
    pub fn of_invalid_tx(err: &InvalidTransaction) -> Self {
        use InvalidTransaction as E;
        match err {
            E::NonceTooLow { .. } => Self::NonceTooLow,
            E::NonceTooHigh { .. } => Self::NonceTooHigh,
            E::GasPriceLessThanBasefee => Self::BaseFeeTooLow,
            E::PriorityFeeGreaterThanMaxFee | E::InvalidChainId => Self::InvalidParams,
            E::CallGasCostMoreThanGasLimit { .. } => Self::IntrinsicGasTooLow,
            E::LackOfFundForMaxFee { .. } => Self::InsufficientFunds,
            E::CreateInitCodeSizeLimit => Self::InitCodeTooLarge,
            _ => Self::Internal,
        }
    }
}

impl CallError {
    /// The data that goes with the error: the revert output for a revert.
    pub fn data(&self) -> Option<Bytes> {
        match self {
            Self::Reverted { output, .. } => Some(output.clone()),
            _ => None,
        }
    }

    /// A revert with `output`, its reason decoded.
    pub fn reverted(output: Bytes) -> Self {
        let reason = decode_revert_reason(&output);
        Self::Reverted { output, reason }
    }

    pub(crate) fn state(err: impl std::fmt::Display) -> Self {
        Self::State(err.to_string())
    }
}

impl From<fastevm_executor::ExecutorError> for CallError {
    fn from(err: fastevm_executor::ExecutorError) -> Self {
        Self::state(err)
    }
}

impl From<fastevm_trie::TrieError> for CallError {
    fn from(err: fastevm_trie::TrieError) -> Self {
        Self::state(err)
    }
}

fn revert_message(reason: Option<&str>) -> String {
    match reason {
        Some(reason) => format!("execution reverted: {reason}"),
        None => "execution reverted".to_string(),
    }
}

/// Selector of Solidity's `Error(string)`.
const ERROR_SELECTOR: [u8; 4] = [0x08, 0xc3, 0x79, 0xa0];
/// Selector of Solidity's `Panic(uint256)`.
const PANIC_SELECTOR: [u8; 4] = [0x4e, 0x48, 0x7b, 0x71];

/// The message of `Error(string)` revert data, or the meaning of `Panic(uint256)` revert data;
/// `None` for anything else (including malformed encodings).
pub fn decode_revert_reason(output: &[u8]) -> Option<String> {
    let (selector, args) = output.split_first_chunk::<4>()?;
    match *selector {
        ERROR_SELECTOR => decode_abi_string(args),
        PANIC_SELECTOR => {
            let code = U256::try_from_be_slice(args.get(..32)?)?;
            Some(panic_meaning(code))
        }
        _ => None,
    }
}

/// Decodes an ABI-encoded single `string` argument (offset word, length word, bytes).
fn decode_abi_string(args: &[u8]) -> Option<String> {
    let word = |at: usize| -> Option<usize> {
        let word = U256::try_from_be_slice(args.get(at..at.checked_add(32)?)?)?;
        usize::try_from(word).ok()
    };
    let offset = word(0)?;
    let len = word(offset)?;
    let start = offset.checked_add(32)?;
    let bytes = args.get(start..start.checked_add(len)?)?;
    String::from_utf8(bytes.to_vec()).ok()
}

/// What a Solidity panic code means (the wording geth uses).
fn panic_meaning(code: U256) -> String {
    let known = match code.saturating_to::<u64>() {
        0x00 => "generic panic",
        0x01 => "assert(false)",
        0x11 => "arithmetic underflow or overflow",
        0x12 => "division or modulo by zero",
        0x21 => "enum overflow",
        0x22 => "invalid encoded storage byte array accessed",
        0x31 => "out-of-bounds array access; popping on an empty array",
        0x32 => "out-of-bounds access of an array or bytesN",
        0x41 => "out of memory",
        0x51 => "uninitialized function",
        _ => "",
    };
    if known.is_empty() || code > U256::from(u64::MAX) {
        format!("unknown panic code: {code:#x}")
    } else {
        known.to_string()
    }
}

/// geth's message for a halt.
pub(crate) fn halt_message(reason: &HaltReason) -> String {
    match reason {
        HaltReason::OutOfGas(OutOfGasError::InvalidOperand) => "invalid operand".into(),
        HaltReason::OutOfGas(_) => "out of gas".into(),
        HaltReason::OpcodeNotFound | HaltReason::InvalidFEOpcode | HaltReason::NotActivated => {
            "invalid opcode".into()
        }
        HaltReason::InvalidJump => "invalid jump destination".into(),
        HaltReason::StackUnderflow => "stack underflow".into(),
        HaltReason::StackOverflow => "stack limit reached 1024".into(),
        HaltReason::OutOfOffset => "return data out of bounds".into(),
        HaltReason::CreateCollision => "contract address collision".into(),
        HaltReason::NonceOverflow => "nonce uint64 overflow".into(),
        HaltReason::CreateContractSizeLimit => "max code size exceeded".into(),
        HaltReason::CreateContractStartingWithEF => "invalid code: must not begin with 0xef".into(),
        HaltReason::CreateInitCodeSizeLimit => "max initcode size exceeded".into(),
        HaltReason::StateChangeDuringStaticCall | HaltReason::CallNotAllowedInsideStatic => {
            "write protection".into()
        }
        HaltReason::OutOfFunds => "insufficient balance for transfer".into(),
        HaltReason::CallTooDeep => "max call depth exceeded".into(),
        other => other.to_string(),
    }
}

/// geth's message for a transaction that cannot run.
pub(crate) fn invalid_tx_error(err: &InvalidTransaction) -> CallError {
    use InvalidTransaction as E;
    let message = match err {
        E::TxGasLimitGreaterThanCap { .. } | E::CallerGasLimitMoreThanBlock => {
            return CallError::GasTooHigh
        }
        E::NonceTooLow { tx, state } => {
            format!("nonce too low: next nonce {state}, tx nonce {tx}")
        }
        E::NonceTooHigh { tx, state } => {
            format!("nonce too high: next nonce {state}, tx nonce {tx}")
        }
        E::CallGasCostMoreThanGasLimit {
            initial_gas,
            gas_limit,
        } => format!("intrinsic gas too low: have {gas_limit}, want {initial_gas}"),
        E::GasFloorMoreThanGasLimit {
            gas_floor,
            gas_limit,
        } => format!("intrinsic gas too low: have {gas_limit}, want {gas_floor}"),
        E::LackOfFundForMaxFee { fee, balance } => {
            format!("insufficient funds for gas * price + value: have {balance} want {fee}")
        }
        E::GasPriceLessThanBasefee => "max fee per gas less than block base fee".into(),
        E::PriorityFeeGreaterThanMaxFee => {
            "max priority fee per gas higher than max fee per gas".into()
        }
        E::RejectCallerWithCode => "sender not an eoa".into(),
        E::CreateInitCodeSizeLimit => "max initcode size exceeded".into(),
        E::InvalidChainId => "invalid chain id".into(),
        other => other.to_string(),
    };
    CallError::InvalidTransaction(message)
}

/// Whether `err` says the gas limit does not cover the intrinsic (or floor) gas.
pub(crate) fn is_intrinsic_gas_error(err: &InvalidTransaction) -> bool {
    matches!(
        err,
        InvalidTransaction::CallGasCostMoreThanGasLimit { .. }
            | InvalidTransaction::GasFloorMoreThanGasLimit { .. }
    )
}

/// Maps an EVM error: invalid transactions get geth's wording, anything else is a state error.
pub(crate) fn evm_error<E: EvmError>(err: E) -> CallError {
    match err.as_invalid_tx_err().and_then(|e| e.as_invalid_tx_err()) {
        Some(invalid) => invalid_tx_error(invalid),
        None => CallError::state(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_chain::error_string;

    #[test]
    fn decodes_error_string_and_panic() {
        assert_eq!(
            decode_revert_reason(&error_string("not enough")).as_deref(),
            Some("not enough")
        );
        let mut panic = PANIC_SELECTOR.to_vec();
        panic.extend_from_slice(&U256::from(0x11).to_be_bytes::<32>());
        assert_eq!(
            decode_revert_reason(&panic).as_deref(),
            Some("arithmetic underflow or overflow")
        );
        panic[35] = 0x99;
        assert_eq!(
            decode_revert_reason(&panic).as_deref(),
            Some("unknown panic code: 0x99")
        );
    }

    #[test]
    fn malformed_revert_data_has_no_reason() {
        assert_eq!(decode_revert_reason(&[]), None);
        assert_eq!(decode_revert_reason(&[0xde, 0xad, 0xbe, 0xef, 1]), None);
        let mut truncated = error_string("cut short");
        truncated.truncate(truncated.len() - 40);
        assert_eq!(decode_revert_reason(&truncated), None);
        // An offset pointing far outside the data.
        let mut bad_offset = error_string("x");
        bad_offset[4..36].copy_from_slice(&U256::MAX.to_be_bytes::<32>());
        assert_eq!(decode_revert_reason(&bad_offset), None);
    }

    #[test]
    fn codes_and_messages_follow_geth() {
        let with_reason = CallError::reverted(error_string("nope").into());
        assert!(matches!(
            with_reason,
            CallError::Reverted {
                reason: Some(_),
                ..
            }
        ));
        assert_eq!(with_reason.to_string(), "execution reverted: nope");
        assert_eq!(with_reason.data(), Some(error_string("nope").into()));
        let bare = CallError::reverted(Bytes::new());
        assert_eq!(bare.to_string(), "execution reverted");
        assert_eq!(bare.data(), Some(Bytes::new()));
        let oog = CallError::OutOfGas { allowance: 50_000 };
        assert_eq!(oog.to_string(), "gas required exceeds allowance (50000)");
        assert_eq!(oog.data(), None);
        let intrinsic = invalid_tx_error(&InvalidTransaction::CallGasCostMoreThanGasLimit {
            initial_gas: 21_000,
            gas_limit: 20_000,
        });
        assert_eq!(
            intrinsic.to_string(),
            "intrinsic gas too low: have 20000, want 21000"
        );
        assert_eq!(
            invalid_tx_error(&InvalidTransaction::TxGasLimitGreaterThanCap {
                gas_limit: 1,
                cap: 0
            }),
            CallError::GasTooHigh
        );
    }
}
