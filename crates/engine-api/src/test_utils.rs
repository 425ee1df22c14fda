//! Builders for tests of Engine API servers and clients. Compiled only for tests and with the
//! `test-utils` feature.

use alloy_primitives::{Address, B256};

/// Engine API attributes for a block at `timestamp` on a Cancun-or-later chain: prevRandao and
/// parent beacon block root filled with the bytes `randao` and `beacon_root`, fees to
/// `0xfe…fe`, no withdrawals.
pub fn payload_attributes(
    timestamp: u64,
    randao: u8,
    beacon_root: u8,
) -> alloy_rpc_types_engine::PayloadAttributes {
    alloy_rpc_types_engine::PayloadAttributes {
        timestamp,
        prev_randao: B256::repeat_byte(randao),
        suggested_fee_recipient: Address::repeat_byte(0xfe),
        withdrawals: Some(vec![]),
        parent_beacon_block_root: Some(B256::repeat_byte(beacon_root)),
        slot_number: None,
        target_gas_limit: None,
    }
}
