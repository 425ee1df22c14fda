//! Canonical-chain events for subscriptions and filters, and the engine hook that produces them.
//!
//! The engine calls [`CanonicalNotifier::on_canonical_change`] after every head move (the
//! notifier is its `TransactionSource`). The notifier updates the pool against the new head
//! (reinjecting the transactions of blocks that left the chain), then publishes one
//! [`CanonicalUpdate`] — headers and logs of the removed and added blocks — to the installed
//! filters and to a `tokio::sync::broadcast` channel read by WebSocket subscriptions.

use crate::{
    block_id::StoredBlock,
    convert::{block_logs, rpc_header},
    filters::FilterRegistry,
    RpcContext, RpcError,
};
use alloy_consensus::{ReceiptEnvelope, TxEnvelope};
use alloy_eips::eip4844::{BlobAndProofV1, BlobAndProofV2};
use alloy_hardforks::EthereumHardforks;
use alloy_primitives::{Address, B256};
use alloy_rpc_types_eth::{Header, Log};
use fastevm_blobs::{BlobRules, BlobSidecar};
use fastevm_engine::{ChainBlock, TransactionSource};
use fastevm_executor::{header_validation::expected_base_fee, ChainSpec};
use fastevm_storage::ChainStore;
use fastevm_txpool::{AccountInfo, PoolState};
use std::{collections::BTreeSet, sync::Arc};
use tokio::sync::{broadcast, watch};

/// Capacity of the canonical-update channel; a subscriber that falls further behind skips
/// updates (and is told so by `broadcast`'s lag error).
pub const EVENT_CHANNEL_CAPACITY: usize = 1024;

/// One block that joined or left the canonical chain.
#[derive(Debug, Clone)]
pub struct BlockEvent {
    /// Its header (with hash; no size, as geth's `newHeads`).
    pub header: Header,
    /// Its logs; `removed: true` when the block left the chain.
    pub logs: Vec<Log>,
}

/// A move of the canonical head.
#[derive(Debug, Clone, Default)]
pub struct CanonicalUpdate {
    /// Blocks that left the canonical chain, newest first.
    pub removed: Vec<BlockEvent>,
    /// Blocks that joined it, oldest first (the last one is the new head).
    pub added: Vec<BlockEvent>,
}

/// The event hub shared by the RPC server and the [`CanonicalNotifier`].
#[derive(Debug)]
pub struct ChainEvents {
    canonical: broadcast::Sender<Arc<CanonicalUpdate>>,
    /// Bumped whenever the pool may hold new pending transactions.
    pool_changes: watch::Sender<u64>,
    filters: FilterRegistry,
}

impl Default for ChainEvents {
    fn default() -> Self {
        Self::new()
    }
}

impl ChainEvents {
    /// A hub with no listeners.
    pub fn new() -> Self {
        Self {
            canonical: broadcast::channel(EVENT_CHANNEL_CAPACITY).0,
            pool_changes: watch::channel(0).0,
            filters: FilterRegistry::new(),
        }
    }

    /// Receives every canonical update published from now on.
    pub fn subscribe_canonical(&self) -> broadcast::Receiver<Arc<CanonicalUpdate>> {
        self.canonical.subscribe()
    }

    /// Delivers `update` to the installed filters and the subscribers.
    pub fn publish(&self, update: CanonicalUpdate) {
        self.filters.on_canonical_update(&update);
        // No subscriber is not an error.
        let _ = self.canonical.send(Arc::new(update));
    }

    /// Signals that the pool may hold new pending transactions.
    pub fn notify_pool_changed(&self) {
        self.pool_changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Wakes whenever [`ChainEvents::notify_pool_changed`] is called.
    pub fn pool_changes(&self) -> watch::Receiver<u64> {
        self.pool_changes.subscribe()
    }

    /// The installed polling filters.
    pub fn filters(&self) -> &FilterRegistry {
        &self.filters
    }
}

/// The pool's view of the canonical head's state (the store's flat tables) and fork.
#[derive(Debug, Clone, Copy)]
pub struct HeadState<'a> {
    store: &'a ChainStore,
    spec: &'a ChainSpec,
}

impl<'a> HeadState<'a> {
    /// Account reads at `store`'s canonical head; blob rules of `spec`'s fork at the head.
    pub fn new(store: &'a ChainStore, spec: &'a ChainSpec) -> Self {
        Self { store, spec }
    }
}

