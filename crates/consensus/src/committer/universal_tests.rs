//! Sequence-level tests of the pipelined (leader every round) and multi-leader committer,
//! plus randomized DAGs.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::block_manager::BlockManager;
use crate::committee::Committee;
use crate::committer::universal::{DecidedLeader, UniversalCommitter, UniversalCommitterOptions};
use crate::dag_state::DagState;
use crate::leader_schedule::{LeaderElection, LeaderSchedule};
use crate::test_utils::{test_seed, DagBuilder};
use crate::types::{Round, Slot};

const A: u32 = 0;
const B: u32 = 1;
const C: u32 = 2;
const D: u32 = 3;

fn pipelined(b: &DagBuilder, leaders: u32) -> UniversalCommitter {
    UniversalCommitter::new(
        b.schedule.clone(),
        UniversalCommitterOptions {
            leaders_per_round: leaders,
            ..Default::default()
        },
    )
}

fn dag_of(b: &DagBuilder) -> DagState {
    let mut dag = DagState::new(b.committee.clone(), 0);
    b.persist(&mut dag);
    dag
}

const GENESIS: Slot = Slot {
    round: 0,
    authority: 0,
};

/// Compact form: (round, authority, committed?).
fn summary(d: &[DecidedLeader]) -> Vec<(Round, u32, bool)> {
    d.iter()
        .map(|x| (x.slot().round, x.slot().authority, x.committed().is_some()))
        .collect()
}

#[test]
fn direct_commit() {
    let mut b = DagBuilder::new(4);
    b.layers(1..=5).build();
    let u = pipelined(&b, 1);
    let d = u.try_decide(&dag_of(&b), GENESIS).unwrap();
    assert_eq!(summary(&d), vec![(1, B, true), (2, C, true), (3, D, true)]);
    assert_eq!(d[2].committed().unwrap(), &b.block(3, D));
}

#[test]
fn idempotence_and_advanced_last_decided() {
    let mut b = DagBuilder::new(4);
    b.layers(1..=5).build();
    let dag = dag_of(&b);
    let u = pipelined(&b, 1);
    let first = u.try_decide(&dag, GENESIS).unwrap();
    assert_eq!(u.try_decide(&dag, GENESIS).unwrap(), first);
    let rest = u.try_decide(&dag, first[0].slot()).unwrap();
    assert_eq!(rest, first[1..].to_vec());
    assert!(u.try_decide(&dag, first[2].slot()).unwrap().is_empty());
}

#[test]
fn multiple_direct_commit() {
    let mut b = DagBuilder::new(4);
    let u = pipelined(&b, 1);
    let mut last = GENESIS;
    b.layers(1..=2).build();
    for round in 3..=30 {
        b.layer(round).build();
        let d = u.try_decide(&dag_of(&b), last).unwrap();
        assert_eq!(d.len(), 1, "round {round}");
        assert_eq!(d[0].slot(), Slot::new(round - 2, (round - 2) % 4));
        assert!(d[0].committed().is_some());
        last = d[0].slot();
    }
}

#[test]
fn direct_commit_late_call() {
    let mut b = DagBuilder::new(4);
    b.layers(1..=33).build();
    let d = pipelined(&b, 1).try_decide(&dag_of(&b), GENESIS).unwrap();
    assert_eq!(d.len(), 31);
    for (i, x) in d.iter().enumerate() {
        assert_eq!(x.slot().round, i as Round + 1);
        assert!(x.committed().is_some());
    }
}

#[test]
fn no_genesis_commit() {
    let mut b = DagBuilder::new(4);
    b.layers(1..=2).build();
    let u = pipelined(&b, 1);
    assert!(u.try_decide(&dag_of(&b), GENESIS).unwrap().is_empty());
    b.layer(3).build();
    let d = u.try_decide(&dag_of(&b), GENESIS).unwrap();
    assert_eq!(summary(&d), vec![(1, B, true)]);
}

#[test]
fn direct_skip_no_leader_votes() {
    let mut b = DagBuilder::new(4);
    b.layers(1..=3).build();
    b.layer(4).no_leader_link().build();
    b.layers(5..=6).build();
    let d = pipelined(&b, 1).try_decide(&dag_of(&b), GENESIS).unwrap();
    assert_eq!(
        summary(&d),
        vec![(1, B, true), (2, C, true), (3, D, false), (4, A, true)]
    );
}

