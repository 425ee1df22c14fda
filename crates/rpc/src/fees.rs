//! Fee suggestions and history: `eth_maxPriorityFeePerGas`, `eth_gasPrice`, `eth_feeHistory`,
//! `eth_blobBaseFee`.
//!
//! The tip oracle follows geth's: the cheapest few effective tips of each of the last
//! [`TIP_SAMPLE_BLOCKS`] blocks, the [`TIP_PERCENTILE`]th percentile of those samples, a default
//! when the blocks are empty, capped at [`MAX_TIP`]. It is cached per head.

use crate::{block_id::StoredBlock, convert::blob_gas_price, EthRpc, RpcError};
use alloy_consensus::{Header, Transaction as _};
use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::U256;
use alloy_rpc_types_eth::FeeHistory;
use fastevm_executor::header_validation::{expected_base_fee, expected_excess_blob_gas};

/// Blocks the tip oracle samples.
pub const TIP_SAMPLE_BLOCKS: u64 = 20;
/// Cheapest transactions sampled per block.
pub const TIP_SAMPLES_PER_BLOCK: usize = 3;
/// Percentile of the samples the oracle suggests.
pub const TIP_PERCENTILE: usize = 60;
/// Tip suggested when the sampled blocks hold no transactions (1 gwei).
pub const DEFAULT_TIP: u128 = 1_000_000_000;
/// Highest tip ever suggested (500 gwei).
pub const MAX_TIP: u128 = 500_000_000_000;
/// Tips below this are ignored as spam (2 wei, as geth).
pub const IGNORE_TIP_BELOW: u128 = 2;
/// Most blocks one `eth_feeHistory` call covers.
pub const MAX_FEE_HISTORY_BLOCKS: u64 = 1024;
/// Most reward percentiles one `eth_feeHistory` call may ask for.
pub const MAX_REWARD_PERCENTILES: usize = 100;

impl EthRpc {
    /// `eth_maxPriorityFeePerGas`.
    pub(crate) fn suggested_tip(&self) -> Result<u128, RpcError> {
        let head = self.ctx.store.head_hash()?;
        if let Some((hash, tip)) = *self.tip_cache.lock() {
            if hash == head {
                return Ok(tip);
            }
        }
        let head_number = self.ctx.head_number()?;
        let mut samples = Vec::new();
        let first = head_number.saturating_sub(TIP_SAMPLE_BLOCKS - 1);
        for number in first..=head_number {
            let Some(block) = self.stored(BlockId::number(number))? else {
                continue;
            };
            let base_fee = block.header.base_fee_per_gas;
            let mut tips: Vec<u128> = block
                .body
                .transactions
                .iter()
                .zip(&block.senders)
                .filter(|(_, sender)| **sender != block.header.beneficiary)
                .filter_map(|(tx, _)| tx.effective_tip_per_gas(base_fee.unwrap_or_default()))
                .filter(|tip| *tip >= IGNORE_TIP_BELOW)
                .collect();
            tips.sort_unstable();
            samples.extend(tips.into_iter().take(TIP_SAMPLES_PER_BLOCK));
        }
        let tip = if samples.is_empty() {
            DEFAULT_TIP
        } else {
            samples.sort_unstable();
            samples[(samples.len() - 1) * TIP_PERCENTILE / 100]
        }
        .min(MAX_TIP);
        *self.tip_cache.lock() = Some((head, tip));
        Ok(tip)
    }

    /// `eth_gasPrice`: suggested tip plus the head's base fee.
    pub(crate) fn suggested_gas_price(&self) -> Result<U256, RpcError> {
        let tip = self.suggested_tip()?;
        let base_fee = self
            .ctx
            .store
            .head_header()?
            .base_fee_per_gas
            .unwrap_or_default();
        Ok(U256::from(tip) + U256::from(base_fee))
    }

    /// `eth_blobBaseFee`: the blob base fee of the head block.
    pub(crate) fn head_blob_base_fee(&self) -> Result<U256, RpcError> {
        let head = self.ctx.store.head_header()?;
        blob_gas_price(&self.ctx.spec, &head)
            .map(U256::from)
            .ok_or_else(|| RpcError::Server("blob base fee is not available before Cancun".into()))
    }

