//! The consensus bridge over in-process execution nodes: every node turns the same commits into
//! the same blocks, resumes after a restart without skipping or repeating a commit, retries an
//! unreachable node and stops loudly on an INVALID block.

use crate::fixture::{dev_engine, dev_engine_at, serve};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_rpc_types_engine::{
    ForkchoiceState, ForkchoiceUpdated, PayloadId, PayloadStatus, PayloadStatusEnum,
};
use fastevm_consensus::{
    commit::{Commit, CommitDigest, CommittedSubDag},
    committee::Committee,
    types::{Block, SignedBlock, Transaction, VerifiedBlock},
};
use fastevm_consensus_bridge::{
    decode_commit_marker, BridgeError, CommitOutcome, ConsensusBridge, PayloadRules, RetryPolicy,
};
use fastevm_dev_chain::{dev_signers, sign_eip1559, TxFees, DEV_CHAIN_ID};
use fastevm_engine::Engine;
use fastevm_engine_api::{
    BuiltBlock, EngineClientError, ExecutionClient, HeadInfo, PayloadRequest, RpcExecutionClient,
};
use fastevm_engine_rpc::InProcessClient;
use std::{
    path::Path,
    sync::{
        atomic::{AtomicU32, Ordering},
        Arc,
    },
    time::Duration,
};

fn rules() -> PayloadRules {
    PayloadRules {
        fee_recipients: (0..4).map(|i| Address::repeat_byte(0xf0 + i)).collect(),
        allow_equal_timestamps: true,
        empty_block_interval_ms: None,
    }
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(4),
    }
}

fn transfer(signer: usize, nonce: u64) -> Transaction {
    let tx = sign_eip1559(
        &dev_signers()[signer],
        DEV_CHAIN_ID,
        nonce,
        Address::repeat_byte(0x42),
        U256::from(1 + nonce),
        Bytes::new(),
        TxFees::default(),
    );
    Transaction(tx.encoded_2718())
}

/// `count` hand-built commits of a 4-authority committee. Commit k has one block per authority;
/// authority a carries signer a's transfer with nonce k-1, authority 3 also repeats authority 0's
/// transaction (duplicate inside the sub-DAG), and from commit 2 on authority 1 re-sends its
/// previous transaction (a duplicate across commits, which fails its nonce check).
fn commits(count: u64) -> Vec<CommittedSubDag> {
    commits_where(count, |_| true)
}

/// Like [`commits`], but commit k carries transactions only when `carries_transactions(k)`.
fn commits_where(count: u64, carries_transactions: fn(u64) -> bool) -> Vec<CommittedSubDag> {
    let (_committee, keys): (Committee, _) = Committee::new_for_test(4, 7);
    let mut previous = CommitDigest([0; 32]);
    let mut out = Vec::new();
    for k in 1..=count {
        let round = k as u32;
        let blocks: Vec<VerifiedBlock> = (0..4u32)
            .map(|a| {
                let mut transactions = vec![transfer(a as usize, k - 1)];
                if a == 3 {
                    transactions.push(transfer(0, k - 1));
                }
                if a == 1 && k > 1 {
                    transactions.push(transfer(1, k - 2));
                }
                if !carries_transactions(k) {
                    transactions.clear();
                }
                let block = Block {
                    epoch: 0,
                    round,
                    author: a,
                    timestamp_ms: 1_000 + 300 * k,
                    ancestors: vec![],
                    transactions,
                    commit_votes: vec![],
                };
                VerifiedBlock::new_trusted(SignedBlock::sign(block, &keys[a as usize]))
            })
            .collect();
        let leader = blocks[(k % 4) as usize].reference();
        let commit = Commit {
            index: k,
            previous_digest: previous,
            timestamp_ms: 1_000 + 300 * k,
            leader,
            blocks: blocks.iter().map(|b| b.reference()).collect(),
        };
        let digest = commit.digest();
        out.push(CommittedSubDag {
            commit_index: k,
            leader,
            blocks,
            timestamp_ms: commit.timestamp_ms,
            previous_digest: previous,
            commit_digest: digest,
            commit,
        });
        previous = digest;
    }
    out
}

