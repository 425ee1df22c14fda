//! The EVM's view of the state after a given block: revm `DatabaseRef` over the chain store.
//!
//! When the block is the canonical head, reads go to the flat state tables (one lookup, cached);
//! for any other retained block (side branches, history) they walk that block's state trie.

use crate::{
    trie_prefetch::{TouchSink, TouchedKey},
    ExecutorError,
};
use alloy_primitives::{keccak256, map::HashMap, Address, B256, U256};
use alloy_rlp::Decodable;
use alloy_trie::{TrieAccount, EMPTY_ROOT_HASH, KECCAK_EMPTY};
use fastevm_storage::ChainStore;
use parking_lot::Mutex;
use revm::{
    bytecode::Bytecode,
    primitives::{StorageKey, StorageValue},
    state::AccountInfo,
    DatabaseRef,
};

/// Where reads come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// The flat tables (the block is the canonical head).
    Flat,
    /// The state trie with this root.
    Trie(B256),
}

/// The state after block `block_hash`, readable by revm.
#[derive(Debug)]
pub struct StateAtBlock<'a> {
    store: &'a ChainStore,
    source: Source,
    /// The block whose post-state this is; BLOCKHASH walks back from it.
    block_hash: B256,
    block_number: u64,
    block_is_canonical: bool,
    /// Storage roots of accounts already read from the trie.
    storage_roots: Mutex<HashMap<Address, B256>>,
    /// Where flat reads are reported for trie prefetching, if anywhere.
    touches: Option<TouchSink>,
}

impl<'a> StateAtBlock<'a> {
    /// State after the stored block `block_hash`.
    pub fn new(store: &'a ChainStore, block_hash: B256) -> Result<Self, ExecutorError> {
        let header = store
            .header(&block_hash)?
            .ok_or(ExecutorError::UnknownParent(block_hash))?;
        let head = store.head_hash()?;
        let source = if head == block_hash {
            Source::Flat
        } else {
            Source::Trie(header.state_root)
        };
        let block_is_canonical = store.is_canonical(&block_hash)?;
        Ok(Self {
            store,
            source,
            block_hash,
            block_number: header.number,
            block_is_canonical,
            storage_roots: Mutex::new(HashMap::default()),
            touches: None,
        })
    }

    /// Reports every account and slot read from the flat tables to `sink`, so that their trie
    /// paths can be warmed before the state root is computed (see `crate::trie_prefetch`).
    pub(crate) fn reporting_touches(mut self, sink: Option<TouchSink>) -> Self {
        self.touches = sink;
        self
    }

    fn touched(&self, key: TouchedKey) {
        if let (Source::Flat, Some(sink)) = (self.source, &self.touches) {
            // The prefetcher may have stopped; a lost hint costs nothing.
            let _ = sink.send(key);
        }
    }

    /// Whether reads go to the flat tables of the canonical head.
    pub fn is_head(&self) -> bool {
        self.source == Source::Flat
    }

    /// The account with its storage root, as the state trie holds it.
    pub fn trie_account(&self, address: &Address) -> Result<Option<TrieAccount>, ExecutorError> {
        match self.source {
            Source::Flat => Ok(self.store.account(address)?),
            Source::Trie(root) => {
                let Some(raw) = fastevm_trie::get(self.store, root, &keccak256(address))? else {
                    return Ok(None);
                };
                let account = TrieAccount::decode(&mut raw.as_ref())
                    .map_err(|e| ExecutorError::StateRead(format!("account {address}: {e}")))?;
                self.storage_roots
                    .lock()
                    .insert(*address, account.storage_root);
                Ok(Some(account))
            }
        }
    }

    /// Every non-zero storage slot of an account (needed when a block wipes its storage).
    pub fn storage_slots(&self, address: &Address) -> Result<Vec<(B256, U256)>, ExecutorError> {
        match self.source {
            Source::Flat => Ok(self.store.storage_slots(address)?),
            Source::Trie(_) => {
                let root = self.trie_account(address)?.map(|a| a.storage_root);
                match root {
                    None => Ok(vec![]),
                    Some(root) if root == EMPTY_ROOT_HASH => Ok(vec![]),
                    Some(_) => Err(ExecutorError::Unsupported(format!(
                        "wiping the storage of {address} on a non-head parent state"
                    ))),
                }
            }
        }
    }

    fn storage_value(&self, address: &Address, slot: &B256) -> Result<U256, ExecutorError> {
        match self.source {
            Source::Flat => Ok(self.store.storage(address, slot)?),
            Source::Trie(_) => {
                let cached = self.storage_roots.lock().get(address).copied();
                let root = match cached {
                    Some(root) => root,
                    None => match self.trie_account(address)? {
                        Some(account) => account.storage_root,
                        None => return Ok(U256::ZERO),
                    },
                };
                if root == EMPTY_ROOT_HASH {
                    return Ok(U256::ZERO);
                }
                let Some(raw) = fastevm_trie::get(self.store, root, &keccak256(slot))? else {
                    return Ok(U256::ZERO);
                };
                U256::decode(&mut raw.as_ref())
                    .map_err(|e| ExecutorError::StateRead(format!("slot {slot} of {address}: {e}")))
            }
        }
    }
}

impl DatabaseRef for StateAtBlock<'_> {
    type Error = ExecutorError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        self.touched(TouchedKey::Account(address));
        Ok(self.trie_account(&address)?.map(|a| AccountInfo {
            balance: a.balance,
            nonce: a.nonce,
            code_hash: a.code_hash,
            code: None,
            ..Default::default()
        }))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        if code_hash == KECCAK_EMPTY || code_hash == B256::ZERO {
            return Ok(Bytecode::default());
        }
        let code = self
            .store
            .code(&code_hash)?
            .ok_or_else(|| ExecutorError::StateRead(format!("missing bytecode {code_hash}")))?;
        Bytecode::new_raw_checked(code)
            .map_err(|e| ExecutorError::StateRead(format!("bytecode {code_hash}: {e:?}")))
    }

    fn storage_ref(
        &self,
        address: Address,
        index: StorageKey,
    ) -> Result<StorageValue, Self::Error> {
        let slot = B256::from(index);
        self.touched(TouchedKey::Slot(address, slot));
        self.storage_value(&address, &slot)
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        if number > self.block_number {
            return Ok(B256::ZERO);
        }
        if self.block_is_canonical {
            return Ok(self.store.canonical_hash(number)?.unwrap_or_default());
        }
        // Side branch: walk back through parents (BLOCKHASH reaches at most 256 blocks back).
        let mut hash = self.block_hash;
        let mut current = self.block_number;
        while current > number {
            let header = self
                .store
                .header(&hash)?
                .ok_or(ExecutorError::UnknownParent(hash))?;
            hash = header.parent_hash;
            current -= 1;
            if self.store.is_canonical(&hash)? {
                return Ok(self.store.canonical_hash(number)?.unwrap_or_default());
            }
        }
        Ok(hash)
    }
}
