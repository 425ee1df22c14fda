//! Test support shared by this crate's tests and (behind the `test-utils` feature) other crates':
//! an in-memory [`PoolState`], fixed signing keys and a builder of signed transactions.

use std::collections::BTreeMap;

use alloy_consensus::{
    SignableTransaction, TxEip1559, TxEip2930, TxEip4844, TxEip7702, TxEnvelope, TxLegacy,
};
use alloy_eips::{
    eip2718::Encodable2718,
    eip2930::AccessList,
    eip7702::{Authorization, SignedAuthorization},
};
use alloy_primitives::{Address, Bytes, TxKind, B256, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;

use crate::{AccountInfo, PoolState};

/// Chain id the builders sign for by default.
pub const TEST_CHAIN_ID: u64 = 1337;

/// Account state held in a map; absent accounts have nonce 0 and no balance.
#[derive(Debug, Clone, Default)]
pub struct MemoryState {
    accounts: BTreeMap<Address, AccountInfo>,
    blob_rules: Option<fastevm_blobs::BlobRules>,
}

impl MemoryState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builder form of [`Self::set_account`].
    pub fn with_account(mut self, address: Address, nonce: u64, balance: U256) -> Self {
        self.set_account(address, nonce, balance);
        self
    }

    /// Every test signer `0..count` with nonce 0 and `balance`.
    pub fn funded(count: u64, balance: U256) -> Self {
        (0..count).fold(Self::new(), |state, index| {
            state.with_account(test_signer(index).address(), 0, balance)
        })
    }

    /// Builder: blob transactions are accepted under `rules`.
    pub fn with_blob_rules(mut self, rules: fastevm_blobs::BlobRules) -> Self {
        self.blob_rules = Some(rules);
        self
    }

    /// Sets an account's nonce and balance.
    pub fn set_account(&mut self, address: Address, nonce: u64, balance: U256) {
        self.accounts
            .insert(address, AccountInfo { nonce, balance });
    }
}

impl PoolState for MemoryState {
    fn account(&self, address: &Address) -> Result<AccountInfo, String> {
        Ok(self.accounts.get(address).copied().unwrap_or_default())
    }

    fn blob_rules(&self) -> Option<fastevm_blobs::BlobRules> {
        self.blob_rules
    }
}

/// A state whose every read fails.
#[derive(Debug, Clone, Copy, Default)]
pub struct UnavailableState;

impl PoolState for UnavailableState {
    fn account(&self, _address: &Address) -> Result<AccountInfo, String> {
        Err("state unavailable".into())
    }
}

/// The fixed test key number `index` (private key `index + 1`).
pub fn test_signer(index: u64) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&B256::from(U256::from(index + 1)))
        .expect("small non-zero scalars are valid keys")
}

/// Which transaction type a [`TxBuilder`] makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxType {
    /// Type 0 (`chain_id: None` makes it pre-EIP-155).
    Legacy,
    /// Type 1.
    Eip2930,
    /// Type 2.
    Eip1559,
    /// Type 3 (without sidecar).
    Eip4844,
    /// Type 4.
    Eip7702,
}

/// Builds signed transactions with plain defaults: an EIP-1559 call of 21,000 gas to
/// `0x…01`, max fee 100 wei, tip 10 wei, no value, on [`TEST_CHAIN_ID`].
#[derive(Debug, Clone)]
pub struct TxBuilder {
    tx_type: TxType,
    chain_id: Option<u64>,
    nonce: u64,
    gas_limit: u64,
    max_fee: u128,
    tip: u128,
    to: TxKind,
    value: U256,
    input: Bytes,
    access_list: AccessList,
    authorizations: Vec<SignedAuthorization>,
}

impl Default for TxBuilder {
    fn default() -> Self {
        Self {
            tx_type: TxType::Eip1559,
            chain_id: Some(TEST_CHAIN_ID),
            nonce: 0,
            gas_limit: 21_000,
            max_fee: 100,
            tip: 10,
            to: TxKind::Call(Address::with_last_byte(1)),
            value: U256::ZERO,
            input: Bytes::new(),
            access_list: AccessList::default(),
            authorizations: Vec::new(),
        }
    }
}

impl TxBuilder {
    /// An EIP-1559 transaction with the defaults.
    pub fn eip1559() -> Self {
        Self::default()
    }

    /// A transaction of `tx_type` with the defaults (legacy and EIP-2930 use `max_fee` as the
    /// gas price; EIP-7702 gets one authorization).
    pub fn of_type(tx_type: TxType) -> Self {
        let mut builder = Self {
            tx_type,
            ..Self::default()
        };
        if tx_type == TxType::Eip7702 {
            builder = builder.authorization(Address::with_last_byte(0xaa));
        }
        builder
    }

    /// Sets the chain id (`None` only makes sense for legacy transactions).
    pub fn chain_id(mut self, chain_id: Option<u64>) -> Self {
        self.chain_id = chain_id;
        self
    }

