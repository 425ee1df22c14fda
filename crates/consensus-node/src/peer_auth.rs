//! Validator connections authenticated with the validators' own ed25519 keys: a dialer signs
//! the listener's challenge ([`fastevm_network::tcp::auth_message`]) with its block-signing key
//! and the listener checks it against the committee's public key for the index claimed.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier};
use fastevm_consensus::Committee;
use fastevm_network::{tcp::PeerAuth, PeerIndex};

/// [`PeerAuth`] over a committee's keys.
pub struct CommitteeAuth {
    key: SigningKey,
    committee: Committee,
}

impl CommitteeAuth {
    /// Signs with `key`, checks peers against `committee`.
    pub fn new(key: SigningKey, committee: Committee) -> Self {
        Self { key, committee }
    }
}

impl PeerAuth for CommitteeAuth {
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.key.sign(message).to_bytes().to_vec()
    }

    fn verify(&self, peer: PeerIndex, message: &[u8], signature: &[u8]) -> bool {
        let Ok(index) = u32::try_from(peer) else {
            return false;
        };
        let Some(authority) = self.committee.authority(index) else {
            return false;
        };
        let Ok(signature) = Signature::from_slice(signature) else {
            return false;
        };
        authority.public_key.0.verify(message, &signature).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_claimed_validators_key_passes() {
        let (committee, keys) = Committee::new_for_test(4, 0);
        let message = fastevm_network::tcp::auth_message(&[7; 32], 1, 0);
        let listener = CommitteeAuth::new(keys[0].clone(), committee.clone());
        let genuine = CommitteeAuth::new(keys[1].clone(), committee.clone()).sign(&message);
        let impostor = CommitteeAuth::new(keys[2].clone(), committee.clone()).sign(&message);
        assert!(listener.verify(1, &message, &genuine));
        assert!(!listener.verify(1, &message, &impostor));
        assert!(!listener.verify(2, &message, &genuine));
        assert!(!listener.verify(9, &message, &genuine), "unknown index");
        assert!(!listener.verify(1, &message, &genuine[..63]), "truncated");
        let other = fastevm_network::tcp::auth_message(&[8; 32], 1, 0);
        assert!(!listener.verify(1, &other, &genuine), "another challenge");
    }
}
