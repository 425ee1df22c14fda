//! `eth_call`: one transaction on top of a block's post-state, nothing committed.

use super::{
    environment::{transact, CallSetup},
    error::halt_message,
    CallContext, CallError, CallOutcome,
};
use alloy_rpc_types_eth::{state::StateOverride, BlockOverrides, TransactionRequest};
use revm::context::result::{ExecutionResult, HaltReason};

/// Executes `request` on the post-state of the context's block, in that block's environment
/// (see the [module docs](super) for geth's defaults), after applying `state_overrides`
/// (balance, nonce, code, full `state`, `stateDiff`, `movePrecompileToAddress`) and
/// `block_overrides`. `gas_cap` bounds the gas limit (0: no cap).
pub fn call(
    ctx: &CallContext<'_>,
    request: TransactionRequest,
    state_overrides: Option<StateOverride>,
    block_overrides: Option<BlockOverrides>,
    gas_cap: u64,
) -> Result<CallOutcome, CallError> {
    let base = ctx.state()?;
    let mut setup = CallSetup::new(
        ctx.spec,
        ctx.header,
        &base,
        state_overrides,
        block_overrides,
        gas_cap,
    )?;
    let tx = setup.tx_env(request)?;
    let mut evm = setup.evm()?;
    outcome(transact(&mut evm, tx)?)
}

