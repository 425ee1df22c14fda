//! Blob transactions (EIP-4844) end to end through the execution side: pooled with their
//! sidecars, built into a payload whose `engine_getPayloadV4` carries the blobs bundle, served
//! by `engine_getBlobsV1`, and — the Mysticeti path — built into the very same block and bundle
//! on another node from the network-form bytes consensus ordered. Blob transactions without
//! good blobs and blobs beyond the block's blob gas are left out.

use alloy_consensus::Transaction;
use alloy_eips::eip2718::Encodable2718;
use alloy_genesis::Genesis;
use alloy_primitives::{Bytes, B256};
use alloy_rpc_types_engine::{ExecutionPayloadEnvelopeV4, ForkchoiceState, PayloadStatusEnum};
use fastevm::{
    execution::{start_execution, ExecutionOptions, ExecutionStack},
    test_utils::payload_attributes,
};
use fastevm_blobs::{
    encode_network,
    test_utils::{sidecar_v0, sidecar_v1, signed_blob_tx},
    BlobSidecar,
};
use fastevm_dev_chain::{dev_genesis, dev_signers, DEV_CHAIN_ID};
use fastevm_engine::Engine;
use fastevm_engine_api::{
    engine_http_client, EngineApiClient, EngineHttpClient, FastPayloadAttributes, JwtSecret,
};
use fastevm_engine_rpc::{start_auth_server, EngineRpc, DEFAULT_AUTH_MAX_CONNECTIONS};
use fastevm_executor::{test_utils::in_memory_chain, Blockchain};
use fastevm_rpc::HeadState;
use jsonrpsee::server::ServerHandle;
use std::{sync::Arc, time::Duration};

const BLOB_GAS: u64 = 131_072;

fn fcs(hash: B256) -> ForkchoiceState {
    ForkchoiceState {
        head_block_hash: hash,
        safe_block_hash: hash,
        finalized_block_hash: hash,
    }
}

fn chain(name: &str) -> Blockchain {
    chain_from(name, dev_genesis())
}

/// The dev chain with Osaka (EIP-7594 cell proofs) from genesis on.
fn osaka_genesis() -> Genesis {
    let mut genesis = dev_genesis();
    genesis.config.osaka_time = Some(0);
    genesis
}

fn chain_from(name: &str, genesis: Genesis) -> Blockchain {
    in_memory_chain(name, &genesis)
}

/// An Engine API server over `engine` and a client of it.
async fn serve(engine: Arc<Engine>) -> (EngineHttpClient, ServerHandle) {
    let secret = JwtSecret::random();
    let (server, addr) = start_auth_server(
        "127.0.0.1:0".parse().unwrap(),
        secret.clone(),
        EngineRpc::new(engine, None),
        None,
        DEFAULT_AUTH_MAX_CONNECTIONS,
    )
    .await
    .unwrap();
    let client =
        engine_http_client(&format!("http://{addr}"), secret, Duration::from_secs(60)).unwrap();
    (client, server)
}

/// A node with a pool (which admits `network` as eth_sendRawTransaction would) and an Engine API
/// client of it.
async fn pooled_node(
    chain: Blockchain,
    network: &[u8],
) -> (ExecutionStack, EngineHttpClient, ServerHandle) {
    let stack = start_execution(chain, ExecutionOptions::default())
        .await
        .unwrap();
    let store = stack.engine.chain().store().clone();
    let spec = stack.engine.chain().spec().clone();
    stack
        .pool
        .add_raw(network, &HeadState::new(&store, &spec), 1_000_000_000)
        .unwrap();
    let (client, server) = serve(stack.engine.clone()).await;
    (stack, client, server)
}

/// Attributes of the block after genesis; `transactions`: the forced list (and no pool).
fn attributes(transactions: Option<Vec<Bytes>>) -> FastPayloadAttributes {
    FastPayloadAttributes {
        inner: payload_attributes(1, 1, 2),
        no_tx_pool: Some(transactions.is_some()),
        transactions,
        gas_limit: None,
        extra_data: None,
    }
}

async fn build(
    client: &EngineHttpClient,
    parent: B256,
    transactions: Option<Vec<Bytes>>,
) -> ExecutionPayloadEnvelopeV4 {
    let updated = client
        .forkchoice_updated_v3(fcs(parent), Some(attributes(transactions)))
        .await
        .unwrap();
    client
        .get_payload_v4(updated.payload_id.expect("payload id"))
        .await
        .unwrap()
}

