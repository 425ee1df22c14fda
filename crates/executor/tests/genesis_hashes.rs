//! Genesis import reproduces the published genesis hashes and state roots of the public networks.

use alloy_primitives::B256;
use fastevm_executor::{genesis_block, init_genesis, parse_genesis, ChainSpec};
use fastevm_storage::{ChainStore, StoreOptions};
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
}

fn expected() -> serde_json::Value {
    let raw = std::fs::read_to_string(fixtures().join("genesis/expected_genesis.json"))
        .expect("shared/fixtures/genesis/expected_genesis.json must exist beside the repo");
    serde_json::from_str(&raw).unwrap()
}

fn check_network(name: &str) {
    let expected = &expected()[name];
    let want_hash: B256 = expected["genesisHash"].as_str().unwrap().parse().unwrap();
    let want_root: B256 = expected["stateRoot"].as_str().unwrap().parse().unwrap();
    let json = std::fs::read_to_string(fixtures().join(format!("genesis/eth-clients/{name}.json")))
        .unwrap();
    let genesis = parse_genesis(&json).unwrap();
    let spec = ChainSpec::from_genesis(&genesis).unwrap();
    let block = genesis_block(&genesis, &spec).unwrap();
    assert_eq!(block.header.state_root, want_root, "{name} state root");
    assert_eq!(block.hash, want_hash, "{name} genesis hash");
    assert_eq!(
        block.diff.accounts.len() as u64,
        expected["accounts"].as_u64().unwrap()
    );
}

#[test]
fn mainnet_genesis_hash() {
    check_network("mainnet");
}

#[test]
fn sepolia_genesis_hash() {
    check_network("sepolia");
}

#[test]
fn holesky_genesis_hash() {
    check_network("holesky");
}

#[test]
fn hoodi_genesis_hash() {
    check_network("hoodi");
}

#[test]
fn init_writes_state_and_refuses_a_different_genesis() {
    let dir = tempfile::tempdir().unwrap();
    let store = ChainStore::open(dir.path(), StoreOptions::default()).unwrap();
    let hoodi = parse_genesis(
        &std::fs::read_to_string(fixtures().join("genesis/eth-clients/hoodi.json")).unwrap(),
    )
    .unwrap();
    let block = init_genesis(&store, &hoodi).unwrap();
    assert_eq!(store.head_hash().unwrap(), block.hash);
    assert_eq!(store.genesis_hash().unwrap(), Some(block.hash));
    assert_eq!(store.finalized_hash().unwrap(), Some(block.hash));
    // Every alloc account is readable from the flat state, with the right balance.
    for (address, account) in &hoodi.alloc {
        let stored = store
            .account(address)
            .unwrap()
            .expect("alloc account stored");
        assert_eq!(stored.balance, account.balance);
    }
    // The state trie is complete: the root node is stored.
    assert!(store.trie_node(&block.header.state_root).unwrap().is_some());
    // Importing the same genesis again is a no-op; a different one is refused.
    init_genesis(&store, &hoodi).unwrap();
    let sepolia = parse_genesis(
        &std::fs::read_to_string(fixtures().join("genesis/eth-clients/sepolia.json")).unwrap(),
    )
    .unwrap();
    let err = init_genesis(&store, &sepolia).unwrap_err();
    assert!(err.to_string().contains("different genesis"), "{err}");
}
