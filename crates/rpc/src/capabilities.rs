//! `eth_capabilities`: what history this node serves, for RPC routers. FastEVM prunes nothing, so
//! every resource is available from genesis and has no deletion strategy.

use crate::{EthRpc, RpcError};
use alloy_primitives::{B256, U64};
use serde::{Deserialize, Serialize};

/// The head block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadCapability {
    /// Head number.
    pub number: U64,
    /// Head hash.
    pub hash: B256,
}

/// Availability of one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceCapability {
    /// Whether the node serves the resource at all.
    pub disabled: bool,
    /// Oldest block the resource is available for.
    pub oldest_block: U64,
}

/// The `eth_capabilities` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// The head.
    pub head: HeadCapability,
    /// Historical state.
    pub state: ResourceCapability,
    /// Transactions.
    pub tx: ResourceCapability,
    /// Logs.
    pub logs: ResourceCapability,
    /// Receipts.
    pub receipts: ResourceCapability,
    /// Blocks.
    pub blocks: ResourceCapability,
    /// State proofs.
    pub stateproofs: ResourceCapability,
}

impl EthRpc {
    /// `eth_capabilities`.
    pub(crate) fn capability_report(&self) -> Result<Capabilities, RpcError> {
        let head = self.ctx.store.head_header()?;
        let everything = ResourceCapability {
            disabled: false,
            oldest_block: U64::ZERO,
        };
        Ok(Capabilities {
            head: HeadCapability {
                number: U64::from(head.number),
                hash: self.ctx.store.head_hash()?,
            },
            state: everything,
            tx: everything,
            logs: everything,
            receipts: everything,
            blocks: everything,
            stateproofs: everything,
        })
    }
}
