//! ValidatorNode over real TCP on 127.0.0.1 with RocksDB stores in temporary directories.
//! Timeouts only bound failures; nothing asserts on timing.

use std::sync::Arc;
use std::time::Duration;

use fastevm_consensus::core::NoTransactions;
use fastevm_consensus::{CommittedSubDag, Committee, Store};
use fastevm_consensus_node::{
    RocksStore, RocksStoreOptions, SyntheticTransactions, ValidatorConfig, ValidatorNode,
};
use tokio::net::TcpListener;
use tokio::sync::mpsc::Receiver;

const LIMIT: Duration = Duration::from_secs(90);

async fn next_commits(rx: &mut Receiver<CommittedSubDag>, k: usize) -> Vec<CommittedSubDag> {
    let mut out = Vec::with_capacity(k);
    tokio::time::timeout(LIMIT, async {
        while out.len() < k {
            out.push(rx.recv().await.expect("node stopped early"));
        }
    })
    .await
    .expect("commits within the limit");
    out
}

fn config(own: u32, listener: &TcpListener) -> ValidatorConfig {
    let mut c = ValidatorConfig::new(own, listener.local_addr().unwrap());
    c.sync_writes = false;
    c.backoff.initial_ms = 20;
    c.backoff.max_ms = 200;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_on_loopback_commit_the_same_first_20() {
    let n = 4;
    let dir = tempfile::tempdir().unwrap();
    let (mut committee, keys) = Committee::new_for_test(n, 21);
    let mut listeners = Vec::new();
    for a in committee.authorities.iter_mut() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        a.address = l.local_addr().unwrap().to_string();
        listeners.push(l);
    }
    let mut handles = Vec::new();
    let mut receivers = Vec::new();
    for (i, listener) in listeners.into_iter().enumerate() {
        let (handle, rx) = ValidatorNode::start_with_listener(
            config(i as u32, &listener),
            committee.clone(),
            keys[i].clone(),
            dir.path().join(format!("v{i}")),
            Box::new(SyntheticTransactions::new(i as u32, 3, 64)),
            0,
            listener,
        )
        .unwrap();
        handles.push(handle);
        receivers.push(rx);
    }
    let mut sequences = Vec::new();
    for rx in receivers.iter_mut() {
        sequences.push(next_commits(rx, 20).await);
    }
    for h in handles {
        h.shutdown().await.unwrap();
    }
    for (i, s) in sequences.iter().enumerate() {
        let indices: Vec<u64> = s.iter().map(|c| c.commit_index).collect();
        assert_eq!(indices, (1..=20).collect::<Vec<u64>>(), "node {i}");
        let digests: Vec<_> = s.iter().map(|c| c.commit_digest).collect();
        let first: Vec<_> = sequences[0].iter().map(|c| c.commit_digest).collect();
        assert_eq!(digests, first, "node {i} agrees with node 0");
    }
    let txs: usize = sequences[0]
        .iter()
        .flat_map(|c| &c.blocks)
        .map(|b| b.transactions().len())
        .sum();
    assert!(txs > 0);
}

/// A single-validator committee (it commits alone) restarted from its RocksDB store delivers
/// exactly the commits after the consumer's index, then continues without a gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_validator_redelivers_commits_after_resume_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("solo");
    let (mut committee, keys) = Committee::new_for_test(1, 22);
    let start = |resume_after: u64, committee: Committee| {
        let path = path.clone();
        let key = keys[0].clone();
        async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            ValidatorNode::start_with_listener(
                config(0, &listener),
                committee,
                key,
                path,
                Box::new(NoTransactions),
                resume_after,
                listener,
            )
            .unwrap()
        }
    };
    committee.authorities[0].address = "127.0.0.1:1".into(); // only itself; never dialled
    let (handle, mut rx) = start(0, committee.clone()).await;
    let first = next_commits(&mut rx, 12).await;
    let round_before = handle.status().last_proposed_round;
    handle.shutdown().await.unwrap();
    // The consumer had processed up to index 4 when it went down.
    let (handle, mut rx) = start(4, committee.clone()).await;
    assert!(handle.status().last_proposed_round >= round_before);
    let again = next_commits(&mut rx, first.len() - 4 + 3).await;
    handle.shutdown().await.unwrap();
    let indices: Vec<u64> = again.iter().map(|c| c.commit_index).collect();
    assert_eq!(indices, (5..5 + again.len() as u64).collect::<Vec<u64>>());
    assert_eq!(again[..first.len() - 4], first[4..]);
    // Never two own blocks in one round, across the restart.
    let store = Arc::new(
        RocksStore::open(
            &path,
            RocksStoreOptions {
                sync_writes: false,
                own_index: Some(0),
            },
        )
        .unwrap(),
    );
    let blocks = store.scan_blocks_from_round(1).unwrap();
    let rounds: std::collections::BTreeSet<u32> = blocks.iter().map(|b| b.round()).collect();
    assert_eq!(rounds.len(), blocks.len());
    assert!(rounds.len() as u32 > round_before);
}
