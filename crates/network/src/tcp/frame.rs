//! Wire format: length-delimited frames, the first of which is a hello naming the dialer.
//!
//! Every frame is a 4-byte big-endian length followed by that many payload bytes
//! (`tokio_util::codec::LengthDelimitedCodec`). On each connection the dialer first sends a
//! hello frame of [`HELLO_LEN`] bytes: the magic `FEN1` and its index as a big-endian `u32`.
//! All later frames are opaque payloads, in one direction only (dialer to listener).

use bytes::Bytes;
use tokio_util::codec::LengthDelimitedCodec;

use crate::PeerIndex;

/// Magic and version prefix of the hello frame.
const HELLO_MAGIC: &[u8; 4] = b"FEN1";

/// Length of the hello frame's payload.
pub(crate) const HELLO_LEN: usize = 8;

/// The frame codec for a given maximum payload size.
pub(crate) fn codec(max_frame_bytes: usize) -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_length(4)
        .max_frame_length(max_frame_bytes)
        .new_codec()
}

/// Hello payload announcing `index`.
pub(crate) fn encode_hello(index: PeerIndex) -> Bytes {
    let index = u32::try_from(index).unwrap_or(u32::MAX);
    let mut hello = Vec::with_capacity(HELLO_LEN);
    hello.extend_from_slice(HELLO_MAGIC);
    hello.extend_from_slice(&index.to_be_bytes());
    Bytes::from(hello)
}

/// The index announced by a hello payload, or `None` if it is not a hello.
pub(crate) fn decode_hello(payload: &[u8]) -> Option<PeerIndex> {
    let (magic, index) = payload.split_at_checked(HELLO_MAGIC.len())?;
    if magic != HELLO_MAGIC {
        return None;
    }
    let index: [u8; 4] = index.try_into().ok()?;
    usize::try_from(u32::from_be_bytes(index)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_round_trips() {
        let hello = encode_hello(7);
        assert_eq!(hello.len(), HELLO_LEN);
        assert_eq!(decode_hello(&hello), Some(7));
    }

    #[test]
    fn malformed_hellos_are_rejected() {
        assert_eq!(decode_hello(b"FEN1\x00\x00\x00"), None);
        assert_eq!(decode_hello(b"FEN1\x00\x00\x00\x01\x02"), None);
        assert_eq!(decode_hello(b"XXXX\x00\x00\x00\x01"), None);
        assert_eq!(decode_hello(b""), None);
    }
}
