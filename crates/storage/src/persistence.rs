//! Write-behind persistence: the writes of one block or one head move are staged as a group,
//! become visible to every reader at once through an in-memory overlay, and reach RocksDB on a
//! background thread, several groups per atomic `WriteBatch`.
//!
//! Groups are written in the order they were staged and a RocksDB batch only ever holds whole
//! groups, so the database on disk is always the state after some prefix of the staged groups:
//! a crash loses the newest groups, never part of one. The consensus bridge re-sends the commits
//! after the persisted head (see `fastevm-consensus-bridge`).
//!
//! Readers look in the overlay before RocksDB. The writer removes an entry only after RocksDB
//! holds it, and only if no newer group staged the same key since, so a read never goes back in
//! time.

use crate::{state_cache::NodeCache, StorageError, Table};
use alloy_primitives::{Bytes, B256};
use parking_lot::{Condvar, Mutex, RwLock};
use rocksdb::{WriteBatch, WriteOptions, DB};
use std::{
    collections::HashMap,
    sync::{
        mpsc::{sync_channel, Receiver, SyncSender, TryRecvError, TrySendError},
        Arc,
    },
    thread::{JoinHandle, Thread},
    time::Duration,
};

/// How writes reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// Every block and head move is in RocksDB before the call that made it returns.
    WriteThrough,
    /// Writes are served from memory at once and written by a background thread. At most
    /// `max_pending` groups (a block is one, a head move another) wait for the disk; staging
    /// more waits for the writer.
    Background {
        /// Groups that may wait for the disk.
        max_pending: usize,
    },
}

impl Persistence {
    /// Background persistence with room for 64 groups (a block is two: its data, and the head
    /// move with safe and finalized); a crash loses at most twice that.
    pub const DEFAULT_BACKGROUND: Persistence = Persistence::Background { max_pending: 64 };
}

/// Groups merged into one RocksDB batch at most (a burst after a slow write).
const MAX_GROUPS_PER_BATCH: usize = 64;

/// How long the writer sleeps after the first group before writing everything queued by then:
/// a block is several groups (its data, the head move), and one write instead of several saves
/// CPU and thread wake-ups on a busy machine. The writer is not woken by each group staged in
/// the window (only by the first after a write, a full queue, a flush or the store closing).
const COALESCE_WINDOW: Duration = Duration::from_millis(5);

/// One write of a staged group.
#[derive(Debug, Clone)]
pub(crate) struct StagedOp {
    table: Table,
    key: Bytes,
    /// `None` deletes the key.
    value: Option<Bytes>,
}

/// Writes that belong together: they reach readers and the disk all at once.
#[derive(Debug, Default)]
pub(crate) struct StagedWrites {
    ops: Vec<StagedOp>,
    /// A bulk load (genesis): its trie nodes are not put in the node cache once written.
    bulk: bool,
}

impl StagedWrites {
    /// Writes of a bulk load (a genesis state of millions of accounts): caching all of its trie
    /// nodes would only churn the cache and leave its upkeep to the next blocks.
    pub(crate) fn bulk() -> Self {
        Self {
            ops: Vec::new(),
            bulk: true,
        }
    }

    pub(crate) fn put(&mut self, table: Table, key: &[u8], value: impl Into<Bytes>) {
        self.ops.push(StagedOp {
            table,
            key: Bytes::copy_from_slice(key),
            value: Some(value.into()),
        });
    }

    pub(crate) fn delete(&mut self, table: Table, key: &[u8]) {
        self.ops.push(StagedOp {
            table,
            key: Bytes::copy_from_slice(key),
            value: None,
        });
    }

    /// Adds the writes to a RocksDB batch, in order.
    pub(crate) fn add_to(&self, db: &DB, batch: &mut WriteBatch) {
        for op in &self.ops {
            let cf = db
                .cf_handle(op.table.name())
                .expect("every table is opened in ChainStore::open");
            match &op.value {
                Some(value) => batch.put_cf(cf, &op.key, value),
                None => batch.delete_cf(cf, &op.key),
            }
        }
    }

    /// Whether these are the writes of a bulk load.
    pub(crate) fn is_bulk(&self) -> bool {
        self.bulk
    }

    /// Puts the trie nodes among the writes into `cache` (content-addressed: never stale).
    pub(crate) fn cache_trie_nodes(&self, cache: &NodeCache) {
        if self.bulk {
            return;
        }
        for op in &self.ops {
            if let (Table::TrieNodes, Some(node)) = (op.table, &op.value) {
                if let Ok(hash) = B256::try_from(&op.key[..]) {
                    cache.insert(hash, node.clone());
                }
            }
        }
    }
}

