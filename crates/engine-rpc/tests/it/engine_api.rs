//! The Engine API over JSON-RPC with JWT, as a consensus client uses it: authentication, every
//! method's version/fork rules and error codes, 100 blocks built on one node and replayed on a
//! fresh one through `engine_newPayloadV4`, and a reorganisation.

use crate::fixture::{dev_engine, engine_on, serve, Node};
use alloy_eips::eip2718::Encodable2718;
use alloy_eips::eip4895::Withdrawal;
use alloy_genesis::Genesis;
use alloy_primitives::{Address, Bytes, B256, U256, U64};
use alloy_rpc_types_engine::{
    ExecutionPayloadFieldV2, ExecutionPayloadInputV2, ForkchoiceState, PayloadId, PayloadStatusEnum,
};
use fastevm_dev_chain::{dev_genesis, dev_signers, sign_eip1559, TxFees, DEV_CHAIN_ID};
use fastevm_engine_api::{
    engine_http_client, test_utils::payload_attributes, ClientVersionV1, EngineApiClient,
    EngineHttpClient, FastPayloadAttributes,
};
use jsonrpsee::core::ClientError;
use std::{net::SocketAddr, time::Duration};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn node() -> Node {
    serve(dev_engine("engine-rpc")).await
}

async fn node_on(genesis: Genesis, name: &str) -> Node {
    serve(engine_on(&genesis, name)).await
}

fn client(node: &Node) -> EngineHttpClient {
    engine_http_client(
        &format!("http://{}", node.addr),
        node.secret.clone(),
        Duration::from_secs(30),
    )
    .unwrap()
}

fn fcs(h: B256) -> ForkchoiceState {
    ForkchoiceState {
        head_block_hash: h,
        safe_block_hash: h,
        finalized_block_hash: h,
    }
}

fn attributes(timestamp: u64, txs: Vec<Bytes>) -> FastPayloadAttributes {
    FastPayloadAttributes {
        inner: payload_attributes(timestamp, 1, 2),
        transactions: Some(txs),
        no_tx_pool: Some(true),
        gas_limit: None,
        extra_data: None,
    }
}

fn transfer(nonce: u64) -> Bytes {
    sign_eip1559(
        &dev_signers()[1],
        DEV_CHAIN_ID,
        nonce,
        Address::repeat_byte(0x42),
        U256::from(1),
        Bytes::new(),
        TxFees::default(),
    )
    .encoded_2718()
    .into()
}