    /// Sets the nonce.
    pub fn nonce(mut self, nonce: u64) -> Self {
        self.nonce = nonce;
        self
    }

    /// Sets the gas limit.
    pub fn gas_limit(mut self, gas_limit: u64) -> Self {
        self.gas_limit = gas_limit;
        self
    }

    /// Sets max fee and max priority fee per gas.
    pub fn fees(mut self, max_fee: u128, tip: u128) -> Self {
        self.max_fee = max_fee;
        self.tip = tip;
        self
    }

    /// Sets the recipient.
    pub fn to(mut self, to: Address) -> Self {
        self.to = TxKind::Call(to);
        self
    }

    /// Makes it a contract creation.
    pub fn create(mut self) -> Self {
        self.to = TxKind::Create;
        self
    }

    /// Sets the value transferred.
    pub fn value(mut self, value: U256) -> Self {
        self.value = value;
        self
    }

    /// Sets the calldata (init code for a creation).
    pub fn input(mut self, input: impl Into<Bytes>) -> Self {
        self.input = input.into();
        self
    }

    /// Sets the access list (EIP-2930 and later types).
    pub fn access_list(mut self, access_list: AccessList) -> Self {
        self.access_list = access_list;
        self
    }

    /// Adds an EIP-7702 authorization delegating to `address` (signature not meaningful).
    pub fn authorization(mut self, address: Address) -> Self {
        let authorization = Authorization {
            chain_id: U256::from(TEST_CHAIN_ID),
            address,
            nonce: 0,
        };
        self.authorizations.push(SignedAuthorization::new_unchecked(
            authorization,
            0,
            U256::from(1),
            U256::from(1),
        ));
        self
    }

    /// Removes all EIP-7702 authorizations.
    pub fn no_authorizations(mut self) -> Self {
        self.authorizations.clear();
        self
    }

    /// Signs with `signer`.
    pub fn sign(self, signer: &PrivateKeySigner) -> TxEnvelope {
        let chain_id = self.chain_id.unwrap_or_default();
        let to = match self.to {
            TxKind::Call(to) => to,
            TxKind::Create => Address::ZERO,
        };
        match self.tx_type {
            TxType::Legacy => signed(
                TxLegacy {
                    chain_id: self.chain_id,
                    nonce: self.nonce,
                    gas_price: self.max_fee,
                    gas_limit: self.gas_limit,
                    to: self.to,
                    value: self.value,
                    input: self.input,
                },
                signer,
            ),
            TxType::Eip2930 => signed(
                TxEip2930 {
                    chain_id,
                    nonce: self.nonce,
                    gas_price: self.max_fee,
                    gas_limit: self.gas_limit,
                    to: self.to,
                    value: self.value,
                    access_list: self.access_list,
                    input: self.input,
                },
                signer,
            ),
            TxType::Eip1559 => signed(
                TxEip1559 {
                    chain_id,
                    nonce: self.nonce,
                    gas_limit: self.gas_limit,
                    max_fee_per_gas: self.max_fee,
                    max_priority_fee_per_gas: self.tip,
                    to: self.to,
                    value: self.value,
                    access_list: self.access_list,
                    input: self.input,
                },
                signer,
            ),
            TxType::Eip4844 => signed(
                TxEip4844 {
                    chain_id,
                    nonce: self.nonce,
                    gas_limit: self.gas_limit,
                    max_fee_per_gas: self.max_fee,
                    max_priority_fee_per_gas: self.tip,
                    to,
                    value: self.value,
                    access_list: self.access_list,
                    blob_versioned_hashes: vec![B256::with_last_byte(1)],
                    max_fee_per_blob_gas: 1,
                    input: self.input,
                },
                signer,
            ),
            TxType::Eip7702 => signed(
                TxEip7702 {
                    chain_id,
                    nonce: self.nonce,
                    gas_limit: self.gas_limit,
                    max_fee_per_gas: self.max_fee,
                    max_priority_fee_per_gas: self.tip,
                    to,
                    value: self.value,
                    access_list: self.access_list,
                    authorization_list: self.authorizations,
                    input: self.input,
                },
                signer,
            ),
        }
    }

    /// Signs with `signer` and returns the EIP-2718 encoding.
    pub fn raw(self, signer: &PrivateKeySigner) -> Vec<u8> {
        self.sign(signer).encoded_2718()
    }
}

/// Signs `tx` and wraps it in an envelope.
fn signed<T>(tx: T, signer: &PrivateKeySigner) -> TxEnvelope
where
    T: SignableTransaction<alloy_primitives::Signature>,
    TxEnvelope: From<alloy_consensus::Signed<T>>,
{
    let signature = signer
        .sign_hash_sync(&tx.signature_hash())
        .expect("local signing does not fail");
    TxEnvelope::from(tx.into_signed(signature))
}
