//! One decoding layer for the parameters of every public method: each method's positional
//! parameters are described once ([`signature`]) and checked, before the method runs, the way
//! geth's hexutil decodes them, so a malformed value always gets geth's
//! `{"code":-32602,"message":"invalid argument N: <reason>"}` (a hash without `0x`, an
//! odd-length or over-long hex string, a number over 64 bits, a value of the wrong JSON type, a
//! missing required argument, too many arguments) instead of jsonrpsee's generic "Invalid
//! params" or a lenient decode. [`ParamCheck`] is the jsonrpsee middleware that applies it to
//! single calls and to every call of a batch.
//!
//! Objects (call requests, overrides, tracer options, payload attributes) are decoded into their
//! alloy types, and a failure is reported as that argument's error. Log filters and storage keys
//! are only type-checked here: their methods decode them with geth's own messages (a filter with
//! both `blockHash` and a range; a storage key with or without `0x`, at most 32 bytes).

use crate::{params::invalid_argument, RpcError};
use alloy_rpc_types_trace::geth::{GethDebugTracingCallOptions, GethDebugTracingOptions};
use jsonrpsee::{
    core::middleware::{Batch, BatchEntry, BatchEntryErr, Notification, RpcServiceT},
    types::{ErrorObjectOwned, Request},
    MethodResponse,
};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::future::Future;

/// What one positional parameter must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// A 20-byte address (`common.Address`).
    Address,
    /// A 32-byte hash (`common.Hash`).
    Hash,
    /// Hex data of any length (`hexutil.Bytes`).
    Bytes,
    /// A hex number of at most 64 bits (`hexutil.Uint64`, also indexes and filter ids).
    Quantity,
    /// A number as JSON number, decimal string or hex string (`math.HexOrDecimal64`).
    HexOrDecimal,
    /// A block number (hex) or tag.
    BlockNumberOrTag,
    /// A block number, tag, or EIP-1898 object.
    BlockId,
    /// `true` or `false`.
    Bool,
    /// A storage key as a string (its content is checked by the method, as geth does).
    StorageKey,
    /// A list of storage keys.
    StorageKeys,
    /// `eth_getStorageValues`' map of address to storage keys.
    StorageKeysByAddress,
    /// A list of numbers (reward percentiles).
    Numbers,
    /// A list of hex data.
    BytesList,
    /// A call or transaction request.
    TransactionRequest,
    /// A log filter.
    Filter,
    /// State overrides.
    StateOverride,
    /// Block overrides.
    BlockOverrides,
    /// `eth_simulateV1`'s payload.
    SimulatePayload,
    /// geth tracer options.
    TracerOptions,
    /// geth tracer options of `debug_traceCall`.
    TraceCallOptions,
    /// Engine API payload attributes (`testing_buildBlockV1`).
    PayloadAttributes,
    /// Anything (checked by the method: subscription kinds and their options).
    Any,
}

/// A parameter and whether it may be left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arg {
    /// What it must be.
    pub param: Param,
    /// Whether it is required.
    pub required: bool,
}

const fn req(param: Param) -> Arg {
    Arg {
        param,
        required: true,
    }
}

const fn opt(param: Param) -> Arg {
    Arg {
        param,
        required: false,
    }
}

use Param::*;

