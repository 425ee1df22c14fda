//! The chain specification: chain id, fork schedule and blob schedule, read from a geth-format
//! genesis `config` (or from a fork name, as the Ethereum test vectors give it).

use crate::ExecutorError;
use alloy_eips::{eip7840::BlobParams, eip7892::BlobScheduleBlobParams};
use alloy_evm::eth::spec::EthExecutorSpec;
use alloy_genesis::{ChainConfig, Genesis};
use alloy_hardforks::{EthereumHardfork, EthereumHardforks, ForkCondition};
use alloy_primitives::{Address, U256};

/// First post-merge block of Ethereum mainnet (mainnet's config gives only the terminal difficulty).
const MAINNET_MERGE_BLOCK: u64 = 15_537_394;

/// Fork schedule and chain parameters the executor follows.
#[derive(Debug, Clone)]
pub struct ChainSpec {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// Activation of each fork, in fork order.
    forks: Vec<(EthereumHardfork, ForkCondition)>,
    /// Blob parameters per fork (EIP-7840 / EIP-7892).
    pub blob_schedule: BlobScheduleBlobParams,
    /// EIP-6110 deposit contract, if deposits are parsed from logs.
    pub deposit_contract: Option<Address>,
    /// FastEVM chain rule: a block may carry the same timestamp (seconds) as its parent. Set by
    /// `"fastevm": {"allowEqualTimestamps": true}` in the genesis `config`. Sub-second consensus
    /// commits several blocks per second; this keeps block timestamps equal to the commit time
    /// instead of running ahead of it. Ethereum networks leave it off (strictly increasing).
    pub allow_equal_timestamps: bool,
    /// The genesis `config` this spec was read from (kept to serve it back, e.g. eth_config).
    pub config: ChainConfig,
}

/// FastEVM-specific chain rules, under the `fastevm` key of the genesis `config`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FastEvmRules {
    /// See [`ChainSpec::allow_equal_timestamps`].
    #[serde(default)]
    pub allow_equal_timestamps: bool,
}

/// Key of [`FastEvmRules`] in the genesis `config`.
pub const FASTEVM_RULES_KEY: &str = "fastevm";

impl ChainSpec {
    /// Reads the spec from a genesis file's `config`.
    pub fn from_genesis(genesis: &Genesis) -> Result<Self, ExecutorError> {
        Self::from_config(&genesis.config)
    }

