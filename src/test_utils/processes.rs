//! Node processes started by end-to-end tests, and a small JSON-RPC client for them.

/// A `fastevm node` process started by a test.
#[derive(Debug)]
pub struct NodeProcess {
    /// The process (kill it to stop the node).
    pub child: std::process::Child,
    /// Where its Engine API listens.
    pub authrpc: String,
    /// Where its public JSON-RPC listens.
    pub rpc: String,
}

/// Starts `bin node --authrpc.port 0 --datadir DATADIR [--chain CHAIN]` and waits until it prints
/// its Engine API address.
pub fn spawn_node(
    bin: &std::path::Path,
    datadir: &std::path::Path,
    chain: Option<&std::path::Path>,
) -> NodeProcess {
    spawn_node_on(bin, datadir, chain, 0, 0)
}

/// Like [`spawn_node`] on given Engine API and JSON-RPC ports (0: any free port), e.g. to
/// restart a node where its consensus client expects it.
pub fn spawn_node_on(
    bin: &std::path::Path,
    datadir: &std::path::Path,
    chain: Option<&std::path::Path>,
    authrpc_port: u16,
    http_port: u16,
) -> NodeProcess {
    spawn_node_with(bin, datadir, chain, authrpc_port, http_port, &[])
}

/// Like [`spawn_node_on`] with further flags (e.g. `--txpool.nojournal`).
pub fn spawn_node_with(
    bin: &std::path::Path,
    datadir: &std::path::Path,
    chain: Option<&std::path::Path>,
    authrpc_port: u16,
    http_port: u16,
    extra_args: &[&str],
) -> NodeProcess {
    use std::io::BufRead;
    let mut cmd = std::process::Command::new(bin);
    cmd.args(["node", "--log-level", "warn", "--authrpc.port"])
        .arg(authrpc_port.to_string())
        .arg("--http.port")
        .arg(http_port.to_string())
        .arg("--datadir")
        .arg(datadir)
        .args(extra_args);
    if let Some(chain) = chain {
        cmd.arg("--chain").arg(chain);
    }
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("node binary starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut rpc = None;
    let authrpc = loop {
        let line = lines
            .next()
            .expect("node exited before listening")
            .expect("utf-8 output");
        if let Some(rest) = line.strip_prefix("JSON-RPC listening on ") {
            rpc = Some(rest.trim().to_string());
        }
        if let Some(rest) = line.strip_prefix("Engine API listening on ") {
            break rest.split_whitespace().next().expect("address").to_string();
        }
    };
    // Keep draining stdout so the node never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    NodeProcess {
        child,
        authrpc,
        rpc: rpc.expect("the node prints its JSON-RPC address before the Engine API's"),
    }
}

/// The arguments of `fastevm consensus` for the validator `node_config` of `committee`, driving
/// the execution node whose Engine API is at `authrpc` and whose datadir (with its JWT secret)
/// is `datadir`.
pub fn consensus_args(
    authrpc: &str,
    datadir: &std::path::Path,
    committee: &std::path::Path,
    node_config: &std::path::Path,
) -> Vec<String> {
    vec![
        "--execution-url".into(),
        format!("http://{authrpc}"),
        "--jwt-secret".into(),
        datadir.join("jwt.hex").display().to_string(),
        "--committee".into(),
        committee.display().to_string(),
        "--node-config".into(),
        node_config.display().to_string(),
    ]
}

