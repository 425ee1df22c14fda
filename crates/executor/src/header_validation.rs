//! Consensus checks of a header against its parent and the fork in force. Pure functions.

use crate::{ChainSpec, InvalidBlock};
use alloy_consensus::{Header, EMPTY_OMMER_ROOT_HASH};
use alloy_eips::{
    eip1559::{BaseFeeParams, INITIAL_BASE_FEE},
    eip4844::DATA_GAS_PER_BLOB,
};
use alloy_hardforks::EthereumHardforks;
use alloy_primitives::{B64, U256};

/// Smallest gas limit a block may have.
pub const MIN_GAS_LIMIT: u64 = 5_000;
/// Largest gas limit a block may have (geth's `MaxGasLimit`).
pub const MAX_GAS_LIMIT: u64 = 0x7fff_ffff_ffff_ffff;
/// Divisor bounding the gas-limit change from one block to the next.
pub const GAS_LIMIT_BOUND_DIVISOR: u64 = 1024;
/// Longest extra-data field.
pub const MAX_EXTRA_DATA: usize = 32;

/// Base fee the block after `parent` must carry, or `None` before London.
pub fn expected_base_fee(spec: &ChainSpec, parent: &Header) -> Option<u64> {
    let number = parent.number + 1;
    if !spec.is_london_active_at_block(number) {
        return None;
    }
    if !spec.is_london_active_at_block(parent.number) {
        return Some(INITIAL_BASE_FEE);
    }
    parent.next_block_base_fee(BaseFeeParams::ethereum())
}

/// Excess blob gas the block after `parent` (at `timestamp`) must carry, or `None` before Cancun.
pub fn expected_excess_blob_gas(spec: &ChainSpec, parent: &Header, timestamp: u64) -> Option<u64> {
    let params = spec.blob_params_at(timestamp)?;
    if !spec.is_cancun_active_at_timestamp(parent.timestamp) {
        // First Cancun block: the parent counts as having zero excess and zero usage.
        return Some(0);
    }
    parent.next_block_excess_blob_gas(params).or(Some(0))
}

