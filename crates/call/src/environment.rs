//! The environment a call runs in: the block's post-state with the state overrides applied, the
//! block environment of the block's own header (with the block overrides), and the transaction
//! environment built from a `TransactionRequest` with geth's call defaults.

use super::error::{evm_error, CallError};
use alloy_consensus::Header;
use alloy_evm::{
    eth::EthEvmContext,
    overrides::{OverrideBlockHashes, StateOverrideError},
    precompiles::{DynPrecompile, PrecompileInput, PrecompilesMap},
    rpc::{EthTxEnvError, TryIntoTxEnv},
    EthEvm, EthEvmFactory, Evm, EvmEnv, EvmFactory,
};
use alloy_primitives::{Address, U256};
use alloy_rpc_types_eth::{state::StateOverride, BlockOverrides, TransactionRequest};
use fastevm_executor::{ChainSpec, StateAtBlock};
use revm::{
    context::{result::ExecutionResult, TxEnv},
    context_interface::{block::BlobExcessGasAndPrice, Cfg},
    database::{State, WrapDatabaseRef},
    inspector::NoOpInspector,
    precompile::{PrecompileSpecId, Precompiles},
    primitives::hardfork::SpecId,
    state::AccountInfo,
    Database, Inspector,
};

/// The state a call reads and writes: revm's cache over the block's post-state.
pub(crate) type CallDb<'a> = State<WrapDatabaseRef<&'a StateAtBlock<'a>>>;

/// The EVM a call runs on.
pub(crate) type CallEvm<'e, 'a, I = NoOpInspector> = EthEvm<&'e mut CallDb<'a>, I, PrecompilesMap>;

/// Gas limit used when the caller gives no cap (geth's "no cap" default).
const UNCAPPED_GAS: u64 = u64::MAX / 2;

/// State, block environment and precompile moves, ready to run transactions built from requests.
pub(crate) struct CallSetup<'a> {
    /// The state with the overrides applied.
    pub(crate) db: CallDb<'a>,
    /// The block environment; [`CallSetup::tx_env`] lowers the base fee for fee-less calls.
    pub(crate) env: EvmEnv,
    /// What the overrides ask of precompiles, applied to every EVM built here.
    precompile_moves: PrecompileOverrides,
    /// The RPC gas cap (never 0).
    pub(crate) gas_cap: u64,
}

impl<'a> CallSetup<'a> {
    /// Setup for calls on the post-state `base` of the block with `header`.
    pub(crate) fn new(
        spec: &ChainSpec,
        header: &Header,
        base: &'a StateAtBlock<'a>,
        state_overrides: Option<StateOverride>,
        block_overrides: Option<BlockOverrides>,
        gas_cap: u64,
    ) -> Result<Self, CallError> {
        let mut db = State::builder().with_database_ref(base).build();
        let env = match block_overrides {
            None => call_env(spec, header),
            Some(overrides) => {
                let mut env = call_env(spec, &overridden_header(header, &overrides)?);
                if let Some(fee) = overrides.blob_base_fee {
                    let excess_blob_gas = env
                        .block_env
                        .blob_excess_gas_and_price
                        .map(|blob| blob.excess_blob_gas)
                        .unwrap_or_default();
                    env.block_env.blob_excess_gas_and_price = Some(BlobExcessGasAndPrice {
                        excess_blob_gas,
                        blob_gasprice: fee.saturating_to(),
                    });
                }
                if let Some(hashes) = overrides.block_hash {
                    db.override_block_hashes(hashes);
                }
                env
            }
        };
        let precompile_moves = apply_state_overrides(&mut db, state_overrides)?;
        Ok(Self {
            db,
            env,
            precompile_moves,
            gas_cap: if gas_cap == 0 { UNCAPPED_GAS } else { gas_cap },
        })
    }

    /// An account as the call sees it (overrides included).
    pub(crate) fn account(&mut self, address: Address) -> Result<Option<AccountInfo>, CallError> {
        self.db.basic(address).map_err(CallError::state)
    }

    /// The default gas limit of a request without one: the gas cap, within the EIP-7825 cap.
    pub(crate) fn default_gas(&self) -> u64 {
        self.gas_cap.min(self.env.cfg_env.tx_gas_limit_cap())
    }

