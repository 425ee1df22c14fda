//! Intrinsic gas of a transaction (what it costs before any code runs) and the EIP-7623 calldata
//! floor, as of Prague.

use alloy_consensus::Transaction;

/// Base cost of every transaction.
const TX_GAS: u64 = 21_000;
/// Extra base cost of a contract creation.
const TX_CREATE_GAS: u64 = 32_000;
/// Calldata cost of a zero byte.
const TX_DATA_ZERO_GAS: u64 = 4;
/// Calldata cost of a non-zero byte (EIP-2028).
const TX_DATA_NON_ZERO_GAS: u64 = 16;
/// EIP-3860: cost per 32-byte word of init code.
const INIT_CODE_WORD_GAS: u64 = 2;
/// EIP-2930: cost per access-list address.
const ACCESS_LIST_ADDRESS_GAS: u64 = 2_400;
/// EIP-2930: cost per access-list storage key.
const ACCESS_LIST_STORAGE_KEY_GAS: u64 = 1_900;
/// EIP-7702: cost per authorization (charged as for an empty account).
const PER_AUTHORIZATION_GAS: u64 = 25_000;
/// EIP-7623: floor cost per calldata token.
const FLOOR_GAS_PER_TOKEN: u64 = 10;
/// EIP-7623: a non-zero byte counts as this many tokens.
const TOKENS_PER_NON_ZERO_BYTE: u64 = 4;

/// EIP-3860: largest init code a creation may carry.
pub(crate) const MAX_INIT_CODE_SIZE: usize = 2 * 24_576;

/// Zero and non-zero byte counts of calldata.
fn byte_counts(data: &[u8]) -> (u64, u64) {
    let zeros = data.iter().filter(|b| **b == 0).count() as u64;
    (zeros, data.len() as u64 - zeros)
}

/// Gas charged before execution: base, calldata, creation and init code, access list and
/// EIP-7702 authorizations.
pub(crate) fn intrinsic_gas<T: Transaction>(tx: &T) -> u64 {
    let input = tx.input();
    let (zeros, non_zeros) = byte_counts(input);
    let mut gas = TX_GAS
        .saturating_add(zeros.saturating_mul(TX_DATA_ZERO_GAS))
        .saturating_add(non_zeros.saturating_mul(TX_DATA_NON_ZERO_GAS));
    if tx.is_create() {
        let words = (input.len() as u64).div_ceil(32);
        gas = gas
            .saturating_add(TX_CREATE_GAS)
            .saturating_add(words.saturating_mul(INIT_CODE_WORD_GAS));
    }
    if let Some(access_list) = tx.access_list() {
        for item in access_list.iter() {
            gas = gas.saturating_add(ACCESS_LIST_ADDRESS_GAS).saturating_add(
                (item.storage_keys.len() as u64).saturating_mul(ACCESS_LIST_STORAGE_KEY_GAS),
            );
        }
    }
    if let Some(authorizations) = tx.authorization_list() {
        gas =
            gas.saturating_add((authorizations.len() as u64).saturating_mul(PER_AUTHORIZATION_GAS));
    }
    gas
}

/// EIP-7623 floor: `21000 + 10 * tokens` with `tokens = zero_bytes + 4 * non_zero_bytes`.
pub(crate) fn floor_data_gas(data: &[u8]) -> u64 {
    let (zeros, non_zeros) = byte_counts(data);
    let tokens = zeros.saturating_add(non_zeros.saturating_mul(TOKENS_PER_NON_ZERO_BYTE));
    TX_GAS.saturating_add(tokens.saturating_mul(FLOOR_GAS_PER_TOKEN))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_consensus::{TxEip1559, TxEip2930, TxEip7702, TxLegacy};
    use alloy_eips::{
        eip2930::{AccessList, AccessListItem},
        eip7702::{Authorization, SignedAuthorization},
    };
    use alloy_primitives::{Address, Bytes, TxKind, B256, U256};

    #[test]
    fn plain_transfer_costs_21000() {
        let tx = TxLegacy {
            to: TxKind::Call(Address::ZERO),
            ..Default::default()
        };
        assert_eq!(intrinsic_gas(&tx), 21_000);
        assert_eq!(floor_data_gas(&[]), 21_000);
    }

    #[test]
    fn calldata_is_4_per_zero_and_16_per_non_zero_byte() {
        let tx = TxEip1559 {
            to: TxKind::Call(Address::ZERO),
            input: Bytes::from(vec![0, 0, 1, 2, 0]),
            ..Default::default()
        };
        assert_eq!(intrinsic_gas(&tx), 21_000 + 3 * 4 + 2 * 16);
        // Floor: 3 zero tokens + 2 * 4 non-zero tokens = 11 tokens.
        assert_eq!(floor_data_gas(&tx.input), 21_000 + 11 * 10);
    }

    #[test]
    fn creation_adds_32000_and_two_per_init_code_word() {
        let tx = TxEip1559 {
            to: TxKind::Create,
            input: Bytes::from(vec![1u8; 33]),
            ..Default::default()
        };
        assert_eq!(intrinsic_gas(&tx), 21_000 + 33 * 16 + 32_000 + 2 * 2);
    }

    #[test]
    fn access_list_costs_2400_per_address_and_1900_per_key() {
        let tx = TxEip2930 {
            to: TxKind::Call(Address::ZERO),
            access_list: AccessList(vec![
                AccessListItem {
                    address: Address::repeat_byte(1),
                    storage_keys: vec![B256::ZERO, B256::repeat_byte(1)],
                },
                AccessListItem {
                    address: Address::repeat_byte(2),
                    storage_keys: vec![],
                },
            ]),
            ..Default::default()
        };
        assert_eq!(intrinsic_gas(&tx), 21_000 + 2 * 2_400 + 2 * 1_900);
    }

    #[test]
    fn authorizations_cost_25000_each() {
        let auth = SignedAuthorization::new_unchecked(
            Authorization {
                chain_id: U256::from(1),
                address: Address::repeat_byte(3),
                nonce: 0,
            },
            0,
            U256::from(1),
            U256::from(1),
        );
        let tx = TxEip7702 {
            to: Address::ZERO,
            authorization_list: vec![auth.clone(), auth],
            ..Default::default()
        };
        assert_eq!(intrinsic_gas(&tx), 21_000 + 2 * 25_000);
    }

    #[test]
    fn floor_exceeds_standard_cost_for_large_non_zero_calldata() {
        let data = vec![0xffu8; 1_000];
        let tx = TxEip1559 {
            to: TxKind::Call(Address::ZERO),
            input: Bytes::from(data.clone()),
            ..Default::default()
        };
        assert_eq!(intrinsic_gas(&tx), 21_000 + 16_000);
        assert_eq!(floor_data_gas(&data), 21_000 + 40_000);
    }
}
