//! One sender's pooled transactions in nonce order, split into an executable prefix (pending) and
//! the rest (queued).

use std::collections::BTreeMap;

use alloy_primitives::U256;

use crate::{pending_log::PendingLog, validation::ValidTx, AccountInfo};

/// A transaction in the pool.
#[derive(Debug, Clone)]
pub(crate) struct PoolTx {
    pub(crate) valid: ValidTx,
    /// When it was admitted (pool-wide counter): breaks ordering and eviction ties.
    pub(crate) arrival: u64,
    /// Its [`PendingLog`] sequence while pending.
    pub(crate) pending_seq: Option<u64>,
}

/// Length of the executable prefix of `(nonce, cost)` pairs sorted by nonce: nonces consecutive
/// from the account nonce whose running total cost stays within the balance.
pub(crate) fn pending_prefix(
    account: &AccountInfo,
    costs: impl IntoIterator<Item = (u64, U256)>,
) -> usize {
    let mut spent = U256::ZERO;
    costs
        .into_iter()
        .enumerate()
        .take_while(|(index, (nonce, cost))| {
            spent = spent.saturating_add(*cost);
            account.nonce.checked_add(*index as u64) == Some(*nonce) && spent <= account.balance
        })
        .count()
}

/// A sender's transactions and the account view they were judged against.
#[derive(Debug, Clone)]
pub(crate) struct SenderTxs {
    pub(crate) account: AccountInfo,
    pub(crate) txs: BTreeMap<u64, PoolTx>,
    /// The first `pending_len` transactions (by nonce) are pending.
    pub(crate) pending_len: usize,
}

impl SenderTxs {
    pub(crate) fn new(account: AccountInfo) -> Self {
        Self {
            account,
            txs: BTreeMap::new(),
            pending_len: 0,
        }
    }

    pub(crate) fn queued_len(&self) -> usize {
        self.txs.len() - self.pending_len
    }

    /// Pending transactions in nonce order.
    pub(crate) fn pending(&self) -> impl Iterator<Item = &PoolTx> {
        self.txs.values().take(self.pending_len)
    }

    /// Queued transactions in nonce order.
    pub(crate) fn queued(&self) -> impl Iterator<Item = &PoolTx> {
        self.txs.values().skip(self.pending_len)
    }

    /// Whether the transaction with `nonce` is in the pending prefix.
    pub(crate) fn is_pending(&self, nonce: u64) -> bool {
        self.pending_len > 0
            && nonce >= self.account.nonce
            && nonce - self.account.nonce < self.pending_len as u64
    }

    /// Total cost of the pooled transactions with a nonce below `nonce`.
    pub(crate) fn spent_before(&self, nonce: u64) -> U256 {
        self.txs
            .range(..nonce)
            .fold(U256::ZERO, |sum, (_, tx)| sum.saturating_add(tx.valid.cost))
    }

    /// Recomputes the pending prefix; transactions entering it get a log sequence, those leaving
    /// it lose theirs.
    pub(crate) fn relayout(&mut self, log: &mut PendingLog) {
        self.pending_len = pending_prefix(
            &self.account,
            self.txs.iter().map(|(nonce, tx)| (*nonce, tx.valid.cost)),
        );
        for (index, tx) in self.txs.values_mut().enumerate() {
            match (index < self.pending_len, tx.pending_seq) {
                (true, None) => tx.pending_seq = Some(log.enter(tx.valid.hash)),
                (false, Some(seq)) => {
                    log.leave(seq);
                    tx.pending_seq = None;
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(nonce: u64, balance: u64) -> AccountInfo {
        AccountInfo {
            nonce,
            balance: U256::from(balance),
        }
    }

    #[test]
    fn prefix_stops_at_a_gap() {
        let costs = [(3, U256::from(1)), (4, U256::from(1)), (6, U256::from(1))];
        assert_eq!(pending_prefix(&account(3, 100), costs), 2);
        assert_eq!(pending_prefix(&account(2, 100), costs), 0);
    }

    #[test]
    fn prefix_stops_where_the_balance_runs_out() {
        let costs = [
            (0, U256::from(40)),
            (1, U256::from(40)),
            (2, U256::from(40)),
        ];
        assert_eq!(pending_prefix(&account(0, 80), costs), 2);
        assert_eq!(pending_prefix(&account(0, 79), costs), 1);
        assert_eq!(pending_prefix(&account(0, 120), costs), 3);
    }
}
