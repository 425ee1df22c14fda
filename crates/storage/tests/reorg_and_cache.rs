//! Side-branch blocks, head moves across branches, and the state cache never serving a value a
//! committed block changed.

use alloy_primitives::{B256, U256};
use fastevm_storage::{
    test_utils::{account_address, block_setting_balances, genesis},
    ChainStore, SafeAndFinalized, StoreOptions, Table,
};
use std::sync::Arc;

fn balance(store: &ChainStore, i: u64) -> Option<U256> {
    store
        .account(&account_address(i))
        .unwrap()
        .map(|a| a.balance)
}

#[test]
fn cache_follows_commits() {
    let store = ChainStore::open("cache", StoreOptions::in_memory()).unwrap();
    let g = genesis();
    store.commit_genesis(&g, b"{}").unwrap();
    assert_eq!(balance(&store, 0), None); // now cached as absent
    let b1 = block_setting_balances(&g.header, g.hash, 3, None, 10, 0);
    store.commit_block(&b1, true).unwrap();
    assert_eq!(balance(&store, 0), Some(U256::from(10)));
    assert_eq!(
        store
            .storage(&account_address(0), &Default::default())
            .unwrap(),
        U256::from(10)
    );
    let b2 = block_setting_balances(&b1.header, b1.hash, 3, Some(10), 11, 0);
    store.commit_block(&b2, true).unwrap();
    assert_eq!(balance(&store, 2), Some(U256::from(11)));
    assert_eq!(
        store
            .storage(&account_address(2), &Default::default())
            .unwrap(),
        U256::from(11)
    );
}

#[test]
fn reorg_switches_state_indexes_and_back() {
    let store = ChainStore::open("reorg", StoreOptions::in_memory()).unwrap();
    let g = genesis();
    store.commit_genesis(&g, b"{}").unwrap();
    // Branch A: a1 (=1), a2 (=2). Branch B: b1 (=100), b2 (=101), b3 (=102).
    let a1 = block_setting_balances(&g.header, g.hash, 4, None, 1, 0xa);
    let a2 = block_setting_balances(&a1.header, a1.hash, 4, Some(1), 2, 0xa);
    let b1 = block_setting_balances(&g.header, g.hash, 2, None, 100, 0xb);
    let b2 = block_setting_balances(&b1.header, b1.hash, 2, Some(100), 101, 0xb);
    let b3 = block_setting_balances(&b2.header, b2.hash, 2, Some(101), 102, 0xb);
    store.commit_block(&a1, true).unwrap();
    store.commit_block(&a2, true).unwrap();
    for b in [&b1, &b2, &b3] {
        store.commit_block(b, false).unwrap();
    }
    assert_eq!(balance(&store, 3), Some(U256::from(2)));
    assert!(!store.is_canonical(&b1.hash).unwrap());

    let (removed, added) = store.set_canonical_head(b3.hash).unwrap();
    assert_eq!(removed, vec![a2.hash, a1.hash]);
    assert_eq!(added, vec![b1.hash, b2.hash, b3.hash]);
    assert_eq!(store.head_hash().unwrap(), b3.hash);
    assert_eq!(balance(&store, 0), Some(U256::from(102)));
    // Accounts only branch A created are gone again.
    assert_eq!(balance(&store, 3), None);
    assert_eq!(
        store
            .storage(&account_address(3), &Default::default())
            .unwrap(),
        U256::ZERO
    );
    assert_eq!(store.canonical_hash(1).unwrap(), Some(b1.hash));
    assert_eq!(store.canonical_hash(3).unwrap(), Some(b3.hash));

    // And back to A: canonical index above A's head is cleared.
    store.set_canonical_head(a2.hash).unwrap();
    assert_eq!(store.canonical_hash(3).unwrap(), None);
    assert_eq!(store.canonical_hash(2).unwrap(), Some(a2.hash));
    assert_eq!(balance(&store, 0), Some(U256::from(2)));
    assert_eq!(balance(&store, 3), Some(U256::from(2)));

    // Moving to an ancestor unwinds without adding.
    let (removed, added) = store.set_canonical_head(a1.hash).unwrap();
    assert_eq!((removed, added), (vec![a2.hash], vec![]));
    assert_eq!(balance(&store, 1), Some(U256::from(1)));
}

