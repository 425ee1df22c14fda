//! `net_*` and `web3_*`.

use crate::{
    api::{NetApiServer, Web3ApiServer},
    EthRpc,
};
use alloy_primitives::{keccak256, Bytes, B256, U64};
use jsonrpsee::core::RpcResult;

/// `web3_clientVersion`'s answer.
pub const CLIENT_VERSION: &str = concat!("FastEVM/v", env!("CARGO_PKG_VERSION"));

impl NetApiServer for EthRpc {
    fn version(&self) -> RpcResult<String> {
        Ok(self.ctx.spec.chain_id.to_string())
    }

    fn listening(&self) -> RpcResult<bool> {
        Ok(true)
    }

    fn peer_count(&self) -> RpcResult<U64> {
        Ok(U64::ZERO)
    }
}

impl Web3ApiServer for EthRpc {
    fn client_version(&self) -> RpcResult<String> {
        Ok(CLIENT_VERSION.to_string())
    }

    fn sha3(&self, input: Bytes) -> RpcResult<B256> {
        Ok(keccak256(&input))
    }
}
