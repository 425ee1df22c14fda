//! Where the bridge is: the commit index of each block rides in its `extraData`, so after a
//! restart of either side the bridge reads the head and resumes at the next commit.

use alloy_primitives::Bytes;

/// Prefix of the commit marker in `extraData`.
pub const COMMIT_MARKER_PREFIX: &[u8] = b"mysticeti/commit:";

/// `extraData` of the block executing commit `index`.
pub fn encode_commit_marker(index: u64) -> Bytes {
    let mut out = Vec::with_capacity(COMMIT_MARKER_PREFIX.len() + 8);
    out.extend_from_slice(COMMIT_MARKER_PREFIX);
    out.extend_from_slice(&index.to_be_bytes());
    out.into()
}

/// The commit index recorded in a block's `extraData`, if it is a consensus block.
pub fn decode_commit_marker(extra_data: &[u8]) -> Option<u64> {
    let rest = extra_data.strip_prefix(COMMIT_MARKER_PREFIX)?;
    Some(u64::from_be_bytes(rest.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_round_trip_fits_extra_data() {
        for index in [0, 1, 42, u64::MAX] {
            let marker = encode_commit_marker(index);
            assert!(marker.len() <= 32);
            assert_eq!(decode_commit_marker(&marker), Some(index));
        }
        assert_eq!(decode_commit_marker(b""), None);
        assert_eq!(decode_commit_marker(b"FastEVM devnet"), None);
        assert_eq!(decode_commit_marker(&encode_commit_marker(7)[..20]), None);
    }
}
