//! Ordering pending transactions for the next block: each sender's in nonce order, senders
//! interleaved by the effective tip of their next transaction, earlier arrival first on ties.

use std::{cmp::Reverse, collections::BinaryHeap};

use alloy_consensus::TxEnvelope;
use alloy_primitives::Address;

use crate::{sender_txs::PoolTx, tx_set::TxSet};

/// The next transaction of one sender, ranked: higher tip first, then earlier arrival.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Head {
    tip: u128,
    earliest_first: Reverse<u64>,
    /// Which sender's run this is (index into the runs).
    run: usize,
}

/// Up to `max` pending transactions with their senders in block order at `base_fee`. A
/// transaction whose fee cap is below `base_fee` ends its sender's run.
pub(crate) fn best_transactions(
    set: &TxSet,
    base_fee: u64,
    max: usize,
) -> Vec<(TxEnvelope, Address)> {
    let runs: Vec<Vec<&PoolTx>> = set
        .senders
        .values()
        .map(|sender| sender.pending().collect())
        .collect();
    let head = |run: usize, position: usize| {
        let tx = runs[run].get(position)?;
        let tip = tx.valid.effective_tip(base_fee)?;
        Some(Head {
            tip,
            earliest_first: Reverse(tx.arrival),
            run,
        })
    };
    let mut positions = vec![0usize; runs.len()];
    let mut heap: BinaryHeap<Head> = (0..runs.len()).filter_map(|run| head(run, 0)).collect();
    let mut best = Vec::with_capacity(max.min(set.pending_count()));
    while best.len() < max {
        let Some(top) = heap.pop() else { break };
        let position = positions[top.run];
        let tx = runs[top.run][position];
        best.push((tx.valid.tx.clone(), tx.valid.sender));
        positions[top.run] = position + 1;
        if let Some(next) = head(top.run, position + 1) {
            heap.push(next);
        }
    }
    best
}