#[tokio::test]
async fn four_nodes_reach_the_same_block_at_every_height() {
    let commits = commits(12);
    let mut heads: Vec<Vec<B256>> = Vec::new();
    let mut engines = Vec::new();
    for _ in 0..4 {
        let engine = dev_engine("bridge");
        let mut bridge =
            ConsensusBridge::connect(InProcessClient::new(engine.clone()), rules(), fast_retry())
                .await
                .unwrap();
        assert_eq!(bridge.last_executed_commit(), 0);
        let mut hashes = Vec::new();
        for commit in &commits {
            match bridge.execute(commit).await.unwrap() {
                CommitOutcome::Executed {
                    hash, transactions, ..
                } => {
                    // 4 distinct new transfers per commit; the in-DAG duplicate is deduplicated and
                    // the cross-commit replay is left out by the builder.
                    assert_eq!(transactions, 4, "commit {}", commit.commit_index);
                    hashes.push(hash);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        heads.push(hashes);
        engines.push(engine);
    }
    for node in 1..4 {
        assert_eq!(heads[node], heads[0], "node {node} diverged");
    }
    let store = engines[0].chain().store();
    let head = store.head_header().unwrap();
    assert_eq!(head.number, 12);
    assert_eq!(decode_commit_marker(&head.extra_data), Some(12));
    // Timestamps are the commit times in seconds, equal within a second, never decreasing.
    let mut last = 0;
    for number in 1..=12 {
        let header = store
            .header(&store.canonical_hash(number).unwrap().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(header.timestamp, (1_000 + 300 * number) / 1000);
        assert!(header.timestamp >= last);
        last = header.timestamp;
        assert_eq!(
            header.beneficiary,
            Address::repeat_byte(0xf0 + (number % 4) as u8)
        );
    }
    // head = safe = finalized.
    assert_eq!(store.finalized_hash().unwrap(), Some(heads[0][11]));
}

#[tokio::test]
async fn restart_resumes_at_the_next_commit() {
    let dir = tempfile::tempdir().unwrap();
    let commits = commits(6);
    let open = |dir: &Path| dev_engine_at(dir);
    {
        let engine = open(dir.path());
        let mut bridge =
            ConsensusBridge::connect(InProcessClient::new(engine), rules(), fast_retry())
                .await
                .unwrap();
        for commit in &commits[..4] {
            bridge.execute(commit).await.unwrap();
        }
    }
    let engine = open(dir.path());
    let mut bridge =
        ConsensusBridge::connect(InProcessClient::new(engine.clone()), rules(), fast_retry())
            .await
            .unwrap();
    assert_eq!(bridge.last_executed_commit(), 4);
    // Consensus replays from its last persisted point: already executed commits are not redone.
    for commit in &commits[..4] {
        assert_eq!(
            bridge.execute(commit).await.unwrap(),
            CommitOutcome::AlreadyExecuted
        );
    }
    // A gap is refused rather than skipped.
    let err = bridge.execute(&commits[5]).await.unwrap_err();
    assert!(
        matches!(
            err,
            BridgeError::CommitGap {
                expected: 5,
                got: 6
            }
        ),
        "{err}"
    );
    bridge.execute(&commits[4]).await.unwrap();
    bridge.execute(&commits[5]).await.unwrap();
    assert_eq!(engine.chain().store().head_header().unwrap().number, 6);
}

/// A client that fails its first calls as unreachable, or answers INVALID to newPayload.
struct FaultyClient {
    inner: InProcessClient,
    unreachable_calls: AtomicU32,
    invalid_new_payload: bool,
}

impl FaultyClient {
    fn fail(&self) -> Result<(), EngineClientError> {
        if self.unreachable_calls.load(Ordering::SeqCst) > 0 {
            self.unreachable_calls.fetch_sub(1, Ordering::SeqCst);
            return Err(EngineClientError::Unreachable("connection refused".into()));
        }
        Ok(())
    }
}

impl ExecutionClient for FaultyClient {
    async fn head(&self) -> Result<HeadInfo, EngineClientError> {
        self.fail()?;
        self.inner.head().await
    }
    async fn forkchoice_updated(
        &self,
        state: ForkchoiceState,
        request: Option<PayloadRequest>,
    ) -> Result<ForkchoiceUpdated, EngineClientError> {
        self.fail()?;
        self.inner.forkchoice_updated(state, request).await
    }
    async fn get_payload(&self, id: PayloadId) -> Result<BuiltBlock, EngineClientError> {
        self.fail()?;
        self.inner.get_payload(id).await
    }
    async fn new_payload(&self, block: &BuiltBlock) -> Result<PayloadStatus, EngineClientError> {
        self.fail()?;
        if self.invalid_new_payload {
            return Ok(PayloadStatus::new(
                PayloadStatusEnum::Invalid {
                    validation_error: "stateRoot mismatch".into(),
                },
                None,
            ));
        }
        self.inner.new_payload(block).await
    }
}

#[tokio::test]
async fn unreachable_node_is_retried_and_invalid_block_stops_the_bridge() {
    let commits = commits(2);
    let flaky = FaultyClient {
        inner: InProcessClient::new(dev_engine("flaky")),
        unreachable_calls: AtomicU32::new(3),
        invalid_new_payload: false,
    };
    let mut bridge = ConsensusBridge::connect(flaky, rules(), fast_retry())
        .await
        .unwrap();
    assert!(matches!(
        bridge.execute(&commits[0]).await.unwrap(),
        CommitOutcome::Executed { .. }
    ));

    let down = FaultyClient {
        inner: InProcessClient::new(dev_engine("down")),
        unreachable_calls: AtomicU32::new(0),
        invalid_new_payload: false,
    };
    let mut bridge = ConsensusBridge::connect(down, rules(), fast_retry())
        .await
        .unwrap();
    // Now the node goes away for longer than the retry budget.
    bridge_client_outage(&bridge, 100);
    let err = bridge.execute(&commits[0]).await.unwrap_err();
    assert!(matches!(err, BridgeError::Unreachable(_)), "{err}");
    assert_eq!(bridge.last_executed_commit(), 0);

    let invalid = FaultyClient {
        inner: InProcessClient::new(dev_engine("invalid")),
        unreachable_calls: AtomicU32::new(0),
        invalid_new_payload: true,
    };
    let mut bridge = ConsensusBridge::connect(invalid, rules(), fast_retry())
        .await
        .unwrap();
    let err = bridge.execute(&commits[0]).await.unwrap_err();
    assert!(
        matches!(&err, BridgeError::InvalidBlock { commit: 1, reason, .. } if reason.contains("stateRoot")),
        "{err}"
    );
}

fn bridge_client_outage(bridge: &ConsensusBridge<FaultyClient>, calls: u32) {
    bridge
        .client()
        .unreachable_calls
        .store(calls, Ordering::SeqCst);
}

#[tokio::test]
async fn bridge_over_jwt_rpc_matches_the_in_process_node() {
    let commits = commits(6);
    let node = serve(dev_engine("bridge-remote")).await;
    let remote = RpcExecutionClient::new(
        &format!("http://{}", node.addr),
        node.secret.clone(),
        Duration::from_secs(30),
    )
    .unwrap();
    let mut over_rpc = ConsensusBridge::connect(remote, rules(), fast_retry())
        .await
        .unwrap();
    let local = dev_engine("bridge-local");
    let mut in_process =
        ConsensusBridge::connect(InProcessClient::new(local), rules(), fast_retry())
            .await
            .unwrap();
    for commit in &commits {
        let a = over_rpc.execute(commit).await.unwrap();
        let b = in_process.execute(commit).await.unwrap();
        assert_eq!(a, b, "commit {}", commit.commit_index);
    }
    assert_eq!(over_rpc.last_executed_commit(), 6);
    assert_eq!(
        node.engine.chain().store().head_hash().unwrap(),
        in_process.head().hash
    );
}

/// With a heartbeat, commits without transactions make no block unless the heartbeat is due;
/// a restarted bridge passes over the same commits again and resumes at the right one.
#[tokio::test]
async fn empty_commits_are_passed_over_until_the_heartbeat() {
    // Commits are 300 ms apart from t = 1.3 s; only commits 1 and 12 carry transactions (and
    // commit 12's nonces do not follow commit 1's, so its transfers are skipped but it still
    // makes a block).
    let commits = commits_where(12, |k| k == 1 || k == 12);
    let heartbeat = PayloadRules {
        empty_block_interval_ms: Some(2_000),
        ..rules()
    };
    let engine = dev_engine("heartbeat");
    let mut bridge = ConsensusBridge::connect(
        InProcessClient::new(engine.clone()),
        heartbeat.clone(),
        fast_retry(),
    )
    .await
    .unwrap();
    let mut made = Vec::new();
    for commit in &commits[..8] {
        match bridge.execute(commit).await.unwrap() {
            CommitOutcome::Executed { number, .. } => made.push((commit.commit_index, number)),
            CommitOutcome::PassedOver => {}
            CommitOutcome::AlreadyExecuted => panic!("commit {} seen twice", commit.commit_index),
        }
    }
    // Commit 1 (t = 1.3 s → block timestamp 1) makes block 1; the next commit at or after
    // 1 s + 2 s is commit 7 (t = 3.1 s).
    assert_eq!(made, vec![(1, 1), (7, 2)]);
    assert_eq!(bridge.last_executed_commit(), 8);

    // Restart: the head block records commit 7, so commit 8 is delivered again and passed over.
    let mut bridge = ConsensusBridge::connect(
        InProcessClient::new(engine.clone()),
        heartbeat,
        fast_retry(),
    )
    .await
    .unwrap();
    assert_eq!(bridge.last_executed_commit(), 7);
    let mut outcomes = Vec::new();
    for commit in &commits[7..] {
        outcomes.push(bridge.execute(commit).await.unwrap());
    }
    assert_eq!(outcomes[0], CommitOutcome::PassedOver);
    assert!(matches!(
        outcomes.last(),
        Some(CommitOutcome::Executed { number: 3, .. })
    ));
    assert_eq!(engine.chain().store().head_header().unwrap().number, 3);
}

/// An engine over the dev genesis that executed `commits` through a bridge of its own.
async fn engine_after(name: &str, commits: &[CommittedSubDag]) -> Arc<Engine> {
    let engine = dev_engine(name);
    let mut bridge =
        ConsensusBridge::connect(InProcessClient::new(engine.clone()), rules(), fast_retry())
            .await
            .unwrap();
    for commit in commits {
        bridge.execute(commit).await.unwrap();
    }
    engine
}

/// `got` has the same head and the same canonical block at every height as `want`.
fn assert_same_canonical_chain(want: &Engine, got: &Engine) {
    let (want, got) = (want.chain().store(), got.chain().store());
    assert_eq!(got.head_hash().unwrap(), want.head_hash().unwrap());
    for number in 0..=want.head_header().unwrap().number {
        assert_eq!(
            got.canonical_hash(number).unwrap(),
            want.canonical_hash(number).unwrap(),
            "block {number}"
        );
    }
}

/// A client whose execution node can be swapped, as when the node restarts from its disk:
/// by the test, or right after a given number of head moves (the node moved its head and
/// answered, then lost the blocks it had not written yet before the bridge read its head back).
struct RestartingClient {
    node: std::sync::Mutex<InProcessClient>,
    crash: std::sync::Mutex<Option<(u32, InProcessClient)>>,
}

impl RestartingClient {
    fn new(node: InProcessClient) -> Self {
        Self {
            node: std::sync::Mutex::new(node),
            crash: std::sync::Mutex::new(None),
        }
    }

    /// Restarts as `restarted` right after the `head_moves`th head move.
    fn crashing_after(self, head_moves: u32, restarted: InProcessClient) -> Self {
        *self.crash.lock().unwrap() = Some((head_moves, restarted));
        self
    }

    fn restart(&self, restarted: InProcessClient) {
        *self.node.lock().unwrap() = restarted;
    }

    fn node(&self) -> InProcessClient {
        self.node.lock().unwrap().clone()
    }
}

impl ExecutionClient for RestartingClient {
    async fn head(&self) -> Result<HeadInfo, EngineClientError> {
        self.node().head().await
    }
    async fn forkchoice_updated(
        &self,
        state: ForkchoiceState,
        request: Option<PayloadRequest>,
    ) -> Result<ForkchoiceUpdated, EngineClientError> {
        let head_move = request.is_none();
        let answer = self.node().forkchoice_updated(state, request).await;
        let mut crash = self.crash.lock().unwrap();
        if let Some((left, _)) = crash.as_mut().filter(|_| head_move && answer.is_ok()) {
            *left -= 1;
            if *left == 0 {
                let (_, restarted) = crash.take().expect("checked");
                self.restart(restarted);
            }
        }
        answer
    }
    async fn get_payload(&self, id: PayloadId) -> Result<BuiltBlock, EngineClientError> {
        self.node().get_payload(id).await
    }
    async fn new_payload(&self, block: &BuiltBlock) -> Result<PayloadStatus, EngineClientError> {
        self.node().new_payload(block).await
    }
}

#[tokio::test]
async fn blocks_an_execution_node_lost_in_a_crash_are_executed_again() {
    // Commit 4 carries nothing and makes no block.
    let commits = commits_where(8, |k| k != 4);
    let reference = engine_after("reference", &commits).await;

    let before_crash = dev_engine("before");
    let client = RestartingClient::new(InProcessClient::new(before_crash));
    let mut bridge = ConsensusBridge::connect(client, rules(), fast_retry())
        .await
        .unwrap();
    for commit in &commits[..6] {
        bridge.execute(commit).await.unwrap();
    }
    // The node restarts with only the blocks of commits 1 and 2 on its disk.
    let restarted = engine_after("restarted", &commits[..2]).await;
    bridge
        .client()
        .restart(InProcessClient::new(restarted.clone()));

    // Commit 7 finds its parent gone: commits 3–6 are executed again first.
    let outcome = bridge.execute(&commits[6]).await.unwrap();
    assert!(
        matches!(outcome, CommitOutcome::Executed { .. }),
        "{outcome:?}"
    );
    bridge.execute(&commits[7]).await.unwrap();
    assert_eq!(bridge.last_executed_commit(), 8);
    let head = reference.chain().store().head_header().unwrap().number;
    assert!(head >= 5, "the commits made blocks");
    assert_same_canonical_chain(&reference, &restarted);
}

/// The node crashes right after moving its head to commit 5's block and comes back with the
/// blocks of the first `kept` commits: the bridge makes the lost blocks again and every block
/// matches a node that never crashed.
async fn crash_after_the_head_move_of_commit_5(kept: usize) {
    let commits = commits(6);
    let reference = engine_after("crash-reference", &commits).await;
    let restarted = engine_after("crash-restarted", &commits[..kept]).await;

    let client = RestartingClient::new(InProcessClient::new(dev_engine("crashing")))
        .crashing_after(5, InProcessClient::new(restarted.clone()));
    let mut bridge = ConsensusBridge::connect(client, rules(), fast_retry())
        .await
        .unwrap();
    for commit in &commits {
        let outcome = bridge.execute(commit).await.unwrap();
        assert!(
            matches!(outcome, CommitOutcome::Executed { .. }),
            "commit {}: {outcome:?}",
            commit.commit_index
        );
    }
    assert!(
        bridge.client().crash.lock().unwrap().is_none(),
        "the node crashed"
    );
    assert_eq!(bridge.last_executed_commit(), 6);
    assert_eq!(restarted.chain().store().head_header().unwrap().number, 6);
    assert_same_canonical_chain(&reference, &restarted);
}

#[tokio::test]
async fn a_crash_right_after_a_head_move_loses_that_block_only() {
    crash_after_the_head_move_of_commit_5(4).await;
}

#[tokio::test]
async fn a_crash_right_after_a_head_move_loses_several_blocks() {
    crash_after_the_head_move_of_commit_5(2).await;
}

/// A node that comes back on a chain the bridge did not make (blocks with the same commit
/// markers but other contents) is divergent, not a node that lost blocks: the bridge stops
/// instead of building on it.
#[tokio::test]
async fn a_node_back_on_another_chain_is_divergent() {
    let commits = commits(4);
    let client = RestartingClient::new(InProcessClient::new(dev_engine("before-other")));
    let mut bridge = ConsensusBridge::connect(client, rules(), fast_retry())
        .await
        .unwrap();
    for commit in &commits[..3] {
        bridge.execute(commit).await.unwrap();
    }
    // Commits 1 and 2 executed with other fee recipients: other blocks, same markers.
    let other = dev_engine("other-chain");
    let other_rules = PayloadRules {
        fee_recipients: (0..4).map(|i| Address::repeat_byte(0xa0 + i)).collect(),
        ..rules()
    };
    let mut elsewhere = ConsensusBridge::connect(
        InProcessClient::new(other.clone()),
        other_rules,
        fast_retry(),
    )
    .await
    .unwrap();
    for commit in &commits[..2] {
        elsewhere.execute(commit).await.unwrap();
    }
    bridge.client().restart(InProcessClient::new(other.clone()));

    let err = bridge.execute(&commits[3]).await.unwrap_err();
    assert!(
        matches!(&err, BridgeError::Divergence { commit: 4, detail } if detail.contains("not a block this bridge made")),
        "{err}"
    );
    assert_eq!(other.chain().store().head_header().unwrap().number, 2);
}
