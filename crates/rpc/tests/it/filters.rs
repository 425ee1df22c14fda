//! Polling filters: creation, changes after a new head, uninstall, expiry on the logical clock,
//! waiting for the canonical follower (and not hanging on a stuck one).

use crate::common::{chain, context, drive_block, emit, server, transaction, EMITTER, TOPIC};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, U64};
use alloy_rpc_types_eth::{Filter, FilterChanges, Header, Log};
use fastevm_engine::Engine;
use fastevm_rpc::{BlockEvent, CanonicalUpdate, EthApiClient, FILTER_TIMEOUT_SECS, FOLLOWER_WAIT};
use jsonrpsee::{core::ClientError, http_client::HttpClientBuilder};
use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

/// Block or transaction hashes of a poll (an empty answer decodes as `Empty`).
pub(crate) fn hashes(changes: FilterChanges) -> Vec<B256> {
    match changes {
        FilterChanges::Empty => vec![],
        FilterChanges::Hashes(hashes) => hashes,
        other => panic!("expected hashes, got {other:?}"),
    }
}

/// Logs of a poll.
fn logs_of(changes: FilterChanges) -> Vec<Log> {
    match changes {
        FilterChanges::Empty => vec![],
        FilterChanges::Logs(logs) => logs,
        other => panic!("expected logs, got {other:?}"),
    }
}

