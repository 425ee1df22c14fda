//! Building blocks from ordered transactions: invalid candidates are skipped deterministically,
//! the same parent and attributes give the same block on any node, and a built block replays on a
//! fresh node to the same hash.

use alloy_primitives::{Address, Bytes, B256, U256};
use fastevm::test_utils::{
    sign_eip1559, token_balance_slot, token_runtime_code, token_transfer_calldata, transfer_topic,
    TxFees,
};
use fastevm_dev_chain::{dev_genesis, dev_signers, DEV_CHAIN_ID};
use fastevm_executor::{test_utils::in_memory_chain, BlockAttributes, Blockchain};

const TOKEN: Address = Address::new([0x70; 20]);

fn node() -> Blockchain {
    let mut genesis = dev_genesis();
    let holder = dev_signers()[0].address();
    genesis.alloc.insert(
        TOKEN,
        alloy_genesis::GenesisAccount::default()
            .with_code(Some(token_runtime_code()))
            .with_storage(Some(
                [(
                    token_balance_slot(holder),
                    B256::from(U256::from(1_000_000)),
                )]
                .into(),
            )),
    );
    in_memory_chain("building", &genesis)
}

fn attributes(timestamp: u64) -> BlockAttributes {
    BlockAttributes {
        timestamp,
        prev_randao: B256::repeat_byte(7),
        fee_recipient: Address::repeat_byte(0xfe),
        withdrawals: Some(vec![]),
        parent_beacon_block_root: Some(B256::repeat_byte(1)),
        gas_limit: None,
        extra_data: Bytes::new(),
    }
}

#[test]
fn build_skips_invalid_and_replays_identically() {
    let _turn = crate::module_turn::take(module_path!());
    let a = node();
    let b = node();
    let signers = dev_signers();
    let to = signers[5].address();
    let fees = TxFees::default();
    let transfer = |s: usize, nonce: u64, value: u64| {
        sign_eip1559(
            &signers[s],
            DEV_CHAIN_ID,
            nonce,
            to,
            U256::from(value),
            Bytes::new(),
            fees,
        )
    };
    let good0 = transfer(0, 0, 1);
    let good1 = transfer(0, 1, 2);
    let nonce_gap = transfer(1, 5, 1);
    // Both send more than the 10,000 ETH their senders hold: insufficient funds.
    let too_rich = sign_eip1559(
        &signers[2],
        DEV_CHAIN_ID,
        0,
        to,
        U256::from(10u128.pow(24)),
        Bytes::new(),
        fees,
    );
    let broke = sign_eip1559(
        &signers[3],
        DEV_CHAIN_ID,
        0,
        to,
        U256::from(10u128.pow(22)),
        Bytes::new(),
        fees,
    );
    let token_call = sign_eip1559(
        &signers[0],
        DEV_CHAIN_ID,
        2,
        TOKEN,
        U256::ZERO,
        token_transfer_calldata(to, U256::from(250)),
        TxFees {
            gas_limit: 100_000,
            ..fees
        },
    );
    let candidates = |txs: &[&alloy_consensus::TxEnvelope]| -> Vec<_> {
        txs.iter()
            .map(|tx| {
                let sender =
                    alloy_consensus::transaction::SignerRecoverable::recover_signer(*tx).unwrap();
                ((*tx).clone(), sender)
            })
            .collect()
    };
    let list = [
        &good0,
        &nonce_gap,
        &good0,
        &broke,
        &good1,
        &too_rich,
        &token_call,
    ];
    let genesis = a.store().head_hash().unwrap();
    let built_a = a
        .build_block(genesis, &attributes(12), candidates(&list))
        .unwrap();
    let built_b = b
        .build_block(genesis, &attributes(12), candidates(&list))
        .unwrap();
    assert_eq!(
        built_a.block.hash, built_b.block.hash,
        "same parent + attributes must give the same block"
    );

    let included: Vec<_> = built_a
        .block
        .body
        .transactions
        .iter()
        .map(|t| *t.tx_hash())
        .collect();
    assert_eq!(
        included,
        vec![*good0.tx_hash(), *good1.tx_hash(), *token_call.tx_hash()]
    );
    let skipped: Vec<_> = built_a.skipped.iter().map(|s| s.index).collect();
    assert_eq!(skipped, vec![1, 2, 3, 5]);
    assert!(built_a
        .skipped
        .iter()
        .find(|s| s.index == 2)
        .unwrap()
        .reason
        .contains("duplicate"));

    // The token call succeeded and logged Transfer(from, to, 250).
    let receipt = &built_a.block.receipts[2];
    assert!(receipt.status());
    let log = &receipt.logs()[0];
    assert_eq!(log.topics()[0], transfer_topic());
    assert_eq!(U256::from_be_slice(&log.data.data), U256::from(250));

    // Node A stores it; node B imports the block as a validator would, and agrees.
    a.store_executed(&built_a.block).unwrap();
    let block = alloy_consensus::Block {
        header: built_a.block.header.clone(),
        body: built_a.block.body.clone(),
    };
    let imported = b.insert_block(&block).unwrap();
    assert_eq!(imported.hash, built_a.block.hash);
    assert!(imported.canonical);
    for chain in [&a, &b] {
        let store = chain.store();
        assert_eq!(store.head_hash().unwrap(), built_a.block.hash);
        assert_eq!(
            store.storage(&TOKEN, &token_balance_slot(to)).unwrap(),
            U256::from(250)
        );
        assert_eq!(
            store.account(&signers[0].address()).unwrap().unwrap().nonce,
            3
        );
    }
}

#[test]
fn tampered_block_names_the_field() {
    let _turn = crate::module_turn::take(module_path!());
    let a = node();
    let b = node();
    let genesis = a.store().head_hash().unwrap();
    let built = a.build_block(genesis, &attributes(12), vec![]).unwrap();
    let mut header = built.block.header.clone();
    header.state_root = B256::repeat_byte(0xab);
    let block = alloy_consensus::Block {
        header,
        body: built.block.body.clone(),
    };
    let err = b.insert_block(&block).unwrap_err().to_string();
    assert!(err.contains("stateRoot mismatch"), "{err}");
    assert!(
        err.contains(&format!("{}", B256::repeat_byte(0xab))),
        "{err}"
    );
    // Nothing was written: the head is still genesis.
    assert_eq!(b.store().head_hash().unwrap(), genesis);

    let mut header = built.block.header.clone();
    header.gas_used = 1;
    let err = b
        .insert_block(&alloy_consensus::Block {
            header,
            body: built.block.body.clone(),
        })
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("gasUsed mismatch: expected 0, got 1"),
        "{err}"
    );

    // The body roots are computed beside the state root, and checked as strictly.
    type Tamper = fn(&mut alloy_consensus::Header);
    let tampered: [(&str, Tamper); 3] = [
        ("transactionsRoot", |h| {
            h.transactions_root = B256::repeat_byte(0xcd)
        }),
        ("receiptsRoot", |h| {
            h.receipts_root = B256::repeat_byte(0xcd)
        }),
        ("logsBloom", |h| {
            h.logs_bloom = alloy_primitives::Bloom::repeat_byte(0xcd)
        }),
    ];
    for (field, tamper) in tampered {
        let mut header = built.block.header.clone();
        tamper(&mut header);
        let err = b
            .insert_block(&alloy_consensus::Block {
                header,
                body: built.block.body.clone(),
            })
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("{field} mismatch")), "{field}: {err}");
        assert_eq!(b.store().head_hash().unwrap(), genesis);
    }
}
