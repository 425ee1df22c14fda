//! Wire format: length-delimited frames; a challenge from the listener, then a hello naming (and,
//! with authentication, proving) the dialer.
//!
//! Every frame is a 4-byte big-endian length followed by that many payload bytes
//! (`tokio_util::codec::LengthDelimitedCodec`). On each connection the listener first sends a
//! challenge frame of [`CHALLENGE_LEN`] random bytes; the dialer then sends a hello: the magic
//! `FEN2`, its index as a big-endian `u32`, and its signature over
//! [`auth_message`](super::auth::auth_message) (empty without authentication, at most
//! [`MAX_SIGNATURE_LEN`] bytes). All later frames are opaque payloads from dialer to listener.

use bytes::Bytes;
use tokio_util::codec::LengthDelimitedCodec;

use crate::PeerIndex;

/// Magic and version prefix of the hello frame.
const HELLO_MAGIC: &[u8; 4] = b"FEN2";

/// Length of a hello frame's payload without a signature.
pub(crate) const HELLO_LEN: usize = 8;

/// Length of the listener's challenge.
pub(crate) const CHALLENGE_LEN: usize = 32;

/// Longest signature a hello may carry.
pub(crate) const MAX_SIGNATURE_LEN: usize = 128;

/// The frame codec for a given maximum payload size.
pub(crate) fn codec(max_frame_bytes: usize) -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_length(4)
        .max_frame_length(max_frame_bytes)
        .new_codec()
}

/// Hello payload announcing `index`, with `signature` (empty without authentication).
pub(crate) fn encode_hello(index: PeerIndex, signature: &[u8]) -> Bytes {
    let index = u32::try_from(index).unwrap_or(u32::MAX);
    let mut hello = Vec::with_capacity(HELLO_LEN + signature.len());
    hello.extend_from_slice(HELLO_MAGIC);
    hello.extend_from_slice(&index.to_be_bytes());
    hello.extend_from_slice(signature);
    Bytes::from(hello)
}

/// The index and signature of a hello payload, or `None` if it is not a hello.
pub(crate) fn decode_hello(payload: &[u8]) -> Option<(PeerIndex, &[u8])> {
    let (magic, rest) = payload.split_at_checked(HELLO_MAGIC.len())?;
    if magic != HELLO_MAGIC {
        return None;
    }
    let (index, signature) = rest.split_at_checked(4)?;
    if signature.len() > MAX_SIGNATURE_LEN {
        return None;
    }
    let index: [u8; 4] = index.try_into().ok()?;
    Some((usize::try_from(u32::from_be_bytes(index)).ok()?, signature))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_round_trips() {
        let hello = encode_hello(7, &[]);
        assert_eq!(hello.len(), HELLO_LEN);
        assert_eq!(decode_hello(&hello), Some((7, &[][..])));
        let signed = encode_hello(7, &[9; 64]);
        assert_eq!(decode_hello(&signed), Some((7, &[9; 64][..])));
        assert_eq!(decode_hello(&encode_hello(7, &[9; 129])), None);
    }

    #[test]
    fn malformed_hellos_are_rejected() {
        assert_eq!(decode_hello(b"FEN2\x00\x00\x00"), None);
        assert_eq!(decode_hello(b"FEN1\x00\x00\x00\x01"), None);
        assert_eq!(decode_hello(b"XXXX\x00\x00\x00\x01"), None);
        assert_eq!(decode_hello(b""), None);
    }
}
