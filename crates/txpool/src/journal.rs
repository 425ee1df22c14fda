//! The pool journal: a file of the transactions admitted to the pool, so that transactions not yet
//! mined survive a crash or `kill -9` of the node (geth's `transactions.rlp`).
//!
//! Format: a plain concatenation of RLP byte strings, each holding one EIP-2718 encoded
//! transaction, in admission order. Admissions are appended as they happen (written to the
//! operating system at once, not fsynced); entries of transactions that were mined, replaced or
//! evicted stay in the file until the next rewrite, which replaces it atomically (temporary file,
//! fsync, rename). A crash in the middle of an append leaves a torn last entry: loading stops at
//! the first entry that does not decode, keeps what came before and cuts the rest off.

use std::{
    fs::{File, OpenOptions},
    io::{Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
};

use alloy_consensus::TxEnvelope;
use alloy_eips::eip2718::Encodable2718;
use alloy_rlp::{Encodable, Header};
use fastevm_blobs::NetworkTransaction;

use crate::{PoolError, PoolResult};

/// A journal holding at most this many entries is not rewritten on a head update.
const MIN_ROTATION_ENTRIES: usize = 1024;

/// An open pool journal, positioned for appending.
#[derive(Debug)]
pub struct PoolJournal {
    path: PathBuf,
    file: File,
    /// Entries in the file (loaded or written since).
    entries: usize,
    /// Bytes cut off the end at open because they did not decode.
    discarded_bytes: u64,
    /// An append failed: the file may end in a torn entry and miss transactions until rewritten.
    damaged: bool,
    /// The pool never rewrites a journal of at most this many entries on a head update
    /// ([`MIN_ROTATION_ENTRIES`]; tests lower it).
    pub(crate) rotation_floor: usize,
}

fn io_error(action: &str, path: &Path, error: std::io::Error) -> PoolError {
    PoolError::Journal(format!("{action} {}: {error}", path.display()))
}

/// One journal entry: `raw` (an EIP-2718 encoding) as an RLP byte string.
fn entry(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + 9);
    raw.encode(&mut out);
    out
}

/// Decodes the entries at the start of `data`: the transactions and how many bytes they span.
/// Stops at the first entry that is not a complete RLP byte string holding a transaction.
fn decode_entries(data: &[u8]) -> (Vec<NetworkTransaction>, usize) {
    let mut txs = Vec::new();
    let mut rest = data;
    let mut valid = 0;
    while !rest.is_empty() {
        let mut cursor = rest;
        let Ok(payload) = Header::decode_bytes(&mut cursor, false) else {
            break;
        };
        let Ok(tx) = NetworkTransaction::decode(payload) else {
            break;
        };
        txs.push(tx);
        valid += rest.len() - cursor.len();
        rest = cursor;
    }
    (txs, valid)
}

