//! Configuration: the committee file shared by all validators, each validator's own node file,
//! the runtime [`ValidatorConfig`] built from them, and local committee generation.
//!
//! ```json
//! // committee.json
//! { "epoch": 0, "authorities": [
//!     { "name": "validator-0", "stake": 1, "public_key": "<64 hex>", "network_address": "127.0.0.1:7000" } ] }
//! // node-0.json (secret: contains the signing key)
//! { "authority_index": 0, "private_key": "<64 hex>", "listen_address": "127.0.0.1:7000",
//!   "storage_path": "validator-0/consensus",
//!   "timeouts": { "leader_timeout_ms": 200, "min_round_delay_ms": 50, "fetch_retry_ms": 400, "rebroadcast_ms": 1000 },
//!   "sync_writes": true }
//! ```

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ed25519_dalek::SigningKey;
use fastevm_consensus::committee::{signing_key_from_hex, signing_key_to_hex};
use fastevm_consensus::{
    Authority, AuthorityIndex, Committee, CoreParams, PublicKey, Round, Transaction,
};
use fastevm_network::tcp::{BackoffConfig, PeerAddress};
use fastevm_network::PeerIndex;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};

use crate::error::{NodeError, NodeResult};
use crate::logic::LogicConfig;

/// One authority in a [`CommitteeFile`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorityEntry {
    /// Human-readable name (logs only).
    pub name: String,
    /// Voting power (> 0).
    pub stake: u64,
    /// ed25519 public key, 64 hex characters.
    pub public_key: String,
    /// Where peers reach this validator, "host:port".
    pub network_address: String,
}

/// The committee as a JSON file; authority indices are positions in `authorities`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitteeFile {
    /// Epoch of the committee.
    pub epoch: u64,
    /// Members, in index order.
    pub authorities: Vec<AuthorityEntry>,
}

impl CommitteeFile {
    /// Builds and validates the consensus committee (keys parse and are distinct, addresses
    /// are "host:port", stakes valid).
    pub fn to_committee(&self) -> NodeResult<Committee> {
        let mut keys = BTreeSet::new();
        let mut authorities = Vec::with_capacity(self.authorities.len());
        for a in &self.authorities {
            let public_key = PublicKey::from_hex(&a.public_key)?;
            if !keys.insert(a.public_key.to_ascii_lowercase()) {
                return Err(invalid(
                    "authorities",
                    format!("duplicate key of {}", a.name),
                ));
            }
            check_host_port(&a.network_address)?;
            authorities.push(Authority {
                stake: a.stake,
                public_key,
                address: a.network_address.clone(),
            });
        }
        Ok(Committee::new(self.epoch, authorities)?)
    }

    /// Every authority's index and address (for the TCP transport); host names are looked up
    /// when dialling, not here.
    pub fn peer_addresses(&self) -> NodeResult<Vec<(PeerIndex, PeerAddress)>> {
        self.authorities
            .iter()
            .enumerate()
            .map(|(i, a)| {
                check_host_port(&a.network_address)?;
                let address = PeerAddress::parse(&a.network_address)
                    .map_err(|e| invalid("network_address", e.to_string()))?;
                Ok((i, address))
            })
            .collect()
    }

    /// Parses JSON.
    pub fn from_json(json: &str) -> NodeResult<Self> {
        Ok(serde_json::from_str(json)?)
    }
    /// Pretty JSON.
    pub fn to_json(&self) -> NodeResult<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }
    /// Reads a committee file.
    pub fn load(path: impl AsRef<Path>) -> NodeResult<Self> {
        Self::from_json(&std::fs::read_to_string(path)?)
    }
    /// Writes a committee file.
    pub fn save(&self, path: impl AsRef<Path>) -> NodeResult<()> {
        std::fs::write(path, self.to_json()?)?;
        Ok(())
    }
}

/// Timeouts in a [`NodeConfigFile`]; missing fields take the defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TimeoutsFile {
    /// Leader timeout (ms).
    pub leader_timeout_ms: u64,
    /// Minimum time between own blocks (ms).
    pub min_round_delay_ms: u64,
    /// Fetch retry (ms).
    pub fetch_retry_ms: u64,
    /// Re-broadcast of the own last block after this silence (ms).
    pub rebroadcast_ms: u64,
}