    /// Reads the spec from a geth-format chain config.
    pub fn from_config(c: &ChainConfig) -> Result<Self, ExecutorError> {
        use EthereumHardfork as H;
        let block = |b: Option<u64>| b.map(ForkCondition::Block);
        let time = |t: Option<u64>| t.map(ForkCondition::Timestamp);
        let paris = match (c.merge_netsplit_block, c.terminal_total_difficulty) {
            (Some(b), ttd) => Some(ForkCondition::TTD {
                activation_block_number: b,
                fork_block: Some(b),
                total_difficulty: ttd.unwrap_or_default(),
            }),
            (None, Some(ttd)) if ttd.is_zero() => Some(ForkCondition::TTD {
                activation_block_number: 0,
                fork_block: None,
                total_difficulty: U256::ZERO,
            }),
            (None, Some(ttd)) if c.chain_id == 1 => Some(ForkCondition::TTD {
                activation_block_number: MAINNET_MERGE_BLOCK,
                fork_block: None,
                total_difficulty: ttd,
            }),
            (None, Some(_)) => return Err(ExecutorError::ChainConfig(
                "terminalTotalDifficulty without mergeNetsplitBlock: the merge block is unknown"
                    .into(),
            )),
            (None, None) => None,
        };
        let dao = if c.dao_fork_support {
            block(c.dao_fork_block)
        } else {
            None
        };
        let candidates = [
            (H::Frontier, Some(ForkCondition::Block(0))),
            (H::Homestead, block(c.homestead_block)),
            (H::Dao, dao),
            (H::Tangerine, block(c.eip150_block)),
            (H::SpuriousDragon, block(c.eip158_block)),
            (H::Byzantium, block(c.byzantium_block)),
            (H::Constantinople, block(c.constantinople_block)),
            (H::Petersburg, block(c.petersburg_block)),
            (H::Istanbul, block(c.istanbul_block)),
            (H::MuirGlacier, block(c.muir_glacier_block)),
            (H::Berlin, block(c.berlin_block)),
            (H::London, block(c.london_block)),
            (H::ArrowGlacier, block(c.arrow_glacier_block)),
            (H::GrayGlacier, block(c.gray_glacier_block)),
            (H::Paris, paris),
            (H::Shanghai, time(c.shanghai_time)),
            (H::Cancun, time(c.cancun_time)),
            (H::Prague, time(c.prague_time)),
            (H::Osaka, time(c.osaka_time)),
            (H::Bpo1, time(c.bpo1_time)),
            (H::Bpo2, time(c.bpo2_time)),
            (H::Bpo3, time(c.bpo3_time)),
            (H::Bpo4, time(c.bpo4_time)),
            (H::Bpo5, time(c.bpo5_time)),
        ];
        let forks = candidates
            .into_iter()
            .filter_map(|(f, c)| c.map(|c| (f, c)))
            .collect();
        // Forks missing from the schedule get their EIP defaults.
        let blob_schedule = c.blob_schedule_blob_params();
        let rules: FastEvmRules = match c.extra_fields.get_deserialized(FASTEVM_RULES_KEY) {
            None => FastEvmRules::default(),
            Some(Ok(rules)) => rules,
            Some(Err(e)) => {
                return Err(ExecutorError::ChainConfig(format!(
                    "invalid `fastevm` rules: {e}"
                )))
            }
        };
        Ok(Self {
            chain_id: c.chain_id,
            forks,
            blob_schedule,
            deposit_contract: c.deposit_contract_address,
            allow_equal_timestamps: rules.allow_equal_timestamps,
            config: c.clone(),
        })
    }

    /// Spec of an Ethereum test-vector `network` (e.g. `Cancun`, `ShanghaiToCancunAtTime15k`):
    /// every fork up to the named one active from genesis, the transition fork at timestamp 15,000.
    pub fn for_test_network(network: &str, chain_id: u64) -> Result<Self, ExecutorError> {
        let (from, to) = match network.split_once("To") {
            Some((from, rest)) => {
                let to = rest.strip_suffix("AtTime15k").ok_or_else(|| {
                    ExecutorError::ChainConfig(format!("unknown test network {network}"))
                })?;
                (from, Some(to))
            }
            None => (network, None),
        };
        let mut config = ChainConfig {
            chain_id,
            ..Default::default()
        };
        let mut reached = false;
        let set = |config: &mut ChainConfig, fork: &str, at: u64| -> bool {
            match fork {
                "Shanghai" => config.shanghai_time = Some(at),
                "Cancun" => config.cancun_time = Some(at),
                "Prague" => config.prague_time = Some(at),
                "Osaka" => config.osaka_time = Some(at),
                _ => return false,
            }
            true
        };
        // Everything up to and including Paris is active at genesis for the supported networks.
        config.homestead_block = Some(0);
        config.eip150_block = Some(0);
        config.eip155_block = Some(0);
        config.eip158_block = Some(0);
        config.byzantium_block = Some(0);
        config.constantinople_block = Some(0);
        config.petersburg_block = Some(0);
        config.istanbul_block = Some(0);
        config.berlin_block = Some(0);
        config.london_block = Some(0);
        config.merge_netsplit_block = Some(0);
        config.terminal_total_difficulty = Some(U256::ZERO);
        config.terminal_total_difficulty_passed = true;
        for fork in ["Shanghai", "Cancun", "Prague", "Osaka"] {
            if !reached {
                set(&mut config, fork, 0);
            } else if Some(fork) == to {
                set(&mut config, fork, 15_000);
                break;
            } else if to.is_some() {
                // A fork between `from` and `to` would make the transition ambiguous.
                return Err(ExecutorError::ChainConfig(format!(
                    "unsupported test network {network}"
                )));
            }
            if fork == from {
                reached = true;
                if to.is_none() {
                    break;
                }
            }
        }
        if !reached && from != "Paris" && from != "Merge" {
            return Err(ExecutorError::ChainConfig(format!(
                "unsupported test network {network}"
            )));
        }
        config.deposit_contract_address =
            Some(alloy_eips::eip6110::MAINNET_DEPOSIT_CONTRACT_ADDRESS);
        Self::from_config(&config)
    }

