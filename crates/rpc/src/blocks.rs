//! Blocks, transactions and receipts: `eth_getBlockBy*`, `eth_getBlockTransactionCountBy*`,
//! `eth_getUncle*`, `eth_getBlockReceipts`, `eth_getTransactionBy*`, `eth_getTransactionReceipt`.
//! Unknown blocks, ommers and transactions answer `null`.

use crate::{
    block_id::StoredBlock,
    convert::{block_receipts, block_transaction, ommer_block, pending_transaction, rpc_block},
    EthRpc, RpcError,
};
use alloy_eips::BlockId;
use alloy_primitives::{B256, U64};
use alloy_rpc_types_eth::{Block, Transaction, TransactionReceipt};

impl EthRpc {
    /// The stored block `id` names, `None` if unknown.
    pub(crate) fn stored(&self, id: BlockId) -> Result<Option<StoredBlock>, RpcError> {
        match self.ctx.find_block(id)? {
            Some(block) => Ok(Some(self.ctx.stored_block(block)?)),
            None => Ok(None),
        }
    }

    /// The canonical block holding transaction `hash` and the transaction's index in it.
    pub(crate) fn canonical_location(
        &self,
        hash: B256,
    ) -> Result<Option<(StoredBlock, usize)>, RpcError> {
        let Some(location) = self.ctx.store.tx_location(&hash)? else {
            return Ok(None);
        };
        let Some(block) = self.stored(BlockId::number(location.block_number))? else {
            return Ok(None);
        };
        let index = location.index as usize;
        // The index is only trusted when it still points at this transaction.
        match block.body.transactions.get(index) {
            Some(tx) if *tx.tx_hash() == hash => Ok(Some((block, index))),
            _ => Ok(None),
        }
    }

    /// `eth_getBlockByNumber` / `eth_getBlockByHash`.
    pub(crate) fn block_by_id(&self, id: BlockId, full: bool) -> Result<Option<Block>, RpcError> {
        Ok(self.stored(id)?.map(|block| rpc_block(block, full)))
    }

    /// `eth_getBlockTransactionCountBy*`.
    pub(crate) fn transaction_count_in(&self, id: BlockId) -> Result<Option<U64>, RpcError> {
        let Some(block) = self.ctx.find_block(id)? else {
            return Ok(None);
        };
        let body = self
            .ctx
            .store
            .body(&block.hash)?
            .ok_or(RpcError::IncompleteBlock(block.hash))?;
        Ok(Some(U64::from(body.transactions.len())))
    }

    /// `eth_getUncleCountBy*`.
    pub(crate) fn uncle_count_in(&self, id: BlockId) -> Result<Option<U64>, RpcError> {
        Ok(self
            .stored(id)?
            .map(|block| U64::from(block.body.ommers.len())))
    }

    /// `eth_getUncleBy*AndIndex`: the ommer at `index` as a block of its own header (no
    /// transactions, no ommers), as geth answers.
    pub(crate) fn uncle_at(&self, id: BlockId, index: usize) -> Result<Option<Block>, RpcError> {
        Ok(self
            .stored(id)?
            .and_then(|block| block.body.ommers.get(index).cloned())
            .map(ommer_block))
    }

    /// `eth_getBlockReceipts`.
    pub(crate) fn receipts_of(
        &self,
        id: BlockId,
    ) -> Result<Option<Vec<TransactionReceipt>>, RpcError> {
        let Some(block) = self.stored(id)? else {
            return Ok(None);
        };
        let receipts = self.ctx.stored_receipts(&block)?;
        Ok(Some(block_receipts(&self.ctx.spec, &block, receipts)))
    }

    /// `eth_getTransactionByHash`: canonical transactions, then pool transactions.
    pub(crate) fn transaction_with_hash(
        &self,
        hash: B256,
    ) -> Result<Option<Transaction>, RpcError> {
        if let Some((block, index)) = self.canonical_location(hash)? {
            return Ok(block_transaction(&block, index));
        }
        let Some(pooled) = self.ctx.pool.get(&hash) else {
            return Ok(None);
        };
        let base_fee = self.ctx.next_base_fee()?;
        Ok(Some(pending_transaction(
            pooled.tx,
            pooled.sender,
            base_fee,
        )))
    }

    /// `eth_getTransactionByBlock*AndIndex`.
    pub(crate) fn transaction_at(
        &self,
        id: BlockId,
        index: usize,
    ) -> Result<Option<Transaction>, RpcError> {
        Ok(self
            .stored(id)?
            .and_then(|block| block_transaction(&block, index)))
    }

    /// `eth_getTransactionReceipt` (canonical transactions only).
    pub(crate) fn receipt_with_hash(
        &self,
        hash: B256,
    ) -> Result<Option<TransactionReceipt>, RpcError> {
        let Some((block, index)) = self.canonical_location(hash)? else {
            return Ok(None);
        };
        let receipts = self.ctx.stored_receipts(&block)?;
        Ok(block_receipts(&self.ctx.spec, &block, receipts)
            .into_iter()
            .nth(index))
    }
}
