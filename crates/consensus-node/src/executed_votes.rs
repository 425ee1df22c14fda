//! Executed-result agreement: after its execution node produces the EVM block of a commit, each
//! validator signs (height, block hash) and sends it to the others. Where validators holding a
//! quorum of the stake signed the same hash for a height, the chain's executed state at that
//! height is agreed — visible as a metric; a validator whose own block at that height differs
//! has diverged, and stops saying so instead of building on a state nobody else has.
//!
//! Pure bookkeeping with bounded memory: votes are kept for a window of heights around the
//! highest agreed or executed one, and one vote per validator and height counts.

use std::collections::{BTreeMap, BTreeSet};

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier};
use fastevm_consensus::{AuthorityIndex, Committee};

/// Domain separation for the signed vote.
const DOMAIN: &[u8] = b"fastevm-executed-vote-v1";

/// Heights of votes kept below the highest agreed height, and accepted above the highest
/// height seen here.
pub const VOTE_WINDOW: u64 = 1_024;

/// One validator's signed executed result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutedVote {
    /// The voting validator.
    pub author: AuthorityIndex,
    /// EVM block number.
    pub height: u64,
    /// Hash of the validator's EVM block at `height`.
    pub block_hash: [u8; 32],
    /// ed25519 signature of the author's block key over [`ExecutedVote::signing_message`].
    pub signature: [u8; 64],
}

impl ExecutedVote {
    /// What the author signs.
    pub fn signing_message(height: u64, block_hash: &[u8; 32]) -> Vec<u8> {
        [DOMAIN, &height.to_be_bytes(), block_hash].concat()
    }

    /// `author`'s vote for `block_hash` at `height`, signed with `key`.
    pub fn sign(
        key: &SigningKey,
        author: AuthorityIndex,
        height: u64,
        block_hash: [u8; 32],
    ) -> Self {
        let signature = key
            .sign(&Self::signing_message(height, &block_hash))
            .to_bytes();
        Self {
            author,
            height,
            block_hash,
            signature,
        }
    }

    /// Whether the signature is the author's.
    pub fn verify(&self, committee: &Committee) -> bool {
        committee.authority(self.author).is_some_and(|a| {
            a.public_key
                .0
                .verify(
                    &Self::signing_message(self.height, &self.block_hash),
                    &Signature::from_bytes(&self.signature),
                )
                .is_ok()
        })
    }
}

/// This validator's block at `height` is not the one a quorum agreed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// EVM block number.
    pub height: u64,
    /// This validator's block hash.
    pub ours: [u8; 32],
    /// The hash a quorum signed.
    pub agreed: [u8; 32],
}

/// The votes of recent heights and what they agree on.
#[derive(Clone, Debug)]
pub struct ExecutedAgreement {
    own: AuthorityIndex,
    /// Height → hash → voters.
    votes: BTreeMap<u64, BTreeMap<[u8; 32], BTreeSet<AuthorityIndex>>>,
    /// Height → who voted (one vote per validator and height counts).
    voters: BTreeMap<u64, BTreeSet<AuthorityIndex>>,
    own_results: BTreeMap<u64, [u8; 32]>,
    agreed_height: u64,
    highest_seen: u64,
}

impl ExecutedAgreement {
    /// No votes yet, for validator `own`.
    pub fn new(own: AuthorityIndex) -> Self {
        Self {
            own,
            votes: BTreeMap::new(),
            voters: BTreeMap::new(),
            own_results: BTreeMap::new(),
            agreed_height: 0,
            highest_seen: 0,
        }
    }

    /// The highest height whose block a quorum signed the same hash for (0: none yet).
    pub fn agreed_height(&self) -> u64 {
        self.agreed_height
    }

    /// Counts a (verified) vote; this validator's own vote is its own result. Returns the
    /// divergence if a quorum now agrees on another block than this validator's at that height.
    pub fn record(&mut self, vote: &ExecutedVote, committee: &Committee) -> Option<Divergence> {
        let height = vote.height;
        if vote.author == self.own {
            self.own_results.insert(height, vote.block_hash);
            self.highest_seen = self.highest_seen.max(height);
        } else if height > self.highest_seen.max(self.agreed_height) + VOTE_WINDOW
            || height + VOTE_WINDOW < self.agreed_height
        {
            return None;
        }
        if !self.voters.entry(height).or_default().insert(vote.author) {
            return None;
        }
        self.votes
            .entry(height)
            .or_default()
            .entry(vote.block_hash)
            .or_default()
            .insert(vote.author);
        let divergence = self.check(height, committee);
        self.prune();
        divergence
    }