    /// `eth_feeHistory`.
    pub(crate) fn fee_history_of(
        &self,
        block_count: u64,
        newest: BlockNumberOrTag,
        percentiles: Option<Vec<f64>>,
    ) -> Result<FeeHistory, RpcError> {
        if let Some(p) = &percentiles {
            check_percentiles(p)?;
        }
        let head = self.ctx.head_number()?;
        let newest = match newest {
            BlockNumberOrTag::Number(n) if n > head => {
                return Err(RpcError::invalid_params(format!(
                    "request beyond head block: requested {n}, head {head}"
                )))
            }
            tag => self.ctx.resolve(BlockId::Number(tag))?.header.number,
        };
        let count = block_count.min(MAX_FEE_HISTORY_BLOCKS).min(newest + 1);
        if count == 0 {
            return Ok(FeeHistory::default());
        }
        let oldest = newest + 1 - count;
        let mut history = FeeHistory {
            oldest_block: oldest,
            reward: percentiles.as_ref().map(|_| Vec::new()),
            ..Default::default()
        };
        let mut last: Option<Header> = None;
        for number in oldest..=newest {
            let block = self
                .stored(BlockId::number(number))?
                .ok_or(RpcError::HeaderNotFound)?;
            let header = &block.header;
            history
                .base_fee_per_gas
                .push(header.base_fee_per_gas.unwrap_or_default().into());
            history
                .gas_used_ratio
                .push(ratio(header.gas_used, header.gas_limit));
            history
                .base_fee_per_blob_gas
                .push(blob_gas_price(&self.ctx.spec, header).unwrap_or_default());
            let max_blob_gas = self
                .ctx
                .spec
                .blob_params_at(header.timestamp)
                .map(|p| p.max_blob_gas_per_block())
                .unwrap_or_default();
            history.blob_gas_used_ratio.push(ratio(
                header.blob_gas_used.unwrap_or_default(),
                max_blob_gas,
            ));
            if let (Some(p), Some(rewards)) = (&percentiles, history.reward.as_mut()) {
                rewards.push(self.block_rewards(&block, p)?);
            }
            last = Some(block.header);
        }
        // The arrays of fees carry one more entry: the block after `newest`.
        if let Some(last) = last {
            let spec = &self.ctx.spec;
            history
                .base_fee_per_gas
                .push(expected_base_fee(spec, &last).unwrap_or_default().into());
            let next_blob_fee = expected_excess_blob_gas(spec, &last, last.timestamp)
                .zip(spec.blob_params_at(last.timestamp))
                .map(|(excess, params)| params.calc_blob_fee(excess))
                .unwrap_or_default();
            history.base_fee_per_blob_gas.push(next_blob_fee);
        }
        Ok(history)
    }

    /// Effective tips at each gas-weighted percentile of a block's transactions.
    fn block_rewards(
        &self,
        block: &StoredBlock,
        percentiles: &[f64],
    ) -> Result<Vec<u128>, RpcError> {
        if block.body.transactions.is_empty() {
            return Ok(vec![0; percentiles.len()]);
        }
        let receipts = self.ctx.stored_receipts(block)?;
        let base_fee = block.header.base_fee_per_gas.unwrap_or_default();
        let mut previous = 0u64;
        let mut txs: Vec<(u128, u64)> = block
            .body
            .transactions
            .iter()
            .zip(&receipts)
            .map(|(tx, receipt)| {
                let cumulative = receipt.cumulative_gas_used();
                let gas_used = cumulative.saturating_sub(previous);
                previous = cumulative;
                (
                    tx.effective_tip_per_gas(base_fee).unwrap_or_default(),
                    gas_used,
                )
            })
            .collect();
        txs.sort_by_key(|(tip, _)| *tip);
        let total_gas: u64 = txs.iter().map(|(_, gas)| gas).sum();
        let mut rewards = Vec::with_capacity(percentiles.len());
        let mut index = 0;
        let mut cumulative = txs[0].1;
        for p in percentiles {
            let threshold = (total_gas as f64 * p / 100.0) as u64;
            while cumulative < threshold && index < txs.len() - 1 {
                index += 1;
                cumulative += txs[index].1;
            }
            rewards.push(txs[index].0);
        }
        Ok(rewards)
    }
}

fn ratio(used: u64, limit: u64) -> f64 {
    if limit == 0 {
        0.0
    } else {
        used as f64 / limit as f64
    }
}

fn check_percentiles(percentiles: &[f64]) -> Result<(), RpcError> {
    if percentiles.len() > MAX_REWARD_PERCENTILES {
        return Err(RpcError::invalid_params(format!(
            "too many reward percentiles: {} (max {MAX_REWARD_PERCENTILES})",
            percentiles.len()
        )));
    }
    let mut previous = 0.0;
    for (i, p) in percentiles.iter().enumerate() {
        if !(0.0..=100.0).contains(p) || (i > 0 && *p < previous) {
            return Err(RpcError::invalid_params(format!(
                "invalid reward percentile: {p}"
            )));
        }
        previous = *p;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_must_be_ascending_and_in_range() {
        assert!(check_percentiles(&[10.0, 50.0, 50.0, 99.5]).is_ok());
        assert!(check_percentiles(&[50.0, 10.0]).is_err());
        assert!(check_percentiles(&[101.0]).is_err());
        assert!(check_percentiles(&[-1.0]).is_err());
        assert!(check_percentiles(&vec![1.0; 101]).is_err());
        assert_eq!(ratio(5, 10), 0.5);
        assert_eq!(ratio(5, 0), 0.0);
    }
}
