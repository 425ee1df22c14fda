//! Payload building and the pool: without ordered `transactions` in the attributes the pool's
//! transactions go into the built block in nonce order, and once the block is canonical they
//! leave the pool; ordered transactions a full block leaves out are offered to consensus again.

use alloy_consensus::TxEnvelope;
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_rpc_types_engine::{ForkchoiceState, PayloadStatusEnum};
use fastevm::{
    execution::{start_execution, ExecutionOptions, ExecutionStack},
    test_utils::{payload_attributes, sign_eip1559, TxFees},
};
use fastevm_dev_chain::{dev_genesis, dev_signers, DEV_CHAIN_ID};
use fastevm_engine::{BuiltPayload, Engine};
use fastevm_engine_api::PayloadRequest;
use fastevm_executor::test_utils::in_memory_chain;
use fastevm_rpc::HeadState;
use fastevm_txpool::Reoffer;

fn fcs(hash: B256) -> ForkchoiceState {
    ForkchoiceState {
        head_block_hash: hash,
        safe_block_hash: hash,
        finalized_block_hash: hash,
    }
}

/// An execution stack (engine and pool, no RPC server) over the dev genesis.
async fn dev_stack(name: &str) -> ExecutionStack {
    start_execution(
        in_memory_chain(name, &dev_genesis()),
        ExecutionOptions::default(),
    )
    .await
    .unwrap()
}

/// A transfer of 7 wei to 0x55…55 from dev account `sender`.
fn transfer(sender: usize, nonce: u64) -> TxEnvelope {
    sign_eip1559(
        &dev_signers()[sender],
        DEV_CHAIN_ID,
        nonce,
        Address::repeat_byte(0x55),
        U256::from(7),
        Bytes::new(),
        TxFees::default(),
    )
}

/// Admits `txs` to the stack's pool against its head.
fn admit(stack: &ExecutionStack, txs: &[TxEnvelope]) {
    let chain = stack.engine.chain();
    let head = chain.store().head_header().unwrap();
    let base_fee = head.base_fee_per_gas.unwrap_or_default();
    for tx in txs {
        stack
            .pool
            .add_raw(
                &tx.encoded_2718(),
                &HeadState::new(chain.store(), chain.spec()),
                base_fee,
            )
            .unwrap();
    }
}

/// Imports the payload `built` with newPayload and makes it the head.
fn make_canonical(engine: &Engine, built: &BuiltPayload) {
    let status = engine
        .new_payload(
            alloy_consensus::Block {
                header: built.block.header.clone(),
                body: built.block.body.clone(),
            },
            built.block.hash,
            Some(&[]),
        )
        .unwrap();
    assert_eq!(status.status, PayloadStatusEnum::Valid);
    engine
        .forkchoice_updated(fcs(built.block.hash), None)
        .unwrap();
}

#[tokio::test]
async fn blocks_are_built_from_the_pool_by_default() {
    let _turn = crate::module_turn::take(module_path!());
    let stack = dev_stack("pool-building").await;
    let store = stack.engine.chain().store().clone();
    let head = store.head_header().unwrap();

    // Two senders, sent out of nonce order for the first one.
    let txs = [transfer(0, 1), transfer(0, 0), transfer(1, 0)];
    admit(&stack, &txs);
    assert_eq!(stack.pool.status().pending, 3);

    let head_hash = store.head_hash().unwrap();
    let request = PayloadRequest {
        attributes: payload_attributes(head.timestamp + 1, 1, 2),
        transactions: None,
        no_tx_pool: false,
        gas_limit: None,
        extra_data: None,
    };
    let updated = stack
        .engine
        .forkchoice_updated(fcs(head_hash), Some(request))
        .unwrap();
    let built = stack
        .engine
        .get_payload(updated.payload_id.expect("payload id"))
        .unwrap();
    let included: Vec<B256> = built
        .block
        .body
        .transactions
        .iter()
        .map(|t| *t.tx_hash())
        .collect();
    assert_eq!(
        included.len(),
        3,
        "every pooled transaction is in the block"
    );
    let position = |h: &B256| included.iter().position(|x| x == h).unwrap();
    assert!(
        position(txs[1].tx_hash()) < position(txs[0].tx_hash()),
        "sender 0's nonces in order"
    );

    make_canonical(&stack.engine, &built);
    assert_eq!(store.head_hash().unwrap(), built.block.hash);
    // The pool follows head moves on its own thread.
    stack.rpc_context.events.wait_for_follower();
    assert!(stack.pool.is_empty(), "mined transactions left the pool");
}

/// A payload built from consensus-ordered transactions that cannot all fit notes the ones it
/// left out; the pool feeds offer those still pending again at their next proposal, without
/// waiting for the re-offer delay.
#[tokio::test]
async fn ordered_transactions_left_out_of_a_full_block_are_offered_again_at_once() {
    let _turn = crate::module_turn::take(module_path!());
    let stack = dev_stack("left-out").await;
    let store = stack.engine.chain().store().clone();
    let head = store.head_header().unwrap();
    let txs: Vec<_> = (0..3).map(|nonce| transfer(0, nonce)).collect();
    let raw: Vec<Bytes> = txs.iter().map(|t| t.encoded_2718().into()).collect();
    admit(&stack, &txs);
    // The pool feed offered all three; its delay is one no test waits for.
    let now = std::time::Instant::now();
    let mut reoffer = Reoffer::new(std::time::Duration::from_secs(3600));
    reoffer.record(txs.iter().map(|t| *t.tx_hash()), now);

    // Consensus orders all three into a block with room for two transfers.
    let request = PayloadRequest {
        attributes: payload_attributes(head.timestamp + 1, 1, 2),
        transactions: Some(raw.clone()),
        no_tx_pool: true,
        gas_limit: Some(2 * 21_000),
        extra_data: None,
    };
    let updated = stack
        .engine
        .forkchoice_updated(fcs(store.head_hash().unwrap()), Some(request))
        .unwrap();
    let built = stack
        .engine
        .get_payload(updated.payload_id.expect("payload id"))
        .unwrap();
    assert_eq!(built.block.body.transactions.len(), 2);
    make_canonical(&stack.engine, &built);

    assert_eq!(stack.pool.left_out_since(0).0, vec![*txs[2].tx_hash()]);
    assert_eq!(reoffer.due(&stack.pool, now), vec![raw[2].clone()]);
    assert!(reoffer.due(&stack.pool, now).is_empty(), "offered once");
}
