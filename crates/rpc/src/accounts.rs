//! Accounts the node signs for, as anvil's and geth's dev mode unlock them: `eth_accounts`,
//! `eth_coinbase`, `eth_sign` (EIP-191), `eth_signTransaction`, `eth_fillTransaction` and
//! `eth_sendTransaction` (nonce, gas and fees filled in as geth's `setDefaults` does, then signed
//! and admitted to the pool exactly as `eth_sendRawTransaction` would).
//!
//! A node has no unlocked account unless it is started with them (`fastevm dev`, `fastevm node
//! --dev.accounts`); then the signing methods answer geth's `unknown account`.

use crate::{api::EthAccountsApiServer, eth::rpc, params::GethParam, EthRpc, RpcError};
use alloy_consensus::{SignableTransaction, TxEnvelope, TypedTransaction};
use alloy_eips::{eip2718::Encodable2718, BlockId, BlockNumberOrTag};
use alloy_primitives::{Address, Bytes, B256};
use alloy_rpc_types_eth::TransactionRequest;
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use jsonrpsee::core::RpcResult;
use serde::{Deserialize, Serialize};

/// The keys a node signs with, in the order `eth_accounts` lists them.
#[derive(Debug, Clone, Default)]
pub struct UnlockedAccounts {
    signers: Vec<PrivateKeySigner>,
}

impl UnlockedAccounts {
    /// Unlocks `signers` (the first is the coinbase).
    pub fn new(signers: Vec<PrivateKeySigner>) -> Self {
        Self { signers }
    }

    /// The unlocked addresses.
    pub fn addresses(&self) -> Vec<Address> {
        self.signers.iter().map(|s| s.address()).collect()
    }

    /// The signer of `address`, if it is unlocked.
    pub fn signer(&self, address: &Address) -> Option<&PrivateKeySigner> {
        self.signers.iter().find(|s| s.address() == *address)
    }

    /// Whether no account is unlocked.
    pub fn is_empty(&self) -> bool {
        self.signers.is_empty()
    }
}

/// `eth_signTransaction`'s answer: the signed transaction, encoded and as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignTransactionResult {
    /// EIP-2718 encoding, ready for `eth_sendRawTransaction`.
    pub raw: Bytes,
    /// The signed transaction.
    pub tx: TxEnvelope,
}

/// `eth_fillTransaction`'s answer: the unsigned transaction with every field filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FillTransactionResult {
    /// The filled, unsigned transaction.
    pub tx: TypedTransaction,
}

/// geth's answer when asked to sign for an account it does not hold.
fn unknown_account() -> RpcError {
    RpcError::Server("unknown account".into())
}

impl EthRpc {
    /// The signer of an unlocked `address`, or geth's `unknown account`.
    fn unlocked(&self, address: &Address) -> Result<&PrivateKeySigner, RpcError> {
        self.ctx
            .accounts
            .signer(address)
            .ok_or_else(unknown_account)
    }

    /// `eth_coinbase`: the first unlocked account; geth's error when there is none.
    pub(crate) fn coinbase_account(&self) -> Result<Address, RpcError> {
        self.ctx
            .accounts
            .addresses()
            .first()
            .copied()
            .ok_or_else(|| RpcError::Server("etherbase must be explicitly specified".into()))
    }

    /// `eth_sign`: the EIP-191 signature of `message` by `address` (`v` is 27 or 28).
    pub(crate) fn sign_message(
        &self,
        address: &GethParam<Address>,
        message: &GethParam<Bytes>,
    ) -> Result<Bytes, RpcError> {
        let address = address.decode(0)?;
        let message = message.decode(1)?;
        let signer = self.unlocked(&address)?;
        let signature = signer
            .sign_message_sync(&message)
            .map_err(|e| RpcError::Server(format!("signing failed: {e}")))?;
        Ok(Bytes::from(signature.as_bytes().to_vec()))
    }

    /// `eth_signTransaction`: signs a complete transaction (geth requires gas, fees and nonce).
    pub(crate) fn sign_request(
        &self,
        request: &GethParam<TransactionRequest>,
    ) -> Result<SignTransactionResult, RpcError> {
        let request = request.decode(0)?;
        if request.gas.is_none() {
            return Err(RpcError::Server("gas not specified".into()));
        }
        let legacy_fee = request.gas_price.is_some();
        let dynamic_fee =
            request.max_fee_per_gas.is_some() && request.max_priority_fee_per_gas.is_some();
        if !legacy_fee && !dynamic_fee {
            return Err(RpcError::Server(
                "missing gasPrice or maxFeePerGas/maxPriorityFeePerGas".into(),
            ));
        }
        if request.nonce.is_none() {
            return Err(RpcError::Server("nonce not specified".into()));
        }
        let from = request.from.unwrap_or_default();
        let signer = self.unlocked(&from)?;
        let tx = self.fill(request)?;
        let tx = sign(signer, tx)?;
        Ok(SignTransactionResult {
            raw: tx.encoded_2718().into(),
            tx,
        })
    }

    /// `eth_fillTransaction`: the request with nonce, gas, fees and chain id filled in.
    pub(crate) fn fill_request(
        &self,
        request: &GethParam<TransactionRequest>,
    ) -> Result<FillTransactionResult, RpcError> {
        let request = request.decode(0)?;
        Ok(FillTransactionResult {
            tx: self.fill(request)?,
        })
    }

