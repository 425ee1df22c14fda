//! The follower of the engine's canonical changes: on its own thread, it turns each head move
//! into a pool update (included transactions leave, those of reorged-out blocks come back) and a
//! [`CanonicalUpdate`] for filters and subscriptions. The engine only publishes; none of this
//! runs on its thread.

use crate::{
    block_id::StoredBlock,
    convert::{block_logs, rpc_header},
    events::{BlockEvent, CanonicalUpdate, HeadState},
    ChainEvents, RpcContext, RpcError,
};
use alloy_consensus::{ReceiptEnvelope, TxEnvelope};
use alloy_primitives::{Address, B256};
use fastevm_engine::{CanonicalChange, CanonicalSubscription, ChainBlock};
use std::{collections::BTreeSet, sync::Arc, thread::JoinHandle};
use tokio::sync::broadcast::error::RecvError;

/// Keeps a context's pool, filters and subscriptions in step with the canonical chain.
#[derive(Debug, Clone)]
pub struct CanonicalFollower {
    ctx: RpcContext,
}

impl CanonicalFollower {
    /// A follower updating `ctx`'s pool and events.
    pub fn new(ctx: RpcContext) -> Self {
        Self { ctx }
    }

    /// Follows `subscription` on a thread of its own until the engine is dropped.
    pub fn spawn(self, subscription: CanonicalSubscription) -> std::io::Result<JoinHandle<()>> {
        let CanonicalSubscription {
            mut receiver,
            published,
        } = subscription;
        // Changes published before the subscription are not this follower's to wait for.
        let events = self.ctx.events.clone();
        events.follower_started(published.clone(), published.get());
        let spawned = std::thread::Builder::new()
            .name("canonical-follower".into())
            .spawn(move || {
                // Polls stop waiting for this thread however it ends.
                let _stopped = Stopped(self.ctx.events.clone());
                loop {
                    match receiver.blocking_recv() {
                        Ok(change) => self.handle(&change),
                        Err(RecvError::Lagged(missed)) => self.resync(missed),
                        Err(RecvError::Closed) => break,
                    }
                }
            });
        if spawned.is_err() {
            events.follower_stopped();
        }
        spawned
    }

    fn handle(&self, change: &CanonicalChange) {
        if !change.removed.is_empty() || !change.added.is_empty() {
            // A bug in one change must not stop the pool from following the chain for good.
            let applied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.apply(&change.removed, &change.added)
            }));
            match applied {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, sequence = change.sequence, "could not follow a canonical change")
                }
                Err(_) => {
                    tracing::error!(
                        sequence = change.sequence,
                        "following a canonical change panicked; going on with the next"
                    )
                }
            }
        }
        self.ctx.events.follower_handled(change.sequence);
    }

    /// The follower fell more than the channel's capacity behind and `missed` changes are gone:
    /// the pool is checked against the head's state (included transactions leave it; those of
    /// blocks reorged out in the missed changes are not re-added) and subscribers miss those
    /// blocks' events, as a lagging WebSocket subscriber does.
    fn resync(&self, missed: u64) {
        tracing::warn!(
            missed,
            "the canonical follower fell behind; resynchronising the pool with the head"
        );
        if let Err(e) = self.update_pool(Vec::new()) {
            tracing::warn!(error = %e, "could not resynchronise the pool with the head");
        }
    }

    /// Re-checks the pool against the store's head (included transactions leave it) and puts
    /// `reinjected` transactions of blocks that left the chain back.
    fn update_pool(&self, reinjected: Vec<(TxEnvelope, Address)>) -> Result<(), RpcError> {
        let ctx = &self.ctx;
        let base_fee = ctx.next_base_fee()?.unwrap_or_default();
        ctx.pool
            .on_new_head(&HeadState::new(&ctx.store, &ctx.spec), base_fee, reinjected);
        ctx.events.notify_pool_changed();
        Ok(())
    }

    /// Handles a head move: `removed` blocks (newest first) left the canonical chain, `added`
    /// blocks (oldest first) joined it. The pool is updated against the store's head (it may
    /// be ahead of this change already; later changes catch up the rest).
    fn apply(&self, removed: &[ChainBlock], added: &[ChainBlock]) -> Result<(), RpcError> {
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
        self.update_pool(reinjected)?;

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

/// Tells the hub the follower is gone when dropped.
struct Stopped(Arc<ChainEvents>);

impl Drop for Stopped {
    fn drop(&mut self) {
        self.0.follower_stopped();
    }
}
