//! The latest blocks that failed validation, kept for `debug_getBadBlocks`: the block as it was
//! offered and why it was refused. Like geth, only the last [`BAD_BLOCKS_KEPT`] are kept; unlike
//! geth they live in memory only (a restart forgets them; the chain itself never held them).

use alloy_consensus::{Block, TxEnvelope};
use alloy_primitives::B256;
use parking_lot::Mutex;
use std::{collections::VecDeque, sync::Arc};

/// How many bad blocks are kept (geth keeps ten).
pub const BAD_BLOCKS_KEPT: usize = 10;

/// A block refused by `engine_newPayload` because executing or validating it failed.
#[derive(Debug, Clone)]
pub struct BadBlock {
    /// Its hash.
    pub hash: B256,
    /// The block as offered.
    pub block: Arc<Block<TxEnvelope>>,
    /// Why it is invalid.
    pub reason: String,
}

/// The latest [`BadBlock`]s, newest last, each at most once. Shared between the engine that
/// records them and the RPC server that reports them.
#[derive(Debug, Default)]
pub struct BadBlocks {
    recent: Mutex<VecDeque<BadBlock>>,
}

impl BadBlocks {
    /// Remembers `bad`, forgetting the oldest beyond [`BAD_BLOCKS_KEPT`]. A block already
    /// recorded is not recorded twice.
    pub fn record(&self, bad: BadBlock) {
        let mut recent = self.recent.lock();
        if recent.iter().any(|known| known.hash == bad.hash) {
            return;
        }
        if recent.len() == BAD_BLOCKS_KEPT {
            recent.pop_front();
        }
        recent.push_back(bad);
    }

    /// The kept bad blocks, newest first.
    pub fn newest_first(&self) -> Vec<BadBlock> {
        self.recent.lock().iter().rev().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad(n: u64) -> BadBlock {
        let mut block = Block::<TxEnvelope>::default();
        block.header.number = n;
        BadBlock {
            hash: block.header.hash_slow(),
            block: Arc::new(block),
            reason: format!("bad {n}"),
        }
    }

    #[test]
    fn keeps_the_latest_ten_newest_first_without_repeats() {
        let kept = BadBlocks::default();
        for n in 0..15 {
            kept.record(bad(n));
        }
        kept.record(bad(14));
        let numbers: Vec<u64> = kept
            .newest_first()
            .iter()
            .map(|b| b.block.header.number)
            .collect();
        assert_eq!(numbers, (5..15).rev().collect::<Vec<_>>());
    }
}
