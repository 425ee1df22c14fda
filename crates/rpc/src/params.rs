//! Parameters decoded by the method itself rather than by jsonrpsee, so that a malformed value
//! gets geth's error message (`invalid argument 0: hex string without 0x prefix`) instead of
//! jsonrpsee's generic "Invalid params".

use crate::RpcError;
use serde::{de::DeserializeOwned, Deserialize, Deserializer, Serialize, Serializer};
use std::marker::PhantomData;

/// A parameter of type `T` kept as raw JSON until the method decodes it with
/// [`GethParam::decode`]. Deserialising it never fails.
pub struct GethParam<T> {
    value: serde_json::Value,
    _type: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for GethParam<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("GethParam").field(&self.value).finish()
    }
}

impl<T> Clone for GethParam<T> {
    fn clone(&self) -> Self {
        Self {
            value: self.value.clone(),
            _type: PhantomData,
        }
    }
}

impl<T: DeserializeOwned> GethParam<T> {
    /// Decodes the value; a failure is geth's `invalid argument {index}: {reason}` (-32602).
    pub fn decode(&self, index: usize) -> Result<T, RpcError> {
        T::deserialize(&self.value).map_err(|e| invalid_argument(index, e))
    }
}

impl<T> GethParam<T> {
    /// The raw JSON.
    pub fn value(&self) -> &serde_json::Value {
        &self.value
    }
}

/// geth's error for a parameter that does not decode.
pub(crate) fn invalid_argument(index: usize, reason: impl std::fmt::Display) -> RpcError {
    RpcError::invalid_params(format!("invalid argument {index}: {reason}"))
}

impl<T: Serialize> From<T> for GethParam<T> {
    fn from(value: T) -> Self {
        Self {
            value: serde_json::to_value(value).unwrap_or(serde_json::Value::Null),
            _type: PhantomData,
        }
    }
}

impl<'de, T> Deserialize<'de> for GethParam<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self {
            value: serde_json::Value::deserialize(deserializer)?,
            _type: PhantomData,
        })
    }
}

impl<T> Serialize for GethParam<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_eips::BlockId;

    #[test]
    fn decoding_errors_read_like_geth() {
        let param: GethParam<BlockId> = serde_json::from_str("\"2\"").unwrap();
        let error = param.decode(0).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid argument 0: hex string without 0x prefix"
        );
        let param: GethParam<BlockId> = serde_json::from_str("\"0x2\"").unwrap();
        assert_eq!(param.decode(0).unwrap(), BlockId::number(2));
        let round_trip: GethParam<BlockId> = BlockId::number(7).into();
        assert_eq!(serde_json::to_string(&round_trip).unwrap(), "\"0x7\"");
    }
}