fn code_of(err: ClientError) -> i32 {
    match err {
        ClientError::Call(obj) => obj.code(),
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
}

/// Sends a raw HTTP request and returns the status line and body.
async fn raw_post(addr: SocketAddr, auth: Option<String>, body: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = auth
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

/// One block through FCU(attrs) → getPayloadV4 → newPayloadV4 → FCU on the node behind `c`,
/// whose head is `head` at `timestamp`; returns the envelope.
async fn drive(
    c: &EngineHttpClient,
    head: B256,
    timestamp: u64,
    txs: Vec<Bytes>,
) -> alloy_rpc_types_engine::ExecutionPayloadEnvelopeV4 {
    let updated = c
        .forkchoice_updated_v3(fcs(head), Some(attributes(timestamp, txs)))
        .await
        .unwrap();
    assert_eq!(updated.payload_status.status, PayloadStatusEnum::Valid);
    let envelope = c.get_payload_v4(updated.payload_id.unwrap()).await.unwrap();
    let payload = &envelope.envelope_inner.execution_payload;
    let status = c
        .new_payload_v4(
            payload.clone(),
            vec![],
            B256::repeat_byte(2),
            envelope.execution_requests.clone(),
        )
        .await
        .unwrap();
    assert_eq!(status.status, PayloadStatusEnum::Valid, "{status:?}");
    let hash = payload.payload_inner.payload_inner.block_hash;
    let updated = c.forkchoice_updated_v3(fcs(hash), None).await.unwrap();
    assert_eq!(updated.payload_status.latest_valid_hash, Some(hash));
    envelope
}

fn hash_of(e: &alloy_rpc_types_engine::ExecutionPayloadEnvelopeV4) -> B256 {
    e.envelope_inner
        .execution_payload
        .payload_inner
        .payload_inner
        .block_hash
}

#[tokio::test]
async fn hundred_blocks_over_rpc_replay_identically_on_a_fresh_node() {
    let (a, b) = (node().await, node().await);
    let (ca, cb) = (client(&a), client(&b));
    let mut head = a.engine.chain().store().head_hash().unwrap();
    let mut envelopes = Vec::new();
    for n in 0..100u64 {
        let e = drive(&ca, head, n + 1, vec![transfer(n)]).await;
        head = hash_of(&e);
        envelopes.push(e);
    }
    for e in &envelopes {
        let status = cb
            .new_payload_v4(
                e.envelope_inner.execution_payload.clone(),
                vec![],
                B256::repeat_byte(2),
                e.execution_requests.clone(),
            )
            .await
            .unwrap();
        assert_eq!(status.status, PayloadStatusEnum::Valid);
        cb.forkchoice_updated_v3(fcs(hash_of(e)), None)
            .await
            .unwrap();
    }
    assert_eq!(b.engine.chain().store().head_hash().unwrap(), head);
    assert_eq!(a.engine.chain().store().head_hash().unwrap(), head);
}

#[tokio::test]
async fn methods_enforce_versions_forks_and_error_codes() {
    let n = node().await;
    let c = client(&n);
    let genesis = n.engine.chain().store().head_hash().unwrap();
    let caps = c
        .exchange_capabilities(vec!["engine_newPayloadV4".into()])
        .await
        .unwrap();
    assert!(caps.contains(&"engine_forkchoiceUpdatedV3".to_string()));
    let version = c
        .get_client_version_v1(ClientVersionV1 {
            code: "XX".into(),
            name: "test".into(),
            version: "0".into(),
            commit: "00".into(),
        })
        .await
        .unwrap();
    assert_eq!(version[0].name, "FastEVM");

    let e = drive(&c, genesis, 1, vec![transfer(0)]).await;
    let payload = e.envelope_inner.execution_payload.clone();
    // The dev chain is Prague: V3 methods refuse Prague payloads with -38005.
    let err = c
        .new_payload_v3(payload.clone(), vec![], B256::repeat_byte(2))
        .await
        .unwrap_err();
    assert_eq!(code_of(err), -38005);
    let updated = c
        .forkchoice_updated_v3(fcs(hash_of(&e)), Some(attributes(2, vec![])))
        .await
        .unwrap();
    let id = updated.payload_id.unwrap();
    assert_eq!(code_of(c.get_payload_v3(id).await.unwrap_err()), -38005);
    assert_eq!(code_of(c.get_payload_v5(id).await.unwrap_err()), -38005);
    assert!(c.get_payload_v4(id).await.is_ok());
    // V2 attributes on a Prague chain: unsupported fork.
    let mut v2 = attributes(3, vec![]);
    v2.inner.parent_beacon_block_root = None;
    assert_eq!(
        code_of(
            c.forkchoice_updated_v2(fcs(hash_of(&e)), Some(v2.clone()))
                .await
                .unwrap_err()
        ),
        -38005
    );
    // V3 attributes without a beacon root: invalid params.
    assert_eq!(
        code_of(
            c.forkchoice_updated_v3(fcs(hash_of(&e)), Some(v2))
                .await
                .unwrap_err()
        ),
        -32602
    );
    // Unknown payload id.
    assert_eq!(
        code_of(c.get_payload_v4(PayloadId::new([7; 8])).await.unwrap_err()),
        -38001
    );
    // Attributes timestamp before the head's: invalid payload attributes.
    let err = c
        .forkchoice_updated_v3(fcs(hash_of(&e)), Some(attributes(0, vec![])))
        .await
        .unwrap_err();
    assert_eq!(code_of(err), -38003);
    // Inconsistent forkchoice state.
    let bad = ForkchoiceState {
        head_block_hash: genesis,
        safe_block_hash: hash_of(&e),
        finalized_block_hash: genesis,
    };
    assert_eq!(
        code_of(c.forkchoice_updated_v3(bad, None).await.unwrap_err()),
        -38002
    );
    // Payload bodies: range rules.
    assert_eq!(
        code_of(
            c.get_payload_bodies_by_range_v1(U64::ZERO, U64::from(1))
                .await
                .unwrap_err()
        ),
        -32602
    );
    assert_eq!(
        code_of(
            c.get_payload_bodies_by_range_v1(U64::from(1), U64::from(2000))
                .await
                .unwrap_err()
        ),
        -38004
    );
    let bodies = c
        .get_payload_bodies_by_range_v1(U64::from(1), U64::from(5))
        .await
        .unwrap();
    assert_eq!(bodies.len(), 1);
    assert_eq!(c.get_blobs_v1(vec![B256::ZERO]).await.unwrap(), vec![None]);
    // A tampered payload is INVALID, naming the problem; an unknown parent is SYNCING.
    let mut tampered = payload.clone();
    tampered.payload_inner.payload_inner.state_root = B256::repeat_byte(0xee);
    let status = c
        .new_payload_v4(
            tampered,
            vec![],
            B256::repeat_byte(2),
            e.execution_requests.clone(),
        )
        .await
        .unwrap();
    assert!(
        matches!(status.status, PayloadStatusEnum::Invalid { .. }),
        "{status:?}"
    );
    let mut orphan = payload.clone();
    orphan.payload_inner.payload_inner.parent_hash = B256::repeat_byte(0x11);
    let status = c
        .new_payload_v4(
            orphan,
            vec![],
            B256::repeat_byte(2),
            e.execution_requests.clone(),
        )
        .await
        .unwrap();
    // Its hash no longer matches its contents: INVALID (hash is checked before the parent).
    assert!(matches!(status.status, PayloadStatusEnum::Invalid { .. }));
}

#[tokio::test]
async fn malformed_params_are_invalid_params_not_crashes() {
    let n = node().await;
    let token = || Some(n.secret.encode_token(fastevm_engine_api::jwt::unix_now()));
    let bad_hex = r#"{"jsonrpc":"2.0","id":1,"method":"engine_getPayloadV4","params":["0xzz"]}"#;
    let response = raw_post(n.addr, token(), bad_hex).await;
    assert!(response.contains("-32602"), "{response}");
    let wrong_shape = r#"{"jsonrpc":"2.0","id":1,"method":"engine_newPayloadV4","params":[{"parentHash":"0x01"}]}"#;
    let response = raw_post(n.addr, token(), wrong_shape).await;
    assert!(response.contains("-32602"), "{response}");
    let unknown = r#"{"jsonrpc":"2.0","id":1,"method":"engine_newPayloadV9","params":[]}"#;
    assert!(raw_post(n.addr, token(), unknown).await.contains("-32601"));
    // The server is still healthy.
    assert!(client(&n).exchange_capabilities(vec![]).await.is_ok());
}

#[tokio::test]
async fn forkchoice_over_rpc_reorganises() {
    let (a, b) = (node().await, node().await);
    let (ca, cb) = (client(&a), client(&b));
    let genesis = a.engine.chain().store().head_hash().unwrap();
    let a1 = drive(&ca, genesis, 1, vec![transfer(0)]).await;
    let a2 = drive(&ca, hash_of(&a1), 2, vec![transfer(1)]).await;
    let b1 = drive(&cb, genesis, 5, vec![]).await;
    // Side block b1 arrives at node a, then the consensus client switches to it.
    let status = ca
        .new_payload_v4(
            b1.envelope_inner.execution_payload.clone(),
            vec![],
            B256::repeat_byte(2),
            b1.execution_requests.clone(),
        )
        .await
        .unwrap();
    assert_eq!(status.status, PayloadStatusEnum::Valid);
    assert_eq!(a.engine.chain().store().head_hash().unwrap(), hash_of(&a2));
    ca.forkchoice_updated_v3(fcs(hash_of(&b1)), None)
        .await
        .unwrap();
    let store = a.engine.chain().store();
    assert_eq!(store.head_hash().unwrap(), hash_of(&b1));
    assert_eq!(store.account(&Address::repeat_byte(0x42)).unwrap(), None);
    assert_eq!(store.canonical_hash(2).unwrap(), None);
}

#[tokio::test]
async fn requests_without_a_valid_token_get_401_and_run_nothing() {
    let n = node().await;
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"engine_exchangeCapabilities","params":[[]]}"#;
    let missing = raw_post(n.addr, None, body).await;
    assert!(missing.starts_with("HTTP/1.1 401"), "{missing}");
    let stale = raw_post(
        n.addr,
        Some(
            n.secret
                .encode_token(fastevm_engine_api::jwt::unix_now() - 120),
        ),
        body,
    )
    .await;
    assert!(stale.starts_with("HTTP/1.1 401"), "{stale}");
    let wrong = raw_post(
        n.addr,
        Some(
            fastevm_engine_api::JwtSecret::random()
                .encode_token(fastevm_engine_api::jwt::unix_now()),
        ),
        body,
    )
    .await;
    assert!(wrong.starts_with("HTTP/1.1 401"), "{wrong}");
    let ok = raw_post(
        n.addr,
        Some(n.secret.encode_token(fastevm_engine_api::jwt::unix_now())),
        body,
    )
    .await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    assert!(ok.contains("engine_newPayloadV4"));
    // An unauthenticated forkchoiceUpdated with attributes built nothing.
    let fcu = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"engine_forkchoiceUpdatedV3","params":[{{"headBlockHash":"{h}","safeBlockHash":"{h}","finalizedBlockHash":"{h}"}},null]}}"#,
        h = B256::repeat_byte(9)
    );
    assert!(raw_post(n.addr, None, &fcu)
        .await
        .starts_with("HTTP/1.1 401"));
    assert_eq!(n.engine.chain().store().head_header().unwrap().number, 0);
}