impl PoolJournal {
    /// Opens (creating it and its directory if needed) the journal at `path` and returns the
    /// transactions it holds (blob transactions with their sidecars), oldest first. A tail that does not decode (a torn last write,
    /// garbage) is cut off so that later appends follow the last good entry.
    pub fn open(path: impl AsRef<Path>) -> PoolResult<(Self, Vec<NetworkTransaction>)> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io_error("creating", dir, e))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io_error("opening", &path, e))?;
        let mut data = Vec::new();
        file.read_to_end(&mut data)
            .map_err(|e| io_error("reading", &path, e))?;
        let (txs, valid) = decode_entries(&data);
        let discarded_bytes = (data.len() - valid) as u64;
        if discarded_bytes > 0 {
            file.set_len(valid as u64)
                .map_err(|e| io_error("truncating", &path, e))?;
        }
        file.seek(SeekFrom::Start(valid as u64))
            .map_err(|e| io_error("seeking in", &path, e))?;
        let journal = Self {
            path,
            file,
            entries: txs.len(),
            discarded_bytes,
            damaged: false,
            rotation_floor: MIN_ROTATION_ENTRIES,
        };
        Ok((journal, txs))
    }

    /// Where the journal lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Entries in the file, including those of transactions that have left the pool since.
    pub fn entries(&self) -> usize {
        self.entries
    }

    /// Bytes cut off the end of the file at open because they did not decode.
    pub fn discarded_bytes(&self) -> u64 {
        self.discarded_bytes
    }

    /// Appends one transaction (written to the operating system, not fsynced).
    pub fn append(&mut self, tx: &TxEnvelope) -> PoolResult<()> {
        self.append_encoded(&tx.encoded_2718())
    }

    /// Appends one EIP-2718 encoded transaction. After a failure the journal counts as damaged
    /// (see [`Self::is_damaged`]) until the next rewrite.
    pub(crate) fn append_encoded(&mut self, raw: &[u8]) -> PoolResult<()> {
        // One write call per entry, so a crash tears at most the last one.
        match self.file.write_all(&entry(raw)) {
            Ok(()) => {
                self.entries += 1;
                Ok(())
            }
            Err(error) => {
                self.damaged = true;
                Err(io_error("appending to", &self.path, error))
            }
        }
    }

    /// Whether an append failed since the last rewrite (the file may end in a torn entry and
    /// miss later transactions): the pool rewrites it at the next opportunity.
    pub fn is_damaged(&self) -> bool {
        self.damaged
    }

    /// Replaces the journal's contents with `txs`, atomically: they are written to a temporary
    /// file beside it, fsynced, and renamed over it; appends then go to the new file. On error
    /// the old journal stays as it was.
    pub fn rewrite<'a>(&mut self, txs: impl IntoIterator<Item = &'a TxEnvelope>) -> PoolResult<()> {
        let encoded: Vec<Vec<u8>> = txs.into_iter().map(|tx| tx.encoded_2718()).collect();
        self.rewrite_encoded(encoded.iter().map(Vec::as_slice))
    }

    /// [`Self::rewrite`] from EIP-2718 encodings.
    pub(crate) fn rewrite_encoded<'a>(
        &mut self,
        txs: impl IntoIterator<Item = &'a [u8]>,
    ) -> PoolResult<()> {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".new");
        let temp = self.path.with_file_name(name);
        let result = self.write_and_swap(&temp, txs);
        if result.is_err() {
            // Best effort: a stale temporary file is overwritten by the next rewrite anyway.
            let _ = std::fs::remove_file(&temp);
        }
        result
    }

    fn write_and_swap<'a>(
        &mut self,
        temp: &Path,
        txs: impl IntoIterator<Item = &'a [u8]>,
    ) -> PoolResult<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(temp)
            .map_err(|e| io_error("creating", temp, e))?;
        let mut buffer = Vec::new();
        let mut entries = 0;
        for raw in txs {
            raw.encode(&mut buffer);
            entries += 1;
        }
        file.write_all(&buffer)
            .and_then(|()| file.sync_all())
            .map_err(|e| io_error("writing", temp, e))?;
        std::fs::rename(temp, &self.path).map_err(|e| io_error("replacing", &self.path, e))?;
        sync_parent(&self.path);
        // The handle written through is the journal now, positioned at its end.
        self.file = file;
        self.entries = entries;
        self.damaged = false;
        Ok(())
    }
}

