//! Block execution benchmark: blocks of 1,000 ETH transfers and of 1,000 token (ERC-20-style)
//! transfers, on chains with 10,000 and 1,000,000 funded accounts, on a real on-disk RocksDB.
//! Reports, per block, execution, state root and commit separately (ms) and Mgas/s, and runs the
//! same transactions on bare revm over an in-memory database as the reference. The commit is
//! what the block's import waits for (staging its writes, served from memory at once); the
//! RocksDB write that follows on the store's background thread is reported apart ("disk
//! write", measured by waiting for it after each block, so it does not overlap the next one).
//! "Whole build" is the wall time of `build_block` (execution, all roots, header), the figure to
//! compare across versions: the phases above are measured inside it.
//!
//! `cargo bench --bench block_execution` (release profile). `FASTEVM_BENCH_ACCOUNTS=10000` limits
//! the run to one state size; `FASTEVM_BENCH_BLOCKS` sets blocks per case (default 5).

/// The `fastevm` binary's allocator, so that figures match the node.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use alloy_consensus::TxEnvelope;
use alloy_evm::{eth::EthEvmFactory, Evm, EvmEnv, EvmFactory, FromRecoveredTx};
use alloy_genesis::{Genesis, GenesisAccount};
use alloy_primitives::{Address, Bytes, B256, U256};
use fastevm::test_utils::{
    indexed_signer, sign_eip1559, token_balance_slot, token_runtime_code, token_transfer_calldata,
    TxFees,
};
use fastevm_dev_chain::dev_genesis;
use fastevm_executor::{BlockAttributes, Blockchain, ChainSpec};
use fastevm_storage::{ChainStore, StoreOptions};
use rand::{Rng, SeedableRng};
use revm::{
    context::TxEnv,
    database::{CacheDB, EmptyDB},
    state::{AccountInfo, Bytecode},
};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

const TXS_PER_BLOCK: u64 = 1_000;
const TOKEN: Address = Address::new([0x70; 20]);
const CHAIN_ID: u64 = 1337;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Workload {
    EthTransfer,
    TokenTransfer,
}

fn recipient(i: u64) -> Address {
    let mut bytes = [0u8; 20];
    bytes[0] = 0xaa;
    bytes[12..].copy_from_slice(&i.to_be_bytes());
    Address::from(bytes)
}

fn genesis(accounts: u64) -> Genesis {
    let mut genesis = dev_genesis();
    genesis.gas_limit = 300_000_000;
    let funded = GenesisAccount::default().with_balance(U256::from(10u128.pow(21)));
    for i in 0..accounts {
        genesis.alloc.insert(recipient(i), funded.clone());
    }
    let mut token_storage = std::collections::BTreeMap::new();
    for s in 0..TXS_PER_BLOCK {
        let signer = indexed_signer(s).address();
        genesis.alloc.insert(signer, funded.clone());
        token_storage.insert(
            token_balance_slot(signer),
            B256::from(U256::from(10u64.pow(12))),
        );
    }
    genesis.alloc.insert(
        TOKEN,
        GenesisAccount::default()
            .with_code(Some(token_runtime_code()))
            .with_storage(Some(token_storage)),
    );
    genesis
}

fn block_txs(
    workload: Workload,
    accounts: u64,
    nonce: u64,
    rng: &mut rand_chacha::ChaCha8Rng,
) -> Vec<(TxEnvelope, Address)> {
    (0..TXS_PER_BLOCK)
        .map(|s| {
            let signer = indexed_signer(s);
            let to = recipient(rng.gen_range(0..accounts));
            let tx = match workload {
                Workload::EthTransfer => sign_eip1559(
                    &signer,
                    CHAIN_ID,
                    nonce,
                    to,
                    U256::from(1),
                    Bytes::new(),
                    TxFees::default(),
                ),
                Workload::TokenTransfer => sign_eip1559(
                    &signer,
                    CHAIN_ID,
                    nonce,
                    TOKEN,
                    U256::ZERO,
                    token_transfer_calldata(to, U256::from(1)),
                    TxFees {
                        gas_limit: 100_000,
                        ..TxFees::default()
                    },
                ),
            };
            (tx, signer.address())
        })
        .collect()
}

