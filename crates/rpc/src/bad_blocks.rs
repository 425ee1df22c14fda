//! `debug_getBadBlocks`: the blocks the engine refused, as geth reports them (the block with
//! full transactions, its hash and its RLP).

use crate::{block_id::StoredBlock, convert::rpc_block, EthRpc};
use alloy_consensus::transaction::SignerRecoverable;
use alloy_primitives::{Bytes, B256};
use alloy_rpc_types_eth::Block;
use fastevm_engine::BadBlock;
use serde::{Deserialize, Serialize};

/// One entry of `debug_getBadBlocks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BadBlockInfo {
    /// The block, with full transactions (a sender that cannot be recovered shows as zero).
    pub block: Block,
    /// Its hash.
    pub hash: B256,
    /// Its RLP encoding.
    pub rlp: Bytes,
}

impl From<BadBlock> for BadBlockInfo {
    fn from(bad: BadBlock) -> Self {
        let rlp = alloy_rlp::encode(&*bad.block).into();
        let block = std::sync::Arc::unwrap_or_clone(bad.block);
        let senders = block
            .body
            .transactions
            .iter()
            .map(|tx| tx.recover_signer().unwrap_or_default())
            .collect();
        let stored = StoredBlock {
            hash: bad.hash,
            header: block.header,
            body: block.body,
            senders,
        };
        Self {
            block: rpc_block(stored, true),
            hash: bad.hash,
            rlp,
        }
    }
}

impl EthRpc {
    /// The engine's bad blocks, newest first.
    pub(crate) fn bad_block_infos(&self) -> Vec<BadBlockInfo> {
        self.ctx
            .bad_blocks
            .newest_first()
            .into_iter()
            .map(BadBlockInfo::from)
            .collect()
    }
}
