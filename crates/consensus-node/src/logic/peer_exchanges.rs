//! The validator-to-validator exchanges beside blocks — amnesia recovery (asking peers for this
//! validator's last block before proposing) and executed-result votes — and what the
//! application reports back: executed EVM blocks and handled commits.

use fastevm_consensus::{AuthorityIndex, ConsumerProgress, SignedBlock};

use super::{Destination, Outputs, ValidatorLogic};
use crate::error::{NodeError, NodeResult};
use crate::executed_votes::ExecutedVote;
use crate::message::ConsensusMessage;

impl ValidatorLogic {
    /// This validator's execution node produced EVM block `height` with `block_hash`: signs and
    /// sends the result to the other validators. `Err(ExecutionDiverged)` (fatal) when
    /// validators holding a quorum of the stake signed another block for that height.
    pub fn on_executed(
        &mut self,
        height: u64,
        block_hash: [u8; 32],
        now_ms: u64,
    ) -> NodeResult<Outputs> {
        let mut out = Outputs::default();
        self.start_into(now_ms, &mut out)?;
        let vote = ExecutedVote::sign(&self.key, self.core.own_index(), height, block_hash);
        out.messages.push((
            Destination::All,
            ConsensusMessage::ExecutedVote(vote.clone()),
        ));
        self.count_vote(&vote)?;
        Ok(out)
    }

    /// The consumer (the consensus bridge) has handled every commit up to `progress.commit`:
    /// the store may delete them once they leave the retention window
    /// ([`fastevm_consensus::retention`]).
    pub fn on_commit_handled(&mut self, progress: ConsumerProgress) {
        self.core.set_consumer_progress(progress);
    }

    /// The highest EVM block height whose hash validators holding a quorum of the stake signed
    /// alike (0: none yet).
    pub fn executed_agreement_height(&self) -> u64 {
        self.agreement.agreed_height()
    }

    pub(super) fn count_vote(&mut self, vote: &ExecutedVote) -> NodeResult<()> {
        match self.agreement.record(vote, self.core.dag().committee()) {
            None => Ok(()),
            Some(d) => Err(NodeError::ExecutionDiverged {
                height: d.height,
                ours: hex::encode(d.ours),
                agreed: hex::encode(d.agreed),
            }),
        }
    }

    /// Amnesia recovery: (re)sends the request for this validator's latest block while waiting,
    /// and ends the wait on timeout.
    pub(super) fn ask_own_last_block(&mut self, now_ms: u64, out: &mut Outputs) {
        let timeout = self.config.own_block_sync_timeout_ms;
        let Some(sync) = &mut self.own_sync else {
            return;
        };
        if sync.has_quorum(self.core.dag().committee()) {
            // A committee where this validator alone is a quorum: nobody to ask.
            self.finish_own_sync();
            return;
        }
        if sync.timed_out(now_ms, timeout) {
            tracing::warn!(
                highest = sync.highest(),
                "no quorum reported this validator's last block in time; proposing above what was \
                 reported"
            );
            self.finish_own_sync();
            return;
        }
        if sync.request_due(now_ms, self.config.sync.rebroadcast_ms) {
            sync.requested(now_ms);
            out.messages
                .push((Destination::All, ConsensusMessage::RequestOwnLastBlock));
        }
    }

    /// An answer to the own-last-block request from `from`.
    pub(super) fn on_own_last_block(&mut self, from: AuthorityIndex, block: Option<SignedBlock>) {
        let own = self.core.own_index();
        let Some(sync) = &mut self.own_sync else {
            return;
        };
        let round = match block {
            None => 0,
            Some(block) => match self.verifier.verify(block) {
                Ok(verified) if verified.author() == own => verified.round(),
                _ => {
                    self.stats.blocks_rejected += 1;
                    return;
                }
            },
        };
        sync.answer(from, round);
        if sync.has_quorum(self.core.dag().committee()) {
            self.finish_own_sync();
        }
    }

    fn finish_own_sync(&mut self) {
        if let Some(sync) = self.own_sync.take() {
            tracing::info!(
                last_own_round = sync.highest(),
                "peers reported this validator's last block; proposing above it"
            );
            self.core.set_last_known_own_round(sync.highest());
        }
    }
}
