//! The tokio validator: [`ValidatorLogic`] + [`RocksStore`] + [`TcpNetwork`] + a timer.
//!
//! One task owns the logic and runs a `select!` loop over inbound messages, the logic's next
//! wake-up time, the commit output channel and the shutdown signal. The logic is synchronous;
//! its only blocking work is the RocksDB write (fsynced when `sync_writes` is set) of each own
//! block and each batch of commits, which happens before they leave; received blocks are
//! grouped into those writes (see `fastevm_consensus::Core`), so a round costs about two writes.
//!
//! Commits go to a bounded channel in index order. While the consumer is slow they wait in an
//! in-memory queue inside the task, so consensus never stalls on the consumer; they are already
//! persisted, so after a crash the consumer gets them again through `resume_after`.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use ed25519_dalek::SigningKey;
use fastevm_consensus::{
    AuthorityIndex, CommitIndex, CommittedSubDag, Committee, ConsumerProgress, Round, Store,
    TransactionSource,
};
use fastevm_network::tcp::{
    InboundReceiver, PeerAddress, PeerAuthenticator, TcpConfig, TcpNetwork,
};
use fastevm_network::{NetworkError, PeerIndex};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::config::{AcceptedTransactionsHook, ValidatorConfig};
use crate::error::{NodeError, NodeResult};
use crate::logic::{Destination, NodeStats, Outputs, ValidatorLogic};
use crate::peer_auth::CommitteeAuth;
use crate::rocks_store::{RocksStore, RocksStoreOptions};

/// A snapshot of a running node, refreshed after every event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeStatus {
    /// Index of the last commit in the store.
    pub last_commit_index: CommitIndex,
    /// Highest commit index handed to the output channel's queue.
    pub delivered_commit_index: CommitIndex,
    /// Threshold-clock round.
    pub clock_round: Round,
    /// Round of the last own block.
    pub last_proposed_round: Round,
    /// Other validators with an accepted block in the last [`PEER_LIVENESS_ROUNDS`] rounds:
    /// the peers this node is hearing from.
    pub live_peers: usize,
    /// Validators leader reputation swapped out of the leader schedule.
    pub leaders_swapped_out: usize,
    /// Highest EVM block height whose hash validators holding a quorum of the stake signed
    /// alike (0: none yet).
    pub executed_agreement_height: u64,
    /// Blocks of rounds below this one were deleted from the store (retention; 0: none).
    pub pruned_round: Round,
    /// Highest commit index validators holding a quorum of the stake voted for (as seen here).
    pub quorum_commit_index: CommitIndex,
    /// Commits taken from peers through commit sync since the start.
    pub commits_synced: u64,
    /// Counters of the logic.
    pub stats: NodeStats,
}

/// How recent a peer's latest block must be (in rounds) for the peer to count as live.
pub const PEER_LIVENESS_ROUNDS: Round = 20;

impl NodeStatus {
    fn of(logic: &ValidatorLogic) -> Self {
        let core = logic.core();
        Self {
            last_commit_index: core.last_commit_index(),
            delivered_commit_index: logic.delivered_commit_index(),
            clock_round: core.clock_round(),
            last_proposed_round: core.last_proposed_round(),
            live_peers: live_peers(core),
            leaders_swapped_out: core.leader_swaps().len(),
            executed_agreement_height: logic.executed_agreement_height(),
            pruned_round: core.pruned_floor().round,
            quorum_commit_index: logic.quorum_commit_index(),
            commits_synced: logic.commit_sync_stats().commits_synced,
            stats: logic.stats(),
        }
    }
}

/// Validators other than this one whose latest accepted block is at most
/// [`PEER_LIVENESS_ROUNDS`] behind the clock round.
fn live_peers(core: &fastevm_consensus::Core) -> usize {
    let horizon = core.clock_round().saturating_sub(PEER_LIVENESS_ROUNDS);
    let own = core.own_index();
    (0..core.dag().committee().size())
        .map(|a| a as AuthorityIndex)
        .filter(|a| *a != own)
        .filter(|a| {
            core.dag()
                .last_block_of(*a)
                .is_some_and(|b| b.round() >= horizon)
        })
        .count()
}

/// Control of a running [`ValidatorNode`]. Dropping it stops the node as well (without
/// waiting); [`NodeHandle::shutdown`] waits until sockets and store are closed.
#[derive(Debug)]
pub struct NodeHandle {
    own_index: AuthorityIndex,
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<NodeResult<()>>,
    status: watch::Receiver<NodeStatus>,
    executed: mpsc::Sender<(u64, [u8; 32])>,
    handled: watch::Sender<Option<ConsumerProgress>>,
}