/// The positional parameters of every public method (`None`: not a method of this server).
pub fn signature(method: &str) -> Option<&'static [Arg]> {
    Some(match method {
        "eth_chainId"
        | "eth_blockNumber"
        | "eth_syncing"
        | "eth_gasPrice"
        | "eth_maxPriorityFeePerGas"
        | "eth_baseFee"
        | "eth_blobBaseFee"
        | "eth_newBlockFilter"
        | "eth_newPendingTransactionFilter"
        | "eth_config"
        | "eth_capabilities"
        | "net_version"
        | "net_listening"
        | "net_peerCount"
        | "web3_clientVersion"
        | "txpool_status"
        | "txpool_content"
        | "txpool_inspect"
        | "eth_accounts"
        | "eth_coinbase"
        | "debug_getBadBlocks" => &[],
        "eth_feeHistory" => const { &[req(HexOrDecimal), req(BlockNumberOrTag), opt(Numbers)] },
        "eth_getBalance" | "eth_getCode" | "eth_getTransactionCount" => {
            const { &[req(Address), opt(BlockId)] }
        }
        "eth_getStorageAt" => const { &[req(Address), req(StorageKey), opt(BlockId)] },
        "eth_getStorageValues" => const { &[req(StorageKeysByAddress), opt(BlockId)] },
        "eth_getProof" => const { &[req(Address), req(StorageKeys), opt(BlockId)] },
        "eth_call" => {
            const {
                &[
                    req(TransactionRequest),
                    opt(BlockId),
                    opt(StateOverride),
                    opt(BlockOverrides),
                ]
            }
        }
        // geth 1.15 added block overrides (the method refuses them with a clear error).
        "eth_estimateGas" => {
            const {
                &[
                    req(TransactionRequest),
                    opt(BlockId),
                    opt(StateOverride),
                    opt(BlockOverrides),
                ]
            }
        }
        "eth_createAccessList" => const { &[req(TransactionRequest), opt(BlockId)] },
        "eth_simulateV1" => const { &[req(SimulatePayload), opt(BlockId)] },
        "eth_getBlockAccessList"
        | "eth_getBlockReceipts"
        | "debug_getRawBlock"
        | "debug_getRawHeader"
        | "debug_getRawReceipts"
        | "debug_getRawBlockAccessList" => const { &[req(BlockId)] },
        "eth_sendRawTransaction" | "web3_sha3" => const { &[req(Bytes)] },
        "eth_getBlockByNumber" => const { &[req(BlockNumberOrTag), req(Bool)] },
        "eth_getBlockByHash" => const { &[req(Hash), req(Bool)] },
        "eth_getBlockTransactionCountByHash"
        | "eth_getUncleCountByBlockHash"
        | "eth_getTransactionByHash"
        | "eth_getTransactionReceipt"
        | "debug_getRawTransaction" => const { &[req(Hash)] },
        "eth_getBlockTransactionCountByNumber" | "eth_getUncleCountByBlockNumber" => {
            const { &[req(BlockNumberOrTag)] }
        }
        "eth_getUncleByBlockHashAndIndex" | "eth_getTransactionByBlockHashAndIndex" => {
            const { &[req(Hash), req(Quantity)] }
        }
        "eth_getUncleByBlockNumberAndIndex" | "eth_getTransactionByBlockNumberAndIndex" => {
            const { &[req(BlockNumberOrTag), req(Quantity)] }
        }
        "eth_getLogs" | "eth_newFilter" => const { &[req(Filter)] },
        "eth_getFilterChanges" | "eth_getFilterLogs" | "eth_uninstallFilter" => {
            const { &[req(Quantity)] }
        }
        "txpool_contentFrom" => const { &[req(Address)] },
        "eth_sign" => const { &[req(Address), req(Bytes)] },
        "eth_signTransaction" | "eth_fillTransaction" | "eth_sendTransaction" => {
            const { &[req(TransactionRequest)] }
        }
        "debug_traceTransaction" | "debug_traceBlockByHash" => {
            const { &[req(Hash), opt(TracerOptions)] }
        }
        "debug_traceBlockByNumber" => const { &[req(BlockNumberOrTag), opt(TracerOptions)] },
        "debug_traceCall" => {
            const { &[req(TransactionRequest), opt(BlockId), opt(TraceCallOptions)] }
        }
        "testing_buildBlockV1" => {
            const {
                &[
                    req(Hash),
                    req(PayloadAttributes),
                    opt(BytesList),
                    opt(Bytes),
                ]
            }
        }
        "eth_subscribe" => const { &[req(Any), opt(Any)] },
        "eth_unsubscribe" => const { &[req(Any)] },
        _ => return None,
    })
}

