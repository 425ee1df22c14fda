//! The few `eth_*` methods consensus clients call on the authenticated port (as geth and reth
//! serve them there): chain id, head number, and blocks with transaction hashes.

use alloy_consensus::TxEnvelope;
use alloy_eips::BlockNumberOrTag;
use alloy_primitives::{B256, U256, U64};
use alloy_rpc_types_eth::{Block, BlockTransactions, Header};
use fastevm_engine::Engine;
use fastevm_engine_api::AuthEthApiServer;
use jsonrpsee::{core::RpcResult, types::ErrorObjectOwned};
use std::sync::Arc;

/// Serves [`AuthEthApiServer`] from the engine's store.
#[derive(Debug, Clone)]
pub struct AuthEth {
    engine: Arc<Engine>,
}

impl AuthEth {
    /// Over `engine`.
    pub fn new(engine: Arc<Engine>) -> Self {
        Self { engine }
    }
}

fn internal(e: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(-32603, e.to_string(), None::<()>)
}

impl AuthEthApiServer for AuthEth {
    fn chain_id(&self) -> RpcResult<U64> {
        Ok(U64::from(self.engine.chain().spec().chain_id))
    }

    fn block_number(&self) -> RpcResult<U64> {
        Ok(U64::from(
            self.engine
                .chain()
                .store()
                .head_header()
                .map_err(internal)?
                .number,
        ))
    }

    fn block_by_number(
        &self,
        number: BlockNumberOrTag,
        full: bool,
    ) -> RpcResult<Option<Block<B256>>> {
        if full {
            return Err(ErrorObjectOwned::owned(
                -32602,
                "the auth port serves blocks with transaction hashes only (full = false)",
                None::<()>,
            ));
        }
        let store = self.engine.chain().store();
        let hash = match number {
            BlockNumberOrTag::Latest | BlockNumberOrTag::Pending => {
                Some(store.head_hash().map_err(internal)?)
            }
            BlockNumberOrTag::Safe => store.safe_hash().map_err(internal)?,
            BlockNumberOrTag::Finalized => store.finalized_hash().map_err(internal)?,
            BlockNumberOrTag::Earliest => store.canonical_hash(0).map_err(internal)?,
            BlockNumberOrTag::Number(n) => store.canonical_hash(n).map_err(internal)?,
        };
        let Some(hash) = hash else { return Ok(None) };
        let (Some(header), Some(body)) = (
            store.header(&hash).map_err(internal)?,
            store.body(&hash).map_err(internal)?,
        ) else {
            return Ok(None);
        };
        let size = alloy_rlp::Encodable::length(&alloy_consensus::Block::<TxEnvelope> {
            header: header.clone(),
            body: body.clone(),
        });
        Ok(Some(Block {
            header: Header {
                hash,
                inner: header,
                total_difficulty: Some(U256::ZERO),
                size: Some(U256::from(size)),
            },
            uncles: vec![],
            transactions: BlockTransactions::Hashes(
                body.transactions.iter().map(|tx| *tx.tx_hash()).collect(),
            ),
            withdrawals: body.withdrawals,
        }))
    }
}
