//! The public pool handle: validation outside the lock, bookkeeping inside it.

use std::{collections::BTreeMap, sync::Arc};

use alloy_consensus::TxEnvelope;
use alloy_eips::eip4844::{BlobAndProofV1, BlobAndProofV2};
use alloy_primitives::{Address, Bytes, B256};
use fastevm_blobs::{
    blob_and_proof_v1, blob_and_proof_v2, check_sidecar, BlobSidecar, NetworkTransaction,
};
use parking_lot::{Mutex, RwLock};

use crate::{
    best,
    journal::PoolJournal,
    left_out::LeftOutLog,
    sender_txs::{PoolTx, SenderTxs},
    tx_set::TxSet,
    validation::{decode_raw, validate, ValidTx},
    PoolConfig, PoolContent, PoolError, PoolState, PoolStatus, PooledTransaction,
};

mod journaled;
pub use journaled::JournalReport;

/// FastEVM's transaction pool. Internally locked: share it as `Arc<TxPool>`.
#[derive(Debug)]
pub struct TxPool {
    chain_id: u64,
    config: PoolConfig,
    set: RwLock<TxSet>,
    /// Where admissions are recorded, if anywhere. Lock order: `journal`, then `set`, so that
    /// the file receives admissions in the order the pool made them.
    journal: Mutex<Option<PoolJournal>>,
    /// Transactions built blocks left out, for the pool feeds to offer again.
    left_out: Mutex<LeftOutLog>,
}

fn view(tx: &PoolTx, is_pending: bool) -> PooledTransaction {
    PooledTransaction {
        tx: tx.valid.tx.clone(),
        sender: tx.valid.sender,
        is_pending,
    }
}

/// Adds one sender's transactions to `content`.
fn add_content(content: &mut PoolContent, address: Address, sender: &SenderTxs) {
    let pending: BTreeMap<u64, PooledTransaction> = sender
        .pending()
        .map(|tx| (tx.valid.nonce, view(tx, true)))
        .collect();
    let queued: BTreeMap<u64, PooledTransaction> = sender
        .queued()
        .map(|tx| (tx.valid.nonce, view(tx, false)))
        .collect();
    if !pending.is_empty() {
        content.pending.insert(address, pending);
    }
    if !queued.is_empty() {
        content.queued.insert(address, queued);
    }
}

impl TxPool {
    /// An empty pool for `chain_id`.
    pub fn new(config: PoolConfig, chain_id: u64) -> Self {
        Self {
            chain_id,
            set: RwLock::new(TxSet::new(config.clone())),
            config,
            journal: Mutex::new(None),
            left_out: Mutex::new(LeftOutLog::default()),
        }
    }

    /// The pool's limits.
    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// The chain id transactions must carry.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// Decodes EIP-2718 bytes (legacy RLP too), recovers the sender, validates, inserts.
    /// Returns the tx hash.
    pub fn add_raw(
        &self,
        raw: &[u8],
        state: &dyn PoolState,
        base_fee: u64,
    ) -> Result<B256, PoolError> {
        self.add_raw_recovered(raw, state, base_fee)
            .map(|(hash, _)| hash)
    }

    /// [`TxPool::add_raw`], also returning the recovered sender (so the node can remember it and
    /// not recover it again when the transaction is built into a block).
    pub fn add_raw_recovered(
        &self,
        raw: &[u8],
        state: &dyn PoolState,
        base_fee: u64,
    ) -> Result<(B256, Address), PoolError> {
        self.add_network(decode_raw(raw, &self.config)?, state, base_fee)
    }

    /// Admits a decoded network-form transaction (a blob transaction with its sidecar).
    pub(crate) fn add_network(
        &self,
        NetworkTransaction { tx, sidecar }: NetworkTransaction,
        state: &dyn PoolState,
        base_fee: u64,
    ) -> Result<(B256, Address), PoolError> {
        if self.contains(tx.tx_hash()) {
            return Err(PoolError::AlreadyKnown);
        }
        let sidecar = match sidecar {
            Some(sidecar) => {
                // KZG checks (and, from Osaka on, cell proofs computed) outside every lock.
                let rules = state.blob_rules().ok_or(PoolError::TxTypeNotSupported)?;
                Some(Arc::new(check_sidecar(&tx, sidecar, &rules)?))
            }
            None if tx.is_eip4844() && state.blob_rules().is_none() => {
                return Err(PoolError::TxTypeNotSupported)
            }
            None => None,
        };
        let valid = validate(tx, sidecar, None, &self.config, self.chain_id, base_fee)?;
        let sender = valid.sender;
        Ok((self.insert_valid(valid, state, base_fee)?, sender))
    }