/// Checks `params` (the call's JSON parameters, absent, a list, or named) against `method`'s
/// signature. Unknown methods and named parameters are left to the method.
pub fn check_params(method: &str, params: Option<&str>) -> Result<(), RpcError> {
    let Some(signature) = signature(method) else {
        return Ok(());
    };
    let values: Vec<Value> = match params.map(serde_json::from_str::<Value>) {
        None => Vec::new(),
        Some(Ok(Value::Array(values))) => values,
        Some(Ok(Value::Null)) => Vec::new(),
        // Named parameters or malformed JSON: jsonrpsee answers those itself.
        Some(_) => return Ok(()),
    };
    if values.len() > signature.len() {
        return Err(RpcError::invalid_params(format!(
            "too many arguments, want at most {}",
            signature.len()
        )));
    }
    for (index, arg) in signature.iter().enumerate() {
        match values.get(index) {
            None | Some(Value::Null) if arg.required => {
                return Err(RpcError::invalid_params(format!(
                    "missing value for required argument {index}"
                )))
            }
            None | Some(Value::Null) => {}
            Some(value) => check(arg.param, value).map_err(|e| invalid_argument(index, e))?,
        }
    }
    Ok(())
}

/// Checks one present value.
fn check(param: Param, value: &Value) -> Result<(), String> {
    match param {
        Address => fixed(value, 20, "common.Address"),
        Hash => fixed(value, 32, "common.Hash"),
        Bytes => bytes(value, "hexutil.Bytes"),
        Quantity => quantity(value, "hexutil.Uint64"),
        HexOrDecimal => hex_or_decimal(value),
        BlockNumberOrTag => block_number(value),
        BlockId => match value {
            Value::Object(_) => decode::<alloy_eips::BlockId>(value),
            // geth reads a 66-character string as a block hash.
            Value::String(s) if s.len() == 66 => fixed(value, 32, "common.Hash"),
            _ => block_number(value),
        },
        Bool => match value {
            Value::Bool(_) => Ok(()),
            other => Err(cannot_unmarshal(other, "bool")),
        },
        StorageKey => string(value, "string").map(drop),
        StorageKeys => list(value, |v| string(v, "string").map(drop)),
        StorageKeysByAddress => match value {
            Value::Object(map) => map.iter().try_for_each(|(address, keys)| {
                fixed(&Value::String(address.clone()), 20, "common.Address")?;
                list(keys, |v| string(v, "string").map(drop))
            }),
            other => Err(cannot_unmarshal(other, "map[common.Address][]string")),
        },
        Numbers => list(value, |v| match v {
            Value::Number(_) => Ok(()),
            other => Err(cannot_unmarshal(other, "float64")),
        }),
        BytesList => list(value, |v| bytes(v, "hexutil.Bytes")),
        TransactionRequest => {
            object::<alloy_rpc_types_eth::TransactionRequest>(value, "TransactionArgs")
        }
        // Its content is decoded by the method, with geth's filter-specific messages.
        Filter => match value {
            Value::Object(_) => Ok(()),
            other => Err(cannot_unmarshal(other, "filters.FilterCriteria")),
        },
        StateOverride => {
            object::<alloy_rpc_types_eth::state::StateOverride>(value, "StateOverride")
        }
        BlockOverrides => object::<alloy_rpc_types_eth::BlockOverrides>(value, "BlockOverrides"),
        SimulatePayload => {
            object::<alloy_rpc_types_eth::simulate::SimulatePayload>(value, "simOpts")
        }
        TracerOptions => object::<GethDebugTracingOptions>(value, "TraceConfig"),
        TraceCallOptions => object::<GethDebugTracingCallOptions>(value, "TraceCallConfig"),
        PayloadAttributes => {
            object::<alloy_rpc_types_engine::PayloadAttributes>(value, "PayloadAttributes")
        }
        Any => Ok(()),
    }
}

/// geth's (Go's) message for a JSON value of the wrong type.
fn cannot_unmarshal(value: &Value, go_type: &str) -> String {
    let kind = match value {
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
        Value::Null => "null",
    };
    format!("json: cannot unmarshal {kind} into Go value of type {go_type}")
}

