//! `eth_config` (EIP-7910): the configuration of the fork active at the head, the next scheduled
//! fork and the last scheduled fork — activation time, blob schedule, chain id, EIP-2124 fork
//! id, precompiles and system contracts.

use crate::{EthRpc, RpcError};
use alloy_eips::eip2124::ForkHash;
use alloy_genesis::ChainConfig;
use alloy_primitives::{Address, U64};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One fork's configuration (EIP-7910).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForkConfig {
    /// Activation timestamp.
    pub activation_time: u64,
    /// Blob parameters (`null` before Cancun).
    pub blob_schedule: Option<BlobScheduleEntry>,
    /// Chain id.
    pub chain_id: U64,
    /// EIP-2124 fork hash once this fork is active, `0x`-prefixed hex.
    pub fork_id: String,
    /// Active precompiles by name.
    pub precompiles: BTreeMap<String, Address>,
    /// System contracts by name.
    pub system_contracts: BTreeMap<String, Address>,
}

/// Blob parameters of a fork.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlobScheduleEntry {
    /// Target blobs per block.
    pub target: u64,
    /// Maximum blobs per block.
    pub max: u64,
    /// Base fee update fraction.
    pub base_fee_update_fraction: u128,
}

/// The `eth_config` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EthConfig {
    /// The fork active at the head.
    pub current: ForkConfig,
    /// The next scheduled fork, if any.
    pub next: Option<ForkConfig>,
    /// The last scheduled fork, if any is scheduled after the current one.
    pub last: Option<ForkConfig>,
}

/// The timestamp-activated forks EIP-7910 describes, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TimeFork {
    Shanghai,
    Cancun,
    Prague,
    Osaka,
    Bpo1,
    Bpo2,
    Bpo3,
    Bpo4,
    Bpo5,
}

fn time_forks(c: &ChainConfig) -> Vec<(TimeFork, u64)> {
    use TimeFork as F;
    [
        (F::Shanghai, c.shanghai_time),
        (F::Cancun, c.cancun_time),
        (F::Prague, c.prague_time),
        (F::Osaka, c.osaka_time),
        (F::Bpo1, c.bpo1_time),
        (F::Bpo2, c.bpo2_time),
        (F::Bpo3, c.bpo3_time),
        (F::Bpo4, c.bpo4_time),
        (F::Bpo5, c.bpo5_time),
    ]
    .into_iter()
    .filter_map(|(fork, time)| time.map(|t| (fork, t)))
    .collect()
}

/// Every fork activation point in EIP-2124 order: block numbers, then timestamps after genesis.
fn fork_points(c: &ChainConfig, genesis_timestamp: u64) -> (Vec<u64>, Vec<u64>) {
    let mut blocks: Vec<u64> = [
        c.homestead_block,
        c.dao_fork_block,
        c.eip150_block,
        c.eip155_block,
        c.eip158_block,
        c.byzantium_block,
        c.constantinople_block,
        c.petersburg_block,
        c.istanbul_block,
        c.muir_glacier_block,
        c.berlin_block,
        c.london_block,
        c.arrow_glacier_block,
        c.gray_glacier_block,
        c.merge_netsplit_block,
    ]
    .into_iter()
    .flatten()
    .filter(|b| *b != 0)
    .collect();
    blocks.sort_unstable();
    blocks.dedup();
    let mut times: Vec<u64> = time_forks(c)
        .into_iter()
        .map(|(_, t)| t)
        .filter(|t| *t > genesis_timestamp)
        .collect();
    times.sort_unstable();
    times.dedup();
    (blocks, times)
}

fn precompiles(fork: TimeFork) -> BTreeMap<String, Address> {
    let mut named: Vec<(&str, u64)> = vec![
        ("ECREC", 0x01),
        ("SHA256", 0x02),
        ("RIPEMD160", 0x03),
        ("ID", 0x04),
        ("MODEXP", 0x05),
        ("BN254_ADD", 0x06),
        ("BN254_MUL", 0x07),
        ("BN254_PAIRING", 0x08),
        ("BLAKE2F", 0x09),
    ];
    if fork >= TimeFork::Cancun {
        named.push(("KZG_POINT_EVALUATION", 0x0a));
    }
    if fork >= TimeFork::Prague {
        named.extend([
            ("BLS12_G1ADD", 0x0b),
            ("BLS12_G1MSM", 0x0c),
            ("BLS12_G2ADD", 0x0d),
            ("BLS12_G2MSM", 0x0e),
            ("BLS12_PAIRING_CHECK", 0x0f),
            ("BLS12_MAP_FP_TO_G1", 0x10),
            ("BLS12_MAP_FP2_TO_G2", 0x11),
        ]);
    }
    if fork >= TimeFork::Osaka {
        named.push(("P256VERIFY", 0x100));
    }
    named
        .into_iter()
        .map(|(name, n)| (name.to_string(), precompile_address(n)))
        .collect()
}

