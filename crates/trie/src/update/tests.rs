//! Tests of the batch update against alloy's HashBuilder.

use super::*;
use crate::{
    build_from_leaves, get,
    test_utils::{
        oracle_root, random_key, random_value, uniform_key, CountingNodeStore, TrieModel,
    },
    MemoryNodeStore,
};
use rand::{seq::IteratorRandom, Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Random batches of inserts, updates and deletes on a trie of about `size` keys, each batch
/// checked against the oracle; finally everything is deleted.
fn random_sequence(seed: u64, size: usize, batches: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut model = TrieModel::new();
    let initial: Vec<_> = (0..size)
        .map(|_| (random_key(&mut rng), Some(random_value(&mut rng))))
        .collect();
    model.apply(initial);
    model.assert_reads(model.expected.keys().copied().collect::<Vec<_>>());
    for _ in 0..batches {
        let batch_len = rng.gen_range(1..=size.clamp(1, 64));
        let mut changes = Vec::new();
        for _ in 0..batch_len {
            let existing = model.expected.keys().choose(&mut rng).copied();
            let change = match (rng.gen_range(0..4), existing) {
                (0, Some(key)) => (key, None),
                (1, Some(key)) => (key, Some(random_value(&mut rng))),
                (2, _) => (random_key(&mut rng), None),
                _ => (random_key(&mut rng), Some(random_value(&mut rng))),
            };
            changes.push(change);
        }
        let touched: Vec<B256> = changes.iter().map(|(key, _)| *key).collect();
        model.apply(changes);
        model.assert_reads(touched);
    }
    model.assert_reads(model.expected.keys().copied().collect::<Vec<_>>());
    let all: Vec<_> = model.expected.keys().map(|key| (*key, None)).collect();
    model.apply(all);
    assert_eq!(model.root, EMPTY_ROOT_HASH);
}

#[test]
fn random_sequences_match_hash_builder() {
    random_sequence(1, 0, 20);
    random_sequence(2, 1, 40);
    random_sequence(3, 2, 40);
    random_sequence(4, 17, 100);
    random_sequence(5, 300, 60);
}

#[test]
fn random_sequence_five_thousand_keys() {
    random_sequence(6, 5_000, 30);
}

#[test]
fn one_change_at_a_time_equals_one_batch() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut changes: Vec<(B256, Option<Bytes>)> = (0..400)
        .map(|_| (random_key(&mut rng), Some(random_value(&mut rng))))
        .collect();
    // Re-set and delete some keys within the same batch: the last change must win.
    for i in 0..100 {
        let key = changes[i * 3].0;
        let value = (i % 2 == 0).then(|| random_value(&mut rng));
        changes.push((key, value));
    }
    let store = MemoryNodeStore::new();
    let batch = apply_changes(&store, EMPTY_ROOT_HASH, changes.clone()).unwrap();

    let mut model = TrieModel::new();
    for change in changes {
        model.apply(vec![change]);
    }
    assert_eq!(batch.root, model.root);
}

#[test]
fn update_from_empty_equals_build_from_leaves() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let leaves: Vec<(B256, Bytes)> = (0..1_000)
        .map(|_| (random_key(&mut rng), random_value(&mut rng)))
        .collect();
    let built = build_from_leaves(leaves.clone());
    let updated = apply_changes(
        &MemoryNodeStore::new(),
        EMPTY_ROOT_HASH,
        leaves.into_iter().map(|(key, value)| (key, Some(value))),
    )
    .unwrap();
    assert_eq!(updated, built);
}

#[test]
fn no_op_changes_keep_root_and_create_no_nodes() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut model = TrieModel::new();
    model.apply(
        (0..200)
            .map(|_| (random_key(&mut rng), Some(random_value(&mut rng))))
            .collect(),
    );
    let same: Vec<_> = model
        .expected
        .iter()
        .take(20)
        .map(|(key, value)| (*key, Some(value.clone())))
        .chain((0..20).map(|_| (random_key(&mut rng), None)))
        .collect();
    let update = apply_changes(&model.store, model.root, same).unwrap();
    assert_eq!(update, TrieUpdate::unchanged(model.root));
    let nothing = apply_changes(&model.store, model.root, []).unwrap();
    assert_eq!(nothing, TrieUpdate::unchanged(model.root));
}

#[test]
fn empty_value_deletes() {
    let key = B256::repeat_byte(1);
    let mut model = TrieModel::new();
    model.apply(vec![
        (key, Some(Bytes::from_static(b"v"))),
        (B256::ZERO, Some(Bytes::from_static(b"w"))),
    ]);
    model.apply(vec![(key, Some(Bytes::new()))]);
    assert_eq!(get(&model.store, model.root, &key).unwrap(), None);
    model.apply(vec![(B256::ZERO, Some(Bytes::new()))]);
    assert_eq!(model.root, EMPTY_ROOT_HASH);
}

