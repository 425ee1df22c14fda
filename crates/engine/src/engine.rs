//! The Engine API's state machine over the blockchain: which payloads are valid, which block is
//! the head, which payloads are being built. Synchronous; the RPC server calls it.

use crate::blob_sidecars::forced_blob_sidecar;
use crate::{
    actor::EngineThread,
    bad_blocks::{BadBlock, BadBlocks},
    canonical::{CanonicalChanges, CanonicalSubscription, ChainBlock},
    payload::{block_value, decode_ordered_transactions, BuiltPayload},
    EngineError,
};
use alloy_consensus::{Block, TxEnvelope};
use alloy_eips::{
    eip2718::Encodable2718,
    eip4844::{BlobAndProofV1, BlobAndProofV2},
};
use alloy_primitives::{Address, B256};
use alloy_rpc_types_engine::{
    ExecutionPayloadBodyV1, ForkchoiceState, ForkchoiceUpdated, PayloadId, PayloadStatus,
    PayloadStatusEnum,
};
use fastevm_blobs::BlobSidecar;
use fastevm_engine_api::PayloadRequest;
use fastevm_executor::{
    header_validation::expected_base_fee, BlockAttributes, Blockchain, ExecutionTimings,
    ExecutorError,
};
use fastevm_metrics::NodeMetrics;
use fastevm_storage::{ExecutedBlock, SafeAndFinalized};
use moka::sync::Cache;
use parking_lot::{Mutex, RwLock};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// Most bodies one `getPayloadBodiesBy*` call may ask for.
pub const MAX_PAYLOAD_BODIES: u64 = 1024;

/// Recently executed blocks kept in memory (each holds its body, receipts, state diff and trie
/// nodes: a few MB for 1,000 transfers).
const EXECUTED_BLOCKS_KEPT: u64 = 16;

/// Where blocks built from the pool get their transactions (head changes are published on the
/// engine's channel instead: [`Engine::subscribe_canonical_changes`]).
pub trait TransactionSource: Send + Sync {
    /// Executable transactions for the next block, in the order to try them.
    fn best_transactions(&self, base_fee: u64, max: usize) -> Vec<(TxEnvelope, Address)>;
    /// A payload built from ordered transactions left out `hashes` of them (the block's gas
    /// ran out, a nonce not reached yet, a fee below the base fee, ...; never one the block
    /// holds): the pool offers those still pending to consensus again. Nothing by default.
    fn left_out(&self, _hashes: &[B256]) {}
    /// The verified sidecar of the pooled blob transaction `hash` (none by default: a source
    /// without blobs).
    fn blob_sidecar(&self, _hash: &B256) -> Option<Arc<BlobSidecar>> {
        None
    }
    /// Pooled blobs with their KZG proofs, by versioned hash (`engine_getBlobsV1`).
    fn blobs_v1(&self, versioned_hashes: &[B256]) -> Vec<Option<BlobAndProofV1>> {
        vec![None; versioned_hashes.len()]
    }
    /// Pooled blobs with their cell proofs, by versioned hash (`engine_getBlobsV2/V3`).
    fn blobs_v2(&self, versioned_hashes: &[B256]) -> Vec<Option<BlobAndProofV2>> {
        vec![None; versioned_hashes.len()]
    }
}

/// Why a block was found invalid, remembered so descendants are refused without execution.
#[derive(Debug, Clone)]
struct InvalidBlockRecord {
    latest_valid_hash: B256,
    reason: String,
}

/// Engine API semantics over a [`Blockchain`].
pub struct Engine {
    chain: Blockchain,
    /// Serialises operations that insert blocks or move the head.
    write: Mutex<()>,
    invalid: Cache<B256, InvalidBlockRecord>,
    /// The latest blocks that failed execution or validation, with the block itself.
    bad_blocks: Arc<BadBlocks>,
    payloads: Cache<PayloadId, Arc<BuiltPayload>>,
    /// Recently executed blocks (built here or imported): a built block's `newPayload` does not
    /// execute it twice, and moving the head onto them does not read them back from disk.
    executed: Cache<B256, Arc<ExecutedBlock>>,
    tx_source: RwLock<Option<Arc<dyn TransactionSource>>>,
    /// Every head move, for the pool, filters and subscriptions.
    canonical: CanonicalChanges,
    /// Where block timings, gas and the head are reported, once plugged in.
    metrics: OnceLock<NodeMetrics>,
    /// The engine's own OS thread, started at the first [`Engine::run`].
    thread: EngineThread,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("chain", &self.chain)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine over `chain`.
    pub fn new(chain: Blockchain) -> Self {
        Self {
            chain,
            write: Mutex::new(()),
            invalid: Cache::new(4096),
            bad_blocks: Arc::default(),
            payloads: Cache::new(256),
            // LRU: the newest block must stay even though older ones were read more often.
            executed: Cache::builder()
                .max_capacity(EXECUTED_BLOCKS_KEPT)
                .eviction_policy(moka::policy::EvictionPolicy::lru())
                .build(),
            tx_source: RwLock::new(None),
            canonical: CanonicalChanges::default(),
            metrics: OnceLock::new(),
            thread: EngineThread::default(),
        }
    }

