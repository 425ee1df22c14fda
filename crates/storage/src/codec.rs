//! Byte encodings of keys and values (see [`crate::Table`] for the layout of each table).

use crate::StorageError;
use alloy_primitives::{Address, B256, U256};
use alloy_trie::TrieAccount;

/// Key of [`crate::Table::Storage`]: address ‖ slot.
pub(crate) fn storage_key(address: &Address, slot: &B256) -> [u8; 52] {
    let mut key = [0u8; 52];
    key[..20].copy_from_slice(address.as_slice());
    key[20..].copy_from_slice(slot.as_slice());
    key
}

/// Key of [`crate::Table::CanonicalHashes`].
pub(crate) fn block_number_key(number: u64) -> [u8; 8] {
    number.to_be_bytes()
}

/// Encodes a storage value as big-endian bytes without leading zeros.
pub(crate) fn encode_u256(value: &U256) -> Vec<u8> {
    let bytes = value.to_be_bytes::<32>();
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(32);
    bytes[start..].to_vec()
}

/// Decodes a storage value written by [`encode_u256`].
pub(crate) fn decode_u256(bytes: &[u8]) -> Result<U256, StorageError> {
    if bytes.len() > 32 {
        return Err(StorageError::decode(
            "storage",
            "value longer than 32 bytes",
        ));
    }
    Ok(U256::from_be_slice(bytes))
}

/// Encodes an account as RLP `TrieAccount`.
pub(crate) fn encode_account(account: &TrieAccount) -> Vec<u8> {
    alloy_rlp::encode(account)
}

/// Decodes an account written by [`encode_account`].
pub(crate) fn decode_account(mut bytes: &[u8]) -> Result<TrieAccount, StorageError> {
    alloy_rlp::Decodable::decode(&mut bytes)
        .map_err(|e| StorageError::decode("accounts", e.to_string()))
}

/// Location of a canonical transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxLocation {
    /// Number of the canonical block holding the transaction.
    pub block_number: u64,
    /// Index of the transaction in the block.
    pub index: u32,
}

impl TxLocation {
    /// Value bytes in [`crate::Table::TxLocations`].
    pub fn encode(&self) -> [u8; 12] {
        let mut out = [0u8; 12];
        out[..8].copy_from_slice(&self.block_number.to_be_bytes());
        out[8..].copy_from_slice(&self.index.to_be_bytes());
        out
    }

    /// Decodes [`TxLocation::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Self, StorageError> {
        let bytes: [u8; 12] = bytes
            .try_into()
            .map_err(|_| StorageError::decode("tx_locations", "expected 12 bytes"))?;
        Ok(Self {
            block_number: u64::from_be_bytes(bytes[..8].try_into().expect("8 bytes")),
            index: u32::from_be_bytes(bytes[8..].try_into().expect("4 bytes")),
        })
    }
}

/// Decodes a 32-byte hash value.
pub(crate) fn decode_b256(table: &'static str, bytes: &[u8]) -> Result<B256, StorageError> {
    B256::try_from(bytes).map_err(|_| StorageError::decode(table, "expected 32 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u256_round_trip_trims_leading_zeros() {
        for value in [U256::ZERO, U256::from(1), U256::from(0x1234u64), U256::MAX] {
            let encoded = encode_u256(&value);
            assert!(encoded.first() != Some(&0));
            assert_eq!(decode_u256(&encoded).unwrap(), value);
        }
        assert!(decode_u256(&[1u8; 33]).is_err());
    }

    #[test]
    fn tx_location_round_trip() {
        let loc = TxLocation {
            block_number: 0x0102_0304_0506,
            index: 7,
        };
        assert_eq!(TxLocation::decode(&loc.encode()).unwrap(), loc);
        assert!(TxLocation::decode(&[0u8; 11]).is_err());
    }
}
