//! The pool's one error type. Display strings follow geth's word for word, because wallets and
//! libraries match on them (e.g. "nonce too low", "replacement transaction underpriced").

use alloy_primitives::{Address, U256};

/// Why a transaction was not admitted to the pool.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// The bytes are not a valid EIP-2718 / legacy RLP transaction.
    #[error("rlp: {0}")]
    Decode(String),
    /// An EIP-2718 type this pool does not accept (unknown types; blob transactions before
    /// Cancun).
    #[error("transaction type not supported")]
    TxTypeNotSupported,
    /// Encoded transaction larger than [`crate::PoolConfig::max_tx_bytes`].
    #[error("oversized data: transaction size {size}, limit {limit}")]
    OversizedData {
        /// Encoded size in bytes.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A legacy transaction without an EIP-155 chain id.
    #[error("only replay-protected (EIP-155) transactions allowed over RPC")]
    NotReplayProtected,
    /// The transaction's chain id is not this chain's.
    #[error("invalid chain id for signer")]
    InvalidChainId,
    /// The signature does not recover to an address (or has a high `s`, EIP-2).
    #[error("invalid sender")]
    InvalidSender,
    /// Contract creation whose init code exceeds EIP-3860's limit.
    #[error("max initcode size exceeded: code size {size}, limit {limit}")]
    MaxInitCodeSizeExceeded {
        /// Init code length.
        size: usize,
        /// The EIP-3860 limit.
        limit: usize,
    },
    /// An EIP-7702 transaction with no authorizations.
    #[error("EIP-7702 transaction with empty auth list")]
    EmptyAuthorizationList,
    /// Gas limit below the intrinsic cost.
    #[error("intrinsic gas too low: gas {gas}, minimum needed {minimum}")]
    IntrinsicGasTooLow {
        /// The transaction's gas limit.
        gas: u64,
        /// Intrinsic gas of the transaction.
        minimum: u64,
    },
    /// Gas limit below the EIP-7623 calldata floor.
    #[error("insufficient gas for floor data gas cost: gas {gas}, minimum needed {minimum}")]
    FloorDataGas {
        /// The transaction's gas limit.
        gas: u64,
        /// The EIP-7623 floor.
        minimum: u64,
    },
    /// Gas limit above the block gas limit.
    #[error("exceeds block gas limit")]
    ExceedsBlockGasLimit,
    /// Gas limit above the per-transaction cap (EIP-7825), when one is configured.
    #[error("transaction gas limit too high (cap: {cap}, tx: {gas})")]
    GasLimitTooHigh {
        /// The configured cap.
        cap: u64,
        /// The transaction's gas limit.
        gas: u64,
    },
    /// `max_priority_fee_per_gas > max_fee_per_gas`.
    #[error("max priority fee per gas higher than max fee per gas")]
    TipAboveFeeCap,
    /// `max_fee_per_gas` below the current base fee.
    #[error(
        "max fee per gas less than block base fee: address {address}, maxFeePerGas: {max_fee}, baseFee: {base_fee}"
    )]
    FeeCapBelowBaseFee {
        /// The sender.
        address: Address,
        /// The transaction's max fee per gas (gas price for legacy transactions).
        max_fee: u128,
        /// The base fee it was checked against.
        base_fee: u64,
    },
    /// EIP-2681: the nonce may not be `2^64 - 1`.
    #[error("nonce has max value")]
    NonceMax,
    /// Nonce below the sender's account nonce.
    #[error("nonce too low: next nonce {next}, tx nonce {tx}")]
    NonceTooLow {
        /// The account's nonce at the head.
        next: u64,
        /// The transaction's nonce.
        tx: u64,
    },
    /// Nonce so far ahead of the account nonce that it would not fit the sender's slots.
    #[error("nonce too high")]
    NonceTooHigh,
    /// The sender's balance cannot pay `gas_limit * max_fee + value` on top of what its
    /// earlier pooled txs may spend.
    #[error("insufficient funds for gas * price + value: balance {balance}, tx cost {cost}")]
    InsufficientFunds {
        /// The sender's balance at the head.
        balance: U256,
        /// This transaction's maximum cost.
        cost: U256,
    },
    /// The exact transaction is already pooled.
    #[error("already known")]
    AlreadyKnown,
    /// Same sender and nonce as a pooled tx, without the required fee bump.
    #[error("replacement transaction underpriced")]
    ReplacementUnderpriced,
    /// The pool is at capacity and holds nothing cheaper to evict.
    #[error("txpool is full")]
    PoolFull,
    /// A blob transaction without its sidecar, or with one that does not verify.
    #[error("{0}")]
    Blob(#[from] fastevm_blobs::BlobError),
    /// The account state could not be read.
    #[error("account state unavailable: {0}")]
    State(String),
    /// The pool journal could not be read or written (not a rejection of a transaction).
    #[error("txpool journal: {0}")]
    Journal(String),
}

/// Result alias for pool operations.
pub type PoolResult<T> = Result<T, PoolError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_match_geth() {
        let cases: Vec<(PoolError, &str)> = vec![
            (PoolError::AlreadyKnown, "already known"),
            (
                PoolError::NonceTooLow { next: 5, tx: 3 },
                "nonce too low: next nonce 5, tx nonce 3",
            ),
            (
                PoolError::ReplacementUnderpriced,
                "replacement transaction underpriced",
            ),
            (
                PoolError::InsufficientFunds {
                    balance: U256::from(10),
                    cost: U256::from(21_000),
                },
                "insufficient funds for gas * price + value: balance 10, tx cost 21000",
            ),
            (
                PoolError::IntrinsicGasTooLow {
                    gas: 20_000,
                    minimum: 21_000,
                },
                "intrinsic gas too low: gas 20000, minimum needed 21000",
            ),
            (
                PoolError::FeeCapBelowBaseFee {
                    address: Address::repeat_byte(0xab),
                    max_fee: 1,
                    base_fee: 7,
                },
                "max fee per gas less than block base fee: address \
                 0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB, maxFeePerGas: 1, baseFee: 7",
            ),
            (
                PoolError::TipAboveFeeCap,
                "max priority fee per gas higher than max fee per gas",
            ),
            (PoolError::InvalidChainId, "invalid chain id for signer"),
            (
                PoolError::TxTypeNotSupported,
                "transaction type not supported",
            ),
            (
                PoolError::OversizedData {
                    size: 200,
                    limit: 100,
                },
                "oversized data: transaction size 200, limit 100",
            ),
            (PoolError::ExceedsBlockGasLimit, "exceeds block gas limit"),
            (PoolError::PoolFull, "txpool is full"),
            (PoolError::InvalidSender, "invalid sender"),
            (PoolError::NonceTooHigh, "nonce too high"),
            (
                PoolError::NotReplayProtected,
                "only replay-protected (EIP-155) transactions allowed over RPC",
            ),
            (
                PoolError::Decode("unexpected end of input".into()),
                "rlp: unexpected end of input",
            ),
        ];
        for (error, message) in cases {
            assert_eq!(error.to_string(), message);
        }
    }
}
