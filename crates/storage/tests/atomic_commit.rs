//! A block's writes are atomic: a writer killed with SIGKILL at an arbitrary point leaves the
//! database at a whole block, and a refused commit writes nothing.

use fastevm_storage::{
    test_utils::{account_address, block_setting_balances, genesis},
    ChainStore, StorageError, StoreOptions,
};
use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
};

const ACCOUNTS: u64 = 200;
const WRITER_ENV: &str = "FASTEVM_ATOMIC_WRITER_DIR";

/// Checks that the state is exactly "after block N" for the head N.
fn assert_consistent(store: &ChainStore) -> u64 {
    let head = store.head_header().unwrap();
    let n = head.number;
    assert_eq!(
        store.canonical_hash(n).unwrap(),
        Some(store.head_hash().unwrap())
    );
    assert_eq!(
        store.canonical_hash(n + 1).unwrap(),
        None,
        "canonical index ahead of head"
    );
    store.state_diff(&store.head_hash().unwrap()).unwrap();
    for i in 0..ACCOUNTS {
        let account = store.account(&account_address(i)).unwrap();
        if n == 0 {
            assert!(account.is_none());
        } else {
            assert_eq!(
                account.unwrap().balance,
                alloy_primitives::U256::from(n),
                "account {i} at head {n}"
            );
            assert_eq!(
                store
                    .storage(&account_address(i), &Default::default())
                    .unwrap(),
                alloy_primitives::U256::from(n)
            );
        }
    }
    n
}

/// Child-process body: commits blocks forever, announcing each.
fn writer(dir: &str) {
    let store = ChainStore::open(dir, StoreOptions::default()).unwrap();
    if store.genesis_hash().unwrap().is_none() {
        store.commit_genesis(&genesis(), b"{}").unwrap();
    }
    loop {
        let head = store.head_header().unwrap();
        let n = head.number;
        let block = block_setting_balances(
            &head,
            store.head_hash().unwrap(),
            ACCOUNTS,
            (n > 0).then_some(n),
            n + 1,
            0,
        );
        store.commit_block(&block, true).unwrap();
        println!("committed {}", n + 1);
    }
}

#[test]
fn killed_writer_leaves_a_whole_block() {
    if let Ok(dir) = std::env::var(WRITER_ENV) {
        writer(&dir);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut last_seen = 0;
    for round in 0..3 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "killed_writer_leaves_a_whole_block",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(WRITER_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Let it commit a varying number of blocks, then kill it mid-stream.
        let target = 20 + round * 17;
        let mut seen = 0;
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(n) = line.strip_prefix("committed ") {
                seen = n.parse().unwrap();
                if seen >= last_seen + target {
                    break;
                }
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let store = ChainStore::open(dir.path(), StoreOptions::default()).unwrap();
        let head = assert_consistent(&store);
        assert!(head >= seen, "announced block {seen} lost (head {head})");
        last_seen = head;
    }
}

#[test]
fn refused_commit_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = ChainStore::open(dir.path(), StoreOptions::default()).unwrap();
    let g = genesis();
    store.commit_genesis(&g, b"{}").unwrap();
    let b1 = block_setting_balances(&g.header, g.hash, ACCOUNTS, None, 1, 0);
    store.commit_block(&b1, true).unwrap();
    // A second block on genesis cannot be canonical: head is b1.
    let stray = block_setting_balances(&g.header, g.hash, ACCOUNTS, None, 99, 1);
    let err = store.commit_block(&stray, true).unwrap_err();
    assert!(matches!(err, StorageError::NotOnHead { .. }), "{err}");
    assert!(
        store.header(&stray.hash).unwrap().is_none(),
        "refused block's header was written"
    );
    assert!(store.state_diff(&stray.hash).is_err());
    assert_eq!(assert_consistent(&store), 1);
}
