//! Commits certified by a quorum's votes, taken from peers by a node that fell behind (commit
//! sync): they extend the core's chain directly, without the DAG below them.

use std::collections::BTreeSet;

use super::{observe_commit, AddBlocksOutcome, CertifiedCommit, Core};
use crate::commit::{Commit, CommitDigest, CommitIndex, CommitRef, CommittedSubDag};
use crate::error::{ConsensusError, ConsensusResult};
use crate::types::{BlockRef, VerifiedBlock};

impl Core {
    /// Adds commits certified by a quorum's votes, fetched from peers by a node that fell
    /// behind (commit sync). Each must extend the last commit (index + 1, previous digest);
    /// commits at or below the last index are skipped. Their blocks are accepted into the DAG
    /// even when ancestors below them were never fetched (a certified commit's history is
    /// committed before it or garbage), marked committed and stored with the commit; the
    /// sub-DAGs come back in `commits`, followed by whatever the local committer can decide
    /// afterwards. The leader schedule and reputation advance exactly as for a local commit.
    pub fn add_certified_commits(
        &mut self,
        certified: Vec<CertifiedCommit>,
    ) -> ConsensusResult<AddBlocksOutcome> {
        let mut result = AddBlocksOutcome::default();
        let mut commits = Vec::new();
        for CertifiedCommit { commit, blocks } in certified {
            let (last_index, last_digest) = self
                .dag
                .last_commit()
                .map_or((0, CommitDigest::default()), |c| (c.index, c.digest()));
            if commit.index <= last_index {
                continue;
            }
            check_extends(&commit, &blocks, last_index, last_digest)?;
            let out = self
                .block_manager
                .try_accept_blocks(blocks.clone(), &mut self.dag);
            result.rejected.extend(out.rejected);
            let mut accepted = out.accepted;
            let gc_round = self.dag.gc_round();
            for b in &blocks {
                // Ancestors below a certified block that this node never saw stay unknown.
                if b.round() > gc_round && self.dag.accept_block(b.clone()) {
                    accepted.push(b.clone());
                    // If it was suspended, what waited only for it can go on.
                    let woken = self
                        .block_manager
                        .on_inserted(&b.reference(), &mut self.dag);
                    result.rejected.extend(woken.rejected);
                    accepted.extend(woken.accepted);
                }
            }
            // Every block of the commit is stored with it (replay reads them back), including
            // those the DAG already dropped as garbage.
            let accepted_refs: BTreeSet<BlockRef> =
                accepted.iter().map(VerifiedBlock::reference).collect();
            self.unwritten.blocks.extend(
                blocks
                    .iter()
                    .filter(|b| !accepted_refs.contains(&b.reference()))
                    .cloned(),
            );
            self.on_accepted(accepted, &mut result.accepted)?;
            for r in &commit.blocks {
                self.dag.set_committed(*r);
            }
            // The next committed leader: every slot before it is decided (as on recovery).
            self.last_decided = commit.leader.slot();
            observe_commit(
                &mut self.reputation,
                &mut self.committer,
                self.dag.committee(),
                &commit,
            );
            let digest = commit.digest();
            self.vote_for(CommitRef::new(commit.index, digest));
            self.dag.set_last_commit(commit.clone());
            self.unwritten.commits.push(commit.clone());
            commits.push(CommittedSubDag {
                commit_index: commit.index,
                leader: commit.leader,
                blocks,
                timestamp_ms: commit.timestamp_ms,
                previous_digest: commit.previous_digest,
                commit_digest: digest,
                commit,
            });
            self.collect_garbage(&mut result)?;
        }
        if !commits.is_empty() {
            self.persist_commits()?;
        }
        commits.extend(self.try_commit_into(&mut result)?);
        result.commits = commits;
        result.missing = self.block_manager.missing_references();
        Ok(result)
    }
}

/// Checks that a certified `commit` with `blocks` directly extends the last commit.
fn check_extends(
    commit: &Commit,
    blocks: &[VerifiedBlock],
    last_index: CommitIndex,
    last_digest: CommitDigest,
) -> ConsensusResult<()> {
    let mismatch = |reason: &str| ConsensusError::CertifiedCommitMismatch {
        index: commit.index,
        reason: reason.to_string(),
    };
    if commit.index != last_index + 1 {
        return Err(mismatch(&format!("the last commit is {last_index}")));
    }
    if commit.previous_digest != last_digest {
        return Err(mismatch(
            "its previous digest is not the last commit's digest",
        ));
    }
    if blocks.len() != commit.blocks.len()
        || blocks
            .iter()
            .zip(&commit.blocks)
            .any(|(b, r)| b.reference() != *r)
    {
        return Err(mismatch("its blocks are not the ones it names"));
    }
    if !commit.blocks.contains(&commit.leader) {
        return Err(mismatch("its leader is not among its blocks"));
    }
    Ok(())
}
