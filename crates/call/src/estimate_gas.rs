//! `eth_estimateGas`: the smallest gas limit with which the request succeeds, found like geth
//! does — try the highest allowed limit, take its gas used as the lower bound, try the
//! optimistic `(gas spent + 2300) * 64 / 63`, then binary-search the rest.
//!
//! The search is exact (geth's RPC stops within 1.5 %): the result always succeeds and one gas
//! less fails.

use super::{
    environment::{CallEvm, CallSetup},
    error::{evm_error, is_intrinsic_gas_error},
    CallContext, CallError,
};
use alloy_evm::{Evm, EvmError};
use alloy_primitives::{TxKind, U256};
use alloy_rpc_types_eth::{state::StateOverride, TransactionRequest};
use revm::context::{
    result::{ExecutionResult, HaltReason},
    TxEnv,
};

/// Gas of a plain value transfer.
const TRANSFER_GAS: u64 = 21_000;
/// Gas a callee always receives with a value transfer (why the optimistic guess adds it).
const CALL_STIPEND: u64 = 2_300;

/// Estimates the gas `request` needs on the post-state of the context's block.
///
/// The upper bound is the request's gas (if at least 21,000) or else the block gas limit, lowered
/// to what the sender's balance pays for at the request's fee cap, to the EIP-7825 cap and to
/// `gas_cap` (0: no cap). Fails with [`CallError::Reverted`] when the transaction reverts at the
/// upper bound and with [`CallError::OutOfGas`] when it fails otherwise.
pub fn estimate_gas(
    ctx: &CallContext<'_>,
    mut request: TransactionRequest,
    state_overrides: Option<StateOverride>,
    gas_cap: u64,
) -> Result<u64, CallError> {
    let base = ctx.state()?;
    let mut setup = CallSetup::new(ctx.spec, ctx.header, &base, state_overrides, None, gas_cap)?;
    let mut hi = match request.gas {
        Some(gas) if gas >= TRANSFER_GAS => gas,
        _ => setup.env.block_env.gas_limit,
    };
    hi = hi.min(setup.default_gas());
    if let Some(allowance) = balance_allowance(&mut setup, &request)? {
        hi = hi.min(allowance);
    }
    let plain_transfer = match request.to {
        Some(TxKind::Call(to)) if request.input.input().is_none_or(|i| i.is_empty()) => setup
            .account(to)?
            .is_none_or(|account| account.is_empty_code_hash()),
        _ => false,
    };
    request.gas = Some(hi);
    let tx = setup.tx_env(request)?;
    let mut evm = setup.evm()?;
    let mut run = |gas: u64| try_with_gas(&mut evm, &tx, gas);

    if plain_transfer && hi >= TRANSFER_GAS {
        if let Trial::Succeeded { .. } = run(TRANSFER_GAS)? {
            return Ok(TRANSFER_GAS);
        }
    }
    let (used, spent) = match run(hi)? {
        Trial::Succeeded { used, spent } => (used, spent),
        Trial::Failed(Some(ExecutionResult::Revert { output, .. })) => {
            return Err(CallError::reverted(output))
        }
        Trial::Failed(_) => return Err(CallError::OutOfGas { allowance: hi }),
    };
    let mut lo = used.saturating_sub(1);
    let optimistic = spent.saturating_add(CALL_STIPEND).saturating_mul(64) / 63;
    if optimistic < hi {
        match run(optimistic)? {
            Trial::Succeeded { .. } => hi = optimistic,
            Trial::Failed(_) => lo = optimistic,
        }
    }
    while lo + 1 < hi {
        // Most transactions need little more than they use: probe near the low end first.
        let mid = ((lo + hi) / 2).min(lo.saturating_mul(2)).max(lo + 1);
        match run(mid)? {
            Trial::Succeeded { .. } => hi = mid,
            Trial::Failed(_) => lo = mid,
        }
    }
    Ok(hi)
}

/// Outcome of one try at a gas limit.
enum Trial {
    /// The transaction succeeded, using (after refunds) and spending (before) this much gas.
    Succeeded { used: u64, spent: u64 },
    /// It reverted or halted, or the limit did not even cover the intrinsic gas (`None`).
    Failed(Option<ExecutionResult<HaltReason>>),
}

fn try_with_gas(evm: &mut CallEvm<'_, '_>, tx: &TxEnv, gas: u64) -> Result<Trial, CallError> {
    let mut tx = tx.clone();
    tx.gas_limit = gas;
    match evm.transact_raw(tx) {
        Ok(outcome) => match outcome.result {
            result @ ExecutionResult::Success { .. } => Ok(Trial::Succeeded {
                used: result.tx_gas_used(),
                spent: result.gas().total_gas_spent(),
            }),
            failed => Ok(Trial::Failed(Some(failed))),
        },
        Err(err) if err.as_invalid_tx_err().is_some_and(is_intrinsic_gas_error) => {
            Ok(Trial::Failed(None))
        }
        Err(err) => Err(evm_error(err)),
    }
}

