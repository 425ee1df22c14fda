//! `eth_createAccessList`: run the request with an inspector that records the accounts and
//! storage slots it touches, add them to the request's access list and run again, until the list
//! no longer grows (as geth does). The sender, the recipient (or the created contract) and the
//! precompiles are left out as accounts — they are warm anyway — but slots of the recipient are
//! listed.

use super::{
    environment::{transact, CallSetup},
    error::halt_message,
    CallContext, CallError,
};
use alloy_eips::eip2930::{AccessList, AccessListItem, AccessListResult};
use alloy_evm::Evm;
use alloy_primitives::{Address, TxKind, B256, U256};
use alloy_rpc_types_eth::TransactionRequest;
use revm::{
    bytecode::opcode,
    context::result::ExecutionResult,
    interpreter::{
        interpreter::EthInterpreter,
        interpreter_types::{InputsTr, Jumps},
        Interpreter,
    },
    precompile::{PrecompileSpecId, Precompiles},
    Inspector,
};
use std::collections::{BTreeMap, BTreeSet};

/// Safety bound on the rounds; every round but the last grows the list, so real transactions
/// settle in a few.
const MAX_ROUNDS: usize = 64;

/// Creates the access list of `request` on the post-state of the context's block. Returns the
/// list, the gas used with it, and the error message if the final run failed (the list is still
/// returned then, as in geth). Fails when the transaction cannot run at all.
pub fn create_access_list(
    ctx: &CallContext<'_>,
    mut request: TransactionRequest,
    gas_cap: u64,
) -> Result<AccessListResult, CallError> {
    let base = ctx.state()?;
    let mut setup = CallSetup::new(ctx.spec, ctx.header, &base, None, None, gas_cap)?;
    let from = request.from.unwrap_or_default();
    let nonce = match request.nonce {
        Some(nonce) => nonce,
        None => setup.account(from)?.map(|a| a.nonce).unwrap_or_default(),
    };
    request.from = Some(from);
    request.nonce = Some(nonce);
    let to = match request.to {
        Some(TxKind::Call(to)) => to,
        _ => from.create(nonce),
    };
    let precompiles = Precompiles::new(PrecompileSpecId::from_spec_id(setup.env.cfg_env.spec));
    let excluded: BTreeSet<Address> = [from, to]
        .into_iter()
        .chain(precompiles.addresses().copied())
        .collect();
    let mut list = AccessListInspector::new(excluded, request.access_list.take());
    for _ in 0..MAX_ROUNDS {
        request.access_list = Some(list.access_list());
        let tx = setup.tx_env(request.clone())?;
        let mut evm = setup.evm_with_inspector(list.clone())?;
        let result = transact(&mut evm, tx)?;
        let grown = evm.inspector().clone();
        if grown == list {
            let error = match &result {
                ExecutionResult::Success { .. } => None,
                ExecutionResult::Revert { output, .. } => {
                    Some(CallError::reverted(output.clone()).to_string())
                }
                ExecutionResult::Halt { reason, .. } => Some(halt_message(reason)),
            };
            return Ok(AccessListResult {
                access_list: list.access_list(),
                gas_used: U256::from(result.tx_gas_used()),
                error,
            });
        }
        list = grown;
    }
    Err(CallError::State(format!(
        "access list did not settle after {MAX_ROUNDS} rounds"
    )))
}

/// Records the accounts and slots a transaction touches, on top of a starting list.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AccessListInspector {
    /// Accounts never listed for themselves.
    excluded: BTreeSet<Address>,
    /// Touched accounts and their touched slots, ordered (the output is deterministic).
    touched: BTreeMap<Address, BTreeSet<B256>>,
}

impl AccessListInspector {
    fn new(excluded: BTreeSet<Address>, start: Option<AccessList>) -> Self {
        let mut inspector = Self {
            excluded,
            touched: BTreeMap::new(),
        };
        for item in start.into_iter().flat_map(|list| list.0) {
            inspector.add_address(item.address);
            for slot in item.storage_keys {
                inspector.add_slot(item.address, slot);
            }
        }
        inspector
    }