fn string<'a>(value: &'a Value, go_type: &str) -> Result<&'a str, String> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(cannot_unmarshal(other, go_type)),
    }
}

fn list(value: &Value, each: impl Fn(&Value) -> Result<(), String>) -> Result<(), String> {
    match value {
        Value::Array(items) => items.iter().try_for_each(each),
        other => Err(cannot_unmarshal(other, "[]")),
    }
}

/// The digits after a mandatory `0x` (hexutil's `checkText`).
fn hex_digits(text: &str) -> Result<&str, String> {
    text.strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .ok_or_else(|| "hex string without 0x prefix".to_string())
}

fn all_hex(digits: &str) -> Result<(), String> {
    if digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err("invalid hex string".into())
    }
}

/// hexutil.Bytes: `0x`, an even number of hex digits.
fn bytes(value: &Value, go_type: &str) -> Result<(), String> {
    let text = string(value, go_type)?;
    if text.is_empty() {
        return Ok(());
    }
    let digits = hex_digits(text)?;
    if digits.len() % 2 == 1 {
        return Err("hex string of odd length".into());
    }
    all_hex(digits)
}

/// Fixed-length data (`common.Address`, `common.Hash`).
fn fixed(value: &Value, len: usize, go_type: &str) -> Result<(), String> {
    let text = match value {
        Value::String(s) => s,
        _ => {
            return Err(format!(
                "json: cannot unmarshal non-string into Go value of type {go_type}"
            ))
        }
    };
    let digits = hex_digits(text)?;
    if digits.len() % 2 == 1 {
        return Err("hex string of odd length".into());
    }
    all_hex(digits)?;
    if digits.len() != len * 2 {
        return Err(format!(
            "hex string has length {}, want {} for {go_type}",
            digits.len(),
            len * 2
        ));
    }
    Ok(())
}

/// hexutil.Uint64: `0x`, no leading zeros, at most 64 bits.
fn quantity(value: &Value, go_type: &str) -> Result<(), String> {
    let text = match value {
        Value::String(s) => s,
        _ => {
            return Err(format!(
                "json: cannot unmarshal non-string into Go value of type {go_type}"
            ))
        }
    };
    if text.is_empty() {
        return Err("empty hex string".into());
    }
    let digits = hex_digits(text)?;
    if digits.is_empty() {
        return Err("hex string \"0x\"".into());
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return Err("hex number with leading zero digits".into());
    }
    all_hex(digits)?;
    if digits.len() > 16 {
        return Err("hex number > 64 bits".into());
    }
    Ok(())
}

/// `math.HexOrDecimal64`: a JSON number, or a decimal or `0x` hex string, of at most 64 bits.
pub(crate) fn hex_or_decimal_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(digits) => u64::from_str_radix(digits, 16).ok(),
            None => s.parse().ok(),
        },
        _ => None,
    }
}

fn hex_or_decimal(value: &Value) -> Result<(), String> {
    match value {
        Value::Number(_) | Value::String(_) => hex_or_decimal_u64(value)
            .map(drop)
            .ok_or_else(|| format!("invalid hex or decimal integer {value}")),
        other => Err(cannot_unmarshal(other, "math.HexOrDecimal64")),
    }
}

/// A block number as hex or one of the tags (geth reads a bare JSON number as hex without
/// `0x`).
fn block_number(value: &Value) -> Result<(), String> {
    if value.is_number() {
        return Err("hex string without 0x prefix".into());
    }
    let text = string(value, "string")?;
    match text {
        "latest" | "earliest" | "pending" | "safe" | "finalized" => Ok(()),
        _ => quantity(value, "rpc.BlockNumber"),
    }
}

fn decode<T: DeserializeOwned>(value: &Value) -> Result<(), String> {
    T::deserialize(value).map(drop).map_err(|e| e.to_string())
}

fn object<T: DeserializeOwned>(value: &Value, go_type: &str) -> Result<(), String> {
    match value {
        Value::Object(_) => decode::<T>(value),
        other => Err(cannot_unmarshal(other, &format!("ethapi.{go_type}"))),
    }
}

