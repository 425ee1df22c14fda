//! `fastevm import` and `fastevm export`: a chain as a file of concatenated RLP blocks, the
//! format of geth's and reth's `import`/`export` (and of execution-apis' `chain.rlp`).
//!
//! Import hands every block to the engine exactly as a consensus client would
//! (`engine_newPayload`, then `engine_forkchoiceUpdated` onto it): each one is validated and
//! executed and its roots checked. Blocks the database already has on its canonical chain are
//! skipped, so an interrupted import resumes where it stopped. Export writes the canonical blocks
//! of a range to a new file, atomically (a temporary file renamed into place).

use crate::node::{open_chain, Durability};
use alloy_consensus::{Block, TxEnvelope};
use alloy_rlp::Decodable;
use alloy_rpc_types_engine::{ForkchoiceState, PayloadStatusEnum};
use anyhow::{bail, Context};
use clap::Args;
use fastevm_engine::Engine;
use std::{
    fs::File,
    io::{BufReader, BufWriter, Read, Write},
    path::PathBuf,
    time::{Duration, Instant},
};

/// Blocks imported between two head moves (and between two progress lines at most).
const HEAD_EVERY_BLOCKS: u64 = 256;
/// Longest time between two progress lines.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// `fastevm import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Genesis file (geth format); needed the first time, as for `fastevm node`.
    #[arg(long)]
    pub chain: Option<PathBuf>,
    /// Data directory, the one `fastevm node --datadir` then serves.
    #[arg(long, default_value = ".fastevm/node")]
    pub datadir: PathBuf,
    /// Chain files (concatenated RLP blocks), imported in order.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// `fastevm export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Data directory of the node.
    #[arg(long, default_value = ".fastevm/node")]
    pub datadir: PathBuf,
    /// File to write (replaced if it exists).
    pub file: PathBuf,
    /// First block number (default 0, the genesis block, as geth).
    pub first: Option<u64>,
    /// Last block number (default: the head).
    pub last: Option<u64>,
}

/// What an import did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ImportSummary {
    /// Blocks validated, executed and made canonical.
    pub imported: u64,
    /// Blocks already on the canonical chain.
    pub skipped: u64,
    /// Gas of the imported blocks.
    pub gas: u64,
}

/// Runs `fastevm import`.
pub fn run_import(args: ImportArgs) -> anyhow::Result<()> {
    let chain = open_chain(&args.datadir, args.chain.as_ref(), Durability::default())?;
    let engine = Engine::new(chain);
    let started = Instant::now();
    let mut total = ImportSummary::default();
    for path in &args.files {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let summary = import_blocks(&engine, BufReader::new(file))
            .with_context(|| format!("importing {}", path.display()))?;
        total.imported += summary.imported;
        total.skipped += summary.skipped;
        total.gas += summary.gas;
    }
    engine.chain().store().flush()?;
    let head = engine.chain().store().head_header()?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "imported {} blocks ({} already known) in {secs:.1} s, {:.1} Mgas/s; head #{} {}",
        total.imported,
        total.skipped,
        total.gas as f64 / 1e6 / secs.max(1e-9),
        head.number,
        head.hash_slow()
    );
    Ok(())
}

/// Imports every block `reader` holds through `engine`, stopping at the first that is invalid
/// or does not extend the chain (the blocks before it stay imported and canonical).
pub fn import_blocks(engine: &Engine, reader: impl Read) -> anyhow::Result<ImportSummary> {
    let store = engine.chain().store().clone();
    let mut blocks = BlockReader::new(reader);
    let mut summary = ImportSummary::default();
    let mut unannounced: Option<(u64, alloy_primitives::B256)> = None;
    let mut last_progress = Instant::now();
    while let Some(block) = blocks.next_block()? {
        let number = block.header.number;
        let hash = block.header.hash_slow();
        if store.is_canonical(&hash)? {
            summary.skipped += 1;
            continue;
        }
        let parent = block.header.parent_hash;
        let gas = block.header.gas_used;
        let status = engine
            .new_payload(block, hash, None)
            .with_context(|| format!("block {number} ({hash})"))?;
        match status.status {
            PayloadStatusEnum::Valid | PayloadStatusEnum::Accepted => {}
            PayloadStatusEnum::Invalid { validation_error } => {
                set_head(engine, unannounced.take())?;
                bail!("block {number} ({hash}) is invalid: {validation_error}");
            }
            PayloadStatusEnum::Syncing => {
                set_head(engine, unannounced.take())?;
                bail!("block {number} ({hash}) does not extend this chain: its parent {parent} is unknown");
            }
        }
        summary.imported += 1;
        summary.gas += gas;
        unannounced = Some((number, hash));
        if summary.imported % HEAD_EVERY_BLOCKS == 0 || last_progress.elapsed() >= PROGRESS_EVERY {
            set_head(engine, unannounced.take())?;
            eprintln!(
                "imported {} blocks, head #{number}",
                summary.imported + summary.skipped
            );
            last_progress = Instant::now();
        }
    }
    set_head(engine, unannounced)?;
    Ok(summary)
}

