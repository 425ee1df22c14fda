//! Commit certification, the safety rule behind commit sync.
//!
//! Every block carries votes for the commits its author made since its previous block
//! ([`crate::Block::commit_votes`]). A commit that validators holding a quorum of the stake
//! voted for is *certified*: at least one honest validator made exactly that commit, and since
//! every honest validator makes the same commits, it is the commit of that index. Commits are
//! hash-chained, so certifying the last commit of a contiguous range certifies the whole range.
//! A node that fell behind can therefore take a range of commits, with their blocks, from any
//! single peer — without the DAG below them — once a quorum's signed blocks vouch for its end.
//!
//! - [`CommitVoteMonitor`] follows the votes in the blocks a node receives and tells how far a
//!   quorum has committed (when that is far ahead of the node, it is lagging: commit sync).
//! - [`certifiers_of`] picks, on the serving side, blocks that certify a commit.
//! - [`verify_certified_range`] checks, on the fetching side, a range and its certifying blocks.
//!
//! Pure functions over verified blocks (signatures checked by the caller); no I/O.

use crate::commit::{Commit, CommitIndex, CommitRef};
use crate::committee::Committee;
use crate::error::{ConsensusError, ConsensusResult};
use crate::stake_aggregator::StakeAggregator;
use crate::types::VerifiedBlock;

/// The highest commit each authority voted for, as seen in its blocks.
#[derive(Clone, Debug)]
pub struct CommitVoteMonitor {
    highest_voted: Vec<CommitIndex>,
}

impl CommitVoteMonitor {
    /// Monitor for a committee of `size` authorities.
    pub fn new(size: usize) -> Self {
        Self {
            highest_voted: vec![0; size],
        }
    }

    /// Records the votes of a verified block.
    pub fn observe(&mut self, block: &VerifiedBlock) {
        let Some(last) = block.commit_votes().last() else {
            return;
        };
        if let Some(h) = self.highest_voted.get_mut(block.author() as usize) {
            *h = (*h).max(last.index);
        }
    }

    /// Records that `author` (e.g. this node) has made commit `index`.
    pub fn observe_index(&mut self, author: u32, index: CommitIndex) {
        if let Some(h) = self.highest_voted.get_mut(author as usize) {
            *h = (*h).max(index);
        }
    }

    /// The highest commit `author` was seen voting for (0 if none or unknown).
    pub fn highest_voted(&self, author: u32) -> CommitIndex {
        self.highest_voted
            .get(author as usize)
            .copied()
            .unwrap_or(0)
    }

    /// The highest commit index that authorities holding a quorum of the stake have voted for
    /// or beyond (0 while unknown). Fewer than a quorum cannot raise it: f Byzantine validators
    /// voting for made-up far commits do not make a node believe it is behind.
    pub fn quorum_commit_index(&self, committee: &Committee) -> CommitIndex {
        let mut by_index: Vec<(CommitIndex, u32)> = self
            .highest_voted
            .iter()
            .enumerate()
            .map(|(a, i)| (*i, a as u32))
            .collect();
        by_index.sort_unstable_by(|x, y| y.cmp(x));
        let mut stake = StakeAggregator::quorum();
        for (index, author) in by_index {
            if stake.add(author, committee) {
                return index;
            }
        }
        0
    }
}

/// From `candidates` (blocks dated after `commit` was made), one block per author voting for
/// `commit`, until they hold a quorum of the stake; `None` if they never do.
pub fn certifiers_of<'a>(
    commit: CommitRef,
    candidates: impl IntoIterator<Item = &'a VerifiedBlock>,
    committee: &Committee,
) -> Option<Vec<VerifiedBlock>> {
    let mut stake = StakeAggregator::quorum();
    let mut chosen: Vec<VerifiedBlock> = Vec::new();
    for b in candidates {
        if chosen.iter().any(|c| c.author() == b.author()) || !b.commit_votes().contains(&commit) {
            continue;
        }
        chosen.push(b.clone());
        if stake.add(b.author(), committee) {
            return Some(chosen);
        }
    }
    None
}

/// Checks a range of commits fetched from a peer: it starts at `start`, its indices are
/// consecutive, each commit names its predecessor's digest, and `certifiers` (verified blocks)
/// from authors holding a quorum of the stake vote for its last commit.
pub fn verify_certified_range(
    committee: &Committee,
    start: CommitIndex,
    commits: &[Commit],
    certifiers: &[VerifiedBlock],
) -> ConsensusResult<()> {
    let bad = |reason: String| Err(ConsensusError::UncertifiedCommits(reason));
    let Some(first) = commits.first() else {
        return bad("no commits".into());
    };
    if first.index != start {
        return bad(format!("starts at {} instead of {start}", first.index));
    }
    for pair in commits.windows(2) {
        if pair[1].index != pair[0].index + 1 || pair[1].previous_digest != pair[0].digest() {
            return bad(format!(
                "commit {} does not follow commit {}",
                pair[1].index, pair[0].index
            ));
        }
    }
    let last = commits[commits.len() - 1].reference();
    let mut stake = StakeAggregator::quorum();
    for b in certifiers {
        if b.commit_votes().contains(&last) {
            stake.add(b.author(), committee);
        }
    }
    if !stake.reached(committee) {
        return bad(format!(
            "votes for commit {} hold stake {} < quorum {}",
            last.index,
            stake.stake(),
            committee.quorum_threshold()
        ));
    }
    Ok(())
}

#[cfg(test)]
#[path = "commit_certifier_tests.rs"]
mod tests;
