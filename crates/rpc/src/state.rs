//! State reads at any retained block: balance, code, storage, nonce (with the pool for
//! `pending`), several slots at once, and EIP-1186 proofs.

use crate::{
    block_id::{or_latest, BlockRef},
    EthRpc, RpcError,
};
use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::{hex, Address, Bytes, B256, U256};
use alloy_rpc_types_eth::EIP1186AccountProofResponse;
use alloy_serde::JsonStorageKey;
use alloy_trie::{TrieAccount, KECCAK_EMPTY};
use fastevm_call::{account_proof, CallContext};
use fastevm_executor::StateAtBlock;
use revm::DatabaseRef;
use std::collections::BTreeMap;

/// Most slots one `eth_getStorageValues` call may read.
pub const MAX_STORAGE_VALUES: usize = 1024;
/// Most slots one `eth_getProof` call may prove.
pub const MAX_PROOF_KEYS: usize = 1024;

impl EthRpc {
    /// The block `id` names (default `latest`) and its post-state.
    fn state(&self, id: Option<BlockId>) -> Result<(BlockRef, StateAtBlock<'_>), RpcError> {
        let block = self.ctx.resolve(or_latest(id))?;
        let state = StateAtBlock::new(&self.ctx.store, block.hash)?;
        Ok((block, state))
    }

    fn account_at(
        &self,
        address: Address,
        id: Option<BlockId>,
    ) -> Result<Option<TrieAccount>, RpcError> {
        let (_, state) = self.state(id)?;
        Ok(state.trie_account(&address)?)
    }

    /// `eth_getBalance`.
    pub(crate) fn balance_at(
        &self,
        address: Address,
        id: Option<BlockId>,
    ) -> Result<U256, RpcError> {
        Ok(self
            .account_at(address, id)?
            .map(|a| a.balance)
            .unwrap_or_default())
    }

    /// `eth_getCode` (an EIP-7702 account answers its delegation designator).
    pub(crate) fn code_at(&self, address: Address, id: Option<BlockId>) -> Result<Bytes, RpcError> {
        let Some(account) = self.account_at(address, id)? else {
            return Ok(Bytes::new());
        };
        if account.code_hash == KECCAK_EMPTY {
            return Ok(Bytes::new());
        }
        Ok(self.ctx.store.code(&account.code_hash)?.unwrap_or_default())
    }

    /// `eth_getStorageAt`.
    pub(crate) fn storage_slot_at(
        &self,
        address: Address,
        slot: &str,
        id: Option<BlockId>,
    ) -> Result<B256, RpcError> {
        let slot = parse_storage_key(slot)?;
        let (_, state) = self.state(id)?;
        let value = state.storage_ref(address, U256::from_be_bytes(slot.0))?;
        Ok(B256::from(value))
    }

    /// `eth_getStorageValues`.
    pub(crate) fn storage_values_at(
        &self,
        slots: BTreeMap<Address, Vec<JsonStorageKey>>,
        id: Option<BlockId>,
    ) -> Result<BTreeMap<Address, Vec<B256>>, RpcError> {
        let total: usize = slots.values().map(Vec::len).sum();
        if total > MAX_STORAGE_VALUES {
            return Err(RpcError::invalid_params(format!(
                "too many slots requested: {total} (max {MAX_STORAGE_VALUES})"
            )));
        }
        let (_, state) = self.state(id)?;
        slots
            .into_iter()
            .map(|(address, keys)| {
                let values = keys
                    .iter()
                    .map(|key| {
                        let value =
                            state.storage_ref(address, U256::from_be_bytes(key.as_b256().0))?;
                        Ok(B256::from(value))
                    })
                    .collect::<Result<Vec<_>, RpcError>>()?;
                Ok((address, values))
            })
            .collect()
    }

    /// `eth_getTransactionCount`: the account nonce, or with `pending` the next nonce after the
    /// sender's executable pool transactions.
    pub(crate) fn nonce_at(&self, address: Address, id: Option<BlockId>) -> Result<u64, RpcError> {
        let nonce = self
            .account_at(address, id)?
            .map(|a| a.nonce)
            .unwrap_or_default();
        if id == Some(BlockId::Number(BlockNumberOrTag::Pending)) {
            let pooled = self.ctx.pool.pending_nonce(&address).unwrap_or_default();
            return Ok(nonce.max(pooled));
        }
        Ok(nonce)
    }

    /// `eth_getProof`.
    pub(crate) fn proof_at(
        &self,
        address: Address,
        keys: Vec<JsonStorageKey>,
        id: Option<BlockId>,
    ) -> Result<EIP1186AccountProofResponse, RpcError> {
        if keys.len() > MAX_PROOF_KEYS {
            return Err(RpcError::invalid_params(format!(
                "too many storage keys: {} (max {MAX_PROOF_KEYS})",
                keys.len()
            )));
        }
        let block = self.ctx.resolve(or_latest(id))?;
        let slots: Vec<B256> = keys.iter().map(JsonStorageKey::as_b256).collect();
        let ctx = CallContext {
            store: &self.ctx.store,
            spec: &self.ctx.spec,
            header: &block.header,
            block_hash: block.hash,
        };
        let mut proof = account_proof(&ctx, address, &slots)?;
        // Answer the keys in the form they were asked (geth: "0x0" stays "0x0").
        for (storage, key) in proof.storage_proof.iter_mut().zip(keys) {
            storage.key = key;
        }
        Ok(proof)
    }
}

/// Decodes a storage slot as geth does: hex with or without `0x`, at most 32 bytes, left-padded.
pub(crate) fn parse_storage_key(raw: &str) -> Result<B256, RpcError> {
    let digits = raw
        .strip_prefix("0x")
        .or_else(|| raw.strip_prefix("0X"))
        .unwrap_or(raw);
    if digits.len() > 64 {
        return Err(RpcError::invalid_params(
            "hex string too long, want at most 32 bytes",
        ));
    }
    let padded = format!("{digits:0>64}");
    let bytes = hex::decode(&padded)
        .map_err(|_| RpcError::invalid_params(format!("invalid hex in storage key: {raw:?}")))?;
    Ok(B256::from_slice(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_keys_parse_like_geth() {
        assert_eq!(parse_storage_key("0x0").unwrap(), B256::ZERO);
        assert_eq!(parse_storage_key("01").unwrap(), B256::with_last_byte(1));
        assert_eq!(
            parse_storage_key("0xasdf").unwrap_err().to_string(),
            "invalid hex in storage key: \"0xasdf\""
        );
        assert!(parse_storage_key(&format!("0x{}", "0".repeat(65))).is_err());
    }
}
