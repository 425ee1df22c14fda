//! Shared fixtures of the RPC tests and benchmark: a Cancun dev chain with funded accounts and a
//! log-emitting contract, transaction signing, Engine-driven block production and a raw HTTP
//! POST helper.

#![allow(dead_code, unreachable_pub)]

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_genesis::{Genesis, GenesisAccount};
use alloy_primitives::{Address, Bytes, TxKind, B256, U256};
use alloy_rpc_types_engine::{ForkchoiceState, PayloadAttributes, PayloadStatusEnum};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use fastevm_engine::Engine;
use fastevm_engine_api::PayloadRequest;
use fastevm_executor::{merged_at_genesis, test_utils::in_memory_chain, Blockchain};
use fastevm_rpc::{start_rpc_server, RpcContext, RpcServerConfig, RpcServerHandle};
use fastevm_txpool::{PoolConfig, TxPool};
use std::{collections::BTreeMap, net::SocketAddr, sync::Arc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Chain id of the test chain.
pub const CHAIN_ID: u64 = 31_337;
/// Balance of every funded account (1,000 ETH).
pub const FUNDS: u128 = 1_000_000_000_000_000_000_000;
/// Address of the contract that emits `LOG1(TOPIC, calldata[0..32])` on every call.
pub const EMITTER: Address = Address::new([0xee; 20]);
/// The emitter's topic.
pub const TOPIC: B256 = B256::new([0xaa; 32]);

/// Code of [`EMITTER`]: `mstore(0, calldataload(0)); log1(0, 32, TOPIC); stop`.
pub fn emitter_code() -> Bytes {
    let mut code = vec![0x60, 0x00, 0x35, 0x60, 0x00, 0x52, 0x7f];
    code.extend_from_slice(TOPIC.as_slice());
    code.extend_from_slice(&[0x60, 0x20, 0x60, 0x00, 0xa1, 0x00]);
    code.into()
}

/// The deterministic key of funded account `i`.
pub fn signer(i: u64) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&B256::from(U256::from(i + 1))).expect("valid key")
}

/// A genesis with Shanghai and Cancun at time 0, `accounts` funded signers and the emitter.
pub fn genesis(accounts: u64) -> Genesis {
    let config = merged_at_genesis(CHAIN_ID);
    let mut alloc: BTreeMap<Address, GenesisAccount> = (0..accounts)
        .map(|i| {
            (
                signer(i).address(),
                GenesisAccount::default().with_balance(U256::from(FUNDS)),
            )
        })
        .collect();
    alloc.insert(
        EMITTER,
        GenesisAccount::default().with_code(Some(emitter_code())),
    );
    Genesis {
        config,
        alloc,
        gas_limit: 60_000_000,
        base_fee_per_gas: Some(1_000_000_000),
        timestamp: 1_700_000_000,
        ..Default::default()
    }
}

/// A fresh in-memory chain from [`genesis`].
pub fn chain(accounts: u64) -> Blockchain {
    in_memory_chain("rpc-test", &genesis(accounts))
}

/// An RPC context over `chain` with an empty pool.
pub fn context(chain: &Blockchain) -> RpcContext {
    let pool = TxPool::new(PoolConfig::default(), chain.spec().chain_id);
    RpcContext::new(chain.store().clone(), chain.spec().clone(), Arc::new(pool))
}

/// Starts a server on loopback (HTTP and WebSocket on one port).
pub async fn server(ctx: RpcContext) -> RpcServerHandle {
    server_with(ctx, RpcServerConfig::default()).await
}

/// Starts a server on loopback with `config` (its addresses are replaced by port 0).
pub async fn server_with(ctx: RpcContext, config: RpcServerConfig) -> RpcServerHandle {
    let config = RpcServerConfig {
        http_addr: "127.0.0.1:0".parse().unwrap(),
        ws_addr: config.ws_addr.map(|_| "127.0.0.1:0".parse().unwrap()),
        ..config
    };
    start_rpc_server(config, ctx).await.expect("server starts")
}

/// An EIP-1559 transaction from funded account `from`.
pub fn transaction(from: u64, nonce: u64, to: Address, value: u64, input: Bytes) -> TxEnvelope {
    let tx = TxEip1559 {
        chain_id: CHAIN_ID,
        nonce,
        gas_limit: 100_000,
        max_fee_per_gas: 20_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(to),
        value: U256::from(value),
        access_list: Default::default(),
        input,
    };
    let signature = signer(from)
        .sign_hash_sync(&tx.signature_hash())
        .expect("local signing");
    tx.into_signed(signature).into()
}

/// A call of the emitter logging `word`.
pub fn emit(from: u64, nonce: u64, word: u8) -> TxEnvelope {
    transaction(from, nonce, EMITTER, 0, Bytes::from(vec![word; 32]))
}

fn forkchoice(head: B256) -> ForkchoiceState {
    ForkchoiceState {
        head_block_hash: head,
        safe_block_hash: head,
        finalized_block_hash: head,
    }
}

/// A block with exactly `txs` on the head, built through FCU(attributes) + getPayload but not
/// imported.
pub fn build_block(engine: &Engine, txs: &[TxEnvelope]) -> alloy_consensus::Block<TxEnvelope> {
    let store = engine.chain().store();
    let head = store.head_hash().unwrap();
    let parent = store.head_header().unwrap();
    let request = PayloadRequest {
        attributes: PayloadAttributes {
            timestamp: parent.timestamp + 1,
            prev_randao: B256::with_last_byte(parent.number as u8),
            suggested_fee_recipient: Address::repeat_byte(0xfe),
            withdrawals: Some(vec![]),
            parent_beacon_block_root: Some(B256::repeat_byte(1)),
            slot_number: None,
            target_gas_limit: None,
        },
        transactions: Some(txs.iter().map(|tx| tx.encoded_2718().into()).collect()),
        no_tx_pool: true,
        gas_limit: None,
        extra_data: None,
    };
    let updated = engine
        .forkchoice_updated(forkchoice(head), Some(request))
        .unwrap();
    let payload = engine.get_payload(updated.payload_id.unwrap()).unwrap();
    assert_eq!(
        payload.block.body.transactions.len(),
        txs.len(),
        "every transaction fits the block"
    );
    alloy_consensus::Block {
        header: payload.block.header.clone(),
        body: payload.block.body.clone(),
    }
}

/// Builds a block with exactly `txs` on the head through the Engine API calls and makes it the
/// head (the engine then notifies its transaction source). Returns the block hash.
pub fn drive_block(engine: &Engine, txs: &[TxEnvelope]) -> B256 {
    let block = build_block(engine, txs);
    let hash = block.header.hash_slow();
    let status = engine.new_payload(block, hash, Some(&[])).unwrap();
    assert_eq!(status.status, PayloadStatusEnum::Valid);
    engine.forkchoice_updated(forkchoice(hash), None).unwrap();
    hash
}

/// POSTs `body` to `addr` over a fresh HTTP/1.1 connection; returns the status and body.
pub async fn http_post(addr: SocketAddr, body: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, payload) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked")
    });
    let body = if chunked {
        dechunk(payload)
    } else {
        payload.to_string()
    };
    (status, body)
}

fn dechunk(mut payload: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = payload.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        payload = rest[size..].trim_start_matches("\r\n");
    }
    out
}
