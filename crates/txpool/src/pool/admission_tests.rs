//! What `add_raw` / `add_transaction` accept and each rejection they give.

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Signature, TxKind, U256};
use alloy_signer::SignerSync;

use crate::{
    test_utils::{test_signer, MemoryState, TxBuilder, TxType, UnavailableState, TEST_CHAIN_ID},
    PoolConfig, PoolError, TxPool,
};

const BASE_FEE: u64 = 7;

fn ether() -> U256 {
    U256::from(10u64).pow(U256::from(18))
}

fn setup() -> (TxPool, MemoryState) {
    (
        TxPool::new(PoolConfig::default(), TEST_CHAIN_ID),
        MemoryState::funded(4, ether()),
    )
}

fn add(
    pool: &TxPool,
    state: &MemoryState,
    tx: TxBuilder,
) -> Result<alloy_primitives::B256, PoolError> {
    pool.add_transaction(tx.sign(&test_signer(0)), state, BASE_FEE)
}

#[test]
fn accepts_every_supported_type_as_pending() {
    let (pool, state) = setup();
    let signer = test_signer(0);
    let types = [
        TxType::Legacy,
        TxType::Eip2930,
        TxType::Eip1559,
        TxType::Eip7702,
    ];
    for (nonce, tx_type) in types.into_iter().enumerate() {
        let gas = if tx_type == TxType::Eip7702 {
            50_000
        } else {
            21_000
        };
        let tx = TxBuilder::of_type(tx_type)
            .nonce(nonce as u64)
            .gas_limit(gas)
            .sign(&signer);
        let hash = pool.add_transaction(tx.clone(), &state, BASE_FEE).unwrap();
        assert_eq!(hash, *tx.tx_hash());
        let pooled = pool.get(&hash).unwrap();
        assert_eq!(pooled.tx, tx);
        assert_eq!(pooled.sender, signer.address());
        assert!(pooled.is_pending);
        assert_eq!(pooled.hash(), hash);
    }
    assert_eq!(pool.len(), 4);
    assert_eq!(pool.status().pending, 4);
    assert_eq!(pool.pending_nonce(&signer.address()), Some(4));
}

#[test]
fn add_raw_decodes_typed_and_legacy_encodings() {
    let (pool, state) = setup();
    let signer = test_signer(0);
    let legacy = TxBuilder::of_type(TxType::Legacy).sign(&signer);
    let typed = TxBuilder::eip1559().nonce(1).sign(&signer);
    assert_eq!(
        pool.add_raw(&legacy.encoded_2718(), &state, BASE_FEE),
        Ok(*legacy.tx_hash())
    );
    assert_eq!(
        pool.add_raw(&typed.encoded_2718(), &state, BASE_FEE),
        Ok(*typed.tx_hash())
    );
    assert!(pool.contains(legacy.tx_hash()) && pool.contains(typed.tx_hash()));
}

#[test]
fn undecodable_input_is_an_rlp_error_with_invalid_params_code() {
    let (pool, state) = setup();
    let mut trailing = TxBuilder::eip1559().raw(&test_signer(0));
    trailing.push(0);
    let truncated = &TxBuilder::eip1559().raw(&test_signer(0))[..20];
    for raw in [
        &[][..],
        &[0xc0][..],
        &[0x80][..],
        &[0x02, 0x01][..],
        &trailing[..],
        truncated,
    ] {
        let error = pool.add_raw(raw, &state, BASE_FEE).unwrap_err();
        assert!(matches!(error, PoolError::Decode(_)), "{raw:?}: {error:?}");
        assert!(error.to_string().starts_with("rlp: "));
    }
    assert!(pool.is_empty());
}

#[test]
fn blob_types_before_cancun_and_unknown_types_are_not_supported() {
    let (pool, state) = setup();
    let blob = TxBuilder::of_type(TxType::Eip4844).sign(&test_signer(0));
    assert_eq!(
        pool.add_raw(&blob.encoded_2718(), &state, BASE_FEE),
        Err(PoolError::TxTypeNotSupported)
    );
    assert_eq!(
        pool.add_transaction(blob, &state, BASE_FEE),
        Err(PoolError::TxTypeNotSupported)
    );
    let error = pool.add_raw(&[0x05, 0xc0], &state, BASE_FEE).unwrap_err();
    assert_eq!(error, PoolError::TxTypeNotSupported);
    assert_eq!(error.to_string(), "transaction type not supported");
}

#[test]
fn same_transaction_twice_is_already_known() {
    let (pool, state) = setup();
    let tx = TxBuilder::eip1559().sign(&test_signer(0));
    pool.add_transaction(tx.clone(), &state, BASE_FEE).unwrap();
    assert_eq!(
        pool.add_transaction(tx.clone(), &state, BASE_FEE),
        Err(PoolError::AlreadyKnown)
    );
    assert_eq!(
        pool.add_raw(&tx.encoded_2718(), &state, BASE_FEE),
        Err(PoolError::AlreadyKnown)
    );
}

