//! WebSocket subscriptions fed by the engine: new heads and logs when a block becomes canonical,
//! removed logs on a reorganisation, pending transactions when the pool accepts one.

use crate::common::{chain, context, drive_block, emit, server, transaction, EMITTER, TOPIC};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256};
use alloy_rpc_types_engine::ForkchoiceState;
use alloy_rpc_types_eth::{
    pubsub::{Params, SubscriptionKind},
    Filter, Header, Log,
};
use fastevm_engine::Engine;
use fastevm_executor::BlockAttributes;
use fastevm_rpc::{EthApiClient, EthPubSubApiClient};
use jsonrpsee::{
    core::client::Subscription,
    ws_client::{WsClient, WsClientBuilder},
};
use std::time::Duration;

/// The next notification (a generous bound only guards against a hang; nothing is timed).
async fn next<T: serde::de::DeserializeOwned>(sub: &mut Subscription<serde_json::Value>) -> T {
    let value = tokio::time::timeout(Duration::from_secs(60), sub.next())
        .await
        .expect("a notification arrives")
        .expect("subscription open")
        .expect("valid notification");
    serde_json::from_value(value).expect("notification decodes")
}

async fn ws(addr: std::net::SocketAddr) -> WsClient {
    WsClientBuilder::default()
        .build(format!("ws://{addr}"))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_heads_and_logs_arrive_when_a_block_becomes_canonical() {
    let chain = chain(2);
    let ctx = context(&chain);
    let engine = Engine::new(chain);
    ctx.attach_to(&engine)
        .expect("start the canonical follower");
    let server = server(ctx).await;
    let client = ws(server.ws_addr).await;

    let mut heads = EthPubSubApiClient::subscribe_to(&client, SubscriptionKind::NewHeads, None)
        .await
        .unwrap();
    let mut logs = EthPubSubApiClient::subscribe_to(
        &client,
        SubscriptionKind::Logs,
        Some(Params::Logs(Box::new(Filter::new().address(EMITTER)))),
    )
    .await
    .unwrap();
    let mut other_logs = EthPubSubApiClient::subscribe_to(
        &client,
        SubscriptionKind::Logs,
        Some(Params::Logs(Box::new(
            Filter::new().address(Address::repeat_byte(3)),
        ))),
    )
    .await
    .unwrap();

    let first = drive_block(&engine, &[emit(0, 0, 5)]);
    let second = drive_block(&engine, &[emit(1, 0, 6), emit(0, 1, 7)]);

    let header: Header = next(&mut heads).await;
    assert_eq!((header.hash, header.number), (first, 1));
    let header: Header = next(&mut heads).await;
    assert_eq!((header.hash, header.number), (second, 2));

    let log: Log = next(&mut logs).await;
    assert_eq!((log.block_hash, log.block_number), (Some(first), Some(1)));
    assert_eq!(log.topics(), &[TOPIC]);
    assert!(!log.removed);
    for (index, word) in [(0u64, 6u8), (1, 7)] {
        let log: Log = next(&mut logs).await;
        assert_eq!(log.block_hash, Some(second));
        assert_eq!(log.log_index, Some(index));
        assert_eq!(log.data().data.as_ref(), &[word; 32]);
    }
    // The subscription for another address never matched anything.
    assert!(futures::FutureExt::now_or_never(other_logs.next()).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reorganisations_deliver_removed_logs_and_reinject_transactions() {
    let chain = chain(2);
    let ctx = context(&chain);
    let pool = ctx.pool.clone();
    let engine = Engine::new(chain);
    ctx.attach_to(&engine)
        .expect("start the canonical follower");
    let server = server(ctx).await;
    let client = ws(server.ws_addr).await;
    let mut logs = EthPubSubApiClient::subscribe_to(&client, SubscriptionKind::Logs, None)
        .await
        .unwrap();

    let genesis = engine.chain().store().head_hash().unwrap();
    let parent = engine.chain().store().head_header().unwrap();
    let emitted = emit(0, 0, 1);
    let a = drive_block(&engine, std::slice::from_ref(&emitted));
    let log: Log = next(&mut logs).await;
    assert_eq!((log.block_hash, log.removed), (Some(a), false));

    // A sibling of `a` without the transaction, then the head moves onto it.
    let attributes = BlockAttributes {
        timestamp: parent.timestamp + 2,
        prev_randao: B256::repeat_byte(9),
        fee_recipient: Address::repeat_byte(0xfe),
        withdrawals: Some(vec![]),
        parent_beacon_block_root: Some(B256::repeat_byte(1)),
        gas_limit: None,
        extra_data: Default::default(),
    };
    let sibling = engine
        .chain()
        .build_block(genesis, &attributes, vec![])
        .unwrap()
        .block;
    engine.chain().store_executed(&sibling).unwrap();
    let state = ForkchoiceState {
        head_block_hash: sibling.hash,
        safe_block_hash: genesis,
        finalized_block_hash: genesis,
    };
    engine.forkchoice_updated(state, None).unwrap();
    assert_eq!(engine.chain().store().head_hash().unwrap(), sibling.hash);

    let removed: Log = next(&mut logs).await;
    assert_eq!((removed.block_hash, removed.removed), (Some(a), true));
    assert_eq!(removed.transaction_hash, Some(*emitted.tx_hash()));
    // The transaction left the chain with its block and is back in the pool.
    assert!(pool.get(emitted.tx_hash()).is_some_and(|p| p.is_pending));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_transactions_are_announced() {
    let chain = chain(1);
    let ctx = context(&chain);
    let server = server(ctx).await;
    let client = ws(server.ws_addr).await;
    let mut hashes =
        EthPubSubApiClient::subscribe_to(&client, SubscriptionKind::NewPendingTransactions, None)
            .await
            .unwrap();
    let mut full = EthPubSubApiClient::subscribe_to(
        &client,
        SubscriptionKind::NewPendingTransactions,
        Some(Params::Bool(true)),
    )
    .await
    .unwrap();
    let tx = transaction(0, 0, Address::repeat_byte(7), 5, Default::default());
    let hash = client
        .send_raw_transaction(tx.encoded_2718().into())
        .await
        .unwrap();
    let announced: B256 = next(&mut hashes).await;
    assert_eq!(announced, hash);
    let announced: alloy_rpc_types_eth::Transaction = next(&mut full).await;
    assert_eq!(*announced.inner.tx_hash(), hash);
    assert_eq!(announced.block_hash, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncing_reports_not_syncing() {
    let chain = chain(1);
    let server = server(context(&chain)).await;
    let client = ws(server.ws_addr).await;
    let mut syncing = EthPubSubApiClient::subscribe_to(&client, SubscriptionKind::Syncing, None)
        .await
        .unwrap();
    let status: bool = next(&mut syncing).await;
    assert!(!status);
    let refused = EthPubSubApiClient::subscribe_to(
        &client,
        SubscriptionKind::Syncing,
        Some(Params::Bool(true)),
    )
    .await;
    assert!(refused.is_err(), "syncing takes no parameters");
}
