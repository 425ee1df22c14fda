//! The chain as the Engine API and the import tools see it: validate, execute and store blocks,
//! build new blocks, move the canonical head. Every block, head move and safe/finalized change
//! goes into the store through [`Blockchain`] (the engine's and the tests' one write path); the
//! store is read directly.

use crate::{
    block_execution::{
        execute_transactions, BodyParts, ChainState, ExecutionOutcome, ExecutionTimings,
        InvalidTxPolicy, SkippedTx,
    },
    header_validation::{expected_base_fee, expected_excess_blob_gas, validate_header},
    ChainSpec, ExecutorError, InvalidBlock, ResidentTries, SenderCache,
};
use alloy_consensus::{
    proofs::{calculate_ommers_root, calculate_withdrawals_root},
    Block, BlockBody, Header, TxEnvelope, TxReceipt, EMPTY_OMMER_ROOT_HASH,
};
use alloy_eips::{eip4895::Withdrawal, eip7685::Requests};
use alloy_genesis::Genesis;
use alloy_hardforks::EthereumHardforks;
use alloy_primitives::{Address, Bloom, Bytes, B256, B64, U256};
use alloy_rlp::Decodable;
use fastevm_storage::{ChainStore, ExecutedBlock, SafeAndFinalized};
use std::sync::Arc;

/// Where an inserted block ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InsertOutcome {
    /// The block hash.
    pub hash: B256,
    /// Whether it became the canonical head (its parent was the head).
    pub canonical: bool,
}

/// What the consensus layer asks a new block to look like (Engine API payload attributes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockAttributes {
    /// Block timestamp (seconds); must be after the parent's.
    pub timestamp: u64,
    /// prevRandao (the header's mixHash).
    pub prev_randao: B256,
    /// Fee recipient (the header's beneficiary).
    pub fee_recipient: Address,
    /// Withdrawals (required from Shanghai, forbidden before).
    pub withdrawals: Option<Vec<Withdrawal>>,
    /// Parent beacon block root (required from Cancun, forbidden before).
    pub parent_beacon_block_root: Option<B256>,
    /// Gas limit; the parent's when `None`.
    pub gas_limit: Option<u64>,
    /// Extra data (at most 32 bytes).
    pub extra_data: Bytes,
}

/// A block built from attributes and candidate transactions.
#[derive(Debug, Clone)]
pub struct BuiltBlock {
    /// The executed block, ready to be stored.
    pub block: ExecutedBlock,
    /// EIP-7685 requests of the block (Prague), for `engine_getPayloadV4`.
    pub requests: Requests,
    /// Candidates that were left out, and why.
    pub skipped: Vec<SkippedTx>,
    /// Where the time went.
    pub timings: ExecutionTimings,
}

/// The chain: a store plus the rules of the chain spec.
#[derive(Debug, Clone)]
pub struct Blockchain {
    store: Arc<ChainStore>,
    spec: Arc<ChainSpec>,
    senders: SenderCache,
    tries: Arc<ResidentTries>,
}

impl Blockchain {
    /// The chain of `genesis` over `store`: writes the genesis block into an empty store (or
    /// checks that the store holds this genesis) and follows the genesis' chain config.
    pub fn init(store: Arc<ChainStore>, genesis: &Genesis) -> Result<Self, ExecutorError> {
        crate::init_genesis(&store, genesis)?;
        Ok(Self::new(
            store,
            Arc::new(ChainSpec::from_genesis(genesis)?),
        ))
    }

    /// A chain over `store` following `spec`.
    pub fn new(store: Arc<ChainStore>, spec: Arc<ChainSpec>) -> Self {
        Self {
            store,
            spec,
            senders: SenderCache::default(),
            tries: Arc::new(ResidentTries::default()),
        }
    }

    /// This chain sharing `senders` with others (validators of one process share one cache:
    /// a sender is a pure function of the signed transaction).
    pub fn with_sender_cache(mut self, senders: SenderCache) -> Self {
        self.senders = senders;
        self
    }

    /// The senders this node already recovered (shared by every clone of this chain): the pool
    /// and payload decoding fill it, block import reads it.
    pub fn sender_cache(&self) -> &SenderCache {
        &self.senders
    }

    /// The store.
    pub fn store(&self) -> &Arc<ChainStore> {
        &self.store
    }

