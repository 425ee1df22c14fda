//! RocksStore: write, reopen, read back; metadata checks; core recovery over RocksDB.

use std::sync::Arc;

use fastevm_consensus::core::NoTransactions;
use fastevm_consensus::test_utils::DagBuilder;
use fastevm_consensus::{
    Commit, CommitDigest, Committee, Core, CoreParams, MemStore, PruneFloor, Store, StoreBatch,
    VerifiedBlock,
};
use fastevm_consensus_node::{NodeError, RocksStore, RocksStoreOptions};

fn options(own: Option<u32>) -> RocksStoreOptions {
    RocksStoreOptions {
        sync_writes: true,
        own_index: own,
    }
}

fn commits_for(blocks: &[VerifiedBlock]) -> Vec<Commit> {
    let mut out: Vec<Commit> = Vec::new();
    for (i, b) in blocks.iter().filter(|b| b.author() == 1).enumerate() {
        let previous_digest = out.last().map_or(CommitDigest::default(), |c| c.digest());
        out.push(Commit {
            index: i as u64 + 1,
            previous_digest,
            timestamp_ms: 10 * i as u64,
            leader: b.reference(),
            blocks: vec![b.reference()],
        });
    }
    out
}

/// Pruning deletes the same blocks and commits on both stores, keeps the last commit, and gives
/// the disk space back.
#[test]
fn pruning_deletes_below_the_floor_and_frees_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let mut dag = DagBuilder::new(4);
    dag.layers(1..=400).build();
    let blocks = dag.all_blocks();
    let commits = commits_for(&blocks);
    assert_eq!(commits.len(), 400);
    let mem = MemStore::new();
    let rocks = RocksStore::open(dir.path(), options(Some(0))).unwrap();
    for store in [&rocks as &dyn Store, &mem] {
        for (chunk, commits) in blocks.chunks(40).zip(commits.chunks(10)) {
            store
                .write(StoreBatch {
                    blocks: chunk.to_vec(),
                    commits: commits.to_vec(),
                })
                .unwrap();
        }
    }
    let before = rocks.disk_bytes().unwrap();
    let floor = PruneFloor {
        round: 361,
        commit: 381,
    };
    for store in [&rocks as &dyn Store, &mem] {
        store.prune(floor).unwrap();
        // Idempotent.
        store.prune(floor).unwrap();
        let kept = store.scan_blocks_from_round(0).unwrap();
        assert_eq!(kept.len(), 40 * 4);
        assert!(kept.iter().all(|b| b.round() >= 361));
        assert_eq!(store.scan_commits_from(0).unwrap(), commits[380..].to_vec());
        assert_eq!(
            store.read_blocks(&[blocks[0].reference()]).unwrap(),
            vec![None]
        );
    }
    let after = rocks.disk_bytes().unwrap();
    assert!(
        after * 4 < before,
        "{before} bytes before pruning, {after} after"
    );

    // A floor past the last commit keeps the last commit; the pruned store reopens.
    let beyond = PruneFloor {
        round: 1_000,
        commit: 1_000,
    };
    rocks.prune(beyond).unwrap();
    mem.prune(beyond).unwrap();
    drop(rocks);
    let rocks = RocksStore::open(dir.path(), options(Some(0))).unwrap();
    for store in [&rocks as &dyn Store, &mem] {
        assert!(store.scan_blocks_from_round(0).unwrap().is_empty());
        assert_eq!(
            store.scan_commits_from(0).unwrap(),
            vec![commits[399].clone()]
        );
        assert_eq!(
            store.read_last_commit().unwrap(),
            Some(commits[399].clone())
        );
    }
}

