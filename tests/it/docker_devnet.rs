//! The Docker devnet of `docker/` (four execution nodes, four Mysticeti validators) under faults.
//!
//! The image is built from this build's `fastevm` binary with `docker/build-image.sh` (no
//! registry needed), the devnet is started with `docker/docker-compose.yml` under a unique project
//! name, subnet, image tag and set of loopback host ports, and then:
//!
//! 1. transactions sent to node 1 are executed on all four nodes, in blocks with the same hash;
//! 2. with validator 1 stopped (`docker stop`) the other three keep committing; started again,
//!    its execution node catches up to the same chain;
//! 3. execution node 2 is SIGKILLed (`docker kill -s KILL`) while transactions flow and started
//!    again: no block is lost or different (same hash at every height on every node). The nodes
//!    persist in the background (the default), so the killed node may lose blocks it had staged
//!    but not yet written; it restarts from the last whole group on disk and its validator's bridge
//!    executes the lost commits again;
//! 4. validator 3 and its execution node are cut from the network (`docker network
//!    disconnect`): the other three go on; reconnected, node 3 converges to the same chain;
//! 5. validator 2's store is wiped while it is stopped: restarted empty, it asks its peers for
//!    its last block before proposing (amnesia recovery), takes the commits it lost from its
//!    peers (commit sync), and its execution node converges to the same chain.
//!
//! Every sender's nonce is finally the number of transactions it sent, on every node: each
//! transaction was executed exactly once. The devnet is torn down (`compose down -v`) by a drop
//! guard, also when an assertion fails. Without a reachable Docker daemon the test fails.

