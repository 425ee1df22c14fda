//! Point reads: a value by key, and the Merkle proof of a key.

use crate::{
    node::{Child, Node, NodeLoader},
    update::KEY_NIBBLES,
    NodeStore, TrieError,
};
use alloy_primitives::{Bytes, B256};
use alloy_trie::{Nibbles, EMPTY_ROOT_HASH};

/// The value stored under `key` (a 32-byte hashed path) in the trie with root `root`.
pub fn get<S: NodeStore + ?Sized>(
    store: &S,
    root: B256,
    key: &B256,
) -> Result<Option<Bytes>, TrieError> {
    walk(store, root, key, None)
}

/// Merkle proof for `key`: the RLP of every node referenced by hash on the path from the root
/// (root first), as `eth_getProof` returns them. Nodes embedded in a parent are inside that
/// parent's RLP. The proof shows inclusion when the key is present and exclusion otherwise; for
/// the empty trie it is empty.
pub fn proof<S: NodeStore + ?Sized>(
    store: &S,
    root: B256,
    key: &B256,
) -> Result<Vec<Bytes>, TrieError> {
    let mut nodes = Vec::new();
    walk(store, root, key, Some(&mut nodes))?;
    Ok(nodes)
}

/// Follows `key` from the root, recording hashed nodes into `proof` if given.
fn walk<S: NodeStore + ?Sized>(
    store: &S,
    root: B256,
    key: &B256,
    mut proof: Option<&mut Vec<Bytes>>,
) -> Result<Option<Bytes>, TrieError> {
    if root == EMPTY_ROOT_HASH {
        return Ok(None);
    }
    let loader = NodeLoader::new(store);
    let path = Nibbles::unpack(key);
    let mut depth = 0;
    let mut next = Child::Stored(alloy_trie::nodes::RlpNode::word_rlp(&root));
    loop {
        let node = match &next {
            Child::Stored(reference) => match reference.as_hash() {
                Some(hash) => {
                    let rlp = loader.rlp_by_hash(&hash)?;
                    let node = Node::decode(&rlp, Some(hash))?;
                    if let Some(proof) = proof.as_deref_mut() {
                        proof.push(rlp);
                    }
                    node
                }
                None => Node::decode(reference, None)?,
            },
            Child::Built(node) => Some((**node).clone()),
        };
        next = match node {
            None => return Ok(None),
            Some(Node::Leaf { key, value }) => {
                if depth + key.len() != KEY_NIBBLES {
                    return Err(TrieError::InvalidPath { depth });
                }
                return Ok((path.slice(depth..) == key).then_some(value));
            }
            Some(Node::Extension { key, child }) => {
                let end = depth + key.len();
                if end >= KEY_NIBBLES {
                    return Err(TrieError::InvalidPath { depth });
                }
                if path.slice(depth..end) != key {
                    return Ok(None);
                }
                depth = end;
                child
            }
            Some(Node::Branch { mut children }) => {
                if depth >= KEY_NIBBLES {
                    return Err(TrieError::InvalidPath { depth });
                }
                let Some(child) = children[path.get_unchecked(depth) as usize].take() else {
                    return Ok(None);
                };
                depth += 1;
                child
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        apply_changes,
        test_utils::{random_key, random_value, uniform_key, CountingNodeStore, TrieModel},
        MemoryNodeStore,
    };
    use alloy_primitives::keccak256;
    use alloy_trie::proof::verify_proof;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn random_model(seed: u64, size: usize) -> (TrieModel, ChaCha8Rng) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut model = TrieModel::new();
        model.apply(
            (0..size)
                .map(|_| (random_key(&mut rng), Some(random_value(&mut rng))))
                .collect(),
        );
        (model, rng)
    }

    /// Keys next to present keys (same path but for the last nibbles), plus random ones.
    fn absent_keys(model: &TrieModel, rng: &mut ChaCha8Rng) -> Vec<B256> {
        let mut keys: Vec<B256> = (0..50).map(|_| random_key(rng)).collect();
        for key in model.expected.keys().take(50) {
            let mut near = *key;
            near.0[31] ^= 0x01;
            keys.push(near);
            near.0[31] ^= 0x11;
            keys.push(near);
            near.0[30] ^= 0x80;
            keys.push(near);
        }
        keys.retain(|key| !model.expected.contains_key(key));
        keys
    }

    #[test]
    fn proofs_verify_for_present_and_absent_keys() {
        for (seed, size) in [(20, 1), (21, 2), (22, 3), (23, 40), (24, 2_000)] {
            let (model, mut rng) = random_model(seed, size);
            for (key, value) in &model.expected {
                let nodes = proof(&model.store, model.root, key).unwrap();
                assert_eq!(keccak256(&nodes[0]), model.root, "proof starts at the root");
                let path = Nibbles::unpack(key);
                verify_proof(model.root, path, Some(value.to_vec()), &nodes).unwrap();
                // The same proof must not prove absence or another value.
                assert!(verify_proof(model.root, path, None, &nodes).is_err());
                let mut other = value.to_vec();
                other.push(0);
                assert!(verify_proof(model.root, path, Some(other), &nodes).is_err());
            }
            for key in absent_keys(&model, &mut rng) {
                let nodes = proof(&model.store, model.root, &key).unwrap();
                let path = Nibbles::unpack(key);
                verify_proof(model.root, path, None, &nodes).unwrap();
                assert!(verify_proof(model.root, path, Some(vec![1]), &nodes).is_err());
                assert_eq!(get(&model.store, model.root, &key).unwrap(), None);
            }
        }
    }

    #[test]
    fn empty_trie_has_empty_proof_and_no_values() {
        let store = CountingNodeStore::new(MemoryNodeStore::new());
        let key = B256::repeat_byte(7);
        assert_eq!(get(&store, EMPTY_ROOT_HASH, &key).unwrap(), None);
        let nodes = proof(&store, EMPTY_ROOT_HASH, &key).unwrap();
        assert!(nodes.is_empty());
        verify_proof(EMPTY_ROOT_HASH, Nibbles::unpack(key), None, &nodes).unwrap();
        assert_eq!(store.take_reads(), 0);
    }

    #[test]
    fn old_roots_stay_readable_and_provable() {
        let (mut model, mut rng) = random_model(25, 300);
        let old_root = model.root;
        let old = model.expected.clone();
        let changes: Vec<_> = old
            .keys()
            .take(100)
            .map(|key| (*key, None))
            .chain((0..100).map(|_| (uniform_key(&mut rng), Some(random_value(&mut rng)))))
            .collect();
        model.apply(changes);
        assert_ne!(model.root, old_root);
        for (key, value) in &old {
            assert_eq!(
                get(&model.store, old_root, key).unwrap().as_ref(),
                Some(value)
            );
            let nodes = proof(&model.store, old_root, key).unwrap();
            verify_proof(old_root, Nibbles::unpack(key), Some(value.to_vec()), &nodes).unwrap();
        }
        model.assert_reads(old.keys().copied());
    }

    #[test]
    fn missing_and_corrupt_nodes_are_errors() {
        let store = MemoryNodeStore::new();
        let unknown = B256::repeat_byte(9);
        let key = B256::ZERO;
        assert!(
            matches!(get(&store, unknown, &key), Err(TrieError::MissingNode(h)) if h == unknown)
        );
        assert!(
            matches!(proof(&store, unknown, &key), Err(TrieError::MissingNode(h)) if h == unknown)
        );
        assert!(matches!(
            apply_changes(&store, unknown, [(key, None)]),
            Err(TrieError::MissingNode(h)) if h == unknown
        ));

        let garbage = Bytes::from_static(&[0xc3, 0x01, 0x02, 0x03]);
        let mut corrupt = MemoryNodeStore::new();
        corrupt.insert_nodes([(keccak256(&garbage), garbage.clone())]);
        let root = keccak256(&garbage);
        assert!(matches!(
            get(&corrupt, root, &key),
            Err(TrieError::Decode { hash: Some(h), .. }) if h == root
        ));

        // A trie whose inner node is gone: reads that need it fail, others succeed.
        let (model, _) = random_model(26, 50);
        let mut partial = MemoryNodeStore::new();
        let removed = model
            .store
            .iter()
            .find(|(hash, _)| **hash != model.root)
            .map(|(h, _)| *h);
        let removed = removed.expect("trie has inner nodes");
        partial.insert_nodes(
            model
                .store
                .iter()
                .filter(|(hash, _)| **hash != removed)
                .map(|(h, n)| (*h, n.clone())),
        );
        let mut failures = 0;
        for key in model.expected.keys() {
            match get(&partial, model.root, key) {
                Err(TrieError::MissingNode(hash)) => {
                    assert_eq!(hash, removed);
                    failures += 1;
                }
                other => assert_eq!(other.unwrap(), model.expected.get(key).cloned()),
            }
        }
        assert!(failures > 0);
    }

    #[test]
    fn nodes_that_do_not_fit_32_byte_keys_are_errors() {
        use alloy_trie::nodes::{ExtensionNode, LeafNode, RlpNode, TrieNode};
        let key = B256::ZERO;
        // A root leaf whose path is 2 nibbles long cannot hold a 64-nibble key.
        let short_leaf = TrieNode::Leaf(LeafNode::new(Nibbles::from_nibbles([0, 0]), vec![1]));
        // A root extension covering all 64 nibbles leaves no room for its branch.
        let child = RlpNode::word_rlp(&B256::repeat_byte(3));
        let long_extension = TrieNode::Extension(ExtensionNode::new(Nibbles::unpack(key), child));
        for node in [short_leaf, long_extension] {
            let rlp = Bytes::from(alloy_rlp::encode(&node));
            let root = keccak256(&rlp);
            let mut store = MemoryNodeStore::new();
            store.insert_nodes([(root, rlp)]);
            assert!(matches!(
                get(&store, root, &key),
                Err(TrieError::InvalidPath { depth: 0 })
            ));
            assert!(matches!(
                apply_changes(&store, root, [(key, Some(Bytes::from_static(b"v")))]),
                Err(TrieError::InvalidPath { depth: 0 })
            ));
        }
    }
}
