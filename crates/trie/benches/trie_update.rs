//! Cost of trie updates, reads and proofs on a 100,000-leaf trie, and of building a trie.

use alloy_primitives::{Bytes, B256};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use fastevm_trie::{
    apply_changes, build_from_leaves, get, proof, MemoryNodeStore, SparseTrie, EMPTY_ROOT_HASH,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;

const TRIE_LEAVES: usize = 100_000;
const BATCH: usize = 1_000;

fn leaf(rng: &mut ChaCha8Rng) -> (B256, Bytes) {
    // About the size of an RLP-encoded account.
    let value: Vec<u8> = (0..70).map(|_| rng.r#gen()).collect();
    (B256::from(rng.r#gen::<[u8; 32]>()), value.into())
}

fn benches(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let leaves: Vec<(B256, Bytes)> = (0..TRIE_LEAVES).map(|_| leaf(&mut rng)).collect();
    let built = build_from_leaves(leaves.clone());
    let mut store = MemoryNodeStore::new();
    store.insert_nodes(built.new_nodes);
    let root = built.root;

    c.bench_function(
        "apply 1000 changes (1/3 update, 1/3 insert, 1/3 delete) to 100k leaves",
        |b| {
            b.iter_batched(
                || {
                    (0..BATCH)
                        .map(|i| match i % 3 {
                            0 => (
                                leaves[rng.gen_range(0..TRIE_LEAVES)].0,
                                Some(leaf(&mut rng).1),
                            ),
                            1 => {
                                let (key, value) = leaf(&mut rng);
                                (key, Some(value))
                            }
                            _ => (leaves[rng.gen_range(0..TRIE_LEAVES)].0, None),
                        })
                        .collect::<Vec<_>>()
                },
                |changes| black_box(apply_changes(&store, root, changes).unwrap()),
                BatchSize::SmallInput,
            )
        },
    );
    // The same kind of batch on a trie kept in memory from one batch to the next (the state
    // root's case from block to block): warmed by one batch of updates first.
    let changes = |rng: &mut ChaCha8Rng| -> Vec<(B256, Option<Bytes>)> {
        (0..BATCH)
            .map(|i| match i % 3 {
                0 => (leaves[rng.gen_range(0..TRIE_LEAVES)].0, Some(leaf(rng).1)),
                1 => {
                    let (key, value) = leaf(rng);
                    (key, Some(value))
                }
                _ => (leaves[rng.gen_range(0..TRIE_LEAVES)].0, None),
            })
            .collect()
    };
    let warm_changes = changes(&mut rng);
    let mut kept = Some(
        SparseTrie::new(root)
            .update(&store, warm_changes)
            .unwrap()
            .0,
    );
    c.bench_function(
        "apply 1000 changes (1/3 update, 1/3 insert, 1/3 delete) to a kept SparseTrie of 100k leaves",
        |b| {
            b.iter_batched(
                || changes(&mut rng),
                |changes| {
                    let trie = kept.take().expect("kept between iterations");
                    let (trie, update) = trie.update(&store, changes).unwrap();
                    kept = Some(trie);
                    black_box(update.root)
                },
                BatchSize::SmallInput,
            )
        },
    );
    c.bench_function("get 1000 keys of 100k leaves", |b| {
        b.iter(|| {
            for (key, _) in leaves.iter().step_by(TRIE_LEAVES / BATCH) {
                black_box(get(&store, root, key).unwrap());
            }
        })
    });
    c.bench_function("proof 1000 keys of 100k leaves", |b| {
        b.iter(|| {
            for (key, _) in leaves.iter().step_by(TRIE_LEAVES / BATCH) {
                black_box(proof(&store, root, key).unwrap());
            }
        })
    });

    let small: Vec<(B256, Bytes)> = leaves[..10_000].to_vec();
    c.bench_function("build 10k leaves with HashBuilder", |b| {
        b.iter(|| black_box(build_from_leaves(small.clone())))
    });
    c.bench_function("build 10k leaves with apply_changes from empty", |b| {
        b.iter(|| {
            let changes = small.iter().map(|(key, value)| (*key, Some(value.clone())));
            black_box(apply_changes(&MemoryNodeStore::new(), EMPTY_ROOT_HASH, changes).unwrap())
        })
    });
}

criterion_group! {
    name = trie;
    config = Criterion::default().sample_size(20);
    targets = benches
}
criterion_main!(trie);
