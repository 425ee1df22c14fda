//! State reads at older blocks differ from the head; unknown blocks get geth's errors; blocks,
//! transactions and receipts are found by number, hash and tag.

use crate::common::{chain, context, drive_block, emit, server, transaction};
use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_rpc_types_eth::{BlockTransactions, TransactionRequest};
use fastevm_engine::Engine;
use fastevm_rpc::EthApiClient;
use jsonrpsee::{core::ClientError, http_client::HttpClientBuilder};

fn message(e: ClientError) -> String {
    match e {
        ClientError::Call(object) => object.message().to_string(),
        other => panic!("expected a JSON-RPC error, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn historical_state_and_block_lookups() {
    let chain = chain(2);
    let ctx = context(&chain);
    let engine = Engine::new(chain);
    ctx.attach_to(&engine)
        .expect("start the canonical follower");
    let server = server(ctx).await;
    let client = HttpClientBuilder::default()
        .build(format!("http://{}", server.http_addr))
        .unwrap();
    let recipient = Address::repeat_byte(0x42);
    let genesis = client
        .block_by_number(BlockNumberOrTag::Earliest, false)
        .await
        .unwrap()
        .unwrap();
    let first = drive_block(
        &engine,
        &[transaction(0, 0, recipient, 1_000, Bytes::new())],
    );
    let second = drive_block(
        &engine,
        &[
            transaction(0, 1, recipient, 500, Bytes::new()),
            emit(1, 0, 3),
        ],
    );

    let at = |id: BlockId| client.balance(recipient, Some(id));
    assert_eq!(at(BlockId::number(0)).await.unwrap(), U256::ZERO);
    assert_eq!(at(BlockId::number(1)).await.unwrap(), U256::from(1_000));
    assert_eq!(at(BlockId::hash(first)).await.unwrap(), U256::from(1_000));
    assert_eq!(at(BlockId::latest()).await.unwrap(), U256::from(1_500));
    assert_eq!(
        client.balance(recipient, None).await.unwrap(),
        U256::from(1_500)
    );
    let canonical = BlockId::Hash(alloy_eips::RpcBlockHash {
        block_hash: genesis.header.hash,
        require_canonical: Some(true),
    });
    assert_eq!(at(canonical).await.unwrap(), U256::ZERO);
    assert_eq!(
        message(at(BlockId::number(99)).await.unwrap_err()),
        "header not found"
    );
    assert_eq!(
        message(at(BlockId::hash(B256::repeat_byte(1))).await.unwrap_err()),
        "header for hash not found"
    );
    let sender = crate::common::signer(0).address();
    assert_eq!(
        client
            .transaction_count(sender, Some(BlockId::number(1)))
            .await
            .unwrap(),
        U256::from(1)
    );
    assert_eq!(
        client.transaction_count(sender, None).await.unwrap(),
        U256::from(2)
    );

    // Blocks, transactions and receipts.
    let block = client
        .block_by_hash(second, true)
        .await
        .unwrap()
        .expect("block by hash");
    assert_eq!(block.header.number, 2);
    let BlockTransactions::Full(txs) = &block.transactions else {
        panic!("full transactions");
    };
    assert_eq!(txs.len(), 2);
    let emit_hash = *txs[1].inner.tx_hash();
    let receipt = client
        .transaction_receipt(emit_hash)
        .await
        .unwrap()
        .expect("receipt");
    assert_eq!(receipt.transaction_index, Some(1));
    assert_eq!(receipt.inner.logs().len(), 1);
    assert_eq!(receipt.inner.logs()[0].log_index, Some(0));
    assert!(receipt.gas_used > 21_000 && receipt.gas_used < receipt.inner.cumulative_gas_used());
    let receipts = client
        .block_receipts(BlockId::latest())
        .await
        .unwrap()
        .expect("receipts");
    assert_eq!(receipts.len(), 2);
    assert_eq!(receipts[0].gas_used, 21_000);
    assert!(client
        .block_by_number(BlockNumberOrTag::Number(3), false)
        .await
        .unwrap()
        .is_none());
    let tx = client
        .transaction_by_hash(emit_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tx.block_hash, Some(second));

    // eth_call at an older block sees that block's state.
    let balance_call = TransactionRequest::default().to(recipient);
    client
        .call(balance_call, Some(BlockId::number(1)), None, None)
        .await
        .expect("a call to an EOA succeeds");
}