#[test]
fn nonce_below_account_nonce_is_too_low() {
    let pool = TxPool::new(PoolConfig::default(), TEST_CHAIN_ID);
    let state = MemoryState::new().with_account(test_signer(0).address(), 5, ether());
    let error = add(&pool, &state, TxBuilder::eip1559().nonce(3)).unwrap_err();
    assert_eq!(error.to_string(), "nonce too low: next nonce 5, tx nonce 3");
    assert!(add(&pool, &state, TxBuilder::eip1559().nonce(5)).is_ok());
}

#[test]
fn nonce_beyond_the_sender_slots_is_too_high() {
    let config = PoolConfig {
        max_account_slots: 4,
        ..PoolConfig::default()
    };
    let pool = TxPool::new(config, TEST_CHAIN_ID);
    let state = MemoryState::funded(1, ether());
    assert_eq!(
        add(&pool, &state, TxBuilder::eip1559().nonce(4)),
        Err(PoolError::NonceTooHigh)
    );
    assert!(add(&pool, &state, TxBuilder::eip1559().nonce(3)).is_ok());
    assert_eq!(
        add(&pool, &state, TxBuilder::eip1559().nonce(u64::MAX)),
        Err(PoolError::NonceMax)
    );
}

#[test]
fn insufficient_funds_counts_earlier_pooled_transactions() {
    let pool = TxPool::new(PoolConfig::default(), TEST_CHAIN_ID);
    // Each default tx costs 21_000 * 100 = 2_100_000 wei.
    let state = MemoryState::new().with_account(test_signer(0).address(), 0, U256::from(4_000_000));
    add(&pool, &state, TxBuilder::eip1559().nonce(0)).unwrap();
    let error = add(&pool, &state, TxBuilder::eip1559().nonce(1)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "insufficient funds for gas * price + value: balance 4000000, tx cost 2100000"
    );
    let error = add(
        &pool,
        &state,
        TxBuilder::eip1559()
            .nonce(0)
            .fees(200, 20)
            .value(U256::from(1)),
    )
    .unwrap_err();
    assert_eq!(
        error,
        PoolError::InsufficientFunds {
            balance: U256::from(4_000_000),
            cost: U256::from(4_200_001),
        }
    );
}

#[test]
fn gas_limit_below_intrinsic_gas_is_rejected() {
    let (pool, state) = setup();
    let error = add(&pool, &state, TxBuilder::eip1559().gas_limit(20_999)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "intrinsic gas too low: gas 20999, minimum needed 21000"
    );
    // Creation with 64 bytes of init code: 21000 + 64*16 + 32000 + 2*2.
    let create = TxBuilder::eip1559().create().input(vec![1u8; 64]);
    assert_eq!(
        add(&pool, &state, create.clone().gas_limit(54_027)),
        Err(PoolError::IntrinsicGasTooLow {
            gas: 54_027,
            minimum: 54_028
        })
    );
    assert!(add(&pool, &state, create.gas_limit(54_028)).is_ok());
}

#[test]
fn gas_limit_below_the_calldata_floor_is_rejected() {
    let (pool, state) = setup();
    // 100 non-zero bytes: standard 21000 + 1600, floor 21000 + 4000.
    let tx = TxBuilder::eip1559().input(vec![0xffu8; 100]);
    let error = add(&pool, &state, tx.clone().gas_limit(24_999)).unwrap_err();
    assert_eq!(
        error,
        PoolError::FloorDataGas {
            gas: 24_999,
            minimum: 25_000
        }
    );
    assert!(add(&pool, &state, tx.gas_limit(25_000)).is_ok());
}

#[test]
fn fee_cap_below_base_fee_names_the_sender() {
    let (pool, state) = setup();
    let signer = test_signer(0);
    let error = add(&pool, &state, TxBuilder::eip1559().fees(6, 1)).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "max fee per gas less than block base fee: address {}, maxFeePerGas: 6, baseFee: 7",
            signer.address().to_checksum(None)
        )
    );
    let legacy = TxBuilder::of_type(TxType::Legacy).fees(6, 6);
    assert!(matches!(
        add(&pool, &state, legacy),
        Err(PoolError::FeeCapBelowBaseFee { .. })
    ));
}

#[test]
fn tip_above_fee_cap_is_rejected() {
    let (pool, state) = setup();
    let error = add(&pool, &state, TxBuilder::eip1559().fees(100, 101)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "max priority fee per gas higher than max fee per gas"
    );
}

#[test]
fn wrong_chain_id_is_rejected_for_typed_and_legacy() {
    let (pool, state) = setup();
    for tx_type in [
        TxType::Legacy,
        TxType::Eip2930,
        TxType::Eip1559,
        TxType::Eip7702,
    ] {
        let tx = TxBuilder::of_type(tx_type)
            .chain_id(Some(1))
            .gas_limit(50_000);
        let error = add(&pool, &state, tx).unwrap_err();
        assert_eq!(error.to_string(), "invalid chain id for signer");
    }
}