    /// Blob parameters in force at `timestamp`, or `None` before Cancun.
    pub fn blob_params_at(&self, timestamp: u64) -> Option<BlobParams> {
        if let Some(params) = self
            .blob_schedule
            .active_scheduled_params_at_timestamp(timestamp)
        {
            if self.is_osaka_active_at_timestamp(timestamp) {
                return Some(*params);
            }
        }
        if self.is_osaka_active_at_timestamp(timestamp) {
            Some(self.blob_schedule.osaka)
        } else if self.is_prague_active_at_timestamp(timestamp) {
            Some(self.blob_schedule.prague)
        } else if self.is_cancun_active_at_timestamp(timestamp) {
            Some(self.blob_schedule.cancun)
        } else {
            None
        }
    }

    /// Whether a child block may have timestamp `child` after a parent at `parent`.
    pub fn timestamp_follows(&self, parent: u64, child: u64) -> bool {
        child > parent || (self.allow_equal_timestamps && child == parent)
    }

    /// Whether the merge happened at or before `number`.
    pub fn is_post_merge(&self, number: u64) -> bool {
        self.is_paris_active_at_block(number)
    }
}

impl EthereumHardforks for ChainSpec {
    fn ethereum_fork_activation(&self, fork: EthereumHardfork) -> ForkCondition {
        self.forks
            .iter()
            .find(|(f, _)| *f == fork)
            .map(|(_, c)| *c)
            .unwrap_or(ForkCondition::Never)
    }
}

impl EthExecutorSpec for ChainSpec {
    fn deposit_contract_address(&self) -> Option<Address> {
        self.deposit_contract
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_network_transition_at_15k() {
        let spec = ChainSpec::for_test_network("CancunToPragueAtTime15k", 1).unwrap();
        assert!(spec.is_cancun_active_at_timestamp(0));
        assert!(!spec.is_prague_active_at_timestamp(14_999));
        assert!(spec.is_prague_active_at_timestamp(15_000));
        assert!(!spec.is_osaka_active_at_timestamp(u64::MAX));
        let plain = ChainSpec::for_test_network("Cancun", 1).unwrap();
        assert!(plain.is_shanghai_active_at_timestamp(0));
        assert!(!plain.is_prague_active_at_timestamp(u64::MAX));
        assert!(ChainSpec::for_test_network("Frontier", 1).is_err());
        assert!(!plain.timestamp_follows(5, 5));
    }

    #[test]
    fn equal_timestamps_only_when_the_chain_allows_them() {
        let mut config = ChainConfig {
            chain_id: 9,
            ..Default::default()
        };
        assert!(
            !ChainSpec::from_config(&config)
                .unwrap()
                .allow_equal_timestamps
        );
        config
            .extra_fields
            .insert_value(
                FASTEVM_RULES_KEY.into(),
                serde_json::json!({"allowEqualTimestamps": true}),
            )
            .unwrap();
        let spec = ChainSpec::from_config(&config).unwrap();
        assert!(
            spec.timestamp_follows(5, 5)
                && spec.timestamp_follows(5, 6)
                && !spec.timestamp_follows(5, 4)
        );
        config
            .extra_fields
            .insert_value(
                FASTEVM_RULES_KEY.into(),
                serde_json::json!({"allowEqualTimestamps": 3}),
            )
            .unwrap();
        assert!(ChainSpec::from_config(&config).is_err());
    }

    #[test]
    fn blob_params_follow_forks() {
        let spec = ChainSpec::for_test_network("CancunToPragueAtTime15k", 1).unwrap();
        assert_eq!(spec.blob_params_at(0).unwrap().max_blob_count, 6);
        assert_eq!(spec.blob_params_at(15_000).unwrap().max_blob_count, 9);
        let shanghai = ChainSpec::for_test_network("Shanghai", 1).unwrap();
        assert!(shanghai.blob_params_at(0).is_none());
    }
}