/// A key of a table and its newest staged value (`None`: deleted).
pub(crate) type StagedEntry = (Bytes, Option<Bytes>);

/// A staged group and its place in the staging order.
struct Group {
    seq: u64,
    writes: StagedWrites,
}

/// The newest staged value of a key that may not be on disk yet.
struct Pending {
    seq: u64,
    value: Option<Bytes>,
}

#[derive(Default)]
struct Progress {
    /// Every group up to this one is on disk.
    persisted: u64,
    /// A write that failed: nothing after it reaches the disk.
    failure: Option<String>,
}

struct Shared {
    db: Arc<DB>,
    sync: bool,
    /// Per table (indexed by [`Table::index`]): key → newest value not yet known to be on disk.
    overlay: RwLock<Vec<HashMap<Bytes, Pending>>>,
    progress: Mutex<Progress>,
    progressed: Condvar,
    trie_nodes: NodeCache,
}

/// What the writer receives: a group to write, or `None` to write what it holds at once.
type Job = Option<Group>;

struct Queue {
    sender: Option<SyncSender<Job>>,
    staged: u64,
}

/// The overlay and the background writer of a store in [`Persistence::Background`] mode.
pub(crate) struct WriteBehind {
    shared: Arc<Shared>,
    /// Serialises staging, so the channel carries groups in sequence order.
    queue: Mutex<Queue>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// The writer thread, to wake it from its coalescing window.
    writer_thread: Mutex<Option<Thread>>,
}

impl WriteBehind {
    /// Starts the writer thread.
    pub(crate) fn start(
        db: Arc<DB>,
        sync: bool,
        max_pending: usize,
        trie_nodes: NodeCache,
    ) -> Result<Self, StorageError> {
        let (this, receiver) = Self::unstarted(db, sync, max_pending, trie_nodes);
        let shared = this.shared.clone();
        // The writer holds at most as many groups as may wait in the queue: a crash loses at
        // most twice `max_pending` groups.
        let max_batch = max_pending.clamp(1, MAX_GROUPS_PER_BATCH);
        let handle = std::thread::Builder::new()
            .name("fastevm-persistence".into())
            .spawn(move || {
                while let Ok(job) = receiver.recv() {
                    let Some(first) = job else { continue };
                    let mut groups = vec![first];
                    // Sleep through the window instead of waking for every group staged in it;
                    // a flush, a full queue or the store closing unparks the thread early (and
                    // a spurious wake-up only makes a smaller batch).
                    std::thread::park_timeout(COALESCE_WINDOW);
                    while groups.len() < max_batch {
                        match receiver.try_recv() {
                            Ok(Some(group)) => groups.push(group),
                            // A flush marker: write what is here now.
                            Ok(None) => break,
                            Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => break,
                        }
                    }
                    if !shared.persist(&groups) {
                        return;
                    }
                }
            })
            .map_err(|e| StorageError::Persistence(format!("starting the writer: {e}")))?;
        *this.writer_thread.lock() = Some(handle.thread().clone());
        *this.writer.lock() = Some(handle);
        Ok(this)
    }

    /// The overlay without its writer thread (tests drive [`Shared::persist`] by hand).
    fn unstarted(
        db: Arc<DB>,
        sync: bool,
        max_pending: usize,
        trie_nodes: NodeCache,
    ) -> (Self, Receiver<Job>) {
        let (sender, receiver) = sync_channel(max_pending.max(1));
        let shared = Arc::new(Shared {
            db,
            sync,
            overlay: RwLock::new(Table::ALL.iter().map(|_| HashMap::new()).collect()),
            progress: Mutex::new(Progress::default()),
            progressed: Condvar::new(),
            trie_nodes,
        });
        let this = Self {
            shared,
            queue: Mutex::new(Queue {
                sender: Some(sender),
                staged: 0,
            }),
            writer: Mutex::new(None),
            writer_thread: Mutex::new(None),
        };
        (this, receiver)
    }

    /// Makes `writes` visible to readers at once and queues them for the disk.
    pub(crate) fn stage(&self, writes: StagedWrites) -> Result<(), StorageError> {
        if let Some(failure) = &self.shared.progress.lock().failure {
            return Err(StorageError::Persistence(failure.clone()));
        }
        let mut queue = self.queue.lock();
        let seq = queue.staged + 1;
        {
            let mut overlay = self.shared.overlay.write();
            for op in &writes.ops {
                overlay[op.table.index()].insert(
                    op.key.clone(),
                    Pending {
                        seq,
                        value: op.value.clone(),
                    },
                );
            }
        }
        let sender = queue
            .sender
            .as_ref()
            .ok_or_else(|| StorageError::Persistence("the store is closing".into()))?;
        self.send(sender, Some(Group { seq, writes }))?;
        queue.staged = seq;
        Ok(())
    }

