//! The pool with a journal: restoring from it at start, appending every admission, and rewriting
//! it when it holds mostly transactions that have left the pool.

use std::path::Path;

use alloy_primitives::Bytes;

use super::TxPool;
use crate::{journal::PoolJournal, PoolConfig, PoolError, PoolResult, PoolState};

/// What [`TxPool::with_journal`] found in the journal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JournalReport {
    /// Transactions read from the file.
    pub loaded: usize,
    /// Those admitted again (the others were mined, replaced or no longer valid).
    pub readmitted: usize,
    /// Bytes cut off the end of the file because they did not decode (a torn last write).
    pub discarded_bytes: u64,
}

/// A journal holding more than this many entries for a pool of `pool_len` transactions is
/// rewritten: every append is then rewritten at most about once (amortised constant cost), and
/// the file stays within a small multiple of the pool's size.
fn rotation_due(journal: &PoolJournal, pool_len: usize) -> bool {
    journal.is_damaged() || journal.entries() > journal.rotation_floor.max(2 * pool_len)
}

impl TxPool {
    /// A pool restored from the journal at `path` (created if absent) that records every
    /// admission there from now on.
    ///
    /// Each journaled transaction goes through the normal admission against `state` and
    /// `base_fee`, in journal order (so a replacement beats the transaction it replaced again);
    /// those mined meanwhile fail "nonce too low" and are dropped with the other rejects. The
    /// journal is then rewritten with what was admitted. From then on every admission — pending
    /// or queued, replacements and reorg reinjections included — is appended; entries of
    /// transactions that left the pool are dropped when [`Self::on_new_head`] finds the journal
    /// holding more than `max(1024, 2 × pool size)` entries, or by [`Self::rotate_journal`].
    ///
    /// Fails when the file cannot be opened or read, or when `state` cannot be read (the journal
    /// is then left as it was).
    pub fn with_journal(
        config: PoolConfig,
        chain_id: u64,
        path: impl AsRef<Path>,
        state: &dyn PoolState,
        base_fee: u64,
    ) -> PoolResult<(Self, JournalReport)> {
        let pool = Self::new(config, chain_id);
        let (mut journal, txs) = PoolJournal::open(path)?;
        let mut report = JournalReport {
            loaded: txs.len(),
            readmitted: 0,
            discarded_bytes: journal.discarded_bytes(),
        };
        for tx in txs {
            match pool.add_network(tx, state, base_fee) {
                Ok(_) => report.readmitted += 1,
                Err(error @ PoolError::State(_)) => return Err(error),
                Err(_) => {}
            }
        }
        let snapshot = pool.journal_snapshot();
        if let Err(error) = journal.rewrite_encoded(snapshot.iter().map(|tx| &tx[..])) {
            // The old file is intact and still valid; its stale entries go at the next rotation.
            tracing::warn!(%error, "could not compact the txpool journal");
        }
        *pool.journal.lock() = Some(journal);
        Ok((pool, report))
    }

    /// Rewrites the journal with exactly the pooled transactions (e.g. at a clean shutdown).
    /// Does nothing for a pool without a journal.
    pub fn rotate_journal(&self) -> PoolResult<()> {
        let mut journal = self.journal.lock();
        match journal.as_mut() {
            Some(journal) => self.rewrite_journal(journal),
            None => Ok(()),
        }
    }

    /// Entries in the journal file (`None` without a journal).
    pub fn journal_entries(&self) -> Option<usize> {
        self.journal.lock().as_ref().map(PoolJournal::entries)
    }

    /// Rewrites the journal if it is due (see [`rotation_due`]); failures are logged, the pool
    /// goes on with the old file.
    pub(super) fn rotate_journal_if_due(&self) {
        let mut journal = self.journal.lock();
        let Some(journal) = journal.as_mut() else {
            return;
        };
        if !rotation_due(journal, self.len()) {
            return;
        }
        if let Err(error) = self.rewrite_journal(journal) {
            tracing::warn!(%error, "could not rotate the txpool journal");
        }
    }

    /// Rewrites `journal` (whose lock the caller holds, so no admission slips in between the
    /// snapshot and the rewrite) with the pool's transactions.
    fn rewrite_journal(&self, journal: &mut PoolJournal) -> PoolResult<()> {
        let snapshot = self.journal_snapshot();
        journal.rewrite_encoded(snapshot.iter().map(|tx| &tx[..]))
    }

    /// The EIP-2718 encodings of all pooled transactions in admission order, so that a reload
    /// admits them as they came (each sender's replacements and gaps included).
    fn journal_snapshot(&self) -> Vec<Bytes> {
        let set = self.set.read();
        let mut txs: Vec<(u64, Bytes)> = set
            .senders
            .values()
            .flat_map(|sender| sender.txs.values())
            .map(|tx| (tx.arrival, tx.valid.encoded.clone()))
            .collect();
        txs.sort_unstable_by_key(|(arrival, _)| *arrival);
        txs.into_iter().map(|(_, encoded)| encoded).collect()
    }
}
