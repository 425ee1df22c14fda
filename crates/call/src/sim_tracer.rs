//! The logs of simulated calls as eth_simulateV1 reports them: every `LOG` of the frames that did
//! not fail, and with `traceTransfers` every ether transfer (transaction value, `CALL` value,
//! `CREATE` endowment, `SELFDESTRUCT` balance) as an ERC-20 `Transfer` log of the ERC-7528 ether
//! address, in execution order.
//!
//! Log indices run over the whole simulated block and count every captured log, also those a
//! failing frame later discards, as geth numbers them; a failing frame takes its own logs and
//! its sub-frames' logs with it.
//!
//! The tracer also keeps the fork's precompile addresses warm in every transaction after an
//! override turned them into plain accounts, as geth does (EIP-2929 access costs).

use alloy_primitives::{address, b256, Address, Log, LogData, B256, U256};
use revm::{
    context_interface::{ContextTr, JournalTr},
    interpreter::{CallInputs, CallOutcome, CallScheme, CreateInputs, CreateOutcome},
    Inspector,
};

/// `keccak256("Transfer(address,address,uint256)")`.
pub(crate) const TRANSFER_TOPIC: B256 =
    b256!("ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");
/// The address ether transfers are logged from (ERC-7528).
pub(crate) const ETHER_ADDRESS: Address = address!("eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee");

/// A captured log and its index in the block.
pub(crate) type IndexedLog = (Log, u64);

/// Collects the logs of one simulated block's calls.
#[derive(Debug, Default)]
pub(crate) struct SimTracer {
    trace_transfers: bool,
    /// Logs of the open frames, innermost last.
    frames: Vec<Vec<IndexedLog>>,
    /// Logs of the last finished transaction (empty if it failed).
    finished: Vec<IndexedLog>,
    /// Logs captured in this block so far.
    count: u64,
    /// Addresses loaded (made warm) when a transaction starts.
    keep_warm: Vec<Address>,
}

impl SimTracer {
    pub(crate) fn new(trace_transfers: bool) -> Self {
        Self {
            trace_transfers,
            ..Self::default()
        }
    }

    /// Makes `addresses` warm at the start of every transaction.
    pub(crate) fn keep_warm(&mut self, addresses: Vec<Address>) {
        self.keep_warm = addresses;
    }

    /// At a transaction's first frame: loads the addresses to keep warm.
    fn start_transaction<CTX: ContextTr>(&mut self, context: &mut CTX) {
        if !self.frames.is_empty() {
            return;
        }
        for address in &self.keep_warm {
            // A database error here surfaces again when the address is really read.
            let _ = context.journal_mut().load_account(*address);
        }
    }

    /// The logs of the transaction that ran last (nothing if it failed), leaving none behind.
    pub(crate) fn take_transaction_logs(&mut self) -> Vec<IndexedLog> {
        self.frames.clear();
        std::mem::take(&mut self.finished)
    }

    fn capture(&mut self, log: Log) {
        let index = self.count;
        self.count += 1;
        if let Some(frame) = self.frames.last_mut() {
            frame.push((log, index));
        }
    }

    fn capture_transfer(&mut self, from: Address, to: Address, value: U256) {
        if !self.trace_transfers || value.is_zero() {
            return;
        }
        let data = LogData::new_unchecked(
            vec![TRANSFER_TOPIC, from.into_word(), to.into_word()],
            value.to_be_bytes::<32>().to_vec().into(),
        );
        self.capture(Log {
            address: ETHER_ADDRESS,
            data,
        });
    }

    fn enter(&mut self) {
        self.frames.push(Vec::new());
    }

    fn exit(&mut self, succeeded: bool) {
        let Some(frame) = self.frames.pop() else {
            return;
        };
        match self.frames.last_mut() {
            Some(parent) if succeeded => parent.extend(frame),
            Some(_) => {}
            None => self.finished = if succeeded { frame } else { Vec::new() },
        }
    }
}

impl<CTX: ContextTr> Inspector<CTX> for SimTracer {
    fn log(&mut self, _context: &mut CTX, log: Log) {
        self.capture(log);
    }