    /// The transaction environment of `request` with geth's call defaults: sender zero address,
    /// nonce from the state, gas limit capped by the gas cap (default: the cap, lowered to what
    /// the sender can pay for when the call has a gas price), gas price zero when no fee field is
    /// set. A fee-less call runs with base fee (and blob base fee) zero, so `BASEFEE` reads 0 and
    /// no fee check fails, as in geth.
    pub(crate) fn tx_env(&mut self, mut request: TransactionRequest) -> Result<TxEnv, CallError> {
        let from = request.from.unwrap_or_default();
        request.from = Some(from);
        if request.nonce.is_none() {
            let nonce = self.account(from)?.map(|a| a.nonce).unwrap_or_default();
            request.nonce = Some(nonce);
        }
        let gas_given = request.gas.is_some();
        request.gas = Some(match request.gas {
            Some(gas) => gas.min(self.gas_cap),
            None => self.default_gas(),
        });
        let mut tx: TxEnv = request
            .try_into_tx_env(&self.env)
            .map_err(|err| match err {
                EthTxEnvError::CallFees(err) => CallError::InvalidTransaction(err.to_string()),
                EthTxEnvError::Input(err) => CallError::InvalidParams(err.to_string()),
            })?;
        if !gas_given && tx.gas_price > 0 {
            // Like reth: a paying call without a gas limit gets what the sender can afford.
            let balance = self.account(from)?.map(|a| a.balance).unwrap_or_default();
            if let Some(available) = balance.checked_sub(tx.value) {
                let allowance = available / U256::from(tx.gas_price);
                tx.gas_limit = tx.gas_limit.min(allowance.saturating_to());
            }
        }
        if tx.gas_price == 0 {
            self.env.block_env.basefee = 0;
            self.env.cfg_env.disable_base_fee = true;
        }
        if tx.max_fee_per_blob_gas == 0 {
            if let Some(blob) = self.env.block_env.blob_excess_gas_and_price.as_mut() {
                blob.blob_gasprice = 0;
            }
        }
        Ok(tx)
    }

    /// An EVM over the overridden state, without inspector.
    pub(crate) fn evm(&mut self) -> Result<CallEvm<'_, 'a>, CallError> {
        let mut evm = EthEvmFactory::default().create_evm(&mut self.db, self.env.clone());
        let spec = self.env.cfg_env.spec;
        move_precompiles(evm.precompiles_mut(), &self.precompile_moves, spec)?;
        Ok(evm)
    }

    /// An EVM over the overridden state that runs `inspector`.
    pub(crate) fn evm_with_inspector<'s, I>(
        &'s mut self,
        inspector: I,
    ) -> Result<CallEvm<'s, 'a, I>, CallError>
    where
        I: Inspector<EthEvmContext<&'s mut CallDb<'a>>>,
    {
        let mut evm = EthEvmFactory::default().create_evm_with_inspector(
            &mut self.db,
            self.env.clone(),
            inspector,
        );
        let spec = self.env.cfg_env.spec;
        move_precompiles(evm.precompiles_mut(), &self.precompile_moves, spec)?;
        Ok(evm)
    }
}

/// Runs `tx` without committing anything.
pub(crate) fn transact<E: Evm<Tx = TxEnv>>(
    evm: &mut E,
    tx: TxEnv,
) -> Result<ExecutionResult<E::HaltReason>, CallError> {
    evm.transact_raw(tx)
        .map(|outcome| outcome.result)
        .map_err(evm_error)
}

/// The environment of `header` for calls: geth runs calls in the block's own context (number,
/// timestamp, base fee, prevRandao of that header) and skips the nonce and EOA checks and the
/// block gas limit (a call may use up to the gas cap).
pub(crate) fn call_env(spec: &ChainSpec, header: &Header) -> EvmEnv {
    let mut env = EvmEnv::for_eth_block(
        header,
        spec,
        spec.chain_id,
        spec.blob_params_at(header.timestamp),
    );
    env.cfg_env.disable_nonce_check = true;
    env.cfg_env.disable_eip3607 = true;
    env.cfg_env.disable_block_gas_limit = true;
    env
}

