//! A tiny explicit, deterministic binary encoding (little-endian integers, u32 length prefixes).
//! Used for digests, signatures and the wire/storage format. Decoding never panics and never
//! allocates more than the input can justify.

use crate::error::{ConsensusError, ConsensusResult};

/// Appends fields to a byte buffer.
#[derive(Default)]
pub struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    /// Empty encoder.
    pub fn new() -> Self {
        Self::default()
    }
    /// Appends a u32.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Appends a u64.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Appends fixed-size bytes without a length prefix.
    pub fn fixed(&mut self, v: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(v);
        self
    }
    /// Appends length-prefixed bytes.
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.u32(v.len() as u32);
        self.buf.extend_from_slice(v);
        self
    }
    /// Returns the encoded bytes.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads fields from a byte slice.
pub struct Decoder<'a> {
    buf: &'a [u8],
}

impl<'a> Decoder<'a> {
    /// Decoder over `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }
    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }
    /// Reads exactly `n` bytes.
    pub fn fixed(&mut self, n: usize) -> ConsensusResult<&'a [u8]> {
        if self.buf.len() < n {
            return Err(ConsensusError::Decode(format!(
                "need {n} bytes, {} left",
                self.buf.len()
            )));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }
    /// Reads a u32.
    pub fn u32(&mut self) -> ConsensusResult<u32> {
        let b = self.fixed(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// Reads a u64.
    pub fn u64(&mut self) -> ConsensusResult<u64> {
        let b = self.fixed(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    /// Reads length-prefixed bytes.
    pub fn bytes(&mut self) -> ConsensusResult<&'a [u8]> {
        let n = self.u32()? as usize;
        self.fixed(n)
    }
    /// Reads a count of items, each at least `min_item_size` bytes, rejecting counts the input cannot hold.
    pub fn count(&mut self, min_item_size: usize) -> ConsensusResult<usize> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_item_size.max(1)) > self.buf.len() {
            return Err(ConsensusError::Decode(format!(
                "count {n} exceeds remaining input"
            )));
        }
        Ok(n)
    }
    /// Fails unless all input was consumed.
    pub fn finish(self) -> ConsensusResult<()> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(ConsensusError::Decode(format!(
                "{} trailing bytes",
                self.buf.len()
            )))
        }
    }
}
