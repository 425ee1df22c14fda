//! Blob transactions: admitted in network form with a sidecar that verifies, kept with it, handed
//! out with it, and served blob by blob.

use alloy_consensus::Transaction;
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{B256, U256};
use fastevm_blobs::{
    encode_network,
    test_utils::{sidecar_v0, sidecar_v1, signed_blob_tx, CANCUN, OSAKA},
    BlobError, BlobRules, BlobSidecar, NetworkTransaction,
};

use crate::{
    test_utils::{test_signer, MemoryState, TEST_CHAIN_ID},
    PoolConfig, PoolError, TxPool,
};

const BASE_FEE: u64 = 7;

fn ether() -> U256 {
    U256::from(10u64).pow(U256::from(18))
}

fn state(rules: BlobRules) -> MemoryState {
    MemoryState::funded(2, ether()).with_blob_rules(rules)
}

fn pool() -> TxPool {
    TxPool::new(PoolConfig::default(), TEST_CHAIN_ID)
}

/// A blob transaction from test signer 0 and its network-form bytes.
fn blob_submission(sidecar: &BlobSidecar, nonce: u64) -> (alloy_consensus::TxEnvelope, Vec<u8>) {
    let tx = signed_blob_tx(&test_signer(0), TEST_CHAIN_ID, sidecar, nonce);
    let raw = encode_network(&tx, Some(sidecar));
    (tx, raw)
}

#[test]
fn a_blob_transaction_is_pooled_with_its_sidecar() {
    let pool = pool();
    let state = state(CANCUN);
    let sidecar = sidecar_v0(2);
    let (tx, raw) = blob_submission(&sidecar, 0);
    let hash = pool.add_raw(&raw, &state, BASE_FEE).unwrap();
    assert_eq!(hash, *tx.tx_hash());
    assert!(pool.get(&hash).unwrap().is_pending);
    assert_eq!(pool.blob_sidecar(&hash).as_deref(), Some(&sidecar));

    // The feed hands out the network form: the blobs travel with the transaction.
    let (entries, _) = pool.pending_since(0, 10);
    assert_eq!(entries.len(), 1);
    let fed = NetworkTransaction::decode(&entries[0].1).unwrap();
    assert_eq!(fed.tx, tx);
    assert_eq!(fed.sidecar.as_ref(), Some(&sidecar));

    // engine_getBlobsV1 finds each blob by versioned hash, in the order asked.
    let hashes: Vec<B256> = sidecar.versioned_hashes().collect();
    let found = pool.blobs_v1(&[hashes[1], B256::ZERO, hashes[0]]);
    let BlobSidecar::Eip4844(inner) = &sidecar else {
        unreachable!()
    };
    assert_eq!(*found[0].as_ref().unwrap().blob, inner.blobs[1]);
    assert!(found[1].is_none());
    assert_eq!(found[2].as_ref().unwrap().proof, inner.proofs[0]);
    assert!(pool.blobs_v2(&hashes).iter().all(Option::is_none));
}

#[test]
fn from_osaka_on_blob_proofs_become_cell_proofs() {
    let pool = pool();
    let state = state(OSAKA);
    let (tx, raw) = blob_submission(&sidecar_v0(1), 0);
    let hash = pool.add_raw(&raw, &state, BASE_FEE).unwrap();
    let kept = pool.blob_sidecar(&hash).unwrap();
    assert_eq!(*kept, sidecar_v1(1));
    let hashes: Vec<B256> = tx.blob_versioned_hashes().unwrap().to_vec();
    let found = pool.blobs_v2(&hashes);
    assert_eq!(found[0].as_ref().unwrap().proofs.len(), 128);
    assert!(pool.blobs_v1(&hashes)[0].is_none());

    // A cell-proof sidecar is taken as it is.
    let (_, raw) = blob_submission(&sidecar_v1(2), 1);
    pool.add_raw(&raw, &state, BASE_FEE).unwrap();
}

#[test]
fn blob_transactions_without_good_blobs_are_refused() {
    let pool = pool();
    let state = state(CANCUN);
    let sidecar = sidecar_v0(1);
    let (tx, raw) = blob_submission(&sidecar, 0);

    // Before Cancun (no blob rules) the type is not supported at all.
    let before_cancun = MemoryState::funded(1, ether());
    assert_eq!(
        pool.add_raw(&raw, &before_cancun, BASE_FEE),
        Err(PoolError::TxTypeNotSupported)
    );

    // The canonical form has no blobs.
    let error = pool
        .add_raw(&tx.encoded_2718(), &state, BASE_FEE)
        .unwrap_err();
    assert_eq!(error, PoolError::Blob(BlobError::MissingSidecar));
    assert_eq!(error.to_string(), "missing sidecar in blob transaction");
    assert_eq!(
        pool.add_transaction(tx.clone(), &state, BASE_FEE),
        Err(PoolError::Blob(BlobError::MissingSidecar))
    );

    // Blobs the transaction does not commit to.
    let raw = encode_network(&tx, Some(&sidecar_v0(2)));
    assert!(matches!(
        pool.add_raw(&raw, &state, BASE_FEE),
        Err(PoolError::Blob(BlobError::InvalidSidecar(_)))
    ));

    // Cell proofs before Osaka.
    let (_, raw) = blob_submission(&sidecar_v1(1), 0);
    assert_eq!(
        pool.add_raw(&raw, &state, BASE_FEE),
        Err(PoolError::Blob(BlobError::CellProofsBeforeOsaka))
    );
    assert!(pool.is_empty());
}

#[test]
fn the_blob_fee_counts_against_the_balance() {
    let pool = pool();
    let sidecar = sidecar_v0(1);
    let (tx, raw) = blob_submission(&sidecar, 0);
    let execution_cost = U256::from(tx.gas_limit()) * U256::from(tx.max_fee_per_gas()) + tx.value();
    let blob_cost =
        U256::from(tx.blob_gas_used().unwrap()) * U256::from(tx.max_fee_per_blob_gas().unwrap());
    let address = test_signer(0).address();

    let short = MemoryState::new()
        .with_account(address, 0, execution_cost + blob_cost - U256::from(1))
        .with_blob_rules(CANCUN);
    assert!(matches!(
        pool.add_raw(&raw, &short, BASE_FEE),
        Err(PoolError::InsufficientFunds { .. })
    ));
    let enough = MemoryState::new()
        .with_account(address, 0, execution_cost + blob_cost)
        .with_blob_rules(CANCUN);
    pool.add_raw(&raw, &enough, BASE_FEE).unwrap();
}

#[test]
fn the_journal_keeps_the_sidecar() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("transactions.rlp");
    let state = state(CANCUN);
    let sidecar = sidecar_v0(1);
    let (tx, raw) = blob_submission(&sidecar, 0);
    let open = || {
        TxPool::with_journal(
            PoolConfig::default(),
            TEST_CHAIN_ID,
            &path,
            &state,
            BASE_FEE,
        )
        .unwrap()
    };
    open().0.add_raw(&raw, &state, BASE_FEE).unwrap();
    // A fresh node reads the journal back.
    let (pool, report) = open();
    assert_eq!(report.readmitted, 1);
    assert_eq!(pool.blob_sidecar(tx.tx_hash()).as_deref(), Some(&sidecar));
}
