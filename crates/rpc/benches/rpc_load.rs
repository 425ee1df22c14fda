//! Load benchmark of the public RPC server over loopback HTTP.
//!
//! 1. `eth_getBalance` and `eth_call` (a contract that writes memory and emits a log) from 64
//!    concurrent HTTP connections against a chain with 10,000 funded accounts: requests per
//!    second, p50 and p99 latency.
//! 2. `eth_getLogs` over 10,000 executed blocks with one log each: a full-range query (every
//!    block matches, 10,000 logs) and a query no block's bloom matches.
//!
//! Run: `cargo bench -p fastevm-rpc --bench rpc_load`.

#[path = "../tests/common/mod.rs"]
mod common;

use alloy_eips::BlockNumberOrTag;
use alloy_primitives::{Address, Bytes, B256};
use alloy_rpc_types_eth::{Filter, TransactionRequest};
use common::{context, emit, genesis, server_with, EMITTER};
use fastevm_executor::{test_utils::in_memory_chain, BlockAttributes, Blockchain};
use fastevm_rpc::{EthApiClient, RpcServerConfig};
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

const CONNECTIONS: usize = 64;
const REQUESTS_PER_CONNECTION: usize = 500;
const FUNDED_ACCOUNTS: u64 = 10_000;
const LOG_BLOCKS: u64 = 10_000;

fn chain_with(accounts: u64) -> Blockchain {
    in_memory_chain("rpc-bench", &genesis(accounts))
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() - 1) * p / 100]
}

#[derive(Clone, Copy)]
enum Workload {
    Balance,
    Call,
}

async fn load(addr: SocketAddr, workload: Workload, accounts: Arc<Vec<Address>>, report: bool) {
    let clients: Vec<HttpClient> = (0..CONNECTIONS)
        .map(|_| {
            HttpClientBuilder::default()
                .build(format!("http://{addr}"))
                .expect("client")
        })
        .collect();
    let start = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(worker, client)| {
            let accounts = accounts.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(REQUESTS_PER_CONNECTION);
                for i in 0..REQUESTS_PER_CONNECTION {
                    let account = accounts[(worker * REQUESTS_PER_CONNECTION + i) % accounts.len()];
                    let sent = Instant::now();
                    match workload {
                        Workload::Balance => {
                            client.balance(account, None).await.expect("eth_getBalance");
                        }
                        Workload::Call => {
                            let request = TransactionRequest::default()
                                .from(Address::with_last_byte(1))
                                .to(EMITTER)
                                .input(Bytes::from(vec![i as u8; 32]).into());
                            client
                                .call(request, None, None, None)
                                .await
                                .expect("eth_call");
                        }
                    }
                    latencies.push(sent.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("worker"));
    }
    let elapsed = start.elapsed();
    if !report {
        return;
    }
    latencies.sort_unstable();
    let name = match workload {
        Workload::Balance => "eth_getBalance",
        Workload::Call => "eth_call",
    };
    println!(
        "{name:15} {} requests, {CONNECTIONS} connections: {:>8.0} req/s  p50 {:>7.3} ms  p99 {:>7.3} ms",
        latencies.len(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 50).as_secs_f64() * 1e3,
        percentile(&latencies, 99).as_secs_f64() * 1e3,
    );
}

fn build_log_chain() -> Blockchain {
    let chain = chain_with(1);
    let started = Instant::now();
    for nonce in 0..LOG_BLOCKS {
        let parent = chain.store().head_header().expect("head");
        let parent_hash = chain.store().head_hash().expect("head");
        let attributes = BlockAttributes {
            timestamp: parent.timestamp + 1,
            prev_randao: B256::ZERO,
            fee_recipient: Address::repeat_byte(0xfe),
            withdrawals: Some(vec![]),
            parent_beacon_block_root: Some(B256::ZERO),
            gas_limit: None,
            extra_data: Bytes::new(),
        };
        let tx = emit(0, nonce, (nonce % 251) as u8);
        let sender = common::signer(0).address();
        let built = chain
            .build_block(parent_hash, &attributes, vec![(tx, sender)])
            .expect("build");
        assert_eq!(built.block.body.transactions.len(), 1);
        chain.store_executed(&built.block).expect("store");
    }
    println!(
        "built {LOG_BLOCKS} blocks with one log each in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    chain
}

async fn logs_benchmark() {
    let chain = build_log_chain();
    let ctx = context(&chain);
    let server = server_with(ctx, RpcServerConfig::default()).await;
    let client = HttpClientBuilder::default()
        .max_response_size(u32::MAX)
        .build(format!("http://{}", server.http_addr))
        .expect("client");
    let full = Filter::new()
        .from_block(BlockNumberOrTag::Number(1))
        .to_block(BlockNumberOrTag::Number(LOG_BLOCKS))
        .address(EMITTER);
    for run in 0..3 {
        let started = Instant::now();
        let logs = client.logs(full.clone().into()).await.expect("eth_getLogs");
        assert_eq!(logs.len() as u64, LOG_BLOCKS);
        println!(
            "eth_getLogs      {LOG_BLOCKS} blocks, every block matches, {} logs (run {run}): {:.1} ms",
            logs.len(),
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    let nothing = full.clone().address(Address::repeat_byte(0x01));
    let started = Instant::now();
    let logs = client.logs(nothing.into()).await.expect("eth_getLogs");
    assert!(logs.is_empty());
    println!(
        "eth_getLogs      {LOG_BLOCKS} blocks, no bloom matches: {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        println!(
            "workload: {FUNDED_ACCOUNTS} funded accounts, {CONNECTIONS} concurrent HTTP connections over loopback, {REQUESTS_PER_CONNECTION} sequential requests each"
        );
        let chain = chain_with(FUNDED_ACCOUNTS);
        // Addresses are derived before timing: key derivation is client work, not server work.
        let accounts: Arc<Vec<Address>> =
            Arc::new((0..FUNDED_ACCOUNTS).map(|i| common::signer(i).address()).collect());
        let server = server_with(context(&chain), RpcServerConfig::default()).await;
        for workload in [Workload::Balance, Workload::Call] {
            // A warm-up run fills the caches, then the measured run.
            load(server.http_addr, workload, accounts.clone(), false).await;
            load(server.http_addr, workload, accounts.clone(), true).await;
        }
        drop(server);
        logs_benchmark().await;
    });
}
