//! The committed dev genesis is what the generator produces, funds the standard test mnemonic's
//! accounts, and imports through the `fastevm init` command.

use alloy_primitives::{address, U256};
use fastevm_dev_chain::{dev_genesis, dev_genesis_json, dev_signers, DEV_BALANCE_WEI};
use std::process::Command;

#[test]
fn committed_file_matches_generator() {
    let _turn = crate::module_turn::take(module_path!());
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/genesis/dev.json")).unwrap();
    assert_eq!(
        committed,
        dev_genesis_json(),
        "genesis/dev.json is stale: run `fastevm genesis dev > genesis/dev.json`"
    );
}

#[test]
fn funds_the_test_mnemonic_accounts() {
    let _turn = crate::module_turn::take(module_path!());
    let signers = dev_signers();
    // The well-known first and last addresses of "test test ... junk" (m/44'/60'/0'/0/i).
    assert_eq!(
        signers[0].address(),
        address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
    );
    assert_eq!(
        signers[9].address(),
        address!("a0Ee7A142d267C1f36714E4a8F75612F20a79720")
    );
    let genesis = dev_genesis();
    for signer in &signers {
        assert_eq!(
            genesis.alloc[&signer.address()].balance,
            U256::from(DEV_BALANCE_WEI)
        );
    }
    assert_eq!(genesis.config.prague_time, Some(0));
}

#[test]
fn init_command_prints_hash_and_is_idempotent() {
    let _turn = crate::module_turn::take(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_fastevm"))
            .args([
                "init",
                "--chain",
                concat!(env!("CARGO_MANIFEST_DIR"), "/genesis/dev.json"),
                "--datadir",
            ])
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let first = run();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let stdout = String::from_utf8(first.stdout).unwrap();
    let hash_line = stdout
        .lines()
        .find(|l| l.starts_with("genesis hash: 0x"))
        .expect("hash printed");
    let second = run();
    assert!(second.status.success());
    assert!(String::from_utf8(second.stdout)
        .unwrap()
        .contains(hash_line));

    // A malformed genesis is a clear error, not a panic.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{ not json").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fastevm"))
        .args(["init", "--chain"])
        .arg(&bad)
        .arg("--datadir")
        .arg(dir.path().join("other"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid genesis JSON"));
}
