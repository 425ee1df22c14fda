//! Payload building from the transaction pool (the default when the attributes carry no
//! `transactions`): the pool's transactions go into the built block in nonce order, and once
//! the block is canonical they leave the pool.

use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_rpc_types_engine::{ForkchoiceState, PayloadStatusEnum};
use fastevm::{
    execution::{start_execution, ExecutionOptions},
    test_utils::{payload_attributes, sign_eip1559, TxFees},
};
use fastevm_dev_chain::{dev_genesis, dev_signers, DEV_CHAIN_ID};
use fastevm_engine_api::PayloadRequest;
use fastevm_executor::test_utils::in_memory_chain;
use fastevm_rpc::HeadState;

fn fcs(hash: B256) -> ForkchoiceState {
    ForkchoiceState {
        head_block_hash: hash,
        safe_block_hash: hash,
        finalized_block_hash: hash,
    }
}

#[tokio::test]
async fn blocks_are_built_from_the_pool_by_default() {
    let _turn = crate::module_turn::take(module_path!());
    let chain = in_memory_chain("pool-building", &dev_genesis());
    let stack = start_execution(chain, ExecutionOptions::default())
        .await
        .unwrap();
    let store = stack.engine.chain().store().clone();
    let spec = stack.engine.chain().spec().clone();
    let head = store.head_header().unwrap();
    let base_fee = head.base_fee_per_gas.unwrap_or_default();

    // Two senders, sent out of nonce order for the first one.
    let signers = dev_signers();
    let tx = |s: usize, nonce: u64| {
        sign_eip1559(
            &signers[s],
            DEV_CHAIN_ID,
            nonce,
            Address::repeat_byte(0x55),
            U256::from(7),
            Bytes::new(),
            TxFees::default(),
        )
    };
    let txs = [tx(0, 1), tx(0, 0), tx(1, 0)];
    for t in &txs {
        stack
            .pool
            .add_raw(&t.encoded_2718(), &HeadState::new(&store, &spec), base_fee)
            .unwrap();
    }
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

    let status = stack
        .engine
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
    stack
        .engine
        .forkchoice_updated(fcs(built.block.hash), None)
        .unwrap();
    assert_eq!(store.head_hash().unwrap(), built.block.hash);
    assert!(stack.pool.is_empty(), "mined transactions left the pool");
}