    /// The chain spec.
    pub fn spec(&self) -> &Arc<ChainSpec> {
        &self.spec
    }

    /// Decodes a block's RLP.
    pub fn decode_block(rlp: &[u8]) -> Result<Block<TxEnvelope>, InvalidBlock> {
        let mut slice = rlp;
        let block = Block::<TxEnvelope>::decode(&mut slice)
            .map_err(|e| InvalidBlock::Decode(e.to_string()))?;
        if !slice.is_empty() {
            return Err(InvalidBlock::Decode(format!(
                "{} trailing bytes",
                slice.len()
            )));
        }
        Ok(block)
    }

    /// Validates and executes a block on top of its stored parent, without storing it.
    pub fn execute_block(&self, block: &Block<TxEnvelope>) -> Result<ExecutedBlock, ExecutorError> {
        self.execute_block_timed(block).map(|(block, _)| block)
    }

    /// [`Blockchain::execute_block`], also reporting how long execution and the state root took.
    pub fn execute_block_timed(
        &self,
        block: &Block<TxEnvelope>,
    ) -> Result<(ExecutedBlock, ExecutionTimings), ExecutorError> {
        let header = &block.header;
        let parent = self
            .store
            .header(&header.parent_hash)?
            .ok_or(ExecutorError::UnknownParent(header.parent_hash))?;
        validate_header(&self.spec, header, &parent)?;
        self.validate_body(block)?;

        let senders = self.senders.recover(&block.body.transactions);
        let mut transactions = Vec::with_capacity(block.body.transactions.len());
        for (index, (tx, sender)) in block.body.transactions.iter().zip(senders).enumerate() {
            let sender = sender.map_err(|e| InvalidBlock::Transaction {
                index,
                hash: *tx.tx_hash(),
                reason: format!("invalid signature: {e}"),
            })?;
            transactions.push((tx.clone(), sender));
        }
        let outcome = execute_transactions(
            ChainState {
                store: &self.store,
                tries: &self.tries,
            },
            &self.spec,
            &parent,
            header,
            BodyParts {
                ommers: &block.body.ommers,
                withdrawals: block.body.withdrawals.as_ref().map(|w| w.as_slice()),
            },
            transactions,
            InvalidTxPolicy::Reject,
        )?;
        self.check_outcome(header, &outcome)?;
        let ExecutionOutcome {
            transactions,
            receipts,
            diff,
            root,
            timings,
            ..
        } = outcome;
        let executed = ExecutedBlock {
            hash: header.hash_slow(),
            header: header.clone(),
            body: block.body.clone(),
            senders: transactions.into_iter().map(|(_, sender)| sender).collect(),
            receipts,
            diff,
            trie_nodes: root.nodes,
        };
        Ok((executed, timings))
    }

    /// Validates, executes and stores a block. It becomes the canonical head when its parent is
    /// the head; otherwise it is kept on a side branch.
    pub fn insert_block(&self, block: &Block<TxEnvelope>) -> Result<InsertOutcome, ExecutorError> {
        let executed = self.execute_block(block)?;
        self.store_executed(&executed)
    }

    /// Stores an already executed block (canonical when its parent is the head).
    pub fn store_executed(&self, executed: &ExecutedBlock) -> Result<InsertOutcome, ExecutorError> {
        let canonical = executed.header.parent_hash == self.store.head_hash()?;
        self.store.commit_block(executed, canonical)?;
        Ok(InsertOutcome {
            hash: executed.hash,
            canonical,
        })
    }

    /// Stores an executed block without moving the head: the Engine API's newPayload, where
    /// forkchoiceUpdated later decides which stored block is the head.
    pub fn keep_block(&self, executed: &ExecutedBlock) -> Result<(), ExecutorError> {
        Ok(self.store.commit_block(executed, false)?)
    }

    /// Makes a stored block the canonical head (reorganising if needed). Returns the hashes of
    /// the blocks that left and joined the canonical chain.
    pub fn set_head(&self, hash: B256) -> Result<(Vec<B256>, Vec<B256>), ExecutorError> {
        self.set_head_using(hash, &|_| None, None)
    }