/// The middleware: checks every call's parameters before passing it on.
#[derive(Clone, Debug)]
pub(crate) struct ParamCheck<S> {
    service: S,
}

impl<S> ParamCheck<S> {
    /// Wraps `service`.
    pub(crate) fn new(service: S) -> Self {
        Self { service }
    }
}

fn error_object(e: RpcError) -> ErrorObjectOwned {
    e.into()
}

impl<S> RpcServiceT for ParamCheck<S>
where
    S: RpcServiceT<MethodResponse = MethodResponse> + Send + Sync + Clone + 'static,
{
    type MethodResponse = MethodResponse;
    type NotificationResponse = S::NotificationResponse;
    type BatchResponse = S::BatchResponse;

    fn call<'a>(
        &self,
        request: Request<'a>,
    ) -> impl Future<Output = Self::MethodResponse> + Send + 'a {
        let checked = check_params(request.method_name(), request.params().as_str());
        let service = self.service.clone();
        async move {
            match checked {
                Ok(()) => service.call(request).await,
                Err(e) => MethodResponse::error(request.id, error_object(e)),
            }
        }
    }

    fn batch<'a>(
        &self,
        mut requests: Batch<'a>,
    ) -> impl Future<Output = Self::BatchResponse> + Send + 'a {
        for entry in requests.iter_mut() {
            let refused = match entry {
                Ok(BatchEntry::Call(request)) => {
                    check_params(request.method_name(), request.params().as_str())
                        .err()
                        .map(|e| (request.id.clone(), e))
                }
                _ => None,
            };
            if let Some((id, e)) = refused {
                *entry = Err(BatchEntryErr::new(id, error_object(e)));
            }
        }
        self.service.batch(requests)
    }

    fn notification<'a>(
        &self,
        notification: Notification<'a>,
    ) -> impl Future<Output = Self::NotificationResponse> + Send + 'a {
        self.service.notification(notification)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(param: Param, json: &str) -> String {
        check(param, &serde_json::from_str(json).unwrap()).unwrap_err()
    }

    #[test]
    fn hex_reasons_are_geths() {
        assert_eq!(reason(Hash, r#""ab""#), "hex string without 0x prefix");
        assert_eq!(reason(Address, r#""0xabc""#), "hex string of odd length");
        assert_eq!(
            reason(Address, &format!(r#""0x{}""#, "11".repeat(21))),
            "hex string has length 42, want 40 for common.Address"
        );
        assert_eq!(
            reason(Address, "1"),
            "json: cannot unmarshal non-string into Go value of type common.Address"
        );
        assert_eq!(
            reason(Quantity, r#""0x01""#),
            "hex number with leading zero digits"
        );
        assert_eq!(
            reason(Quantity, r#""0x10000000000000000""#),
            "hex number > 64 bits"
        );
        assert_eq!(reason(Quantity, r#""0x""#), "hex string \"0x\"");
        assert_eq!(reason(Bytes, r#""0xzz""#), "invalid hex string");
        assert_eq!(
            reason(BlockNumberOrTag, r#""2""#),
            "hex string without 0x prefix"
        );
        assert!(check(
            BlockId,
            &serde_json::json!({"blockHash": format!("0x{}", "00".repeat(32))})
        )
        .is_ok());
        assert!(check(BlockNumberOrTag, &serde_json::json!("safe")).is_ok());
        assert!(check(Bytes, &serde_json::json!("")).is_ok());
    }

    #[test]
    fn arity_is_checked() {
        let e = check_params("eth_getBalance", Some("[]")).unwrap_err();
        assert_eq!(e.to_string(), "missing value for required argument 0");
        let e = check_params("eth_chainId", Some("[1]")).unwrap_err();
        assert_eq!(e.to_string(), "too many arguments, want at most 0");
        let address = format!("\"0x{}\"", "11".repeat(20));
        assert!(check_params("eth_getBalance", Some(&format!("[{address}]"))).is_ok());
        assert!(
            check_params("eth_madeUp", Some("[1, 2]")).is_ok(),
            "not ours to judge"
        );
    }
}