/// Checks everything about `header` that depends only on its parent and the fork schedule.
pub fn validate_header(
    spec: &ChainSpec,
    header: &Header,
    parent: &Header,
) -> Result<(), InvalidBlock> {
    if header.number != parent.number + 1 {
        return Err(InvalidBlock::mismatch(
            "number",
            parent.number + 1,
            header.number,
        ));
    }
    // Strictly later, or equal where the chain allows it (`fastevm.allowEqualTimestamps`): a
    // block the node did not build itself, e.g. a payload whose builder process restarted, is
    // judged by the same rule the builder used.
    if !spec.timestamp_follows(parent.timestamp, header.timestamp) {
        let relation = if spec.allow_equal_timestamps {
            "before"
        } else {
            "not after"
        };
        return Err(InvalidBlock::field(
            "timestamp",
            format!(
                "{} is {relation} the parent's {}",
                header.timestamp, parent.timestamp
            ),
        ));
    }
    if header.extra_data.len() > MAX_EXTRA_DATA {
        return Err(InvalidBlock::field(
            "extraData",
            format!(
                "{} bytes, at most {MAX_EXTRA_DATA} allowed",
                header.extra_data.len()
            ),
        ));
    }
    validate_gas_limit(spec, header, parent)?;
    if header.gas_used > header.gas_limit {
        return Err(InvalidBlock::field(
            "gasUsed",
            format!(
                "{} exceeds the gas limit {}",
                header.gas_used, header.gas_limit
            ),
        ));
    }
    if spec.is_post_merge(header.number) {
        if header.difficulty != U256::ZERO {
            return Err(InvalidBlock::mismatch("difficulty", 0, header.difficulty));
        }
        if header.nonce != B64::ZERO {
            return Err(InvalidBlock::mismatch("nonce", B64::ZERO, header.nonce));
        }
        if header.ommers_hash != EMPTY_OMMER_ROOT_HASH {
            return Err(InvalidBlock::mismatch(
                "ommersHash",
                EMPTY_OMMER_ROOT_HASH,
                header.ommers_hash,
            ));
        }
    }
    match (expected_base_fee(spec, parent), header.base_fee_per_gas) {
        (Some(expected), Some(got)) if expected != got => {
            return Err(InvalidBlock::mismatch("baseFeePerGas", expected, got))
        }
        (Some(_), None) => {
            return Err(InvalidBlock::field("baseFeePerGas", "missing after London"))
        }
        (None, Some(_)) => {
            return Err(InvalidBlock::field(
                "baseFeePerGas",
                "present before London",
            ))
        }
        _ => {}
    }
    let shanghai = spec.is_shanghai_active_at_timestamp(header.timestamp);
    presence(
        "withdrawalsRoot",
        header.withdrawals_root.is_some(),
        shanghai,
    )?;
    let cancun = spec.is_cancun_active_at_timestamp(header.timestamp);
    presence("blobGasUsed", header.blob_gas_used.is_some(), cancun)?;
    presence("excessBlobGas", header.excess_blob_gas.is_some(), cancun)?;
    presence(
        "parentBeaconBlockRoot",
        header.parent_beacon_block_root.is_some(),
        cancun,
    )?;
    if cancun {
        let params = spec
            .blob_params_at(header.timestamp)
            .expect("cancun has blob params");
        let used = header.blob_gas_used.unwrap_or_default();
        if !used.is_multiple_of(DATA_GAS_PER_BLOB) {
            return Err(InvalidBlock::field(
                "blobGasUsed",
                format!("{used} is not a multiple of {DATA_GAS_PER_BLOB}"),
            ));
        }
        if used > params.max_blob_gas_per_block() {
            return Err(InvalidBlock::field(
                "blobGasUsed",
                format!(
                    "{used} exceeds the block maximum {}",
                    params.max_blob_gas_per_block()
                ),
            ));
        }
        let expected = expected_excess_blob_gas(spec, parent, header.timestamp).unwrap_or_default();
        let got = header.excess_blob_gas.unwrap_or_default();
        if expected != got {
            return Err(InvalidBlock::mismatch("excessBlobGas", expected, got));
        }
    }
    let prague = spec.is_prague_active_at_timestamp(header.timestamp);
    presence("requestsHash", header.requests_hash.is_some(), prague)?;
    Ok(())
}

fn validate_gas_limit(
    spec: &ChainSpec,
    header: &Header,
    parent: &Header,
) -> Result<(), InvalidBlock> {
    let limit = header.gas_limit;
    if !(MIN_GAS_LIMIT..=MAX_GAS_LIMIT).contains(&limit) {
        return Err(InvalidBlock::field(
            "gasLimit",
            format!("{limit} is out of range"),
        ));
    }
    // At the London transition the parent's limit is doubled (elasticity multiplier).
    let parent_limit = if spec.is_london_active_at_block(header.number)
        && !spec.is_london_active_at_block(parent.number)
    {
        parent.gas_limit * 2
    } else {
        parent.gas_limit
    };
    let max_delta = parent_limit / GAS_LIMIT_BOUND_DIVISOR;
    if limit.abs_diff(parent_limit) >= max_delta {
        return Err(InvalidBlock::field(
            "gasLimit",
            format!("{limit} changes more than 1/{GAS_LIMIT_BOUND_DIVISOR} from the parent's {parent_limit}"),
        ));
    }
    Ok(())
}