    /// [`Blockchain::set_head`] taking the blocks `known` still holds in memory instead of
    /// reading them back, and writing the new safe and finalized blocks in the same atomic
    /// write as the head move.
    pub fn set_head_using(
        &self,
        hash: B256,
        known: &dyn Fn(&B256) -> Option<Arc<ExecutedBlock>>,
        pointers: Option<SafeAndFinalized>,
    ) -> Result<(Vec<B256>, Vec<B256>), ExecutorError> {
        Ok(self.store.set_canonical_head_using(hash, known, pointers)?)
    }

    /// Records the safe and finalized blocks (nothing is written when they are unchanged).
    pub fn set_safe_and_finalized(&self, safe: B256, finalized: B256) -> Result<(), ExecutorError> {
        Ok(self.store.set_safe_and_finalized(safe, finalized)?)
    }

    /// Builds a block on `parent_hash` from `attributes`, executing `candidates` in order and
    /// leaving out (deterministically) any that is invalid at its position. Does not store it.
    pub fn build_block(
        &self,
        parent_hash: B256,
        attributes: &BlockAttributes,
        candidates: Vec<(TxEnvelope, Address)>,
    ) -> Result<BuiltBlock, ExecutorError> {
        let parent = self
            .store
            .header(&parent_hash)?
            .ok_or(ExecutorError::UnknownParent(parent_hash))?;
        let spec = &self.spec;
        let ts = attributes.timestamp;
        if !spec.timestamp_follows(parent.timestamp, ts) {
            return Err(ExecutorError::InvalidAttributes(format!(
                "timestamp {ts} is not after the parent's {}",
                parent.timestamp
            )));
        }
        let shanghai = spec.is_shanghai_active_at_timestamp(ts);
        let cancun = spec.is_cancun_active_at_timestamp(ts);
        let prague = spec.is_prague_active_at_timestamp(ts);
        if shanghai != attributes.withdrawals.is_some() {
            return Err(ExecutorError::InvalidAttributes(
                "withdrawals must be given exactly from Shanghai on".into(),
            ));
        }
        if cancun != attributes.parent_beacon_block_root.is_some() {
            return Err(ExecutorError::InvalidAttributes(
                "parentBeaconBlockRoot must be given exactly from Cancun on".into(),
            ));
        }
        if attributes.extra_data.len() > crate::header_validation::MAX_EXTRA_DATA {
            return Err(ExecutorError::InvalidAttributes(
                "extraData longer than 32 bytes".into(),
            ));
        }
        let mut header = Header {
            parent_hash,
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: attributes.fee_recipient,
            difficulty: U256::ZERO,
            number: parent.number + 1,
            gas_limit: attributes.gas_limit.unwrap_or(parent.gas_limit),
            timestamp: ts,
            extra_data: attributes.extra_data.clone(),
            mix_hash: attributes.prev_randao,
            nonce: B64::ZERO,
            base_fee_per_gas: expected_base_fee(spec, &parent),
            excess_blob_gas: if cancun {
                expected_excess_blob_gas(spec, &parent, ts)
            } else {
                None
            },
            parent_beacon_block_root: attributes.parent_beacon_block_root,
            ..Default::default()
        };
        let outcome = execute_transactions(
            ChainState {
                store: &self.store,
                tries: &self.tries,
            },
            spec,
            &parent,
            &header,
            BodyParts {
                ommers: &[],
                withdrawals: attributes.withdrawals.as_deref(),
            },
            candidates,
            InvalidTxPolicy::Skip,
        )?;
        let transactions: Vec<TxEnvelope> = outcome
            .transactions
            .iter()
            .map(|(tx, _)| tx.clone())
            .collect();
        header.state_root = outcome.root.state_root;
        header.transactions_root = outcome.body_roots.transactions_root;
        header.receipts_root = outcome.body_roots.receipts_root;
        header.logs_bloom = outcome.body_roots.logs_bloom;
        header.gas_used = outcome.gas_used;
        header.withdrawals_root = attributes
            .withdrawals
            .as_deref()
            .map(calculate_withdrawals_root);
        header.blob_gas_used = cancun.then_some(outcome.blob_gas_used);
        header.requests_hash = prague.then(|| outcome.requests.requests_hash());
        let body = BlockBody {
            transactions,
            ommers: vec![],
            withdrawals: attributes.withdrawals.clone().map(Into::into),
        };
        let block = ExecutedBlock {
            hash: header.hash_slow(),
            header,
            body,
            senders: outcome.transactions.into_iter().map(|(_, s)| s).collect(),
            receipts: outcome.receipts,
            diff: outcome.diff,
            trie_nodes: outcome.root.nodes,
        };
        Ok(BuiltBlock {
            block,
            requests: outcome.requests,
            skipped: outcome.skipped,
            timings: outcome.timings,
        })
    }

