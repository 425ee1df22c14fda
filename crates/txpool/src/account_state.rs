//! The pool's narrow view of chain state: one account read per sender.

use alloy_primitives::{Address, U256};

/// Nonce and balance of an account at the canonical head.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountInfo {
    /// The next nonce the account can use.
    pub nonce: u64,
    /// Its balance in wei.
    pub balance: U256,
}

/// Account view at the current canonical head. A missing account is `AccountInfo::default()`;
/// `Err` means the state could not be read at all.
pub trait PoolState {
    /// The account's nonce and balance at the head.
    fn account(&self, address: &Address) -> Result<AccountInfo, String>;

    /// What the next block's fork asks of blob transactions; `None` (the default) while blob
    /// transactions are not accepted (before Cancun, or a view that does not know the fork).
    fn blob_rules(&self) -> Option<fastevm_blobs::BlobRules> {
        None
    }
}
