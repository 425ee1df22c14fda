//! The pool's contents behind the lock: senders with their nonce-ordered transactions, a hash
//! index, pending/queued counts and the pending log. Admission checks that need the sender's
//! account or other pooled transactions (nonce, balance, replacement, limits) live here.

use std::collections::{BTreeMap, HashMap};

use alloy_primitives::{Address, B256, U256};

use crate::{
    eviction::{pending_victims, queued_victims, Candidate},
    pending_log::PendingLog,
    sender_txs::{pending_prefix, PoolTx, SenderTxs},
    validation::ValidTx,
    AccountInfo, PoolConfig, PoolError, PoolResult,
};

/// Everything the pool holds. Not synchronized: [`crate::TxPool`] wraps it in a lock.
#[derive(Debug)]
pub(crate) struct TxSet {
    config: PoolConfig,
    pub(crate) senders: BTreeMap<Address, SenderTxs>,
    /// Hash to (sender, nonce). Only looked up, never iterated.
    by_hash: HashMap<B256, (Address, u64)>,
    pub(crate) log: PendingLog,
    next_arrival: u64,
    pending: usize,
    queued: usize,
}

/// `old * (100 + bump) / 100`, in 256 bits so it cannot overflow.
fn bumped(old: u128, bump_percent: u64) -> U256 {
    U256::from(old) * U256::from(100 + u128::from(bump_percent)) / U256::from(100)
}

impl TxSet {
    pub(crate) fn new(config: PoolConfig) -> Self {
        Self {
            config,
            senders: BTreeMap::new(),
            by_hash: HashMap::new(),
            log: PendingLog::default(),
            next_arrival: 0,
            pending: 0,
            queued: 0,
        }
    }

    pub(crate) fn pending_count(&self) -> usize {
        self.pending
    }

    pub(crate) fn queued_count(&self) -> usize {
        self.queued
    }

    pub(crate) fn contains(&self, hash: &B256) -> bool {
        self.by_hash.contains_key(hash)
    }

    /// The pooled transaction with `hash` and whether it is pending.
    pub(crate) fn get(&self, hash: &B256) -> Option<(&PoolTx, bool)> {
        let (address, nonce) = self.by_hash.get(hash)?;
        let sender = self.senders.get(address)?;
        Some((sender.txs.get(nonce)?, sender.is_pending(*nonce)))
    }

    /// Runs `change` on one sender (created from `account` if absent), then recomputes its
    /// pending prefix and the pool's counts, and forgets the sender once it has no transactions.
    fn update_sender<R>(
        &mut self,
        address: Address,
        account: AccountInfo,
        change: impl FnOnce(&mut SenderTxs, &mut PendingLog, &mut HashMap<B256, (Address, u64)>) -> R,
    ) -> R {
        let sender = self
            .senders
            .entry(address)
            .or_insert_with(|| SenderTxs::new(account));
        self.pending -= sender.pending_len;
        self.queued -= sender.queued_len();
        let result = change(sender, &mut self.log, &mut self.by_hash);
        sender.relayout(&mut self.log);
        self.pending += sender.pending_len;
        self.queued += sender.queued_len();
        if sender.txs.is_empty() {
            self.senders.remove(&address);
        }
        result
    }

    /// Removes the transaction of `address` with `nonce`, if pooled.
    pub(crate) fn remove(&mut self, address: Address, nonce: u64) -> Option<PoolTx> {
        let account = self.senders.get(&address)?.account;
        self.update_sender(address, account, |sender, log, by_hash| {
            let tx = sender.txs.remove(&nonce)?;
            forget(&tx, log, by_hash);
            Some(tx)
        })
    }

    /// Admits a validated transaction. `fresh` is the sender's account read for this call; a
    /// sender already pooled keeps the account view of the last head update instead, so all its
    /// transactions are judged against one state.
    pub(crate) fn insert(
        &mut self,
        valid: ValidTx,
        fresh: AccountInfo,
        base_fee: u64,
    ) -> PoolResult<B256> {
        if self.by_hash.contains_key(&valid.hash) {
            return Err(PoolError::AlreadyKnown);
        }
        let address = valid.sender;
        let nonce = valid.nonce;
        let existing = self.senders.get(&address);
        let account = existing.map_or(fresh, |sender| sender.account);
        if nonce < account.nonce {
            return Err(PoolError::NonceTooLow {
                next: account.nonce,
                tx: nonce,
            });
        }
        if nonce - account.nonce >= self.config.max_account_slots as u64 {
            return Err(PoolError::NonceTooHigh);
        }
        if let Some(old) = existing.and_then(|sender| sender.txs.get(&nonce)) {
            let bump = self.config.price_bump_percent;
            let old = &old.valid;
            if valid.max_fee <= old.max_fee
                || valid.tip <= old.tip
                || U256::from(valid.max_fee) < bumped(old.max_fee, bump)
                || U256::from(valid.tip) < bumped(old.tip, bump)
            {
                return Err(PoolError::ReplacementUnderpriced);
            }
        }
        let spent = existing.map_or(U256::ZERO, |sender| sender.spent_before(nonce));
        if spent.saturating_add(valid.cost) > account.balance {
            return Err(PoolError::InsufficientFunds {
                balance: account.balance,
                cost: valid.cost,
            });
        }
        let victims = self.plan_room(&valid, account, base_fee)?;
        for victim in victims {
            self.remove(victim.sender, victim.nonce);
        }
        let hash = valid.hash;
        let tx = PoolTx {
            valid,
            arrival: self.next_arrival,
            pending_seq: None,
        };
        self.next_arrival += 1;
        self.update_sender(address, account, |sender, log, by_hash| {
            if let Some(replaced) = sender.txs.insert(nonce, tx) {
                forget(&replaced, log, by_hash);
            }
            by_hash.insert(hash, (address, nonce));
        });
        Ok(hash)
    }

