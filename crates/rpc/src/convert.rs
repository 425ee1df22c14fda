//! Stored blocks, transactions and receipts as alloy RPC objects: block headers with hash and
//! size, transactions with their block position and effective gas price, receipts with per-tx gas
//! used, contract address, blob gas and logs carrying block-wide log indices.

use crate::block_id::StoredBlock;
use alloy_consensus::{
    transaction::{Recovered, TransactionInfo},
    Block as ConsensusBlock, Header as ConsensusHeader, ReceiptEnvelope, Transaction as _,
    TxEnvelope,
};
use alloy_eips::eip4844::DATA_GAS_PER_BLOB;
use alloy_primitives::{Address, TxKind, B256, U256};
use alloy_rpc_types_eth::{Block, BlockTransactions, Header, Log, Transaction, TransactionReceipt};
use fastevm_executor::ChainSpec;

/// The RPC header of a block whose RLP size is `size`.
pub(crate) fn rpc_header(hash: B256, header: ConsensusHeader, size: Option<usize>) -> Header {
    Header {
        hash,
        inner: header,
        total_difficulty: None,
        size: size.map(U256::from),
    }
}

/// RLP size of a whole block (what `size` reports).
pub(crate) fn block_size(block: &StoredBlock) -> usize {
    // Encoding borrows nothing: clone into the consensus block shape once.
    let consensus = ConsensusBlock::<TxEnvelope> {
        header: block.header.clone(),
        body: block.body.clone(),
    };
    alloy_rlp::Encodable::length(&consensus)
}

/// Position metadata of the transaction at `index` in `block`.
pub(crate) fn tx_info(block: &StoredBlock, index: usize) -> TransactionInfo {
    TransactionInfo {
        hash: Some(*block.body.transactions[index].tx_hash()),
        index: Some(index as u64),
        block_hash: Some(block.hash),
        block_number: Some(block.header.number),
        base_fee: block.header.base_fee_per_gas,
        block_timestamp: Some(block.header.timestamp),
    }
}

/// The RPC transaction at `index` of `block`.
pub(crate) fn block_transaction(block: &StoredBlock, index: usize) -> Option<Transaction> {
    let tx = block.body.transactions.get(index)?.clone();
    let sender = *block.senders.get(index)?;
    Some(Transaction::from_transaction(
        Recovered::new_unchecked(tx, sender),
        tx_info(block, index),
    ))
}

/// A transaction not in any block (pool): null block fields; `gasPrice` is what it would pay
/// at `next_base_fee` (its max fee per gas when that is unknown), as geth reports it.
pub(crate) fn pending_transaction(
    tx: TxEnvelope,
    sender: Address,
    next_base_fee: Option<u64>,
) -> Transaction {
    let info = TransactionInfo {
        hash: Some(*tx.tx_hash()),
        base_fee: next_base_fee,
        ..Default::default()
    };
    Transaction::from_transaction(Recovered::new_unchecked(tx, sender), info)
}

/// The RPC block, with full transactions or their hashes.
pub(crate) fn rpc_block(block: StoredBlock, full: bool) -> Block {
    let size = block_size(&block);
    let transactions = if full {
        BlockTransactions::Full(
            (0..block.body.transactions.len())
                .filter_map(|i| block_transaction(&block, i))
                .collect(),
        )
    } else {
        BlockTransactions::Hashes(
            block
                .body
                .transactions
                .iter()
                .map(|tx| *tx.tx_hash())
                .collect(),
        )
    };
    Block {
        uncles: block.body.ommers.iter().map(|o| o.hash_slow()).collect(),
        withdrawals: block.body.withdrawals.clone(),
        transactions,
        header: rpc_header(block.hash, block.header, Some(size)),
    }
}

/// An ommer header as the RPC block geth reports for it: the header alone (no `transactions`
/// field, no uncles, no withdrawals), its size that of a block with empty lists.
pub(crate) fn ommer_block(header: ConsensusHeader) -> Block {
    let hash = header.hash_slow();
    let size = alloy_rlp::Encodable::length(&ConsensusBlock::<TxEnvelope> {
        header: header.clone(),
        body: alloy_consensus::BlockBody {
            transactions: vec![],
            ommers: vec![],
            withdrawals: None,
        },
    });
    Block {
        uncles: vec![],
        withdrawals: None,
        transactions: BlockTransactions::Uncle,
        header: rpc_header(hash, header, Some(size)),
    }
}

/// Logs of one block, with block-wide log indices, in order.
pub(crate) fn block_logs(block: &StoredBlock, receipts: &[ReceiptEnvelope]) -> Vec<Log> {
    let mut logs = Vec::new();
    let mut log_index = 0u64;
    for (index, receipt) in receipts.iter().enumerate() {
        let tx_hash = block.body.transactions.get(index).map(|tx| *tx.tx_hash());
        for log in receipt.logs() {
            logs.push(rpc_log(block, tx_hash, index, log_index, log.clone()));
            log_index += 1;
        }
    }
    logs
}

fn rpc_log(
    block: &StoredBlock,
    tx_hash: Option<B256>,
    tx_index: usize,
    log_index: u64,
    log: alloy_primitives::Log,
) -> Log {
    Log {
        inner: log,
        block_hash: Some(block.hash),
        block_number: Some(block.header.number),
        block_timestamp: Some(block.header.timestamp),
        transaction_hash: tx_hash,
        transaction_index: Some(tx_index as u64),
        log_index: Some(log_index),
        removed: false,
    }
}

/// Price of blob gas in `header`'s block (`None` before Cancun).
pub(crate) fn blob_gas_price(spec: &ChainSpec, header: &ConsensusHeader) -> Option<u128> {
    let params = spec.blob_params_at(header.timestamp)?;
    Some(params.calc_blob_fee(header.excess_blob_gas.unwrap_or_default()))
}

/// Receipts of every transaction of `block`, as RPC objects.
pub(crate) fn block_receipts(
    spec: &ChainSpec,
    block: &StoredBlock,
    receipts: Vec<ReceiptEnvelope>,
) -> Vec<TransactionReceipt> {
    let blob_price = blob_gas_price(spec, &block.header);
    let mut out = Vec::with_capacity(receipts.len());
    let mut previous_cumulative = 0u64;
    let mut log_index = 0u64;
    for (index, receipt) in receipts.into_iter().enumerate() {
        let (Some(tx), Some(sender)) = (
            block.body.transactions.get(index),
            block.senders.get(index).copied(),
        ) else {
            break;
        };
        let cumulative = receipt.cumulative_gas_used();
        let gas_used = cumulative.saturating_sub(previous_cumulative);
        previous_cumulative = cumulative;
        let tx_hash = *tx.tx_hash();
        let inner = receipt.map_logs(|log| {
            let rpc = rpc_log(block, Some(tx_hash), index, log_index, log);
            log_index += 1;
            rpc
        });
        let blob_gas_used = tx
            .blob_versioned_hashes()
            .map(|hashes| hashes.len() as u64 * DATA_GAS_PER_BLOB);
        let contract_address = match tx.kind() {
            TxKind::Create => Some(sender.create(tx.nonce())),
            TxKind::Call(_) => None,
        };
        out.push(TransactionReceipt {
            inner,
            transaction_hash: tx_hash,
            transaction_index: Some(index as u64),
            block_hash: Some(block.hash),
            block_number: Some(block.header.number),
            gas_used,
            effective_gas_price: tx.effective_gas_price(block.header.base_fee_per_gas),
            blob_gas_used,
            blob_gas_price: blob_gas_used.and(blob_price),
            from: sender,
            to: tx.to(),
            contract_address,
        });
    }
    out
}
