//! Installed polling filters (`eth_newFilter`, `eth_newBlockFilter`,
//! `eth_newPendingTransactionFilter`) and what each has seen since its last poll.
//!
//! Time is a logical clock in seconds that the server advances (a one-second ticker in
//! production, direct calls in tests): a filter not polled for [`FILTER_TIMEOUT_SECS`] of that
//! clock is removed, as geth does after five minutes.

use crate::events::CanonicalUpdate;
use alloy_primitives::B256;
use alloy_rpc_types_eth::{Filter, FilterBlockOption, Log};
use parking_lot::Mutex;
use std::collections::{BTreeMap, VecDeque};

/// Seconds without a poll after which a filter is removed.
pub const FILTER_TIMEOUT_SECS: u64 = 300;
/// Most block hashes or logs a filter buffers between polls; older entries are dropped first.
pub const MAX_BUFFERED_CHANGES: usize = 10_000;

/// What a filter watches.
#[derive(Debug, Clone)]
enum FilterKind {
    /// New canonical block hashes.
    Blocks(VecDeque<B256>),
    /// Logs matching a filter (including logs removed by reorganisations, marked `removed`).
    Logs {
        filter: Box<Filter>,
        logs: VecDeque<Log>,
    },
    /// New pending transactions, read from the pool from this sequence number on.
    PendingTransactions { cursor: u64 },
}

#[derive(Debug, Clone)]
struct InstalledFilter {
    kind: FilterKind,
    last_poll: u64,
}

/// What `eth_getFilterChanges` returns for one filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterPoll {
    /// New block hashes.
    Blocks(Vec<B256>),
    /// New (or removed) logs.
    Logs(Vec<Log>),
    /// A pending-transaction filter: the pool cursor it last read up to.
    PendingTransactions {
        /// Pool sequence number the filter has read up to.
        cursor: u64,
    },
}

#[derive(Debug, Default)]
struct Registry {
    now: u64,
    next_id: u64,
    filters: BTreeMap<u64, InstalledFilter>,
}

/// All installed filters.
#[derive(Debug, Default)]
pub struct FilterRegistry {
    inner: Mutex<Registry>,
}

impl FilterRegistry {
    /// No filters, clock at zero.
    pub fn new() -> Self {
        Self::default()
    }

    fn install(&self, kind: FilterKind) -> u64 {
        let mut inner = self.inner.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        let last_poll = inner.now;
        inner
            .filters
            .insert(id, InstalledFilter { kind, last_poll });
        id
    }

    /// Installs a block filter; returns its id.
    pub fn install_block_filter(&self) -> u64 {
        self.install(FilterKind::Blocks(VecDeque::new()))
    }

    /// Installs a log filter; returns its id.
    pub fn install_log_filter(&self, filter: Filter) -> u64 {
        self.install(FilterKind::Logs {
            filter: Box::new(filter),
            logs: VecDeque::new(),
        })
    }

    /// Installs a pending-transaction filter reading the pool after sequence `cursor`.
    pub fn install_pending_filter(&self, cursor: u64) -> u64 {
        self.install(FilterKind::PendingTransactions { cursor })
    }

    /// Removes a filter; whether it existed.
    pub fn uninstall(&self, id: u64) -> bool {
        self.inner.lock().filters.remove(&id).is_some()
    }

    /// Number of installed filters.
    pub fn len(&self) -> usize {
        self.inner.lock().filters.len()
    }

    /// Whether no filter is installed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes what filter `id` collected since its last poll (`None` if it does not exist) and
    /// restarts its expiry timer.
    pub fn poll(&self, id: u64) -> Option<FilterPoll> {
        let mut inner = self.inner.lock();
        let now = inner.now;
        let filter = inner.filters.get_mut(&id)?;
        filter.last_poll = now;
        Some(match &mut filter.kind {
            FilterKind::Blocks(hashes) => FilterPoll::Blocks(hashes.drain(..).collect()),
            FilterKind::Logs { logs, .. } => FilterPoll::Logs(logs.drain(..).collect()),
            FilterKind::PendingTransactions { cursor } => {
                FilterPoll::PendingTransactions { cursor: *cursor }
            }
        })
    }

    /// Records how far a pending-transaction filter has read the pool.
    pub fn set_pending_cursor(&self, id: u64, new_cursor: u64) {
        if let Some(InstalledFilter {
            kind: FilterKind::PendingTransactions { cursor },
            ..
        }) = self.inner.lock().filters.get_mut(&id)
        {
            *cursor = new_cursor;
        }
    }

    /// The criteria of log filter `id` (`None` if it does not exist or is not a log filter);
    /// counts as a poll.
    pub fn log_filter(&self, id: u64) -> Option<Filter> {
        let mut inner = self.inner.lock();
        let now = inner.now;
        let filter = inner.filters.get_mut(&id)?;
        match &filter.kind {
            FilterKind::Logs {
                filter: criteria, ..
            } => {
                let criteria = (**criteria).clone();
                filter.last_poll = now;
                Some(criteria)
            }
            _ => None,
        }
    }