    fn check(&mut self, height: u64, committee: &Committee) -> Option<Divergence> {
        let (agreed, _) = self.votes.get(&height)?.iter().find(|(_, voters)| {
            voters.iter().map(|a| committee.stake(*a)).sum::<u64>() >= committee.quorum_threshold()
        })?;
        let agreed = *agreed;
        self.agreed_height = self.agreed_height.max(height);
        match self.own_results.get(&height) {
            Some(ours) if *ours != agreed => Some(Divergence {
                height,
                ours: *ours,
                agreed,
            }),
            _ => None,
        }
    }

    fn prune(&mut self) {
        let keep_from = self.agreed_height.saturating_sub(VOTE_WINDOW);
        self.votes = self.votes.split_off(&keep_from);
        self.voters = self.voters.split_off(&keep_from);
        self.own_results = self.own_results.split_off(&keep_from);
    }

    /// Heights with votes held (for memory bounds in tests).
    pub fn heights_held(&self) -> usize {
        self.votes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vote(keys: &[SigningKey], author: u32, height: u64, hash: u8) -> ExecutedVote {
        ExecutedVote::sign(&keys[author as usize], author, height, [hash; 32])
    }

    #[test]
    fn votes_verify_only_with_their_authors_key() {
        let (committee, keys) = Committee::new_for_test(4, 0);
        let v = vote(&keys, 2, 7, 0xaa);
        assert!(v.verify(&committee));
        assert!(!ExecutedVote {
            author: 1,
            ..v.clone()
        }
        .verify(&committee));
        assert!(!ExecutedVote {
            height: 8,
            ..v.clone()
        }
        .verify(&committee));
        assert!(!ExecutedVote { author: 9, ..v }.verify(&committee));
    }

    #[test]
    fn a_quorum_agrees_and_a_different_own_block_is_a_divergence() {
        let (committee, keys) = Committee::new_for_test(4, 0);
        let mut a = ExecutedAgreement::new(0);
        assert_eq!(a.record(&vote(&keys, 0, 5, 1), &committee), None);
        assert_eq!(a.record(&vote(&keys, 1, 5, 1), &committee), None);
        assert_eq!(a.agreed_height(), 0, "two of four");
        assert_eq!(a.record(&vote(&keys, 2, 5, 1), &committee), None);
        assert_eq!(a.agreed_height(), 5);

        // Validator 0 executed height 6 differently from the three others.
        assert_eq!(a.record(&vote(&keys, 0, 6, 9), &committee), None);
        assert_eq!(a.record(&vote(&keys, 1, 6, 2), &committee), None);
        // A second vote by the same validator does not count twice.
        assert_eq!(a.record(&vote(&keys, 1, 6, 2), &committee), None);
        assert_eq!(
            a.record(&vote(&keys, 3, 6, 2), &committee),
            None,
            "no quorum yet"
        );
        assert_eq!(
            a.record(&vote(&keys, 2, 6, 2), &committee),
            Some(Divergence {
                height: 6,
                ours: [9; 32],
                agreed: [2; 32]
            })
        );

        // Agreement reached before this validator executed the height is caught when it does.
        let mut late = ExecutedAgreement::new(3);
        for author in 0..3 {
            late.record(&vote(&keys, author, 4, 1), &committee);
        }
        assert_eq!(late.agreed_height(), 4);
        assert!(late.record(&vote(&keys, 3, 4, 2), &committee).is_some());
    }

    #[test]
    fn memory_stays_bounded() {
        let (committee, keys) = Committee::new_for_test(4, 0);
        let mut a = ExecutedAgreement::new(0);
        for height in 1..=2 * VOTE_WINDOW + 10 {
            for author in 0..4 {
                a.record(&vote(&keys, author, height, 1), &committee);
            }
        }
        assert_eq!(a.agreed_height(), 2 * VOTE_WINDOW + 10);
        assert!(a.heights_held() <= VOTE_WINDOW as usize + 1);
        // Votes far ahead of anything seen here are not kept.
        a.record(&vote(&keys, 1, 100 * VOTE_WINDOW, 1), &committee);
        assert!(a.heights_held() <= VOTE_WINDOW as usize + 1);
    }
}