    /// Validates a decoded transaction (recovering its sender) and inserts it. Returns the hash.
    pub fn add_transaction(
        &self,
        tx: TxEnvelope,
        state: &dyn PoolState,
        base_fee: u64,
    ) -> Result<B256, PoolError> {
        // Without a sidecar: a blob transaction is refused ("missing sidecar").
        let network = NetworkTransaction { tx, sidecar: None };
        self.add_network(network, state, base_fee)
            .map(|(hash, _)| hash)
    }

    /// Reads the sender's account and inserts under the lock.
    fn insert_valid(
        &self,
        valid: ValidTx,
        state: &dyn PoolState,
        base_fee: u64,
    ) -> Result<B256, PoolError> {
        let account = state.account(&valid.sender).map_err(PoolError::State)?;
        let encoded = valid.encoded.clone();
        let mut journal = self.journal.lock();
        let hash = self.set.write().insert(valid, account, base_fee)?;
        if let Some(journal) = journal.as_mut() {
            if let Err(error) = journal.append_encoded(&encoded) {
                // The transaction stays pooled; the journal is rewritten at the next head.
                tracing::warn!(%error, "could not journal a pooled transaction");
            }
        }
        Ok(hash)
    }

    /// Executable ("pending") txs for the next block: per sender in nonce order, across senders
    /// by effective tip at `base_fee` (ties broken by arrival order); a tx whose max fee is below
    /// `base_fee` is skipped together with everything after it from that sender.
    pub fn best_transactions(&self, base_fee: u64, max: usize) -> Vec<(TxEnvelope, Address)> {
        best::best_transactions(&self.set.read(), base_fee, max)
    }

    /// The canonical head moved: re-reads each pooled sender's nonce and balance from `state`,
    /// drops txs below the account nonce (mined or replaced) and txs costing more than the whole
    /// balance, promotes queued txs whose gap closed, demotes txs the balance can no longer pay
    /// in sequence, and evicts the cheapest txs if promotions overfilled the pending set.
    /// `reinjected` are the txs of blocks that left the canonical chain (reorg), with their
    /// senders: each is re-added if still valid. A sender whose account cannot be read keeps its
    /// previous view. Finally rewrites the journal, if there is one, when it has grown well past
    /// the pool (see [`Self::with_journal`]).
    pub fn on_new_head(
        &self,
        state: &dyn PoolState,
        base_fee: u64,
        reinjected: Vec<(TxEnvelope, Address)>,
    ) {
        let senders: Vec<Address> = self.set.read().senders.keys().copied().collect();
        let accounts: Vec<_> = senders
            .into_iter()
            .filter_map(|address| Some((address, state.account(&address).ok()?)))
            .collect();
        {
            let mut set = self.set.write();
            for (address, account) in accounts {
                set.reset_sender(address, account);
            }
            set.enforce_limits(base_fee);
        }
        for (tx, sender) in reinjected {
            let Ok(valid) = validate(
                tx,
                None,
                Some(sender),
                &self.config,
                self.chain_id,
                base_fee,
            ) else {
                continue;
            };
            // A tx that is no longer valid (mined again on the new branch, say) is dropped.
            let _ = self.insert_valid(valid, state, base_fee);
        }
        self.rotate_journal_if_due();
    }

    /// Pending txs that entered the pending set after sequence `after`, in the order they
    /// entered it, as EIP-2718 bytes, plus the sequence to pass next time. Each entry into the
    /// pending set is returned once; a tx that leaves the set (demoted) and re-enters it later is
    /// returned again. Start with `after = 0`.
    pub fn pending_since(&self, after: u64, max: usize) -> (Vec<(B256, Bytes)>, u64) {
        let set = self.set.read();
        let (entries, next) = set.log.since(after, max);
        let txs = entries
            .into_iter()
            .filter_map(|(_, hash)| Some((hash, set.get(&hash)?.0.valid.encoded.clone())))
            .collect();
        (txs, next)
    }

    /// Hashes of txs that entered the pending set after `after` and are still pending (for
    /// pending-transaction filters and subscriptions), in the same sequence space as
    /// [`Self::pending_since`], plus the sequence to pass next time.
    pub fn pending_hashes_since(&self, after: u64) -> (Vec<B256>, u64) {
        let (entries, next) = self.set.read().log.since(after, usize::MAX);
        (entries.into_iter().map(|(_, hash)| hash).collect(), next)
    }

    /// The latest sequence handed out: a new filter starts here to see only later txs.
    pub fn pending_sequence(&self) -> u64 {
        self.set.read().log.last_seq()
    }

    /// The pooled transaction with `hash`.
    pub fn get(&self, hash: &B256) -> Option<PooledTransaction> {
        let set = self.set.read();
        let (tx, is_pending) = set.get(hash)?;
        Some(view(tx, is_pending))
    }

