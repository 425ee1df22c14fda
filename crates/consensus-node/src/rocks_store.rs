//! RocksDB implementation of the consensus [`Store`].
//!
//! Column families (keys sort in the order the scans need):
//!
//! | column family | key | value |
//! |---|---|---|
//! | [`CF_BLOCKS`] | round (u32 BE) ‖ author (u32 BE) ‖ digest (32 B) | `SignedBlock::to_bytes()` |
//! | [`CF_COMMITS`] | commit index (u64 BE) | `Commit::to_bytes()` |
//! | [`CF_META`] | ASCII name | see [`META_SCHEMA_VERSION`], [`META_OWN_INDEX`], [`META_OWN_LAST_ROUND`] |
//!
//! Every [`StoreBatch`] is one RocksDB `WriteBatch` (blocks, commits and the own-last-round
//! marker together), written with `sync` when [`RocksStoreOptions::sync_writes`] is set, so a
//! crash leaves either the whole batch or none of it. The consensus core writes its own block
//! before returning it for broadcast, so a block that left the node is always on disk.
//!
//! Pruning ([`Store::prune`]) is a range delete of the blocks and commits below the floor in one
//! batch, followed by a compaction of the deleted ranges so their files leave the disk, and a
//! flush of the metadata so the write-ahead log files before it can go too (the log is also
//! capped at 64 MiB).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use fastevm_consensus::{
    AuthorityIndex, BlockRef, Commit, CommitIndex, ConsensusError, ConsensusResult, PruneFloor,
    Round, SignedBlock, Store, StoreBatch, VerifiedBlock,
};
use rocksdb::{
    ColumnFamilyDescriptor, Direction, IteratorMode, Options, WriteBatch, WriteOptions, DB,
};

use crate::error::{NodeError, NodeResult};

/// Blocks by reference.
pub const CF_BLOCKS: &str = "blocks";
/// Commits by index.
pub const CF_COMMITS: &str = "commits";
/// Metadata.
pub const CF_META: &str = "meta";
/// Meta key: format version of this database (u32 LE), checked on open.
pub const META_SCHEMA_VERSION: &[u8] = b"schema_version";
/// Meta key: authority index of the node owning the database (u32 LE), checked on open.
pub const META_OWN_INDEX: &[u8] = b"own_index";
/// Meta key: highest round of a block this authority signed and stored (u32 LE).
pub const META_OWN_LAST_ROUND: &[u8] = b"own_last_round";

/// 2: blocks carry commit votes (commit sync); a version-1 store cannot be read.
const SCHEMA_VERSION: u32 = 2;

/// Write-ahead log kept before the memtables are flushed to table files.
const MAX_WAL_BYTES: u64 = 64 << 20;

/// Size at which RocksDB's info log and manifest start a new file (two info logs are kept).
const MAX_INFO_LOG_BYTES: usize = 8 << 20;

/// Memtable size of each column family (the write-ahead log is preallocated in that size).
const WRITE_BUFFER_BYTES: usize = 16 << 20;
const ALL_CFS: [&str; 3] = [CF_BLOCKS, CF_COMMITS, CF_META];

/// Options of a [`RocksStore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RocksStoreOptions {
    /// fsync the write-ahead log on every write (survives power loss, not only process crashes).
    pub sync_writes: bool,
    /// The owning authority: its blocks update [`META_OWN_LAST_ROUND`], and reopening the
    /// database for another authority fails. `None` disables both.
    pub own_index: Option<AuthorityIndex>,
}

impl Default for RocksStoreOptions {
    fn default() -> Self {
        Self {
            sync_writes: true,
            own_index: None,
        }
    }
}

/// Consensus blocks and commits in RocksDB.
pub struct RocksStore {
    db: DB,
    options: RocksStoreOptions,
    /// Cached [`META_OWN_LAST_ROUND`]; the lock also serialises writes that update it.
    own_last_round: Mutex<Option<Round>>,
}

impl std::fmt::Debug for RocksStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksStore")
            .field("path", &self.db.path())
            .field("options", &self.options)
            .finish()
    }
}

