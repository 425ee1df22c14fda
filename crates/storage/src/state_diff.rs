//! What a block changed in the state, kept per block so the canonical flat state can move
//! forward (apply `after`) or back (apply `before`) across a reorganisation.

use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_rlp::{Decodable, Encodable, RlpDecodable, RlpEncodable};
use alloy_trie::TrieAccount;

/// The change of one storage slot.
#[derive(Debug, Clone, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct SlotDiff {
    /// The slot (as a 32-byte key, not hashed).
    pub slot: B256,
    /// Value before the block (zero = absent).
    pub before: U256,
    /// Value after the block (zero = absent).
    pub after: U256,
}

/// The change of one account and its storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountDiff {
    /// The account.
    pub address: Address,
    /// The account before the block (`None` = did not exist).
    pub before: Option<TrieAccount>,
    /// The account after the block (`None` = does not exist / was destroyed).
    pub after: Option<TrieAccount>,
    /// Whether the storage was cleared first (self-destruct or re-creation). When set, `storage`
    /// lists every slot that existed before, so the diff can still be undone.
    pub storage_wiped: bool,
    /// Changed slots, sorted by slot.
    pub storage: Vec<SlotDiff>,
}

/// Everything one block changed in the state, sorted by address. Deterministic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateDiff {
    /// Changed accounts, sorted by address.
    pub accounts: Vec<AccountDiff>,
    /// Bytecode first seen in this block: (code hash, code).
    pub new_code: Vec<(B256, Bytes)>,
}

#[derive(RlpEncodable, RlpDecodable)]
struct AccountDiffRlp {
    address: Address,
    before: Vec<TrieAccount>,
    after: Vec<TrieAccount>,
    storage_wiped: bool,
    storage: Vec<SlotDiff>,
}

#[derive(RlpEncodable, RlpDecodable)]
struct CodeRlp {
    hash: B256,
    code: Bytes,
}

#[derive(RlpEncodable, RlpDecodable)]
struct StateDiffRlp {
    accounts: Vec<AccountDiffRlp>,
    new_code: Vec<CodeRlp>,
}

impl StateDiff {
    /// RLP encoding stored in [`crate::Table::StateDiffs`].
    pub fn encode(&self) -> Vec<u8> {
        let rlp = StateDiffRlp {
            accounts: self
                .accounts
                .iter()
                .map(|a| AccountDiffRlp {
                    address: a.address,
                    before: a.before.into_iter().collect(),
                    after: a.after.into_iter().collect(),
                    storage_wiped: a.storage_wiped,
                    storage: a.storage.clone(),
                })
                .collect(),
            new_code: self
                .new_code
                .iter()
                .map(|(hash, code)| CodeRlp {
                    hash: *hash,
                    code: code.clone(),
                })
                .collect(),
        };
        let mut out = Vec::with_capacity(rlp.length());
        rlp.encode(&mut out);
        out
    }

    /// Decodes [`StateDiff::encode`].
    pub fn decode(mut bytes: &[u8]) -> Result<Self, alloy_rlp::Error> {
        let rlp = StateDiffRlp::decode(&mut bytes)?;
        let one = |v: Vec<TrieAccount>| -> Result<Option<TrieAccount>, alloy_rlp::Error> {
            match v.len() {
                0 => Ok(None),
                1 => Ok(v.into_iter().next()),
                _ => Err(alloy_rlp::Error::Custom(
                    "account diff side has more than one value",
                )),
            }
        };
        let mut accounts = Vec::with_capacity(rlp.accounts.len());
        for a in rlp.accounts {
            accounts.push(AccountDiff {
                address: a.address,
                before: one(a.before)?,
                after: one(a.after)?,
                storage_wiped: a.storage_wiped,
                storage: a.storage,
            });
        }
        Ok(Self {
            accounts,
            new_code: rlp.new_code.into_iter().map(|c| (c.hash, c.code)).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_trie::EMPTY_ROOT_HASH;

    #[test]
    fn state_diff_round_trip() {
        let account = TrieAccount {
            nonce: 3,
            balance: U256::from(10),
            storage_root: EMPTY_ROOT_HASH,
            code_hash: B256::repeat_byte(7),
        };
        let diff = StateDiff {
            accounts: vec![
                AccountDiff {
                    address: Address::repeat_byte(1),
                    before: None,
                    after: Some(account),
                    storage_wiped: false,
                    storage: vec![SlotDiff {
                        slot: B256::repeat_byte(2),
                        before: U256::ZERO,
                        after: U256::from(5),
                    }],
                },
                AccountDiff {
                    address: Address::repeat_byte(2),
                    before: Some(account),
                    after: None,
                    storage_wiped: true,
                    storage: vec![],
                },
            ],
            new_code: vec![(B256::repeat_byte(7), Bytes::from_static(&[0x60, 0x00]))],
        };
        assert_eq!(StateDiff::decode(&diff.encode()).unwrap(), diff);
        assert!(StateDiff::decode(&[0xc1]).is_err());
    }
}