    fn validate_body(&self, block: &Block<TxEnvelope>) -> Result<(), InvalidBlock> {
        let header = &block.header;
        let body = &block.body;
        let ommers_root = calculate_ommers_root(&body.ommers);
        if ommers_root != header.ommers_hash {
            return Err(InvalidBlock::mismatch(
                "ommersHash",
                ommers_root,
                header.ommers_hash,
            ));
        }
        if self.spec.is_post_merge(header.number) && !body.ommers.is_empty() {
            return Err(InvalidBlock::field(
                "ommers",
                "must be empty after the merge",
            ));
        }
        match (&body.withdrawals, header.withdrawals_root) {
            (Some(w), Some(root)) => {
                let computed = calculate_withdrawals_root(w);
                if computed != root {
                    return Err(InvalidBlock::mismatch("withdrawalsRoot", computed, root));
                }
            }
            (None, None) => {}
            (Some(_), None) => {
                return Err(InvalidBlock::field(
                    "withdrawals",
                    "present without withdrawalsRoot",
                ))
            }
            (None, Some(_)) => {
                return Err(InvalidBlock::field(
                    "withdrawals",
                    "missing while withdrawalsRoot is set",
                ))
            }
        }
        if self.spec.is_osaka_active_at_timestamp(header.timestamp) {
            let size = alloy_rlp::Encodable::length(block);
            if size > MAX_RLP_BLOCK_SIZE {
                return Err(InvalidBlock::field(
                    "block",
                    format!("RLP size {size} exceeds {MAX_RLP_BLOCK_SIZE} (EIP-7934)"),
                ));
            }
        }
        Ok(())
    }

    fn check_outcome(
        &self,
        header: &Header,
        outcome: &ExecutionOutcome,
    ) -> Result<(), InvalidBlock> {
        // Computed beside the state root; every transaction of an imported block was executed,
        // so this is the root of its body's transactions.
        let roots = &outcome.body_roots;
        if roots.transactions_root != header.transactions_root {
            return Err(InvalidBlock::mismatch(
                "transactionsRoot",
                roots.transactions_root,
                header.transactions_root,
            ));
        }
        if outcome.gas_used != header.gas_used {
            return Err(InvalidBlock::mismatch(
                "gasUsed",
                outcome.gas_used,
                header.gas_used,
            ));
        }
        if let Some(got) = header.blob_gas_used {
            if outcome.blob_gas_used != got {
                return Err(InvalidBlock::mismatch(
                    "blobGasUsed",
                    outcome.blob_gas_used,
                    got,
                ));
            }
        }
        if roots.receipts_root != header.receipts_root {
            return Err(InvalidBlock::mismatch(
                "receiptsRoot",
                roots.receipts_root,
                header.receipts_root,
            ));
        }
        if roots.logs_bloom != header.logs_bloom {
            return Err(InvalidBlock::mismatch(
                "logsBloom",
                roots.logs_bloom,
                header.logs_bloom,
            ));
        }
        if let Some(got) = header.requests_hash {
            let expected = outcome.requests.requests_hash();
            if expected != got {
                return Err(InvalidBlock::mismatch("requestsHash", expected, got));
            }
        }
        if outcome.root.state_root != header.state_root {
            return Err(InvalidBlock::mismatch(
                "stateRoot",
                outcome.root.state_root,
                header.state_root,
            ));
        }
        Ok(())
    }
}

/// EIP-7934 limit on a block's RLP size (Osaka).
pub const MAX_RLP_BLOCK_SIZE: usize = 10_485_760 - 2_097_152;

/// Bloom of all logs of a block.
pub fn logs_bloom<R: TxReceipt>(receipts: &[R]) -> Bloom {
    receipts.iter().fold(Bloom::ZERO, |acc, r| acc | r.bloom())
}