/// The dev chain, but Paris at genesis and Shanghai from timestamp 2 (no Cancun, no Prague).
fn shanghai_at_2() -> Genesis {
    let mut genesis = dev_genesis();
    genesis.config.shanghai_time = Some(2);
    genesis.config.cancun_time = None;
    genesis.config.prague_time = None;
    genesis.config.osaka_time = None;
    genesis.config.blob_schedule.clear();
    genesis
}

/// PayloadAttributesV1 (`withdrawals: None`) or V2 (`Some`), with forced transactions.
fn attributes_v2(
    timestamp: u64,
    withdrawals: Option<Vec<Withdrawal>>,
    txs: Vec<Bytes>,
) -> FastPayloadAttributes {
    let mut a = attributes(timestamp, txs);
    a.inner.withdrawals = withdrawals;
    a.inner.parent_beacon_block_root = None;
    a
}

/// FCUv2(attrs) → getPayloadV2 → newPayloadV2 → FCUv2; returns what newPayloadV2 was sent.
async fn drive_v2(
    c: &EngineHttpClient,
    head: B256,
    attrs: FastPayloadAttributes,
) -> ExecutionPayloadInputV2 {
    let updated = c
        .forkchoice_updated_v2(fcs(head), Some(attrs))
        .await
        .unwrap();
    assert_eq!(updated.payload_status.status, PayloadStatusEnum::Valid);
    let envelope = c.get_payload_v2(updated.payload_id.unwrap()).await.unwrap();
    let input = match envelope.execution_payload {
        ExecutionPayloadFieldV2::V1(payload) => ExecutionPayloadInputV2 {
            execution_payload: payload,
            withdrawals: None,
        },
        ExecutionPayloadFieldV2::V2(payload) => ExecutionPayloadInputV2 {
            execution_payload: payload.payload_inner,
            withdrawals: Some(payload.withdrawals),
        },
    };
    let status = c.new_payload_v2(input.clone()).await.unwrap();
    assert_eq!(status.status, PayloadStatusEnum::Valid, "{status:?}");
    let hash = input.execution_payload.block_hash;
    assert_eq!(status.latest_valid_hash, Some(hash));
    let updated = c.forkchoice_updated_v2(fcs(hash), None).await.unwrap();
    assert_eq!(updated.payload_status.latest_valid_hash, Some(hash));
    input
}