#[test]
fn direct_skip_missing_leader_block() {
    let mut b = DagBuilder::new(4);
    b.layers(1..=2).build();
    b.layer(3).no_leader_block().build();
    b.layers(4..=6).build();
    let d = pipelined(&b, 1).try_decide(&dag_of(&b), GENESIS).unwrap();
    assert_eq!(
        summary(&d),
        vec![(1, B, true), (2, C, true), (3, D, false), (4, A, true)]
    );
}

#[test]
fn indirect_commit() {
    let mut b = DagBuilder::new(4);
    b.layers(1..=3).build();
    b.layer(4).omit_links(&[C], &[D]).build();
    let r4 = b.refs_at_round(4);
    b.layer(5)
        .authorities(&[A, B])
        .ancestors(r4.clone())
        .build();
    b.layer(5)
        .authorities(&[C, D])
        .ancestors(r4)
        .omit_links(&[C, D], &[B])
        .build();
    b.set_last_layer(b.refs_at_round(5));
    let u = pipelined(&b, 1);
    // Before the anchor exists, the sequence stops before round 3.
    b.layers(6..=6).build();
    let d = u.try_decide(&dag_of(&b), GENESIS).unwrap();
    assert_eq!(summary(&d), vec![(1, B, true), (2, C, true)]);
    b.layers(7..=8).build();
    let d = u.try_decide(&dag_of(&b), GENESIS).unwrap();
    assert_eq!(
        summary(&d),
        vec![
            (1, B, true),
            (2, C, true),
            (3, D, true),
            (4, A, true),
            (5, B, true),
            (6, C, true)
        ]
    );
}

#[test]
fn indirect_skip() {
    let mut b = DagBuilder::new(4);
    b.layers(1..=3).build();
    b.layer(4).omit_links(&[B, C], &[D]).build();
    b.layers(5..=9).build();
    let d = pipelined(&b, 1).try_decide(&dag_of(&b), GENESIS).unwrap();
    assert_eq!(
        summary(&d),
        vec![
            (1, B, true),
            (2, C, true),
            (3, D, false),
            (4, A, true),
            (5, B, true),
            (6, C, true),
            (7, D, true)
        ]
    );
}

#[test]
fn undecided() {
    let mut b = DagBuilder::new(4);
    b.layers(1..=3).build();
    b.layer(4)
        .authorities(&[A, B, D])
        .omit_links(&[A, B], &[D])
        .build();
    b.layer(5).build();
    let d = pipelined(&b, 1).try_decide(&dag_of(&b), GENESIS).unwrap();
    assert_eq!(summary(&d), vec![(1, B, true), (2, C, true)]);
    let d = pipelined(&b, 1)
        .try_decide(&dag_of(&b), Slot::new(2, C))
        .unwrap();
    assert!(d.is_empty());
}

#[test]
fn byzantine_direct_commit() {
    let mut b = DagBuilder::new(4);
    b.layers(1..=3).build();
    let r3 = b.refs_at_round(3);
    b.layer(4).authorities(&[A, B, D]).build();
    let versions = b
        .layer(4)
        .authorities(&[C])
        .ancestors(r3)
        .no_leader_link()
        .equivocate(2)
        .build();
    let mut links: Vec<_> = b
        .refs_at_round(4)
        .into_iter()
        .filter(|r| r.author != C)
        .collect();
    links.push(versions[1]);
    b.set_last_layer(links);
    b.layers(5..=7).build();
    let d = pipelined(&b, 1).try_decide(&dag_of(&b), GENESIS).unwrap();
    assert_eq!(summary(&d).len(), 5);
    assert!(d.iter().all(|x| x.committed().is_some()));
    assert_eq!(d[2].committed().unwrap(), &b.block(3, D));
}

#[test]
fn multi_leader_order_within_round() {
    let mut b = DagBuilder::new(4);
    b.leaders_per_round = 2;
    b.layers(1..=4).build();
    let u = pipelined(&b, 2);
    assert_eq!(u.get_leaders(1), vec![B, C]);
    let d = u.try_decide(&dag_of(&b), GENESIS).unwrap();
    assert_eq!(
        summary(&d),
        vec![(1, B, true), (1, C, true), (2, C, true), (2, D, true)]
    );
}

#[test]
fn multi_leader_direct_commit_partial_round() {
    let mut b = DagBuilder::new(4);
    b.leaders_per_round = 2;
    b.layers(1..=4).build();
    let u = pipelined(&b, 2);
    let d = u.try_decide(&dag_of(&b), Slot::new(1, B)).unwrap();
    assert_eq!(summary(&d), vec![(1, C, true), (2, C, true), (2, D, true)]);
}

