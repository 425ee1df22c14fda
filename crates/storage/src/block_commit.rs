//! Writing blocks: everything one block writes is one group of writes (readers see all of it at
//! once, the disk gets it in one atomic RocksDB batch), and so is every move of the canonical
//! head (including reorganisations).

use crate::{
    codec::{block_number_key, encode_account, encode_u256, storage_key, TxLocation},
    persistence::StagedWrites,
    ChainStore, MetaKey, SafeAndFinalized, StateDiff, StorageError, Table,
};
use alloy_consensus::{BlockBody, Header, ReceiptEnvelope, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, B256};
use alloy_rlp::Encodable;
use std::sync::Arc;

/// A block's body and state diff: a block still held in memory, or read back from the store.
enum BlockParts {
    Shared(Arc<ExecutedBlock>),
    Owned(BlockBody<TxEnvelope>, StateDiff),
}

impl BlockParts {
    fn body(&self) -> &BlockBody<TxEnvelope> {
        match self {
            BlockParts::Shared(block) => &block.body,
            BlockParts::Owned(body, _) => body,
        }
    }

    fn diff(&self) -> &StateDiff {
        match self {
            BlockParts::Shared(block) => &block.diff,
            BlockParts::Owned(_, diff) => diff,
        }
    }
}

/// A block that was executed and validated, with everything needed to store it.
#[derive(Debug, Clone)]
pub struct ExecutedBlock {
    /// Block hash (keccak of the RLP header).
    pub hash: B256,
    /// The header.
    pub header: Header,
    /// Transactions, ommers and withdrawals.
    pub body: BlockBody<TxEnvelope>,
    /// Recovered sender of each transaction.
    pub senders: Vec<Address>,
    /// Receipt of each transaction.
    pub receipts: Vec<ReceiptEnvelope>,
    /// What the block changed in the state.
    pub diff: StateDiff,
    /// Trie nodes created by the block's state root computation.
    pub trie_nodes: Vec<(B256, Bytes)>,
}

impl ChainStore {
    /// Stores an executed block. With `canonical`, the block must extend the canonical head and
    /// becomes the new head (flat state, canonical index and tx lookups move with it); otherwise it
    /// is kept as a side-branch block that a later [`ChainStore::set_canonical_head`] can adopt.
    /// All of it is one atomic write.
    pub fn commit_block(&self, block: &ExecutedBlock, canonical: bool) -> Result<(), StorageError> {
        let mut batch = StagedWrites::default();
        self.put_block_data(&mut batch, block);
        let _guard = self.state_lock.write();
        if canonical {
            let head = self.head_hash()?;
            if block.header.parent_hash != head {
                return Err(StorageError::NotOnHead {
                    block: block.hash,
                    parent: block.header.parent_hash,
                    head,
                });
            }
            self.put_apply(
                &mut batch,
                block.hash,
                block.header.number,
                &block.body,
                &block.diff,
            );
            batch.put(Table::Metadata, MetaKey::Head.key(), block.hash.to_vec());
        }
        self.persist(batch)?;
        self.cache_block_data(block);
        if canonical {
            self.cache_apply(&block.diff);
        }
        Ok(())
    }

    /// Stores the genesis block of a fresh database: its state, header, canonical index and every
    /// chain pointer (head = safe = finalized = genesis), plus the chain configuration.
    /// Returns once it is on disk, whatever the store's [`crate::Persistence`].
    pub fn commit_genesis(
        &self,
        block: &ExecutedBlock,
        chain_config_json: &[u8],
    ) -> Result<(), StorageError> {
        let mut batch = StagedWrites::bulk();
        self.put_block_data(&mut batch, block);
        let _guard = self.state_lock.write();
        self.put_apply(
            &mut batch,
            block.hash,
            block.header.number,
            &block.body,
            &block.diff,
        );
        for key in [
            MetaKey::Genesis,
            MetaKey::Head,
            MetaKey::Safe,
            MetaKey::Finalized,
        ] {
            batch.put(Table::Metadata, key.key(), block.hash.to_vec());
        }
        batch.put(
            Table::Metadata,
            MetaKey::ChainConfig.key(),
            chain_config_json.to_vec(),
        );
        // A chain is never left without its genesis: on disk before returning.
        self.persist_now(batch)?;
        self.cache.invalidate_state();
        Ok(())
    }