/// `header` with the block-environment fields of `overrides` applied.
pub(crate) fn overridden_header(
    header: &Header,
    overrides: &BlockOverrides,
) -> Result<Header, CallError> {
    let mut header = header.clone();
    if let Some(number) = overrides.number {
        header.number = u64::try_from(number)
            .map_err(|_| CallError::InvalidParams(format!("block number {number} too large")))?;
    }
    if let Some(difficulty) = overrides.difficulty {
        header.difficulty = difficulty;
    }
    if let Some(time) = overrides.time {
        header.timestamp = time;
    }
    if let Some(gas_limit) = overrides.gas_limit {
        header.gas_limit = gas_limit;
    }
    if let Some(coinbase) = overrides.coinbase {
        header.beneficiary = coinbase;
    }
    if let Some(random) = overrides.random {
        header.mix_hash = random;
    }
    if let Some(base_fee) = overrides.base_fee {
        let base_fee = u64::try_from(base_fee)
            .map_err(|_| CallError::InvalidParams(format!("base fee {base_fee} too large")))?;
        header.base_fee_per_gas = Some(base_fee);
    }
    Ok(header)
}

/// Every overridden address in ascending order, with the address its precompile is to move to
/// (`movePrecompileToAddress`), if any.
pub(crate) type PrecompileOverrides = Vec<(Address, Option<Address>)>;

/// Applies the state overrides in address order and returns what they ask of precompiles.
pub(crate) fn apply_state_overrides(
    db: &mut CallDb<'_>,
    overrides: Option<StateOverride>,
) -> Result<PrecompileOverrides, CallError> {
    let Some(overrides) = overrides else {
        return Ok(vec![]);
    };
    let mut sorted: Vec<_> = overrides.into_iter().collect();
    sorted.sort_unstable_by_key(|(address, _)| *address);
    let mut overridden = Vec::with_capacity(sorted.len());
    for (address, mut account) in sorted {
        overridden.push((address, account.move_precompile_to.take()));
        let single = StateOverride::from_iter([(address, account)]);
        alloy_evm::overrides::apply_state_overrides(single, db).map_err(|err| match err {
            StateOverrideError::Database(err) => CallError::state(err),
            other => CallError::InvalidParams(other.to_string()),
        })?;
    }
    Ok(overridden)
}

/// Applies the overrides to the precompiles of fork `spec` as geth does, address by address in
/// ascending order: a precompile whose account is overridden stops being a precompile (its
/// overridden code, if any, runs instead), `movePrecompileToAddress` makes it answer at the
/// destination (a later move to the same destination wins). Refused: moving what is not a
/// precompile, moving onto an overridden address, and overriding an address a precompile was
/// moved to.
///
/// Returns the fork's precompile addresses that stopped being precompiles: geth still counts
/// them as warm in every transaction (EIP-2929), while a moved precompile's new address is
/// cold, as here.
pub(crate) fn move_precompiles(
    precompiles: &mut PrecompilesMap,
    overridden: &PrecompileOverrides,
    spec: SpecId,
) -> Result<Vec<Address>, CallError> {
    let fork_precompiles = Precompiles::new(PrecompileSpecId::from_spec_id(spec));
    let mut moved_to = std::collections::BTreeSet::new();
    let mut removed = Vec::new();
    for (address, destination) in overridden {
        if moved_to.contains(address) {
            return Err(CallError::Override(format!(
                "account {} has already been overridden by a precompile",
                address.to_checksum(None)
            )));
        }
        let precompile = fork_precompiles.get(address);
        if let Some(destination) = destination {
            if precompile.is_none() {
                return Err(CallError::Override(format!(
                    "account {} is not a precompile",
                    address.to_checksum(None)
                )));
            }
            if overridden.iter().any(|(a, _)| a == destination) {
                return Err(CallError::Override(format!(
                    "account {} is already overridden",
                    destination.to_checksum(None)
                )));
            }
        }
        let Some(precompile) = precompile else {
            continue;
        };
        precompiles.apply_precompile(address, |_| None);
        removed.push(*address);
        if let Some(destination) = *destination {
            // Answered through the lookup, so the new address is not warmed up front.
            precompiles.map_precompile_lookup(move |at, previous| {
                if *at == destination {
                    Some(DynPrecompile::from(move |input: PrecompileInput<'_>| {
                        precompile.execute(input.data, input.gas, input.reservoir)
                    }))
                } else {
                    previous.and_then(|lookup| lookup.lookup(at))
                }
            });
            moved_to.insert(destination);
        }
    }
    Ok(removed)
}