#[test]
fn legacy_without_chain_id_is_not_replay_protected() {
    let (pool, state) = setup();
    let tx = TxBuilder::of_type(TxType::Legacy).chain_id(None);
    let error = pool
        .add_raw(&tx.raw(&test_signer(0)), &state, BASE_FEE)
        .unwrap_err();
    assert_eq!(error, PoolError::NotReplayProtected);
    assert!(error
        .to_string()
        .starts_with("only replay-protected (EIP-155) transactions allowed"));
}

#[test]
fn oversized_transactions_are_rejected_raw_and_decoded() {
    let config = PoolConfig {
        max_tx_bytes: 300,
        ..PoolConfig::default()
    };
    let pool = TxPool::new(config, TEST_CHAIN_ID);
    let state = MemoryState::funded(1, ether());
    let tx = TxBuilder::eip1559()
        .input(vec![0u8; 400])
        .gas_limit(30_000)
        .sign(&test_signer(0));
    let size = tx.encode_2718_len();
    let expected = format!("oversized data: transaction size {size}, limit 300");
    let error = pool
        .add_raw(&tx.encoded_2718(), &state, BASE_FEE)
        .unwrap_err();
    assert_eq!(error.to_string(), expected);
    let error = pool.add_transaction(tx, &state, BASE_FEE).unwrap_err();
    assert_eq!(error.to_string(), expected);
}

#[test]
fn gas_limit_above_block_gas_limit_or_cap_is_rejected() {
    let config = PoolConfig {
        block_gas_limit: 100_000,
        tx_gas_limit_cap: Some(50_000),
        ..PoolConfig::default()
    };
    let pool = TxPool::new(config, TEST_CHAIN_ID);
    let state = MemoryState::funded(1, ether());
    let error = add(&pool, &state, TxBuilder::eip1559().gas_limit(100_001)).unwrap_err();
    assert_eq!(error.to_string(), "exceeds block gas limit");
    let error = add(&pool, &state, TxBuilder::eip1559().gas_limit(50_001)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "transaction gas limit too high (cap: 50000, tx: 50001)"
    );
    assert!(add(&pool, &state, TxBuilder::eip1559().gas_limit(50_000)).is_ok());
}

#[test]
fn unrecoverable_signature_is_an_invalid_sender() {
    let (pool, state) = setup();
    let tx = TxEip1559 {
        chain_id: TEST_CHAIN_ID,
        gas_limit: 21_000,
        max_fee_per_gas: 100,
        max_priority_fee_per_gas: 1,
        to: TxKind::Call(Address::with_last_byte(1)),
        ..Default::default()
    };
    let zero_s = tx
        .clone()
        .into_signed(Signature::new(U256::from(1), U256::ZERO, false));
    let error = pool
        .add_transaction(TxEnvelope::from(zero_s), &state, BASE_FEE)
        .unwrap_err();
    assert_eq!(error.to_string(), "invalid sender");
    // EIP-2: a high `s` is refused even though it would recover.
    let good = test_signer(0).sign_hash_sync(&tx.signature_hash()).unwrap();
    let high_s = Signature::new(
        good.r(),
        alloy_consensus::crypto::SECP256K1N_HALF * U256::from(2) + U256::from(1) - good.s(),
        !good.v(),
    );
    let error = pool
        .add_transaction(TxEnvelope::from(tx.into_signed(high_s)), &state, BASE_FEE)
        .unwrap_err();
    assert_eq!(error, PoolError::InvalidSender);
}

#[test]
fn eip7702_needs_an_authorization() {
    let (pool, state) = setup();
    let tx = TxBuilder::of_type(TxType::Eip7702).no_authorizations();
    let error = add(&pool, &state, tx).unwrap_err();
    assert_eq!(
        error.to_string(),
        "EIP-7702 transaction with empty auth list"
    );
}

#[test]
fn eip7702_authorizations_cost_intrinsic_gas() {
    let (pool, state) = setup();
    let tx = TxBuilder::of_type(TxType::Eip7702).gas_limit(45_999);
    assert_eq!(
        add(&pool, &state, tx),
        Err(PoolError::IntrinsicGasTooLow {
            gas: 45_999,
            minimum: 46_000
        })
    );
}

#[test]
fn init_code_above_the_eip3860_limit_is_rejected() {
    let (pool, state) = setup();
    let tx = TxBuilder::eip1559()
        .create()
        .input(vec![0u8; 49_153])
        .gas_limit(10_000_000);
    let error = add(&pool, &state, tx).unwrap_err();
    assert_eq!(
        error.to_string(),
        "max initcode size exceeded: code size 49153, limit 49152"
    );
}

#[test]
fn unreadable_state_is_reported() {
    let pool = TxPool::new(PoolConfig::default(), TEST_CHAIN_ID);
    let tx = TxBuilder::eip1559().sign(&test_signer(0));
    let error = pool
        .add_transaction(tx, &UnavailableState, BASE_FEE)
        .unwrap_err();
    assert_eq!(error, PoolError::State("state unavailable".into()));
    assert!(pool.is_empty());
}
