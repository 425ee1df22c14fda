//! Scenarios for the single-leader, non-pipelined committer (wave length 3, leader rounds 3, 6, …).

use crate::committer::base::{BaseCommitter, CommitterOptions, LeaderStatus};
use crate::dag_state::DagState;
use crate::error::ConsensusError;
use crate::test_utils::DagBuilder;
use crate::types::{BlockRef, Round, Slot};

const A: u32 = 0;
const B: u32 = 1;
const C: u32 = 2;
const D: u32 = 3;

fn committer(b: &DagBuilder) -> BaseCommitter {
    BaseCommitter::new(b.schedule.clone(), CommitterOptions::default())
}

fn dag_of(b: &DagBuilder) -> DagState {
    let mut dag = DagState::new(b.committee.clone(), 0);
    b.persist(&mut dag);
    dag
}

fn leader_slot(c: &BaseCommitter, round: Round) -> Slot {
    c.elect_leader(round).expect("leader round")
}

#[test]
fn only_wave_rounds_have_leaders() {
    let b = DagBuilder::new(4);
    let c = committer(&b);
    assert_eq!(c.elect_leader(3), Some(Slot::new(3, D)));
    assert_eq!(c.elect_leader(4), None);
    assert_eq!(c.elect_leader(6), Some(Slot::new(6, C)));
}

#[test]
fn try_direct_commit() {
    let mut b = DagBuilder::new(4);
    b.layers(1..=7).build();
    let dag = dag_of(&b);
    let c = committer(&b);
    let s3 = leader_slot(&c, 3);
    assert_eq!(
        c.try_direct_decide(&dag, s3).unwrap(),
        LeaderStatus::Commit(b.block(3, D))
    );
    // Wave 2 (leader round 6) lacks its decision round 8.
    let s6 = leader_slot(&c, 6);
    assert_eq!(
        c.try_direct_decide(&dag, s6).unwrap(),
        LeaderStatus::Undecided(s6)
    );
}

#[test]
fn idempotence() {
    let mut b = DagBuilder::new(4);
    b.layers(1..=5).build();
    let dag = dag_of(&b);
    let c = committer(&b);
    let s = leader_slot(&c, 3);
    let first = c.try_direct_decide(&dag, s).unwrap();
    assert!(matches!(first, LeaderStatus::Commit(_)));
    assert_eq!(c.try_direct_decide(&dag, s).unwrap(), first);
}

#[test]
fn multiple_direct_commit() {
    let mut b = DagBuilder::new(4);
    let c = committer(&b);
    let mut last: Round = 0;
    for wave in 1..=10 {
        let leader_round = wave * 3;
        b.layers(last + 1..=leader_round + 2).build();
        last = leader_round + 2;
        let dag = dag_of(&b);
        let s = leader_slot(&c, leader_round);
        match c.try_direct_decide(&dag, s).unwrap() {
            LeaderStatus::Commit(blk) => assert_eq!(blk.slot(), s),
            other => panic!("wave {wave}: {other:?}"),
        }
    }
}

#[test]
fn direct_skip() {
    let mut b = DagBuilder::new(4);
    b.layers(1..=3).build();
    b.layer(4).no_leader_link().build();
    b.layer(5).build();
    let dag = dag_of(&b);
    let c = committer(&b);
    let s = leader_slot(&c, 3);
    // The leader's own round-4 block links it (own previous block): 3 of 4 blame it.
    assert_eq!(c.try_direct_decide(&dag, s).unwrap(), LeaderStatus::Skip(s));
}

#[test]
fn direct_skip_missing_leader_block() {
    let mut b = DagBuilder::new(4);
    b.layers(1..=2).build();
    b.layer(3).no_leader_block().build();
    b.layers(4..=5).build();
    let dag = dag_of(&b);
    let c = committer(&b);
    let s = leader_slot(&c, 3);
    assert!(dag.get_blocks_at_slot(s).is_empty());
    assert_eq!(c.try_direct_decide(&dag, s).unwrap(), LeaderStatus::Skip(s));
}

/// Round 4: C does not vote for D3 (votes A, B, D). Round 5: only A and B are certificates.
fn indirect_commit_dag() -> DagBuilder {
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
    let r5 = b.refs_at_round(5);
    b.set_last_layer(r5);
    b
}

