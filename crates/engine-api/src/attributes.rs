//! Payload attributes as FastEVM accepts them: the standard Engine API fields plus the extension
//! fields Optimism's op-node uses (`transactions`, `noTxPool`, `gasLimit`) and `extraData` — in
//! wire form ([`FastPayloadAttributes`]) and as the engine takes them ([`PayloadRequest`]), with
//! the payload id every node derives alike.

use alloy_primitives::{keccak256, Bytes, B256};
use alloy_rpc_types_engine::{PayloadAttributes, PayloadId};
use serde::{Deserialize, Serialize};

/// What a `forkchoiceUpdated` with attributes asks for: the standard attributes plus FastEVM's
/// extension (Optimism op-node's field names): an ordered transaction list, and whether the pool
/// may add transactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadRequest {
    /// Standard Engine API attributes.
    pub attributes: PayloadAttributes,
    /// Raw EIP-2718 transactions the block must contain in this order (invalid ones are skipped).
    /// A blob transaction comes in network form, with the sidecar its blobs bundle needs.
    pub transactions: Option<Vec<Bytes>>,
    /// When true, nothing is taken from the transaction pool.
    pub no_tx_pool: bool,
    /// Gas limit of the block; the parent's when `None`.
    pub gas_limit: Option<u64>,
    /// Extra data of the block (at most 32 bytes); empty when `None`. FastEVM's consensus bridge
    /// records the commit index here.
    pub extra_data: Option<Bytes>,
}

impl PayloadRequest {
    /// The payload id: a hash of the parent and every attribute, so the same request on any node
    /// gives the same id (and, building deterministically, the same block).
    pub fn payload_id(&self, parent: &B256) -> PayloadId {
        let a = &self.attributes;
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(parent.as_slice());
        buf.extend_from_slice(&a.timestamp.to_be_bytes());
        buf.extend_from_slice(a.prev_randao.as_slice());
        buf.extend_from_slice(a.suggested_fee_recipient.as_slice());
        match &a.withdrawals {
            Some(ws) => {
                buf.push(1);
                for w in ws {
                    buf.extend_from_slice(&w.index.to_be_bytes());
                    buf.extend_from_slice(&w.validator_index.to_be_bytes());
                    buf.extend_from_slice(w.address.as_slice());
                    buf.extend_from_slice(&w.amount.to_be_bytes());
                }
            }
            None => buf.push(0),
        }
        match a.parent_beacon_block_root {
            Some(root) => {
                buf.push(1);
                buf.extend_from_slice(root.as_slice());
            }
            None => buf.push(0),
        }
        match &self.transactions {
            Some(txs) => {
                buf.push(1);
                for tx in txs {
                    buf.extend_from_slice(keccak256(tx).as_slice());
                }
            }
            None => buf.push(0),
        }
        buf.push(self.no_tx_pool as u8);
        buf.extend_from_slice(&self.gas_limit.unwrap_or_default().to_be_bytes());
        if let Some(extra) = &self.extra_data {
            buf.extend_from_slice(extra);
        }
        let hash = keccak256(&buf);
        PayloadId::new(hash[..8].try_into().expect("8 bytes"))
    }
}

/// `PayloadAttributesV1–V3` with FastEVM's optional extension fields. Unknown fields are ignored,
/// as in the standard attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FastPayloadAttributes {
    /// The standard attributes.
    #[serde(flatten)]
    pub inner: PayloadAttributes,
    /// Raw EIP-2718 transactions the block must contain, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transactions: Option<Vec<Bytes>>,
    /// When true, no transaction from the pool is added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_tx_pool: Option<bool>,
    /// Gas limit of the block (the parent's when absent).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "alloy_serde::quantity::opt"
    )]
    pub gas_limit: Option<u64>,
    /// Extra data of the block (at most 32 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_data: Option<Bytes>,
}

impl From<FastPayloadAttributes> for PayloadRequest {
    fn from(a: FastPayloadAttributes) -> Self {
        PayloadRequest {
            attributes: a.inner,
            transactions: a.transactions,
            no_tx_pool: a.no_tx_pool.unwrap_or(false),
            gas_limit: a.gas_limit,
            extra_data: a.extra_data,
        }
    }
}

impl From<PayloadRequest> for FastPayloadAttributes {
    fn from(r: PayloadRequest) -> Self {
        Self {
            inner: r.attributes,
            transactions: r.transactions,
            no_tx_pool: Some(r.no_tx_pool),
            gas_limit: r.gas_limit,
            extra_data: r.extra_data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_and_extended_attributes_parse() {
        let standard = r#"{"timestamp":"0x5","prevRandao":"0x0000000000000000000000000000000000000000000000000000000000000001","suggestedFeeRecipient":"0x00000000000000000000000000000000000000fe","withdrawals":[],"parentBeaconBlockRoot":"0x0000000000000000000000000000000000000000000000000000000000000002"}"#;
        let a: FastPayloadAttributes = serde_json::from_str(standard).unwrap();
        assert_eq!(a.inner.timestamp, 5);
        assert!(a.transactions.is_none() && a.no_tx_pool.is_none() && a.gas_limit.is_none());
        let request: PayloadRequest = a.into();
        assert!(!request.no_tx_pool);

        let extended = standard.replace(
            "\"withdrawals\":[]",
            "\"withdrawals\":[],\"transactions\":[\"0x02f0\",\"0x01\"],\"noTxPool\":true,\"gasLimit\":\"0x1c9c380\",\"extraData\":\"0xab\",\"someFutureField\":1",
        );
        let a: FastPayloadAttributes = serde_json::from_str(&extended).unwrap();
        assert_eq!(a.transactions.as_ref().unwrap().len(), 2);
        assert_eq!(a.no_tx_pool, Some(true));
        assert_eq!(a.gas_limit, Some(30_000_000));
        assert_eq!(a.extra_data.as_ref().map(|b| b.to_vec()), Some(vec![0xab]));
        // Round trip through the engine's request type.
        let back: FastPayloadAttributes = PayloadRequest::from(a.clone()).into();
        assert_eq!(back.transactions, a.transactions);
        let json = serde_json::to_value(&back).unwrap();
        assert_eq!(json["noTxPool"], true);
        assert_eq!(json["gasLimit"], "0x1c9c380");
    }
}
