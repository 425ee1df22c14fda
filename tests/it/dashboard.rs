//! `fastevm dashboard` in a real headless browser (Debian's `chromium`; `FASTEVM_CHROMIUM`
//! names another binary) against `fastevm dev --nodes 4 --metrics`: the page loads, shows four
//! nodes that are up and agree, with consensus figures from their metrics, and the numbers move
//! as transfers are executed. A missing browser fails the test, it is never skipped.

use alloy_primitives::{Address, U256};
use fastevm::test_utils::{send_dev_transfer, spawn_dev_with, JsonRpc};
use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

/// Kills the dashboard when the test ends, however it ends.
struct Dashboard(Child);

impl Drop for Dashboard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One node's row as the browser rendered it.
#[derive(Debug)]
struct Row {
    up: bool,
    head: u64,
    peers: String,
    round: String,
}

/// The page's DOM after its script ran (chromium's virtual time lets the polls happen).
fn rendered_page(url: &str) -> String {
    let browser = std::env::var("FASTEVM_CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let output = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=3000",
            "--dump-dom",
            url,
        ])
        .output()
        .unwrap_or_else(|e| {
            panic!("{browser} runs (install Debian's chromium: apt-get install chromium): {e}")
        });
    assert!(output.status.success(), "{browser} failed: {output:?}");
    String::from_utf8(output.stdout).expect("utf-8 DOM")
}

/// Text of the first `<td class="CLASS">` in `row`.
fn cell(row: &str, class: &str) -> String {
    let marker = format!("<td class=\"{class}\">");
    let start = row
        .find(&marker)
        .unwrap_or_else(|| panic!("{class} cell in {row}"))
        + marker.len();
    row[start..].split("</td>").next().unwrap().to_string()
}

fn rows(dom: &str) -> Vec<Row> {
    dom.split("<tr data-node=")
        .skip(1)
        .map(|row| {
            let head = row
                .split("data-head=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .and_then(|h| h.parse().ok())
                .unwrap_or_else(|| panic!("head in {row}"));
            Row {
                up: row.contains("class=\"up\""),
                head,
                peers: cell(row, "peers"),
                round: cell(row, "round"),
            }
        })
        .collect()
}

async fn send_transfers(rpc: &JsonRpc, first_nonce: u64, count: u64) {
    for nonce in first_nonce..first_nonce + count {
        send_dev_transfer(rpc, 0, nonce, Address::repeat_byte(0xd0), U256::from(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_four_live_nodes_and_the_numbers_move() {
    let _turn = crate::module_turn::take(module_path!());
    let bin = Path::new(env!("CARGO_BIN_EXE_fastevm"));
    let dir = tempfile::tempdir().unwrap();
    let dev = spawn_dev_with(bin, dir.path(), 4, &["--metrics", "127.0.0.1:0"]);
    assert_eq!(dev.metrics.len(), 4, "one metrics URL per node");
    let nodes: Vec<String> = dev.rpc.iter().map(|a| format!("http://{a}")).collect();
    let mut child = Command::new(bin)
        .args(["dashboard", "--addr", "127.0.0.1:0", "--nodes"])
        .arg(nodes.join(","))
        .arg("--metrics")
        .arg(dev.metrics.join(","))
        .stdout(Stdio::piped())
        .spawn()
        .expect("dashboard starts");
    let stdout = child.stdout.take().unwrap();
    let _dashboard = Dashboard(child);
    let line = BufReader::new(stdout)
        .lines()
        .next()
        .expect("dashboard prints its address")
        .unwrap();
    let url = line
        .strip_prefix("dashboard on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_string();

    let rpc = JsonRpc::new(&dev.rpc[0]);
    send_transfers(&rpc, 0, 5).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let first = rendered_page(&url);
    let before = rows(&first);
    assert_eq!(before.len(), 4, "four nodes shown:\n{first}");
    for row in &before {
        assert!(row.up, "{row:?}");
        assert!(row.head >= 1, "transfers were executed: {row:?}");
        assert_eq!(
            row.peers, "3",
            "every validator hears the other three: {row:?}"
        );
        assert!(row.round.parse::<u64>().is_ok_and(|r| r > 0), "{row:?}");
    }
    assert!(first.contains("agree at #"), "agreement shown:\n{first}");
    assert!(first.contains(">1337<"), "chain id shown:\n{first}");

    send_transfers(&rpc, 5, 5).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let second = rendered_page(&url);
    let after = rows(&second);
    assert_eq!(after.len(), 4);
    for (b, a) in before.iter().zip(&after) {
        assert!(a.head > b.head, "head moved: {b:?} -> {a:?}");
        assert!(
            a.round.parse::<u64>().unwrap() > b.round.parse::<u64>().unwrap(),
            "round moved: {b:?} -> {a:?}"
        );
    }
}
