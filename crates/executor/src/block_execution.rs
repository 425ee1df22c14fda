//! Running a block's transactions on revm (through alloy-evm's Ethereum block executor, which
//! performs the EIP-4788/2935 pre-block calls, EIP-4895 withdrawals, EIP-6110/7002/7251 requests)
//! over the state after the parent block, and turning the result into a state diff and root.

use crate::{
    body_roots::{BodyRoots, PARALLEL_BODY_ROOTS_MIN_TXS},
    state_db::StateAtBlock,
    state_root::{apply_diff, bundle_to_diff, StateRootUpdate},
    trie_prefetch::{prefetch_while, Prefetch, PREFETCH_MIN_TXS},
    ChainSpec, ExecutorError, InvalidBlock, ResidentTries,
};
use alloy_consensus::{
    transaction::Recovered, Eip658Value, Header, ReceiptEnvelope, Transaction as _, TxEnvelope,
};
use alloy_eips::{eip4895::Withdrawal, eip7002, eip7251, eip7685::Requests};
use alloy_evm::Evm;
use alloy_evm::{
    block::{BlockExecutionError, BlockExecutor, BlockValidationError},
    eth::{receipt_builder::AlloyReceiptBuilder, EthBlockExecutionCtx, EthBlockExecutor},
    EthEvmFactory, EvmEnv, EvmFactory, FromRecoveredTx,
};
use alloy_hardforks::EthereumHardforks;
use alloy_primitives::{Address, B256};
use alloy_trie::KECCAK_EMPTY;
use fastevm_storage::{ChainStore, StateDiff};
use revm::context::TxEnv;
use revm::database::{states::bundle_state::BundleRetention, State};
use revm::Database;
use std::borrow::Cow;

/// What to do with a transaction that cannot be executed at its position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidTxPolicy {
    /// The block is invalid (importing or validating a block).
    Reject,
    /// Leave it out and go on (building a block from an ordered candidate list).
    Skip,
}

/// A transaction left out of a built block, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedTx {
    /// Position in the candidate list.
    pub index: usize,
    /// Transaction hash.
    pub hash: B256,
    /// Why it was left out.
    pub reason: String,
}

/// Result of running a block's transactions.
#[derive(Debug)]
pub struct ExecutionOutcome {
    /// The transactions executed, with their senders, in order.
    pub transactions: Vec<(TxEnvelope, Address)>,
    /// Candidates left out (only with [`InvalidTxPolicy::Skip`]).
    pub skipped: Vec<SkippedTx>,
    /// One receipt per executed transaction.
    pub receipts: Vec<ReceiptEnvelope>,
    /// EIP-7685 requests (Prague).
    pub requests: Requests,
    /// Gas used by the block.
    pub gas_used: u64,
    /// Blob gas used by the block.
    pub blob_gas_used: u64,
    /// State changes.
    pub diff: StateDiff,
    /// New state root and trie nodes.
    pub root: StateRootUpdate,
    /// Transactions root, receipts root and logs bloom of the executed transactions.
    pub body_roots: BodyRoots,
    /// Where the time went.
    pub timings: ExecutionTimings,
}

/// Wall-clock time of each phase of a block, for metrics and benchmarks only (never an input to
/// any block content).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExecutionTimings {
    /// Pre-block system calls, transactions and post-block changes on revm.
    pub execute: std::time::Duration,
    /// State diff and incremental state-root computation, with the transactions and receipts
    /// roots computed beside it.
    pub state_root: std::time::Duration,
}

/// The parts of a block body besides its transactions that execution needs.
#[derive(Debug, Clone, Copy)]
pub struct BodyParts<'a> {
    /// Ommers (uncles): their miners earn the pre-merge uncle rewards.
    pub ommers: &'a [Header],
    /// Withdrawals (from Shanghai).
    pub withdrawals: Option<&'a [Withdrawal]>,
}

/// The EVM environment of the block with `header`.
pub fn block_env(spec: &ChainSpec, header: &Header) -> EvmEnv {
    EvmEnv::for_eth_block(
        header,
        spec,
        spec.chain_id,
        spec.blob_params_at(header.timestamp),
    )
}

/// What the block executor needs to know of the block with `header` besides its transactions.
pub fn execution_ctx<'a>(
    header: &Header,
    body: BodyParts<'a>,
    tx_count: usize,
) -> EthBlockExecutionCtx<'a> {
    EthBlockExecutionCtx {
        parent_hash: header.parent_hash,
        parent_beacon_block_root: header.parent_beacon_block_root,
        ommers: body.ommers,
        withdrawals: body.withdrawals.map(Cow::Borrowed),
        extra_data: header.extra_data.clone(),
        tx_count_hint: Some(tx_count),
        slot_number: None,
    }
}