fn transactions_of(envelope: &ExecutionPayloadEnvelopeV4) -> &[Bytes] {
    &envelope
        .envelope_inner
        .execution_payload
        .payload_inner
        .payload_inner
        .transactions
}

fn blob_gas_used(envelope: &ExecutionPayloadEnvelopeV4) -> u64 {
    envelope.envelope_inner.execution_payload.blob_gas_used
}

fn block_hash(envelope: &ExecutionPayloadEnvelopeV4) -> B256 {
    envelope
        .envelope_inner
        .execution_payload
        .payload_inner
        .payload_inner
        .block_hash
}

#[tokio::test]
async fn blobs_go_from_the_pool_into_the_bundle_and_through_ordered_bytes_alike() {
    let _turn = crate::module_turn::take(module_path!());
    let sidecar = sidecar_v0(2);
    let BlobSidecar::Eip4844(inner) = &sidecar else {
        unreachable!()
    };
    let tx = signed_blob_tx(&dev_signers()[0], DEV_CHAIN_ID, &sidecar, 0);
    let network = Bytes::from(encode_network(&tx, Some(&sidecar)));
    let versioned: Vec<B256> = tx.blob_versioned_hashes().unwrap().to_vec();

    // Node A: the transaction comes in through the pool, as eth_sendRawTransaction takes it.
    let (stack, a, _server_a) = pooled_node(chain("blobs-a"), &network).await;
    let genesis = stack.engine.chain().store().head_hash().unwrap();

    // engine_getBlobsV1 serves pooled blobs by versioned hash, null for unknown ones.
    let found = a
        .get_blobs_v1(vec![versioned[1], B256::ZERO, versioned[0]])
        .await
        .unwrap();
    assert_eq!(*found[0].as_ref().unwrap().blob, inner.blobs[1]);
    assert!(found[1].is_none());
    assert_eq!(found[2].as_ref().unwrap().proof, inner.proofs[0]);
    // No cell proofs before Osaka: V2 answers null, V3 null at every position.
    assert_eq!(a.get_blobs_v2(versioned.clone()).await.unwrap(), None);
    assert_eq!(
        a.get_blobs_v3(versioned.clone()).await.unwrap(),
        vec![None, None]
    );

    let from_pool = build(&a, genesis, None).await;
    assert_eq!(transactions_of(&from_pool), [tx.encoded_2718()]);
    assert_eq!(blob_gas_used(&from_pool), 2 * BLOB_GAS);
    let bundle = &from_pool.envelope_inner.blobs_bundle;
    assert_eq!(bundle.commitments, inner.commitments);
    assert_eq!(bundle.proofs, inner.proofs);
    assert_eq!(bundle.blobs, inner.blobs);

    // Node B: the same transaction as consensus orders it, in network form — same block, same
    // bundle.
    let engine_b = Arc::new(Engine::new(chain("blobs-b")));
    let (b, _server_b) = serve(engine_b).await;
    let from_order = build(&b, genesis, Some(vec![network.clone()])).await;
    assert_eq!(block_hash(&from_order), block_hash(&from_pool));
    assert_eq!(from_order.envelope_inner.blobs_bundle, *bundle);

    // Both import it; once canonical on A it leaves A's pool.
    for client in [&a, &b] {
        let payload = from_pool.envelope_inner.execution_payload.clone();
        let status = client
            .new_payload_v4(
                payload,
                versioned.clone(),
                B256::repeat_byte(2),
                from_pool.execution_requests.clone(),
            )
            .await
            .unwrap();
        assert_eq!(status.status, PayloadStatusEnum::Valid, "{status:?}");
        client
            .forkchoice_updated_v3(fcs(block_hash(&from_pool)), None)
            .await
            .unwrap();
    }
    stack.rpc_context.events.wait_for_follower();
    assert!(stack.pool.is_empty());
}

