//! Sealing a simulated block: the header's transactions root, receipts root and logs bloom, the
//! block hash, the RPC block (full transactions or hashes) and the call results with their logs
//! placed in the block.

use super::sim_tracer::IndexedLog;
use alloy_consensus::{
    proofs::{calculate_receipt_root, calculate_transaction_root},
    transaction::Recovered,
    BlockBody, Header, ReceiptEnvelope, TxEnvelope,
};
use alloy_eips::eip4895::Withdrawals;
use alloy_primitives::{Address, U256};
use alloy_rlp::Encodable;
use alloy_rpc_types_eth::{
    simulate::{SimCallResult, SimulatedBlock},
    Block, BlockTransactions, Log, Transaction,
};
use fastevm_executor::logs_bloom;

/// One executed call of a simulated block.
#[derive(Debug)]
pub(crate) struct SimulatedCall {
    /// The (unsigned) transaction the call stands for.
    pub(crate) transaction: TxEnvelope,
    /// Its sender.
    pub(crate) from: Address,
    /// The price per gas it paid.
    pub(crate) effective_gas_price: u128,
    /// Status, return data, gas and error (logs are filled in here).
    pub(crate) result: SimCallResult,
    /// Logs it emitted (with `traceTransfers`, its ether transfers too), with their indices in
    /// the block.
    pub(crate) logs: Vec<IndexedLog>,
}

/// Completes `header` (transactions root, receipts root, logs bloom) and builds the RPC block
/// with its call results.
pub(crate) fn sealed_block(
    mut header: Header,
    calls: Vec<SimulatedCall>,
    receipts: &[ReceiptEnvelope],
    full_transactions: bool,
) -> SimulatedBlock<Block> {
    let transactions: Vec<TxEnvelope> = calls.iter().map(|c| c.transaction.clone()).collect();
    header.transactions_root = calculate_transaction_root(&transactions);
    header.receipts_root = calculate_receipt_root(receipts);
    header.logs_bloom = logs_bloom(receipts);
    let hash = header.hash_slow();
    let withdrawals = header.withdrawals_root.map(|_| Withdrawals::default());
    let size = alloy_consensus::Block {
        header: header.clone(),
        body: BlockBody {
            transactions,
            ommers: vec![],
            withdrawals: withdrawals.clone(),
        },
    }
    .length();

    let (number, timestamp) = (header.number, header.timestamp);
    let mut results = Vec::with_capacity(calls.len());
    let mut full = Vec::new();
    let mut hashes = Vec::new();
    for (index, call) in calls.into_iter().enumerate() {
        let index = index as u64;
        let tx_hash = *call.transaction.tx_hash();
        // Failed calls leave no logs in the block (their receipts carry none).
        let logs = if call.result.status {
            call.logs
        } else {
            vec![]
        };
        let logs = logs
            .into_iter()
            .map(|(inner, log_index)| Log {
                inner,
                block_hash: Some(hash),
                block_number: Some(number),
                block_timestamp: Some(timestamp),
                transaction_hash: Some(tx_hash),
                transaction_index: Some(index),
                log_index: Some(log_index),
                removed: false,
            })
            .collect();
        results.push(SimCallResult {
            logs,
            ..call.result
        });
        if full_transactions {
            full.push(Transaction {
                inner: Recovered::new_unchecked(call.transaction, call.from),
                block_hash: Some(hash),
                block_number: Some(number),
                transaction_index: Some(index),
                effective_gas_price: Some(call.effective_gas_price),
                block_timestamp: Some(timestamp),
            });
        } else {
            hashes.push(tx_hash);
        }
    }
    let transactions = if full_transactions {
        BlockTransactions::Full(full)
    } else {
        BlockTransactions::Hashes(hashes)
    };
    SimulatedBlock {
        inner: Block {
            header: alloy_rpc_types_eth::Header {
                hash,
                inner: header,
                total_difficulty: None,
                size: Some(U256::from(size)),
            },
            uncles: vec![],
            transactions,
            withdrawals,
        },
        calls: results,
    }
}