fn error_message(e: ClientError) -> (i32, String) {
    match e {
        ClientError::Call(object) => (object.code(), object.message().to_string()),
        other => panic!("expected a JSON-RPC error, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_collect_changes_until_polled_and_can_be_uninstalled() {
    let chain = chain(2);
    let ctx = context(&chain);
    let engine = Engine::new(chain);
    ctx.attach_to(&engine)
        .expect("start the canonical follower");
    let server = server(ctx).await;
    let client = HttpClientBuilder::default()
        .build(format!("http://{}", server.http_addr))
        .unwrap();

    let blocks = client.new_block_filter().await.unwrap();
    let logs = client
        .new_filter(Filter::new().address(EMITTER).into())
        .await
        .unwrap();
    let other_logs = client
        .new_filter(Filter::new().address(Address::repeat_byte(1)).into())
        .await
        .unwrap();
    let pending = client.new_pending_transaction_filter().await.unwrap();
    assert!(hashes(client.filter_changes(blocks).await.unwrap()).is_empty());

    let hash = drive_block(&engine, &[emit(0, 0, 7), emit(1, 0, 8)]);
    assert_eq!(
        hashes(client.filter_changes(blocks).await.unwrap()),
        vec![hash]
    );
    let found = logs_of(client.filter_changes(logs).await.unwrap());
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].topics(), &[TOPIC]);
    assert_eq!(found[1].data().data.as_ref(), &[8u8; 32]);
    assert_eq!(
        (
            found[1].block_hash,
            found[1].log_index,
            found[1].transaction_index
        ),
        (Some(hash), Some(1), Some(1))
    );
    // Changes are delivered once.
    assert!(logs_of(client.filter_changes(logs).await.unwrap()).is_empty());
    assert!(logs_of(client.filter_changes(other_logs).await.unwrap()).is_empty());
    // The whole query of a log filter, run now.
    assert_eq!(client.filter_logs(logs).await.unwrap().len(), 2);

    let tx = transaction(0, 1, Address::repeat_byte(9), 1, Default::default());
    let tx_hash = client
        .send_raw_transaction(tx.encoded_2718().into())
        .await
        .unwrap();
    assert_eq!(
        hashes(client.filter_changes(pending).await.unwrap()),
        vec![tx_hash]
    );
    assert!(hashes(client.filter_changes(pending).await.unwrap()).is_empty());

    assert!(client.uninstall_filter(blocks).await.unwrap());
    assert!(!client.uninstall_filter(blocks).await.unwrap());
    let error = client.filter_changes(blocks).await.unwrap_err();
    assert_eq!(error_message(error), (-32000, "filter not found".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_expire_after_five_minutes_without_a_poll() {
    let chain = chain(1);
    let ctx = context(&chain);
    let registry_ctx = ctx.clone();
    let server = server(ctx).await;
    let client = HttpClientBuilder::default()
        .build(format!("http://{}", server.http_addr))
        .unwrap();
    let filters = registry_ctx.events.filters();

    let polled = client.new_block_filter().await.unwrap();
    let idle = client.new_block_filter().await.unwrap();
    let start = filters.now();
    // Just under the timeout: both alive; polling restarts one filter's timer.
    assert_eq!(filters.advance_clock(start + FILTER_TIMEOUT_SECS - 1), 0);
    client.filter_changes(polled).await.unwrap();
    // The idle filter reaches the timeout, the polled one does not.
    assert_eq!(filters.advance_clock(start + FILTER_TIMEOUT_SECS), 1);
    client.filter_changes(polled).await.unwrap();
    let error = client.filter_changes(idle).await.unwrap_err();
    assert_eq!(error_message(error).1, "filter not found");
    // The clock never runs backwards.
    assert_eq!(filters.advance_clock(0), 0);
    assert_eq!(filters.now(), start + FILTER_TIMEOUT_SECS);
    assert_eq!(filters.len(), 1);
    let unknown = client.filter_changes(U64::from(12_345)).await.unwrap_err();
    assert_eq!(error_message(unknown).0, -32000);
}

/// A server whose pool and events are followed by a follower run by hand: registered with the
/// hub, handling nothing unless the test does; with a block filter installed.
struct HandRunFollower {
    engine: Engine,
    ctx: fastevm_rpc::RpcContext,
    changes: fastevm_engine::CanonicalSubscription,
    client: jsonrpsee::http_client::HttpClient,
    blocks: U64,
    _server: fastevm_rpc::RpcServerHandle,
}

async fn hand_run_follower() -> HandRunFollower {
    let chain = chain(1);
    let ctx = context(&chain);
    let engine = Engine::new(chain);
    let changes = engine.subscribe_canonical_changes();
    ctx.events.follower_started(changes.published.clone(), 0);
    let server = server(ctx.clone()).await;
    let client = HttpClientBuilder::default()
        .build(format!("http://{}", server.http_addr))
        .unwrap();
    let blocks = client.new_block_filter().await.unwrap();
    HandRunFollower {
        engine,
        ctx,
        changes,
        client,
        blocks,
        _server: server,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_waits_until_the_follower_has_handled_earlier_head_moves() {
    let HandRunFollower {
        engine,
        ctx,
        mut changes,
        client,
        blocks,
        _server,
    } = hand_run_follower().await;

    let hash = drive_block(&engine, &[]);
    let change = changes.receiver.recv().await.unwrap();
    let handled = Arc::new(AtomicBool::new(false));
    let follower = {
        let (ctx, handled) = (ctx.clone(), handled.clone());
        std::thread::spawn(move || {
            // Slower than the poll below: without waiting, the poll would come back empty.
            std::thread::sleep(std::time::Duration::from_millis(300));
            let header = Header {
                hash: change.added[0].hash,
                ..Default::default()
            };
            ctx.events.publish(CanonicalUpdate {
                removed: vec![],
                added: vec![BlockEvent {
                    header,
                    logs: vec![],
                }],
            });
            handled.store(true, Ordering::SeqCst);
            ctx.events.follower_handled(change.sequence);
        })
    };
    let polled = hashes(client.filter_changes(blocks).await.unwrap());
    assert!(
        handled.load(Ordering::SeqCst),
        "the poll waited for the follower"
    );
    assert_eq!(polled, vec![hash]);
    follower.join().unwrap();

    // Caught up, or without a follower at all: polls answer at once.
    assert!(hashes(client.filter_changes(blocks).await.unwrap()).is_empty());
    ctx.events.follower_stopped();
    drive_block(&engine, &[]);
    assert!(hashes(client.filter_changes(blocks).await.unwrap()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_answers_when_the_follower_is_stuck() {
    // The hand-run follower never handles anything here.
    let HandRunFollower {
        engine,
        client,
        blocks,
        _server,
        ..
    } = hand_run_follower().await;
    drive_block(&engine, &[]);

    // The poll waits for the follower, gives up after FOLLOWER_WAIT and answers with what the
    // hub has (nothing: the follower published nothing), instead of hanging.
    let asked = std::time::Instant::now();
    let polled = tokio::time::timeout(
        FOLLOWER_WAIT + std::time::Duration::from_secs(10),
        client.filter_changes(blocks),
    )
    .await
    .expect("the poll answers")
    .unwrap();
    assert!(hashes(polled).is_empty());
    assert!(
        asked.elapsed() >= FOLLOWER_WAIT,
        "the poll waited for the follower first"
    );
}
