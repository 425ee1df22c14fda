//! Building a whole trie from its leaves with alloy's `HashBuilder` (genesis import, test oracle).

use crate::TrieUpdate;
use alloy_primitives::{keccak256, Bytes, B256};
use alloy_trie::{proof::ProofRetainer, HashBuilder, Nibbles, EMPTY_ROOT_HASH};
use std::collections::BTreeMap;

/// Root and all hashed nodes of the trie holding `leaves` (32-byte hashed keys to values),
/// computed from scratch. Duplicate keys: the last wins; empty values are left out (deletion).
///
/// `new_nodes` holds every node referenced by hash plus the root node, so a store given them
/// serves [`crate::get`], [`crate::proof`] and [`crate::apply_changes`] on the result.
pub fn build_from_leaves(leaves: impl IntoIterator<Item = (B256, Bytes)>) -> TrieUpdate {
    let mut leaves: BTreeMap<B256, Bytes> = leaves.into_iter().collect();
    leaves.retain(|_, value| !value.is_empty());
    if leaves.is_empty() {
        return TrieUpdate::from_nodes(EMPTY_ROOT_HASH, Vec::new());
    }
    // Retaining the proof of every key retains every node of the trie.
    let targets = leaves.keys().map(Nibbles::unpack).collect();
    let mut builder = HashBuilder::default().with_proof_retainer(ProofRetainer::new(targets));
    for (key, value) in &leaves {
        builder.add_leaf(Nibbles::unpack(key), value);
    }
    let root = builder.root();
    let new_nodes = builder
        .take_proof_nodes()
        .into_inner()
        .into_iter()
        .filter(|(path, rlp)| path.is_empty() || rlp.len() >= 32)
        .map(|(_, rlp)| (keccak256(&rlp), rlp))
        .collect();
    TrieUpdate::from_nodes(root, new_nodes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        apply_changes, get, proof,
        test_utils::{oracle_root, random_key, random_value},
        MemoryNodeStore,
    };
    use alloy_trie::proof::verify_proof;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn built_trie_matches_oracle_and_serves_reads_proofs_and_updates() {
        for (seed, size) in [(30, 1), (31, 2), (32, 25), (33, 3_000)] {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let leaves: BTreeMap<B256, Bytes> = (0..size)
                .map(|_| (random_key(&mut rng), random_value(&mut rng)))
                .collect();
            let built = build_from_leaves(leaves.clone());
            assert_eq!(built.root, oracle_root(&leaves));
            assert!(
                built.new_nodes.windows(2).all(|pair| pair[0].0 < pair[1].0),
                "sorted"
            );
            for (hash, rlp) in &built.new_nodes {
                assert_eq!(*hash, keccak256(rlp));
            }
            let mut store = MemoryNodeStore::new();
            store.insert_nodes(built.new_nodes.clone());
            for (key, value) in &leaves {
                assert_eq!(get(&store, built.root, key).unwrap().as_ref(), Some(value));
                let nodes = proof(&store, built.root, key).unwrap();
                verify_proof(
                    built.root,
                    Nibbles::unpack(key),
                    Some(value.to_vec()),
                    &nodes,
                )
                .unwrap();
            }
            let deletes: Vec<_> = leaves.keys().step_by(2).map(|key| (*key, None)).collect();
            let update = apply_changes(&store, built.root, deletes).unwrap();
            let remaining: BTreeMap<B256, Bytes> = leaves
                .iter()
                .skip(1)
                .step_by(2)
                .map(|(k, v)| (*k, v.clone()))
                .collect();
            assert_eq!(update.root, oracle_root(&remaining));
        }
    }

    #[test]
    fn duplicates_last_wins_and_empty_values_are_left_out() {
        let (a, b) = (B256::repeat_byte(1), B256::repeat_byte(2));
        let built = build_from_leaves([
            (a, Bytes::from_static(b"first")),
            (b, Bytes::from_static(b"kept")),
            (a, Bytes::from_static(b"second")),
            (b, Bytes::new()),
        ]);
        let expected = BTreeMap::from([(a, Bytes::from_static(b"second"))]);
        assert_eq!(built.root, oracle_root(&expected));
        assert_eq!(build_from_leaves([]).root, EMPTY_ROOT_HASH);
        assert!(build_from_leaves([(a, Bytes::new())]).new_nodes.is_empty());
    }
}