#[test]
fn deleting_collapses_branch_into_leaf_and_extension() {
    // Two keys that differ only in the last nibble hang below a 63-nibble extension.
    let a = B256::repeat_byte(0x11);
    let mut b = a;
    b.0[31] = 0x12;
    let mut c = a;
    c.0[0] = 0x21;
    let value = Bytes::from_static(b"value");
    let mut model = TrieModel::new();
    model.apply(vec![
        (a, Some(value.clone())),
        (b, Some(value.clone())),
        (c, Some(value.clone())),
    ]);
    // Deleting `c` turns the root branch into an extension over the deep branch.
    model.apply(vec![(c, None)]);
    let two = model.root;
    // Deleting `b` leaves a single leaf: the root is that of a lone leaf.
    model.apply(vec![(b, None)]);
    let lone = build_from_leaves([(a, value.clone())]);
    assert_eq!(model.root, lone.root);
    // Re-inserting `b` restores the previous root.
    model.apply(vec![(b, Some(value))]);
    assert_eq!(model.root, two);
}

#[test]
fn new_nodes_are_exactly_the_new_reachable_nodes() {
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let mut model = TrieModel::new();
    model.apply(
        (0..500)
            .map(|_| (random_key(&mut rng), Some(random_value(&mut rng))))
            .collect(),
    );
    let before = reachable_nodes(&model.store, model.root);
    let changes: Vec<_> = model
        .expected
        .keys()
        .take(5)
        .map(|key| (*key, None))
        .chain((0..5).map(|_| (random_key(&mut rng), Some(random_value(&mut rng)))))
        .collect();
    let update = apply_changes(&model.store, model.root, changes).unwrap();
    let mut store = model.store.clone();
    store.insert_nodes(update.new_nodes.clone());
    let after = reachable_nodes(&store, update.root);
    let created: Vec<B256> = after
        .iter()
        .filter(|hash| !before.contains(*hash))
        .copied()
        .collect();
    let returned: Vec<B256> = update.new_nodes.iter().map(|(hash, _)| *hash).collect();
    assert_eq!(returned, created);
    for (hash, rlp) in &update.new_nodes {
        assert_eq!(*hash, alloy_primitives::keccak256(rlp));
    }
}

/// Hashes of all nodes reachable from `root` by hash, in order (full walk; tests only).
fn reachable_nodes(store: &MemoryNodeStore, root: B256) -> std::collections::BTreeSet<B256> {
    let loader = NodeLoader::new(store);
    let mut found = std::collections::BTreeSet::new();
    let mut pending = vec![Child::Stored(alloy_trie::nodes::RlpNode::word_rlp(&root))];
    while let Some(child) = pending.pop() {
        if let Child::Stored(reference) = &child {
            if let Some(hash) = reference.as_hash() {
                found.insert(hash);
            }
        }
        match loader.child(&child).unwrap() {
            Node::Leaf { .. } => {}
            Node::Extension { child, .. } => pending.push(child),
            Node::Branch { children } => pending.extend(children.into_iter().flatten()),
        }
    }
    found
}

#[test]
fn update_reads_only_the_touched_paths() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let leaves: BTreeMap<B256, Bytes> = (0..10_000)
        .map(|_| (uniform_key(&mut rng), random_value(&mut rng)))
        .collect();
    let built = build_from_leaves(leaves.clone());
    let mut memory = MemoryNodeStore::new();
    memory.insert_nodes(built.new_nodes);
    let mut store = CountingNodeStore::new(memory);

    let mut expected = leaves;
    let mut root = built.root;
    for round in 0..5 {
        let mut changes: Vec<(B256, Option<Bytes>)> = Vec::new();
        for (i, key) in expected
            .keys()
            .skip(round * 997)
            .step_by(1_500)
            .take(4)
            .enumerate()
        {
            changes.push((*key, (i % 2 == 0).then(|| random_value(&mut rng))));
        }
        changes.extend((0..6).map(|_| (uniform_key(&mut rng), Some(random_value(&mut rng)))));
        assert_eq!(changes.len(), 10);
        let update = apply_changes(&store, root, changes.clone()).unwrap();
        let reads = store.take_reads();
        // Depth is about log16(10_000) + 1 = 5, so 10 paths read at most ~50 nodes (plus a
        // few siblings when a branch collapses).
        assert!(
            reads < 200,
            "round {round}: {reads} reads for 10 changed keys"
        );
        assert!(
            reads >= 10,
            "round {round}: only {reads} reads: paths were not walked"
        );
        for (key, value) in changes {
            match value {
                Some(value) => expected.insert(key, value),
                None => expected.remove(&key),
            };
        }
        root = update.root;
        assert_eq!(root, oracle_root(&expected));
        store.inner.insert_nodes(update.new_nodes);
    }
}
