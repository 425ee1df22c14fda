//! The committee: authorities with stake, public keys and addresses; quorum thresholds; key generation.

use ed25519_dalek::{Signature, SigningKey, Verifier, VerifyingKey};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{ConsensusError, ConsensusResult};
use crate::types::{AuthorityIndex, BlockDigest, Epoch};

/// An ed25519 public key, serialized as 64 hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PublicKey(pub VerifyingKey);

impl PublicKey {
    /// True if `signature` is a valid signature of `digest` by this key.
    pub fn verify(&self, digest: &BlockDigest, signature: &[u8; 64]) -> bool {
        let sig = Signature::from_bytes(signature);
        self.0.verify(&digest.0, &sig).is_ok()
    }
    /// Hex form.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.as_bytes())
    }
    /// Parses the hex form.
    pub fn from_hex(s: &str) -> ConsensusResult<Self> {
        let bytes = hex::decode(s).map_err(|e| ConsensusError::InvalidCommittee(e.to_string()))?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| ConsensusError::InvalidCommittee("public key must be 32 bytes".into()))?;
        VerifyingKey::from_bytes(&arr)
            .map(PublicKey)
            .map_err(|e| ConsensusError::InvalidCommittee(e.to_string()))
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PublicKey::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// One committee member.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Authority {
    /// Voting power.
    pub stake: u64,
    /// Block-signing key.
    pub public_key: PublicKey,
    /// Network address (opaque to consensus), e.g. "127.0.0.1:7000".
    pub address: String,
}

/// The set of authorities of one epoch. Authority indices are positions in `authorities`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Committee {
    /// Epoch of this committee.
    #[serde(default)]
    pub epoch: Epoch,
    /// Members, indexed by [`AuthorityIndex`].
    pub authorities: Vec<Authority>,
}

impl Committee {
    /// Builds and validates a committee (non-empty, every stake > 0, total fits u64).
    pub fn new(epoch: Epoch, authorities: Vec<Authority>) -> ConsensusResult<Self> {
        let c = Self { epoch, authorities };
        c.validate()?;
        Ok(c)
    }
    /// Checks the invariants (use after deserializing a config file).
    pub fn validate(&self) -> ConsensusResult<()> {
        if self.authorities.is_empty() {
            return Err(ConsensusError::InvalidCommittee("empty committee".into()));
        }
        if self.authorities.iter().any(|a| a.stake == 0) {
            return Err(ConsensusError::InvalidCommittee("zero stake".into()));
        }
        self.authorities
            .iter()
            .try_fold(0u64, |acc, a| acc.checked_add(a.stake))
            .ok_or_else(|| ConsensusError::InvalidCommittee("stake overflow".into()))?;
        Ok(())
    }
    /// Number of authorities.
    pub fn size(&self) -> usize {
        self.authorities.len()
    }
    /// The authority at `index`, if any.
    pub fn authority(&self, index: AuthorityIndex) -> Option<&Authority> {
        self.authorities.get(index as usize)
    }
    /// True if `index` is a committee member.
    pub fn is_valid_index(&self, index: AuthorityIndex) -> bool {
        (index as usize) < self.authorities.len()
    }
    /// Stake of `index` (0 for unknown indices).
    pub fn stake(&self, index: AuthorityIndex) -> u64 {
        self.authority(index).map_or(0, |a| a.stake)
    }
    /// Sum of all stakes.
    pub fn total_stake(&self) -> u64 {
        self.authorities.iter().map(|a| a.stake).sum()
    }
    /// Quorum n − f, where f = ⌊(n−1)/3⌋ is the largest tolerated faulty stake (2f+1 when n = 3f+1).
    pub fn quorum_threshold(&self) -> u64 {
        let t = self.total_stake();
        t - (t - 1) / 3
    }
    /// Validity f + 1 with f = ⌊(n−1)/3⌋: any such set holds at least one honest member.
    pub fn validity_threshold(&self) -> u64 {
        (self.total_stake() - 1) / 3 + 1
    }
    /// All authority indices in order.
    pub fn indices(&self) -> impl Iterator<Item = AuthorityIndex> + '_ {
        0..self.authorities.len() as AuthorityIndex
    }
    /// Deterministic test committee of `n` equal-stake authorities; keys derived from `seed`.
    pub fn new_for_test(n: usize, seed: u64) -> (Committee, Vec<SigningKey>) {
        Self::new_for_test_with_stakes(&vec![1; n], seed)
    }
    /// Deterministic test committee with the given stakes.
    pub fn new_for_test_with_stakes(stakes: &[u64], seed: u64) -> (Committee, Vec<SigningKey>) {
        let keys = keypairs_from_seed(stakes.len(), seed);
        let authorities = keys
            .iter()
            .zip(stakes)
            .enumerate()
            .map(|(i, (k, &stake))| Authority {
                stake,
                public_key: PublicKey(k.verifying_key()),
                address: format!("127.0.0.1:{}", 7000 + i),
            })
            .collect();
        let committee = Committee::new(0, authorities).expect("valid test committee");
        (committee, keys)
    }
}