#[test]
fn indirect_commit() {
    let mut b = indirect_commit_dag();
    let c = committer(&b);
    let s3 = leader_slot(&c, 3);
    assert_eq!(
        c.try_direct_decide(&dag_of(&b), s3).unwrap(),
        LeaderStatus::Undecided(s3)
    );
    b.layers(6..=8).build();
    let dag = dag_of(&b);
    let s6 = leader_slot(&c, 6);
    let anchor = c.try_direct_decide(&dag, s6).unwrap();
    assert!(matches!(anchor, LeaderStatus::Commit(_)));
    assert_eq!(
        c.try_direct_decide(&dag, s3).unwrap(),
        LeaderStatus::Undecided(s3)
    );
    assert_eq!(
        c.try_indirect_decide(&dag, s3, [anchor].iter()).unwrap(),
        LeaderStatus::Commit(b.block(3, D))
    );
}

#[test]
fn indirect_skip() {
    let mut b = DagBuilder::new(4);
    b.layers(1..=3).build();
    // Only A and D (the leader itself) vote for D3: no certificate can exist, blame is only 2.
    b.layer(4).omit_links(&[B, C], &[D]).build();
    b.layers(5..=8).build();
    let dag = dag_of(&b);
    let c = committer(&b);
    let s3 = leader_slot(&c, 3);
    assert_eq!(
        c.try_direct_decide(&dag, s3).unwrap(),
        LeaderStatus::Undecided(s3)
    );
    let anchor = c.try_direct_decide(&dag, leader_slot(&c, 6)).unwrap();
    assert!(matches!(anchor, LeaderStatus::Commit(_)));
    assert_eq!(
        c.try_indirect_decide(&dag, s3, [anchor].iter()).unwrap(),
        LeaderStatus::Skip(s3)
    );
}

#[test]
fn undecided() {
    let mut b = DagBuilder::new(4);
    b.layers(1..=3).build();
    // Round 4: D votes, A and B blame, C is absent: 1 vote, 2 blame.
    b.layer(4)
        .authorities(&[A, B, D])
        .omit_links(&[A, B], &[D])
        .build();
    b.layer(5).build();
    let dag = dag_of(&b);
    let c = committer(&b);
    let s3 = leader_slot(&c, 3);
    assert_eq!(
        c.try_direct_decide(&dag, s3).unwrap(),
        LeaderStatus::Undecided(s3)
    );
    assert_eq!(
        c.try_indirect_decide(&dag, s3, [].iter()).unwrap(),
        LeaderStatus::Undecided(s3)
    );
}

#[test]
fn byzantine_direct_commit() {
    let mut b = DagBuilder::new(4);
    b.layers(1..=3).build();
    let r3 = b.refs_at_round(3);
    b.layer(4).authorities(&[A, B, D]).build();
    // C equivocates with three versions, none voting for D3.
    let c_versions = b
        .layer(4)
        .authorities(&[C])
        .ancestors(r3)
        .no_leader_link()
        .equivocate(2)
        .build();
    assert_eq!(c_versions.len(), 3);
    let mut links: Vec<BlockRef> = b
        .refs_at_round(4)
        .into_iter()
        .filter(|r| r.author != C)
        .collect();
    links.push(c_versions[0]);
    b.set_last_layer(links);
    b.layer(5).build();
    let dag = dag_of(&b);
    let c = committer(&b);
    assert_eq!(
        c.try_direct_decide(&dag, leader_slot(&c, 3)).unwrap(),
        LeaderStatus::Commit(b.block(3, D))
    );
}

/// Round 4: A and D vote for D3, B and C do not.
fn two_votes_two_blames() -> DagBuilder {
    let mut b = DagBuilder::new(4);
    b.layers(1..=3).build();
    b.layer(4).omit_links(&[B, C], &[D]).build();
    b
}

#[test]
fn equivocating_direct_commit() {
    let mut b = two_votes_two_blames();
    let c = committer(&b);
    let s3 = leader_slot(&c, 3);
    assert_eq!(
        c.try_direct_decide(&dag_of(&b), s3).unwrap(),
        LeaderStatus::Undecided(s3)
    );
    // A late equivocating B4' that votes; round 5 certifies with votes A4, B4', D4.
    let r3 = b.refs_at_round(3);
    let b_prime = b.add_block(4, B, {
        let mut v = vec![b.block(3, B).reference()];
        v.extend(r3.iter().filter(|r| r.author != B));
        v
    });
    let links = vec![
        b.block(4, A).reference(),
        b_prime.reference(),
        b.block(4, D).reference(),
    ];
    b.set_last_layer(links);
    b.layer(5).authorities(&[A, C, D]).build();
    let dag = dag_of(&b);
    assert_eq!(dag.get_blocks_at_slot(Slot::new(4, B)).len(), 2);
    assert_eq!(
        c.try_direct_decide(&dag, s3).unwrap(),
        LeaderStatus::Commit(b.block(3, D))
    );
}

