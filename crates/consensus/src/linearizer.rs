//! Turns committed leaders into committed sub-DAGs: the leader plus its not-yet-committed causal
//! history above the GC round, in a deterministic order, with a hash-chained commit record.

use crate::commit::{Commit, CommitDigest, CommittedSubDag};
use crate::committee::Committee;
use crate::dag_state::DagState;
use crate::types::VerifiedBlock;

/// Linearizes committed leaders against the DAG (all linearizer state lives in [`DagState`]).
pub struct Linearizer;

impl Linearizer {
    /// Produces one sub-DAG per leader, in order, marking blocks committed and recording the
    /// last commit in `dag`. A leader whose slot is already committed yields nothing.
    pub fn handle_commit(dag: &mut DagState, leaders: &[VerifiedBlock]) -> Vec<CommittedSubDag> {
        let mut out = Vec::new();
        for leader in leaders {
            if dag.is_slot_committed(leader.slot()) {
                continue;
            }
            let gc_round = dag.gc_round();
            let blocks = Self::collect_sub_dag(dag, leader, gc_round);
            let (index, previous_digest, previous_ts) = match dag.last_commit() {
                Some(c) => (c.index + 1, c.digest(), c.timestamp_ms),
                None => (1, CommitDigest::default(), 0),
            };
            let timestamp_ms = commit_timestamp(dag, leader).max(previous_ts);
            let commit = Commit {
                index,
                previous_digest,
                timestamp_ms,
                leader: leader.reference(),
                blocks: blocks.iter().map(|b| b.reference()).collect(),
            };
            let commit_digest = commit.digest();
            dag.set_last_commit(commit.clone());
            out.push(CommittedSubDag {
                commit_index: index,
                leader: leader.reference(),
                blocks,
                timestamp_ms,
                previous_digest,
                commit_digest,
                commit,
            });
        }
        out
    }

    /// Depth-first collection of uncommitted blocks (and uncommitted slots) above `gc_round`,
    /// marking each committed as it is taken; sorted by (round, author).
    fn collect_sub_dag(
        dag: &mut DagState,
        leader: &VerifiedBlock,
        gc_round: u32,
    ) -> Vec<VerifiedBlock> {
        let mut collected = Vec::new();
        let committed = dag.set_committed(leader.reference());
        debug_assert!(committed, "leader slot checked above");
        let mut stack = vec![leader.clone()];
        while let Some(b) = stack.pop() {
            for a in b.ancestors() {
                if a.round <= gc_round || dag.is_committed(a) || dag.is_slot_committed(a.slot()) {
                    continue;
                }
                let Some(ancestor) = dag.get_block(a).cloned() else {
                    continue;
                };
                if dag.set_committed(*a) {
                    stack.push(ancestor);
                }
            }
            collected.push(b);
        }
        collected.sort_by_key(|b| (b.round(), b.author(), b.digest()));
        collected
    }
}

/// Stake-weighted median of the timestamps of the leader's parents (its ancestors from the
/// previous round). Leaders whose parents are genesis use their own timestamp.
pub fn commit_timestamp(dag: &DagState, leader: &VerifiedBlock) -> u64 {
    if leader.round() <= 1 {
        return leader.timestamp_ms();
    }
    let parents: Vec<(u64, u64)> = leader
        .ancestors()
        .iter()
        .filter(|a| a.round + 1 == leader.round())
        .filter_map(|a| dag.get_block(a))
        .map(|b| (b.timestamp_ms(), dag.committee().stake(b.author())))
        .collect();
    median_by_stake(dag.committee(), parents).unwrap_or(leader.timestamp_ms())
}