#[test]
fn multi_leader_skip_second_leader() {
    let mut b = DagBuilder::new(4);
    b.leaders_per_round = 2;
    b.layers(1..=2).build();
    // Round 3 leaders are D (offset 0) and A (offset 1); nobody links A3.
    b.layer(3).build();
    b.layer(4).skip_ancestor_links(&[A]).build();
    b.layer(5).build();
    let d = pipelined(&b, 2).try_decide(&dag_of(&b), GENESIS).unwrap();
    let s = summary(&d);
    assert!(s.contains(&(3, D, true)));
    assert!(s.contains(&(3, A, false)));
    let pos_d = s.iter().position(|x| *x == (3, D, true)).unwrap();
    assert_eq!(s[pos_d + 1], (3, A, false));
}

/// Randomized DAG: every block links a random quorum plus the previous round's leader.
#[test]
fn randomized_dag_all_direct_commit() {
    let seed = test_seed(0x5eed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for run in 0..100 {
        let n = rng.gen_range(4..=9);
        let rounds: Round = rng.gen_range(50..=200);
        let (committee, keys) = Committee::new_for_test(n, run);
        let mut b = DagBuilder::with_committee(committee.clone(), keys);
        b.schedule = LeaderSchedule::new(committee, LeaderElection::StakeWeighted);
        let mut link_rng = ChaCha8Rng::seed_from_u64(rng.gen());
        b.layers(1..=rounds)
            .random_links(&mut link_rng, true)
            .build();
        let d = pipelined(&b, 1).try_decide(&dag_of(&b), GENESIS).unwrap();
        assert_eq!(d.len(), rounds as usize - 2, "seed {seed} run {run}");
        for (i, x) in d.iter().enumerate() {
            assert_eq!(x.slot().round, i as Round + 1, "seed {seed} run {run}");
            assert!(
                x.committed().is_some(),
                "seed {seed} run {run} slot {}",
                x.slot()
            );
        }
    }
}

/// Two nodes receive the same blocks in different random chunks through their block managers
/// and must decide identical sequences.
#[test]
fn randomized_dag_and_decision_sequence() {
    let seed = test_seed(0xdec1);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for run in 0..100 {
        let n = rng.gen_range(4..=9);
        let rounds: Round = rng.gen_range(50..=120);
        let (committee, keys) = Committee::new_for_test(n, run);
        let mut b = DagBuilder::with_committee(committee.clone(), keys);
        b.schedule = LeaderSchedule::new(committee.clone(), LeaderElection::StakeWeighted);
        let mut link_rng = ChaCha8Rng::seed_from_u64(rng.gen());
        for r in 1..=rounds {
            let include_leader = link_rng.gen_bool(0.5);
            let mut layer_rng = ChaCha8Rng::seed_from_u64(link_rng.gen());
            b.layer(r)
                .random_links(&mut layer_rng, include_leader)
                .build();
        }
        let u = pipelined(&b, 1);
        let mut sequences = Vec::new();
        for _node in 0..2 {
            let mut blocks = b.all_blocks();
            blocks.shuffle(&mut rng);
            let mut dag = DagState::new(committee.clone(), 0);
            let mut bm = BlockManager::new();
            let mut last = GENESIS;
            let mut seq = Vec::new();
            while !blocks.is_empty() {
                let k = rng.gen_range(1..=blocks.len().min(3 * n));
                let chunk: Vec<_> = blocks.drain(..k).collect();
                bm.try_accept_blocks(chunk, &mut dag);
                let d = u.try_decide(&dag, last).unwrap();
                if let Some(x) = d.last() {
                    last = x.slot();
                }
                seq.extend(d);
            }
            assert_eq!(bm.num_suspended(), 0, "seed {seed} run {run}");
            sequences.push(seq);
        }
        assert_eq!(sequences[0], sequences[1], "seed {seed} run {run}");
        assert!(!sequences[0].is_empty(), "seed {seed} run {run}");
    }
}

#[test]
fn non_pipelined_commits_one_leader_per_wave() {
    let mut b = DagBuilder::new(4);
    b.layers(1..=11).build();
    let u = UniversalCommitter::new(
        b.schedule.clone(),
        UniversalCommitterOptions {
            pipeline: false,
            ..Default::default()
        },
    );
    assert!(u.get_leaders(4).is_empty());
    let d = u.try_decide(&dag_of(&b), GENESIS).unwrap();
    assert_eq!(summary(&d), vec![(3, D, true), (6, C, true), (9, B, true)]);
}