    /// Feeds a canonical-chain change to every block and log filter.
    pub fn on_canonical_update(&self, update: &CanonicalUpdate) {
        let mut inner = self.inner.lock();
        for filter in inner.filters.values_mut() {
            match &mut filter.kind {
                FilterKind::Blocks(hashes) => {
                    hashes.extend(update.added.iter().map(|b| b.header.hash));
                    trim(hashes);
                }
                FilterKind::Logs { filter, logs } => {
                    let matching = update
                        .removed
                        .iter()
                        .chain(&update.added)
                        .flat_map(|b| &b.logs)
                        .filter(|log| log_matches(filter, log));
                    logs.extend(matching.cloned());
                    trim(logs);
                }
                FilterKind::PendingTransactions { .. } => {}
            }
        }
    }

    /// The logical clock (seconds).
    pub fn now(&self) -> u64 {
        self.inner.lock().now
    }

    /// Moves the clock forward to `now` (never backwards) and removes the filters that were not
    /// polled for [`FILTER_TIMEOUT_SECS`]. Returns how many were removed.
    pub fn advance_clock(&self, now: u64) -> usize {
        let mut inner = self.inner.lock();
        inner.now = inner.now.max(now);
        let now = inner.now;
        let before = inner.filters.len();
        inner
            .filters
            .retain(|_, f| now.saturating_sub(f.last_poll) < FILTER_TIMEOUT_SECS);
        before - inner.filters.len()
    }
}

fn trim<T>(queue: &mut VecDeque<T>) {
    while queue.len() > MAX_BUFFERED_CHANGES {
        queue.pop_front();
    }
}

/// Whether `log` matches the filter's addresses, topics and numeric block bounds (tags such as
/// `latest` impose no bound on new blocks).
pub(crate) fn log_matches(filter: &Filter, log: &Log) -> bool {
    let in_range = match (filter.block_option, log.block_number) {
        (FilterBlockOption::AtBlockHash(hash), _) => log.block_hash == Some(hash),
        (FilterBlockOption::Range { .. }, Some(number)) => filter.matches_block_range(number),
        (FilterBlockOption::Range { .. }, None) => false,
    };
    in_range && filter.matches(&log.inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::BlockEvent;
    use alloy_primitives::{Address, LogData};
    use alloy_rpc_types_eth::Header;

    fn block(number: u64, address: Address, removed: bool) -> BlockEvent {
        let header = Header {
            hash: B256::with_last_byte(number as u8),
            inner: alloy_consensus::Header {
                number,
                ..Default::default()
            },
            total_difficulty: None,
            size: None,
        };
        let log = Log {
            inner: alloy_primitives::Log {
                address,
                data: LogData::new_unchecked(vec![], Default::default()),
            },
            block_hash: Some(header.hash),
            block_number: Some(number),
            removed,
            ..Default::default()
        };
        BlockEvent {
            header,
            logs: vec![log],
        }
    }

    #[test]
    fn filters_buffer_until_polled_and_expire() {
        let registry = FilterRegistry::new();
        let blocks = registry.install_block_filter();
        let watched = Address::repeat_byte(1);
        let logs = registry.install_log_filter(Filter::new().address(watched).from_block(2u64));
        let pending = registry.install_pending_filter(7);
        registry.on_canonical_update(&CanonicalUpdate {
            removed: vec![block(3, watched, true)],
            added: vec![
                block(1, watched, false),
                block(2, watched, false),
                block(3, Address::ZERO, false),
            ],
        });
        let hashes: Vec<B256> = [1u8, 2, 3].map(B256::with_last_byte).to_vec();
        assert_eq!(registry.poll(blocks), Some(FilterPoll::Blocks(hashes)));
        assert_eq!(registry.poll(blocks), Some(FilterPoll::Blocks(vec![])));
        let Some(FilterPoll::Logs(found)) = registry.poll(logs) else {
            panic!("log filter");
        };
        // Block 1 is below fromBlock, block 3's new log is from another address; the removed
        // log of the old block 3 is delivered.
        assert_eq!(found.len(), 2);
        assert!(found[0].removed && found[0].block_number == Some(3));
        assert_eq!(found[1].block_number, Some(2));
        assert_eq!(
            registry.poll(pending),
            Some(FilterPoll::PendingTransactions { cursor: 7 })
        );
        registry.set_pending_cursor(pending, 9);
        assert_eq!(
            registry.poll(pending),
            Some(FilterPoll::PendingTransactions { cursor: 9 })
        );

        assert_eq!(registry.advance_clock(FILTER_TIMEOUT_SECS - 1), 0);
        registry.poll(blocks);
        assert_eq!(registry.advance_clock(FILTER_TIMEOUT_SECS), 2);
        assert!(registry.poll(logs).is_none() && registry.poll(pending).is_none());
        assert!(registry.poll(blocks).is_some());
        assert!(registry.uninstall(blocks) && !registry.uninstall(blocks));
        assert!(registry.is_empty());
    }
}
