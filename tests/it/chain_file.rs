//! `fastevm import` and `fastevm export` on execution-apis' rpc-compat chain (54 blocks of
//! transfers, contract deployments, calls, logs and withdrawals): an import interrupted part-way
//! resumes where it stopped, an export reproduces the file byte for byte, and an invalid block
//! stops the import with the blocks before it kept.

use alloy_consensus::{Block, TxEnvelope};
use alloy_primitives::B256;
use alloy_rlp::{Decodable, Encodable};
use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

fn fixtures() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/rpc-compat"
    ))
}

fn fastevm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fastevm"))
        .args(args)
        .output()
        .expect("fastevm runs")
}

fn succeeds(args: &[&str]) -> String {
    let output = fastevm(args);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "fastevm {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The fixture chain's blocks, each with its own encoding.
fn fixture_blocks() -> Vec<(Block<TxEnvelope>, Vec<u8>)> {
    let bytes = std::fs::read(fixtures().join("chain.rlp")).unwrap();
    let mut rest = bytes.as_slice();
    let mut blocks = Vec::new();
    while !rest.is_empty() {
        let before = rest;
        let block = Block::<TxEnvelope>::decode(&mut rest).unwrap();
        let used = before.len() - rest.len();
        blocks.push((block, before[..used].to_vec()));
    }
    blocks
}

fn write_blocks(path: &Path, blocks: &[(Block<TxEnvelope>, Vec<u8>)]) {
    let bytes: Vec<u8> = blocks.iter().flat_map(|(_, raw)| raw.clone()).collect();
    std::fs::write(path, bytes).unwrap();
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn an_interrupted_import_resumes_and_export_reproduces_the_file() {
    let _turn = crate::module_turn::take(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let datadir = dir.path().join("node");
    let genesis = fixtures().join("genesis.json");
    let chain = fixtures().join("chain.rlp");
    let blocks = fixture_blocks();
    assert_eq!(blocks.len(), 54);
    let head = blocks.last().unwrap().0.header.hash_slow();

    let part = dir.path().join("part.rlp");
    write_blocks(&part, &blocks[..20]);
    let out = succeeds(&[
        "import",
        "--chain",
        path(&genesis),
        "--datadir",
        path(&datadir),
        path(&part),
    ]);
    assert!(
        out.contains("imported 20 blocks (0 already known)"),
        "{out}"
    );

    // The database now has a chain: no --chain needed, and the first 20 blocks are skipped.
    let out = succeeds(&["import", "--datadir", path(&datadir), path(&chain)]);
    assert!(
        out.contains("imported 34 blocks (20 already known)"),
        "{out}"
    );
    assert!(out.contains(&format!("head #54 {head}")), "{out}");

    let exported = dir.path().join("exported.rlp");
    succeeds(&["export", "--datadir", path(&datadir), path(&exported), "1"]);
    assert_eq!(
        std::fs::read(&exported).unwrap(),
        std::fs::read(&chain).unwrap(),
        "export of blocks 1..=54 is the imported file"
    );

    // By default the export starts at the genesis block, which a fresh import knows already.
    let with_genesis = dir.path().join("with-genesis.rlp");
    succeeds(&["export", "--datadir", path(&datadir), path(&with_genesis)]);
    let mut bytes = std::fs::read(&with_genesis).unwrap();
    let genesis_block = Block::<TxEnvelope>::decode(&mut bytes.as_slice()).unwrap();
    assert_eq!(genesis_block.header.number, 0);
    assert_eq!(
        genesis_block.header.hash_slow(),
        blocks[0].0.header.parent_hash
    );
    let genesis_len = genesis_block.length();
    assert_eq!(bytes.split_off(genesis_len), std::fs::read(&chain).unwrap());
    let out = succeeds(&[
        "import",
        "--chain",
        path(&genesis),
        "--datadir",
        path(&dir.path().join("fresh")),
        path(&with_genesis),
    ]);
    assert!(
        out.contains("imported 54 blocks (1 already known)"),
        "{out}"
    );
    assert!(out.contains(&format!("head #54 {head}")), "{out}");
}

#[test]
fn an_invalid_block_stops_the_import_and_keeps_the_blocks_before_it() {
    let _turn = crate::module_turn::take(module_path!());
    let dir = tempfile::tempdir().unwrap();
    let datadir = dir.path().join("node");
    let genesis = fixtures().join("genesis.json");
    let mut blocks = fixture_blocks();
    // Block 30 claims a state root its transactions do not produce.
    let (block, raw) = &mut blocks[29];
    assert_eq!(block.header.number, 30);
    block.header.state_root = B256::repeat_byte(0x5a);
    let bad_hash = block.header.hash_slow();
    raw.clear();
    block.encode(raw);
    let file = dir.path().join("bad.rlp");
    write_blocks(&file, &blocks);

    let output = fastevm(&[
        "import",
        "--chain",
        path(&genesis),
        "--datadir",
        path(&datadir),
        path(&file),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the import must fail");
    assert!(
        stderr.contains(&format!("block 30 ({bad_hash}) is invalid")),
        "{stderr}"
    );

    // Blocks 1..=29 are canonical; nothing of block 30 or later is.
    let exported = dir.path().join("exported.rlp");
    let out = succeeds(&["export", "--datadir", path(&datadir), path(&exported), "1"]);
    assert!(out.contains("exported blocks 1..=29 (29 blocks)"), "{out}");
    let expected: Vec<u8> = blocks[..29]
        .iter()
        .flat_map(|(_, raw)| raw.clone())
        .collect();
    assert_eq!(std::fs::read(&exported).unwrap(), expected);
    let output = fastevm(&[
        "export",
        "--datadir",
        path(&datadir),
        path(&exported),
        "1",
        "30",
    ]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("block 30 is past the head (#29)"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