impl Default for TimeoutsFile {
    fn default() -> Self {
        let core = LogicConfig::new(0);
        Self {
            leader_timeout_ms: core.core.leader_timeout_ms,
            min_round_delay_ms: core.core.min_round_delay_ms,
            fetch_retry_ms: core.sync.retry_ms,
            rebroadcast_ms: core.sync.rebroadcast_ms,
        }
    }
}

fn default_true() -> bool {
    true
}

/// One validator's own settings as a JSON file. Contains the signing key: keep it private.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeConfigFile {
    /// Index of this validator in the committee.
    pub authority_index: AuthorityIndex,
    /// ed25519 signing key, 64 hex characters.
    pub private_key: String,
    /// Socket address to listen on, "ip:port".
    pub listen_address: String,
    /// Directory of the consensus RocksDB.
    pub storage_path: PathBuf,
    /// Timeouts.
    #[serde(default)]
    pub timeouts: TimeoutsFile,
    /// fsync every consensus write.
    #[serde(default = "default_true")]
    pub sync_writes: bool,
    /// Rounds of DAG history kept below the last commit; older blocks and commits are deleted
    /// once the execution node has handled them (0: keep everything).
    #[serde(default = "default_retention_rounds")]
    pub retention_rounds: Round,
}

fn default_retention_rounds() -> Round {
    CoreParams::new(0).retention_rounds
}

impl NodeConfigFile {
    /// The signing key.
    pub fn signing_key(&self) -> NodeResult<SigningKey> {
        Ok(signing_key_from_hex(&self.private_key)?)
    }

    /// Runtime configuration from this file (defaults for everything the file does not set).
    pub fn validator_config(&self) -> NodeResult<ValidatorConfig> {
        let listen_address: SocketAddr = self
            .listen_address
            .parse()
            .map_err(|e| invalid("listen_address", format!("{e}")))?;
        let mut config = ValidatorConfig::new(self.authority_index, listen_address);
        let t = &self.timeouts;
        if t.leader_timeout_ms == 0 || t.fetch_retry_ms == 0 || t.rebroadcast_ms == 0 {
            return Err(invalid("timeouts", "timeouts must be positive".into()));
        }
        config.logic.core.leader_timeout_ms = t.leader_timeout_ms;
        config.logic.core.min_round_delay_ms = t.min_round_delay_ms;
        config.logic.sync.retry_ms = t.fetch_retry_ms;
        config.logic.sync.rebroadcast_ms = t.rebroadcast_ms;
        config.sync_writes = self.sync_writes;
        config.logic.core.retention_rounds = self.retention_rounds;
        Ok(config)
    }

    /// Parses JSON.
    pub fn from_json(json: &str) -> NodeResult<Self> {
        Ok(serde_json::from_str(json)?)
    }
    /// Pretty JSON.
    pub fn to_json(&self) -> NodeResult<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }
    /// Reads a node file.
    pub fn load(path: impl AsRef<Path>) -> NodeResult<Self> {
        Self::from_json(&std::fs::read_to_string(path)?)
    }
    /// Writes a node file, readable by the owner only on Unix (it holds the signing key).
    pub fn save(&self, path: impl AsRef<Path>) -> NodeResult<()> {
        let path = path.as_ref();
        std::fs::write(path, self.to_json()?)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
        Ok(())
    }
}

/// Settings of a running [`crate::ValidatorNode`].
#[derive(Clone, Debug)]
pub struct ValidatorConfig {
    /// Message handler settings (own index is `logic.core.own_index`).
    pub logic: LogicConfig,
    /// TCP listen address.
    pub listen_address: SocketAddr,
    /// fsync every consensus write.
    pub sync_writes: bool,
    /// TCP reconnect backoff.
    pub backoff: BackoffConfig,
    /// Capacity of the commit output channel (commits wait inside the node while it is full;
    /// consensus does not stall).
    pub commit_channel_capacity: usize,
    /// Told the transactions of every peer block accepted into the DAG (see
    /// [`crate::Outputs::accepted_transactions`]). Called on the node's event loop: it must only
    /// hand the work off.
    pub accepted_transactions: Option<AcceptedTransactionsHook>,
}