    /// Makes the stored block `new_head` the canonical head: undoes canonical blocks above the
    /// common ancestor and applies the new branch, in one atomic write. Returns the hashes of the
    /// blocks that left the canonical chain (newest first) and of those that joined (oldest first).
    pub fn set_canonical_head(
        &self,
        new_head: B256,
    ) -> Result<(Vec<B256>, Vec<B256>), StorageError> {
        self.set_canonical_head_using(new_head, &|_| None, None)
    }

    /// [`ChainStore::set_canonical_head`], taking the bodies and state diffs of blocks that
    /// `known` still holds in memory (blocks just executed) instead of reading them back, and
    /// recording `pointers` (the forkchoice's safe and finalized blocks, if given) in the same
    /// atomic write.
    pub fn set_canonical_head_using(
        &self,
        new_head: B256,
        known: &dyn Fn(&B256) -> Option<Arc<ExecutedBlock>>,
        pointers: Option<SafeAndFinalized>,
    ) -> Result<(Vec<B256>, Vec<B256>), StorageError> {
        let _guard = self.state_lock.write();
        let old_head = self.head_hash()?;
        if old_head == new_head {
            if let Some(p) = pointers {
                self.set_safe_and_finalized(p.safe, p.finalized)?;
            }
            return Ok((vec![], vec![]));
        }
        // Walk the new branch back to the canonical chain.
        let mut branch = Vec::new();
        let mut cursor = new_head;
        let ancestor_number = loop {
            let header = self
                .header(&cursor)?
                .ok_or(StorageError::MissingBlock(cursor))?;
            if self.canonical_hash(header.number)? == Some(cursor) {
                break header.number;
            }
            branch.push((cursor, header));
            cursor = branch.last().expect("just pushed").1.parent_hash;
        };
        let old_head_number = self
            .header(&old_head)?
            .ok_or(StorageError::MissingBlock(old_head))?
            .number;

        let mut batch = StagedWrites::default();
        let mut removed = Vec::new();
        let mut undone = Vec::new();
        for number in (ancestor_number + 1..=old_head_number).rev() {
            let hash = self
                .canonical_hash(number)?
                .ok_or(StorageError::MissingBlock(B256::ZERO))?;
            let parts = self.block_parts(&hash, known)?;
            self.put_undo(&mut batch, number, parts.body(), parts.diff());
            removed.push(hash);
            undone.push(parts);
        }
        let mut added = Vec::new();
        let mut applied = Vec::new();
        for (hash, header) in branch.into_iter().rev() {
            let parts = self.block_parts(&hash, known)?;
            self.put_apply(&mut batch, hash, header.number, parts.body(), parts.diff());
            added.push(hash);
            applied.push(parts);
        }
        batch.put(Table::Metadata, MetaKey::Head.key(), new_head.to_vec());
        if let Some(p) = pointers {
            p.put(&mut batch);
        }
        self.persist(batch)?;
        // The caches follow the flat state: undo newest first, then apply oldest first. Every key
        // a diff touches is set to its new value; keys no diff touches did not change.
        for parts in &undone {
            self.cache_undo(parts.diff());
        }
        for parts in &applied {
            self.cache_apply(parts.diff());
        }
        Ok((removed, added))
    }

    /// The body and state diff of a stored block, from memory when `known` has the block.
    fn block_parts(
        &self,
        hash: &B256,
        known: &dyn Fn(&B256) -> Option<Arc<ExecutedBlock>>,
    ) -> Result<BlockParts, StorageError> {
        if let Some(block) = known(hash) {
            return Ok(BlockParts::Shared(block));
        }
        let diff = self.state_diff(hash)?;
        let body = self.body(hash)?.ok_or(StorageError::MissingBlock(*hash))?;
        Ok(BlockParts::Owned(body, diff))
    }

    /// The stored state diff of a block.
    pub fn state_diff(&self, hash: &B256) -> Result<StateDiff, StorageError> {
        let raw = self
            .get(Table::StateDiffs, hash.as_slice())?
            .ok_or(StorageError::MissingStateDiff(*hash))?;
        StateDiff::decode(&raw).map_err(|e| StorageError::decode("state_diffs", e.to_string()))
    }