/// Executes `transactions` on top of the state after `parent`, in the environment given by
/// `header` (number, timestamp, beneficiary, gas limit, base fee, prevRandao, excess blob gas,
/// parent beacon root are read from it; its result fields are ignored).
pub(crate) fn execute_transactions(
    state: ChainState<'_>,
    spec: &ChainSpec,
    parent: &Header,
    header: &Header,
    body: BodyParts<'_>,
    transactions: Vec<(TxEnvelope, Address)>,
    policy: InvalidTxPolicy,
) -> Result<ExecutionOutcome, ExecutorError> {
    let started = std::time::Instant::now();
    let ChainState { store, tries } = state;
    let parent_state = StateAtBlock::new(store, header.parent_hash)?;
    let prefetch = parent_state.is_head() && transactions.len() >= PREFETCH_MIN_TXS;
    let run = Run {
        body,
        transactions,
        policy,
        parent_state,
        started,
    };
    if !prefetch {
        return execute_on(
            store,
            tries,
            spec,
            parent,
            header,
            run,
            &mut Prefetch::disabled(),
        );
    }
    prefetch_while(store, parent.state_root, |prefetch| {
        let run = Run {
            parent_state: run.parent_state.reporting_touches(prefetch.sink()),
            ..run
        };
        execute_on(store, tries, spec, parent, header, run, prefetch)
    })
}

/// Where blocks execute: the store, and the state tries kept from the last block.
#[derive(Clone, Copy)]
pub(crate) struct ChainState<'a> {
    pub(crate) store: &'a ChainStore,
    pub(crate) tries: &'a ResidentTries,
}

/// One block's inputs to [`execute_on`].
struct Run<'a, 'b> {
    body: BodyParts<'a>,
    transactions: Vec<(TxEnvelope, Address)>,
    policy: InvalidTxPolicy,
    parent_state: StateAtBlock<'b>,
    started: std::time::Instant,
}

