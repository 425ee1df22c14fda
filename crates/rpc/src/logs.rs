//! Log queries and polling filters: `eth_getLogs`, `eth_newFilter`, `eth_getFilterChanges`,
//! `eth_getFilterLogs`.
//!
//! A range query walks the canonical blocks of the range, skips those whose header bloom cannot
//! match, and reads receipts only for the rest. The range length and the number of results are
//! limited ([`crate::QueryLimits`]); exceeding either is a -32005 error naming the limit.

use crate::{
    block_id::BlockRef,
    convert::block_logs,
    filters::{log_matches, FilterPoll},
    params::{invalid_argument, GethParam},
    EthRpc, RpcError,
};
use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::U64;
use alloy_rpc_types_eth::{Filter, FilterBlockOption, FilterChanges, Log};

/// Decodes a log filter parameter (argument 0), with geth's message when `blockHash` is given
/// together with a block range.
pub(crate) fn decode_filter(param: &GethParam<Filter>) -> Result<Filter, RpcError> {
    if let Some(object) = param.value().as_object() {
        let present = |key: &str| object.get(key).is_some_and(|v| !v.is_null());
        if present("blockHash") && (present("fromBlock") || present("toBlock")) {
            return Err(invalid_argument(
                0,
                "cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other",
            ));
        }
    }
    param.decode(0)
}

impl EthRpc {
    /// The block number a range bound names (`None`: the default, `latest`).
    fn bound(&self, tag: Option<BlockNumberOrTag>, head: u64) -> Result<u64, RpcError> {
        match tag.unwrap_or(BlockNumberOrTag::Latest) {
            BlockNumberOrTag::Latest | BlockNumberOrTag::Pending => Ok(head),
            BlockNumberOrTag::Earliest => Ok(0),
            BlockNumberOrTag::Number(n) => Ok(n),
            tag @ (BlockNumberOrTag::Safe | BlockNumberOrTag::Finalized) => {
                Ok(self.ctx.resolve(BlockId::Number(tag))?.header.number)
            }
        }
    }

    /// Logs of one stored block that match `filter`, appended to `out` within the result limit.
    fn collect_block_logs(
        &self,
        block: BlockRef,
        filter: &Filter,
        out: &mut Vec<Log>,
    ) -> Result<(), RpcError> {
        if !filter.matches_bloom(block.header.logs_bloom) {
            return Ok(());
        }
        let block = self.ctx.stored_block(block)?;
        let receipts = self.ctx.stored_receipts(&block)?;
        for log in block_logs(&block, &receipts) {
            if filter.matches(&log.inner) {
                if out.len() >= self.limits.max_log_results {
                    return Err(RpcError::LimitExceeded(format!(
                        "query returned more than {} results",
                        self.limits.max_log_results
                    )));
                }
                out.push(log);
            }
        }
        Ok(())
    }

    /// `eth_getLogs`.
    pub(crate) fn query_logs(&self, filter: &Filter) -> Result<Vec<Log>, RpcError> {
        let mut logs = Vec::new();
        let (from, to) = match filter.block_option {
            FilterBlockOption::AtBlockHash(hash) => {
                let header = self
                    .ctx
                    .store
                    .header(&hash)?
                    .ok_or_else(|| RpcError::Server("unknown block".into()))?;
                self.collect_block_logs(BlockRef { hash, header }, filter, &mut logs)?;
                return Ok(logs);
            }
            FilterBlockOption::Range {
                from_block,
                to_block,
            } => (from_block, to_block),
        };
        if let (Some(BlockNumberOrTag::Number(f)), Some(BlockNumberOrTag::Number(t))) = (from, to) {
            if f > t {
                return Err(RpcError::invalid_params("invalid block range params"));
            }
        }
        let head = self.ctx.head_number()?;
        let (from, to) = (self.bound(from, head)?, self.bound(to, head)?);
        if from > head || to > head {
            return Err(RpcError::invalid_params(
                "block range extends beyond current head block",
            ));
        }
        if from > to {
            return Err(RpcError::invalid_params("invalid block range params"));
        }
        let span = to - from + 1;
        if span > self.limits.max_logs_range {
            return Err(RpcError::LimitExceeded(format!(
                "query spans {span} blocks, more than the maximum of {}",
                self.limits.max_logs_range
            )));
        }
        for number in from..=to {
            // A block that stopped being canonical mid-query is skipped.
            if let Some(block) = self.ctx.find_block(BlockId::number(number))? {
                self.collect_block_logs(block, filter, &mut logs)?;
            }
        }
        Ok(logs)
    }

    /// `eth_newFilter`.
    pub(crate) fn install_log_filter(&self, filter: Filter) -> U64 {
        U64::from(self.ctx.events.filters().install_log_filter(filter))
    }

    /// `eth_getFilterChanges`.
    pub(crate) fn poll_filter(&self, id: u64) -> Result<FilterChanges, RpcError> {
        // A client that saw a block expects its logs and hash in the next poll.
        self.ctx.events.wait_for_follower();
        let filters = self.ctx.events.filters();
        match filters.poll(id).ok_or(RpcError::FilterNotFound)? {
            FilterPoll::Blocks(hashes) => Ok(FilterChanges::Hashes(hashes)),
            FilterPoll::Logs(logs) => Ok(FilterChanges::Logs(logs)),
            FilterPoll::PendingTransactions { cursor } => {
                let (hashes, cursor) = self.ctx.pool.pending_hashes_since(cursor);
                filters.set_pending_cursor(id, cursor);
                Ok(FilterChanges::Hashes(hashes))
            }
        }
    }

    /// `eth_getFilterLogs`: the log filter's whole query, run now.
    pub(crate) fn filter_logs_of(&self, id: u64) -> Result<Vec<Log>, RpcError> {
        let filter = self
            .ctx
            .events
            .filters()
            .log_filter(id)
            .ok_or(RpcError::FilterNotFound)?;
        self.query_logs(&filter)
    }
}

/// Logs of `logs` that `filter` selects (addresses, topics, numeric block bounds).
pub(crate) fn matching_logs<'a>(
    filter: &'a Filter,
    logs: impl IntoIterator<Item = &'a Log> + 'a,
) -> impl Iterator<Item = &'a Log> + 'a {
    logs.into_iter().filter(move |log| log_matches(filter, log))
}
