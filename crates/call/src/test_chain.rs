//! A small in-memory chain for the call tests: a Cancun genesis with a funded account and a few
//! hand-assembled contracts, and blocks built on it from signed transactions.

use super::CallContext;
use alloy_consensus::{Header, SignableTransaction, TxEip1559, TxEnvelope};
use alloy_genesis::GenesisAccount;
use alloy_primitives::{address, Address, Bytes, TxKind, B256, U256};
use alloy_rpc_types_eth::TransactionRequest;
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use fastevm_executor::{parse_genesis, test_utils::in_memory_chain, BlockAttributes, Blockchain};

/// Chain id of the test chain.
pub(crate) const CHAIN_ID: u64 = 1337;
/// An account holding 10 ETH.
pub(crate) const FUNDED: Address = address!("0x1000000000000000000000000000000000000001");
/// Empty calldata: returns storage slot 0. 32 bytes of calldata: stores them in slot 0.
pub(crate) const STORE: Address = address!("0x5700000000000000000000000000000000000001");
/// Genesis value of STORE's slot 0.
pub(crate) const STORE_VALUE: u64 = 7;
/// Reverts with `Error("nope")`.
pub(crate) const REVERTER: Address = address!("0xdead000000000000000000000000000000000001");
/// Returns NUMBER, TIMESTAMP, BASEFEE and COINBASE as four words.
pub(crate) const BLOCK_INFO: Address = address!("0xb10c000000000000000000000000000000000001");
/// Calls STORE with its own calldata and all its gas; reverts if that call fails.
pub(crate) const FORWARDER: Address = address!("0xf0f0000000000000000000000000000000000001");
/// Loops until it runs out of gas.
pub(crate) const LOOP: Address = address!("0x1001000000000000000000000000000000000001");
/// Emits LOG1(topic 0xff) with the word 42 as data.
pub(crate) const LOGGER: Address = address!("0x1060000000000000000000000000000000000001");

/// ABI encoding of `Error(message)`.
pub(crate) fn error_string(message: &str) -> Vec<u8> {
    let mut out = vec![0x08, 0xc3, 0x79, 0xa0];
    out.extend_from_slice(&U256::from(32).to_be_bytes::<32>());
    out.extend_from_slice(&U256::from(message.len()).to_be_bytes::<32>());
    let mut padded = message.as_bytes().to_vec();
    padded.resize(message.len().div_ceil(32) * 32, 0);
    out.extend_from_slice(&padded);
    out
}

/// A 32-byte big-endian word.
pub(crate) fn word(value: u64) -> Bytes {
    Bytes::from(U256::from(value).to_be_bytes::<32>())
}

fn store_code() -> Bytes {
    Bytes::from_static(&[
        0x36, 0x15, 0x60, 0x0c, 0x57, // CALLDATASIZE ISZERO PUSH1 12 JUMPI
        0x60, 0x00, 0x35, 0x60, 0x00, 0x55, 0x00, // SSTORE(0, CALLDATALOAD(0)) STOP
        0x5b, 0x60, 0x00, 0x54, // JUMPDEST SLOAD(0)
        0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3, // MSTORE(0) RETURN(0, 32)
    ])
}

fn reverter_code() -> Bytes {
    let data = error_string("nope");
    let len = u8::try_from(data.len()).expect("short revert data");
    // CODECOPY(0, 12, len) REVERT(0, len), then the data at offset 12.
    let mut code = vec![
        0x60, len, 0x60, 12, 0x60, 0x00, 0x39, 0x60, len, 0x60, 0x00, 0xfd,
    ];
    code.extend_from_slice(&data);
    code.into()
}

fn block_info_code() -> Bytes {
    Bytes::from_static(&[
        0x43, 0x60, 0x00, 0x52, // NUMBER MSTORE(0)
        0x42, 0x60, 0x20, 0x52, // TIMESTAMP MSTORE(32)
        0x48, 0x60, 0x40, 0x52, // BASEFEE MSTORE(64)
        0x41, 0x60, 0x60, 0x52, // COINBASE MSTORE(96)
        0x60, 0x80, 0x60, 0x00, 0xf3, // RETURN(0, 128)
    ])
}

fn forwarder_code() -> Bytes {
    let mut code = vec![
        0x36, 0x60, 0x00, 0x60, 0x00, 0x37, // CALLDATACOPY(0, 0, CALLDATASIZE)
        0x60, 0x00, 0x60, 0x00, 0x36, 0x60, 0x00, 0x60,
        0x00, // retLen retOff argsLen argsOff value
        0x73, // PUSH20 STORE
    ];
    code.extend_from_slice(STORE.as_slice());
    code.extend_from_slice(&[
        0x5a, 0xf1, // GAS CALL
        0x15, 0x60, 0x2b, 0x57, 0x00, // ISZERO PUSH1 43 JUMPI STOP
        0x5b, 0x60, 0x00, 0x80, 0xfd, // JUMPDEST REVERT(0, 0)
    ]);
    code.into()
}

