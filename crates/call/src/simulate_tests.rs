//! Tests of `eth_simulateV1`.

use super::*;
use crate::test_chain::{
    error_string, word, TestChain, FUNDED, LOGGER, REVERTER, STORE, STORE_VALUE,
};
use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_rpc_types_eth::{
    state::{AccountOverride, StateOverride},
    BlockTransactions,
};

fn payload(blocks: Vec<SimBlock>) -> SimulatePayload {
    SimulatePayload {
        block_state_calls: blocks,
        ..Default::default()
    }
}

fn calls(calls: Vec<TransactionRequest>) -> SimBlock {
    SimBlock {
        calls,
        ..Default::default()
    }
}

#[test]
fn state_carries_over_between_blocks() {
    let chain = TestChain::new();
    let genesis = chain.genesis_header();
    let write = TestChain::to(STORE).from(FUNDED).input(word(8).into());
    let read = TestChain::to(STORE);
    let blocks = simulate_v1(
        &chain.head(),
        payload(vec![calls(vec![write]), calls(vec![read.clone()])]),
        0,
    )
    .unwrap();
    assert_eq!(blocks.len(), 2);
    let (first, second) = (&blocks[0], &blocks[1]);
    assert_eq!(first.inner.header.number, 1);
    assert_eq!(second.inner.header.number, 2);
    assert_eq!(first.inner.header.timestamp, genesis.timestamp + 12);
    assert_eq!(second.inner.header.timestamp, genesis.timestamp + 24);
    assert_eq!(first.inner.header.parent_hash, chain.head().block_hash);
    assert_eq!(second.inner.header.parent_hash, first.inner.header.hash);
    assert_eq!(
        first.inner.header.hash,
        first.inner.header.inner.hash_slow()
    );
    // Without validation the base fee defaults to zero.
    assert_eq!(first.inner.header.base_fee_per_gas, Some(0));
    assert!(first.calls[0].status && first.calls[0].gas_used > 21_000);
    assert_eq!(first.inner.header.gas_used, first.calls[0].gas_used);
    assert_eq!(second.calls[0].return_data, word(8));
    assert!(matches!(&first.inner.transactions, BlockTransactions::Hashes(h) if h.len() == 1));
    assert_ne!(first.inner.header.state_root, genesis.state_root);
    // Nothing was written: the chain still reads the genesis value.
    let out = crate::call(&chain.head(), read, None, None, 0).unwrap();
    assert_eq!(out.output, word(STORE_VALUE));
}

#[test]
fn validated_simulation_matches_the_mined_block() {
    let mut chain = TestChain::new();
    let signer = chain.signer.address();
    let request = TestChain::to(STORE)
        .from(signer)
        .input(word(8).into())
        .nonce(0)
        .gas_limit(200_000)
        .max_fee_per_gas(10_000_000_000)
        .max_priority_fee_per_gas(1_000_000_000);
    let overrides = BlockOverrides {
        random: Some(B256::repeat_byte(0x33)),
        coinbase: Some(alloy_primitives::Address::repeat_byte(0xfe)),
        ..Default::default()
    };
    let simulated = simulate_v1(
        &chain.head(),
        SimulatePayload {
            block_state_calls: vec![SimBlock {
                block_overrides: Some(overrides),
                state_overrides: None,
                calls: vec![request],
            }],
            validation: true,
            ..Default::default()
        },
        0,
    )
    .unwrap();
    let tx = chain.sign(0, STORE, word(8));
    chain.mine(vec![tx]);
    let mined = &chain.blocks[1].1;
    let header = &simulated[0].inner.header.inner;
    assert_eq!(header.state_root, mined.state_root);
    assert_eq!(header.receipts_root, mined.receipts_root);
    assert_eq!(header.logs_bloom, mined.logs_bloom);
    assert_eq!(header.gas_used, mined.gas_used);
    assert_eq!(header.base_fee_per_gas, mined.base_fee_per_gas);
    assert_eq!(header.excess_blob_gas, mined.excess_blob_gas);
}

#[test]
fn reverts_halts_and_logs_are_per_call() {
    let chain = TestChain::new();
    let mut looping = TestChain::to(crate::test_chain::LOOP);
    looping.gas = Some(50_000);
    let blocks = simulate_v1(
        &chain.head(),
        SimulatePayload {
            block_state_calls: vec![calls(vec![
                TestChain::to(REVERTER),
                TestChain::to(LOGGER),
                looping,
                TestChain::to(LOGGER),
            ])],
            return_full_transactions: true,
            ..Default::default()
        },
        0,
    )
    .unwrap();
    let block = &blocks[0];
    let [reverted, logged, halted, logged_again] = &block.calls[..] else {
        panic!("four call results expected");
    };
    assert!(!reverted.status);
    assert!(
        reverted.return_data.is_empty(),
        "the revert output is the error data"
    );
    let error = reverted.error.as_ref().unwrap();
    assert_eq!(
        (error.code, error.message.as_str()),
        (3, "execution reverted: nope")
    );
    assert_eq!(error.data, Some(Bytes::from(error_string("nope"))));
    assert!(!halted.status && halted.gas_used == 50_000);
    assert_eq!(halted.error.as_ref().unwrap().code, -32015);
    assert_eq!(halted.error.as_ref().unwrap().message, "out of gas");

    let BlockTransactions::Full(transactions) = &block.inner.transactions else {
        panic!("full transactions requested");
    };
    assert_eq!(transactions.len(), 4);
    let log = &logged.logs[0];
    assert_eq!(log.address(), LOGGER);
    assert_eq!(log.data().data, word(42));
    assert_eq!(log.block_hash, Some(block.inner.header.hash));
    assert_eq!(log.transaction_hash, Some(*transactions[1].inner.tx_hash()));
    assert_eq!((log.transaction_index, log.log_index), (Some(1), Some(0)));
    assert_eq!(logged_again.logs[0].log_index, Some(1));
    assert_eq!(
        block.inner.header.gas_used,
        block.calls.iter().map(|c| c.gas_used).sum::<u64>()
    );
}

