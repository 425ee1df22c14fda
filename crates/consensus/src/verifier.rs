//! Block verification: stateless checks on network input, plus the timestamp check once ancestors are known.

use std::collections::BTreeSet;

use crate::committee::Committee;
use crate::error::{ConsensusError, ConsensusResult};
use crate::stake_aggregator::StakeAggregator;
use crate::types::{BlockRef, Epoch, SignedBlock, VerifiedBlock};

/// Size limits for blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockLimits {
    /// Maximum number of transactions in a block.
    pub max_transactions: usize,
    /// Maximum total transaction bytes in a block.
    pub max_transaction_bytes: usize,
    /// Maximum commit votes in a block (a validator with more pending votes keeps the newest).
    pub max_commit_votes: usize,
}

impl Default for BlockLimits {
    /// 10,000 transactions, 4 MiB of transactions, 100 commit votes (Sui's limit).
    fn default() -> Self {
        Self {
            max_transactions: 10_000,
            max_transaction_bytes: 4 << 20,
            max_commit_votes: 100,
        }
    }
}

/// Verifies signed blocks received from the network against a committee.
#[derive(Clone, Debug)]
pub struct BlockVerifier {
    committee: Committee,
    limits: BlockLimits,
    genesis: BTreeSet<BlockRef>,
}

impl BlockVerifier {
    /// Verifier for `committee` (its epoch is the expected block epoch).
    pub fn new(committee: Committee, limits: BlockLimits) -> Self {
        let genesis = VerifiedBlock::genesis(&committee)
            .iter()
            .map(|b| b.reference())
            .collect();
        Self {
            committee,
            limits,
            genesis,
        }
    }

    /// The committee's epoch.
    pub fn epoch(&self) -> Epoch {
        self.committee.epoch
    }

    /// Stateless checks; on success the block becomes a [`VerifiedBlock`].
    pub fn verify(&self, signed: SignedBlock) -> ConsensusResult<VerifiedBlock> {
        let block = &signed.block;
        let c = &self.committee;
        if block.epoch != c.epoch {
            return Err(ConsensusError::WrongEpoch {
                expected: c.epoch,
                got: block.epoch,
            });
        }
        let Some(author) = c.authority(block.author) else {
            return Err(ConsensusError::UnknownAuthority(block.author));
        };
        if block.round == 0 {
            return Err(ConsensusError::GenesisBlock);
        }
        if block.transactions.len() > self.limits.max_transactions {
            return Err(ConsensusError::BlockTooLarge(format!(
                "{} transactions > {}",
                block.transactions.len(),
                self.limits.max_transactions
            )));
        }
        if block.transactions_bytes() > self.limits.max_transaction_bytes {
            return Err(ConsensusError::BlockTooLarge(format!(
                "{} transaction bytes > {}",
                block.transactions_bytes(),
                self.limits.max_transaction_bytes
            )));
        }
        if block.commit_votes.len() > self.limits.max_commit_votes {
            return Err(ConsensusError::BlockTooLarge(format!(
                "{} commit votes > {}",
                block.commit_votes.len(),
                self.limits.max_commit_votes
            )));
        }
        if block
            .commit_votes
            .windows(2)
            .any(|w| w[0].index >= w[1].index)
        {
            return Err(ConsensusError::UnorderedCommitVotes);
        }
        let first = block.ancestors.first().ok_or(ConsensusError::NoAncestors)?;
        if first.author != block.author {
            return Err(ConsensusError::FirstAncestorNotOwn);
        }
        let mut authors = BTreeSet::new();
        let mut parents = StakeAggregator::quorum();
        for a in &block.ancestors {
            if !c.is_valid_index(a.author) {
                return Err(ConsensusError::UnknownAuthority(a.author));
            }
            if a.round >= block.round {
                return Err(ConsensusError::AncestorRoundTooHigh {
                    ancestor: *a,
                    round: block.round,
                });
            }
            if a.round == 0 && !self.genesis.contains(a) {
                return Err(ConsensusError::UnknownGenesisAncestor(*a));
            }
            if !authors.insert(a.author) {
                return Err(ConsensusError::DuplicateAncestorAuthor(a.author));
            }
            if a.round + 1 == block.round {
                parents.add(a.author, c);
            }
        }
        if !parents.reached(c) {
            return Err(ConsensusError::InsufficientParentStake {
                stake: parents.stake(),
                quorum: c.quorum_threshold(),
            });
        }
        let digest = block.digest();
        if !author.public_key.verify(&digest, &signed.signature) {
            return Err(ConsensusError::InvalidSignature(signed.reference()));
        }
        Ok(VerifiedBlock::new_trusted(signed))
    }