/// The address numbered `n` (precompile numbering).
fn precompile_address(n: u64) -> Address {
    let mut bytes = [0u8; 20];
    bytes[12..].copy_from_slice(&n.to_be_bytes());
    Address::from(bytes)
}

fn system_contracts(
    fork: TimeFork,
    deposit_contract: Option<Address>,
) -> BTreeMap<String, Address> {
    let mut contracts = BTreeMap::new();
    if fork >= TimeFork::Cancun {
        contracts.insert(
            "BEACON_ROOTS_ADDRESS".to_string(),
            alloy_eips::eip4788::BEACON_ROOTS_ADDRESS,
        );
    }
    if fork >= TimeFork::Prague {
        contracts.insert(
            "CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS".to_string(),
            alloy_eips::eip7251::CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS,
        );
        contracts.insert(
            "DEPOSIT_CONTRACT_ADDRESS".to_string(),
            deposit_contract.unwrap_or(alloy_eips::eip6110::MAINNET_DEPOSIT_CONTRACT_ADDRESS),
        );
        contracts.insert(
            "HISTORY_STORAGE_ADDRESS".to_string(),
            alloy_eips::eip2935::HISTORY_STORAGE_ADDRESS,
        );
        contracts.insert(
            "WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS".to_string(),
            alloy_eips::eip7002::WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS,
        );
    }
    contracts
}

impl EthRpc {
    /// `eth_config`.
    pub(crate) fn chain_config(&self) -> Result<EthConfig, RpcError> {
        let spec = &self.ctx.spec;
        let config = &spec.config;
        let store = &self.ctx.store;
        let genesis_hash = store.genesis_hash()?.ok_or(RpcError::HeaderNotFound)?;
        let genesis = store
            .header(&genesis_hash)?
            .ok_or(RpcError::HeaderNotFound)?;
        let head_time = store.head_header()?.timestamp;
        let (blocks, times) = fork_points(config, genesis.timestamp);
        let fork_config = |fork: TimeFork, activation_time: u64| -> ForkConfig {
            let mut hash = ForkHash::from(genesis_hash);
            for point in blocks
                .iter()
                .chain(times.iter().filter(|t| **t <= activation_time))
            {
                hash += *point;
            }
            ForkConfig {
                activation_time,
                blob_schedule: spec
                    .blob_params_at(activation_time)
                    .map(|p| BlobScheduleEntry {
                        target: p.target_blob_count,
                        max: p.max_blob_count,
                        base_fee_update_fraction: p.update_fraction,
                    }),
                chain_id: U64::from(spec.chain_id),
                fork_id: format!("0x{}", alloy_primitives::hex::encode(hash.0)),
                precompiles: precompiles(fork),
                system_contracts: system_contracts(fork, spec.deposit_contract),
            }
        };
        let forks = time_forks(config);
        // Several forks may share a timestamp: the latest of them is the one in force.
        let current = forks
            .iter()
            .filter(|(_, t)| *t <= head_time)
            .max_by_key(|(fork, t)| (*t, *fork))
            .copied()
            .ok_or_else(|| {
                RpcError::Server(
                    "eth_config needs a timestamp-scheduled fork (Shanghai or later) to be active"
                        .into(),
                )
            })?;
        let future: Vec<(TimeFork, u64)> = forks
            .iter()
            .filter(|(_, t)| *t > head_time)
            .copied()
            .collect();
        let latest_at = |time: u64| future.iter().filter(|(_, t)| *t == time).max().copied();
        let next = future
            .iter()
            .map(|(_, t)| *t)
            .min()
            .and_then(latest_at)
            .map(|(f, t)| fork_config(f, t));
        let last = future
            .iter()
            .map(|(_, t)| *t)
            .max()
            .and_then(latest_at)
            .map(|(f, t)| fork_config(f, t));
        Ok(EthConfig {
            current: fork_config(current.0, current.1),
            next,
            last,
        })
    }
}
