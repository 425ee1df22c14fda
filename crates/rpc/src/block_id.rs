//! Block parameters: numbers, tags (`latest`, `safe`, `finalized`, `earliest`, `pending`) and
//! EIP-1898 objects resolved against the store, with geth's answers for unknown blocks.

use crate::{RpcContext, RpcError};
use alloy_consensus::{BlockBody, Header, ReceiptEnvelope, TxEnvelope};
use alloy_eips::{BlockId, BlockNumberOrTag, RpcBlockHash};
use alloy_primitives::{Address, B256};

/// A stored block header with its hash.
#[derive(Debug, Clone)]
pub(crate) struct BlockRef {
    /// Block hash.
    pub hash: B256,
    /// Header.
    pub header: Header,
}

/// Everything stored about a block.
#[derive(Debug, Clone)]
pub(crate) struct StoredBlock {
    pub hash: B256,
    pub header: Header,
    pub body: BlockBody<TxEnvelope>,
    pub senders: Vec<Address>,
}

impl RpcContext {
    /// The hash a block number or tag points at (`pending` is the head: FastEVM has no pending
    /// block), or `None` when no such block exists.
    pub(crate) fn tag_hash(&self, tag: BlockNumberOrTag) -> Result<Option<B256>, RpcError> {
        let store = &self.store;
        Ok(match tag {
            BlockNumberOrTag::Latest | BlockNumberOrTag::Pending => Some(store.head_hash()?),
            BlockNumberOrTag::Safe => store.safe_hash()?,
            BlockNumberOrTag::Finalized => store.finalized_hash()?,
            BlockNumberOrTag::Earliest => store.canonical_hash(0)?,
            BlockNumberOrTag::Number(n) => store.canonical_hash(n)?,
        })
    }

    /// The block `id` names, or `None` when it is unknown (what `eth_getBlockBy*` answer with
    /// `null`). Blocks by hash may be on a side branch unless `requireCanonical` is set.
    pub(crate) fn find_block(&self, id: BlockId) -> Result<Option<BlockRef>, RpcError> {
        match self.resolve(id) {
            Ok(block) => Ok(Some(block)),
            Err(RpcError::HeaderNotFound | RpcError::HashNotFound | RpcError::NotCanonical) => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The block `id` names, failing with geth's errors when it is unknown (what state methods
    /// answer): "header not found" by number or tag, "header for hash not found" by hash, "hash is
    /// not currently canonical" for a non-canonical EIP-1898 `requireCanonical` hash.
    pub(crate) fn resolve(&self, id: BlockId) -> Result<BlockRef, RpcError> {
        match id {
            BlockId::Number(tag) => {
                let hash = self.tag_hash(tag)?.ok_or(RpcError::HeaderNotFound)?;
                let header = self.store.header(&hash)?.ok_or(RpcError::HeaderNotFound)?;
                Ok(BlockRef { hash, header })
            }
            BlockId::Hash(RpcBlockHash {
                block_hash,
                require_canonical,
            }) => {
                let header = self
                    .store
                    .header(&block_hash)?
                    .ok_or(RpcError::HashNotFound)?;
                if require_canonical == Some(true) && !self.store.is_canonical(&block_hash)? {
                    return Err(RpcError::NotCanonical);
                }
                Ok(BlockRef {
                    hash: block_hash,
                    header,
                })
            }
        }
    }

    /// Header, body and senders of a stored block.
    pub(crate) fn stored_block(&self, block: BlockRef) -> Result<StoredBlock, RpcError> {
        let body = self
            .store
            .body(&block.hash)?
            .ok_or(RpcError::IncompleteBlock(block.hash))?;
        let senders = self
            .store
            .senders(&block.hash)?
            .ok_or(RpcError::IncompleteBlock(block.hash))?;
        if senders.len() != body.transactions.len() {
            return Err(RpcError::IncompleteBlock(block.hash));
        }
        Ok(StoredBlock {
            hash: block.hash,
            header: block.header,
            body,
            senders,
        })
    }

    /// Receipts of a stored block (one per transaction).
    pub(crate) fn stored_receipts(
        &self,
        block: &StoredBlock,
    ) -> Result<Vec<ReceiptEnvelope>, RpcError> {
        let receipts = self
            .store
            .receipts(&block.hash)?
            .ok_or(RpcError::IncompleteBlock(block.hash))?;
        if receipts.len() != block.body.transactions.len() {
            return Err(RpcError::IncompleteBlock(block.hash));
        }
        Ok(receipts)
    }

    /// Base fee of the block after the head (`None` before London).
    pub(crate) fn next_base_fee(&self) -> Result<Option<u64>, RpcError> {
        let head = self.store.head_header()?;
        Ok(fastevm_executor::header_validation::expected_base_fee(
            &self.spec, &head,
        ))
    }

    /// The head's block number.
    pub(crate) fn head_number(&self) -> Result<u64, RpcError> {
        Ok(self.store.head_header()?.number)
    }
}

/// A block parameter that defaults to `latest` when omitted.
pub(crate) fn or_latest(id: Option<BlockId>) -> BlockId {
    id.unwrap_or(BlockId::Number(BlockNumberOrTag::Latest))
}
