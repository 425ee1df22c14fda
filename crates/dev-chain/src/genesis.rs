//! The development chain's genesis: the standard test mnemonic's first accounts funded, every
//! fork up to Prague active at genesis, and the system contracts Prague needs (EIP-4788, EIP-2935,
//! EIP-7002, EIP-7251) predeployed, and FastEVM's equal-timestamps rule on (several blocks per
//! second). `genesis/dev.json` is this, written by `fastevm genesis dev`.

use alloy_eips::{eip2935, eip4788, eip7002, eip7251};
use alloy_genesis::{ChainConfig, Genesis, GenesisAccount};
use alloy_primitives::{Address, U256};
use alloy_signer_local::{coins_bip39::English, LocalSigner, MnemonicBuilder, PrivateKeySigner};
use std::collections::BTreeMap;

/// The mnemonic every Ethereum dev tool (anvil, hardhat) funds: never use it for real funds.
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";
/// Chain id of the development chain.
pub const DEV_CHAIN_ID: u64 = 1337;
/// Number of funded dev accounts.
pub const DEV_ACCOUNTS: u32 = 10;
/// Balance of each dev account: 10,000 ETH.
pub const DEV_BALANCE_WEI: u128 = 10_000 * 1_000_000_000_000_000_000;
/// Block gas limit of the dev chain.
pub const DEV_GAS_LIMIT: u64 = 60_000_000;

/// The dev accounts' signers (BIP-44 path m/44'/60'/0'/0/i of [`DEV_MNEMONIC`]).
pub fn dev_signers() -> Vec<PrivateKeySigner> {
    (0..DEV_ACCOUNTS)
        .map(|i| {
            MnemonicBuilder::<English>::default()
                .phrase(DEV_MNEMONIC)
                .index(i)
                .expect("valid derivation index")
                .build()
                .expect("the dev mnemonic is valid")
        })
        .map(|s: LocalSigner<_>| s)
        .collect()
}

/// The dev chain genesis.
pub fn dev_genesis() -> Genesis {
    let mut alloc = BTreeMap::new();
    for signer in dev_signers() {
        alloc.insert(
            signer.address(),
            GenesisAccount::default().with_balance(U256::from(DEV_BALANCE_WEI)),
        );
    }
    let system = |code: &alloy_primitives::Bytes| {
        GenesisAccount::default()
            .with_nonce(Some(1))
            .with_code(Some(code.clone()))
    };
    alloc.insert(
        eip4788::BEACON_ROOTS_ADDRESS,
        system(&eip4788::BEACON_ROOTS_CODE),
    );
    alloc.insert(
        eip2935::HISTORY_STORAGE_ADDRESS,
        system(&eip2935::HISTORY_STORAGE_CODE),
    );
    alloc.insert(
        eip7002::WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS,
        system(&eip7002::WITHDRAWAL_REQUEST_PREDEPLOY_CODE),
    );
    alloc.insert(
        eip7251::CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS,
        system(&eip7251::CONSOLIDATION_REQUEST_PREDEPLOY_CODE),
    );
    let mut config = ChainConfig {
        prague_time: Some(0),
        deposit_contract_address: Some(Address::ZERO),
        ..fastevm_executor::merged_at_genesis(DEV_CHAIN_ID)
    };
    config
        .extra_fields
        .insert_value(
            fastevm_executor::FASTEVM_RULES_KEY.into(),
            fastevm_executor::FastEvmRules {
                allow_equal_timestamps: true,
            },
        )
        .expect("rules serialise");
    Genesis {
        config,
        nonce: 0,
        timestamp: 0,
        extra_data: alloy_primitives::Bytes::from_static(b"FastEVM devnet"),
        gas_limit: DEV_GAS_LIMIT,
        difficulty: U256::ZERO,
        alloc,
        ..Default::default()
    }
}

/// `genesis/dev.json` as written to the repository.
pub fn dev_genesis_json() -> String {
    let mut json = serde_json::to_string_pretty(&dev_genesis()).expect("genesis serialises");
    json.push('\n');
    json
}