/// Makes `head` the canonical head (safe and finalized too: a FastEVM block is final).
fn set_head(engine: &Engine, head: Option<(u64, alloy_primitives::B256)>) -> anyhow::Result<()> {
    let Some((number, hash)) = head else {
        return Ok(());
    };
    let state = ForkchoiceState {
        head_block_hash: hash,
        safe_block_hash: hash,
        finalized_block_hash: hash,
    };
    let updated = engine
        .forkchoice_updated(state, None)
        .with_context(|| format!("moving the head to block {number} ({hash})"))?;
    if !updated.payload_status.status.is_valid() {
        bail!(
            "moving the head to block {number} ({hash}): {:?}",
            updated.payload_status
        );
    }
    Ok(())
}

/// Runs `fastevm export`.
pub fn run_export(args: ExportArgs) -> anyhow::Result<()> {
    let chain = open_chain(&args.datadir, None, Durability::default())?;
    let store = chain.store();
    let head = store.head_header()?.number;
    let first = args.first.unwrap_or(0);
    let last = args.last.unwrap_or(head);
    if last > head {
        bail!("block {last} is past the head (#{head})");
    }
    if first > last {
        bail!("the first block ({first}) is after the last ({last})");
    }
    let tmp = args.file.with_extension("tmp");
    let mut out =
        BufWriter::new(File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?);
    let mut buf = Vec::new();
    for number in first..=last {
        let hash = store
            .canonical_hash(number)?
            .with_context(|| format!("no canonical block {number}"))?;
        let header = store
            .header(&hash)?
            .with_context(|| format!("header of block {number} ({hash}) missing"))?;
        let body = store
            .body(&hash)?
            .with_context(|| format!("body of block {number} ({hash}) missing"))?;
        buf.clear();
        alloy_rlp::Encodable::encode(&Block::<TxEnvelope> { header, body }, &mut buf);
        out.write_all(&buf)?;
    }
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    std::fs::rename(&tmp, &args.file)
        .with_context(|| format!("renaming {} to {}", tmp.display(), args.file.display()))?;
    println!(
        "exported blocks {first}..={last} ({} blocks) to {}",
        last - first + 1,
        args.file.display()
    );
    Ok(())
}

/// Reads RLP blocks one at a time from a stream, without holding the whole file.
struct BlockReader<R> {
    reader: R,
    buf: Vec<u8>,
    offset: u64,
}

impl<R: Read> BlockReader<R> {
    fn new(reader: R) -> Self {
        Self {
            reader,
            buf: Vec::new(),
            offset: 0,
        }
    }

    /// The next block, `None` at the end of the stream.
    fn next_block(&mut self) -> anyhow::Result<Option<Block<TxEnvelope>>> {
        let mut first = [0u8; 1];
        if self.reader.read(&mut first)? == 0 {
            return Ok(None);
        }
        let offset = self.offset;
        self.buf.clear();
        self.buf.push(first[0]);
        let payload_len = match first[0] {
            0xc0..=0xf7 => u64::from(first[0] - 0xc0),
            0xf8..=0xff => {
                let mut len = [0u8; 8];
                let width = usize::from(first[0] - 0xf7);
                self.reader
                    .read_exact(&mut len[8 - width..])
                    .with_context(|| format!("truncated block at byte {offset}"))?;
                self.buf.extend_from_slice(&len[8 - width..]);
                u64::from_be_bytes(len)
            }
            other => bail!("byte {offset}: expected a block (an RLP list), found 0x{other:02x}"),
        };
        let start = self.buf.len();
        let payload_len = usize::try_from(payload_len)
            .with_context(|| format!("block at byte {offset} is too large"))?;
        self.buf.resize(start + payload_len, 0);
        self.reader
            .read_exact(&mut self.buf[start..])
            .with_context(|| format!("truncated block at byte {offset}"))?;
        self.offset += self.buf.len() as u64;
        let mut slice = self.buf.as_slice();
        let block = Block::<TxEnvelope>::decode(&mut slice)
            .with_context(|| format!("undecodable block at byte {offset}"))?;
        Ok(Some(block))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_concatenated_blocks_and_reports_truncation() {
        let mut blocks = Vec::new();
        let mut bytes = Vec::new();
        for number in 0..3 {
            let mut block = Block::<TxEnvelope>::default();
            block.header.number = number;
            block.header.extra_data = vec![7; 40 * number as usize].into();
            alloy_rlp::Encodable::encode(&block, &mut bytes);
            blocks.push(block);
        }
        let mut reader = BlockReader::new(bytes.as_slice());
        for block in &blocks {
            assert_eq!(reader.next_block().unwrap().as_ref(), Some(block));
        }
        assert!(reader.next_block().unwrap().is_none());

        let cut = &bytes[..bytes.len() - 5];
        let mut reader = BlockReader::new(cut);
        reader.next_block().unwrap();
        reader.next_block().unwrap();
        let error = reader.next_block().unwrap_err().to_string();
        assert!(error.starts_with("truncated block at byte"), "{error}");
        let mut reader = BlockReader::new(&[0x80u8, 0][..]);
        let error = reader.next_block().unwrap_err().to_string();
        assert_eq!(error, "byte 0: expected a block (an RLP list), found 0x80");
    }
}