/// A callback for the transactions of peer blocks accepted into the DAG.
#[derive(Clone)]
pub struct AcceptedTransactionsHook(pub Arc<dyn Fn(Vec<Transaction>) + Send + Sync>);

impl std::fmt::Debug for AcceptedTransactionsHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AcceptedTransactionsHook")
    }
}

impl ValidatorConfig {
    /// Defaults for authority `own_index` listening on `listen_address`.
    pub fn new(own_index: AuthorityIndex, listen_address: SocketAddr) -> Self {
        Self {
            logic: LogicConfig::new(own_index),
            listen_address,
            sync_writes: true,
            backoff: BackoffConfig::default(),
            commit_channel_capacity: 1024,
            accepted_transactions: None,
        }
    }

    /// This validator's index.
    pub fn own_index(&self) -> AuthorityIndex {
        self.logic.core.own_index
    }
}

/// A committee of `n` equal-stake validators on 127.0.0.1 ports `base_port..base_port+n` with
/// one node file each (storage in `validator-<i>/consensus`). Keys come from the operating
/// system's randomness, or — only when `seed` is given — deterministically from it.
pub fn generate_local_committee(
    n: usize,
    base_port: u16,
    seed: Option<[u8; 32]>,
) -> NodeResult<(CommitteeFile, Vec<NodeConfigFile>)> {
    if n == 0 {
        return Err(invalid(
            "n",
            "a committee needs at least one validator".into(),
        ));
    }
    let last_port = (base_port as usize).checked_add(n - 1);
    if last_port.is_none_or(|p| p > u16::MAX as usize) {
        return Err(invalid(
            "base_port",
            format!("{n} ports from {base_port} exceed 65535"),
        ));
    }
    let keys: Vec<SigningKey> = match seed {
        Some(seed) => {
            let mut rng = ChaCha20Rng::from_seed(seed);
            (0..n).map(|_| SigningKey::generate(&mut rng)).collect()
        }
        None => (0..n)
            .map(|_| SigningKey::generate(&mut rand::rngs::OsRng))
            .collect(),
    };
    let mut authorities = Vec::with_capacity(n);
    let mut nodes = Vec::with_capacity(n);
    for (i, key) in keys.iter().enumerate() {
        let address = format!("127.0.0.1:{}", base_port as usize + i);
        authorities.push(AuthorityEntry {
            name: format!("validator-{i}"),
            stake: 1,
            public_key: hex::encode(key.verifying_key().as_bytes()),
            network_address: address.clone(),
        });
        nodes.push(NodeConfigFile {
            authority_index: i as AuthorityIndex,
            private_key: signing_key_to_hex(key),
            listen_address: address,
            storage_path: PathBuf::from(format!("validator-{i}/consensus")),
            timeouts: TimeoutsFile::default(),
            sync_writes: true,
            retention_rounds: default_retention_rounds(),
        });
    }
    Ok((
        CommitteeFile {
            epoch: 0,
            authorities,
        },
        nodes,
    ))
}

fn invalid(field: &'static str, reason: String) -> NodeError {
    NodeError::InvalidConfig { field, reason }
}