#[tokio::test]
async fn v2_methods_run_a_chain_across_shanghai_and_replay_on_a_fresh_node() {
    let n = node_on(shanghai_at_2(), "engine-rpc-v2").await;
    let c = client(&n);
    let genesis = n.engine.chain().store().head_hash().unwrap();
    let recipient = Address::repeat_byte(0x77);

    // Paris: V1 attributes and a V1 payload (no withdrawals) through the V2 methods.
    let paris = drive_v2(&c, genesis, attributes_v2(1, None, vec![transfer(0)])).await;
    assert!(paris.withdrawals.is_none());
    assert_eq!(paris.execution_payload.transactions.len(), 1);

    // Shanghai: V2 attributes with a withdrawal, which credits its address.
    let withdrawal = Withdrawal {
        index: 0,
        validator_index: 9,
        address: recipient,
        amount: 5,
    };
    let shanghai = drive_v2(
        &c,
        paris.execution_payload.block_hash,
        attributes_v2(2, Some(vec![withdrawal]), vec![transfer(1)]),
    )
    .await;
    assert_eq!(shanghai.withdrawals, Some(vec![withdrawal]));
    let store = n.engine.chain().store();
    let head = store.head_header().unwrap();
    assert_eq!(head.number, 2);
    assert!(head.withdrawals_root.is_some());
    assert_eq!(
        store.account(&recipient).unwrap().unwrap().balance,
        U256::from(5_000_000_000u64),
        "5 gwei withdrawn"
    );

    // Each fork's payload shape only: a Shanghai payload without withdrawals, a Paris one with.
    let mut without = shanghai.clone();
    without.withdrawals = None;
    assert_eq!(
        code_of(c.new_payload_v2(without).await.unwrap_err()),
        -32602
    );
    let mut with = paris.clone();
    with.withdrawals = Some(vec![]);
    assert_eq!(code_of(c.new_payload_v2(with).await.unwrap_err()), -32602);
    // V1 attributes (no withdrawals) for a Shanghai block are invalid params.
    let tip = shanghai.execution_payload.block_hash;
    let err = c
        .forkchoice_updated_v2(fcs(tip), Some(attributes_v2(3, None, vec![])))
        .await
        .unwrap_err();
    assert_eq!(code_of(err), -32602);

    // The JSON a consensus client sees: getPayloadV2's envelope and newPayloadV2's status.
    let token = || Some(n.secret.encode_token(fastevm_engine_api::jwt::unix_now()));
    let updated = c
        .forkchoice_updated_v2(fcs(tip), Some(attributes_v2(3, Some(vec![]), vec![])))
        .await
        .unwrap();
    let id = updated.payload_id.unwrap();
    let body =
        format!(r#"{{"jsonrpc":"2.0","id":1,"method":"engine_getPayloadV2","params":["{id}"]}}"#);
    let response = raw_post(n.addr, token(), &body).await;
    let json: serde_json::Value =
        serde_json::from_str(response.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    let result = &json["result"];
    assert!(
        result["blockValue"].as_str().unwrap().starts_with("0x"),
        "{json}"
    );
    let payload = &result["executionPayload"];
    for field in [
        "parentHash",
        "feeRecipient",
        "stateRoot",
        "receiptsRoot",
        "logsBloom",
        "prevRandao",
        "blockNumber",
        "gasLimit",
        "gasUsed",
        "timestamp",
        "extraData",
        "baseFeePerGas",
        "blockHash",
        "transactions",
        "withdrawals",
    ] {
        assert!(
            !payload[field].is_null(),
            "executionPayload.{field} in {json}"
        );
    }
    assert!(
        payload.get("blobGasUsed").is_none(),
        "no Cancun fields: {json}"
    );
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":2,"method":"engine_newPayloadV2","params":[{payload}]}}"#
    );
    let response = raw_post(n.addr, token(), &body).await;
    let json: serde_json::Value =
        serde_json::from_str(response.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(json["result"]["status"], "VALID", "{json}");
    assert_eq!(json["result"]["latestValidHash"], payload["blockHash"]);
    assert!(json["result"]["validationError"].is_null());

    // A fresh node imports both blocks through newPayloadV2 and reaches the same head.
    let fresh = node_on(shanghai_at_2(), "engine-rpc-v2-fresh").await;
    let f = client(&fresh);
    for input in [&paris, &shanghai] {
        let status = f.new_payload_v2(input.clone()).await.unwrap();
        assert_eq!(status.status, PayloadStatusEnum::Valid, "{status:?}");
        let hash = input.execution_payload.block_hash;
        let updated = f.forkchoice_updated_v2(fcs(hash), None).await.unwrap();
        assert_eq!(updated.payload_status.status, PayloadStatusEnum::Valid);
    }
    assert_eq!(fresh.engine.chain().store().head_hash().unwrap(), tip);
}