/// The same transactions on revm alone, over an in-memory database holding the touched accounts.
fn bare_revm(genesis: &Genesis, blocks: &[Vec<(TxEnvelope, Address)>]) -> (Duration, u64) {
    let mut db = CacheDB::new(EmptyDB::default());
    let touched: std::collections::BTreeSet<Address> = blocks
        .iter()
        .flatten()
        .flat_map(|(tx, from)| {
            [
                *from,
                alloy_consensus::Transaction::to(tx).unwrap_or_default(),
            ]
        })
        .collect();
    for address in touched.iter().chain([&TOKEN]) {
        if let Some(account) = genesis.alloc.get(address) {
            let code = account.code.clone().map(Bytecode::new_raw);
            let info = AccountInfo {
                balance: account.balance,
                nonce: account.nonce.unwrap_or_default(),
                code_hash: code
                    .as_ref()
                    .map(|c| c.hash_slow())
                    .unwrap_or(alloy_primitives::KECCAK256_EMPTY),
                code,
                ..Default::default()
            };
            db.insert_account_info(*address, info);
            for (slot, value) in account.storage.iter().flatten() {
                db.insert_account_storage(
                    *address,
                    U256::from_be_bytes(slot.0),
                    U256::from_be_bytes(value.0),
                )
                .unwrap();
            }
        }
    }
    let spec = ChainSpec::from_genesis(genesis).unwrap();
    let mut gas = 0;
    let started = Instant::now();
    for (n, txs) in blocks.iter().enumerate() {
        let header = alloy_consensus::Header {
            number: n as u64 + 1,
            timestamp: n as u64 + 1,
            gas_limit: genesis.gas_limit,
            base_fee_per_gas: Some(1_000_000_000),
            excess_blob_gas: Some(0),
            ..Default::default()
        };
        let env = EvmEnv::for_eth_block(&header, &spec, CHAIN_ID, spec.blob_params_at(1));
        let mut evm = EthEvmFactory::default().create_evm(&mut db, env);
        for (tx, from) in txs {
            let tx_env = TxEnv::from_recovered_tx(tx, *from);
            let result = evm.transact_commit(tx_env).expect("reference tx executes");
            gas += result.tx_gas_used();
        }
    }
    (started.elapsed(), gas)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn run_case(accounts: u64, workload: Workload, blocks: u64) {
    let dir = tempfile::tempdir().unwrap();
    let genesis = genesis(accounts);
    let setup = Instant::now();
    let store = Arc::new(ChainStore::open(dir.path(), StoreOptions::default()).unwrap());
    let chain = Blockchain::init(store.clone(), &genesis).unwrap();
    let setup = setup.elapsed();

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(accounts ^ workload as u64);
    let all_txs: Vec<_> = (0..blocks)
        .map(|n| block_txs(workload, accounts, n, &mut rng))
        .collect();
    let (mut build, mut exec, mut root, mut commit, mut disk, mut gas) = (
        Duration::ZERO,
        Duration::ZERO,
        Duration::ZERO,
        Duration::ZERO,
        Duration::ZERO,
        0u64,
    );
    for (n, txs) in all_txs.iter().enumerate() {
        let head = store.head_hash().unwrap();
        let attrs = BlockAttributes {
            timestamp: n as u64 + 1,
            prev_randao: B256::ZERO,
            fee_recipient: Address::repeat_byte(0xfe),
            withdrawals: Some(vec![]),
            parent_beacon_block_root: Some(B256::ZERO),
            gas_limit: None,
            extra_data: Bytes::new(),
        };
        let txs = txs.clone();
        let started = Instant::now();
        let built = chain.build_block(head, &attrs, txs).unwrap();
        build += started.elapsed();
        assert!(
            built.skipped.is_empty(),
            "benchmark transactions must all execute: {:?}",
            built.skipped.first()
        );
        let started = Instant::now();
        chain.store_executed(&built.block).unwrap();
        commit += started.elapsed();
        let started = Instant::now();
        store.flush().unwrap();
        disk += started.elapsed();
        exec += built.timings.execute;
        root += built.timings.state_root;
        gas += built.block.header.gas_used;
    }
    let (revm_time, revm_gas) = bare_revm(&genesis, &all_txs);
    assert_eq!(revm_gas, gas, "reference executed different gas");
    let per = |d: Duration| ms(d) / blocks as f64;
    let mgas = |d: Duration| gas as f64 / 1e6 / d.as_secs_f64();
    let total = exec + root + commit;
    println!(
        "{:>9} accounts | {:<14} | setup {:>7.0} ms | per block: execute {:>7.2} ms, state root {:>7.2} ms, commit {:>6.2} ms, total {:>7.2} ms (whole build {:>7.2} ms + commit {:>6.2} ms = {:>7.2} ms; + disk write {:>6.2} ms in the background) | {:>6.1} Mgas/s execute, {:>6.1} Mgas/s total | bare revm {:>7.2} ms/block {:>6.1} Mgas/s | execute/revm {:.2}x, total/revm {:.2}x",
        accounts,
        format!("{workload:?}"),
        ms(setup),
        per(exec),
        per(root),
        per(commit),
        per(total),
        per(build),
        per(commit),
        per(build + commit),
        per(disk),
        mgas(exec),
        mgas(total),
        per(revm_time),
        mgas(revm_time),
        exec.as_secs_f64() / revm_time.as_secs_f64(),
        total.as_secs_f64() / revm_time.as_secs_f64(),
    );
}

fn main() {
    let sizes: Vec<u64> = match std::env::var("FASTEVM_BENCH_ACCOUNTS") {
        Ok(v) => v
            .split(',')
            .map(|s| s.trim().parse().expect("account count"))
            .collect(),
        Err(_) => vec![10_000, 1_000_000],
    };
    let blocks = std::env::var("FASTEVM_BENCH_BLOCKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    println!(
        "block_execution: {TXS_PER_BLOCK} txs per block, {blocks} blocks per case, on-disk RocksDB"
    );
    for accounts in sizes {
        for workload in [Workload::EthTransfer, Workload::TokenTransfer] {
            run_case(accounts, workload, blocks);
        }
    }
}
