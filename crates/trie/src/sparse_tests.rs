//! A [`SparseTrie`] kept across updates gives exactly what [`crate::apply_changes`] gives from
//! the root hash: same roots, same new nodes, checked against alloy's `HashBuilder` too.

use super::*;
use crate::{
    apply_changes,
    test_utils::{oracle_root, random_key, random_value, CountingNodeStore},
    MemoryNodeStore,
};
use rand::{seq::IteratorRandom, Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// Random batches of inserts, updates, deletes of present and absent keys on one kept
/// [`SparseTrie`], each compared with `apply_changes` on the same root and with the oracle;
/// pruned to `prune_levels` after every batch (`None`: never), split over two threads from
/// `split_from` changes. Ends by deleting everything.
fn kept_trie_matches_apply_changes(
    seed: u64,
    size: usize,
    batches: usize,
    prune_levels: Option<usize>,
    split_from: usize,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut store = MemoryNodeStore::new();
    let mut expected: BTreeMap<B256, Bytes> = BTreeMap::new();
    let mut trie = SparseTrie::new(EMPTY_ROOT_HASH);
    let initial: Vec<_> = (0..size)
        .map(|_| (random_key(&mut rng), Some(random_value(&mut rng))))
        .collect();
    let mut batches_left: Vec<Vec<(B256, Option<Bytes>)>> = vec![initial];
    for batch in 0..=batches {
        let changes = match batches_left.pop() {
            Some(changes) => changes,
            None if batch == batches => expected.keys().map(|key| (*key, None)).collect(),
            None => {
                let len = rng.gen_range(1..=(size / 2).clamp(1, 400));
                (0..len)
                    .map(|_| {
                        let existing = expected.keys().choose(&mut rng).copied();
                        match (rng.gen_range(0..5), existing) {
                            (0, Some(key)) => (key, None),
                            (1, Some(key)) => (key, Some(random_value(&mut rng))),
                            (2, Some(key)) => (key, expected.get(&key).cloned()),
                            (3, _) => (random_key(&mut rng), None),
                            _ => (random_key(&mut rng), Some(random_value(&mut rng))),
                        }
                    })
                    .collect()
            }
        };
        let from_hash = apply_changes(&store, trie.root(), changes.clone()).unwrap();
        let (kept, update) = trie
            .update_sorted(&store, &sorted_changes(changes.clone()), split_from)
            .unwrap();
        trie = kept;
        assert_eq!(update, from_hash, "seed {seed} batch {batch}");
        for (key, value) in changes {
            match value.filter(|value| !value.is_empty()) {
                Some(value) => expected.insert(key, value),
                None => expected.remove(&key),
            };
        }
        assert_eq!(
            update.root,
            oracle_root(&expected),
            "seed {seed} batch {batch}"
        );
        assert_eq!(trie.root(), update.root);
        store.insert_nodes(update.new_nodes);
        if let Some(levels) = prune_levels {
            trie.prune(levels);
        }
    }
    assert_eq!(trie.root(), EMPTY_ROOT_HASH);
}

#[test]
fn kept_trie_matches_a_fresh_update_every_time() {
    kept_trie_matches_apply_changes(1, 0, 20, None, usize::MAX);
    kept_trie_matches_apply_changes(2, 1, 40, None, usize::MAX);
    kept_trie_matches_apply_changes(3, 2, 40, None, usize::MAX);
    kept_trie_matches_apply_changes(4, 17, 80, None, usize::MAX);
    kept_trie_matches_apply_changes(5, 2_000, 30, None, usize::MAX);
}

#[test]
fn pruned_trie_matches_a_fresh_update_every_time() {
    for levels in [0, 1, 2, 4] {
        kept_trie_matches_apply_changes(10 + levels as u64, 1_000, 20, Some(levels), usize::MAX);
    }
}

#[test]
fn split_update_matches_a_fresh_update_every_time() {
    // Split from one change on: every batch runs on two threads, including those that empty
    // the root branch or leave it with one child.
    kept_trie_matches_apply_changes(20, 3, 60, None, 1);
    kept_trie_matches_apply_changes(21, 1_500, 30, None, 1);
    kept_trie_matches_apply_changes(22, 1_500, 30, Some(2), 64);
}

#[test]
fn a_kept_trie_reads_only_nodes_it_has_not_seen() {
    let mut rng = ChaCha8Rng::seed_from_u64(30);
    let leaves: Vec<(B256, Option<Bytes>)> = (0..5_000)
        .map(|_| (random_key(&mut rng), Some(random_value(&mut rng))))
        .collect();
    let built = apply_changes(&MemoryNodeStore::new(), EMPTY_ROOT_HASH, leaves.clone()).unwrap();
    let mut inner = MemoryNodeStore::new();
    inner.insert_nodes(built.new_nodes);
    let mut store = CountingNodeStore::new(inner);

    let batch = |rng: &mut ChaCha8Rng| -> Vec<(B256, Option<Bytes>)> {
        (0..100)
            .map(|i| (leaves[i * 50].0, Some(random_value(rng))))
            .collect()
    };
    let (trie, first) = SparseTrie::new(built.root)
        .update(&store, batch(&mut rng))
        .unwrap();
    let first_reads = store.take_reads();
    assert!(
        first_reads > 100,
        "the first update loads the paths: {first_reads}"
    );
    store.inner.insert_nodes(first.new_nodes.clone());
    // The same keys again: every node on their paths is held, nothing is read.
    let (trie, second) = trie.update(&store, batch(&mut rng)).unwrap();
    assert_eq!(store.take_reads(), 0);
    assert_ne!(second.root, first.root);
    store.inner.insert_nodes(second.new_nodes.clone());
    // After pruning to the root alone, the paths are read again.
    let mut trie = trie;
    assert_eq!(trie.prune(1), 1);
    let (_, third) = trie.update(&store, batch(&mut rng)).unwrap();
    assert!(store.take_reads() > 100);
    assert_ne!(third.root, second.root);
}

#[test]
fn a_missing_node_is_an_error() {
    let root = B256::repeat_byte(0x42);
    let change = (B256::ZERO, Some(Bytes::from_static(b"value")));
    let result = SparseTrie::new(root).update(&MemoryNodeStore::new(), [change]);
    assert!(matches!(result, Err(TrieError::MissingNode(hash)) if hash == root));
}