/// Lowest timestamp at which the cumulative stake (sorted by timestamp) reaches half the total.
fn median_by_stake(_committee: &Committee, mut v: Vec<(u64, u64)>) -> Option<u64> {
    v.sort();
    let total: u64 = v.iter().map(|x| x.1).sum();
    let mut acc = 0;
    for (ts, stake) in v {
        acc += stake;
        if acc * 2 >= total {
            return Some(ts);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::committee::Committee;
    use crate::committer::{UniversalCommitter, UniversalCommitterOptions};
    use crate::test_utils::DagBuilder;
    use crate::types::{BlockRef, Slot};
    use std::collections::BTreeSet;

    fn leaders_of(b: &DagBuilder, dag: &DagState) -> Vec<VerifiedBlock> {
        let u = UniversalCommitter::new(b.schedule.clone(), UniversalCommitterOptions::default());
        u.try_decide(dag, Slot::default())
            .unwrap()
            .iter()
            .filter_map(|d| d.committed().cloned())
            .collect()
    }

    #[test]
    fn fully_connected_sub_dags() {
        let mut b = DagBuilder::new(4);
        b.layers(1..=10).build();
        let mut dag = DagState::new(b.committee.clone(), 0);
        b.persist(&mut dag);
        let leaders = leaders_of(&b, &dag);
        assert_eq!(leaders.len(), 8);
        let subs = Linearizer::handle_commit(&mut dag, &leaders);
        assert_eq!(subs.len(), 8);
        assert_eq!(subs[0].blocks, vec![leaders[0].clone()]);
        let mut seen = BTreeSet::new();
        let mut prev_digest = CommitDigest::default();
        for (i, s) in subs.iter().enumerate() {
            assert_eq!(s.commit_index, i as u64 + 1);
            assert_eq!(s.leader, leaders[i].reference());
            assert_eq!(s.previous_digest, prev_digest);
            assert_eq!(s.commit_digest, s.commit.digest());
            prev_digest = s.commit_digest;
            if i > 0 {
                assert_eq!(s.blocks.len(), 4, "sub-DAG {i}");
            }
            for w in s.blocks.windows(2) {
                assert!((w[0].round(), w[0].author()) < (w[1].round(), w[1].author()));
            }
            assert!(s
                .blocks
                .iter()
                .all(|x| x.round() <= s.leader.round && x.round() > 0));
            for x in &s.blocks {
                assert!(seen.insert(x.reference()), "committed twice");
            }
        }
        // Re-committing the same leaders yields nothing.
        assert!(Linearizer::handle_commit(&mut dag, &leaders).is_empty());
    }

    #[test]
    fn gc_excludes_old_blocks() {
        let mut b = DagBuilder::new(4);
        b.layers(1..=3).build();
        // Authority B's round-1..3 blocks are not linked by anyone until round 12.
        b.layers(4..=11).skip_ancestor_links(&[1]).build();
        b.layers(12..=15).build();
        let mut dag = DagState::new(b.committee.clone(), 2);
        b.persist(&mut dag);
        let leaders = leaders_of(&b, &dag);
        let subs = Linearizer::handle_commit(&mut dag, &leaders);
        for (i, s) in subs.iter().enumerate() {
            let gc_round = if i == 0 {
                0
            } else {
                subs[i - 1].leader.round.saturating_sub(2)
            };
            assert!(s.blocks.iter().all(|x| x.round() > gc_round), "sub-DAG {i}");
        }
        let committed: BTreeSet<BlockRef> = subs
            .iter()
            .flat_map(|s| s.blocks.iter().map(|x| x.reference()))
            .collect();
        // B's old unlinked blocks (rounds 4..=8) fell below the GC round before being reachable.
        assert!(!committed.contains(&b.block(5, 1).reference()));
        assert!(committed.contains(&b.block(12, 1).reference()));
    }

    #[test]
    fn timestamp_is_stake_median_and_monotonic() {
        let (c, _) = Committee::new_for_test_with_stakes(&[1, 1, 1, 5], 0);
        let mut b =
            DagBuilder::with_committee(c.clone(), crate::committee::keypairs_from_seed(4, 0));
        b.layers(1..=6).build();
        let mut dag = DagState::new(c, 0);
        b.persist(&mut dag);
        let leader = b.block(4, 0);
        // Parents at round 3 have timestamps 3000..3003; D (stake 5 of 8) dominates.
        assert_eq!(commit_timestamp(&dag, &leader), 3003);
        let leaders = leaders_of(&b, &dag);
        let subs = Linearizer::handle_commit(&mut dag, &leaders);
        for w in subs.windows(2) {
            assert!(w[0].timestamp_ms <= w[1].timestamp_ms);
        }
        assert_eq!(
            median_by_stake(&b.committee, vec![(5, 1), (1, 1), (9, 1)]),
            Some(5)
        );
        assert_eq!(median_by_stake(&b.committee, vec![(5, 1), (1, 3)]), Some(1));
        assert_eq!(median_by_stake(&b.committee, vec![]), None);
    }

    #[test]
    fn monotonic_against_previous_commit() {
        let mut b = DagBuilder::new(4);
        b.layers(1..=5).build();
        let mut dag = DagState::new(b.committee.clone(), 0);
        b.persist(&mut dag);
        let leaders = leaders_of(&b, &dag);
        let first = Linearizer::handle_commit(&mut dag, &leaders[..1]);
        // Pretend the previous commit had a far-future timestamp.
        let mut c = first[0].commit.clone();
        c.timestamp_ms = 1_000_000;
        dag.set_last_commit(c);
        let next = Linearizer::handle_commit(&mut dag, &leaders[1..]);
        assert!(next.iter().all(|s| s.timestamp_ms == 1_000_000));
    }

    #[test]
    fn equivocation_double_commit_prevented() {
        // B equivocates at round 2; A's and C's round-3 blocks link different versions.
        let mut b = DagBuilder::new(4);
        b.layers(1..=1).build();
        let versions = b.layer(2).authorities(&[1]).equivocate(1).build();
        let r1 = b.refs_at_round(1);
        b.layer(2).authorities(&[0, 2, 3]).ancestors(r1).build();
        let others: Vec<BlockRef> = b
            .refs_at_round(2)
            .into_iter()
            .filter(|r| r.author != 1)
            .collect();
        b.set_last_layer([others.clone(), vec![versions[0]]].concat());
        b.layer(3).authorities(&[0]).build();
        b.set_last_layer([others, vec![versions[1]]].concat());
        b.layer(3).authorities(&[2, 3]).build();
        b.set_last_layer(b.refs_at_round(3));
        b.layer(4).authorities(&[0, 2, 3]).build();
        let mut dag = DagState::new(b.committee.clone(), 0);
        b.persist(&mut dag);
        let l1 = b.block(3, 0);
        let l2 = b.block(3, 2);
        let subs = Linearizer::handle_commit(&mut dag, &[l1, l2]);
        let b2: Vec<_> = subs
            .iter()
            .flat_map(|s| s.blocks.iter())
            .filter(|x| x.slot() == Slot::new(2, 1))
            .collect();
        assert_eq!(b2.len(), 1, "only one block of slot B2 may be committed");
    }
}