    /// Queues `job`; when the queue is full, wakes the writer (it may be sleeping through its
    /// coalescing window) and waits for room.
    fn send(&self, sender: &SyncSender<Job>, job: Job) -> Result<(), StorageError> {
        match sender.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(job)) => {
                self.wake_writer();
                sender.send(job).map_err(|_| self.writer_gone())
            }
            Err(TrySendError::Disconnected(_)) => Err(self.writer_gone()),
        }
    }

    fn wake_writer(&self) {
        if let Some(thread) = &*self.writer_thread.lock() {
            thread.unpark();
        }
    }

    fn writer_gone(&self) -> StorageError {
        let failure = self.shared.progress.lock().failure.clone();
        StorageError::Persistence(failure.unwrap_or_else(|| "the writer stopped".into()))
    }

    /// The newest staged value of `key` not yet known to be on disk: `Some(None)` if it was
    /// deleted, `None` if the disk is up to date for it.
    pub(crate) fn lookup(&self, table: Table, key: &[u8]) -> Option<Option<Bytes>> {
        self.shared.overlay.read()[table.index()]
            .get(key)
            .map(|pending| pending.value.clone())
    }

    /// Runs `read` over the disk while no staged write of `table` can leave the overlay, then
    /// hands it the overlay's entries of `table` whose key starts with `prefix`: applied over
    /// what `read` found, they give the current values.
    pub(crate) fn read_prefix<T>(
        &self,
        table: Table,
        prefix: &[u8],
        read: impl FnOnce() -> Result<T, StorageError>,
    ) -> Result<(T, Vec<StagedEntry>), StorageError> {
        let overlay = self.shared.overlay.read();
        let from_disk = read()?;
        let staged = overlay[table.index()]
            .iter()
            .filter(|(key, _)| key.starts_with(prefix))
            .map(|(key, pending)| (key.clone(), pending.value.clone()))
            .collect();
        Ok((from_disk, staged))
    }

    /// Waits until everything staged so far is on disk.
    pub(crate) fn flush(&self) -> Result<(), StorageError> {
        let target = {
            let queue = self.queue.lock();
            if let Some(sender) = &queue.sender {
                // Cut the writer's coalescing window short; if it is gone, the check below says
                // why.
                let _ = self.send(sender, None);
            }
            queue.staged
        };
        self.wake_writer();
        let mut progress = self.shared.progress.lock();
        loop {
            if let Some(failure) = &progress.failure {
                return Err(StorageError::Persistence(failure.clone()));
            }
            if progress.persisted >= target {
                return Ok(());
            }
            self.shared.progressed.wait(&mut progress);
        }
    }
}

impl Drop for WriteBehind {
    /// Closes the queue and waits for the writer to put everything staged on disk.
    fn drop(&mut self) {
        self.queue.lock().sender = None;
        self.wake_writer();
        if let Some(handle) = self.writer.lock().take() {
            let _ = handle.join();
        }
    }
}