    fn call(&mut self, context: &mut CTX, inputs: &mut CallInputs) -> Option<CallOutcome> {
        self.start_transaction(context);
        self.enter();
        if matches!(inputs.scheme, CallScheme::Call | CallScheme::StaticCall) {
            if let Some(value) = inputs.value.transfer() {
                self.capture_transfer(inputs.caller, inputs.target_address, value);
            }
        }
        None
    }

    fn call_end(&mut self, _context: &mut CTX, _inputs: &CallInputs, outcome: &mut CallOutcome) {
        self.exit(outcome.result.is_ok());
    }

    fn create(&mut self, context: &mut CTX, inputs: &mut CreateInputs) -> Option<CreateOutcome> {
        self.start_transaction(context);
        self.enter();
        if self.trace_transfers && !inputs.value().is_zero() {
            // The new address is known once the frame exists: log now (keeping the order and
            // the index), fill in the recipient at the end.
            self.capture_transfer(inputs.caller(), Address::ZERO, inputs.value());
        }
        None
    }

    fn create_end(
        &mut self,
        _context: &mut CTX,
        inputs: &CreateInputs,
        outcome: &mut CreateOutcome,
    ) {
        let endowment = self.trace_transfers && !inputs.value().is_zero();
        if let (true, Some(created)) = (endowment, outcome.address) {
            // The endowment is the first log of the creation's own frame.
            if let Some((log, _)) = self.frames.last_mut().and_then(|frame| frame.first_mut()) {
                let topics = vec![
                    TRANSFER_TOPIC,
                    inputs.caller().into_word(),
                    created.into_word(),
                ];
                log.data = LogData::new_unchecked(topics, log.data.data.clone());
            }
        }
        self.exit(outcome.result.is_ok());
    }

    fn selfdestruct(&mut self, contract: Address, target: Address, value: U256) {
        self.capture_transfer(contract, target, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(byte: u8) -> Log {
        Log {
            address: Address::repeat_byte(byte),
            data: LogData::default(),
        }
    }

    #[test]
    fn failed_frames_drop_their_logs_but_keep_their_indices() {
        let mut tracer = SimTracer::new(true);
        tracer.enter();
        tracer.capture(log(1));
        tracer.enter();
        tracer.capture(log(2));
        tracer.capture_transfer(
            Address::repeat_byte(3),
            Address::repeat_byte(4),
            U256::from(5),
        );
        tracer.exit(false);
        tracer.capture_transfer(Address::repeat_byte(3), Address::repeat_byte(4), U256::ZERO);
        tracer.capture(log(6));
        tracer.exit(true);
        let logs = tracer.take_transaction_logs();
        let indices: Vec<u64> = logs.iter().map(|(_, i)| *i).collect();
        assert_eq!(indices, vec![0, 3]);
        assert_eq!(logs[1].0.address, Address::repeat_byte(6));

        // The next transaction goes on counting; a failing one reports nothing.
        tracer.enter();
        tracer.capture(log(7));
        tracer.exit(false);
        assert!(tracer.take_transaction_logs().is_empty());
        tracer.enter();
        tracer.capture(log(8));
        tracer.exit(true);
        assert_eq!(tracer.take_transaction_logs()[0].1, 5);
    }

    #[test]
    fn transfers_are_logged_only_when_asked() {
        let (from, to) = (Address::repeat_byte(1), Address::repeat_byte(2));
        let mut tracer = SimTracer::new(false);
        tracer.enter();
        tracer.capture_transfer(from, to, U256::from(7));
        tracer.exit(true);
        assert!(tracer.take_transaction_logs().is_empty());

        let mut tracer = SimTracer::new(true);
        tracer.enter();
        tracer.capture_transfer(from, to, U256::from(7));
        tracer.exit(true);
        let logs = tracer.take_transaction_logs();
        let (log, index) = &logs[0];
        assert_eq!(*index, 0);
        assert_eq!(log.address, ETHER_ADDRESS);
        assert_eq!(
            log.data.topics(),
            &[TRANSFER_TOPIC, from.into_word(), to.into_word()]
        );
        assert_eq!(log.data.data.as_ref(), &U256::from(7).to_be_bytes::<32>());
    }
}