    /// The transactions to evict so that admitting `valid` keeps the pool within its limits,
    /// or [`PoolError::PoolFull`] if that would evict something paying as much as `valid`.
    fn plan_room(
        &self,
        valid: &ValidTx,
        account: AccountInfo,
        base_fee: u64,
    ) -> PoolResult<Vec<Candidate>> {
        let sender = self.senders.get(&valid.sender);
        // The sender's transactions as they would be: (nonce, cost, the pooled tx unless it is
        // the newcomer).
        let mut planned: Vec<(u64, U256, Option<&PoolTx>)> = sender
            .into_iter()
            .flat_map(|sender| sender.txs.iter())
            .filter(|(nonce, _)| **nonce != valid.nonce)
            .map(|(nonce, tx)| (*nonce, tx.valid.cost, Some(tx)))
            .collect();
        let at = planned.partition_point(|(nonce, _, _)| *nonce < valid.nonce);
        planned.insert(at, (valid.nonce, valid.cost, None));
        let pending_len = pending_prefix(&account, planned.iter().map(|(n, c, _)| (*n, *c)));
        let (old_pending, old_queued) =
            sender.map_or((0, 0), |sender| (sender.pending_len, sender.queued_len()));
        let pending_after = self.pending - old_pending + pending_len;
        let queued_after = self.queued - old_queued + (planned.len() - pending_len);
        let bound = Some(valid.price(base_fee));

        let mut victims = Vec::new();
        if pending_after > self.config.max_pending {
            let count = pending_after - self.config.max_pending;
            victims.extend(
                pending_victims(&self.senders, Some(&valid.sender), count, bound, base_fee)
                    .ok_or(PoolError::PoolFull)?,
            );
        }
        if queued_after > self.config.max_queued {
            let count = queued_after - self.config.max_queued;
            let mut candidates: Vec<Candidate> = self
                .senders
                .iter()
                .filter(|(address, _)| **address != valid.sender)
                .flat_map(|(_, sender)| sender.queued())
                .map(|tx| Candidate::of(tx, base_fee))
                .collect();
            candidates.extend(
                planned[pending_len..]
                    .iter()
                    .filter_map(|(_, _, tx)| tx.map(|tx| Candidate::of(tx, base_fee))),
            );
            victims.extend(queued_victims(candidates, count, bound).ok_or(PoolError::PoolFull)?);
        }
        Ok(victims)
    }

    /// The head moved: `account` is the sender's state there. Drops transactions below its nonce
    /// (mined or replaced), beyond its slot window (the nonce went back in a reorg) and those
    /// costing more than its whole balance, then recomputes what is pending.
    pub(crate) fn reset_sender(&mut self, address: Address, account: AccountInfo) {
        if !self.senders.contains_key(&address) {
            return;
        }
        let window_end = account
            .nonce
            .saturating_add(self.config.max_account_slots as u64);
        self.update_sender(address, account, |sender, log, by_hash| {
            sender.account = account;
            let mut kept = sender.txs.split_off(&account.nonce);
            let beyond = kept.split_off(&window_end);
            let stale = std::mem::replace(&mut sender.txs, kept);
            let unpayable: Vec<u64> = sender
                .txs
                .iter()
                .filter(|(_, tx)| tx.valid.cost > account.balance)
                .map(|(nonce, _)| *nonce)
                .collect();
            let dropped = unpayable
                .iter()
                .filter_map(|nonce| sender.txs.remove(nonce));
            for tx in stale
                .into_values()
                .chain(beyond.into_values())
                .chain(dropped)
            {
                forget(&tx, log, by_hash);
            }
        });
    }

    /// Evicts the cheapest transactions until both limits hold (after a head update promoted
    /// many queued transactions at once, say).
    pub(crate) fn enforce_limits(&mut self, base_fee: u64) {
        if self.queued > self.config.max_queued {
            let candidates = self
                .senders
                .values()
                .flat_map(SenderTxs::queued)
                .map(|tx| Candidate::of(tx, base_fee))
                .collect();
            let count = self.queued - self.config.max_queued;
            for victim in queued_victims(candidates, count, None).unwrap_or_default() {
                self.remove(victim.sender, victim.nonce);
            }
        }
        if self.pending > self.config.max_pending {
            let count = self.pending - self.config.max_pending;
            let victims = pending_victims(&self.senders, None, count, None, base_fee);
            for victim in victims.unwrap_or_default() {
                self.remove(victim.sender, victim.nonce);
            }
        }
    }
}

/// Drops a removed transaction from the hash index and the pending log.
fn forget(tx: &PoolTx, log: &mut PendingLog, by_hash: &mut HashMap<B256, (Address, u64)>) {
    by_hash.remove(&tx.valid.hash);
    if let Some(seq) = tx.pending_seq {
        log.leave(seq);
    }
}