#[test]
fn equivocating_direct_skip() {
    let mut b = two_votes_two_blames();
    b.layer(5).build();
    let c = committer(&b);
    let s3 = leader_slot(&c, 3);
    assert_eq!(
        c.try_direct_decide(&dag_of(&b), s3).unwrap(),
        LeaderStatus::Undecided(s3)
    );
    // A late non-voting equivocation A4' makes three distinct authors blame D3.
    let r3: Vec<BlockRef> = b
        .refs_at_round(3)
        .into_iter()
        .filter(|r| r.author != D && r.author != A)
        .collect();
    let mut anc = vec![b.block(3, A).reference()];
    anc.extend(r3);
    b.add_block(4, A, anc);
    assert_eq!(
        c.try_direct_decide(&dag_of(&b), s3).unwrap(),
        LeaderStatus::Skip(s3)
    );
}

#[test]
fn two_certified_blocks_in_one_slot_is_an_error() {
    // More than f Byzantine authorities: leader D equivocates and A, B, D certify both versions.
    let mut b = DagBuilder::new(4);
    b.layers(1..=2).build();
    let r2 = b.refs_at_round(2);
    let others =
        |me: u32| -> Vec<BlockRef> { r2.iter().filter(|r| r.author != me).copied().collect() };
    let own = |me: u32| r2.iter().find(|r| r.author == me).copied().unwrap();
    let d1 = b
        .add_block(3, D, [vec![own(D)], others(D)].concat())
        .reference();
    let d2 = b
        .add_block(3, D, [vec![own(D)], others(D)].concat())
        .reference();
    let a3 = b
        .add_block(3, A, [vec![own(A)], others(A)].concat())
        .reference();
    let b3 = b
        .add_block(3, B, [vec![own(B)], others(B)].concat())
        .reference();
    let c3 = b
        .add_block(3, C, [vec![own(C)], others(C)].concat())
        .reference();
    let mut v1 = Vec::new();
    let mut v2 = Vec::new();
    for (me, own3) in [(A, a3), (B, b3)] {
        v1.push(b.add_block(4, me, vec![own3, d1]).reference());
        v2.push(b.add_block(4, me, vec![own3, d2]).reference());
    }
    v1.push(b.add_block(4, D, vec![d1, a3, b3]).reference());
    v2.push(b.add_block(4, D, vec![d2, a3, b3]).reference());
    let _ = c3;
    for votes in [&v1, &v2] {
        for me in [A, B, C] {
            let mut anc: Vec<BlockRef> = votes.iter().filter(|r| r.author == me).copied().collect();
            if anc.is_empty() {
                anc.push(c3);
            }
            anc.extend(votes.iter().filter(|r| r.author != me));
            b.add_block(5, me, anc);
        }
    }
    let dag = dag_of(&b);
    let c = committer(&b);
    let s = leader_slot(&c, 3);
    assert_eq!(
        c.try_direct_decide(&dag, s),
        Err(ConsensusError::MultipleCertifiedBlocks(s))
    );
}

#[test]
fn anchor_skips_skip_slots_and_stops_at_undecided() {
    let mut b = indirect_commit_dag();
    b.layers(6..=9).build();
    let dag = dag_of(&b);
    let c = committer(&b);
    let s3 = leader_slot(&c, 3);
    let anchor7 = LeaderStatus::Commit(b.block(7, D));
    // Slots below round 6 are not anchors; Skip slots are passed over.
    let leaders = [
        LeaderStatus::Undecided(Slot::new(4, A)),
        LeaderStatus::Skip(Slot::new(6, C)),
        anchor7.clone(),
    ];
    assert_eq!(
        c.try_indirect_decide(&dag, s3, leaders.iter()).unwrap(),
        LeaderStatus::Commit(b.block(3, D))
    );
    // The first Commit-or-Undecided slot is the anchor: an Undecided one leaves the slot Undecided.
    let leaders = [LeaderStatus::Undecided(Slot::new(6, C)), anchor7];
    assert_eq!(
        c.try_indirect_decide(&dag, s3, leaders.iter()).unwrap(),
        LeaderStatus::Undecided(s3)
    );
    // No anchor at all.
    let leaders = [LeaderStatus::Skip(Slot::new(6, C))];
    assert_eq!(
        c.try_indirect_decide(&dag, s3, leaders.iter()).unwrap(),
        LeaderStatus::Undecided(s3)
    );
}
