//! Payload attributes as FastEVM accepts them: the standard Engine API fields plus the extension
//! fields Optimism's op-node uses (`transactions`, `noTxPool`, `gasLimit`) and `extraData`.

use alloy_primitives::Bytes;
use alloy_rpc_types_engine::PayloadAttributes;
use fastevm_engine::PayloadRequest;
use serde::{Deserialize, Serialize};

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