/// A finished execution as a call result: success, or the revert/halt as an error.
pub(crate) fn outcome(result: ExecutionResult<HaltReason>) -> Result<CallOutcome, CallError> {
    let gas_used = result.tx_gas_used();
    match result {
        ExecutionResult::Success { output, logs, .. } => Ok(CallOutcome {
            output: output.into_data(),
            gas_used,
            logs,
        }),
        ExecutionResult::Revert { output, .. } => Err(CallError::reverted(output)),
        ExecutionResult::Halt { reason, .. } => Err(CallError::Halted(halt_message(&reason))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_chain::{
        error_string, word, TestChain, BLOCK_INFO, FUNDED, REVERTER, STORE, STORE_VALUE,
    };
    use alloy_primitives::{Address, Bytes, B256, U256};
    use alloy_rpc_types_eth::state::AccountOverride;

    #[test]
    fn calls_a_contract_and_reads_its_storage() {
        let chain = TestChain::new();
        let out = call(&chain.head(), TestChain::to(STORE), None, None, 0).unwrap();
        assert_eq!(out.output, word(STORE_VALUE));
        assert!(out.gas_used > 21_000 && out.logs.is_empty());
    }

    #[test]
    fn revert_carries_reason_code_and_data() {
        let chain = TestChain::new();
        let err = call(&chain.head(), TestChain::to(REVERTER), None, None, 0).unwrap_err();
        assert!(matches!(err, CallError::Reverted { .. }), "{err}");
        assert_eq!(err.to_string(), "execution reverted: nope");
        assert_eq!(err.data(), Some(Bytes::from(error_string("nope"))));
        assert!(matches!(&err, CallError::Reverted { reason: Some(r), .. } if r == "nope"));
    }

    #[test]
    fn halts_and_invalid_transactions_are_errors() {
        let chain = TestChain::new();
        // A storage write needs more than 21,000 + its calldata cost.
        let mut request = TestChain::to(STORE).input(word(9).into());
        request.gas = Some(22_000);
        let err = call(&chain.head(), request, None, None, 0).unwrap_err();
        assert_eq!(err, CallError::Halted("out of gas".into()));
        let mut request = TestChain::to(STORE);
        request.gas = Some(20_000);
        let err = call(&chain.head(), request, None, None, 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "intrinsic gas too low: have 20000, want 21000"
        );
        let broke = TestChain::to(STORE)
            .from(Address::repeat_byte(0x42))
            .value(U256::from(1));
        let err = call(&chain.head(), broke, None, None, 0).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("insufficient funds for gas * price + value"),
            "{err}"
        );
        assert!(matches!(err, CallError::InvalidTransaction(_)), "{err}");
    }

    #[test]
    fn gas_cap_bounds_the_gas_limit() {
        let chain = TestChain::new();
        // Without a gas field the cap is the limit: a cap below the need runs out of gas.
        let write = TestChain::to(STORE).input(word(9).into());
        assert!(call(&chain.head(), write.clone(), None, None, 0).is_ok());
        let err = call(&chain.head(), write.clone(), None, None, 25_000).unwrap_err();
        assert_eq!(err, CallError::Halted("out of gas".into()));
        // An explicit gas limit above the cap is lowered to the cap.
        let mut explicit = write;
        explicit.gas = Some(1_000_000);
        let err = call(&chain.head(), explicit, None, None, 25_000).unwrap_err();
        assert_eq!(err, CallError::Halted("out of gas".into()));
    }

    #[test]
    fn state_overrides_replace_balance_code_and_storage() {
        let chain = TestChain::new();
        let target = Address::repeat_byte(0x77);
        // SELFBALANCE, MSTORE at 0, RETURN 32 bytes.
        let self_balance = Bytes::from_static(&[0x47, 0x60, 0, 0x52, 0x60, 0x20, 0x60, 0, 0xf3]);
        let overrides = StateOverride::from_iter([(
            target,
            AccountOverride::default()
                .with_code(self_balance)
                .with_balance(U256::from(1234)),
        )]);
        let out = call(
            &chain.head(),
            TestChain::to(target),
            Some(overrides),
            None,
            0,
        )
        .unwrap();
        assert_eq!(out.output, word(1234));

        let slot0 = B256::ZERO;
        let diff = StateOverride::from_iter([(
            STORE,
            AccountOverride::default().with_state_diff([(slot0, B256::from(U256::from(99)))]),
        )]);
        let out = call(&chain.head(), TestChain::to(STORE), Some(diff), None, 0).unwrap();
        assert_eq!(out.output, word(99));

        // A full `state` replaces the storage: slot 0 is gone.
        let slot1 = B256::from(U256::from(1));
        let replace = StateOverride::from_iter([(
            STORE,
            AccountOverride::default().with_state([(slot1, B256::from(U256::from(5)))]),
        )]);
        let out = call(&chain.head(), TestChain::to(STORE), Some(replace), None, 0).unwrap();
        assert_eq!(out.output, word(0));

        // A value transfer from an empty account works once the override funds it.
        let poor = Address::repeat_byte(0x42);
        let funded = StateOverride::from_iter([(
            poor,
            AccountOverride::default().with_balance(U256::from(10)),
        )]);
        let transfer = TestChain::to(FUNDED).from(poor).value(U256::from(10));
        assert!(call(&chain.head(), transfer.clone(), None, None, 0).is_err());
        assert!(call(&chain.head(), transfer, Some(funded), None, 0).is_ok());

        let both = StateOverride::from_iter([(
            STORE,
            AccountOverride::default()
                .with_state([(slot1, B256::ZERO)])
                .with_state_diff([(slot1, B256::ZERO)]),
        )]);
        let err = call(&chain.head(), TestChain::to(STORE), Some(both), None, 0).unwrap_err();
        assert!(matches!(err, CallError::InvalidParams(_)), "{err}");
    }

    #[test]
    fn block_environment_is_the_headers_unless_overridden() {
        let chain = TestChain::new();
        let header = chain.genesis_header();
        // BLOCK_INFO returns NUMBER, TIMESTAMP, BASEFEE, COINBASE.
        let out = call(&chain.head(), TestChain::to(BLOCK_INFO), None, None, 0).unwrap();
        let expected: Vec<u8> = [
            word(header.number),
            word(header.timestamp),
            // A fee-less call runs with base fee 0.
            word(0),
            word(0),
        ]
        .concat();
        assert_eq!(out.output, Bytes::from(expected));

        // With a gas price the header's base fee applies (the sender can pay).
        let base_fee = header.base_fee_per_gas.unwrap();
        let paying = TestChain::to(BLOCK_INFO)
            .from(FUNDED)
            .gas_price(u128::from(base_fee));
        let out = call(&chain.head(), paying, None, None, 0).unwrap();
        assert_eq!(out.output[64..96], word(base_fee)[..]);

        let coinbase = Address::repeat_byte(0xc0);
        let overrides = BlockOverrides {
            number: Some(U256::from(1_000)),
            time: Some(777),
            coinbase: Some(coinbase),
            ..Default::default()
        };
        let out = call(
            &chain.head(),
            TestChain::to(BLOCK_INFO),
            None,
            Some(overrides),
            0,
        )
        .unwrap();
        let mut coinbase_word = [0u8; 32];
        coinbase_word[12..].copy_from_slice(coinbase.as_slice());
        let expected: Vec<u8> = [word(1_000), word(777), word(0), coinbase_word.into()].concat();
        assert_eq!(out.output, Bytes::from(expected));
    }

    #[test]
    fn historical_blocks_read_their_own_state() {
        let mut chain = TestChain::new();
        let write = chain.sign(0, STORE, word(8));
        chain.mine(vec![write]);
        // Block 1 is the head (flat tables); genesis is read through its state trie.
        assert!(fastevm_executor::StateAtBlock::new(
            chain.blockchain.store(),
            chain.at(0).block_hash
        )
        .map(|state| !state.is_head())
        .unwrap());
        let read = || TestChain::to(STORE);
        assert_eq!(
            call(&chain.at(0), read(), None, None, 0).unwrap().output,
            word(STORE_VALUE)
        );
        assert_eq!(
            call(&chain.at(1), read(), None, None, 0).unwrap().output,
            word(8)
        );
        // The historical environment is the old header's too.
        let info = call(&chain.at(0), TestChain::to(BLOCK_INFO), None, None, 0).unwrap();
        assert_eq!(info.output[..32], word(0)[..]);
        let info = call(&chain.at(1), TestChain::to(BLOCK_INFO), None, None, 0).unwrap();
        assert_eq!(info.output[..32], word(1)[..]);
    }

    #[test]
    fn precompiles_can_be_moved() {
        let chain = TestChain::new();
        let identity = Address::with_last_byte(4);
        let moved = Address::repeat_byte(0x44);
        let overrides = StateOverride::from_iter([(
            identity,
            AccountOverride {
                move_precompile_to: Some(moved),
                ..Default::default()
            },
        )]);
        let echo = |to: Address| TestChain::to(to).input(Bytes::from_static(b"echo").into());
        let out = call(&chain.head(), echo(moved), Some(overrides.clone()), None, 0).unwrap();
        assert_eq!(out.output, Bytes::from_static(b"echo"));
        let out = call(&chain.head(), echo(identity), Some(overrides), None, 0).unwrap();
        assert_eq!(out.output, Bytes::new());
        // Only precompiles can be moved.
        let not_a_precompile = StateOverride::from_iter([(
            STORE,
            AccountOverride {
                move_precompile_to: Some(moved),
                ..Default::default()
            },
        )]);
        let err = call(&chain.head(), echo(moved), Some(not_a_precompile), None, 0).unwrap_err();
        assert!(matches!(err, CallError::Override(_)), "{err}");
        assert!(err.to_string().ends_with("is not a precompile"), "{err}");
        // Nor onto an address that is itself overridden.
        let onto_overridden = StateOverride::from_iter([
            (
                identity,
                AccountOverride {
                    move_precompile_to: Some(moved),
                    ..Default::default()
                },
            ),
            (
                moved,
                AccountOverride {
                    balance: Some(U256::from(1)),
                    ..Default::default()
                },
            ),
        ]);
        let err = call(&chain.head(), echo(moved), Some(onto_overridden), None, 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("account {} is already overridden", moved.to_checksum(None))
        );
        // Two precompiles moved to one address: the later (higher) source wins, as in geth.
        let sha256 = Address::with_last_byte(2);
        let both = StateOverride::from_iter([identity, sha256].map(|source| {
            (
                source,
                AccountOverride {
                    move_precompile_to: Some(moved),
                    ..Default::default()
                },
            )
        }));
        let out = call(&chain.head(), echo(moved), Some(both), None, 0).unwrap();
        assert_eq!(out.output, Bytes::from_static(b"echo"));
    }
}
