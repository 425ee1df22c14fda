//! Numbers every entry of a transaction into the pending set, so consumers can read new pending
//! transactions exactly once by remembering the last sequence they saw.

use std::collections::BTreeMap;

use alloy_primitives::B256;

/// Currently pending transactions keyed by the sequence number they got on entering the pending
/// set. Sequences start at 1 and only grow, so `after = 0` reads everything.
#[derive(Debug, Default)]
pub(crate) struct PendingLog {
    last_seq: u64,
    entries: BTreeMap<u64, B256>,
}

impl PendingLog {
    /// Records that `hash` entered the pending set; returns its sequence.
    pub(crate) fn enter(&mut self, hash: B256) -> u64 {
        self.last_seq += 1;
        self.entries.insert(self.last_seq, hash);
        self.last_seq
    }

    /// Forgets the entry `seq` (its transaction left the pending set or the pool).
    pub(crate) fn leave(&mut self, seq: u64) {
        self.entries.remove(&seq);
    }

    /// The highest sequence handed out so far.
    pub(crate) fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Up to `max` still-pending entries with a sequence above `after`, in sequence order, and the
    /// sequence to pass next time (the last one returned, or `after` when none is).
    pub(crate) fn since(&self, after: u64, max: usize) -> (Vec<(u64, B256)>, u64) {
        let start = after.saturating_add(1);
        let entries: Vec<(u64, B256)> = self
            .entries
            .range(start..)
            .take(max)
            .map(|(seq, hash)| (*seq, *hash))
            .collect();
        let next = entries.last().map_or(after, |(seq, _)| *seq);
        (entries, next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_reads_each_entry_once_and_skips_departed_ones() {
        let mut log = PendingLog::default();
        let a = log.enter(B256::repeat_byte(1));
        let b = log.enter(B256::repeat_byte(2));
        let c = log.enter(B256::repeat_byte(3));
        assert_eq!((a, b, c), (1, 2, 3));
        log.leave(b);

        let (first, next) = log.since(0, 1);
        assert_eq!(first, vec![(1, B256::repeat_byte(1))]);
        assert_eq!(next, 1);
        let (second, next) = log.since(next, 10);
        assert_eq!(second, vec![(3, B256::repeat_byte(3))]);
        assert_eq!(next, 3);
        let (none, next) = log.since(next, 10);
        assert!(none.is_empty());
        assert_eq!(next, 3);
        assert_eq!(log.last_seq(), 3);
        assert_eq!(log.since(u64::MAX, 10), (vec![], u64::MAX));
    }
}