    /// Block data that does not depend on canonicality.
    fn put_block_data(&self, batch: &mut StagedWrites, block: &ExecutedBlock) {
        let key = block.hash.as_slice();
        let mut header = Vec::with_capacity(block.header.length());
        block.header.encode(&mut header);
        batch.put(Table::Headers, key, header);
        let mut body = Vec::with_capacity(block.body.length());
        block.body.encode(&mut body);
        batch.put(Table::Bodies, key, body);
        let senders: Vec<u8> = block.senders.iter().flat_map(|a| a.0 .0).collect();
        batch.put(Table::Senders, key, senders);
        let mut receipts = Vec::new();
        block.receipts.encode(&mut receipts);
        batch.put(Table::Receipts, key, receipts);
        batch.put(Table::StateDiffs, key, block.diff.encode());
        for (hash, code) in &block.diff.new_code {
            batch.put(Table::Bytecode, hash.as_slice(), code.clone());
        }
        for (hash, node) in &block.trie_nodes {
            batch.put(Table::TrieNodes, hash.as_slice(), node.clone());
        }
    }

    /// Moves the flat state and canonical indexes forward over a block.
    fn put_apply(
        &self,
        batch: &mut StagedWrites,
        hash: B256,
        number: u64,
        body: &BlockBody<TxEnvelope>,
        diff: &StateDiff,
    ) {
        for account in &diff.accounts {
            self.put_account(batch, &account.address, account.after.as_ref());
            for slot in &account.storage {
                self.put_slot(batch, &account.address, &slot.slot, slot.after);
            }
        }
        batch.put(
            Table::CanonicalHashes,
            &block_number_key(number),
            hash.to_vec(),
        );
        for (index, tx) in body.transactions.iter().enumerate() {
            let loc = TxLocation {
                block_number: number,
                index: index as u32,
            };
            batch.put(
                Table::TxLocations,
                tx.trie_hash().as_slice(),
                loc.encode().to_vec(),
            );
        }
    }

    /// Moves the flat state and canonical indexes back over a block.
    fn put_undo(
        &self,
        batch: &mut StagedWrites,
        number: u64,
        body: &BlockBody<TxEnvelope>,
        diff: &StateDiff,
    ) {
        for account in &diff.accounts {
            self.put_account(batch, &account.address, account.before.as_ref());
            for slot in &account.storage {
                self.put_slot(batch, &account.address, &slot.slot, slot.before);
            }
        }
        batch.delete(Table::CanonicalHashes, &block_number_key(number));
        for tx in &body.transactions {
            batch.delete(Table::TxLocations, tx.trie_hash().as_slice());
        }
    }

    fn put_account(
        &self,
        batch: &mut StagedWrites,
        address: &Address,
        account: Option<&alloy_trie::TrieAccount>,
    ) {
        match account {
            Some(account) => {
                batch.put(Table::Accounts, address.as_slice(), encode_account(account))
            }
            None => batch.delete(Table::Accounts, address.as_slice()),
        }
    }

    fn put_slot(
        &self,
        batch: &mut StagedWrites,
        address: &Address,
        slot: &B256,
        value: alloy_primitives::U256,
    ) {
        let key = storage_key(address, slot);
        if value.is_zero() {
            batch.delete(Table::Storage, &key);
        } else {
            batch.put(Table::Storage, &key, encode_u256(&value));
        }
    }

    /// Puts the header of a stored block into the header cache. (The trie nodes its state root
    /// created are cached once they are on disk, see [`ChainStore::persist`]; until then readers
    /// find them among the staged writes.)
    fn cache_block_data(&self, block: &ExecutedBlock) {
        self.cache.headers.insert(block.hash, block.header.clone());
    }

    /// Updates cached canonical state after a backward move over a block (caller holds the state
    /// lock).
    fn cache_undo(&self, diff: &StateDiff) {
        self.cache_set(diff, false);
    }

    /// Updates cached canonical state after a forward move (caller holds the state lock).
    fn cache_apply(&self, diff: &StateDiff) {
        self.cache_set(diff, true);
    }

    /// Sets every account and slot `diff` touches to its value after (`forward`) or before the
    /// block.
    fn cache_set(&self, diff: &StateDiff, forward: bool) {
        for account in &diff.accounts {
            let value = if forward {
                account.after
            } else {
                account.before
            };
            self.cache.accounts.insert(account.address, value);
            for slot in &account.storage {
                let value = if forward { slot.after } else { slot.before };
                self.cache
                    .storage
                    .insert((account.address, slot.slot), value);
            }
        }
    }
}
