//! `debug_getRawBlock`, `debug_getRawHeader`, `debug_getRawReceipts`,
//! `debug_getRawTransaction`: consensus encodings of stored data; `debug_getBadBlocks` and
//! `debug_getRawBlockAccessList` (never active) beside them.

use crate::{
    api::DebugRawApiServer, bad_blocks::BadBlockInfo, block_id::StoredBlock, eth::rpc,
    params::GethParam, EthRpc, RpcError,
};
use alloy_consensus::{Block, TxEnvelope};
use alloy_eips::{eip2718::Encodable2718, BlockId};
use alloy_primitives::{Bytes, B256};
use jsonrpsee::core::RpcResult;

impl EthRpc {
    /// The block a raw-data method asks for (argument 0); unknown blocks are an error, as geth.
    fn raw_target(&self, block: &GethParam<BlockId>) -> Result<StoredBlock, RpcError> {
        let id = block.decode(0)?;
        self.stored(id)?
            .ok_or_else(|| RpcError::Server(format!("block {id} not found")))
    }
}

impl DebugRawApiServer for EthRpc {
    fn raw_block(&self, block: GethParam<BlockId>) -> RpcResult<Bytes> {
        rpc(self.raw_target(&block).map(|b| {
            let block = Block::<TxEnvelope> {
                header: b.header,
                body: b.body,
            };
            alloy_rlp::encode(&block).into()
        }))
    }

    fn raw_header(&self, block: GethParam<BlockId>) -> RpcResult<Bytes> {
        rpc(self
            .raw_target(&block)
            .map(|b| alloy_rlp::encode(&b.header).into()))
    }

    fn raw_receipts(&self, block: GethParam<BlockId>) -> RpcResult<Vec<Bytes>> {
        rpc(self.raw_target(&block).and_then(|b| {
            let receipts = self.ctx.stored_receipts(&b)?;
            Ok(receipts.iter().map(|r| r.encoded_2718().into()).collect())
        }))
    }

    fn raw_transaction(&self, hash: B256) -> RpcResult<Bytes> {
        let found = rpc(self.transaction_with_hash(hash))?;
        Ok(found
            .map(|tx| tx.inner.into_inner().encoded_2718().into())
            .unwrap_or_default())
    }

    fn raw_block_access_list(&self, block: GethParam<BlockId>) -> RpcResult<Bytes> {
        rpc(block
            .decode(0)
            .and_then(|_| Err(RpcError::block_access_lists_inactive())))
    }

    fn bad_blocks(&self) -> RpcResult<Vec<BadBlockInfo>> {
        Ok(self.bad_block_infos())
    }
}