impl NodeHandle {
    /// This validator's index.
    pub fn own_index(&self) -> AuthorityIndex {
        self.own_index
    }
    /// The TCP address the node listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
    /// Latest status.
    pub fn status(&self) -> NodeStatus {
        *self.status.borrow()
    }
    /// A receiver that is notified on every status change.
    pub fn subscribe_status(&self) -> watch::Receiver<NodeStatus> {
        self.status.clone()
    }
    /// Where the application reports the EVM blocks its execution node produces.
    pub fn executed_reporter(&self) -> ExecutedReporter {
        ExecutedReporter {
            executed: self.executed.clone(),
            handled: self.handled.clone(),
        }
    }
    /// True until the node task has ended (shut down or failed).
    pub fn is_running(&self) -> bool {
        !self.task.is_finished()
    }
    /// Stops the node, closes its sockets and its store, and reports a fatal error that had
    /// stopped it earlier, if any.
    pub async fn shutdown(mut self) -> NodeResult<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match (&mut self.task).await {
            Ok(result) => result,
            Err(e) => Err(NodeError::TaskFailed(e.to_string())),
        }
    }
}

/// Reports to the validator what its application did with the commits (cheap to clone).
#[derive(Clone, Debug)]
pub struct ExecutedReporter {
    executed: mpsc::Sender<(u64, [u8; 32])>,
    handled: watch::Sender<Option<ConsumerProgress>>,
}

impl ExecutedReporter {
    /// This validator's execution node produced EVM block `height` with `block_hash`: the
    /// validator signs it and compares it with the other validators' (see
    /// [`crate::executed_votes`]). Never blocks; a report the node has no room for is dropped.
    pub fn report(&self, height: u64, block_hash: [u8; 32]) {
        let _ = self.executed.try_send((height, block_hash));
    }

    /// The application handled `commit` and every commit before it, and will not ask for them
    /// again: the validator's store may delete them once they leave its retention window. Until
    /// the first report nothing is deleted. Never blocks.
    pub fn commit_handled(&self, commit: &CommittedSubDag) {
        self.handled
            .send_replace(Some(ConsumerProgress::of(commit)));
    }
}

/// Starts validators (see the module docs).
#[derive(Debug)]
pub struct ValidatorNode;

impl ValidatorNode {
    /// Opens the store at `store_path`, binds `config.listen_address`, connects to the
    /// committee's addresses and starts the node. Commits with index > `resume_after` come out
    /// of the returned receiver in order, each once — first those already in the store.
    pub async fn start(
        config: ValidatorConfig,
        committee: Committee,
        key: SigningKey,
        store_path: impl AsRef<Path>,
        tx_source: Box<dyn TransactionSource>,
        resume_after: CommitIndex,
    ) -> NodeResult<(NodeHandle, mpsc::Receiver<CommittedSubDag>)> {
        let addr = config.listen_address;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| NetworkError::Bind { addr, source })?;
        Self::start_with_listener(
            config,
            committee,
            key,
            store_path,
            tx_source,
            resume_after,
            listener,
        )
    }

    /// Like [`start`](Self::start) on an already bound listener (`config.listen_address` is
    /// ignored), e.g. port 0 bound before the committee's addresses were known. Must run
    /// inside a tokio runtime.
    pub fn start_with_listener(
        config: ValidatorConfig,
        committee: Committee,
        key: SigningKey,
        store_path: impl AsRef<Path>,
        tx_source: Box<dyn TransactionSource>,
        resume_after: CommitIndex,
        listener: TcpListener,
    ) -> NodeResult<(NodeHandle, mpsc::Receiver<CommittedSubDag>)> {
        let own = config.own_index();
        if !committee.is_valid_index(own) {
            return Err(NodeError::UnknownAuthority(own));
        }
        let peers = peer_addresses(&committee)?;
        let store = RocksStore::open(
            store_path,
            RocksStoreOptions {
                sync_writes: config.sync_writes,
                own_index: Some(own),
            },
        )?;
        let own_last_round = store.own_last_round()?;
        let store: Arc<dyn Store> = Arc::new(store);
        // Peers prove their identity with the same keys they sign blocks with.
        let auth = CommitteeAuth::new(key.clone(), committee.clone());
        let mut logic = ValidatorLogic::new(
            config.logic.clone(),
            committee,
            key,
            store,
            tx_source,
            resume_after,
        )?;
        if let Some(round) = own_last_round {
            logic.set_last_known_own_round(round);
        }
        let mut tcp = TcpConfig::new(own as PeerIndex, config.listen_address, peers);
        tcp.auth = Some(PeerAuthenticator(Arc::new(auth)));
        tcp.backoff = config.backoff;
        tcp.max_frame_bytes = config.logic.limits.max_message_bytes;
        let (network, inbound) = TcpNetwork::start_with_listener(tcp, listener)?;
        let local_addr = network.local_addr();
        let (commit_tx, commit_rx) = mpsc::channel(config.commit_channel_capacity.max(1));
        let (stop_tx, stop_rx) = oneshot::channel();
        let (executed_tx, executed_rx) = mpsc::channel(1_024);
        let (handled_tx, handled_rx) = watch::channel(None);
        let (status_tx, status_rx) = watch::channel(NodeStatus::of(&logic));
        let accepted = config.accepted_transactions.clone();
        let task = tokio::spawn(run(
            logic,
            network,
            Inputs {
                inbound,
                executed: executed_rx,
                handled: handled_rx,
                stop: stop_rx,
            },
            commit_tx,
            status_tx,
            accepted,
        ));
        tracing::info!(own, %local_addr, resume_after, "validator started");
        Ok((
            NodeHandle {
                own_index: own,
                local_addr,
                stop: Some(stop_tx),
                task,
                status: status_rx,
                executed: executed_tx,
                handled: handled_tx,
            },
            commit_rx,
        ))
    }
}