use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, B256, U256};
use fastevm::test_utils::{free_port, sign_eip1559, JsonRpc, TxFees};
use fastevm_dev_chain::{dev_signers, DEV_CHAIN_ID};
use serde_json::{json, Value};
use std::{
    collections::BTreeSet,
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

const NODES: usize = 4;
/// Longest wait for anything the devnet should eventually do (a failure, not a timing check).
const PATIENCE: Duration = Duration::from_secs(240);

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs a command; its trimmed stdout, or an error naming the command and its stderr.
fn run(program: &str, args: &[&str], env: &[(String, String)]) -> Result<String, String> {
    let output = Command::new(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    } else {
        Err(format!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// A container's log, stdout and stderr together.
fn container_logs(container: &str) -> String {
    let output = Command::new("docker")
        .args(["logs", container])
        .output()
        .unwrap_or_else(|e| panic!("docker logs: {e}"));
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn docker(args: &[&str]) -> String {
    run("docker", args, &[]).unwrap_or_else(|e| panic!("{e}"))
}

/// `docker compose` (v2 plugin) if present, else `docker-compose` (v1).
fn compose_program() -> Vec<String> {
    if run("docker", &["compose", "version"], &[]).is_ok() {
        vec!["docker".into(), "compose".into()]
    } else if run("docker-compose", &["version"], &[]).is_ok() {
        vec!["docker-compose".into()]
    } else {
        panic!("this test needs Docker Compose: neither `docker compose` nor `docker-compose` runs")
    }
}

/// Parses "a.b.c.d/len" into (address, prefix length); None for IPv6 or garbage.
fn parse_cidr(cidr: &str) -> Option<(u32, u32)> {
    let (ip, len) = cidr.split_once('/')?;
    let ip: std::net::Ipv4Addr = ip.parse().ok()?;
    Some((u32::from(ip), len.parse().ok()?))
}

/// A /24 (as its first three octets) that overlaps no existing Docker network.
fn free_subnet() -> String {
    let ids = docker(&["network", "ls", "-q"]);
    let mut args = vec![
        "network",
        "inspect",
        "--format",
        "{{range .IPAM.Config}}{{.Subnet}} {{end}}",
    ];
    args.extend(ids.split_whitespace());
    let used: Vec<(u32, u32)> = docker(&args)
        .split_whitespace()
        .filter_map(parse_cidr)
        .collect();
    let start = std::process::id() % 200;
    (0..200)
        .map(|k| format!("172.31.{}", 20 + (start + k) % 200))
        .find(|prefix| {
            let (ours, _) = parse_cidr(&format!("{prefix}.0/24")).expect("valid subnet");
            used.iter().all(|&(theirs, len)| {
                let shift = 32 - len.min(24);
                let mask = if shift == 32 { 0 } else { u32::MAX << shift };
                ours & mask != theirs & mask
            })
        })
        .expect("a free 172.31.x.0/24 subnet")
}

/// A running devnet; dropping it removes containers, network, volumes and image.
struct Devnet {
    compose: Vec<String>,
    env: Vec<(String, String)>,
    image: String,
    subnet: String,
    http_ports: Vec<u16>,
    dashboard_port: u16,
    network: String,
}

impl Devnet {
    /// Builds the image and starts the devnet; panics (after cleaning up) if anything fails.
    fn start() -> Devnet {
        if let Err(e) = run("docker", &["info", "--format", "{{.ServerVersion}}"], &[]) {
            panic!(
                "the Docker daemon is unreachable; this test needs Docker and does not skip: {e}"
            );
        }
        let compose = compose_program();
        let project = format!("fastevm-devnet-test-{}", std::process::id());
        let image = format!("fastevm:{project}");
        let clock = Instant::now();
        let script = repo().join("docker/build-image.sh");
        let script = script.to_str().expect("utf-8 path");
        run(
            "bash",
            &[script, env!("CARGO_BIN_EXE_fastevm"), &image],
            &[],
        )
        .unwrap_or_else(|e| panic!("building the image: {e}"));
        eprintln!("image {image} built in {:.1?}", clock.elapsed());

        let subnet = free_subnet();
        let http_ports: Vec<u16> = (0..NODES).map(|_| free_port()).collect();
        let mut env = vec![
            ("FASTEVM_IMAGE".to_string(), image.clone()),
            ("FASTEVM_SUBNET".to_string(), subnet.clone()),
            ("FASTEVM_BIND".to_string(), "127.0.0.1".to_string()),
            ("FASTEVM_LOG_LEVEL".to_string(), "info".to_string()),
            // An empty block a second without transactions: the chain moves on its own.
            ("FASTEVM_HEARTBEAT_MS".to_string(), "1000".to_string()),
        ];
        for (i, port) in http_ports.iter().enumerate() {
            env.push((format!("FASTEVM_HTTP_PORT_{i}"), port.to_string()));
            for kind in ["WS", "ENGINE", "METRICS", "CONSENSUS_METRICS"] {
                env.push((format!("FASTEVM_{kind}_PORT_{i}"), free_port().to_string()));
            }
        }
        let dashboard_port = free_port();
        env.push((
            "FASTEVM_DASHBOARD_PORT".to_string(),
            dashboard_port.to_string(),
        ));
        let compose_file = repo().join("docker/docker-compose.yml");
        let mut program = compose;
        program.extend([
            "-p".to_string(),
            project,
            "-f".to_string(),
            compose_file.display().to_string(),
        ]);
        let mut devnet = Devnet {
            compose: program,
            env,
            image,
            subnet,
            http_ports,
            dashboard_port,
            network: String::new(),
        };
        let clock = Instant::now();
        devnet
            .compose(&["up", "-d"])
            .unwrap_or_else(|e| panic!("starting the devnet: {e}"));
        eprintln!("devnet up in {:.1?}", clock.elapsed());
        let networks = docker(&[
            "inspect",
            "--format",
            "{{range $name, $_ := .NetworkSettings.Networks}}{{$name}} {{end}}",
            &devnet.container("execution-0"),
        ]);
        devnet.network = networks
            .split_whitespace()
            .next()
            .expect("the execution node is on the devnet network")
            .to_string();
        devnet
    }

    fn compose(&self, args: &[&str]) -> Result<String, String> {
        let (program, fixed) = self.compose.split_first().expect("a compose program");
        let mut all: Vec<&str> = fixed.iter().map(String::as_str).collect();
        all.extend_from_slice(args);
        run(program, &all, &self.env)
    }

    /// The container id of a service.
    fn container(&self, service: &str) -> String {
        let id = self
            .compose(&["ps", "-q", service])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!id.is_empty(), "no container for {service}");
        id
    }

    /// The fixed address docker-compose.yml gives a service.
    fn address(&self, service: &str) -> String {
        let (kind, index) = service.rsplit_once('-').expect("service-<i>");
        let base = if kind == "execution" { 10 } else { 20 };
        format!(
            "{}.{}",
            self.subnet,
            base + index.parse::<u32>().expect("index")
        )
    }

    fn rpc(&self, node: usize) -> JsonRpc {
        JsonRpc::new(&format!("127.0.0.1:{}", self.http_ports[node]))
    }

    fn started_at(&self, service: &str) -> String {
        docker(&[
            "inspect",
            "--format",
            "{{.State.StartedAt}}",
            &self.container(service),
        ])
    }

    fn disconnect(&self, service: &str) {
        docker(&[
            "network",
            "disconnect",
            &self.network,
            &self.container(service),
        ]);
    }

    fn reconnect(&self, service: &str) {
        let ip = self.address(service);
        let id = self.container(service);
        docker(&[
            "network",
            "connect",
            "--ip",
            &ip,
            "--alias",
            service,
            &self.network,
            &id,
        ]);
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Ok(logs) = self.compose(&["logs", "--no-color", "--tail=40"]) {
                eprintln!("--- devnet logs ---\n{logs}");
            }
        }
        if let Err(e) = self.compose(&["down", "-v", "--remove-orphans", "--timeout", "5"]) {
            eprintln!("tearing the devnet down: {e}");
        }
        if let Err(e) = run("docker", &["image", "rm", "-f", &self.image], &[]) {
            eprintln!("removing the image: {e}");
        }
    }
}

/// Dev accounts and their next nonces.
struct Wallet {
    nonces: Vec<u64>,
}

impl Wallet {
    fn new() -> Self {
        Self {
            nonces: vec![0; dev_signers().len()],
        }
    }

    /// Signs and sends the next transfer of `sender` through `rpc`; its hash.
    async fn send(&mut self, rpc: &JsonRpc, sender: usize) -> B256 {
        let nonce = self.nonces[sender];
        let tx = sign_eip1559(
            &dev_signers()[sender],
            DEV_CHAIN_ID,
            nonce,
            Address::with_last_byte(0x40 + sender as u8),
            U256::from(1_000 + nonce),
            Bytes::new(),
            TxFees {
                max_fee_per_gas: 100_000_000_000,
                ..TxFees::default()
            },
        );
        let hash: B256 = rpc
            .call(
                "eth_sendRawTransaction",
                vec![json!(Bytes::from(tx.encoded_2718()))],
            )
            .await
            .unwrap_or_else(|e| panic!("sending sender {sender} nonce {nonce}: {e}"));
        self.nonces[sender] += 1;
        hash
    }

    /// `per_sender` transfers from each of `senders` through `rpc`.
    async fn send_batch(&mut self, rpc: &JsonRpc, senders: &[usize], per_sender: u64) -> Vec<B256> {
        let mut hashes = Vec::new();
        for _ in 0..per_sender {
            for &sender in senders {
                hashes.push(self.send(rpc, sender).await);
            }
        }
        hashes
    }
}

fn hex_u64(value: &Value) -> u64 {
    let s = value
        .as_str()
        .unwrap_or_else(|| panic!("not a hex quantity: {value}"));
    u64::from_str_radix(s.trim_start_matches("0x"), 16)
        .unwrap_or_else(|e| panic!("bad quantity {s}: {e}"))
}

/// The dashboard service's `GET /api/status`, if it answers.
async fn dashboard_status(port: u16) -> Option<Value> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    stream
        .write_all(b"GET /api/status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    serde_json::from_str(response.split_once("\r\n\r\n")?.1).ok()
}

/// Polls `probe` until it yields a value; panics with `what` after [`PATIENCE`].
async fn eventually<T, F, Fut>(what: impl Fn() -> String, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "gave up waiting: {}", what());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until every transaction has a successful receipt on every node in `nodes`, asserts that
/// each is in the same block (hash) on all of them, and returns the highest block number.
async fn expect_included(devnet: &Devnet, nodes: &[usize], hashes: &[B256]) -> u64 {
    let mut highest = 0;
    for hash in hashes {
        let mut blocks = BTreeSet::new();
        for &node in nodes {
            let rpc = &devnet.rpc(node);
            let receipt: Value = eventually(
                || format!("receipt of {hash} on node {node}"),
                || async move {
                    rpc.call::<Value>("eth_getTransactionReceipt", vec![json!(hash)])
                        .await
                        .ok()
                        .filter(|r| !r.is_null())
                },
            )
            .await;
            assert_eq!(
                receipt["status"],
                json!("0x1"),
                "{hash} failed on node {node}"
            );
            blocks.insert(receipt["blockHash"].to_string());
            highest = highest.max(hex_u64(&receipt["blockNumber"]));
        }
        assert_eq!(blocks.len(), 1, "{hash} is in different blocks: {blocks:?}");
    }
    highest
}

async fn head_number(rpc: &JsonRpc) -> Option<u64> {
    let number: Value = rpc.call("eth_blockNumber", vec![]).await.ok()?;
    Some(hex_u64(&number))
}

async fn block_hash(rpc: &JsonRpc, number: u64) -> Option<String> {
    let block: Value = rpc
        .call(
            "eth_getBlockByNumber",
            vec![json!(format!("{number:#x}")), json!(false)],
        )
        .await
        .ok()?;
    block.get("hash").map(Value::to_string)
}

/// Waits until every node in `nodes` reaches `at_least`, then asserts they hold the same block
/// hash at every height up to the lowest of their heads. Returns that height.
async fn expect_same_chain(devnet: &Devnet, nodes: &[usize], at_least: u64) -> u64 {
    let mut common = u64::MAX;
    for &node in nodes {
        let rpc = &devnet.rpc(node);
        let head = eventually(
            || format!("node {node} reaching block {at_least}"),
            || async move { head_number(rpc).await.filter(|&n| n >= at_least) },
        )
        .await;
        common = common.min(head);
    }
    let rpcs: Vec<JsonRpc> = nodes.iter().map(|&n| devnet.rpc(n)).collect();
    for number in 0..=common {
        let mut hashes = BTreeSet::new();
        for (rpc, node) in rpcs.iter().zip(nodes) {
            let hash = block_hash(rpc, number)
                .await
                .unwrap_or_else(|| panic!("node {node} has no block {number}"));
            hashes.insert(hash);
        }
        assert_eq!(
            hashes.len(),
            1,
            "block {number} differs between nodes {nodes:?}: {hashes:?}"
        );
    }
    common
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_devnet_survives_stops_kills_partitions_and_a_wiped_validator() {
    let _turn = crate::module_turn::take(module_path!());
    let all = [0, 1, 2, 3];
    let clock = Instant::now();
    let devnet = Devnet::start();
    let mut wallet = Wallet::new();

    // 1. Transactions through node 1 run on all four nodes, in identical blocks.
    let phase = Instant::now();
    let hashes = wallet.send_batch(&devnet.rpc(1), &[0, 1, 2, 3], 5).await;
    let top = expect_included(&devnet, &all, &hashes).await;
    let height = expect_same_chain(&devnet, &all, top).await;
    eprintln!(
        "1. 20 txs on all nodes, chains equal to #{height}, in {:.1?}",
        phase.elapsed()
    );
    // The dashboard service sees the four nodes up and agreeing, with their validators' peers.
    let status = eventually(
        || "the dashboard shows four nodes up, agreeing, each with 3 peers".into(),
        || async {
            let status = dashboard_status(devnet.dashboard_port).await?;
            let nodes = status["nodes"].as_array()?;
            let ready = nodes.len() == 4
                && nodes.iter().all(|n| n["up"] == true && n["peers"] == 3)
                && status["agreement"]["agree"] == true;
            ready.then_some(status)
        },
    )
    .await;
    eprintln!("   dashboard: {}", status["agreement"]);

    // 2. A stopped validator: the other three commit; restarted, its node catches up.
    let phase = Instant::now();
    docker(&["stop", "--time", "20", &devnet.container("consensus-1")]);
    let hashes = wallet.send_batch(&devnet.rpc(0), &[0, 1, 2, 3], 5).await;
    let top = expect_included(&devnet, &[0, 2, 3], &hashes).await;
    // Only its validator drives execution-1: it has not executed them yet.
    let last = hashes.last().expect("transactions were sent");
    let receipt: Value = devnet
        .rpc(1)
        .call("eth_getTransactionReceipt", vec![json!(last)])
        .await
        .unwrap_or_else(|e| panic!("receipt on node 1: {e}"));
    assert!(
        receipt.is_null(),
        "execution-1 executed {last} without its validator"
    );
    docker(&["start", &devnet.container("consensus-1")]);
    expect_included(&devnet, &[1], &hashes).await;
    let height = expect_same_chain(&devnet, &all, top).await;
    eprintln!(
        "2. consensus-1 stopped and restarted, chains equal to #{height}, in {:.1?}",
        phase.elapsed()
    );

    // 3. An execution node SIGKILLed while transactions flow, then started again.
    let phase = Instant::now();
    let victim = devnet.container("execution-2");
    let started_before = devnet.started_at("execution-2");
    let entries = [devnet.rpc(0), devnet.rpc(3)];
    let mut hashes = Vec::new();
    for round in 0..30u64 {
        if round == 10 {
            docker(&["kill", "--signal", "KILL", &victim]);
            assert_eq!(
                docker(&["wait", &victim]),
                "137",
                "execution-2 died of SIGKILL"
            );
        }
        if round == 20 {
            docker(&["start", &victim]);
        }
        for sender in 4..8 {
            hashes.push(wallet.send(&entries[sender % 2], sender).await);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_ne!(
        devnet.started_at("execution-2"),
        started_before,
        "execution-2 restarted"
    );
    let top = expect_included(&devnet, &all, &hashes).await;
    let height = expect_same_chain(&devnet, &all, top).await;
    eprintln!(
        "3. execution-2 killed under load, chains equal to #{height}, in {:.1?}",
        phase.elapsed()
    );

    // 4. Validator 3 and its execution node cut off: the rest go on; reconnected, node 3 converges.
    let phase = Instant::now();
    devnet.disconnect("consensus-3");
    devnet.disconnect("execution-3");
    let hashes = wallet.send_batch(&devnet.rpc(0), &[0, 1, 2, 3], 5).await;
    let top = expect_included(&devnet, &[0, 1, 2], &hashes).await;
    // The three keep committing (heartbeat blocks) for a while before node 3 comes back.
    let top = expect_same_chain(&devnet, &[0, 1, 2], top + 20).await;
    devnet.reconnect("execution-3");
    devnet.reconnect("consensus-3");
    expect_included(&devnet, &[3], &hashes).await;
    let height = expect_same_chain(&devnet, &all, top).await;
    eprintln!(
        "4. node pair 3 partitioned and reconnected, chains equal to #{height}, in {:.1?}",
        phase.elapsed()
    );

    // 5. A validator's disk wiped: with an empty store it asks its peers for its last block
    // before proposing (amnesia recovery), takes its lost commits from them (commit sync), and
    // drives its execution node on from where that node stood; the chain converges.
    let phase = Instant::now();
    let victim = devnet.container("consensus-2");
    docker(&["stop", "--time", "20", &victim]);
    docker(&[
        "run",
        "--rm",
        "--volumes-from",
        &victim,
        "--entrypoint",
        "/bin/sh",
        &devnet.image,
        "-c",
        "rm -rf /data/consensus && test ! -e /data/consensus",
    ]);
    let hashes = wallet.send_batch(&devnet.rpc(0), &[0, 1, 2, 3], 5).await;
    let top = expect_included(&devnet, &[0, 1, 3], &hashes).await;
    docker(&["start", &victim]);
    expect_included(&devnet, &[2], &hashes).await;
    let height = expect_same_chain(&devnet, &all, top).await;
    // It learnt its last round from its peers (its own store had nothing) before proposing.
    let logs = container_logs(&victim);
    let reported = logs
        .lines()
        .filter(|l| l.contains("peers reported this validator's last block"))
        .filter_map(|l| l.split("last_own_round=").nth(1)?.split_whitespace().next())
        .filter_map(|n| n.parse::<u64>().ok())
        .next_back()
        .unwrap_or_else(|| panic!("no amnesia recovery in consensus-2's log:\n{logs}"));
    assert!(reported > 0, "peers held none of consensus-2's blocks");
    // It took the commits it had lost from its peers as certified ranges, not block by block.
    assert!(
        logs.contains("caught up through commit sync"),
        "consensus-2 did not catch up through commit sync:\n{logs}"
    );
    eprintln!(
        "5. consensus-2's store wiped and restarted, chains equal to #{height}, in {:.1?}",
        phase.elapsed()
    );

    // Every transaction executed exactly once, on every node.
    for node in all {
        for (sender, signer) in dev_signers().iter().enumerate() {
            let nonce: U256 = devnet
                .rpc(node)
                .call(
                    "eth_getTransactionCount",
                    vec![json!(signer.address()), json!("latest")],
                )
                .await
                .unwrap_or_else(|e| panic!("nonce on node {node}: {e}"));
            assert_eq!(
                nonce,
                U256::from(wallet.nonces[sender]),
                "node {node} sender {sender}"
            );
        }
    }
    eprintln!("devnet test done in {:.1?}", clock.elapsed());
}
