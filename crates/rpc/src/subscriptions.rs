//! `eth_subscribe` over WebSocket: `newHeads` (one header per block that joins the canonical
//! chain), `logs` (matching logs of added blocks, and of removed blocks with `removed: true`) and
//! `newPendingTransactions` (hashes, or full transactions with `true`) and `syncing` (`false` at
//! once, as reth answers: a FastEVM execution node follows its consensus and never syncs, so no
//! other status ever follows).
//!
//! Each subscription is a task that forwards from the event hub until the client unsubscribes or
//! disconnects.

use crate::{
    api::EthPubSubApiServer, convert::pending_transaction, events::CanonicalUpdate,
    logs::matching_logs, EthRpc, RpcContext, RpcError,
};
use alloy_rpc_types_eth::{
    pubsub::{Params, SubscriptionKind},
    Filter,
};
use jsonrpsee::{
    core::{async_trait, SubscriptionResult},
    PendingSubscriptionSink, SubscriptionMessage, SubscriptionSink,
};
use serde::Serialize;
use std::sync::Arc;
use tokio::sync::{
    broadcast::{error::RecvError, Receiver},
    watch,
};

/// Sends one item; `false` when the client is gone.
async fn send(sink: &SubscriptionSink, item: &(impl Serialize + Sync)) -> bool {
    match serde_json::value::to_raw_value(item) {
        Ok(raw) => sink.send(SubscriptionMessage::from(raw)).await.is_ok(),
        Err(e) => {
            tracing::warn!(error = %e, "subscription item does not serialize");
            true
        }
    }
}

/// Forwards what `select` picks from every canonical update until the subscription ends.
async fn forward_canonical<T, F>(
    sink: SubscriptionSink,
    mut updates: Receiver<Arc<CanonicalUpdate>>,
    select: F,
) where
    T: Serialize + Send + Sync + 'static,
    F: Fn(&CanonicalUpdate) -> Vec<T> + Send + 'static,
{
    loop {
        tokio::select! {
            _ = sink.closed() => return,
            update = updates.recv() => match update {
                Ok(update) => {
                    for item in select(&update) {
                        if !send(&sink, &item).await {
                            return;
                        }
                    }
                }
                Err(RecvError::Lagged(skipped)) => {
                    tracing::debug!(skipped, "subscriber fell behind; updates skipped");
                }
                Err(RecvError::Closed) => return,
            },
        }
    }
}

/// Forwards pool transactions that become pending after `cursor` (hashes, or full transactions)
/// whenever the pool signals a change, until the subscription ends.
async fn forward_pending(
    sink: SubscriptionSink,
    ctx: RpcContext,
    mut changes: watch::Receiver<u64>,
    mut cursor: u64,
    full: bool,
) {
    let pool = ctx.pool.clone();
    loop {
        tokio::select! {
            _ = sink.closed() => return,
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
                let (hashes, next) = pool.pending_hashes_since(cursor);
                cursor = next;
                let base_fee = if full { ctx.next_base_fee().ok().flatten() } else { None };
                for hash in hashes {
                    let delivered = if full {
                        match pool.get(&hash) {
                            Some(tx) => {
                                let tx = pending_transaction(tx.tx, tx.sender, base_fee);
                                send(&sink, &tx).await
                            }
                            None => true,
                        }
                    } else {
                        send(&sink, &hash).await
                    };
                    if !delivered {
                        return;
                    }
                }
            }
        }
    }
}

#[async_trait]
impl EthPubSubApiServer for EthRpc {
    async fn subscribe_to(
        &self,
        pending: PendingSubscriptionSink,
        kind: SubscriptionKind,
        params: Option<Params>,
    ) -> SubscriptionResult {
        let params = params.unwrap_or_default();
        match (kind, params) {
            (SubscriptionKind::NewHeads, Params::None) => {
                let updates = self.ctx.events.subscribe_canonical();
                let sink = pending.accept().await?;
                tokio::spawn(forward_canonical(sink, updates, |update| {
                    update
                        .added
                        .iter()
                        .map(|b| b.header.clone())
                        .collect::<Vec<_>>()
                }));
            }
            (SubscriptionKind::Logs, params @ (Params::None | Params::Logs(_))) => {
                let filter = match params {
                    Params::Logs(filter) => *filter,
                    _ => Filter::default(),
                };
                let updates = self.ctx.events.subscribe_canonical();
                let sink = pending.accept().await?;
                tokio::spawn(forward_canonical(sink, updates, move |update| {
                    let removed = update.removed.iter().flat_map(|b| &b.logs);
                    let added = update.added.iter().flat_map(|b| &b.logs);
                    matching_logs(&filter, removed.chain(added))
                        .cloned()
                        .collect::<Vec<_>>()
                }));
            }
            (
                SubscriptionKind::NewPendingTransactions,
                params @ (Params::None | Params::Bool(_)),
            ) => {
                let full = matches!(params, Params::Bool(true));
                // Listen before accepting, so nothing added meanwhile is missed.
                let changes = self.ctx.events.pool_changes();
                let cursor = self.ctx.pool.pending_sequence();
                let sink = pending.accept().await?;
                tokio::spawn(forward_pending(
                    sink,
                    self.ctx.clone(),
                    changes,
                    cursor,
                    full,
                ));
            }
            (SubscriptionKind::Syncing, Params::None) => {
                let sink = pending.accept().await?;
                tokio::spawn(async move {
                    if send(&sink, &false).await {
                        sink.closed().await;
                    }
                });
            }
            (
                SubscriptionKind::NewHeads
                | SubscriptionKind::Logs
                | SubscriptionKind::NewPendingTransactions
                | SubscriptionKind::Syncing,
                _,
            ) => {
                pending
                    .reject(RpcError::invalid_params("invalid subscription parameters"))
                    .await;
            }
            (kind, _) => {
                pending
                    .reject(RpcError::invalid_params(format!(
                        "subscription {kind} is not supported"
                    )))
                    .await;
            }
        }
        Ok(())
    }
}