    /// When each of `hashes` was admitted (`None`: not pooled), for latency metrics.
    pub fn admission_times(&self, hashes: &[B256]) -> Vec<Option<std::time::Instant>> {
        let set = self.set.read();
        hashes
            .iter()
            .map(|hash| set.get(hash).map(|(tx, _)| tx.valid.admitted))
            .collect()
    }

    /// The sender, nonce and network-form bytes (with the blob sidecar, if any) of `hash` while
    /// it is pending.
    pub(crate) fn pending_entry(&self, hash: &B256) -> Option<(Address, u64, Bytes)> {
        let set = self.set.read();
        let (tx, is_pending) = set.get(hash)?;
        is_pending.then(|| (tx.valid.sender, tx.valid.nonce, tx.valid.encoded.clone()))
    }

    /// Notes that a built block left out the transactions `hashes` of the order it was given:
    /// the pool feeds offer those still pending again at their next proposal.
    pub fn note_left_out(&self, hashes: impl IntoIterator<Item = B256>) {
        self.left_out.lock().note(hashes);
    }

    /// Hashes noted by [`TxPool::note_left_out`] after sequence `after`, oldest first, and the
    /// sequence to pass next time.
    pub fn left_out_since(&self, after: u64) -> (Vec<B256>, u64) {
        self.left_out.lock().since(after)
    }

    /// The verified sidecar of the pooled blob transaction `hash`.
    pub fn blob_sidecar(&self, hash: &B256) -> Option<Arc<BlobSidecar>> {
        self.set.read().get(hash)?.0.valid.sidecar.clone()
    }

    /// For each versioned hash, the pooled blob with its KZG proof (sidecars kept with blob
    /// proofs, before Osaka): `engine_getBlobsV1`.
    pub fn blobs_v1(&self, versioned_hashes: &[B256]) -> Vec<Option<BlobAndProofV1>> {
        self.find_blobs(versioned_hashes, blob_and_proof_v1)
    }

    /// For each versioned hash, the pooled blob with its cell proofs (sidecars kept with cell
    /// proofs, from Osaka on): `engine_getBlobsV2`.
    pub fn blobs_v2(&self, versioned_hashes: &[B256]) -> Vec<Option<BlobAndProofV2>> {
        self.find_blobs(versioned_hashes, blob_and_proof_v2)
    }

    /// Looks each versioned hash up in the pooled sidecars (a scan: blob transactions are few).
    fn find_blobs<T>(
        &self,
        versioned_hashes: &[B256],
        extract: impl Fn(&BlobSidecar, &B256) -> Option<T>,
    ) -> Vec<Option<T>> {
        let set = self.set.read();
        let sidecars: Vec<&BlobSidecar> = set
            .senders
            .values()
            .flat_map(|sender| sender.txs.values())
            .filter_map(|tx| tx.valid.sidecar.as_deref())
            .collect();
        versioned_hashes
            .iter()
            .map(|hash| sidecars.iter().find_map(|sidecar| extract(sidecar, hash)))
            .collect()
    }

    /// Whether `hash` is pooled.
    pub fn contains(&self, hash: &B256) -> bool {
        self.set.read().contains(hash)
    }

    /// Highest nonce + 1 of the sender's consecutive pending txs, if it has any (for
    /// `eth_getTransactionCount(.., "pending")`).
    pub fn pending_nonce(&self, sender: &Address) -> Option<u64> {
        let set = self.set.read();
        let sender = set.senders.get(sender)?;
        (sender.pending_len > 0).then(|| sender.account.nonce + sender.pending_len as u64)
    }

    /// Pending and queued counts.
    pub fn status(&self) -> PoolStatus {
        let set = self.set.read();
        PoolStatus {
            pending: set.pending_count(),
            queued: set.queued_count(),
        }
    }

    /// Every pooled transaction by sender and nonce.
    pub fn content(&self) -> PoolContent {
        let set = self.set.read();
        let mut content = PoolContent::default();
        for (address, sender) in &set.senders {
            add_content(&mut content, *address, sender);
        }
        content
    }

    /// One sender's pooled transactions.
    pub fn content_from(&self, sender: &Address) -> PoolContent {
        let set = self.set.read();
        let mut content = PoolContent::default();
        if let Some(txs) = set.senders.get(sender) {
            add_content(&mut content, *sender, txs);
        }
        content
    }

    /// Number of pooled transactions.
    pub fn len(&self) -> usize {
        let set = self.set.read();
        set.pending_count() + set.queued_count()
    }

    /// Whether the pool holds no transaction.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod admission_tests;
#[cfg(test)]
mod blob_tests;
#[cfg(test)]
mod consistency_tests;
#[cfg(test)]
mod head_tests;
#[cfg(test)]
mod journal_tests;
#[cfg(test)]
mod limits_tests;
#[cfg(test)]
mod ordering_tests;
