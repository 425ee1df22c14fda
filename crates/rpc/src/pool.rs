//! The transaction pool over RPC: `eth_sendRawTransaction` (validated against the canonical
//! head's state and next base fee) and geth's `txpool_*` inspection methods.

use crate::{
    api::TxpoolApiServer,
    convert::pending_transaction,
    eth::rpc,
    events::HeadState,
    txpool_types::{
        TransactionsByNonce, TxpoolContent, TxpoolContentFrom, TxpoolInspect, TxpoolStatus,
    },
    EthRpc, RpcError,
};
use alloy_consensus::Transaction as _;
use alloy_primitives::{Address, B256, U64};
use alloy_rpc_types_eth::Transaction;
use fastevm_executor::header_validation::expected_base_fee;
use fastevm_txpool::PooledTransaction;
use jsonrpsee::core::RpcResult;
use std::collections::BTreeMap;

impl EthRpc {
    /// `eth_sendRawTransaction`.
    pub(crate) fn submit_raw_transaction(&self, raw: &[u8]) -> Result<B256, RpcError> {
        let head = self.ctx.store.head_header()?;
        let base_fee = expected_base_fee(&self.ctx.spec, &head).unwrap_or_default();
        let (hash, sender) = self.ctx.pool.add_raw_recovered(
            raw,
            &HeadState::new(&self.ctx.store, &self.ctx.spec),
            base_fee,
        )?;
        self.ctx.senders.insert(hash, sender);
        self.ctx.events.notify_pool_changed();
        Ok(hash)
    }
}

type BySender = BTreeMap<Address, BTreeMap<u64, PooledTransaction>>;

fn by_nonce<T>(
    txs: BTreeMap<u64, PooledTransaction>,
    f: impl Fn(PooledTransaction) -> T,
) -> TransactionsByNonce<T> {
    txs.into_iter()
        .map(|(nonce, tx)| (nonce.to_string(), f(tx)))
        .collect()
}

fn by_sender<T>(
    senders: BySender,
    f: impl Fn(PooledTransaction) -> T + Copy,
) -> BTreeMap<String, TransactionsByNonce<T>> {
    senders
        .into_iter()
        .map(|(sender, txs)| (sender.to_checksum(None), by_nonce(txs, f)))
        .collect()
}

fn rpc_transaction(pooled: PooledTransaction, next_base_fee: Option<u64>) -> Transaction {
    pending_transaction(pooled.tx, pooled.sender, next_base_fee)
}

/// geth's one-line summary of a pooled transaction.
fn summary(pooled: PooledTransaction) -> String {
    let tx = &pooled.tx;
    let to = match tx.to() {
        Some(to) => to.to_checksum(None),
        None => "contract creation".to_string(),
    };
    let price = tx.gas_price().unwrap_or_else(|| tx.max_fee_per_gas());
    format!(
        "{to}: {} wei + {} gas × {price} wei",
        tx.value(),
        tx.gas_limit()
    )
}

impl TxpoolApiServer for EthRpc {
    fn status(&self) -> RpcResult<TxpoolStatus> {
        self.ctx.events.wait_for_follower();
        let status = self.ctx.pool.status();
        Ok(TxpoolStatus {
            pending: U64::from(status.pending),
            queued: U64::from(status.queued),
        })
    }

    fn content(&self) -> RpcResult<TxpoolContent> {
        self.ctx.events.wait_for_follower();
        let base_fee = rpc(self.ctx.next_base_fee())?;
        let content = self.ctx.pool.content();
        let convert = move |p| rpc_transaction(p, base_fee);
        Ok(TxpoolContent {
            pending: by_sender(content.pending, convert),
            queued: by_sender(content.queued, convert),
        })
    }

    fn content_from(&self, address: Address) -> RpcResult<TxpoolContentFrom> {
        self.ctx.events.wait_for_follower();
        let base_fee = rpc(self.ctx.next_base_fee())?;
        let convert = move |p| rpc_transaction(p, base_fee);
        let mut content = self.ctx.pool.content_from(&address);
        let take = |senders: &mut BySender| senders.remove(&address).unwrap_or_default();
        let (pending, queued) = (take(&mut content.pending), take(&mut content.queued));
        Ok(TxpoolContentFrom {
            pending: by_nonce(pending, convert),
            queued: by_nonce(queued, convert),
        })
    }

    fn inspect(&self) -> RpcResult<TxpoolInspect> {
        self.ctx.events.wait_for_follower();
        let content = self.ctx.pool.content();
        Ok(TxpoolInspect {
            pending: by_sender(content.pending, summary),
            queued: by_sender(content.queued, summary),
        })
    }
}
