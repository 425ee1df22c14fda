//! ValidatorLogic driven by hand: persistence before broadcast, verification, request answers,
//! leader timeout.

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use fastevm_consensus::core::NoTransactions;
use fastevm_consensus::leader_schedule::LeaderElection;
use fastevm_consensus::test_utils::DagBuilder;
use fastevm_consensus::{Block, BlockRef, Committee, MemStore, SignedBlock, Store, VerifiedBlock};
use fastevm_consensus_node::{
    executed_votes::ExecutedVote, ConsensusMessage, Destination, LogicConfig, NodeError, Outputs,
    ValidatorLogic,
};

fn logic_for(
    committee: &Committee,
    key: &SigningKey,
    own: u32,
    store: Arc<MemStore>,
) -> ValidatorLogic {
    let mut config = LogicConfig::new(own);
    config.core.leader_election = LeaderElection::RoundRobin;
    // A new chain: nothing to recover (amnesia recovery has its own test below).
    config.own_block_sync_timeout_ms = 0;
    logic_with(config, committee, key, store)
}

fn logic_with(
    config: LogicConfig,
    committee: &Committee,
    key: &SigningKey,
    store: Arc<MemStore>,
) -> ValidatorLogic {
    ValidatorLogic::new(
        config,
        committee.clone(),
        key.clone(),
        store,
        Box::new(NoTransactions),
        0,
    )
    .unwrap()
}

fn own_blocks(out: &Outputs) -> Vec<SignedBlock> {
    out.messages
        .iter()
        .filter_map(|(d, m)| match (d, m) {
            (Destination::All, ConsensusMessage::Block(b)) => Some(b.clone()),
            _ => None,
        })
        .collect()
}

fn round1(committee: &Committee, key: &SigningKey, author: u32, ts: u64) -> SignedBlock {
    let genesis: Vec<BlockRef> = VerifiedBlock::genesis(committee)
        .iter()
        .map(|g| g.reference())
        .collect();
    let mut ancestors = vec![genesis[author as usize]];
    ancestors.extend(genesis.iter().filter(|g| g.author != author));
    SignedBlock::sign(
        Block {
            epoch: committee.epoch,
            round: 1,
            author,
            timestamp_ms: ts,
            ancestors,
            transactions: vec![],
            commit_votes: vec![],
        },
        key,
    )
}

#[test]
fn own_block_is_stored_before_it_is_handed_out() {
    let (committee, keys) = Committee::new_for_test(4, 3);
    let store = Arc::new(MemStore::new());
    let mut logic = logic_for(&committee, &keys[0], 0, store.clone());
    let out = logic.on_start(0).unwrap();
    let blocks = own_blocks(&out);
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].block.round, 1);
    let stored = store.read_blocks(&[blocks[0].reference()]).unwrap();
    assert_eq!(stored[0].as_ref().unwrap().signed(), &blocks[0]);
    // A second start does nothing.
    assert!(logic.on_start(5).unwrap().messages.is_empty());
}

#[test]
fn invalid_input_is_counted_and_dropped() {
    let (committee, keys) = Committee::new_for_test(4, 3);
    let mut logic = logic_for(&committee, &keys[0], 0, Arc::new(MemStore::new()));
    logic.on_start(0).unwrap();
    // Block of authority 2 signed with authority 3's key.
    let forged = round1(&committee, &keys[3], 2, 1);
    logic
        .on_message(3, ConsensusMessage::Block(forged.clone()), 1)
        .unwrap();
    assert_eq!(logic.stats().blocks_rejected, 1);
    assert!(!logic.core().dag().contains_block(&forged.reference()));
    // Unknown sender index, own index, undecodable bytes.
    let good = round1(&committee, &keys[2], 2, 1);
    logic
        .on_message(9, ConsensusMessage::Block(good.clone()), 2)
        .unwrap();
    logic
        .on_message(0, ConsensusMessage::Block(good.clone()), 2)
        .unwrap();
    logic.on_wire_message(1, &[1, 200, 3], 2).unwrap();
    assert_eq!(logic.stats().messages_malformed, 3);
    assert!(!logic.core().dag().contains_block(&good.reference()));
    // The valid block is accepted; the same block again is a duplicate.
    logic
        .on_message(2, ConsensusMessage::Block(good.clone()), 3)
        .unwrap();
    logic
        .on_message(1, ConsensusMessage::Block(good.clone()), 3)
        .unwrap();
    assert!(logic.core().dag().contains_block(&good.reference()));
    assert_eq!(logic.stats().duplicate_blocks, 1);
    assert_eq!(logic.stats().blocks_accepted_for_core, 1);
}

