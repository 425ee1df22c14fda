//! A real client against `fastevm dev`: tests/python/web3_client.py (web3.py + eth-account)
//! sends transfers, deploys and calls a contract, reads its events through eth_getLogs and a
//! WebSocket subscription, then uses the node's unlocked dev accounts (`send_transaction`,
//! `sign`, `sign_transaction`). Needs `pip install web3 eth-account` (`.ci/run` installs them);
//! a missing package fails the test, it is never skipped.

use fastevm::test_utils::spawn_dev;
use fastevm_dev_chain::dev_signers;
use std::{path::Path, process::Command};

#[test]
fn web3_py_client_works_against_the_dev_chain() {
    let _turn = crate::module_turn::take(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let dev = spawn_dev(Path::new(env!("CARGO_BIN_EXE_fastevm")), dir.path(), 1);
    let addr = &dev.rpc[0];
    let key = format!(
        "0x{}",
        alloy_primitives::hex::encode(dev_signers()[0].credential().to_bytes())
    );
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/web3_client.py");
    let output = Command::new("python3")
        .arg(script)
        .arg(format!("http://{addr}"))
        .arg(format!("ws://{addr}"))
        .arg(key)
        .output()
        .expect("python3 runs (install Python 3 and `pip install web3 eth-account`)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "web3 client failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("web3 client: all checks passed"),
        "unexpected output:\n{stdout}"
    );
}
