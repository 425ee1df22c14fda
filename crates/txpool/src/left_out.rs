//! Transactions a built block left out of the order consensus gave it (the block's gas ran out,
//! a duplicate, a nonce not yet reached), numbered so that every pool feed reads each note once
//! and offers the ones still pending again at its next proposal instead of waiting for
//! [`REOFFER_AFTER`](crate::REOFFER_AFTER).

use alloy_primitives::B256;
use std::collections::VecDeque;

/// Notes kept; a feed that falls further behind misses the oldest (they are still offered
/// again after `REOFFER_AFTER`).
const MAX_NOTES: usize = 65_536;

/// Left-out transaction hashes by sequence number (the first is 1).
#[derive(Debug, Default)]
pub(crate) struct LeftOutLog {
    /// Sequence of the last note.
    last_seq: u64,
    notes: VecDeque<B256>,
}

impl LeftOutLog {
    /// Notes that the transactions `hashes` were left out of a built block.
    pub(crate) fn note(&mut self, hashes: impl IntoIterator<Item = B256>) {
        for hash in hashes {
            self.last_seq += 1;
            self.notes.push_back(hash);
        }
        while self.notes.len() > MAX_NOTES {
            self.notes.pop_front();
        }
    }

    /// The notes after sequence `after`, oldest first, and the sequence to pass next time.
    pub(crate) fn since(&self, after: u64) -> (Vec<B256>, u64) {
        let first_kept = self.last_seq - self.notes.len() as u64 + 1;
        let skip = after.saturating_add(1).saturating_sub(first_kept);
        let hashes = self
            .notes
            .iter()
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
            .copied()
            .collect();
        (hashes, self.last_seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_note_is_read_once_and_the_oldest_go_first() {
        let mut log = LeftOutLog::default();
        assert_eq!(log.since(0), (vec![], 0));
        log.note([B256::repeat_byte(1), B256::repeat_byte(2)]);
        let (hashes, next) = log.since(0);
        assert_eq!(hashes, vec![B256::repeat_byte(1), B256::repeat_byte(2)]);
        assert_eq!(log.since(next), (vec![], 2));
        log.note([B256::repeat_byte(3)]);
        assert_eq!(log.since(next), (vec![B256::repeat_byte(3)], 3));

        log.note((0..MAX_NOTES as u64).map(|i| B256::left_padding_from(&i.to_be_bytes())));
        let (hashes, next) = log.since(3);
        assert_eq!((hashes.len(), next), (MAX_NOTES, 3 + MAX_NOTES as u64));
        // A reader far behind gets what is kept.
        let (hashes, _) = log.since(0);
        assert_eq!(hashes.len(), MAX_NOTES);
        assert_eq!(hashes[0], B256::ZERO);
    }
}