fn presence(field: &'static str, present: bool, required: bool) -> Result<(), InvalidBlock> {
    match (present, required) {
        (true, false) => Err(InvalidBlock::field(field, "present before its fork")),
        (false, true) => Err(InvalidBlock::field(field, "missing after its fork")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ChainSpec {
        ChainSpec::for_test_network("Cancun", 1).unwrap()
    }

    fn parent() -> Header {
        Header {
            number: 1,
            timestamp: 10,
            gas_limit: 30_000_000,
            gas_used: 15_000_000,
            base_fee_per_gas: Some(1_000_000_000),
            withdrawals_root: Some(Default::default()),
            blob_gas_used: Some(0),
            excess_blob_gas: Some(0),
            parent_beacon_block_root: Some(Default::default()),
            ..Default::default()
        }
    }

    fn child(parent: &Header) -> Header {
        Header {
            number: parent.number + 1,
            timestamp: parent.timestamp + 1,
            gas_limit: parent.gas_limit,
            base_fee_per_gas: expected_base_fee(&spec(), parent),
            excess_blob_gas: Some(0),
            ..parent.clone()
        }
    }

    #[test]
    fn equal_timestamps_pass_only_where_the_chain_allows_them() {
        let parent = parent();
        let mut same_second = child(&parent);
        same_second.timestamp = parent.timestamp;
        let mut earlier = child(&parent);
        earlier.timestamp = parent.timestamp - 1;
        let mut fastevm = spec();
        fastevm.allow_equal_timestamps = true;
        validate_header(&fastevm, &same_second, &parent).unwrap();
        assert!(validate_header(&fastevm, &earlier, &parent).is_err());
        assert!(validate_header(&spec(), &same_second, &parent).is_err());
    }

    #[test]
    fn valid_child_passes_and_each_rule_fails() {
        let spec = spec();
        let parent = parent();
        let good = child(&parent);
        validate_header(&spec, &good, &parent).unwrap();

        let mut bad = good.clone();
        bad.timestamp = parent.timestamp;
        assert!(matches!(
            validate_header(&spec, &bad, &parent),
            Err(InvalidBlock::Field {
                field: "timestamp",
                ..
            })
        ));

        let mut bad = good.clone();
        bad.base_fee_per_gas = Some(7);
        assert!(matches!(
            validate_header(&spec, &bad, &parent),
            Err(InvalidBlock::Mismatch {
                field: "baseFeePerGas",
                ..
            })
        ));

        let mut bad = good.clone();
        bad.gas_limit = parent.gas_limit + parent.gas_limit / 1024;
        assert!(matches!(
            validate_header(&spec, &bad, &parent),
            Err(InvalidBlock::Field {
                field: "gasLimit",
                ..
            })
        ));

        let mut bad = good.clone();
        bad.difficulty = U256::from(1);
        assert!(matches!(
            validate_header(&spec, &bad, &parent),
            Err(InvalidBlock::Mismatch {
                field: "difficulty",
                ..
            })
        ));

        let mut bad = good.clone();
        bad.parent_beacon_block_root = None;
        assert!(matches!(
            validate_header(&spec, &bad, &parent),
            Err(InvalidBlock::Field {
                field: "parentBeaconBlockRoot",
                ..
            })
        ));

        let mut bad = good.clone();
        bad.requests_hash = Some(Default::default());
        assert!(matches!(
            validate_header(&spec, &bad, &parent),
            Err(InvalidBlock::Field {
                field: "requestsHash",
                ..
            })
        ));

        let mut bad = good;
        bad.extra_data = vec![0u8; 33].into();
        assert!(matches!(
            validate_header(&spec, &bad, &parent),
            Err(InvalidBlock::Field {
                field: "extraData",
                ..
            })
        ));
    }

    #[test]
    fn base_fee_moves_with_demand() {
        let spec = spec();
        let mut full = parent();
        full.gas_used = full.gas_limit;
        assert!(expected_base_fee(&spec, &full).unwrap() > 1_000_000_000);
        let mut empty = parent();
        empty.gas_used = 0;
        assert!(expected_base_fee(&spec, &empty).unwrap() < 1_000_000_000);
    }
}
