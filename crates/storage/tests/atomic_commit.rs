//! A block's writes are atomic: a writer killed with SIGKILL at an arbitrary point leaves the
//! database at a whole block — the last block it committed when writing through, at most its
//! queue behind when writing in the background — and a refused commit writes nothing.

use fastevm_storage::{
    test_utils::{account_address, block_setting_balances, genesis},
    ChainStore, Persistence, StorageError, StoreOptions,
};
use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
};

const ACCOUNTS: u64 = 200;
const WRITER_ENV: &str = "FASTEVM_ATOMIC_WRITER_DIR";
const BACKGROUND_ENV: &str = "FASTEVM_ATOMIC_WRITER_BACKGROUND";
/// Groups the background writer may hold (one per canonical block here).
const MAX_PENDING: usize = 16;

fn options(background: bool) -> StoreOptions {
    StoreOptions {
        persistence: if background {
            Persistence::Background {
                max_pending: MAX_PENDING,
            }
        } else {
            Persistence::WriteThrough
        },
        ..StoreOptions::default()
    }
}

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
    let background = std::env::var(BACKGROUND_ENV).is_ok();
    let store = ChainStore::open(dir, options(background)).unwrap();
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
    kill_writer_three_times("killed_writer_leaves_a_whole_block", false);
}

#[test]
fn killed_background_writer_leaves_a_whole_block() {
    kill_writer_three_times("killed_background_writer_leaves_a_whole_block", true);
}

/// Runs the writer in a child process (this test binary running `test_name`), kills it after a
/// varying number of blocks, and checks the reopened store, three times over the same database.
fn kill_writer_three_times(test_name: &str, background: bool) {
    if let Ok(dir) = std::env::var(WRITER_ENV) {
        writer(&dir);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut last_seen = 0;
    for round in 0..3 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
            .env(WRITER_ENV, dir.path())
            .envs(background.then_some((BACKGROUND_ENV, "1")))
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
        let store = ChainStore::open(dir.path(), options(background)).unwrap();
        let head = assert_consistent(&store);
        // In the background the queue and the batch being written may be lost, no more.
        let may_lose = if background {
            2 * MAX_PENDING as u64
        } else {
            0
        };
        assert!(
            head + may_lose >= seen,
            "announced block {seen} lost (head {head})"
        );
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

#[test]
fn a_dropped_background_store_has_written_every_block() {
    let dir = tempfile::tempdir().unwrap();
    let last = {
        let store = ChainStore::open(dir.path(), options(true)).unwrap();
        let g = genesis();
        store.commit_genesis(&g, b"{}").unwrap();
        let mut parent = g;
        for n in 1..=100u64 {
            let previous = (n > 1).then_some(n - 1);
            let block =
                block_setting_balances(&parent.header, parent.hash, ACCOUNTS, previous, n, 0);
            store.commit_block(&block, true).unwrap();
            parent = block;
        }
        parent.hash
    };
    let store = ChainStore::open(dir.path(), options(true)).unwrap();
    assert_eq!(store.head_hash().unwrap(), last);
    assert_eq!(assert_consistent(&store), 100);
}