impl Shared {
    /// Writes `groups` in one atomic batch, then retires them from the overlay. Returns false
    /// (and records why) if the write failed.
    fn persist(&self, groups: &[Group]) -> bool {
        let mut batch = WriteBatch::default();
        for group in groups {
            group.writes.add_to(&self.db, &mut batch);
        }
        let mut options = WriteOptions::default();
        options.set_sync(self.sync);
        if let Err(e) = self.db.write_opt(batch, &options) {
            let mut progress = self.progress.lock();
            progress.failure = Some(format!("writing to the database failed: {e}"));
            self.progressed.notify_all();
            return false;
        }
        // New trie nodes go to the cache before they leave the overlay: the next block's root
        // walks through them.
        for group in groups {
            group.writes.cache_trie_nodes(&self.trie_nodes);
        }
        {
            let mut overlay = self.overlay.write();
            for group in groups {
                for op in &group.writes.ops {
                    let table = &mut overlay[op.table.index()];
                    if table.get(&op.key[..]).is_some_and(|p| p.seq == group.seq) {
                        table.remove(&op.key[..]);
                    }
                }
            }
        }
        let mut progress = self.progress.lock();
        progress.persisted = groups.last().map_or(progress.persisted, |g| g.seq);
        self.progressed.notify_all();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use moka::sync::Cache;

    fn open() -> (Arc<DB>, NodeCache) {
        let mut options = rocksdb::Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_env(&rocksdb::Env::mem_env().unwrap());
        let db = DB::open_cf(
            &options,
            "/write-behind-test",
            Table::ALL.iter().map(|t| t.name()),
        )
        .unwrap();
        (
            Arc::new(db),
            Cache::builder()
                .max_capacity(100)
                .build_with_hasher(Default::default()),
        )
    }

    fn on_disk(db: &DB, table: Table, key: &[u8]) -> Option<Vec<u8>> {
        db.get_cf(db.cf_handle(table.name()).unwrap(), key).unwrap()
    }

    #[test]
    fn staged_writes_are_read_from_memory_until_the_writer_retires_them() {
        let (db, trie_nodes) = open();
        let (store, receiver) = WriteBehind::unstarted(db.clone(), false, 8, trie_nodes.clone());
        let node_hash = B256::repeat_byte(7);
        let mut first = StagedWrites::default();
        first.put(Table::Metadata, b"head", b"one".to_vec());
        first.put(Table::Metadata, b"safe", b"one".to_vec());
        first.put(Table::TrieNodes, node_hash.as_slice(), vec![0xc0]);
        store.stage(first).unwrap();
        let mut second = StagedWrites::default();
        second.put(Table::Metadata, b"head", b"two".to_vec());
        second.delete(Table::Metadata, b"safe");
        store.stage(second).unwrap();

        // Readers see the newest staged values; the disk has none of them yet.
        assert_eq!(
            store.lookup(Table::Metadata, b"head"),
            Some(Some(Bytes::from_static(b"two")))
        );
        assert_eq!(store.lookup(Table::Metadata, b"safe"), Some(None));
        assert_eq!(store.lookup(Table::Accounts, b"head"), None);
        assert_eq!(on_disk(&db, Table::Metadata, b"head"), None);

        // Writing the first group keeps the keys the second group overwrote in the overlay.
        let group = receiver.try_recv().unwrap().unwrap();
        assert!(store.shared.persist(&[group]));
        assert_eq!(on_disk(&db, Table::Metadata, b"head").unwrap(), b"one");
        assert_eq!(
            store.lookup(Table::Metadata, b"head"),
            Some(Some(Bytes::from_static(b"two")))
        );
        assert_eq!(store.lookup(Table::Metadata, b"safe"), Some(None));
        assert_eq!(store.lookup(Table::TrieNodes, node_hash.as_slice()), None);
        assert_eq!(
            trie_nodes.get(&node_hash),
            Some(Bytes::from_static(&[0xc0]))
        );
        assert_eq!(store.shared.progress.lock().persisted, 1);

        let group = receiver.try_recv().unwrap().unwrap();
        assert!(store.shared.persist(&[group]));
        assert_eq!(on_disk(&db, Table::Metadata, b"head").unwrap(), b"two");
        assert_eq!(on_disk(&db, Table::Metadata, b"safe"), None);
        assert!(store.shared.overlay.read().iter().all(HashMap::is_empty));
        store.flush().unwrap();
    }

    #[test]
    fn prefix_reads_merge_the_overlay_over_the_disk() {
        let (db, trie_nodes) = open();
        let (store, receiver) = WriteBehind::unstarted(db.clone(), false, 8, trie_nodes);
        let mut writes = StagedWrites::default();
        writes.put(Table::Storage, b"a1", b"x".to_vec());
        writes.put(Table::Storage, b"b1", b"y".to_vec());
        store.stage(writes).unwrap();
        let (disk, staged) = store
            .read_prefix(Table::Storage, b"a", || {
                Ok(on_disk(&db, Table::Storage, b"a1"))
            })
            .unwrap();
        assert_eq!(disk, None);
        assert_eq!(
            staged,
            vec![(Bytes::from_static(b"a1"), Some(Bytes::from_static(b"x")))]
        );
        drop(receiver);
    }

    #[test]
    fn a_failed_writer_fails_staging_and_flushing() {
        let (db, trie_nodes) = open();
        let (store, receiver) = WriteBehind::unstarted(db, false, 8, trie_nodes);
        store.stage(StagedWrites::default()).unwrap();
        drop(receiver);
        store.shared.progress.lock().failure = Some("disk full".into());
        let err = store.stage(StagedWrites::default()).unwrap_err();
        assert!(err.to_string().contains("disk full"), "{err}");
        assert!(store.flush().is_err());
    }

    #[test]
    fn dropping_the_store_writes_everything_staged() {
        let (db, trie_nodes) = open();
        let store = WriteBehind::start(db.clone(), false, 2, trie_nodes).unwrap();
        for i in 0u32..50 {
            let mut writes = StagedWrites::default();
            writes.put(Table::Metadata, &i.to_be_bytes(), i.to_be_bytes().to_vec());
            store.stage(writes).unwrap();
        }
        drop(store);
        for i in 0u32..50 {
            assert_eq!(
                on_disk(&db, Table::Metadata, &i.to_be_bytes()).unwrap(),
                i.to_be_bytes()
            );
        }
    }
}