#[test]
fn skipped_numbers_become_empty_blocks_and_blockhash_sees_them() {
    let chain = TestChain::new();
    let reader = alloy_primitives::Address::repeat_byte(0xbb);
    // BLOCKHASH(NUMBER - 1), returned as one word.
    let parent_hash_code = Bytes::from_static(&[
        0x60, 0x01, 0x43, 0x03, 0x40, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3,
    ]);
    let blocks = simulate_v1(
        &chain.head(),
        payload(vec![SimBlock {
            block_overrides: Some(BlockOverrides {
                number: Some(U256::from(3)),
                ..Default::default()
            }),
            state_overrides: Some(StateOverride::from_iter([(
                reader,
                AccountOverride::default().with_code(parent_hash_code),
            )])),
            calls: vec![TestChain::to(reader)],
        }]),
        0,
    )
    .unwrap();
    let numbers: Vec<u64> = blocks.iter().map(|b| b.inner.header.number).collect();
    assert_eq!(numbers, vec![1, 2, 3]);
    assert!(blocks[0].calls.is_empty() && blocks[1].calls.is_empty());
    assert_eq!(
        blocks[2].calls[0].return_data,
        Bytes::from(blocks[1].inner.header.hash)
    );
}

#[test]
fn invalid_requests_fail_with_spec_codes() {
    let failure = |err: &CallError| match err {
        CallError::Simulation { failure, .. } => *failure,
        other => panic!("not a simulation failure: {other}"),
    };
    let chain = TestChain::new();
    let at = |number: u64| SimBlock {
        block_overrides: Some(BlockOverrides {
            number: Some(U256::from(number)),
            ..Default::default()
        }),
        ..Default::default()
    };
    let err = simulate_v1(&chain.head(), payload(vec![at(2), at(2)]), 0).unwrap_err();
    assert_eq!(failure(&err), SimulationFailure::BlockNumberNotIncreasing);
    let err = simulate_v1(&chain.head(), payload(vec![at(300)]), 0).unwrap_err();
    assert_eq!(failure(&err), SimulationFailure::ClientLimitExceeded);
    let late = SimBlock {
        block_overrides: Some(BlockOverrides {
            time: Some(chain.genesis_header().timestamp - 1),
            ..Default::default()
        }),
        ..Default::default()
    };
    let err = simulate_v1(&chain.head(), payload(vec![late]), 0).unwrap_err();
    assert_eq!(failure(&err), SimulationFailure::TimestampNotIncreasing);

    let mut greedy = TestChain::to(STORE);
    greedy.gas = Some(chain.genesis_header().gas_limit + 1);
    let err = simulate_v1(&chain.head(), payload(vec![calls(vec![greedy])]), 0).unwrap_err();
    assert_eq!(failure(&err), SimulationFailure::BlockGasLimitReached);

    // A nonce from the future: fine without validation, refused with it.
    let future = TestChain::to(STORE).from(FUNDED).nonce(5);
    assert!(simulate_v1(&chain.head(), payload(vec![calls(vec![future.clone()])]), 0).is_ok());
    let mut validated = payload(vec![calls(vec![future.max_fee_per_gas(10_000_000_000)])]);
    validated.validation = true;
    let err = simulate_v1(&chain.head(), validated, 0).unwrap_err();
    assert_eq!(failure(&err), SimulationFailure::NonceTooHigh);
    assert!(err.to_string().starts_with("err: nonce too high"), "{err}");
}

#[test]
fn trace_transfers_logs_ether_moves_beside_real_logs() {
    use crate::sim_tracer::{ETHER_ADDRESS, TRANSFER_TOPIC};
    let chain = TestChain::new();
    let recipient = Address::repeat_byte(0x77);
    let send = TestChain::to(recipient)
        .from(FUNDED)
        .value(U256::from(1_000));
    let simulate = |trace_transfers: bool| {
        simulate_v1(
            &chain.head(),
            SimulatePayload {
                block_state_calls: vec![calls(vec![
                    send.clone(),
                    TestChain::to(LOGGER),
                    TestChain::to(REVERTER).from(FUNDED).value(U256::from(5)),
                ])],
                trace_transfers,
                ..Default::default()
            },
            0,
        )
        .unwrap()
    };
    let plain = simulate(false);
    assert!(plain[0].calls[0].logs.is_empty());
    let traced = simulate(true);
    let block = &traced[0];
    let transfer = &block.calls[0].logs[0];
    assert_eq!(transfer.address(), ETHER_ADDRESS);
    assert_eq!(
        transfer.topics(),
        &[TRANSFER_TOPIC, FUNDED.into_word(), recipient.into_word()]
    );
    assert_eq!(
        transfer.data().data,
        Bytes::from(U256::from(1_000).to_be_bytes::<32>())
    );
    assert_eq!(transfer.log_index, Some(0));
    // The logger's real log follows it in the block's numbering.
    assert_eq!(block.calls[1].logs[0].address(), LOGGER);
    assert_eq!(block.calls[1].logs[0].log_index, Some(1));
    // A reverted call's transfer is gone with it.
    assert!(!block.calls[2].status && block.calls[2].logs.is_empty());
    // Transfers are not part of the block: same receipts and bloom as without tracing.
    assert_eq!(
        block.inner.header.inner.receipts_root,
        plain[0].inner.header.inner.receipts_root
    );
    assert_eq!(
        block.inner.header.inner.logs_bloom,
        plain[0].inner.header.inner.logs_bloom
    );
}
