//! The crate's one error type.

/// Why a blob transaction or its sidecar is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlobError {
    /// The bytes are not a transaction in network or canonical form.
    #[error("{0}")]
    Decode(String),
    /// A blob transaction arrived without its blobs.
    #[error("missing sidecar in blob transaction")]
    MissingSidecar,
    /// A blob transaction must carry at least one blob.
    #[error("blobless blob transaction")]
    NoBlobs,
    /// More blobs than one transaction may carry at this fork.
    #[error("too many blobs in transaction: have {have}, permitted {max}")]
    TooManyBlobs {
        /// Blobs in the transaction.
        have: usize,
        /// The fork's per-transaction limit.
        max: u64,
    },
    /// A sidecar with cell proofs before Osaka.
    #[error("cell proofs (EIP-7594 sidecar) are not accepted before Osaka")]
    CellProofsBeforeOsaka,
    /// Blobs, commitments, proofs or versioned hashes do not match.
    #[error("invalid blob sidecar: {0}")]
    InvalidSidecar(String),
}
