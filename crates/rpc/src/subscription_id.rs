//! Subscription ids in geth's format: `0x` followed by 32 hex digits. web3.py and ethers check
//! the shape, so jsonrpsee's default integer ids are not enough.

use alloy_primitives::keccak256;
use jsonrpsee::{core::traits::IdProvider, types::SubscriptionId};
use std::sync::atomic::{AtomicU64, Ordering};

/// Hands out `0x` + 32 hex digit ids, distinct per server (a counter hashed with the server's
/// start time, so ids do not repeat across restarts either).
#[derive(Debug)]
pub(crate) struct HexSubscriptionIds {
    seed: u128,
    next: AtomicU64,
}

impl HexSubscriptionIds {
    /// A provider seeded with the current time.
    pub(crate) fn new() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        Self {
            seed,
            next: AtomicU64::new(0),
        }
    }
}

impl Default for HexSubscriptionIds {
    fn default() -> Self {
        Self::new()
    }
}

impl IdProvider for HexSubscriptionIds {
    fn next_id(&self) -> SubscriptionId<'static> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut input = [0u8; 24];
        input[..16].copy_from_slice(&self.seed.to_be_bytes());
        input[16..].copy_from_slice(&n.to_be_bytes());
        let digest = keccak256(input);
        SubscriptionId::Str(format!("0x{}", alloy_primitives::hex::encode(&digest[..16])).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_geths_shape_and_differ() {
        let ids = HexSubscriptionIds::new();
        let a = ids.next_id();
        let b = ids.next_id();
        for id in [&a, &b] {
            let SubscriptionId::Str(s) = id else {
                panic!("string id expected, got {id:?}")
            };
            assert_eq!(s.len(), 34);
            assert!(s.starts_with("0x"));
            assert!(s[2..].chars().all(|c| c.is_ascii_hexdigit()));
        }
        assert_ne!(a, b);
    }
}