#[test]
fn leader_timeout_forces_a_proposal_at_the_deadline() {
    let (committee, keys) = Committee::new_for_test(4, 3);
    let mut logic = logic_for(&committee, &keys[0], 0, Arc::new(MemStore::new()));
    assert_eq!(own_blocks(&logic.on_start(0).unwrap()).len(), 1);
    // Round 1's leader (round robin) is authority 1; blocks of 2 and 3 complete a quorum.
    for a in [2, 3] {
        let b = round1(&committee, &keys[a as usize], a, 5);
        let out = logic.on_message(a, ConsensusMessage::Block(b), 10).unwrap();
        assert!(own_blocks(&out).is_empty(), "no leader, no timeout yet");
    }
    assert_eq!(logic.core().clock_round(), 2);
    // Woken for the minimum round delay first, then for the leader timeout (10 + 200).
    assert_eq!(logic.next_wakeup_ms(10), 50);
    assert!(own_blocks(&logic.on_tick(50).unwrap()).is_empty());
    assert_eq!(logic.next_wakeup_ms(50), 210);
    assert!(own_blocks(&logic.on_tick(209).unwrap()).is_empty());
    let blocks = own_blocks(&logic.on_tick(210).unwrap());
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].block.round, 2);
    assert!(blocks[0]
        .block
        .ancestors
        .iter()
        .all(|a| a.author != 1 || a.round == 0));
}

#[test]
fn requests_are_answered_with_ancestors_above_the_requesters_rounds() {
    // Five authorities; the DAG is built by 1..=4 (a quorum), the logic is authority 0.
    let (committee, keys) = Committee::new_for_test(5, 4);
    let mut dag = DagBuilder::with_committee(committee.clone(), keys.clone());
    dag.sign = true;
    dag.layers(1..=5).authorities(&[1, 2, 3, 4]).build();
    let mut logic = logic_for(&committee, &keys[0], 0, Arc::new(MemStore::new()));
    logic.on_start(0).unwrap();
    let blocks: Vec<SignedBlock> = dag
        .all_blocks()
        .iter()
        .map(|b| b.signed().clone())
        .collect();
    // Received after the builder's timestamps (round × 1 s), so none waits as a future block.
    logic
        .on_message(1, ConsensusMessage::Blocks(blocks), 6_000)
        .unwrap();
    assert_eq!(logic.stats().blocks_rejected, 0);
    let top = dag.block(5, 2);
    assert!(logic.core().dag().contains_block(&top.reference()));
    let out = logic
        .on_message(
            3,
            ConsensusMessage::RequestBlocks {
                refs: vec![top.reference()],
                highest_accepted: vec![0, 2, 2, 2, 2],
            },
            2,
        )
        .unwrap();
    let answer = out
        .messages
        .iter()
        .find_map(|(d, m)| match (d, m) {
            (Destination::Peer(3), ConsensusMessage::Blocks(b)) => Some(b.clone()),
            _ => None,
        })
        .expect("answer to peer 3");
    let got: Vec<BlockRef> = answer.iter().map(|b| b.reference()).collect();
    let mut want: Vec<BlockRef> = vec![top.reference()];
    for round in [3, 4] {
        want.extend(dag.refs_at_round(round));
    }
    want.sort();
    assert_eq!(
        got, want,
        "requested block plus rounds 3 and 4, parents first"
    );
    assert_eq!(logic.stats().requests_answered, 1);
    // Unknown references get no answer at all.
    let out = logic
        .on_message(
            3,
            ConsensusMessage::RequestBlocks {
                refs: vec![BlockRef::new(40, 1, Default::default())],
                highest_accepted: vec![],
            },
            3,
        )
        .unwrap();
    assert!(out
        .messages
        .iter()
        .all(|(_, m)| !matches!(m, ConsensusMessage::Blocks(_))));
}

