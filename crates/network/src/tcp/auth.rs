//! Peer authentication: the dialer proves it holds the key of the validator index it claims.
//!
//! On each connection the listener first sends a fresh random challenge; the dialer answers in
//! its hello with a signature over [`auth_message`] (the challenge, its own index and the
//! listener's), which the listener checks against the claimed index's public key. A fresh
//! challenge per connection means a recorded hello cannot be replayed, and binding both indices
//! means a hello for one listener is useless at another. Which signature scheme is used is the
//! caller's business (the consensus node signs with the validator's ed25519 key).

use std::sync::Arc;

use crate::PeerIndex;

/// Domain separation for the signed handshake message.
const DOMAIN: &[u8] = b"fastevm-peer-auth-v1";

/// Signs and checks handshake messages.
pub trait PeerAuth: Send + Sync {
    /// This node's signature over `message`.
    fn sign(&self, message: &[u8]) -> Vec<u8>;
    /// Whether `signature` over `message` was made with `peer`'s key.
    fn verify(&self, peer: PeerIndex, message: &[u8], signature: &[u8]) -> bool;
}

/// A shared [`PeerAuth`], as [`super::TcpConfig`] holds it.
#[derive(Clone)]
pub struct PeerAuthenticator(pub Arc<dyn PeerAuth>);

impl std::fmt::Debug for PeerAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PeerAuthenticator")
    }
}

impl PartialEq for PeerAuthenticator {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for PeerAuthenticator {}

/// What the dialer `from` signs to connect to `to` after the challenge `challenge`.
pub fn auth_message(challenge: &[u8], from: PeerIndex, to: PeerIndex) -> Vec<u8> {
    let index = |i: PeerIndex| u32::try_from(i).unwrap_or(u32::MAX).to_be_bytes();
    [DOMAIN, challenge, &index(from), &index(to)].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_binds_challenge_and_both_ends() {
        let m = auth_message(&[1; 32], 2, 3);
        assert_ne!(m, auth_message(&[1; 32], 3, 2));
        assert_ne!(m, auth_message(&[2; 32], 2, 3));
        assert!(m.starts_with(DOMAIN));
    }
}