/// The same operations give the same answers on MemStore and RocksStore, before and after
/// reopening the database.
#[test]
fn write_reopen_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut dag = DagBuilder::new(4);
    dag.layers(1..=5).build();
    dag.layer(6).authorities(&[2]).equivocate(1).build();
    let blocks = dag.all_blocks();
    let commits = commits_for(&blocks);
    let mem = MemStore::new();
    {
        let rocks = RocksStore::open(dir.path(), options(Some(2))).unwrap();
        assert_eq!(rocks.own_last_round().unwrap(), None);
        assert!(rocks.read_last_commit().unwrap().is_none());
        let (first, second) = blocks.split_at(10);
        for store in [&rocks as &dyn Store, &mem] {
            store
                .write(StoreBatch {
                    blocks: first.to_vec(),
                    commits: commits[..2].to_vec(),
                })
                .unwrap();
            store
                .write(StoreBatch {
                    blocks: second.to_vec(),
                    commits: commits[2..].to_vec(),
                })
                .unwrap();
            store.write(StoreBatch::default()).unwrap();
        }
        assert_eq!(rocks.own_last_round().unwrap(), Some(6));
    }
    let rocks = RocksStore::open(dir.path(), options(Some(2))).unwrap();
    assert_eq!(rocks.own_last_round().unwrap(), Some(6));
    let mut sorted = blocks.clone();
    sorted.sort_by_key(|b| b.reference());
    assert_eq!(rocks.scan_blocks_from_round(0).unwrap(), sorted);
    assert_eq!(
        rocks.scan_blocks_from_round(4).unwrap(),
        mem.scan_blocks_from_round(4).unwrap()
    );
    assert_eq!(
        rocks.scan_blocks_from_round(6).unwrap().len(),
        2,
        "both equivocations"
    );
    assert!(rocks.scan_blocks_from_round(7).unwrap().is_empty());
    let wanted = [blocks[3].reference(), dag.block(5, 0).reference()];
    let got = rocks.read_blocks(&wanted).unwrap();
    assert_eq!(got, mem.read_blocks(&wanted).unwrap());
    assert_eq!(got[1].as_ref().unwrap().signed(), dag.block(5, 0).signed());
    let unknown = fastevm_consensus::BlockRef::new(9, 0, Default::default());
    assert_eq!(rocks.read_blocks(&[unknown]).unwrap(), vec![None]);
    assert_eq!(rocks.scan_commits_from(1).unwrap(), commits);
    assert_eq!(rocks.scan_commits_from(3).unwrap(), commits[2..].to_vec());
    assert_eq!(rocks.read_last_commit().unwrap(), commits.last().cloned());
    assert_eq!(
        rocks.read_last_commit().unwrap(),
        mem.read_last_commit().unwrap()
    );
}

#[test]
fn metadata_mismatch_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    drop(RocksStore::open(dir.path(), options(Some(1))).unwrap());
    assert!(matches!(
        RocksStore::open(dir.path(), options(Some(2))),
        Err(NodeError::StoreMismatch {
            what: "own authority index",
            ..
        })
    ));
    // Without an own index the database opens for inspection.
    assert!(RocksStore::open(dir.path(), options(None)).is_ok());
    // A second handle on an open database is refused by RocksDB's lock, not a panic.
    let open = RocksStore::open(dir.path(), options(Some(1))).unwrap();
    assert!(matches!(
        RocksStore::open(dir.path(), options(Some(1))),
        Err(NodeError::Rocks(_))
    ));
    drop(open);
}

/// A core over a reopened RocksStore recovers its own last block and last commit and refuses
/// to sign a round it already signed.
#[test]
fn core_recovers_from_reopened_rocks_store() {
    let dir = tempfile::tempdir().unwrap();
    let (committee, keys) = Committee::new_for_test(1, 5);
    let params = || CoreParams {
        min_round_delay_ms: 0,
        ..CoreParams::new(0)
    };
    let open_core = || {
        let store = Arc::new(RocksStore::open(dir.path(), options(Some(0))).unwrap());
        Core::new(
            params(),
            committee.clone(),
            keys[0].clone(),
            store,
            Box::new(NoTransactions),
        )
        .unwrap()
    };
    let mut commits = Vec::new();
    let last_block;
    {
        let mut core = open_core();
        for t in 1..=10u64 {
            let p = core.try_propose(t * 100, false).unwrap().unwrap();
            commits.extend(p.commits);
        }
        last_block = core.last_proposed_block().clone();
        assert_eq!(last_block.round(), 10);
        assert!(commits.len() >= 7, "a single authority commits alone");
    }
    let mut core = open_core();
    assert_eq!(core.last_proposed_block(), &last_block);
    assert_eq!(core.last_commit_index(), commits.len() as u64);
    assert!(core.try_commit().unwrap().is_empty());
    assert_eq!(core.replay_commits(3).unwrap(), commits[3..].to_vec());
    let next = core.try_propose(5_000, true).unwrap().unwrap();
    assert_eq!(next.block.block.round, 11, "never round 10 again");
    assert_eq!(next.commits[0].commit_index, commits.len() as u64 + 1);
    assert_eq!(
        next.commits[0].previous_digest,
        commits.last().unwrap().commit_digest
    );
}