impl RocksStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: impl AsRef<Path>, options: RocksStoreOptions) -> NodeResult<Self> {
        let mut db_opts = Options::default();
        db_opts.create_if_missing(true);
        db_opts.create_missing_column_families(true);
        db_opts.set_max_open_files(256);
        // Bound the write-ahead log too (RocksDB's default allows gigabytes before it flushes
        // the memtables): with pruning, the disk then stays flat however long the chain runs.
        db_opts.set_max_total_wal_size(MAX_WAL_BYTES);
        // And RocksDB's own files, which otherwise grow with every flush and compaction.
        db_opts.set_max_log_file_size(MAX_INFO_LOG_BYTES);
        db_opts.set_keep_log_file_num(2);
        db_opts.set_max_manifest_file_size(MAX_INFO_LOG_BYTES);
        let cfs = ALL_CFS.iter().map(|name| {
            let mut cf = Options::default();
            cf.set_compression_type(rocksdb::DBCompressionType::Lz4);
            cf.set_write_buffer_size(WRITE_BUFFER_BYTES);
            ColumnFamilyDescriptor::new(*name, cf)
        });
        let db = DB::open_cf_descriptors(&db_opts, path.as_ref(), cfs)?;
        let store = Self {
            db,
            options,
            own_last_round: Mutex::new(None),
        };
        store.check_or_init_meta()?;
        let last: Option<Round> = store.get_meta_u32(META_OWN_LAST_ROUND)?;
        *store.lock_own()? = last;
        Ok(store)
    }

    fn check_or_init_meta(&self) -> NodeResult<()> {
        let mut init = WriteBatch::default();
        match self.get_meta_u32(META_SCHEMA_VERSION)? {
            Some(v) if v != SCHEMA_VERSION => {
                return Err(NodeError::StoreMismatch {
                    what: "schema version",
                    expected: SCHEMA_VERSION.to_string(),
                    found: v.to_string(),
                })
            }
            Some(_) => {}
            None => init.put_cf(
                self.cf(CF_META)?,
                META_SCHEMA_VERSION,
                SCHEMA_VERSION.to_le_bytes(),
            ),
        }
        if let Some(own) = self.options.own_index {
            match self.get_meta_u32(META_OWN_INDEX)? {
                Some(found) if found != own => {
                    return Err(NodeError::StoreMismatch {
                        what: "own authority index",
                        expected: own.to_string(),
                        found: found.to_string(),
                    })
                }
                Some(_) => {}
                None => init.put_cf(self.cf(CF_META)?, META_OWN_INDEX, own.to_le_bytes()),
            }
        }
        if !init.is_empty() {
            self.db.write_opt(init, &self.write_options())?;
        }
        Ok(())
    }

    /// Filesystem path of the database.
    pub fn path(&self) -> PathBuf {
        self.db.path().to_path_buf()
    }

    /// Highest round of an own block in the store (`None` before the first own block, or when
    /// no own index was configured).
    pub fn own_last_round(&self) -> NodeResult<Option<Round>> {
        Ok(*self.lock_own()?)
    }

    fn lock_own(&self) -> NodeResult<std::sync::MutexGuard<'_, Option<Round>>> {
        self.own_last_round
            .lock()
            .map_err(|_| NodeError::CorruptStore {
                column: CF_META,
                reason: "poisoned own-round lock".into(),
            })
    }

    fn write_options(&self) -> WriteOptions {
        let mut w = WriteOptions::default();
        w.set_sync(self.options.sync_writes);
        w
    }

    fn cf(&self, name: &'static str) -> NodeResult<&rocksdb::ColumnFamily> {
        self.db.cf_handle(name).ok_or(NodeError::CorruptStore {
            column: name,
            reason: "column family missing".into(),
        })
    }

    fn get_meta_u32(&self, key: &[u8]) -> NodeResult<Option<u32>> {
        let Some(v) = self.db.get_cf(self.cf(CF_META)?, key)? else {
            return Ok(None);
        };
        let arr: [u8; 4] = v
            .as_slice()
            .try_into()
            .map_err(|_| NodeError::CorruptStore {
                column: CF_META,
                reason: format!("{} has {} bytes", String::from_utf8_lossy(key), v.len()),
            })?;
        Ok(Some(u32::from_le_bytes(arr)))
    }

    fn write_batch(&self, batch: StoreBatch) -> NodeResult<()> {
        let mut own = self.lock_own()?;
        let blocks_cf = self.cf(CF_BLOCKS)?;
        let commits_cf = self.cf(CF_COMMITS)?;
        let mut wb = WriteBatch::default();
        let mut new_own = *own;
        for b in &batch.blocks {
            wb.put_cf(blocks_cf, block_key(&b.reference()), b.signed().to_bytes());
            if Some(b.author()) == self.options.own_index && new_own < Some(b.round()) {
                new_own = Some(b.round());
            }
        }
        for c in &batch.commits {
            wb.put_cf(commits_cf, c.index.to_be_bytes(), c.to_bytes());
        }
        if new_own != *own {
            if let Some(r) = new_own {
                wb.put_cf(self.cf(CF_META)?, META_OWN_LAST_ROUND, r.to_le_bytes());
            }
        }
        if wb.is_empty() {
            return Ok(());
        }
        self.db.write_opt(wb, &self.write_options())?;
        *own = new_own;
        Ok(())
    }

    fn scan_blocks(&self, min_round: Round, max_round: Round) -> NodeResult<Vec<VerifiedBlock>> {
        let start = min_round.to_be_bytes();
        let iter = self.db.iterator_cf(
            self.cf(CF_BLOCKS)?,
            IteratorMode::From(&start, Direction::Forward),
        );
        let mut out = Vec::new();
        for item in iter {
            let (key, value) = item?;
            // Keys start with the round (big-endian): past `max_round`, nothing more matches.
            if key.len() >= 4 && Round::from_be_bytes([key[0], key[1], key[2], key[3]]) > max_round
            {
                break;
            }
            out.push(decode_block(&value)?);
        }
        Ok(out)
    }

    fn read(&self, refs: &[BlockRef]) -> NodeResult<Vec<Option<VerifiedBlock>>> {
        let cf = self.cf(CF_BLOCKS)?;
        let keys: Vec<_> = refs.iter().map(|r| (cf, block_key(r))).collect();
        self.db
            .multi_get_cf(keys)
            .into_iter()
            .map(|res| res?.map(|v| decode_block(&v)).transpose())
            .collect()
    }

    fn scan_commits(&self, from: CommitIndex, to: CommitIndex) -> NodeResult<Vec<Commit>> {
        let start = from.to_be_bytes();
        let iter = self.db.iterator_cf(
            self.cf(CF_COMMITS)?,
            IteratorMode::From(&start, Direction::Forward),
        );
        let mut out = Vec::new();
        for item in iter {
            let (_, value) = item?;
            let commit = decode_commit(&value)?;
            if commit.index > to {
                break;
            }
            out.push(commit);
        }
        Ok(out)
    }

    fn prune_below(&self, floor: PruneFloor) -> NodeResult<()> {
        let blocks_cf = self.cf(CF_BLOCKS)?;
        let commits_cf = self.cf(CF_COMMITS)?;
        // Block keys start with the round: every key of a lower round sorts below this one.
        let blocks_end = floor.round.to_be_bytes();
        // The last commit stays whatever the floor (recovery starts from it).
        let last = self.last_commit()?.map_or(0, |c| c.index);
        let commits_end = floor.commit.min(last).to_be_bytes();
        let mut wb = WriteBatch::default();
        wb.delete_range_cf(blocks_cf, [0u8; 4], blocks_end);
        wb.delete_range_cf(commits_cf, [0u8; 8], commits_end);
        self.db.write_opt(wb, &self.write_options())?;
        self.db
            .compact_range_cf(blocks_cf, None::<&[u8]>, Some(&blocks_end[..]));
        self.db
            .compact_range_cf(commits_cf, None::<&[u8]>, Some(&commits_end[..]));
        // The compactions flushed the blocks and commits; flushing the small metadata table too
        // lets RocksDB delete the write-ahead log files written before.
        self.db.flush_cf(self.cf(CF_META)?)?;
        Ok(())
    }

    /// Bytes the blocks and commits take on disk: their memtables are flushed first, then the
    /// live table files are measured (for tests and tools; it writes).
    pub fn disk_bytes(&self) -> NodeResult<u64> {
        let mut total = 0;
        for name in [CF_BLOCKS, CF_COMMITS] {
            let cf = self.cf(name)?;
            self.db.flush_cf(cf)?;
            total += self
                .db
                .property_int_value_cf(cf, "rocksdb.live-sst-files-size")?
                .unwrap_or(0);
        }
        Ok(total)
    }

    fn last_commit(&self) -> NodeResult<Option<Commit>> {
        let mut iter = self.db.iterator_cf(self.cf(CF_COMMITS)?, IteratorMode::End);
        match iter.next() {
            Some(item) => Ok(Some(decode_commit(&item?.1)?)),
            None => Ok(None),
        }
    }
}

