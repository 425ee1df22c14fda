//! The RocksDB handle: opening, raw table access, chain pointers and block reads.

use crate::{
    codec::{block_number_key, decode_b256, TxLocation},
    persistence::{StagedWrites, WriteBehind},
    state_cache::StateCache,
    MetaKey, Persistence, StorageError, Table,
};
use alloy_consensus::{BlockBody, Header, ReceiptEnvelope, TxEnvelope};
use alloy_primitives::{Address, Bytes, B256};
use alloy_rlp::Decodable;
use parking_lot::RwLock;
use rocksdb::{ColumnFamilyDescriptor, Options, WriteBatch, WriteOptions, DB};
use std::{path::Path, sync::Arc};

/// Tuning of the store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// fsync the write-ahead log on every write to disk (survives power loss, slower).
    /// Without it every write is still atomic and survives a process crash.
    pub sync_writes: bool,
    /// Whether blocks reach the disk before the call that stores them returns, or from a
    /// background thread (readers see them at once either way).
    pub persistence: Persistence,
    /// Entries of the account cache.
    pub account_cache_entries: u64,
    /// Entries of the storage-slot cache.
    pub storage_cache_entries: u64,
    /// Bytes of the bytecode and trie-node caches (each).
    pub blob_cache_bytes: u64,
    /// Bytes of RocksDB's block cache, shared by every column family (data, index and filter
    /// blocks).
    pub block_cache_bytes: usize,
    /// Keep everything in memory (RocksDB's memory environment): for tests and tools that
    /// import throw-away chains. Nothing survives the process.
    pub in_memory: bool,
}

impl StoreOptions {
    /// Small caches, in memory: for tests and throw-away imports.
    pub fn in_memory() -> Self {
        Self {
            account_cache_entries: 1 << 14,
            storage_cache_entries: 1 << 14,
            blob_cache_bytes: 8 << 20,
            block_cache_bytes: 8 << 20,
            in_memory: true,
            ..Self::default()
        }
    }
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            sync_writes: false,
            persistence: Persistence::DEFAULT_BACKGROUND,
            account_cache_entries: 1 << 20,
            storage_cache_entries: 1 << 21,
            blob_cache_bytes: 256 << 20,
            block_cache_bytes: 256 << 20,
            in_memory: false,
        }
    }
}

/// The safe and finalized blocks of a forkchoice, recorded with a head move or on their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SafeAndFinalized {
    /// The latest safe block.
    pub safe: B256,
    /// The latest finalized block.
    pub finalized: B256,
}

impl SafeAndFinalized {
    pub(crate) fn put(&self, writes: &mut StagedWrites) {
        writes.put(Table::Metadata, MetaKey::Safe.key(), self.safe.to_vec());
        writes.put(
            Table::Metadata,
            MetaKey::Finalized.key(),
            self.finalized.to_vec(),
        );
    }
}

/// The chain database: blocks, receipts, canonical chain, flat state of the canonical head and
/// trie nodes of every retained state root.
///
/// Readers and the single block writer may use it concurrently. State reads go through a moka
/// cache that is updated under the same lock as the block's writes are staged, so a reader never
/// sees a value that a committed block changed. With [`Persistence::Background`] every read
/// looks at the staged writes not yet on disk before RocksDB.
pub struct ChainStore {
    /// Closed after `write_behind` has put everything staged on disk (fields drop in order).
    pub(crate) write_behind: Option<WriteBehind>,
    pub(crate) db: Arc<DB>,
    pub(crate) cache: StateCache,
    /// Held for reading by cached state reads and for writing while the canonical state changes.
    pub(crate) state_lock: RwLock<()>,
    pub(crate) options: StoreOptions,
}

impl std::fmt::Debug for ChainStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainStore")
            .field("path", &self.db.path())
            .finish()
    }
}