impl PoolState for HeadState<'_> {
    fn account(&self, address: &Address) -> Result<AccountInfo, String> {
        let account = self.store.account(address).map_err(|e| e.to_string())?;
        Ok(account
            .map(|a| AccountInfo {
                nonce: a.nonce,
                balance: a.balance,
            })
            .unwrap_or_default())
    }

    fn blob_rules(&self) -> Option<BlobRules> {
        let head = self.store.head_header().ok()?;
        let params = self.spec.blob_params_at(head.timestamp)?;
        Some(BlobRules {
            cell_proofs: self.spec.is_osaka_active_at_timestamp(head.timestamp),
            max_blobs_per_tx: params.max_blobs_per_tx,
        })
    }
}

/// The engine's transaction source: serves the pool's best transactions to block building and
/// turns every canonical change into a pool update and a [`CanonicalUpdate`].
#[derive(Debug, Clone)]
pub struct CanonicalNotifier {
    ctx: RpcContext,
}

impl CanonicalNotifier {
    /// A notifier over `ctx`'s store, pool and events.
    pub fn new(ctx: RpcContext) -> Self {
        Self { ctx }
    }

    /// Handles a head move: `removed` blocks (newest first) left the canonical chain, `added`
    /// blocks (oldest first) joined it.
    pub fn apply(&self, removed: &[ChainBlock], added: &[ChainBlock]) -> Result<(), RpcError> {
        let ctx = &self.ctx;
        // Blocks the engine still holds in memory are taken from there, not read back.
        let load = |block: &ChainBlock| -> Result<(StoredBlock, Vec<ReceiptEnvelope>), RpcError> {
            if let Some(executed) = &block.executed {
                let stored = StoredBlock {
                    hash: executed.hash,
                    header: executed.header.clone(),
                    body: executed.body.clone(),
                    senders: executed.senders.clone(),
                };
                return Ok((stored, executed.receipts.clone()));
            }
            let header = ctx
                .store
                .header(&block.hash)?
                .ok_or(RpcError::IncompleteBlock(block.hash))?;
            let stored = ctx.stored_block(crate::block_id::BlockRef {
                hash: block.hash,
                header,
            })?;
            let receipts = ctx.stored_receipts(&stored)?;
            Ok((stored, receipts))
        };
        let removed: Vec<(StoredBlock, Vec<ReceiptEnvelope>)> =
            removed.iter().map(load).collect::<Result<_, _>>()?;
        let added: Vec<(StoredBlock, Vec<ReceiptEnvelope>)> =
            added.iter().map(load).collect::<Result<_, _>>()?;

        let included: BTreeSet<B256> = added
            .iter()
            .flat_map(|(b, _)| b.body.transactions.iter().map(|tx| *tx.tx_hash()))
            .collect();
        // Oldest removed block first, so each sender's transactions come back in nonce order.
        let reinjected: Vec<(TxEnvelope, Address)> = removed
            .iter()
            .rev()
            .flat_map(|(b, _)| b.body.transactions.iter().cloned().zip(b.senders.clone()))
            .filter(|(tx, _)| !included.contains(tx.tx_hash()))
            .collect();
        if let Some(metrics) = &ctx.metrics {
            // Admission to inclusion, for the transactions this node's pool held.
            let hashes: Vec<B256> = included.iter().copied().collect();
            for admitted in ctx.pool.admission_times(&hashes).into_iter().flatten() {
                metrics
                    .tx_inclusion_seconds
                    .observe(admitted.elapsed().as_secs_f64());
            }
        }
        let head = ctx.store.head_header()?;
        let base_fee = expected_base_fee(&ctx.spec, &head).unwrap_or_default();
        ctx.pool
            .on_new_head(&HeadState::new(&ctx.store, &ctx.spec), base_fee, reinjected);
        ctx.events.notify_pool_changed();

        let event = |(block, receipts): &(StoredBlock, Vec<ReceiptEnvelope>),
                     removed: bool|
         -> Result<BlockEvent, RpcError> {
            let mut logs = block_logs(block, receipts);
            for log in &mut logs {
                log.removed = removed;
            }
            Ok(BlockEvent {
                header: rpc_header(block.hash, block.header.clone(), None),
                logs,
            })
        };
        let update = CanonicalUpdate {
            removed: removed
                .iter()
                .map(|b| event(b, true))
                .collect::<Result<_, _>>()?,
            added: added
                .iter()
                .map(|b| event(b, false))
                .collect::<Result<_, _>>()?,
        };
        ctx.events.publish(update);
        Ok(())
    }
}

impl TransactionSource for CanonicalNotifier {
    fn best_transactions(&self, base_fee: u64, max: usize) -> Vec<(TxEnvelope, Address)> {
        self.ctx.pool.best_transactions(base_fee, max)
    }

    fn on_canonical_change(&self, removed: &[ChainBlock], added: &[ChainBlock]) {
        if let Err(e) = self.apply(removed, added) {
            tracing::warn!(error = %e, "could not publish a canonical change");
        }
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
