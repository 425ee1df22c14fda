//! The ethereum/tests `TrieTests` vectors for the secure (keccak-hashed key) trie.
//!
//! Used files, every case asserted:
//! - `trieanyorder_secureTrie.json`: key/value sets whose root must not depend on order.
//! - `trietest_secureTrie.json`: ordered insert/delete sequences (`null` deletes).
//! - `hex_encoded_securetrie_test.json`: account-like hex keys and values.
//!
//! Not used, because they do not fit a 32-byte hashed-key trie: `trieanyorder.json` and
//! `trietest.json` use raw variable-length keys (prefixes of each other, so branch values), and
//! `trietestnextprev.json` tests key iteration, which this crate does not offer.
//!
//! Vector strings starting with `0x` are hex; others are their raw bytes. A secure trie's path is
//! `keccak256(key bytes)`.

use alloy_primitives::{hex, keccak256, Bytes, B256};
use alloy_trie::{proof::verify_proof, Nibbles};
use fastevm_trie::{apply_changes, build_from_leaves, get, proof, MemoryNodeStore, TrieUpdate};
use serde_json::Value;
use std::{collections::BTreeMap, path::PathBuf};

fn vector_file(name: &str) -> serde_json::Map<String, Value> {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures"
    ))
    .join("consensus/ethereum-tests/TrieTests")
    .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match serde_json::from_str(&text).expect("vector JSON") {
        Value::Object(cases) => cases,
        other => panic!("{name}: expected an object, got {other}"),
    }
}

fn vector_bytes(text: &str) -> Vec<u8> {
    match text.strip_prefix("0x") {
        Some(digits) => hex::decode(digits).expect("hex string"),
        None => text.as_bytes().to_vec(),
    }
}

/// The secure-trie change for one vector entry: hashed key, value or `None` for `null`.
fn secure_change(key: &str, value: &Value) -> (B256, Option<Bytes>) {
    let value = match value {
        Value::Null => None,
        Value::String(text) => Some(Bytes::from(vector_bytes(text))),
        other => panic!("unexpected value {other}"),
    };
    (keccak256(vector_bytes(key)), value)
}

fn expected_root(case: &Value) -> B256 {
    case["root"]
        .as_str()
        .expect("root")
        .parse()
        .expect("root hash")
}

/// Applies `batches` in turn to a memory store and returns the final update and store.
fn apply_batches(batches: Vec<Vec<(B256, Option<Bytes>)>>) -> (B256, MemoryNodeStore) {
    let mut store = MemoryNodeStore::new();
    let mut root = fastevm_trie::EMPTY_ROOT_HASH;
    for batch in batches {
        let TrieUpdate {
            root: new_root,
            new_nodes,
        } = apply_changes(&store, root, batch).unwrap();
        store.insert_nodes(new_nodes);
        root = new_root;
    }
    (root, store)
}

/// Checks reads and proofs of the final state against the expected key/value map.
fn assert_final_state(store: &MemoryNodeStore, root: B256, changes: &[(B256, Option<Bytes>)]) {
    let mut expected = BTreeMap::new();
    for (key, value) in changes {
        expected.insert(*key, value.clone().filter(|value| !value.is_empty()));
    }
    for (key, value) in expected {
        assert_eq!(get(store, root, &key).unwrap(), value);
        let nodes = proof(store, root, &key).unwrap();
        verify_proof(
            root,
            Nibbles::unpack(key),
            value.map(|v| v.to_vec()),
            &nodes,
        )
        .unwrap();
    }
}

/// Runs an unordered vector file: the root must match for any order and batching.
fn check_unordered_file(name: &str) -> usize {
    let cases = vector_file(name);
    for (case_name, case) in &cases {
        let entries = case["in"]
            .as_object()
            .unwrap_or_else(|| panic!("{case_name}: in"));
        let changes: Vec<_> = entries.iter().map(|(k, v)| secure_change(k, v)).collect();
        let root = expected_root(case);

        let (batch_root, store) = apply_batches(vec![changes.clone()]);
        assert_eq!(batch_root, root, "{name}/{case_name}: one batch");
        let single: Vec<_> = changes
            .iter()
            .rev()
            .map(|change| vec![change.clone()])
            .collect();
        assert_eq!(
            apply_batches(single).0,
            root,
            "{name}/{case_name}: one by one, reversed"
        );
        let leaves = changes
            .iter()
            .filter_map(|(k, v)| v.clone().map(|v| (*k, v)));
        assert_eq!(
            build_from_leaves(leaves).root,
            root,
            "{name}/{case_name}: built"
        );
        assert_final_state(&store, batch_root, &changes);
    }
    cases.len()
}

#[test]
fn secure_any_order_vectors() {
    assert_eq!(check_unordered_file("trieanyorder_secureTrie.json"), 7);
}

#[test]
fn hex_encoded_secure_vectors() {
    assert_eq!(check_unordered_file("hex_encoded_securetrie_test.json"), 3);
}

#[test]
fn secure_sequence_vectors() {
    let name = "trietest_secureTrie.json";
    let cases = vector_file(name);
    for (case_name, case) in &cases {
        let changes: Vec<_> = case["in"]
            .as_array()
            .unwrap_or_else(|| panic!("{case_name}: in"))
            .iter()
            .map(|pair| secure_change(pair[0].as_str().expect("key"), &pair[1]))
            .collect();
        let root = expected_root(case);

        let single: Vec<_> = changes.iter().map(|change| vec![change.clone()]).collect();
        let (sequential_root, store) = apply_batches(single);
        assert_eq!(
            sequential_root, root,
            "{name}/{case_name}: in order, one by one"
        );
        // One batch: the last change of each key wins, which is the sequence's final state.
        assert_eq!(
            apply_batches(vec![changes.clone()]).0,
            root,
            "{name}/{case_name}: batch"
        );
        // Split into two batches at the middle.
        let (head, tail) = changes.split_at(changes.len() / 2);
        assert_eq!(
            apply_batches(vec![head.to_vec(), tail.to_vec()]).0,
            root,
            "{name}/{case_name}: two batches"
        );
        assert_final_state(&store, sequential_root, &changes);
    }
    assert_eq!(cases.len(), 3);
}