impl ChainStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: impl AsRef<Path>, options: StoreOptions) -> Result<Self, StorageError> {
        let mut db_opts = Options::default();
        db_opts.create_if_missing(true);
        db_opts.create_missing_column_families(true);
        db_opts.set_max_open_files(512);
        db_opts.increase_parallelism(2);
        if options.in_memory {
            db_opts.set_env(&rocksdb::Env::mem_env()?);
        }
        let block_cache = rocksdb::Cache::new_lru_cache(options.block_cache_bytes);
        let cfs = Table::ALL.iter().map(|t| {
            ColumnFamilyDescriptor::new(t.name(), column_family_options(*t, &block_cache))
        });
        // RocksDB's memory environment only accepts absolute paths.
        let path = if options.in_memory && path.as_ref().is_relative() {
            Path::new("/fastevm-in-memory").join(path)
        } else {
            path.as_ref().to_path_buf()
        };
        let db = Arc::new(DB::open_cf_descriptors(&db_opts, path, cfs)?);
        let cache = StateCache::new(&options);
        let write_behind = match options.persistence {
            Persistence::WriteThrough => None,
            Persistence::Background { max_pending } => Some(WriteBehind::start(
                db.clone(),
                options.sync_writes,
                max_pending,
                cache.trie_nodes.clone(),
            )?),
        };
        Ok(Self {
            write_behind,
            db,
            cache,
            state_lock: RwLock::new(()),
            options,
        })
    }

    pub(crate) fn cf(&self, table: Table) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(table.name())
            .expect("every table is opened in ChainStore::open")
    }

    /// Raw read of one key: the newest staged value if it may not be on disk yet, else
    /// RocksDB's.
    pub fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        if let Some(staged) = self
            .write_behind
            .as_ref()
            .and_then(|w| w.lookup(table, key))
        {
            return Ok(staged.map(|value| value.to_vec()));
        }
        Ok(self.db.get_cf(self.cf(table), key)?)
    }

    /// Stores writes that belong together: readers see all of them from now on, and they reach
    /// the disk in one atomic batch (before returning, or in the background; see
    /// [`Persistence`]).
    pub(crate) fn persist(&self, writes: StagedWrites) -> Result<(), StorageError> {
        if let Some(write_behind) = &self.write_behind {
            return write_behind.stage(writes);
        }
        self.write_now(writes)
    }

    /// Writes `writes` to disk before returning, after everything staged before them, whatever
    /// the store's [`Persistence`] (the genesis: a bulk load no reader waits for).
    pub(crate) fn persist_now(&self, writes: StagedWrites) -> Result<(), StorageError> {
        self.flush()?;
        self.write_now(writes)
    }

    fn write_now(&self, writes: StagedWrites) -> Result<(), StorageError> {
        let mut batch = WriteBatch::default();
        writes.add_to(&self.db, &mut batch);
        let mut opts = WriteOptions::default();
        opts.set_sync(self.options.sync_writes);
        self.db.write_opt(batch, &opts)?;
        if writes.is_bulk() {
            // A bulk load (a genesis of millions of accounts) fills the memtables: move them into
            // table files now, so that neither the first blocks' reads (which search every
            // memtable entry by entry) nor a restart (which replays them from the log) pay for it.
            let cfs: Vec<_> = Table::ALL.iter().map(|t| self.cf(*t)).collect();
            self.db
                .flush_cfs_opt(&cfs, &rocksdb::FlushOptions::default())?;
        }
        writes.cache_trie_nodes(&self.cache.trie_nodes);
        Ok(())
    }

    /// Waits until every write so far is on disk (a no-op for write-through stores). Dropping
    /// the store does the same.
    pub fn flush(&self) -> Result<(), StorageError> {
        match &self.write_behind {
            Some(write_behind) => write_behind.flush(),
            None => Ok(()),
        }
    }

    /// Reads a chain pointer or other metadata.
    pub fn meta(&self, key: MetaKey) -> Result<Option<Vec<u8>>, StorageError> {
        self.get(Table::Metadata, key.key())
    }

    fn meta_hash(&self, key: MetaKey) -> Result<Option<B256>, StorageError> {
        self.meta(key)?
            .map(|v| decode_b256("metadata", &v))
            .transpose()
    }

    /// Writes metadata atomically on its own (not part of a block).
    pub fn put_meta(&self, key: MetaKey, value: &[u8]) -> Result<(), StorageError> {
        let mut writes = StagedWrites::default();
        writes.put(Table::Metadata, key.key(), value.to_vec());
        self.persist(writes)
    }

    /// Hash of the genesis block, if the database is initialised.
    pub fn genesis_hash(&self) -> Result<Option<B256>, StorageError> {
        self.meta_hash(MetaKey::Genesis)
    }

    /// Hash of the canonical head.
    pub fn head_hash(&self) -> Result<B256, StorageError> {
        self.meta_hash(MetaKey::Head)?
            .ok_or(StorageError::NotInitialised)
    }

    /// Hash of the latest safe block (genesis until a forkchoice update sets it).
    pub fn safe_hash(&self) -> Result<Option<B256>, StorageError> {
        self.meta_hash(MetaKey::Safe)
    }

    /// Hash of the latest finalized block.
    pub fn finalized_hash(&self) -> Result<Option<B256>, StorageError> {
        self.meta_hash(MetaKey::Finalized)
    }

    /// Records the safe and finalized blocks of the latest forkchoice, atomically (nothing is
    /// written when both are already recorded).
    pub fn set_safe_and_finalized(&self, safe: B256, finalized: B256) -> Result<(), StorageError> {
        if self.safe_hash()? == Some(safe) && self.finalized_hash()? == Some(finalized) {
            return Ok(());
        }
        let mut writes = StagedWrites::default();
        SafeAndFinalized { safe, finalized }.put(&mut writes);
        self.persist(writes)
    }

    /// Header of any stored block.
    pub fn header(&self, hash: &B256) -> Result<Option<Header>, StorageError> {
        if let Some(header) = self.cache.headers.get(hash) {
            return Ok(Some(header));
        }
        let header = self
            .get(Table::Headers, hash.as_slice())?
            .map(|v| {
                Header::decode(&mut v.as_slice())
                    .map_err(|e| StorageError::decode("headers", e.to_string()))
            })
            .transpose()?;
        if let Some(header) = &header {
            // Keyed by its own hash: a cached header never goes stale.
            self.cache.headers.insert(*hash, header.clone());
        }
        Ok(header)
    }

    /// Header of the canonical head.
    pub fn head_header(&self) -> Result<Header, StorageError> {
        let head = self.head_hash()?;
        self.header(&head)?.ok_or(StorageError::MissingBlock(head))
    }

    /// Body of any stored block.
    pub fn body(&self, hash: &B256) -> Result<Option<BlockBody<TxEnvelope>>, StorageError> {
        self.get(Table::Bodies, hash.as_slice())?
            .map(|v| {
                BlockBody::<TxEnvelope>::decode(&mut v.as_slice())
                    .map_err(|e| StorageError::decode("bodies", e.to_string()))
            })
            .transpose()
    }

    /// Recovered senders of a block's transactions, in transaction order.
    pub fn senders(&self, hash: &B256) -> Result<Option<Vec<Address>>, StorageError> {
        let Some(raw) = self.get(Table::Senders, hash.as_slice())? else {
            return Ok(None);
        };
        if !raw.len().is_multiple_of(20) {
            return Err(StorageError::decode(
                "senders",
                "length is not a multiple of 20",
            ));
        }
        Ok(Some(
            raw.chunks_exact(20).map(Address::from_slice).collect(),
        ))
    }

    /// Receipts of any stored block.
    pub fn receipts(&self, hash: &B256) -> Result<Option<Vec<ReceiptEnvelope>>, StorageError> {
        self.get(Table::Receipts, hash.as_slice())?
            .map(|v| {
                Vec::<ReceiptEnvelope>::decode(&mut v.as_slice())
                    .map_err(|e| StorageError::decode("receipts", e.to_string()))
            })
            .transpose()
    }

    /// Hash of the canonical block at `number`.
    pub fn canonical_hash(&self, number: u64) -> Result<Option<B256>, StorageError> {
        self.get(Table::CanonicalHashes, &block_number_key(number))?
            .map(|v| decode_b256("canonical_hashes", &v))
            .transpose()
    }

    /// Whether `hash` is on the canonical chain.
    pub fn is_canonical(&self, hash: &B256) -> Result<bool, StorageError> {
        let Some(header) = self.header(hash)? else {
            return Ok(false);
        };
        Ok(self.canonical_hash(header.number)?.as_ref() == Some(hash))
    }

    /// Location of a canonical transaction.
    pub fn tx_location(&self, tx_hash: &B256) -> Result<Option<TxLocation>, StorageError> {
        self.get(Table::TxLocations, tx_hash.as_slice())?
            .map(|v| TxLocation::decode(&v))
            .transpose()
    }

    /// Bytecode by code hash (any block's).
    pub fn code(&self, code_hash: &B256) -> Result<Option<Bytes>, StorageError> {
        if let Some(code) = self.cache.code.get(code_hash) {
            return Ok(Some(code));
        }
        let code = self
            .get(Table::Bytecode, code_hash.as_slice())?
            .map(Bytes::from);
        if let Some(code) = &code {
            // Code is content-addressed: caching it can never serve a stale value.
            self.cache.code.insert(*code_hash, code.clone());
        }
        Ok(code)
    }

    /// A trie node by hash if it is in memory: in the node cache, or staged by a block whose
    /// writes are not on disk yet. Never reads the disk.
    pub fn trie_node_in_memory(&self, hash: &B256) -> Option<Bytes> {
        if let Some(node) = self.cache.trie_nodes.get(hash) {
            return Some(node);
        }
        self.write_behind
            .as_ref()
            .and_then(|w| w.lookup(Table::TrieNodes, hash.as_slice()))
            .flatten()
    }

    /// A trie node by hash.
    pub fn trie_node(&self, hash: &B256) -> Result<Option<Bytes>, StorageError> {
        if let Some(node) = self.cache.trie_nodes.get(hash) {
            return Ok(Some(node));
        }
        let node = self
            .get(Table::TrieNodes, hash.as_slice())?
            .map(Bytes::from);
        if let Some(node) = &node {
            self.cache.trie_nodes.insert(*hash, node.clone());
        }
        Ok(node)
    }
}

