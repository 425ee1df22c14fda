//! The canonical follower's slow path: a follower that fell more than the engine's channel
//! behind resynchronises the pool with the head and goes on (a stuck follower: `filters.rs`).

use crate::common::{chain, context, drive_block, server, transaction};
use crate::filters::hashes;
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::Address;
use fastevm_engine::{Engine, CANONICAL_CHANNEL_CAPACITY};
use fastevm_rpc::{CanonicalFollower, EthApiClient};
use jsonrpsee::http_client::HttpClientBuilder;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_that_fell_behind_the_channel_catches_up_and_follows_on() {
    let chain = chain(2);
    let ctx = context(&chain);
    let engine = Engine::new(chain);
    let server = server(ctx.clone()).await;
    let client = HttpClientBuilder::default()
        .build(format!("http://{}", server.http_addr))
        .unwrap();
    let tx = transaction(0, 0, Address::repeat_byte(9), 1, Default::default());
    let tx_hash = client
        .send_raw_transaction(tx.encoded_2718().into())
        .await
        .unwrap();
    assert!(ctx.pool.contains(&tx_hash));

    // Subscribed, but nobody reads while the transaction is included and the channel overflows.
    let subscription = engine.subscribe_canonical_changes();
    drive_block(&engine, &[tx]);
    for _ in 0..CANONICAL_CHANNEL_CAPACITY + 20 {
        drive_block(&engine, &[]);
    }
    assert!(ctx.pool.contains(&tx_hash), "no follower has run yet");

    CanonicalFollower::new(ctx.clone())
        .spawn(subscription)
        .expect("start the follower");
    // The change that included the transaction is gone from the channel; the pool still ends up
    // without it (the resynchronisation, then each retained change, checks it against the head).
    let deadline = Instant::now() + Duration::from_secs(30);
    while ctx.pool.contains(&tx_hash) {
        assert!(
            Instant::now() < deadline,
            "the lagging follower never resynchronised the pool"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The follower survived the overflow and follows the next head moves: a poll sees the next
    // block (a follower that had stopped would leave the poll empty).
    let blocks = client.new_block_filter().await.unwrap();
    let next = drive_block(&engine, &[]);
    assert_eq!(
        hashes(client.filter_changes(blocks).await.unwrap()),
        vec![next]
    );
}