/// [`execute_transactions`] proper: executes, stops `prefetch` (execution's reads are over), then
/// computes the state diff and root.
fn execute_on(
    store: &ChainStore,
    tries: &ResidentTries,
    spec: &ChainSpec,
    parent: &Header,
    header: &Header,
    run: Run<'_, '_>,
    prefetch: &mut Prefetch<'_>,
) -> Result<ExecutionOutcome, ExecutorError> {
    let Run {
        body,
        transactions,
        policy,
        parent_state,
        started,
    } = run;
    let mut state = State::builder()
        .with_database_ref(&parent_state)
        .with_bundle_update()
        .build();
    // Room for the accounts a block of transfers touches (sender and recipient of each), so that
    // revm's per-block maps do not rehash as they grow (a twentieth of execution in profiles).
    let accounts_hint = 2 * transactions.len() + 16;
    state.cache.accounts.reserve(accounts_hint);
    if let Some(transitions) = state.transition_state.as_mut() {
        transitions.transitions.reserve(accounts_hint);
    }

    let evm = EthEvmFactory::default().create_evm(&mut state, block_env(spec, header));
    let ctx = execution_ctx(header, body, transactions.len());
    let mut executor = EthBlockExecutor::new(evm, ctx, spec, AlloyReceiptBuilder::default());
    executor
        .apply_pre_execution_changes()
        .map_err(block_error)?;

    let byzantium = spec.is_byzantium_active_at_block(header.number);
    let mut post_state_roots = Vec::new();
    let mut included = Vec::with_capacity(transactions.len());
    let mut skipped = Vec::new();
    let mut seen = std::collections::HashSet::with_capacity(transactions.len());
    // Blob gas of the transactions built in so far, and the block's limit (none before Cancun).
    let mut blob_gas_built = 0u64;
    let max_blob_gas = spec
        .blob_params_at(header.timestamp)
        .map(|params| params.max_blob_gas_per_block());
    for (index, (tx, sender)) in transactions.into_iter().enumerate() {
        let hash = *tx.tx_hash();
        let refusal = if policy == InvalidTxPolicy::Skip && !seen.insert(hash) {
            Some("duplicate transaction".to_string())
        } else if policy == InvalidTxPolicy::Skip
            && tx.blob_gas_used().is_some_and(|gas| {
                blob_gas_built.saturating_add(gas) > max_blob_gas.unwrap_or_default()
            })
        {
            // Building: a blob transaction that does not fit waits for a later block.
            Some(format!(
                "blob gas limit reached: {blob_gas_built} of {} used",
                max_blob_gas.unwrap_or_default()
            ))
        } else {
            match executor.execute_transaction(Recovered::new_unchecked(&tx, sender)) {
                Ok(_) if !byzantium => {
                    // Pre-Byzantium receipts carry the state root after the transaction.
                    let db = executor.evm_mut().db_mut();
                    db.merge_transitions(BundleRetention::PlainState);
                    let mut diff = bundle_to_diff(&db.bundle_state, &parent_state)?;
                    post_state_roots
                        .push(apply_diff(store, tries, parent.state_root, &mut diff)?.state_root);
                    None
                }
                Ok(_) => None,
                Err(BlockExecutionError::Validation(err)) => Some(tx_error_text(
                    &err,
                    &tx,
                    sender,
                    header.base_fee_per_gas.unwrap_or_default(),
                )),
                Err(err) => return Err(block_error(err)),
            }
        };
        match (refusal, policy) {
            (None, _) => {
                blob_gas_built += tx.blob_gas_used().unwrap_or_default();
                included.push((tx, sender))
            }
            (Some(reason), InvalidTxPolicy::Reject) => {
                return Err(InvalidBlock::Transaction {
                    index,
                    hash,
                    reason,
                }
                .into())
            }
            (Some(reason), InvalidTxPolicy::Skip) => skipped.push(SkippedTx {
                index,
                hash,
                reason,
            }),
        }
    }
    if spec.is_prague_active_at_timestamp(header.timestamp) {
        // EIP-7002/7251: a Prague block is invalid when a request contract has no code.
        for address in [
            eip7002::WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS,
            eip7251::CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS,
        ] {
            let info = executor
                .evm_mut()
                .db_mut()
                .basic(address)
                .map_err(|e| ExecutorError::StateRead(e.to_string()))?;
            if info.is_none_or(|info| info.code_hash == KECCAK_EMPTY) {
                return Err(InvalidBlock::Execution(format!(
                    "system contract {address} has no code"
                ))
                .into());
            }
        }
    }
    let (_evm, mut result) = executor.finish().map_err(block_error)?;
    for (receipt, root) in result.receipts.iter_mut().zip(post_state_roots) {
        if let Some(receipt) = receipt.as_receipt_with_bloom_mut() {
            receipt.receipt.status = Eip658Value::PostState(root);
        }
    }
    state.merge_transitions(BundleRetention::PlainState);
    let bundle = state.take_bundle();
    prefetch.stop();
    let executed = std::time::Instant::now();
    let receipts = result.receipts;
    let state_root = || -> Result<_, ExecutorError> {
        let mut diff = bundle_to_diff(&bundle, &parent_state)?;
        let root = apply_diff(store, tries, parent.state_root, &mut diff)?;
        Ok((diff, root))
    };
    let body_roots = || BodyRoots::of(&included, &receipts);
    let (state, body_roots) =
        if included.len() >= PARALLEL_BODY_ROOTS_MIN_TXS && *fastevm_trie::CORES > 1 {
            fastevm_trie::on_two_threads(state_root, body_roots)
        } else {
            (state_root(), body_roots())
        };
    let (diff, root) = state?;
    let timings = ExecutionTimings {
        execute: executed - started,
        state_root: executed.elapsed(),
    };
    Ok(ExecutionOutcome {
        transactions: included,
        skipped,
        receipts,
        requests: result.requests,
        gas_used: result.gas_used,
        blob_gas_used: result.blob_gas_used,
        diff,
        root,
        body_roots,
        timings,
    })
}

/// Why a transaction cannot be in the block, in geth's words when the transaction itself is
/// invalid (e.g. "nonce too high: address 0x…, tx: 9 state: 0").
fn tx_error_text(
    err: &BlockValidationError,
    tx: &TxEnvelope,
    sender: Address,
    base_fee: u64,
) -> String {
    match err {
        BlockValidationError::InvalidTx { error, .. } => match error.as_invalid_tx_err() {
            Some(invalid) => {
                let tx = TxEnv::from_recovered_tx(tx, sender);
                crate::tx_error::geth_invalid_tx(invalid, &tx, base_fee)
            }
            None => error.to_string(),
        },
        other => other.to_string(),
    }
}

/// Maps a block-level execution failure: consensus violations make the block invalid, anything
/// else (a state read failing) is an internal error.
fn block_error(err: BlockExecutionError) -> ExecutorError {
    match err {
        BlockExecutionError::Validation(err) => InvalidBlock::Execution(err.to_string()).into(),
        BlockExecutionError::Internal(err) => ExecutorError::StateRead(err.to_string()),
    }
}