/// Options of one column family. Every table is read by point lookups of hash or address keys:
/// bloom filters spare reads of keys that are absent, index and filter blocks live in the shared
/// block cache, and tables whose keys and values are hashes (trie nodes, tx lookups, canonical
/// hashes, senders) are not compressed (they do not compress; LZ4 only costs CPU).
fn column_family_options(table: Table, block_cache: &rocksdb::Cache) -> Options {
    let mut table_opts = rocksdb::BlockBasedOptions::default();
    table_opts.set_block_cache(block_cache);
    table_opts.set_bloom_filter(10.0, false);
    table_opts.set_cache_index_and_filter_blocks(true);
    table_opts.set_cache_index_and_filter_blocks_with_high_priority(true);
    table_opts.set_pin_l0_filter_and_index_blocks_in_cache(true);
    table_opts.set_format_version(5);
    let mut cf_opts = Options::default();
    cf_opts.set_block_based_table_factory(&table_opts);
    let incompressible = matches!(
        table,
        Table::TrieNodes
            | Table::TxLocations
            | Table::CanonicalHashes
            | Table::Senders
            | Table::Accounts
            | Table::Metadata
    );
    cf_opts.set_compression_type(if incompressible {
        rocksdb::DBCompressionType::None
    } else {
        rocksdb::DBCompressionType::Lz4
    });
    cf_opts
}

impl fastevm_trie::NodeStore for ChainStore {
    fn node(&self, hash: &B256) -> Result<Option<Bytes>, fastevm_trie::TrieError> {
        self.trie_node(hash).map_err(fastevm_trie::TrieError::store)
    }
}
