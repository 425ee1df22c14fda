//! Canonical-chain events for subscriptions and filters.
//!
//! The [`crate::CanonicalFollower`] turns each head move the engine publishes into one
//! [`CanonicalUpdate`] — headers and logs of the removed and added blocks — delivered here to
//! the installed filters and to a `tokio::sync::broadcast` channel read by WebSocket
//! subscriptions. The hub also knows how far the follower has got, so a poll of filters or of
//! the pool can wait until every head move published before it is reflected
//! ([`ChainEvents::wait_for_follower`]).

use crate::filters::FilterRegistry;
use alloy_hardforks::EthereumHardforks;
use alloy_primitives::Address;
use alloy_rpc_types_eth::{Header, Log};
use fastevm_blobs::BlobRules;
use fastevm_engine::PublishedChanges;
use fastevm_executor::ChainSpec;
use fastevm_storage::ChainStore;
use fastevm_txpool::{AccountInfo, PoolState};
use parking_lot::{Condvar, Mutex};
use std::{sync::Arc, time::Duration};
use tokio::sync::{broadcast, watch};

/// Longest a poll waits for the follower to reflect earlier head moves before answering with
/// what it has (the follower is stuck or gone; it is logged).
pub const FOLLOWER_WAIT: Duration = Duration::from_secs(2);

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

/// The event hub shared by the RPC server and the [`crate::CanonicalFollower`].
#[derive(Debug)]
pub struct ChainEvents {
    canonical: broadcast::Sender<Arc<CanonicalUpdate>>,
    /// Bumped whenever the pool may hold new pending transactions.
    pool_changes: watch::Sender<u64>,
    filters: FilterRegistry,
    follower: Mutex<FollowerProgress>,
    follower_moved: Condvar,
}

/// How far the canonical follower has got.
#[derive(Debug, Default)]
struct FollowerProgress {
    /// The engine's count of published changes, while a follower runs.
    published: Option<PublishedChanges>,
    /// The sequence number of the last change it handled.
    handled: u64,
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
            follower: Mutex::default(),
            follower_moved: Condvar::new(),
        }
    }

    /// A follower of the engine's changes (counted by `published`) starts; it has handled
    /// those up to `handled`. Called by [`crate::CanonicalFollower`].
    pub fn follower_started(&self, published: PublishedChanges, handled: u64) {
        *self.follower.lock() = FollowerProgress {
            published: Some(published),
            handled,
        };
        self.follower_moved.notify_all();
    }

    /// The follower has handled every change up to `sequence`.
    pub fn follower_handled(&self, sequence: u64) {
        let mut progress = self.follower.lock();
        progress.handled = progress.handled.max(sequence);
        self.follower_moved.notify_all();
    }

    /// The follower stopped (the engine is gone): nobody waits for it any more.
    pub fn follower_stopped(&self) {
        self.follower.lock().published = None;
        self.follower_moved.notify_all();
    }

    /// Waits (at most [`FOLLOWER_WAIT`]) until the pool, filters and subscriptions reflect
    /// every head move the engine had published when this was called, so a client that saw a
    /// block (a receipt, `eth_blockNumber`) then polls a filter or the pool sees its effects.
    /// Returns at once without a follower, or when it is caught up (the usual case).
    pub fn wait_for_follower(&self) {
        let mut progress = self.follower.lock();
        let Some(target) = progress.published.as_ref().map(PublishedChanges::get) else {
            return;
        };
        let deadline = std::time::Instant::now() + FOLLOWER_WAIT;
        while progress.published.is_some() && progress.handled < target {
            if self
                .follower_moved
                .wait_until(&mut progress, deadline)
                .timed_out()
            {
                tracing::warn!(
                    handled = progress.handled,
                    published = target,
                    "the canonical follower is behind; answering with what it has"
                );
                return;
            }
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