/// The most gas the sender can pay for at the request's fee cap, if the request sets one.
fn balance_allowance(
    setup: &mut CallSetup<'_>,
    request: &TransactionRequest,
) -> Result<Option<u64>, CallError> {
    let fee_cap = request
        .max_fee_per_gas
        .or(request.gas_price)
        .unwrap_or_default();
    if fee_cap == 0 {
        return Ok(None);
    }
    let from = request.from.unwrap_or_default();
    let balance = setup
        .account(from)?
        .map(|account| account.balance)
        .unwrap_or_default();
    let mut available = balance
        .checked_sub(request.value.unwrap_or_default())
        .ok_or_else(|| CallError::InvalidTransaction("insufficient funds for transfer".into()))?;
    if let (Some(hashes), Some(blob_fee_cap)) =
        (&request.blob_versioned_hashes, request.max_fee_per_blob_gas)
    {
        let blob_gas = U256::from(hashes.len() as u64 * alloy_eips::eip4844::DATA_GAS_PER_BLOB);
        let blob_cost = blob_gas * U256::from(blob_fee_cap);
        available = available.checked_sub(blob_cost).ok_or_else(|| {
            CallError::InvalidTransaction("insufficient funds for blob gas".into())
        })?;
    }
    Ok(Some((available / U256::from(fee_cap)).saturating_to()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        call,
        test_chain::{word, TestChain, FORWARDER, FUNDED, LOOP, REVERTER, STORE},
    };
    use alloy_primitives::Address;

    /// The estimate succeeds and one gas less fails, through eth_call.
    fn assert_tight(chain: &TestChain, request: TransactionRequest, estimate: u64) {
        let with = |gas: u64| {
            let mut request = request.clone();
            request.gas = Some(gas);
            call(&chain.head(), request, None, None, 0)
        };
        assert!(with(estimate).is_ok(), "fails with the estimate {estimate}");
        assert!(with(estimate - 1).is_err(), "{estimate} is not the minimum");
    }

    #[test]
    fn plain_transfer_costs_21000() {
        let chain = TestChain::new();
        let transfer = TestChain::to(Address::repeat_byte(0x99))
            .from(FUNDED)
            .value(U256::from(1));
        assert_eq!(
            estimate_gas(&chain.head(), transfer.clone(), None, 0).unwrap(),
            21_000
        );
        // With a fee cap and an explicit gas limit the answer does not change.
        let paying = transfer.max_fee_per_gas(2_000_000_000).gas_limit(100_000);
        assert_eq!(
            estimate_gas(&chain.head(), paying, None, 0).unwrap(),
            21_000
        );
    }

    #[test]
    fn storage_write_gets_the_exact_minimum() {
        let chain = TestChain::new();
        let write = TestChain::to(STORE).input(word(8).into());
        let estimate = estimate_gas(&chain.head(), write.clone(), None, 0).unwrap();
        assert!(estimate > 21_000 + 5_000, "{estimate}");
        assert_tight(&chain, write, estimate);
    }

    #[test]
    fn nested_call_needs_the_63_64_margin() {
        let chain = TestChain::new();
        // FORWARDER passes all but 1/64 of its gas to STORE and reverts if STORE fails, so
        // the need is above gas used by more than the SSTORE sentry alone.
        let write = TestChain::to(FORWARDER).input(word(9).into());
        let estimate = estimate_gas(&chain.head(), write.clone(), None, 0).unwrap();
        let used = call(&chain.head(), write.clone(), None, None, 0)
            .unwrap()
            .gas_used;
        assert!(estimate > used, "estimate {estimate} used {used}");
        assert_tight(&chain, write, estimate);
    }

    #[test]
    fn failures_are_reverts_or_out_of_gas() {
        let chain = TestChain::new();
        let err = estimate_gas(&chain.head(), TestChain::to(REVERTER), None, 0).unwrap_err();
        assert!(matches!(err, CallError::Reverted { .. }), "{err}");
        assert_eq!(err.to_string(), "execution reverted: nope");

        let mut looping = TestChain::to(LOOP);
        looping.gas = Some(100_000);
        let err = estimate_gas(&chain.head(), looping, None, 0).unwrap_err();
        assert_eq!(err, CallError::OutOfGas { allowance: 100_000 });
        assert_eq!(err.to_string(), "gas required exceeds allowance (100000)");
        // Without a gas field the bound is the block gas limit, lowered to the gas cap.
        let err = estimate_gas(&chain.head(), TestChain::to(LOOP), None, 1_000_000).unwrap_err();
        assert_eq!(
            err,
            CallError::OutOfGas {
                allowance: 1_000_000
            }
        );
    }

    #[test]
    fn balance_bounds_the_allowance() {
        let chain = TestChain::new();
        let poor = Address::repeat_byte(0x42);
        let overrides = alloy_rpc_types_eth::state::StateOverride::from_iter([(
            poor,
            alloy_rpc_types_eth::state::AccountOverride::default()
                .with_balance(U256::from(25_000u64 * 1_000_000_000)),
        )]);
        // 25,000 gas at 1 gwei pays for a transfer but not for a storage write (~26,200).
        let transfer = TestChain::to(FUNDED)
            .from(poor)
            .max_fee_per_gas(1_000_000_000);
        assert_eq!(
            estimate_gas(&chain.head(), transfer, Some(overrides.clone()), 0).unwrap(),
            21_000
        );
        let write = TestChain::to(STORE)
            .from(poor)
            .max_fee_per_gas(1_000_000_000)
            .input(word(3).into());
        let err = estimate_gas(&chain.head(), write, Some(overrides.clone()), 0).unwrap_err();
        assert_eq!(err, CallError::OutOfGas { allowance: 25_000 });
        let too_much = TestChain::to(FUNDED)
            .from(poor)
            .max_fee_per_gas(1_000_000_000)
            .value(U256::MAX);
        let err = estimate_gas(&chain.head(), too_much, Some(overrides), 0).unwrap_err();
        assert_eq!(err.to_string(), "insufficient funds for transfer");
    }
}
