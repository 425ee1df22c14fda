//! `debug_getBadBlocks`: a payload the engine refuses is reported with its hash, its RLP and the
//! block with full transactions; valid blocks never are.

use crate::common::{
    build_block, chain, context, drive_block, http_post, server, signer, transaction,
};
use alloy_consensus::{Block, TxEnvelope};
use alloy_primitives::{Address, Bytes, B256};
use fastevm_engine::Engine;
use serde_json::{json, Value};

async fn bad_blocks(addr: std::net::SocketAddr) -> Vec<Value> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "debug_getBadBlocks", "params": []});
    let (status, text) = http_post(addr, &body.to_string()).await;
    assert_eq!(status, 200, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    answer["result"].as_array().expect("a list").clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_payloads_are_reported_with_block_hash_and_rlp() {
    let chain = chain(2);
    let engine = Engine::new(chain);
    let ctx = context(engine.chain()).with_bad_blocks(engine.bad_blocks());
    ctx.attach_to(&engine)
        .expect("start the canonical follower");
    let server = server(ctx).await;
    let addr = server.http_addr;

    drive_block(
        &engine,
        &[transaction(0, 0, Address::repeat_byte(7), 1, Bytes::new())],
    );
    assert!(
        bad_blocks(addr).await.is_empty(),
        "valid blocks are not bad"
    );

    let mut block = build_block(
        &engine,
        &[transaction(1, 0, Address::repeat_byte(7), 1, Bytes::new())],
    );
    block.header.state_root = B256::repeat_byte(0x5a);
    let hash = block.header.hash_slow();
    let status = engine.new_payload(block.clone(), hash, Some(&[])).unwrap();
    assert!(status.status.is_invalid(), "{status:?}");

    let reported = bad_blocks(addr).await;
    assert_eq!(reported.len(), 1, "{reported:?}");
    let bad = &reported[0];
    assert_eq!(bad["hash"], json!(hash));
    assert_eq!(bad["block"]["hash"], json!(hash));
    assert_eq!(bad["block"]["stateRoot"], json!(B256::repeat_byte(0x5a)));
    let txs = bad["block"]["transactions"].as_array().unwrap();
    assert_eq!(txs.len(), 1);
    assert_eq!(
        txs[0]["from"],
        json!(signer(1).address()),
        "full transactions"
    );
    let rlp: Bytes = serde_json::from_value(bad["rlp"].clone()).unwrap();
    let decoded: Block<TxEnvelope> = alloy_rlp::Decodable::decode(&mut rlp.as_ref()).unwrap();
    assert_eq!(decoded.header.hash_slow(), hash);
    assert_eq!(decoded, block);

    // Offered again, it is refused from the cache and not reported twice.
    let again = engine.new_payload(block, hash, Some(&[])).unwrap();
    assert!(again.status.is_invalid());
    assert_eq!(bad_blocks(addr).await.len(), 1);
}
