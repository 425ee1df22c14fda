//! Logs written to a pipe carry no colour escapes unless asked for, and `--log-format json`
//! writes one JSON object per line.

use std::{
    io::{BufRead, BufReader, Read},
    path::Path,
    process::{Command, Stdio},
};

/// Starts `fastevm node` with `flags`, waits until its Engine API listens, stops it and returns
/// what it wrote to stderr.
fn node_stderr(flags: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fastevm"))
        .args([
            "node",
            "--authrpc.port",
            "0",
            "--http.port",
            "0",
            "--datadir",
        ])
        .arg(dir.path())
        .arg("--chain")
        .arg(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/genesis/dev.json"
        )))
        .args(flags)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in stdout.by_ref() {
        if line.unwrap().starts_with("Engine API listening on") {
            break;
        }
    }
    // Keep reading stdout: a node writing to a closed pipe would fail.
    std::thread::spawn(move || stdout.for_each(drop));
    // The "execution node running" line follows the listeners.
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    stderr
}

#[test]
fn logs_to_a_pipe_are_plain_unless_colour_is_asked_for() {
    let _turn = crate::module_turn::take(module_path!());
    let plain = node_stderr(&[]);
    assert!(plain.contains("execution node running"), "{plain}");
    assert!(
        !plain.contains('\u{1b}'),
        "escape codes in piped logs: {plain:?}"
    );
    let coloured = node_stderr(&["--color", "always"]);
    assert!(coloured.contains("\u{1b}["), "{coloured:?}");
}

#[test]
fn json_logs_are_one_object_per_line() {
    let _turn = crate::module_turn::take(module_path!());
    let json = node_stderr(&["--log-format", "json"]);
    let lines: Vec<&str> = json.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for line in &lines {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            value["level"].is_string() && value["fields"].is_object(),
            "{line}"
        );
    }
    assert!(
        lines.iter().any(|l| l.contains("execution node running")),
        "{json}"
    );
}
