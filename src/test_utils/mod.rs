//! Builders shared by the end-to-end tests and the benchmarks: signed transactions, a minimal
//! ERC-20-style token contract, and node processes started by tests. Compiled only for tests
//! and with the `test-utils` feature (the package's own tests and benchmarks turn it on).

mod processes;
pub use crate::json_rpc_client::JsonRpc;
pub use fastevm_dev_chain::{sign_eip1559, TxFees};
pub use fastevm_engine_api::test_utils::payload_attributes;
pub use processes::{
    consensus_args, free_port, send_dev_transfer, spawn_consensus, spawn_dev, spawn_dev_with,
    spawn_node, spawn_node_on, spawn_node_with, DevProcess, NodeProcess,
};

use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_signer_local::PrivateKeySigner;

/// A deterministic signer for index `i` (private key = i + 1). Never use for real funds.
pub fn indexed_signer(i: u64) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&B256::from(U256::from(i + 1))).expect("non-zero key")
}

/// Topic of `Transfer(address,address,uint256)`.
pub fn transfer_topic() -> B256 {
    keccak256("Transfer(address,address,uint256)")
}

/// Runtime code of a minimal token: any call with calldata `selector ‖ to ‖ amount` moves `amount`
/// from the caller's balance (storage slot = caller address) to `to`'s, emits
/// `Transfer(from, to, amount)` and returns `true`; it reverts when the balance is short.
/// Gas and storage behaviour match an ERC-20 `transfer` closely enough for load and benchmarks.
pub fn token_runtime_code() -> Bytes {
    let mut code = vec![
        0x60, 0x24, 0x35, // PUSH1 0x24 CALLDATALOAD          [amt]
        0x60, 0x04, 0x35, // PUSH1 0x04 CALLDATALOAD          [to, amt]
        0x33, // CALLER                                        [from, to, amt]
        0x80, 0x54, // DUP1 SLOAD                              [fb, from, to, amt]
        0x83, 0x81, 0x10, // DUP4 DUP2 LT                      [fb<amt, fb, from, to, amt]
        0x60, 0x00, 0x57, // PUSH1 <revert> JUMPI (patched)     [fb, from, to, amt]
        0x83, 0x90, 0x03, // DUP4 SWAP1 SUB                    [fb-amt, from, to, amt]
        0x90, 0x55, // SWAP1 SSTORE                            [to, amt]
        0x80, 0x54, 0x82, 0x01, // DUP1 SLOAD DUP3 ADD         [tb+amt, to, amt]
        0x81, 0x55, // DUP2 SSTORE                             [to, amt]
        0x81, 0x60, 0x00, 0x52, // DUP2 PUSH1 0 MSTORE         [to, amt]
        0x33, // CALLER                                        [from, to, amt]
        0x7f, // PUSH32 topic
    ];
    code.extend_from_slice(transfer_topic().as_slice());
    code.extend_from_slice(&[
        0x60, 0x20, 0x60, 0x00, 0xa3, // PUSH1 32 PUSH1 0 LOG3 [amt]
        0x60, 0x01, 0x60, 0x00, 0x52, // PUSH1 1 PUSH1 0 MSTORE
        0x60, 0x20, 0x60, 0x00, 0xf3, // PUSH1 32 PUSH1 0 RETURN
    ]);
    let revert = code.len() as u8;
    code.extend_from_slice(&[0x5b, 0x60, 0x00, 0x80, 0xfd]); // JUMPDEST PUSH1 0 DUP1 REVERT
    code[13] = revert;
    code.into()
}

/// Calldata of `transfer(to, amount)` for [`token_runtime_code`].
pub fn token_transfer_calldata(to: Address, amount: U256) -> Bytes {
    let mut data = Vec::with_capacity(68);
    data.extend_from_slice(&keccak256("transfer(address,uint256)")[..4]);
    data.extend_from_slice(B256::left_padding_from(to.as_slice()).as_slice());
    data.extend_from_slice(&amount.to_be_bytes::<32>());
    data.into()
}

/// Storage slot holding `holder`'s token balance in [`token_runtime_code`].
pub fn token_balance_slot(holder: Address) -> B256 {
    B256::left_padding_from(holder.as_slice())
}