fn check_host_port(address: &str) -> NodeResult<()> {
    let bad = || invalid("network_address", format!("{address:?} is not host:port"));
    let (host, port) = address.rsplit_once(':').ok_or_else(bad)?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(bad());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_generation_is_deterministic_and_valid() {
        let (c1, n1) = generate_local_committee(4, 7000, Some([7; 32])).unwrap();
        let (c2, n2) = generate_local_committee(4, 7000, Some([7; 32])).unwrap();
        assert_eq!(c1, c2);
        assert_eq!(n1, n2);
        let (c3, _) = generate_local_committee(4, 7000, Some([8; 32])).unwrap();
        assert_ne!(c1.authorities[0].public_key, c3.authorities[0].public_key);
        let committee = c1.to_committee().unwrap();
        assert_eq!(committee.size(), 4);
        for (i, node) in n1.iter().enumerate() {
            let key = node.signing_key().unwrap();
            assert_eq!(
                committee.authority(i as u32).unwrap().public_key.0,
                key.verifying_key()
            );
            let cfg = node.validator_config().unwrap();
            assert_eq!(cfg.own_index(), i as u32);
            assert_eq!(cfg.listen_address.port(), 7000 + i as u16);
        }
        let peers = c1.peer_addresses().unwrap();
        assert_eq!(
            peers[3],
            (3, PeerAddress::Socket("127.0.0.1:7003".parse().unwrap()))
        );
    }

    #[test]
    fn unseeded_generation_uses_fresh_keys() {
        let (a, _) = generate_local_committee(2, 9000, None).unwrap();
        let (b, _) = generate_local_committee(2, 9000, None).unwrap();
        assert_ne!(a.authorities[0].public_key, b.authorities[0].public_key);
        assert_ne!(a.authorities[0].public_key, a.authorities[1].public_key);
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        assert!(matches!(
            generate_local_committee(0, 7000, None),
            Err(NodeError::InvalidConfig { field: "n", .. })
        ));
        assert!(matches!(
            generate_local_committee(3, 65534, None),
            Err(NodeError::InvalidConfig {
                field: "base_port",
                ..
            })
        ));
        let (mut c, nodes) = generate_local_committee(2, 7000, Some([1; 32])).unwrap();
        let dup = c.authorities[0].public_key.clone();
        let mut d = c.clone();
        d.authorities[1].public_key = dup;
        assert!(matches!(
            d.to_committee(),
            Err(NodeError::InvalidConfig { .. })
        ));
        c.authorities[1].network_address = "nohostport".into();
        assert!(matches!(
            c.to_committee(),
            Err(NodeError::InvalidConfig { .. })
        ));
        c.authorities[1].network_address = "127.0.0.1:7001".into();
        c.authorities[1].stake = 0;
        assert!(matches!(c.to_committee(), Err(NodeError::Consensus(_))));
        let mut n = nodes[0].clone();
        n.listen_address = "localhost".into();
        assert!(matches!(
            n.validator_config(),
            Err(NodeError::InvalidConfig {
                field: "listen_address",
                ..
            })
        ));
        n.private_key = "zz".into();
        assert!(n.signing_key().is_err());
        assert!(CommitteeFile::from_json("{").is_err());
    }

    #[test]
    fn files_round_trip_through_json_and_disk() {
        let dir = tempfile::tempdir().unwrap();
        let (c, nodes) = generate_local_committee(3, 7100, Some([2; 32])).unwrap();
        c.save(dir.path().join("committee.json")).unwrap();
        nodes[1].save(dir.path().join("node-1.json")).unwrap();
        assert_eq!(
            CommitteeFile::load(dir.path().join("committee.json")).unwrap(),
            c
        );
        assert_eq!(
            NodeConfigFile::load(dir.path().join("node-1.json")).unwrap(),
            nodes[1]
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("node-1.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Missing optional fields take defaults.
        let minimal = r#"{"authority_index":0,"private_key":"00","listen_address":"127.0.0.1:1","storage_path":"x"}"#;
        let n = NodeConfigFile::from_json(minimal).unwrap();
        assert_eq!(n.timeouts, TimeoutsFile::default());
        assert!(n.sync_writes);
        let partial = r#"{"authority_index":0,"private_key":"00","listen_address":"127.0.0.1:1","storage_path":"x","timeouts":{"leader_timeout_ms":300}}"#;
        let n = NodeConfigFile::from_json(partial).unwrap();
        assert_eq!(n.timeouts.leader_timeout_ms, 300);
        assert_eq!(n.timeouts.min_round_delay_ms, 50);
        assert_eq!(
            n.validator_config().unwrap().logic.core.leader_timeout_ms,
            300
        );
    }
}
