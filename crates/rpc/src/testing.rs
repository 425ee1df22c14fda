//! `testing_buildBlockV1` (the `testing` namespace hive's rpc-compat suite exercises, off by
//! default as in geth): a block built on any stored parent from explicit transactions or the
//! pool, returned as a payload envelope and never imported. The gas limit moves toward geth's
//! default 60M ceiling by at most 1/1024 of the parent's, as geth's builder does; FastEVM's own
//! blocks keep the gas limit consensus gives them.

use crate::{api::TestingApiServer, eth::rpc, EthRpc, RpcError};
use alloy_consensus::{Block, TxEnvelope};
use alloy_primitives::{Address, Bytes, B256};
use alloy_rpc_types_engine::{
    ExecutionPayloadEnvelopeV3, ExecutionPayloadEnvelopeV4, ExecutionPayloadV3, PayloadAttributes,
};
use fastevm_engine::decode_ordered_transactions;
use fastevm_executor::{header_validation::expected_base_fee, BlockAttributes, Blockchain};
use jsonrpsee::core::RpcResult;

/// geth's default block gas ceiling (`--miner.gaslimit`).
pub const GETH_GAS_CEILING: u64 = 60_000_000;

/// The gas limit geth's builder gives a child of a block with `parent` gas limit, aiming at
/// `desired`: one step of at most `parent / 1024 - 1` toward it.
pub fn next_gas_limit(parent: u64, desired: u64) -> u64 {
    let step = (parent / 1024).saturating_sub(1);
    if parent < desired {
        parent.saturating_add(step).min(desired)
    } else {
        parent.saturating_sub(step).max(desired)
    }
}

impl EthRpc {
    fn build_testing_block(
        &self,
        parent_hash: B256,
        attributes: PayloadAttributes,
        transactions: Option<Vec<Bytes>>,
        extra_data: Option<Bytes>,
    ) -> Result<ExecutionPayloadEnvelopeV4, RpcError> {
        let parent = self
            .ctx
            .store
            .header(&parent_hash)?
            .ok_or_else(|| RpcError::Server(format!("block {parent_hash} not found")))?;
        let explicit = transactions.is_some();
        let candidates: Vec<(TxEnvelope, Address)> = match transactions {
            Some(raw) => {
                let (decoded, dropped, _sidecars) =
                    decode_ordered_transactions(&raw, &self.ctx.senders);
                if let Some((index, reason)) = dropped.first() {
                    return Err(RpcError::invalid_params(format!(
                        "transaction {index}: {reason}"
                    )));
                }
                decoded
            }
            None => {
                let base_fee = expected_base_fee(&self.ctx.spec, &parent).unwrap_or_default();
                self.ctx.pool.best_transactions(base_fee, usize::MAX)
            }
        };
        let attributes = BlockAttributes {
            timestamp: attributes.timestamp,
            prev_randao: attributes.prev_randao,
            fee_recipient: attributes.suggested_fee_recipient,
            withdrawals: attributes.withdrawals,
            parent_beacon_block_root: attributes.parent_beacon_block_root,
            gas_limit: Some(next_gas_limit(parent.gas_limit, GETH_GAS_CEILING)),
            extra_data: extra_data.unwrap_or_default(),
        };
        let chain = Blockchain::new(self.ctx.store.clone(), self.ctx.spec.clone());
        let built = chain
            .build_block(parent_hash, &attributes, candidates)
            .map_err(|e| RpcError::Server(e.to_string()))?;
        if let (true, Some(skipped)) = (explicit, built.skipped.first()) {
            return Err(RpcError::Server(skipped.reason.clone()));
        }
        let block = Block {
            header: built.block.header.clone(),
            body: built.block.body.clone(),
        };
        Ok(ExecutionPayloadEnvelopeV4 {
            envelope_inner: ExecutionPayloadEnvelopeV3 {
                execution_payload: ExecutionPayloadV3::from_block_unchecked(
                    built.block.hash,
                    &block,
                ),
                block_value: fastevm_engine::block_value(&built.block),
                blobs_bundle: Default::default(),
                should_override_builder: false,
            },
            execution_requests: built.requests,
        })
    }
}

impl TestingApiServer for EthRpc {
    fn build_block_v1(
        &self,
        parent: B256,
        attributes: PayloadAttributes,
        transactions: Option<Vec<Bytes>>,
        extra_data: Option<Bytes>,
    ) -> RpcResult<ExecutionPayloadEnvelopeV4> {
        rpc(self.build_testing_block(parent, attributes, transactions, extra_data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gas_limit_steps_toward_the_ceiling() {
        // The rpc-compat chain: 200M parent, geth builds 199,804,689.
        assert_eq!(next_gas_limit(200_000_000, GETH_GAS_CEILING), 199_804_689);
        assert_eq!(next_gas_limit(30_000_000, GETH_GAS_CEILING), 30_029_295);
        assert_eq!(
            next_gas_limit(59_990_000, GETH_GAS_CEILING),
            GETH_GAS_CEILING
        );
        assert_eq!(
            next_gas_limit(GETH_GAS_CEILING, GETH_GAS_CEILING),
            GETH_GAS_CEILING
        );
    }
}