/// Whether account `i`'s balance as served (through the cache) matches the flat table on disk.
fn cached_matches_disk(store: &ChainStore, i: u64) -> bool {
    let on_disk = store
        .get(Table::Accounts, account_address(i).as_slice())
        .unwrap()
        .map(|raw| {
            alloy_rlp::Decodable::decode(&mut raw.as_slice())
                .map(|a: alloy_trie::TrieAccount| a.balance)
                .unwrap()
        });
    balance(store, i) == on_disk
}

#[test]
fn warm_cache_follows_reorgs_of_blocks_held_in_memory() {
    let store = ChainStore::open("warm-reorg", StoreOptions::in_memory()).unwrap();
    let g = genesis();
    store.commit_genesis(&g, b"{}").unwrap();
    let a1 = Arc::new(block_setting_balances(&g.header, g.hash, 4, None, 1, 0xa));
    let a2 = Arc::new(block_setting_balances(
        &a1.header,
        a1.hash,
        4,
        Some(1),
        2,
        0xa,
    ));
    let b1 = Arc::new(block_setting_balances(&g.header, g.hash, 2, None, 100, 0xb));
    let b2 = Arc::new(block_setting_balances(
        &b1.header,
        b1.hash,
        2,
        Some(100),
        101,
        0xb,
    ));
    for block in [&a1, &a2, &b1, &b2] {
        store.commit_block(block, false).unwrap();
    }
    let memory = [a1.clone(), a2.clone(), b1.clone(), b2.clone()];
    let known = |hash: &B256| memory.iter().find(|b| b.hash == *hash).cloned();
    // Every account is read (and cached) before each move, so a stale entry would show.
    for (head, expected) in [(a2.hash, 2), (b2.hash, 101), (a1.hash, 1), (b1.hash, 100)] {
        for i in 0..6 {
            balance(&store, i);
        }
        store.set_canonical_head_using(head, &known, None).unwrap();
        assert_eq!(balance(&store, 0), Some(U256::from(expected)));
        for i in 0..6 {
            assert!(
                cached_matches_disk(&store, i),
                "account {i} after moving to {head}"
            );
        }
    }
    // Accounts only branch A created are absent on branch B, in the cache as on disk.
    assert_eq!(balance(&store, 3), None);
}

/// A head move records the forkchoice's safe and finalized blocks with it; a forkchoice that
/// keeps the head records them on their own; both survive a reopen.
#[test]
fn head_moves_carry_safe_and_finalized() {
    let dir = tempfile::tempdir().unwrap();
    let g = genesis();
    let (a1, a2) = {
        let store = ChainStore::open(dir.path(), StoreOptions::default()).unwrap();
        store.commit_genesis(&g, b"{}").unwrap();
        let a1 = block_setting_balances(&g.header, g.hash, 2, None, 1, 0xa);
        let a2 = block_setting_balances(&a1.header, a1.hash, 2, Some(1), 2, 0xa);
        store.commit_block(&a1, false).unwrap();
        store.commit_block(&a2, false).unwrap();
        let pointers = SafeAndFinalized {
            safe: a1.hash,
            finalized: g.hash,
        };
        let (removed, added) = store
            .set_canonical_head_using(a2.hash, &|_| None, Some(pointers))
            .unwrap();
        assert!(removed.is_empty());
        assert_eq!(added, vec![a1.hash, a2.hash]);
        assert_eq!(store.head_hash().unwrap(), a2.hash);
        assert_eq!(store.safe_hash().unwrap(), Some(a1.hash));
        assert_eq!(store.finalized_hash().unwrap(), Some(g.hash));
        // Same head: only the pointers move.
        let (removed, added) = store
            .set_canonical_head_using(
                a2.hash,
                &|_| None,
                Some(SafeAndFinalized {
                    safe: a2.hash,
                    finalized: a1.hash,
                }),
            )
            .unwrap();
        assert!(removed.is_empty() && added.is_empty());
        (a1, a2)
    };
    let store = ChainStore::open(dir.path(), StoreOptions::default()).unwrap();
    assert_eq!(store.head_hash().unwrap(), a2.hash);
    assert_eq!(store.safe_hash().unwrap(), Some(a2.hash));
    assert_eq!(store.finalized_hash().unwrap(), Some(a1.hash));
}
