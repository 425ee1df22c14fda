//! Genesis import: a geth-format `genesis.json` becomes the genesis block and its state.

use crate::{
    state_root::{apply_diff, StateRootUpdate},
    ChainSpec, ExecutorError, ResidentTries,
};
use alloy_consensus::{
    constants::EMPTY_WITHDRAWALS, proofs::calculate_transaction_root, BlockBody, Header,
    TxEnvelope, EMPTY_OMMER_ROOT_HASH,
};
use alloy_eips::{eip1559::INITIAL_BASE_FEE, eip7685::EMPTY_REQUESTS_HASH};
use alloy_genesis::{Genesis, GenesisAccount};
use alloy_hardforks::EthereumHardforks;
use alloy_primitives::{keccak256, Address, B256, U256};
use alloy_trie::{TrieAccount, EMPTY_ROOT_HASH, KECCAK_EMPTY};
use fastevm_storage::{AccountDiff, ChainStore, ExecutedBlock, SlotDiff, StateDiff};
use fastevm_trie::MemoryNodeStore;
use std::collections::BTreeMap;

/// Parses a genesis file's JSON.
pub fn parse_genesis(json: &str) -> Result<Genesis, ExecutorError> {
    serde_json::from_str(json)
        .map_err(|e| ExecutorError::Genesis(format!("invalid genesis JSON: {e}")))
}

/// A chain configuration with every fork up to Cancun active from genesis (the merge included):
/// the base of FastEVM's dev genesis and of test chains, which add later forks as they need.
pub fn merged_at_genesis(chain_id: u64) -> alloy_genesis::ChainConfig {
    alloy_genesis::ChainConfig {
        chain_id,
        homestead_block: Some(0),
        eip150_block: Some(0),
        eip155_block: Some(0),
        eip158_block: Some(0),
        byzantium_block: Some(0),
        constantinople_block: Some(0),
        petersburg_block: Some(0),
        istanbul_block: Some(0),
        berlin_block: Some(0),
        london_block: Some(0),
        merge_netsplit_block: Some(0),
        terminal_total_difficulty: Some(U256::ZERO),
        terminal_total_difficulty_passed: true,
        shanghai_time: Some(0),
        cancun_time: Some(0),
        ..Default::default()
    }
}

/// The state of a genesis alloc: a diff creating every account, and its state root and trie nodes.
pub fn alloc_state(
    alloc: &BTreeMap<Address, GenesisAccount>,
) -> Result<(StateDiff, StateRootUpdate), ExecutorError> {
    let mut accounts = Vec::with_capacity(alloc.len());
    let mut new_code = Vec::new();
    for (address, account) in alloc {
        let code_hash = match account.code.as_ref().filter(|c| !c.is_empty()) {
            Some(code) => {
                let hash = keccak256(code);
                new_code.push((hash, code.clone()));
                hash
            }
            None => KECCAK_EMPTY,
        };
        let storage: Vec<SlotDiff> = account
            .storage
            .iter()
            .flatten()
            .map(|(slot, value)| SlotDiff {
                slot: *slot,
                before: U256::ZERO,
                after: U256::from_be_bytes(value.0),
            })
            .filter(|s| !s.after.is_zero())
            .collect();
        accounts.push(AccountDiff {
            address: *address,
            before: None,
            after: Some(TrieAccount {
                nonce: account.nonce.unwrap_or_default(),
                balance: account.balance,
                storage_root: EMPTY_ROOT_HASH,
                code_hash,
            }),
            storage_wiped: false,
            storage,
        });
    }
    new_code.sort_unstable_by_key(|(hash, _)| *hash);
    new_code.dedup_by_key(|(hash, _)| *hash);
    let mut diff = StateDiff { accounts, new_code };
    let update = apply_diff(
        &MemoryNodeStore::default(),
        &ResidentTries::none(),
        EMPTY_ROOT_HASH,
        &mut diff,
    )?;
    Ok((diff, update))
}

/// Builds the genesis block (header and state) from a genesis file. Pure: touches no database.
pub fn genesis_block(genesis: &Genesis, spec: &ChainSpec) -> Result<ExecutedBlock, ExecutorError> {
    let (diff, update) = alloc_state(&genesis.alloc)?;
    let number = genesis.number.unwrap_or_default();
    let ts = genesis.timestamp;
    let london = spec.is_london_active_at_block(number);
    let shanghai = spec.is_shanghai_active_at_timestamp(ts);
    let cancun = spec.is_cancun_active_at_timestamp(ts);
    let prague = spec.is_prague_active_at_timestamp(ts);
    let header = Header {
        parent_hash: genesis.parent_hash.unwrap_or_default(),
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        beneficiary: genesis.coinbase,
        state_root: update.state_root,
        transactions_root: calculate_transaction_root::<TxEnvelope>(&[]),
        receipts_root: EMPTY_ROOT_HASH,
        logs_bloom: Default::default(),
        difficulty: genesis.difficulty,
        number,
        gas_limit: genesis.gas_limit,
        gas_used: 0,
        timestamp: ts,
        extra_data: genesis.extra_data.clone(),
        mix_hash: genesis.mix_hash,
        nonce: genesis.nonce.to_be_bytes().into(),
        base_fee_per_gas: london.then(|| {
            genesis
                .base_fee_per_gas
                .map(|f| f as u64)
                .unwrap_or(INITIAL_BASE_FEE)
        }),
        withdrawals_root: shanghai.then_some(EMPTY_WITHDRAWALS),
        blob_gas_used: cancun.then(|| genesis.blob_gas_used.unwrap_or_default()),
        excess_blob_gas: cancun.then(|| genesis.excess_blob_gas.unwrap_or_default()),
        parent_beacon_block_root: cancun.then_some(B256::ZERO),
        requests_hash: prague.then_some(EMPTY_REQUESTS_HASH),
        ..Default::default()
    };
    let body = BlockBody::<TxEnvelope> {
        transactions: vec![],
        ommers: vec![],
        withdrawals: shanghai.then(Default::default),
    };
    Ok(ExecutedBlock {
        hash: header.hash_slow(),
        header,
        body,
        senders: vec![],
        receipts: vec![],
        diff,
        trie_nodes: update.nodes,
    })
}

/// Writes the genesis of `genesis` into an empty store (or checks that the store already holds
/// the same genesis). Returns the genesis block.
pub fn init_genesis(store: &ChainStore, genesis: &Genesis) -> Result<ExecutedBlock, ExecutorError> {
    let spec = ChainSpec::from_genesis(genesis)?;
    let block = genesis_block(genesis, &spec)?;
    match store.genesis_hash()? {
        Some(existing) if existing == block.hash => Ok(block),
        Some(existing) => Err(ExecutorError::Genesis(format!(
            "database already holds a different genesis {existing} (this file gives {})",
            block.hash
        ))),
        None => {
            let config = serde_json::to_vec(&genesis.config)
                .map_err(|e| ExecutorError::Genesis(format!("cannot encode chain config: {e}")))?;
            store.commit_genesis(&block, &config)?;
            Ok(block)
        }
    }
}