/// Makes a rename durable by syncing its directory (best effort: not every platform allows
/// opening a directory, and the rename itself already happened).
fn sync_parent(path: &Path) {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_utils::{test_signer, TxBuilder, TxType};

    fn canonical(loaded: Vec<NetworkTransaction>) -> Vec<TxEnvelope> {
        loaded.into_iter().map(|n| n.tx).collect()
    }

    fn txs(count: u64) -> Vec<TxEnvelope> {
        (0..count)
            .map(|nonce| TxBuilder::eip1559().nonce(nonce).sign(&test_signer(0)))
            .collect()
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/txpool.rlp");
        let (mut journal, loaded) = PoolJournal::open(&path).unwrap();
        assert!(loaded.is_empty());
        let mut written = txs(3);
        // Every accepted type round-trips, legacy included.
        written.push(TxBuilder::of_type(TxType::Legacy).sign(&test_signer(1)));
        written.push(TxBuilder::of_type(TxType::Eip2930).sign(&test_signer(1)));
        written.push(TxBuilder::of_type(TxType::Eip7702).sign(&test_signer(1)));
        for tx in &written {
            journal.append(tx).unwrap();
        }
        assert_eq!(journal.entries(), written.len());
        drop(journal);

        let (journal, loaded) = PoolJournal::open(&path).unwrap();
        assert_eq!(canonical(loaded), written);
        assert_eq!(journal.entries(), written.len());
        assert_eq!(journal.discarded_bytes(), 0);
        // A file is a plain concatenation of RLP strings.
        let data = std::fs::read(&path).unwrap();
        let expected: Vec<u8> = written
            .iter()
            .flat_map(|tx| entry(&tx.encoded_2718()))
            .collect();
        assert_eq!(data, expected);
    }

    #[test]
    fn torn_tail_is_cut_off_and_appends_follow_the_last_good_entry() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("txpool.rlp");
        let written = txs(4);
        let (mut journal, _) = PoolJournal::open(&path).unwrap();
        for tx in &written[..3] {
            journal.append(tx).unwrap();
        }
        drop(journal);
        // A crash in the middle of the third append.
        let full = std::fs::metadata(&path).unwrap().len();
        let torn = full - 10;
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(torn)
            .unwrap();

        let (mut journal, loaded) = PoolJournal::open(&path).unwrap();
        assert_eq!(canonical(loaded), written[..2]);
        let third_start: usize = written[..2]
            .iter()
            .map(|tx| entry(&tx.encoded_2718()).len())
            .sum();
        let third_start = third_start as u64;
        assert_eq!(journal.discarded_bytes(), torn - third_start);
        journal.append(&written[3]).unwrap();
        drop(journal);
        let (_, loaded) = PoolJournal::open(&path).unwrap();
        assert_eq!(canonical(loaded), [&written[..2], &written[3..]].concat());
    }

    #[test]
    fn garbage_is_never_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("txpool.rlp");
        let good = entry(&txs(1)[0].encoded_2718());
        let cases: Vec<Vec<u8>> = vec![
            vec![0xff; 64],                      // a list header claiming 2^64 bytes
            vec![0xc0],                          // an empty list
            vec![0x05],                          // a single byte
            vec![0x82, 0x01, 0x02],              // a string that is not a transaction
            vec![0xb9, 0x00, 0x05],              // a non-canonical length
            [&good[..], &[0xb9, 0xff]].concat(), // a good entry, then a torn header
        ];
        for (index, data) in cases.into_iter().enumerate() {
            std::fs::write(&path, &data).unwrap();
            let (journal, loaded) = PoolJournal::open(&path).unwrap();
            let expected = usize::from(index == 5);
            assert_eq!(loaded.len(), expected, "case {index}");
            assert_eq!(journal.entries(), expected);
            let kept = if expected == 1 { good.len() } else { 0 };
            assert_eq!(std::fs::metadata(&path).unwrap().len(), kept as u64);
        }
    }

    #[test]
    fn rewrite_replaces_the_contents_and_appends_continue() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("txpool.rlp");
        let written = txs(5);
        let (mut journal, _) = PoolJournal::open(&path).unwrap();
        for tx in &written[..4] {
            journal.append(tx).unwrap();
        }
        journal.rewrite(&written[2..4]).unwrap();
        assert_eq!(journal.entries(), 2);
        journal.append(&written[4]).unwrap();
        assert_eq!(journal.entries(), 3);
        drop(journal);
        let (_, loaded) = PoolJournal::open(&path).unwrap();
        assert_eq!(canonical(loaded), written[2..]);
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn an_unusable_path_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be.
        let error = PoolJournal::open(dir.path()).unwrap_err();
        assert!(matches!(error, PoolError::Journal(_)), "{error}");
    }
}