/// Starts `bin consensus ARGS…` and waits until the validator listens.
pub fn spawn_consensus(bin: &std::path::Path, args: &[String]) -> std::process::Child {
    use std::io::BufRead;
    let mut child = std::process::Command::new(bin)
        .arg("consensus")
        .args(["--log-level", "warn"])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("consensus node starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = std::io::BufReader::new(stdout).lines();
    loop {
        let line = lines
            .next()
            .expect("consensus node exited before listening")
            .expect("utf-8 output");
        if line.contains("consensus listening on") {
            break;
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    child
}

/// A free loopback TCP port (bound and released; another process could take it meanwhile, which
/// only makes the test that asked fail, never pass wrongly). Picked below Linux's ephemeral range
/// (32768–60999), where the outgoing connections of running nodes take their ports, so a node's
/// own connections cannot grab it before the node binds it; each call moves on from the last.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    // Processes running tests side by side start in different places.
    let offset = std::process::id().wrapping_mul(7_919) % SPAN;
    for _ in 0..SPAN {
        let step = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = FIRST + (offset + step) % SPAN;
        if std::net::TcpListener::bind(("127.0.0.1", port as u16)).is_ok() {
            return port as u16;
        }
    }
    panic!("no free loopback port in {FIRST}..{}", FIRST + SPAN)
}

/// A `fastevm dev` process started by a test.
#[derive(Debug)]
pub struct DevProcess {
    /// The process (kill it to stop the chain).
    pub child: std::process::Child,
    /// Each node's JSON-RPC address (host:port), in node order.
    pub rpc: Vec<String>,
    /// Each node's metrics URL, when started with `--metrics`.
    pub metrics: Vec<String>,
}

impl Drop for DevProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `bin dev --nodes N --http.port 0 --datadir DATADIR` and waits until it is ready.
pub fn spawn_dev(bin: &std::path::Path, datadir: &std::path::Path, nodes: usize) -> DevProcess {
    spawn_dev_with(bin, datadir, nodes, &[])
}

/// [`spawn_dev`] with `extra` flags (e.g. `--metrics 127.0.0.1:0`).
pub fn spawn_dev_with(
    bin: &std::path::Path,
    datadir: &std::path::Path,
    nodes: usize,
    extra: &[&str],
) -> DevProcess {
    use std::io::BufRead;
    let mut child = std::process::Command::new(bin)
        .args(["dev", "--http.port", "0", "--log-level", "warn", "--nodes"])
        .arg(nodes.to_string())
        .arg("--datadir")
        .arg(datadir)
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("dev chain starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut rpc = Vec::new();
    let mut metrics = Vec::new();
    loop {
        let line = lines
            .next()
            .expect("dev chain exited before it was ready")
            .expect("utf-8 output");
        if line == "ready" {
            break;
        }
        if let Some((_, url)) = line.split_once(": metrics on ") {
            metrics.push(url.trim().to_string());
        }
        if let Some(rest) = line.split_once(": RPC http://") {
            rpc.push(
                rest.1
                    .split_whitespace()
                    .next()
                    .expect("address")
                    .to_string(),
            );
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    assert_eq!(rpc.len(), nodes, "one RPC address per node");
    DevProcess {
        child,
        rpc,
        metrics,
    }
}

/// Signs an EIP-1559 transfer of `value` wei from dev account `sender` (nonce `nonce`, fee cap
/// 100 gwei) to `to`, sends it with `eth_sendRawTransaction` and returns its hash.
pub async fn send_dev_transfer(
    rpc: &crate::json_rpc_client::JsonRpc,
    sender: usize,
    nonce: u64,
    to: alloy_primitives::Address,
    value: alloy_primitives::U256,
) -> alloy_primitives::B256 {
    use alloy_eips::eip2718::Encodable2718;
    let tx = super::sign_eip1559(
        &fastevm_dev_chain::dev_signers()[sender],
        fastevm_dev_chain::DEV_CHAIN_ID,
        nonce,
        to,
        value,
        alloy_primitives::Bytes::new(),
        super::TxFees {
            max_fee_per_gas: 100_000_000_000,
            ..super::TxFees::default()
        },
    );
    let raw = alloy_primitives::Bytes::from(tx.encoded_2718());
    rpc.call("eth_sendRawTransaction", vec![serde_json::json!(raw)])
        .await
        .unwrap_or_else(|e| panic!("sender {sender} nonce {nonce}: {e}"))
}
