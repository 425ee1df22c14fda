//! Sender recovery per transaction: the pure-Rust `k256` crate (what FastEVM used before) against
//! libsecp256k1 (the C library reth and revm's ecrecover use, now behind every recovery in
//! FastEVM), one thread each, then libsecp256k1 over all cores as block import runs it.
//!
//! `cargo bench --bench sender_recovery`. `FASTEVM_BENCH_TXS` (default 2,000) sets the number of
//! signed transfers.

/// The `fastevm` binary's allocator, so that figures match the node.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use alloy_consensus::{transaction::SignerRecoverable, TxEnvelope};
use alloy_primitives::{Address, Bytes, U256};
use fastevm::test_utils::{indexed_signer, sign_eip1559, TxFees};
use std::time::Instant;

fn main() {
    let n: u64 = std::env::var("FASTEVM_BENCH_TXS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let txs: Vec<TxEnvelope> = (0..n)
        .map(|i| {
            sign_eip1559(
                &indexed_signer(i % 1_000),
                1337,
                i,
                Address::repeat_byte(0x42),
                U256::from(1),
                Bytes::new(),
                TxFees::default(),
            )
        })
        .collect();
    let expected: Vec<Address> = (0..n)
        .map(|i| indexed_signer(i % 1_000).address())
        .collect();
    println!(
        "sender_recovery: {n} signed EIP-1559 transfers, {} cores",
        std::thread::available_parallelism().map_or(1, |c| c.get())
    );

    let started = Instant::now();
    let k256: Vec<Address> = txs
        .iter()
        .map(|tx| {
            let signed = tx.as_eip1559().expect("EIP-1559");
            // `recover_from_prehash` is alloy-primitives' k256-only path.
            let key = signed
                .signature()
                .recover_from_prehash(&signed.signature_hash())
                .unwrap();
            Address::from_public_key(&key)
        })
        .collect();
    let k256_time = started.elapsed();
    assert_eq!(k256, expected);

    let started = Instant::now();
    let secp: Vec<Address> = txs.iter().map(|tx| tx.recover_signer().unwrap()).collect();
    let secp_time = started.elapsed();
    assert_eq!(secp, expected);

    let started = Instant::now();
    let parallel: Vec<Address> = fastevm_executor::recover_senders(&txs)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let parallel_time = started.elapsed();
    assert_eq!(parallel, expected);

    let per_tx = |d: std::time::Duration| d.as_secs_f64() * 1e6 / n as f64;
    println!(
        "k256 (pure Rust), 1 thread          {:>8.1} µs/tx",
        per_tx(k256_time)
    );
    println!(
        "libsecp256k1, 1 thread              {:>8.1} µs/tx",
        per_tx(secp_time)
    );
    println!(
        "libsecp256k1, all cores (import)    {:>8.1} µs/tx  ({:.1} ms per 1,000)",
        per_tx(parallel_time),
        per_tx(parallel_time)
    );
    println!(
        "libsecp256k1 is {:.1}x faster than k256 on one thread",
        k256_time.as_secs_f64() / secp_time.as_secs_f64()
    );
}