#[test]
fn accepted_peer_blocks_hand_out_their_transactions_once() {
    let (committee, keys) = Committee::new_for_test(4, 3);
    let mut logic = logic_for(&committee, &keys[0], 0, Arc::new(MemStore::new()));
    logic.on_start(0).unwrap();
    let mut block = round1(&committee, &keys[2], 2, 1).block;
    block.transactions = vec![
        fastevm_consensus::Transaction(vec![1, 2, 3]),
        fastevm_consensus::Transaction(vec![4, 5]),
    ];
    let signed = SignedBlock::sign(block, &keys[2]);
    let out = logic
        .on_message(2, ConsensusMessage::Block(signed.clone()), 2)
        .unwrap();
    assert_eq!(
        out.accepted_transactions,
        vec![
            fastevm_consensus::Transaction(vec![1, 2, 3]),
            fastevm_consensus::Transaction(vec![4, 5]),
        ]
    );
    // The same block again is a duplicate: nothing new to prefetch.
    let again = logic
        .on_message(2, ConsensusMessage::Block(signed), 3)
        .unwrap();
    assert!(again.accepted_transactions.is_empty());
    // A forged block (signed by another key) is not accepted, so nothing comes out.
    let mut forged = round1(&committee, &keys[1], 1, 1).block;
    forged.transactions = vec![fastevm_consensus::Transaction(vec![9])];
    let forged = SignedBlock::sign(forged, &keys[3]);
    let out = logic
        .on_message(1, ConsensusMessage::Block(forged), 4)
        .unwrap();
    assert!(out.accepted_transactions.is_empty());
}

#[test]
fn blocks_from_the_future_wait_and_cannot_drag_chain_time() {
    use fastevm_consensus_node::future_blocks::{MAX_FORWARD_DRIFT_MS, MAX_HELD_DRIFT_MS};
    let (committee, keys) = Committee::new_for_test(4, 3);
    let mut logic = logic_for(&committee, &keys[0], 0, Arc::new(MemStore::new()));
    let now = 1_000_000;
    logic.on_start(now).unwrap();

    // Authority 3 signs a block dated ten days ahead: refused, never part of the DAG.
    let lying = round1(&committee, &keys[3], 3, now + 10 * 24 * 3_600_000);
    logic
        .on_message(3, ConsensusMessage::Block(lying.clone()), now)
        .unwrap();
    assert_eq!(logic.stats().blocks_rejected, 1);
    assert!(!logic.core().dag().contains_block(&lying.reference()));

    // Authority 2's clock runs 3 s fast: its block waits until it is no more than the allowed
    // drift ahead.
    let early = round1(&committee, &keys[2], 2, now + 3_000);
    const { assert!(3_000 < MAX_HELD_DRIFT_MS) };
    logic
        .on_message(2, ConsensusMessage::Block(early.clone()), now)
        .unwrap();
    assert_eq!(logic.stats().blocks_delayed, 1);
    assert!(!logic.core().dag().contains_block(&early.reference()));
    let release = now + 3_000 - MAX_FORWARD_DRIFT_MS;
    assert!(logic.next_wakeup_ms(now) <= release);
    logic.on_tick(release - 1).unwrap();
    assert!(!logic.core().dag().contains_block(&early.reference()));

    // Authority 1 is on time; with 2's block released, round 1 has a quorum and this node
    // proposes round 2, stamped by its own clock, not ten days ahead.
    let on_time = round1(&committee, &keys[1], 1, release);
    let mut proposed = own_blocks(
        &logic
            .on_message(1, ConsensusMessage::Block(on_time), release)
            .unwrap(),
    );
    assert!(logic.core().dag().contains_block(&early.reference()));
    for t in [release + 50, release + 300] {
        proposed.extend(own_blocks(&logic.on_tick(t).unwrap()));
    }
    let round2 = proposed
        .iter()
        .find(|b| b.block.round == 2)
        .expect("round 2 proposed");
    assert!(
        round2.block.timestamp_ms <= now + 3_000,
        "own block at {} not dragged ahead",
        round2.block.timestamp_ms
    );
}