#[tokio::test]
async fn blob_transactions_without_good_blobs_or_room_are_left_out() {
    let _turn = crate::module_turn::take(module_path!());
    let engine = Arc::new(Engine::new(chain("blobs-left-out")));
    let genesis = engine.chain().store().head_hash().unwrap();
    let (client, _server) = serve(engine).await;
    let signer = &dev_signers()[0];

    // Without its sidecar (canonical form), or with blobs it does not commit to.
    let one = sidecar_v0(1);
    let tx = signed_blob_tx(signer, DEV_CHAIN_ID, &one, 0);
    let wrong_blobs = encode_network(&tx, Some(&sidecar_v0(2)));
    let built = build(
        &client,
        genesis,
        Some(vec![tx.encoded_2718().into(), wrong_blobs.into()]),
    )
    .await;
    assert!(transactions_of(&built).is_empty());
    assert!(built.envelope_inner.blobs_bundle.blobs.is_empty());

    // Prague allows 9 blobs a block: of two 6-blob transactions only the first fits.
    let six = sidecar_v0(6);
    let first = signed_blob_tx(signer, DEV_CHAIN_ID, &six, 0);
    let second = signed_blob_tx(signer, DEV_CHAIN_ID, &six, 1);
    let built = build(
        &client,
        genesis,
        Some(vec![
            encode_network(&first, Some(&six)).into(),
            encode_network(&second, Some(&six)).into(),
        ]),
    )
    .await;
    assert_eq!(transactions_of(&built), [first.encoded_2718()]);
    assert_eq!(blob_gas_used(&built), 6 * BLOB_GAS);
    assert_eq!(built.envelope_inner.blobs_bundle.blobs.len(), 6);
}

#[tokio::test]
async fn from_osaka_on_blobs_come_with_cell_proofs() {
    let _turn = crate::module_turn::take(module_path!());
    let sidecar = sidecar_v0(1);
    let tx = signed_blob_tx(&dev_signers()[0], DEV_CHAIN_ID, &sidecar, 0);
    let network = Bytes::from(encode_network(&tx, Some(&sidecar)));
    let versioned: Vec<B256> = tx.blob_versioned_hashes().unwrap().to_vec();
    let cells = sidecar_v1(1);
    let BlobSidecar::Eip7594(cells) = &cells else {
        unreachable!()
    };

    // A wallet still sending blob proofs: the pool keeps cell proofs instead, as geth does.
    let (stack, a, _server_a) =
        pooled_node(chain_from("blobs-osaka-a", osaka_genesis()), &network).await;
    let genesis = stack.engine.chain().store().head_hash().unwrap();

    let found = a.get_blobs_v2(versioned.clone()).await.unwrap().unwrap();
    assert_eq!(found[0].proofs, cells.cell_proofs);
    let partial = a
        .get_blobs_v3(vec![B256::ZERO, versioned[0]])
        .await
        .unwrap();
    assert!(partial[0].is_none() && partial[1].is_some());
    // One missing blob makes V2 answer null.
    assert_eq!(
        a.get_blobs_v2(vec![versioned[0], B256::ZERO])
            .await
            .unwrap(),
        None
    );
    // getBlobsV1 is for forks before Osaka.
    let error = a.get_blobs_v1(versioned.clone()).await.unwrap_err();
    assert!(error.to_string().contains("-38005"), "{error}");

    let updated = a
        .forkchoice_updated_v3(fcs(genesis), Some(attributes(None)))
        .await
        .unwrap();
    let from_pool = a.get_payload_v5(updated.payload_id.unwrap()).await.unwrap();
    assert_eq!(
        from_pool
            .execution_payload
            .payload_inner
            .payload_inner
            .transactions,
        [Bytes::from(tx.encoded_2718())]
    );
    assert_eq!(from_pool.blobs_bundle.commitments, cells.commitments);
    assert_eq!(from_pool.blobs_bundle.proofs, cells.cell_proofs);
    assert_eq!(from_pool.blobs_bundle.blobs, cells.blobs);

    // Another node given the pool's network form (what Mysticeti orders) builds the same.
    let (entries, _) = stack.pool.pending_since(0, 10);
    let engine_b = Arc::new(Engine::new(chain_from("blobs-osaka-b", osaka_genesis())));
    let (b, _server_b) = serve(engine_b).await;
    let updated = b
        .forkchoice_updated_v3(
            fcs(genesis),
            Some(attributes(Some(vec![entries[0].1.clone()]))),
        )
        .await
        .unwrap();
    let from_order = b.get_payload_v5(updated.payload_id.unwrap()).await.unwrap();
    assert_eq!(
        from_order
            .execution_payload
            .payload_inner
            .payload_inner
            .block_hash,
        from_pool
            .execution_payload
            .payload_inner
            .payload_inner
            .block_hash
    );
    assert_eq!(from_order.blobs_bundle, from_pool.blobs_bundle);
}
