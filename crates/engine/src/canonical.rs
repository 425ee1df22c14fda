//! Canonical-chain changes as the engine publishes them: after every head move, the blocks that
//! left the chain and the blocks that joined it, on a broadcast channel (as reth's
//! `CanonStateNotification`s). The pool, filters and subscriptions follow the channel on their
//! own thread, so none of their work runs on the engine's thread or under its lock.

use alloy_primitives::B256;
use fastevm_storage::ExecutedBlock;
use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};
use tokio::sync::broadcast;

/// Head moves a subscriber may fall behind by before it misses some (it is then told how many,
/// by `broadcast`'s lag error, and must resynchronise with the head). Unread changes keep their
/// executed blocks alive, so this also bounds the memory a lagging subscriber holds.
pub const CANONICAL_CHANNEL_CAPACITY: usize = 256;

/// A block that joined or left the canonical chain.
#[derive(Debug, Clone)]
pub struct ChainBlock {
    /// Its hash.
    pub hash: B256,
    /// The executed block (body, senders, receipts), when the engine still holds it in memory;
    /// otherwise the listener reads it from the store.
    pub executed: Option<Arc<ExecutedBlock>>,
}

/// One move of the canonical head.
#[derive(Debug, Clone)]
pub struct CanonicalChange {
    /// Position in the engine's sequence of changes, from 1 (see
    /// [`CanonicalSubscription::published`]).
    pub sequence: u64,
    /// Blocks that left the canonical chain, newest first.
    pub removed: Vec<ChainBlock>,
    /// Blocks that joined it, oldest first; the last one is the new head. Both are empty when
    /// the head move failed after its number was given out (nothing changed).
    pub added: Vec<ChainBlock>,
}

/// The engine's side of the channel.
#[derive(Debug)]
pub(crate) struct CanonicalChanges {
    sender: broadcast::Sender<Arc<CanonicalChange>>,
    published: Arc<AtomicU64>,
}

impl Default for CanonicalChanges {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(CANONICAL_CHANNEL_CAPACITY).0,
            published: Arc::default(),
        }
    }
}

impl CanonicalChanges {
    /// Numbers the next change before the head moves in the store, so a reader that sees the
    /// new head also sees a published count that includes it (and waits for the follower).
    /// Every reserved number must be [`CanonicalChanges::send`]: empty if the move failed.
    pub(crate) fn reserve(&self) -> u64 {
        self.published.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// Sends change `sequence` to every subscriber (none listening is not an error).
    pub(crate) fn send(&self, sequence: u64, removed: Vec<ChainBlock>, added: Vec<ChainBlock>) {
        let _ = self.sender.send(Arc::new(CanonicalChange {
            sequence,
            removed,
            added,
        }));
    }

    pub(crate) fn subscribe(&self) -> CanonicalSubscription {
        CanonicalSubscription {
            receiver: self.sender.subscribe(),
            published: PublishedChanges(self.published.clone()),
        }
    }
}

/// How many changes the engine has published so far; a follower that has handled that many is
/// caught up. Holding it does not keep the channel open.
#[derive(Debug, Clone)]
pub struct PublishedChanges(Arc<AtomicU64>);

impl PublishedChanges {
    /// The sequence number of the latest published change (0: none yet).
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}

/// Every canonical change the engine publishes from the moment of subscribing.
#[derive(Debug)]
pub struct CanonicalSubscription {
    /// The changes, in order. Closed once the engine is dropped.
    pub receiver: broadcast::Receiver<Arc<CanonicalChange>>,
    /// The engine's count of published changes.
    pub published: PublishedChanges,
}
