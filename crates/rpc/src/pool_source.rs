//! The engine's transaction source: the pool, for blocks built from it, for the ordered
//! transactions a payload left out, and for pooled blob sidecars.

use crate::RpcContext;
use alloy_consensus::TxEnvelope;
use alloy_eips::eip4844::{BlobAndProofV1, BlobAndProofV2};
use alloy_primitives::{Address, B256};
use fastevm_blobs::BlobSidecar;
use fastevm_engine::TransactionSource;
use std::sync::Arc;

/// Serves `ctx`'s pool to the engine (install with [`RpcContext::attach_to`]).
#[derive(Debug, Clone)]
pub struct PoolSource {
    ctx: RpcContext,
}

impl PoolSource {
    /// The source over `ctx`'s pool.
    pub fn new(ctx: RpcContext) -> Self {
        Self { ctx }
    }
}

impl TransactionSource for PoolSource {
    fn best_transactions(&self, base_fee: u64, max: usize) -> Vec<(TxEnvelope, Address)> {
        self.ctx.pool.best_transactions(base_fee, max)
    }

    fn left_out(&self, hashes: &[B256]) {
        self.ctx.pool.note_left_out(hashes.iter().copied());
    }

    fn blob_sidecar(&self, hash: &B256) -> Option<Arc<BlobSidecar>> {
        self.ctx.pool.blob_sidecar(hash)
    }

    fn blobs_v1(&self, versioned_hashes: &[B256]) -> Vec<Option<BlobAndProofV1>> {
        self.ctx.pool.blobs_v1(versioned_hashes)
    }

    fn blobs_v2(&self, versioned_hashes: &[B256]) -> Vec<Option<BlobAndProofV2>> {
        self.ctx.pool.blobs_v2(versioned_hashes)
    }
}