/// Every authority's address; host names are looked up at each connection attempt.
fn peer_addresses(committee: &Committee) -> NodeResult<Vec<(PeerIndex, PeerAddress)>> {
    committee
        .authorities
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let address = PeerAddress::parse(&a.address).map_err(|e| NodeError::InvalidConfig {
                field: "address",
                reason: format!("{}: {e}", a.address),
            })?;
            Ok((i, address))
        })
        .collect()
}

/// Milliseconds since the Unix epoch (block timestamps are wall-clock times).
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

struct Runner {
    logic: ValidatorLogic,
    network: TcpNetwork,
    pending: VecDeque<CommittedSubDag>,
    accepted: Option<AcceptedTransactionsHook>,
}

impl Runner {
    fn apply(&mut self, outputs: Outputs) {
        for (dest, msg) in outputs.messages {
            let bytes = Bytes::from(msg.encode());
            let sent = match dest {
                Destination::All => self.network.broadcast(bytes),
                Destination::Peer(p) => self.network.send(p as PeerIndex, bytes),
            };
            if let Err(e) = sent {
                tracing::warn!(kind = msg.kind(), error = %e, "send failed");
            }
        }
        self.pending.extend(outputs.commits);
        if let Some(hook) = &self.accepted {
            if !outputs.accepted_transactions.is_empty() {
                (hook.0)(outputs.accepted_transactions);
            }
        }
    }
}

/// What a running validator listens to.
struct Inputs {
    inbound: InboundReceiver,
    executed: mpsc::Receiver<(u64, [u8; 32])>,
    handled: watch::Receiver<Option<ConsumerProgress>>,
    stop: oneshot::Receiver<()>,
}

async fn run(
    logic: ValidatorLogic,
    network: TcpNetwork,
    mut inputs: Inputs,
    commits: mpsc::Sender<CommittedSubDag>,
    status: watch::Sender<NodeStatus>,
    accepted: Option<AcceptedTransactionsHook>,
) -> NodeResult<()> {
    let mut r = Runner {
        logic,
        network,
        pending: VecDeque::new(),
        accepted,
    };
    let result = event_loop(&mut r, &mut inputs, &commits, &status).await;
    if let Err(e) = &result {
        tracing::error!(error = %e, "validator stopped on a fatal error");
    }
    if let Err(e) = r.logic.flush() {
        tracing::warn!(error = %e, "could not write the last received blocks at shutdown");
    }
    status.send_replace(NodeStatus::of(&r.logic));
    let Runner { logic, network, .. } = r;
    network.shutdown().await;
    drop(logic);
    result
}

async fn event_loop(
    r: &mut Runner,
    inputs: &mut Inputs,
    commits: &mpsc::Sender<CommittedSubDag>,
    status: &watch::Sender<NodeStatus>,
) -> NodeResult<()> {
    let outputs = r.logic.on_start(now_ms())?;
    r.apply(outputs);
    let mut consumer_gone = false;
    loop {
        if consumer_gone {
            r.pending.clear();
        }
        status.send_replace(NodeStatus::of(&r.logic));
        let now = now_ms();
        let delay = r.logic.next_wakeup_ms(now).saturating_sub(now);
        let deliver = !r.pending.is_empty() && !consumer_gone;
        tokio::select! {
            biased;
            _ = &mut inputs.stop => return Ok(()),
            permit = commits.reserve(), if deliver => match permit {
                Ok(permit) => {
                    if let Some(c) = r.pending.pop_front() {
                        permit.send(c);
                    }
                }
                Err(_) => {
                    tracing::warn!("commit receiver dropped; commits are no longer delivered");
                    consumer_gone = true;
                }
            },
            Some((height, hash)) = inputs.executed.recv() => {
                let outputs = r.logic.on_executed(height, hash, now_ms())?;
                r.apply(outputs);
            }
            Ok(()) = inputs.handled.changed() => {
                let progress = *inputs.handled.borrow_and_update();
                if let Some(progress) = progress {
                    r.logic.on_commit_handled(progress);
                }
            }
            msg = inputs.inbound.recv() => {
                let Some((from, payload)) = msg else { return Ok(()) };
                let from = AuthorityIndex::try_from(from).unwrap_or(AuthorityIndex::MAX);
                let outputs = r.logic.on_wire_message(from, &payload, now_ms())?;
                r.apply(outputs);
            }
            () = tokio::time::sleep(Duration::from_millis(delay)) => {
                let outputs = r.logic.on_tick(now_ms())?;
                r.apply(outputs);
            }
        }
    }
}
