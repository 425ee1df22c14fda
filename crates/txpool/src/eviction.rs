//! Choosing which transactions to drop when the pool is over a limit: the lowest-paying first
//! (effective tip at the base fee, then fee cap), the most recent arrival first among equals,
//! and never one that pays as much as the transaction being admitted.

use std::{
    cmp::Reverse,
    collections::{BTreeMap, BinaryHeap},
};

use alloy_primitives::Address;

use crate::sender_txs::{PoolTx, SenderTxs};

/// Effective tip at the base fee, then fee cap.
pub(crate) type Price = (u128, u128);

/// A transaction that may be evicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Candidate {
    price: Price,
    /// Newer arrivals sort first among equal prices.
    newest_first: Reverse<u64>,
    pub(crate) sender: Address,
    pub(crate) nonce: u64,
}

impl Candidate {
    pub(crate) fn of(tx: &PoolTx, base_fee: u64) -> Self {
        Self {
            price: tx.valid.price(base_fee),
            newest_first: Reverse(tx.arrival),
            sender: tx.valid.sender,
            nonce: tx.valid.nonce,
        }
    }

    /// Whether evicting this candidate is allowed to make room for a transaction paying `bound`
    /// (`None`: no newcomer, the pool is just over a limit).
    fn cheaper_than(&self, bound: Option<Price>) -> bool {
        bound.is_none_or(|bound| self.price < bound)
    }
}

/// `count` queued transactions to evict from `candidates`, cheapest first; `None` if fewer than
/// `count` are cheaper than `bound`.
pub(crate) fn queued_victims(
    mut candidates: Vec<Candidate>,
    count: usize,
    bound: Option<Price>,
) -> Option<Vec<Candidate>> {
    candidates.sort_unstable();
    let victims: Vec<Candidate> = candidates
        .into_iter()
        .take(count)
        .take_while(|c| c.cheaper_than(bound))
        .collect();
    (victims.len() == count).then_some(victims)
}

/// `count` pending transactions to evict, always taken from the end of a sender's pending run so
/// no other pending transaction loses its predecessor; `exclude` (the newcomer's sender) is never
/// touched. `None` if fewer than `count` are cheaper than `bound`.
pub(crate) fn pending_victims(
    senders: &BTreeMap<Address, SenderTxs>,
    exclude: Option<&Address>,
    count: usize,
    bound: Option<Price>,
    base_fee: u64,
) -> Option<Vec<Candidate>> {
    let tail =
        |sender: &SenderTxs, nonce: u64| Reverse(Candidate::of(&sender.txs[&nonce], base_fee));
    let mut heap: BinaryHeap<Reverse<Candidate>> = senders
        .iter()
        .filter(|(address, sender)| Some(*address) != exclude && sender.pending_len > 0)
        .map(|(_, sender)| tail(sender, sender.account.nonce + sender.pending_len as u64 - 1))
        .collect();
    let mut victims = Vec::with_capacity(count);
    while victims.len() < count {
        let Reverse(victim) = heap.pop()?;
        if !victim.cheaper_than(bound) {
            return None;
        }
        let sender = &senders[&victim.sender];
        if victim.nonce > sender.account.nonce {
            heap.push(tail(sender, victim.nonce - 1));
        }
        victims.push(victim);
    }
    Some(victims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(tip: u128, arrival: u64, nonce: u64) -> Candidate {
        Candidate {
            price: (tip, tip),
            newest_first: Reverse(arrival),
            sender: Address::ZERO,
            nonce,
        }
    }

    #[test]
    fn cheapest_and_then_newest_go_first() {
        let candidates = vec![candidate(5, 1, 1), candidate(3, 2, 2), candidate(3, 7, 3)];
        let victims = queued_victims(candidates.clone(), 2, Some((10, 10))).unwrap();
        assert_eq!(
            victims.iter().map(|c| c.nonce).collect::<Vec<_>>(),
            vec![3, 2]
        );
        // Never evict something paying as much as the newcomer.
        assert!(queued_victims(candidates.clone(), 2, Some((3, 3))).is_none());
        assert!(queued_victims(candidates.clone(), 4, None).is_none());
        assert_eq!(queued_victims(candidates, 3, None).unwrap().len(), 3);
    }
}