/// `n` signing keys derived deterministically from `seed` (tests, simulations).
pub fn keypairs_from_seed(n: usize, seed: u64) -> Vec<SigningKey> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    (0..n).map(|_| SigningKey::generate(&mut rng)).collect()
}

/// A fresh signing key from the operating system's randomness (for the CLI).
pub fn generate_keypair() -> SigningKey {
    SigningKey::generate(&mut rand::rngs::OsRng)
}

/// Hex form of a signing key (for a key file; keep it secret).
pub fn signing_key_to_hex(key: &SigningKey) -> String {
    hex::encode(key.to_bytes())
}

/// Parses [`signing_key_to_hex`] output (surrounding whitespace allowed).
pub fn signing_key_from_hex(s: &str) -> ConsensusResult<SigningKey> {
    let bytes =
        hex::decode(s.trim()).map_err(|e| ConsensusError::InvalidCommittee(e.to_string()))?;
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| ConsensusError::InvalidCommittee("signing key must be 32 bytes".into()))?;
    Ok(SigningKey::from_bytes(&arr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_stake_thresholds() {
        for (n, q, v) in [
            (1, 1, 1),
            (4, 3, 2),
            (5, 4, 2),
            (6, 5, 2),
            (7, 5, 3),
            (10, 7, 4),
        ] {
            let (c, _) = Committee::new_for_test(n, 0);
            assert_eq!(c.quorum_threshold(), q, "n={n}");
            assert_eq!(c.validity_threshold(), v, "n={n}");
        }
    }

    #[test]
    fn weighted_thresholds() {
        let (c, _) = Committee::new_for_test_with_stakes(&[10, 20, 30, 40], 0);
        assert_eq!(c.total_stake(), 100);
        assert_eq!(c.quorum_threshold(), 67);
        assert_eq!(c.validity_threshold(), 34);
        let (c, _) = Committee::new_for_test_with_stakes(&[3, 3, 3], 0);
        assert_eq!(c.quorum_threshold(), 7);
        // f = (9-1)/3 = 2 tolerated faulty stake ⇒ validity f+1 = 3, quorum n-f = 7.
        assert_eq!(c.validity_threshold(), 3);
    }

    #[test]
    fn json_round_trip_and_validation() {
        let (c, _) = Committee::new_for_test(4, 3);
        let json = serde_json::to_string(&c).unwrap();
        let back: Committee = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
        let bad = json.replacen("\"stake\":1", "\"stake\":0", 1);
        let bad: Committee = serde_json::from_str(&bad).unwrap();
        assert!(bad.validate().is_err());
        assert!(serde_json::from_str::<Committee>(&json.replacen(
            "\"public_key\":\"",
            "\"public_key\":\"zz",
            1
        ))
        .is_err());
    }

    #[test]
    fn keys_are_deterministic_per_seed() {
        let a = keypairs_from_seed(3, 9);
        let b = keypairs_from_seed(3, 9);
        let c = keypairs_from_seed(3, 10);
        assert_eq!(a[2].to_bytes(), b[2].to_bytes());
        assert_ne!(a[0].to_bytes(), c[0].to_bytes());
        assert_ne!(generate_keypair().to_bytes(), generate_keypair().to_bytes());
        let hex = signing_key_to_hex(&a[1]);
        let back = signing_key_from_hex(&format!("{hex}\n")).unwrap();
        assert_eq!(back.to_bytes(), a[1].to_bytes());
        assert!(signing_key_from_hex("abcd").is_err());
        assert!(signing_key_from_hex("zz").is_err());
    }
}