#[test]
fn an_empty_store_waits_for_peers_to_report_its_last_block() {
    let (committee, keys) = Committee::new_for_test(4, 3);
    let config = || {
        let mut config = LogicConfig::new(0);
        config.core.leader_election = LeaderElection::RoundRobin;
        config
    };
    let asks = |out: &Outputs| {
        out.messages
            .iter()
            .any(|(d, m)| *d == Destination::All && *m == ConsensusMessage::RequestOwnLastBlock)
    };

    // Peers 1 and 2 hold its round-1 block from before a wipe: it must not sign round 1 again.
    let before_wipe = round1(&committee, &keys[0], 0, 5);
    let mut logic = logic_with(config(), &committee, &keys[0], Arc::new(MemStore::new()));
    let out = logic.on_start(0).unwrap();
    assert!(asks(&out) && own_blocks(&out).is_empty());
    let answer = ConsensusMessage::OwnLastBlock(Some(before_wipe.clone()));
    assert!(own_blocks(&logic.on_message(1, answer.clone(), 10).unwrap()).is_empty());
    let out = logic.on_message(2, answer, 20).unwrap();
    assert!(
        own_blocks(&out).is_empty(),
        "round 1 was signed before the wipe"
    );
    assert!(own_blocks(&logic.on_tick(5_000).unwrap()).is_empty());

    // A made-up answer (another authority's block) counts for nothing.
    let mut logic = logic_with(config(), &committee, &keys[0], Arc::new(MemStore::new()));
    logic.on_start(0).unwrap();
    let forged = ConsensusMessage::OwnLastBlock(Some(round1(&committee, &keys[1], 1, 5)));
    logic.on_message(1, forged, 10).unwrap();
    assert!(own_blocks(
        &logic
            .on_message(2, ConsensusMessage::OwnLastBlock(None), 20)
            .unwrap()
    )
    .is_empty());
    // Peers with nothing from it: a quorum answered, it proposes round 1.
    let out = logic
        .on_message(3, ConsensusMessage::OwnLastBlock(None), 30)
        .unwrap();
    assert_eq!(own_blocks(&out).len(), 1);
    assert_eq!(own_blocks(&out)[0].block.round, 1);

    // Peers answer the request with what they hold from the asker.
    let store = Arc::new(MemStore::new());
    let mut peer = logic_for(&committee, &keys[1], 1, store);
    peer.on_start(0).unwrap();
    peer.on_message(0, ConsensusMessage::Block(before_wipe.clone()), 10)
        .unwrap();
    let out = peer
        .on_message(0, ConsensusMessage::RequestOwnLastBlock, 20)
        .unwrap();
    assert!(out.messages.contains(&(
        Destination::Peer(0),
        ConsensusMessage::OwnLastBlock(Some(before_wipe))
    )));
    let out = peer
        .on_message(2, ConsensusMessage::RequestOwnLastBlock, 30)
        .unwrap();
    assert!(out
        .messages
        .contains(&(Destination::Peer(2), ConsensusMessage::OwnLastBlock(None))));

    // And it gives up waiting after the timeout.
    let mut logic = logic_with(config(), &committee, &keys[0], Arc::new(MemStore::new()));
    logic.on_start(0).unwrap();
    assert!(own_blocks(&logic.on_tick(9_999).unwrap()).is_empty());
    assert_eq!(own_blocks(&logic.on_tick(10_000).unwrap()).len(), 1);
}

#[test]
fn a_validator_whose_executed_block_differs_from_a_quorums_stops() {
    let (committee, keys) = Committee::new_for_test(4, 3);
    let mut logic = logic_for(&committee, &keys[0], 0, Arc::new(MemStore::new()));
    logic.on_start(0).unwrap();
    let vote = |author: u32, height: u64, hash: u8| {
        ConsensusMessage::ExecutedVote(ExecutedVote::sign(
            &keys[author as usize],
            author,
            height,
            [hash; 32],
        ))
    };

    // Its own result goes to every peer, signed.
    let out = logic.on_executed(5, [1; 32], 10).unwrap();
    assert!(out.messages.contains(&(Destination::All, vote(0, 5, 1))));
    logic.on_message(1, vote(1, 5, 1), 20).unwrap();
    assert_eq!(logic.executed_agreement_height(), 0);
    logic.on_message(2, vote(2, 5, 1), 30).unwrap();
    assert_eq!(
        logic.executed_agreement_height(),
        5,
        "three of four signed block 5 alike"
    );

    // A vote relayed for another validator, or badly signed, counts for nothing.
    let malformed = logic.stats().messages_malformed;
    logic.on_message(1, vote(3, 6, 2), 40).unwrap();
    let mut forged = ExecutedVote::sign(&keys[1], 1, 6, [2; 32]);
    forged.block_hash = [3; 32];
    logic
        .on_message(1, ConsensusMessage::ExecutedVote(forged), 50)
        .unwrap();
    assert_eq!(logic.stats().messages_malformed, malformed + 2);

    // Block 6 here is not the one the three others signed: the validator stops, saying why.
    logic.on_executed(6, [9; 32], 60).unwrap();
    logic.on_message(1, vote(1, 6, 2), 70).unwrap();
    logic.on_message(2, vote(2, 6, 2), 80).unwrap();
    let error = logic.on_message(3, vote(3, 6, 2), 90).unwrap_err();
    assert!(
        matches!(error, NodeError::ExecutionDiverged { height: 6, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("diverged"), "{error}");
}