    fn add_address(&mut self, address: Address) {
        if !self.excluded.contains(&address) {
            self.touched.entry(address).or_default();
        }
    }

    fn add_slot(&mut self, address: Address, slot: B256) {
        self.touched.entry(address).or_default().insert(slot);
    }

    fn access_list(&self) -> AccessList {
        AccessList(
            self.touched
                .iter()
                .map(|(address, slots)| AccessListItem {
                    address: *address,
                    storage_keys: slots.iter().copied().collect(),
                })
                .collect(),
        )
    }
}

impl<CTX> Inspector<CTX, EthInterpreter> for AccessListInspector {
    fn step(&mut self, interp: &mut Interpreter<EthInterpreter>, _context: &mut CTX) {
        let stack = interp.stack.data();
        let from_top = |n: usize| {
            stack
                .len()
                .checked_sub(n + 1)
                .map(|index| B256::from(stack[index]))
        };
        let address_at = |n: usize| from_top(n).map(Address::from_word);
        match interp.bytecode.opcode() {
            opcode::SLOAD | opcode::SSTORE => {
                if let Some(slot) = from_top(0) {
                    self.add_slot(interp.input.target_address(), slot);
                }
            }
            opcode::EXTCODECOPY
            | opcode::EXTCODEHASH
            | opcode::EXTCODESIZE
            | opcode::BALANCE
            | opcode::SELFDESTRUCT => {
                if let Some(address) = address_at(0) {
                    self.add_address(address);
                }
            }
            opcode::CALL | opcode::CALLCODE | opcode::DELEGATECALL | opcode::STATICCALL => {
                if let Some(address) = address_at(1) {
                    self.add_address(address);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        call,
        test_chain::{word, TestChain, FORWARDER, FUNDED, REVERTER, STORE},
    };

    fn item(address: Address, slots: &[B256]) -> AccessListItem {
        AccessListItem {
            address,
            storage_keys: slots.to_vec(),
        }
    }

    #[test]
    fn lists_the_recipients_slot() {
        let chain = TestChain::new();
        let read = TestChain::to(STORE).from(FUNDED);
        let result = create_access_list(&chain.head(), read.clone(), 0).unwrap();
        assert_eq!(
            result.access_list,
            AccessList(vec![item(STORE, &[B256::ZERO])])
        );
        assert_eq!(result.error, None);
        // The reported gas is what the call uses with that list.
        let with_list = read.access_list(result.access_list.clone());
        let used = call(&chain.head(), with_list, None, None, 0)
            .unwrap()
            .gas_used;
        assert_eq!(result.gas_used, U256::from(used));
    }

    #[test]
    fn lists_called_contracts_and_their_slots_but_not_the_sender() {
        let chain = TestChain::new();
        let write = TestChain::to(FORWARDER).from(FUNDED).input(word(5).into());
        let result = create_access_list(&chain.head(), write.clone(), 0).unwrap();
        assert_eq!(
            result.access_list,
            AccessList(vec![item(STORE, &[B256::ZERO])])
        );
        // A listed sender and an unrelated account given by the caller: the sender is dropped,
        // the other account is kept.
        let other = Address::repeat_byte(0x55);
        let given = write.access_list(AccessList(vec![item(FUNDED, &[]), item(other, &[])]));
        let result = create_access_list(&chain.head(), given, 0).unwrap();
        assert_eq!(
            result.access_list,
            AccessList(vec![item(other, &[]), item(STORE, &[B256::ZERO])])
        );
    }

    #[test]
    fn failed_run_reports_the_error_with_the_list() {
        let chain = TestChain::new();
        let result = create_access_list(&chain.head(), TestChain::to(REVERTER), 0).unwrap();
        assert_eq!(result.access_list, AccessList::default());
        assert_eq!(result.error.as_deref(), Some("execution reverted: nope"));
        assert!(result.gas_used > U256::from(21_000));
    }
}