/// Key of a block: sorts like [`BlockRef`] (round, author, digest).
fn block_key(r: &BlockRef) -> [u8; 40] {
    let mut k = [0u8; 40];
    k[..4].copy_from_slice(&r.round.to_be_bytes());
    k[4..8].copy_from_slice(&r.author.to_be_bytes());
    k[8..].copy_from_slice(&r.digest.0);
    k
}

fn decode_block(bytes: &[u8]) -> NodeResult<VerifiedBlock> {
    SignedBlock::from_bytes(bytes)
        .map(VerifiedBlock::new_trusted)
        .map_err(|e| NodeError::CorruptStore {
            column: CF_BLOCKS,
            reason: e.to_string(),
        })
}

fn decode_commit(bytes: &[u8]) -> NodeResult<Commit> {
    Commit::from_bytes(bytes).map_err(|e| NodeError::CorruptStore {
        column: CF_COMMITS,
        reason: e.to_string(),
    })
}

fn to_consensus(e: NodeError) -> ConsensusError {
    ConsensusError::Store(e.to_string())
}

impl Store for RocksStore {
    fn write(&self, batch: StoreBatch) -> ConsensusResult<()> {
        self.write_batch(batch).map_err(to_consensus)
    }
    fn scan_blocks_in_rounds(
        &self,
        min_round: Round,
        max_round: Round,
    ) -> ConsensusResult<Vec<VerifiedBlock>> {
        self.scan_blocks(min_round, max_round).map_err(to_consensus)
    }
    fn read_blocks(&self, refs: &[BlockRef]) -> ConsensusResult<Vec<Option<VerifiedBlock>>> {
        self.read(refs).map_err(to_consensus)
    }
    fn scan_commits_in(&self, from: CommitIndex, to: CommitIndex) -> ConsensusResult<Vec<Commit>> {
        self.scan_commits(from, to).map_err(to_consensus)
    }
    fn read_last_commit(&self) -> ConsensusResult<Option<Commit>> {
        self.last_commit().map_err(to_consensus)
    }
    fn prune(&self, floor: PruneFloor) -> ConsensusResult<()> {
        self.prune_below(floor).map_err(to_consensus)
    }
}