    /// Decodes and verifies network bytes.
    pub fn verify_bytes(&self, bytes: &[u8]) -> ConsensusResult<VerifiedBlock> {
        self.verify(SignedBlock::from_bytes(bytes)?)
    }
}

/// Check applied once all ancestors are known: the block's timestamp is not below any ancestor's.
pub fn check_ancestor_timestamps(
    block: &VerifiedBlock,
    ancestors: &[VerifiedBlock],
) -> ConsensusResult<()> {
    let max = ancestors
        .iter()
        .map(|a| a.timestamp_ms())
        .max()
        .unwrap_or(0);
    if block.timestamp_ms() < max {
        return Err(ConsensusError::TimestampBeforeAncestor {
            timestamp_ms: block.timestamp_ms(),
            ancestor_timestamp_ms: max,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Block, BlockDigest, Transaction};
    use ed25519_dalek::SigningKey;

    struct Fixture {
        verifier: BlockVerifier,
        keys: Vec<SigningKey>,
        genesis: Vec<BlockRef>,
    }

    fn fixture() -> Fixture {
        let (committee, keys) = Committee::new_for_test(4, 5);
        let genesis = VerifiedBlock::genesis(&committee)
            .iter()
            .map(|b| b.reference())
            .collect();
        let limits = BlockLimits {
            max_transactions: 3,
            max_transaction_bytes: 10,
            max_commit_votes: 2,
        };
        Fixture {
            verifier: BlockVerifier::new(committee, limits),
            keys,
            genesis,
        }
    }

    fn round1(f: &Fixture, author: u32) -> Block {
        let mut ancestors = vec![f.genesis[author as usize]];
        ancestors.extend(f.genesis.iter().filter(|g| g.author != author));
        Block {
            epoch: 0,
            round: 1,
            author,
            timestamp_ms: 10,
            ancestors,
            transactions: vec![Transaction(vec![1])],
            commit_votes: vec![],
        }
    }

    fn check(f: &Fixture, block: Block) -> ConsensusResult<VerifiedBlock> {
        let key = &f.keys[(block.author as usize) % f.keys.len()];
        f.verifier.verify(SignedBlock::sign(block, key))
    }

    #[test]
    fn accepts_valid_block_and_bytes() {
        let f = fixture();
        let b = check(&f, round1(&f, 2)).unwrap();
        assert_eq!(b.round(), 1);
        let bytes = SignedBlock::sign(round1(&f, 1), &f.keys[1]).to_bytes();
        assert_eq!(f.verifier.verify_bytes(&bytes).unwrap().author(), 1);
        assert!(matches!(
            f.verifier.verify_bytes(&bytes[1..]),
            Err(ConsensusError::Decode(_))
        ));
    }

    #[test]
    fn rejects_bad_signature() {
        let f = fixture();
        let signed = SignedBlock::sign(round1(&f, 1), &f.keys[2]);
        assert!(matches!(
            f.verifier.verify(signed),
            Err(ConsensusError::InvalidSignature(_))
        ));
        let mut signed = SignedBlock::sign(round1(&f, 1), &f.keys[1]);
        signed.block.timestamp_ms += 1; // tampered content
        assert!(matches!(
            f.verifier.verify(signed),
            Err(ConsensusError::InvalidSignature(_))
        ));
    }

    #[test]
    fn rejects_unknown_author_and_ancestor_author() {
        let f = fixture();
        let mut b = round1(&f, 1);
        b.author = 4;
        b.ancestors[0].author = 4;
        assert_eq!(check(&f, b), Err(ConsensusError::UnknownAuthority(4)));
        let mut b = round1(&f, 1);
        b.author = u32::MAX;
        assert_eq!(
            check(&f, b),
            Err(ConsensusError::UnknownAuthority(u32::MAX))
        );
        let mut b = round1(&f, 1);
        b.ancestors[2].author = 77;
        assert_eq!(check(&f, b), Err(ConsensusError::UnknownAuthority(77)));
    }

    #[test]
    fn rejects_round_zero_and_wrong_epoch() {
        let f = fixture();
        let mut b = round1(&f, 1);
        b.round = 0;
        assert_eq!(check(&f, b), Err(ConsensusError::GenesisBlock));
        let mut b = round1(&f, 1);
        b.epoch = 1;
        assert!(matches!(
            check(&f, b),
            Err(ConsensusError::WrongEpoch { .. })
        ));
    }

    #[test]
    fn rejects_ancestor_structure_violations() {
        let f = fixture();
        let mut b = round1(&f, 1);
        b.ancestors[3].round = 1;
        assert!(matches!(
            check(&f, b),
            Err(ConsensusError::AncestorRoundTooHigh { .. })
        ));
        let mut b = round1(&f, 1);
        b.ancestors.push(f.genesis[2]);
        assert_eq!(
            check(&f, b),
            Err(ConsensusError::DuplicateAncestorAuthor(2))
        );
        let mut b = round1(&f, 1);
        b.ancestors.swap(0, 1);
        assert_eq!(check(&f, b), Err(ConsensusError::FirstAncestorNotOwn));
        let mut b = round1(&f, 1);
        b.ancestors[1].digest = BlockDigest([7; 32]);
        assert!(matches!(
            check(&f, b),
            Err(ConsensusError::UnknownGenesisAncestor(_))
        ));
        let mut b = round1(&f, 1);
        b.ancestors.clear();
        assert_eq!(check(&f, b), Err(ConsensusError::NoAncestors));
        let mut b = round1(&f, 1);
        b.ancestors.truncate(2);
        assert!(matches!(
            check(&f, b),
            Err(ConsensusError::InsufficientParentStake {
                stake: 2,
                quorum: 3
            })
        ));
        // Round-2 block whose only round-1 parent is itself-ish: older ancestors do not count as parents.
        let mut b = round1(&f, 1);
        b.round = 2;
        assert!(matches!(
            check(&f, b),
            Err(ConsensusError::InsufficientParentStake { stake: 0, .. })
        ));
    }

    #[test]
    fn rejects_oversized_blocks() {
        let f = fixture();
        let mut b = round1(&f, 1);
        b.transactions = vec![Transaction(vec![0]); 4];
        assert!(matches!(
            check(&f, b),
            Err(ConsensusError::BlockTooLarge(_))
        ));
        let mut b = round1(&f, 1);
        b.transactions = vec![Transaction(vec![0; 11])];
        assert!(matches!(
            check(&f, b),
            Err(ConsensusError::BlockTooLarge(_))
        ));
        let vote = |index| crate::commit::CommitRef::new(index, Default::default());
        let mut b = round1(&f, 1);
        b.commit_votes = vec![vote(1), vote(2)];
        assert!(check(&f, b).is_ok(), "two votes are within the limit");
        let mut b = round1(&f, 1);
        b.commit_votes = vec![vote(1), vote(2), vote(3)];
        assert!(matches!(
            check(&f, b),
            Err(ConsensusError::BlockTooLarge(_))
        ));
    }

    #[test]
    fn commit_votes_must_name_increasing_indices() {
        let f = fixture();
        let vote = |index| crate::commit::CommitRef::new(index, Default::default());
        for votes in [vec![vote(2), vote(1)], vec![vote(3), vote(3)]] {
            let mut b = round1(&f, 1);
            b.commit_votes = votes;
            assert_eq!(check(&f, b), Err(ConsensusError::UnorderedCommitVotes));
        }
    }

    #[test]
    fn timestamp_must_not_precede_ancestors() {
        let f = fixture();
        let parent = check(&f, round1(&f, 1)).unwrap();
        let mut child = round1(&f, 1);
        child.round = 2;
        child.timestamp_ms = 9;
        let child = VerifiedBlock::new_trusted(SignedBlock::sign(child, &f.keys[1]));
        assert!(matches!(
            check_ancestor_timestamps(&child, std::slice::from_ref(&parent)),
            Err(ConsensusError::TimestampBeforeAncestor { .. })
        ));
        assert!(check_ancestor_timestamps(&parent, &[]).is_ok());
    }
}