    /// `eth_sendTransaction`: fills in, signs with the unlocked `from` and submits.
    pub(crate) fn send_request(
        &self,
        request: &GethParam<TransactionRequest>,
    ) -> Result<B256, RpcError> {
        let request = request.decode(0)?;
        let from = request.from.unwrap_or_default();
        let signer = self.unlocked(&from)?;
        let tx = sign(signer, self.fill(request)?)?;
        self.submit_raw_transaction(&tx.encoded_2718())
    }

    /// geth's `setDefaults`: chain id checked or set, the pool-aware pending nonce, fees
    /// (`gasPrice` before London; otherwise the suggested tip and a fee cap of tip + twice the
    /// next base fee), and gas from `eth_estimateGas` at the head.
    fn fill(&self, mut request: TransactionRequest) -> Result<TypedTransaction, RpcError> {
        // geth's order of checks, so the same request fails with the same message.
        if request.sidecar.is_some() || request.blob_versioned_hashes.is_some() {
            return Err(RpcError::Server(
                "blob transactions are not supported by this node".into(),
            ));
        }
        self.fill_fees(&mut request)?;
        let from = request.from.unwrap_or_default();
        request.from = Some(from);
        if request.nonce.is_none() {
            let pending = BlockId::Number(BlockNumberOrTag::Pending);
            request.nonce = Some(self.nonce_at(from, Some(pending))?);
        }
        let input = request
            .input
            .clone()
            .try_into_unique_input()
            .map_err(|_| {
                RpcError::Server(
                    r#"both "data" and "input" are set and not equal. Please use "input" to pass transaction call data"#
                        .into(),
                )
            })?
            .unwrap_or_default();
        if request.to.is_none() && input.is_empty() {
            return Err(RpcError::Server(
                "contract creation without any data provided".into(),
            ));
        }
        request.input = input.into();
        let chain_id = self.ctx.spec.chain_id;
        match request.chain_id {
            Some(have) if have != chain_id => {
                return Err(RpcError::Server(format!(
                    "chainId does not match node's (have={have}, want={chain_id})"
                )))
            }
            _ => request.chain_id = Some(chain_id),
        }
        if request.gas.is_none() {
            let estimate = self.estimate_gas_at(request.clone(), None, None)?;
            request.gas = Some(estimate);
        }
        request
            .build_consensus_tx()
            .map_err(|e| RpcError::Server(e.error))
    }

    fn fill_fees(&self, request: &mut TransactionRequest) -> Result<(), RpcError> {
        let dynamic =
            request.max_fee_per_gas.is_some() || request.max_priority_fee_per_gas.is_some();
        if request.gas_price.is_some() && dynamic {
            return Err(RpcError::Server(
                "both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified".into(),
            ));
        }
        if request.gas_price.is_some() {
            return Ok(());
        }
        let Some(next_base_fee) = self.ctx.next_base_fee()? else {
            if dynamic {
                return Err(RpcError::Server(
                    "maxFeePerGas and maxPriorityFeePerGas are not valid before London is active"
                        .into(),
                ));
            }
            request.gas_price = Some(self.suggested_gas_price()?.saturating_to());
            return Ok(());
        };
        let tip = match request.max_priority_fee_per_gas {
            Some(tip) => tip,
            None => self.suggested_tip()?,
        };
        let fee_cap = match request.max_fee_per_gas {
            Some(cap) => cap,
            None => tip.saturating_add(2 * u128::from(next_base_fee)),
        };
        if fee_cap < tip {
            return Err(RpcError::Server(format!(
                "maxFeePerGas ({fee_cap}) < maxPriorityFeePerGas ({tip})"
            )));
        }
        request.max_priority_fee_per_gas = Some(tip);
        request.max_fee_per_gas = Some(fee_cap);
        Ok(())
    }
}

/// Signs `tx` with `signer` (legacy transactions get EIP-155's chain-bound `v`).
fn sign(signer: &PrivateKeySigner, tx: TypedTransaction) -> Result<TxEnvelope, RpcError> {
    let signature = signer
        .sign_hash_sync(&tx.signature_hash())
        .map_err(|e| RpcError::Server(format!("signing failed: {e}")))?;
    Ok(TxEnvelope::from((tx, signature)))
}

impl EthAccountsApiServer for EthRpc {
    fn accounts(&self) -> RpcResult<Vec<Address>> {
        Ok(self.ctx.accounts.addresses())
    }

    fn coinbase(&self) -> RpcResult<Address> {
        rpc(self.coinbase_account())
    }

    fn sign(&self, address: GethParam<Address>, message: GethParam<Bytes>) -> RpcResult<Bytes> {
        rpc(self.sign_message(&address, &message))
    }

    fn sign_transaction(
        &self,
        request: GethParam<TransactionRequest>,
    ) -> RpcResult<SignTransactionResult> {
        rpc(self.sign_request(&request))
    }

    fn fill_transaction(
        &self,
        request: GethParam<TransactionRequest>,
    ) -> RpcResult<FillTransactionResult> {
        rpc(self.fill_request(&request))
    }

    fn send_transaction(&self, request: GethParam<TransactionRequest>) -> RpcResult<B256> {
        rpc(self.send_request(&request))
    }
}