    /// Runs `call` on the engine's own OS thread and awaits its result. Engine API servers and
    /// in-process clients go through here, so no block is built or executed on an async
    /// runtime's worker, and calls are served one at a time in arrival order.
    pub async fn run<R: Send + 'static>(
        self: &Arc<Self>,
        call: impl FnOnce(&Engine) -> R + Send + 'static,
    ) -> Result<R, EngineError> {
        let engine = self.clone();
        self.thread.run(move || call(&engine)).await
    }

    /// Plugs in the transaction pool.
    pub fn set_transaction_source(&self, source: Arc<dyn TransactionSource>) {
        *self.tx_source.write() = Some(source);
    }

    /// Every head move from now on: the blocks that left and joined the canonical chain, with
    /// the executed blocks the engine still holds. Published after the move is stored; handle
    /// them off the engine's thread.
    pub fn subscribe_canonical_changes(&self) -> CanonicalSubscription {
        self.canonical.subscribe()
    }

    /// Reports block execution, state-root and commit times, gas, transactions per block and
    /// the head number to `metrics` from now on (the first call wins).
    pub fn set_metrics(&self, metrics: NodeMetrics) {
        let _ = self.metrics.set(metrics);
    }

    fn observe_execution(&self, timings: &ExecutionTimings) {
        if let Some(m) = self.metrics.get() {
            m.block_execution_seconds
                .observe(timings.execute.as_secs_f64());
            m.state_root_seconds
                .observe(timings.state_root.as_secs_f64());
        }
    }

    /// The latest blocks `new_payload` refused as invalid (for `debug_getBadBlocks`).
    pub fn bad_blocks(&self) -> Arc<BadBlocks> {
        self.bad_blocks.clone()
    }

    /// The chain.
    pub fn chain(&self) -> &Blockchain {
        &self.chain
    }

    /// `engine_newPayload`: validates and executes a block, storing it without moving the head.
    pub fn new_payload(
        &self,
        block: Block<TxEnvelope>,
        claimed_hash: B256,
        versioned_hashes: Option<&[B256]>,
    ) -> Result<PayloadStatus, EngineError> {
        let hash = block.header.hash_slow();
        if hash != claimed_hash {
            return Ok(invalid(
                None,
                format!("blockhash mismatch: computed {hash}, payload says {claimed_hash}"),
            ));
        }
        if let Some(expected) = versioned_hashes {
            let got: Vec<B256> = block.body.blob_versioned_hashes_iter().copied().collect();
            if got != expected {
                return Ok(invalid(
                    None,
                    "blob versioned hashes do not match the transactions".into(),
                ));
            }
        }
        let _guard = self.write.lock();
        let store = self.chain.store();
        if store.header(&hash)?.is_some() {
            return Ok(PayloadStatus::new(PayloadStatusEnum::Valid, Some(hash)));
        }
        if let Some(record) = self.invalid.get(&hash) {
            return Ok(invalid(Some(record.latest_valid_hash), record.reason));
        }
        let parent = block.header.parent_hash;
        if let Some(record) = self.invalid.get(&parent) {
            self.invalid.insert(hash, record.clone());
            return Ok(invalid(
                Some(record.latest_valid_hash),
                format!("invalid ancestor: {}", record.reason),
            ));
        }
        if store.header(&parent)?.is_none() {
            return Ok(PayloadStatus::new(PayloadStatusEnum::Syncing, None));
        }
        let executed = match self.executed.get(&hash) {
            Some(built) => built,
            None => match self.chain.execute_block_timed(&block) {
                Ok((executed, timings)) => {
                    self.observe_execution(&timings);
                    Arc::new(executed)
                }
                Err(ExecutorError::InvalidBlock(e)) => {
                    let record = InvalidBlockRecord {
                        latest_valid_hash: parent,
                        reason: e.to_string(),
                    };
                    tracing::warn!(%hash, reason = %record.reason, "invalid payload");
                    self.invalid.insert(hash, record.clone());
                    self.bad_blocks.record(BadBlock {
                        hash,
                        block: Arc::new(block),
                        reason: record.reason.clone(),
                    });
                    return Ok(invalid(Some(parent), record.reason));
                }
                Err(e) => return Err(EngineError::Internal(e.to_string())),
            },
        };
        let started = Instant::now();
        self.chain.keep_block(&executed)?;
        if let Some(m) = self.metrics.get() {
            m.block_commit_seconds
                .observe(started.elapsed().as_secs_f64());
        }
        self.executed.insert(hash, executed);
        Ok(PayloadStatus::new(PayloadStatusEnum::Valid, Some(hash)))
    }

    /// `engine_forkchoiceUpdated`: moves the head (reorganising if needed), records safe and
    /// finalized, and with a request starts (here: completes) building a payload on the head.
    pub fn forkchoice_updated(
        &self,
        state: ForkchoiceState,
        request: Option<PayloadRequest>,
    ) -> Result<ForkchoiceUpdated, EngineError> {
        let _guard = self.write.lock();
        let store = self.chain.store();
        let head = state.head_block_hash;
        if head.is_zero() {
            return Err(EngineError::InvalidForkchoiceState(
                "head block hash is zero".into(),
            ));
        }
        if let Some(record) = self.invalid.get(&head) {
            return Ok(ForkchoiceUpdated::new(invalid(
                Some(record.latest_valid_hash),
                record.reason,
            )));
        }
        let Some(head_header) = store.header(&head)? else {
            return Ok(ForkchoiceUpdated::new(PayloadStatus::new(
                PayloadStatusEnum::Syncing,
                None,
            )));
        };
        for (name, hash) in [
            ("safe", state.safe_block_hash),
            ("finalized", state.finalized_block_hash),
        ] {
            if !hash.is_zero() && !self.is_on_branch(head, hash)? {
                return Err(EngineError::InvalidForkchoiceState(format!(
                    "{name} block {hash} is not an ancestor of head {head}"
                )));
            }
        }
        let safe = if state.safe_block_hash.is_zero() {
            store.safe_hash()?.unwrap_or(head)
        } else {
            state.safe_block_hash
        };
        let finalized = if state.finalized_block_hash.is_zero() {
            store.finalized_hash()?.unwrap_or(head)
        } else {
            state.finalized_block_hash
        };
        let pointers = SafeAndFinalized { safe, finalized };
        let current = store.head_hash()?;
        let head_is_canonical_ancestor = head != current && store.is_canonical(&head)?;
        if !head_is_canonical_ancestor && head != current {
            // The head move and the new safe and finalized blocks: one atomic write. Its change
            // is numbered first, so whoever sees the new head waits for the follower.
            let sequence = self.canonical.reserve();
            let moved =
                self.chain
                    .set_head_using(head, &|hash| self.executed.get(hash), Some(pointers));
            let (removed, added) = match moved {
                Ok(moved) => moved,
                Err(e) => {
                    self.canonical.send(sequence, Vec::new(), Vec::new());
                    return Err(e.into());
                }
            };
            tracing::info!(%head, number = head_header.number, removed = removed.len(), added = added.len(), "new head");
            if let Err(e) = self.observe_head(head, head_header.number, &added) {
                // Metrics never fail a head move that has happened.
                tracing::warn!(error = %e, "reporting the new head to metrics");
            }
            let known = |hashes: Vec<B256>| -> Vec<ChainBlock> {
                hashes
                    .into_iter()
                    .map(|hash| ChainBlock {
                        hash,
                        executed: self.executed.get(&hash),
                    })
                    .collect()
            };
            self.canonical.send(sequence, known(removed), known(added));
        } else {
            self.chain
                .set_safe_and_finalized(pointers.safe, pointers.finalized)?;
        }
        let valid = PayloadStatus::new(PayloadStatusEnum::Valid, Some(head));
        let Some(request) = request else {
            return Ok(ForkchoiceUpdated::new(valid));
        };
        if head_is_canonical_ancestor {
            // The head is an old canonical block: nothing changes and nothing is built (spec).
            return Ok(ForkchoiceUpdated::new(valid));
        }
        let id = request.payload_id(&head);
        if self.payloads.get(&id).is_none() {
            let payload = self.build(head, &head_header, &request)?;
            self.executed
                .insert(payload.block.hash, payload.block.clone());
            self.payloads.insert(id, Arc::new(payload));
        }
        Ok(ForkchoiceUpdated::new(valid).with_payload_id(id))
    }

    /// Reports a head move: the new head's number and transactions, and the gas of the blocks
    /// that joined the canonical chain.
    fn observe_head(&self, head: B256, number: u64, added: &[B256]) -> Result<(), EngineError> {
        let Some(m) = self.metrics.get() else {
            return Ok(());
        };
        let store = self.chain.store();
        for hash in added {
            if let Some(header) = store.header(hash)? {
                m.gas_total.inc_by(header.gas_used);
            }
        }
        let transactions = match self.executed.get(&head) {
            Some(block) => block.body.transactions.len(),
            None => store.body(&head)?.map_or(0, |body| body.transactions.len()),
        };
        m.head_number.set(number as i64);
        m.block_transactions.set(transactions as i64);
        Ok(())
    }

    /// `engine_getPayload`: the payload built for `id`.
    pub fn get_payload(&self, id: PayloadId) -> Result<Arc<BuiltPayload>, EngineError> {
        self.payloads.get(&id).ok_or(EngineError::UnknownPayload)
    }

    /// `engine_getPayloadBodiesByHashV1`.
    pub fn payload_bodies_by_hash(
        &self,
        hashes: &[B256],
    ) -> Result<Vec<Option<ExecutionPayloadBodyV1>>, EngineError> {
        if hashes.len() as u64 > MAX_PAYLOAD_BODIES {
            return Err(EngineError::TooLargeRequest {
                requested: hashes.len() as u64,
                max: MAX_PAYLOAD_BODIES,
            });
        }
        hashes.iter().map(|h| self.body(h)).collect()
    }

    /// `engine_getPayloadBodiesByRangeV1`: canonical blocks `start..start+count`.
    pub fn payload_bodies_by_range(
        &self,
        start: u64,
        count: u64,
    ) -> Result<Vec<Option<ExecutionPayloadBodyV1>>, EngineError> {
        if start == 0 || count == 0 {
            return Err(EngineError::InvalidParams(
                "start and count must be at least 1".into(),
            ));
        }
        if count > MAX_PAYLOAD_BODIES {
            return Err(EngineError::TooLargeRequest {
                requested: count,
                max: MAX_PAYLOAD_BODIES,
            });
        }
        let store = self.chain.store();
        let head_number = store.head_header()?.number;
        let mut bodies = Vec::new();
        for number in start..start.saturating_add(count) {
            if number > head_number {
                break;
            }
            match store.canonical_hash(number)? {
                Some(hash) => bodies.push(self.body(&hash)?),
                None => bodies.push(None),
            }
        }
        Ok(bodies)
    }

    fn body(&self, hash: &B256) -> Result<Option<ExecutionPayloadBodyV1>, EngineError> {
        Ok(self
            .chain
            .store()
            .body(hash)?
            .map(|body| ExecutionPayloadBodyV1 {
                transactions: body
                    .transactions
                    .iter()
                    .map(|tx| tx.encoded_2718().into())
                    .collect(),
                withdrawals: body.withdrawals.map(|w| w.into_inner()),
            }))
    }

    /// Whether `target` is `head` or one of its ancestors.
    fn is_on_branch(&self, head: B256, target: B256) -> Result<bool, EngineError> {
        let store = self.chain.store();
        let Some(target_header) = store.header(&target)? else {
            return Ok(false);
        };
        let mut cursor = head;
        loop {
            if cursor == target {
                return Ok(true);
            }
            let header = store
                .header(&cursor)?
                .ok_or_else(|| EngineError::Internal(format!("missing header {cursor}")))?;
            if header.number <= target_header.number {
                return Ok(false);
            }
            if store.is_canonical(&cursor)? {
                return Ok(store.canonical_hash(target_header.number)? == Some(target));
            }
            cursor = header.parent_hash;
        }
    }

    fn build(
        &self,
        parent_hash: B256,
        parent: &alloy_consensus::Header,
        request: &PayloadRequest,
    ) -> Result<BuiltPayload, EngineError> {
        let a = &request.attributes;
        if !self
            .chain
            .spec()
            .timestamp_follows(parent.timestamp, a.timestamp)
        {
            return Err(EngineError::InvalidPayloadAttributes(format!(
                "timestamp {} is not after the head's {}",
                a.timestamp, parent.timestamp
            )));
        }
        let source = self.tx_source.read().clone();
        let max_blobs_per_tx = self
            .chain
            .spec()
            .blob_params_at(a.timestamp)
            .map(|params| params.max_blobs_per_tx);
        let mut candidates = Vec::new();
        // The sidecar of every blob transaction that may go in, by hash: the blobs bundle.
        let mut sidecars: BTreeMap<B256, Arc<BlobSidecar>> = BTreeMap::new();
        if let Some(raw) = &request.transactions {
            let (decoded, dropped, mut forced_sidecars) =
                decode_ordered_transactions(raw, self.chain.sender_cache());
            for (index, reason) in dropped {
                tracing::debug!(index, %reason, "dropped forced transaction");
            }
            for (tx, sender) in decoded {
                if tx.is_eip4844() {
                    let hash = *tx.tx_hash();
                    let sidecar = forced_sidecars.remove(&hash);
                    match forced_blob_sidecar(&tx, sidecar, max_blobs_per_tx, source.as_deref()) {
                        Ok(sidecar) => {
                            sidecars.insert(hash, sidecar);
                        }
                        Err(reason) => {
                            tracing::debug!(%hash, %reason, "dropped forced blob transaction");
                            continue;
                        }
                    }
                }
                candidates.push((tx, sender));
            }
        }
        // Candidates before this index are the ordered (consensus) transactions.
        let ordered = candidates.len();
        if !request.no_tx_pool {
            if let Some(source) = &source {
                let base_fee = expected_base_fee(self.chain.spec(), parent).unwrap_or_default();
                for (tx, sender) in source.best_transactions(base_fee, 10_000) {
                    if tx.is_eip4844() {
                        // The pool verified the sidecar on admission.
                        match source.blob_sidecar(tx.tx_hash()) {
                            Some(sidecar) if max_blobs_per_tx.is_some() => {
                                sidecars.insert(*tx.tx_hash(), sidecar);
                            }
                            _ => continue,
                        }
                    }
                    candidates.push((tx, sender));
                }
            }
        }
        let attributes = BlockAttributes {
            timestamp: a.timestamp,
            prev_randao: a.prev_randao,
            fee_recipient: a.suggested_fee_recipient,
            withdrawals: a.withdrawals.clone(),
            parent_beacon_block_root: a.parent_beacon_block_root,
            gas_limit: request.gas_limit,
            extra_data: request.extra_data.clone().unwrap_or_default(),
        };
        let built = self
            .chain
            .build_block(parent_hash, &attributes, candidates)
            .map_err(|e| match e {
                ExecutorError::InvalidAttributes(reason) => {
                    EngineError::InvalidPayloadAttributes(reason)
                }
                other => EngineError::Internal(other.to_string()),
            })?;
        self.observe_execution(&built.timings);
        for skipped in &built.skipped {
            tracing::debug!(index = skipped.index, hash = %skipped.hash, reason = %skipped.reason, "left out of payload");
        }
        let skipped_ordered = built.skipped.iter().any(|skipped| skipped.index < ordered);
        if let Some(source) = source.as_ref().filter(|_| skipped_ordered) {
            // A second copy of an included transaction is skipped too: not left out.
            let included: HashSet<&B256> = built
                .block
                .body
                .transactions
                .iter()
                .map(|tx| tx.tx_hash())
                .collect();
            let left_out: Vec<B256> = built
                .skipped
                .iter()
                .filter(|skipped| skipped.index < ordered && !included.contains(&skipped.hash))
                .map(|skipped| skipped.hash)
                .collect();
            if !left_out.is_empty() {
                source.left_out(&left_out);
            }
        }
        let sidecars = built
            .block
            .body
            .transactions
            .iter()
            .filter(|tx| tx.is_eip4844())
            .map(|tx| {
                sidecars.get(tx.tx_hash()).cloned().ok_or_else(|| {
                    EngineError::Internal(format!(
                        "no sidecar for blob transaction {}",
                        tx.tx_hash()
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(BuiltPayload {
            block_value: block_value(&built.block),
            block: Arc::new(built.block),
            requests: built.requests,
            sidecars,
        })
    }

    /// Pooled blobs with their KZG proofs (`engine_getBlobsV1`).
    pub fn blobs_v1(&self, versioned_hashes: &[B256]) -> Vec<Option<BlobAndProofV1>> {
        match self.tx_source.read().clone() {
            Some(source) => source.blobs_v1(versioned_hashes),
            None => vec![None; versioned_hashes.len()],
        }
    }

    /// Pooled blobs with their cell proofs (`engine_getBlobsV2/V3`).
    pub fn blobs_v2(&self, versioned_hashes: &[B256]) -> Vec<Option<BlobAndProofV2>> {
        match self.tx_source.read().clone() {
            Some(source) => source.blobs_v2(versioned_hashes),
            None => vec![None; versioned_hashes.len()],
        }
    }
}

fn invalid(latest_valid_hash: Option<B256>, reason: String) -> PayloadStatus {
    PayloadStatus::new(
        PayloadStatusEnum::Invalid {
            validation_error: reason,
        },
        latest_valid_hash,
    )
}