/// The test chain: a store with the genesis (and any mined blocks) and a funded signer.
pub(crate) struct TestChain {
    pub(crate) blockchain: Blockchain,
    /// Canonical (hash, header) by block number.
    pub(crate) blocks: Vec<(B256, Header)>,
    pub(crate) signer: PrivateKeySigner,
}

impl TestChain {
    pub(crate) fn new() -> Self {
        let signer = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x11)).expect("valid key");
        let mut genesis = parse_genesis(
            r#"{
                "config": {
                    "chainId": 1337, "homesteadBlock": 0, "eip150Block": 0, "eip155Block": 0,
                    "eip158Block": 0, "byzantiumBlock": 0, "constantinopleBlock": 0,
                    "petersburgBlock": 0, "istanbulBlock": 0, "berlinBlock": 0,
                    "londonBlock": 0, "mergeNetsplitBlock": 0, "terminalTotalDifficulty": 0,
                    "terminalTotalDifficultyPassed": true, "shanghaiTime": 0, "cancunTime": 0
                },
                "timestamp": "0x10", "gasLimit": "0x1c9c380", "difficulty": "0x0", "alloc": {}
            }"#,
        )
        .expect("valid genesis");
        let ether = U256::from(10u128.pow(18));
        let contract = |code: Bytes| GenesisAccount::default().with_code(Some(code));
        genesis.alloc.extend([
            (
                FUNDED,
                GenesisAccount::default().with_balance(ether * U256::from(10)),
            ),
            (
                signer.address(),
                GenesisAccount::default().with_balance(ether * U256::from(10)),
            ),
            (
                STORE,
                contract(store_code()).with_storage(Some(
                    [(B256::ZERO, B256::from(U256::from(STORE_VALUE)))].into(),
                )),
            ),
            (REVERTER, contract(reverter_code())),
            (BLOCK_INFO, contract(block_info_code())),
            (FORWARDER, contract(forwarder_code())),
            (
                LOOP,
                contract(Bytes::from_static(&[0x5b, 0x60, 0x00, 0x56])),
            ),
            (
                LOGGER,
                contract(Bytes::from_static(&[
                    0x60, 0x2a, 0x60, 0x00, 0x52, 0x60, 0xff, 0x60, 0x20, 0x60, 0x00, 0xa1, 0x00,
                ])),
            ),
        ]);
        let blockchain = in_memory_chain("call-tests", &genesis);
        let store = blockchain.store();
        let genesis_block = (
            store.head_hash().expect("head"),
            store.head_header().expect("genesis header"),
        );
        Self {
            blockchain,
            blocks: vec![genesis_block],
            signer,
        }
    }

    /// Context of canonical block `number`.
    pub(crate) fn at(&self, number: usize) -> CallContext<'_> {
        let (hash, header) = &self.blocks[number];
        CallContext {
            store: self.blockchain.store(),
            spec: self.blockchain.spec(),
            header,
            block_hash: *hash,
        }
    }

    /// Context of the head.
    pub(crate) fn head(&self) -> CallContext<'_> {
        self.at(self.blocks.len() - 1)
    }

    pub(crate) fn genesis_header(&self) -> &Header {
        &self.blocks[0].1
    }

    /// A call request to `to`, from nobody, without fees.
    pub(crate) fn to(to: Address) -> TransactionRequest {
        TransactionRequest::default().to(to)
    }

    /// A signed EIP-1559 transaction from the signer.
    pub(crate) fn sign(&self, nonce: u64, to: Address, input: Bytes) -> TxEnvelope {
        let tx = TxEip1559 {
            chain_id: CHAIN_ID,
            nonce,
            gas_limit: 200_000,
            max_fee_per_gas: 10_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to: TxKind::Call(to),
            input,
            ..Default::default()
        };
        let signature = self
            .signer
            .sign_hash_sync(&tx.signature_hash())
            .expect("signing");
        TxEnvelope::from(tx.into_signed(signature))
    }

    /// Builds a block with `transactions` on the head, stores it and makes it the head.
    pub(crate) fn mine(&mut self, transactions: Vec<TxEnvelope>) -> B256 {
        let (parent_hash, parent) = self.blocks.last().expect("genesis").clone();
        let sender = self.signer.address();
        let attributes = BlockAttributes {
            timestamp: parent.timestamp + 12,
            prev_randao: B256::repeat_byte(0x33),
            fee_recipient: Address::repeat_byte(0xfe),
            withdrawals: Some(vec![]),
            parent_beacon_block_root: Some(B256::ZERO),
            gas_limit: None,
            extra_data: Bytes::new(),
        };
        let candidates = transactions.into_iter().map(|tx| (tx, sender)).collect();
        let built = self
            .blockchain
            .build_block(parent_hash, &attributes, candidates)
            .expect("block builds");
        assert!(built.skipped.is_empty(), "{:?}", built.skipped);
        let outcome = self
            .blockchain
            .store_executed(&built.block)
            .expect("stored");
        assert!(outcome.canonical);
        self.blocks.push((built.block.hash, built.block.header));
        built.block.hash
    }
}
