//! Fetching missing ancestors: which references to request, from whom, and when to retry.
//!
//! Pure bookkeeping, no I/O and no clock: the caller passes the time and sends the requests it
//! gets back. A reference the core reports missing is first asked from the peer whose message
//! made it missing (that peer accepted the block referencing it, so it holds the ancestor), then
//! — after [`SyncConfig::retry_ms`] without an answer — from the other peers in turn. At most
//! [`SyncConfig::max_inflight_requests`] requests are outstanding; each asks for at most
//! [`SyncConfig::max_refs_per_request`] references. All iteration is over ordered maps, so the
//! choices are deterministic.

use std::collections::{BTreeMap, BTreeSet};

use fastevm_consensus::{AuthorityIndex, BlockRef};

/// Synchronizer settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncConfig {
    /// A request without an answer after this long is abandoned; its references are asked
    /// from the next peer.
    pub retry_ms: u64,
    /// Requests outstanding at once (all peers together).
    pub max_inflight_requests: usize,
    /// References per request.
    pub max_refs_per_request: usize,
    /// Re-broadcast the own last block when no own block was sent for this long (recovers
    /// blocks lost in transit when nobody has anything newer to reference them with).
    pub rebroadcast_ms: u64,
}

impl Default for SyncConfig {
    /// 400 ms retry, 8 requests in flight, 128 references each, re-broadcast after 1 s.
    fn default() -> Self {
        Self {
            retry_ms: 400,
            max_inflight_requests: 8,
            max_refs_per_request: 128,
            rebroadcast_ms: 1_000,
        }
    }
}

#[derive(Debug)]
struct Wanted {
    /// Peer asked first (the sender of the message that revealed the reference).
    preferred: AuthorityIndex,
    /// Requests sent so far for this reference.
    attempts: u32,
    /// Covered by an outstanding request until this time.
    busy_until: u64,
}

#[derive(Debug)]
struct Inflight {
    deadline_ms: u64,
    refs: Vec<BlockRef>,
}

/// One request to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    /// Peer to ask.
    pub peer: AuthorityIndex,
    /// References to ask for.
    pub refs: Vec<BlockRef>,
}

/// Tracks missing references and outstanding requests.
#[derive(Debug)]
pub struct BlockSynchronizer {
    own: AuthorityIndex,
    committee_size: u32,
    config: SyncConfig,
    wanted: BTreeMap<BlockRef, Wanted>,
    inflight: Vec<Inflight>,
}

impl BlockSynchronizer {
    /// Synchronizer of authority `own` in a committee of `committee_size`.
    pub fn new(own: AuthorityIndex, committee_size: usize, config: SyncConfig) -> Self {
        Self {
            own,
            committee_size: u32::try_from(committee_size).unwrap_or(u32::MAX),
            config,
            wanted: BTreeMap::new(),
            inflight: Vec::new(),
        }
    }

    /// Replaces the set of missing references with `missing` (the core's current view).
    /// References new to the set are asked from `source` first, or from their author when
    /// there is no source (or the source is this node).
    pub fn set_missing(&mut self, missing: &BTreeSet<BlockRef>, source: Option<AuthorityIndex>) {
        self.wanted.retain(|r, _| missing.contains(r));
        for r in missing {
            self.wanted.entry(*r).or_insert_with(|| Wanted {
                preferred: source
                    .filter(|s| *s != self.own && *s < self.committee_size)
                    .unwrap_or(r.author),
                attempts: 0,
                busy_until: 0,
            });
        }
        let wanted = &self.wanted;
        self.inflight
            .retain(|req| req.refs.iter().any(|r| wanted.contains_key(r)));
    }

    /// Number of references currently missing.
    pub fn missing_count(&self) -> usize {
        self.wanted.len()
    }

    /// Number of outstanding requests.
    pub fn inflight_count(&self) -> usize {
        self.inflight.len()
    }

    /// Requests to send now: expired requests are dropped and their references re-assigned to
    /// the next peer; new references go to their preferred peer first.
    pub fn poll(&mut self, now_ms: u64) -> Vec<FetchRequest> {
        self.inflight.retain(|req| req.deadline_ms > now_ms);
        let mut capacity = self
            .config
            .max_inflight_requests
            .saturating_sub(self.inflight.len());
        if capacity == 0 {
            return Vec::new();
        }
        let mut by_peer: BTreeMap<AuthorityIndex, Vec<BlockRef>> = BTreeMap::new();
        for (r, w) in &self.wanted {
            if w.busy_until > now_ms {
                continue;
            }
            if let Some(peer) = self.peer_for(w) {
                by_peer.entry(peer).or_default().push(*r);
            }
        }
        let deadline_ms = now_ms.saturating_add(self.config.retry_ms.max(1));
        let chunk = self.config.max_refs_per_request.max(1);
        let mut out = Vec::new();
        'peers: for (peer, refs) in by_peer {
            for part in refs.chunks(chunk) {
                if capacity == 0 {
                    break 'peers;
                }
                capacity -= 1;
                for r in part {
                    if let Some(w) = self.wanted.get_mut(r) {
                        w.attempts = w.attempts.saturating_add(1);
                        w.busy_until = deadline_ms;
                    }
                }
                self.inflight.push(Inflight {
                    deadline_ms,
                    refs: part.to_vec(),
                });
                out.push(FetchRequest {
                    peer,
                    refs: part.to_vec(),
                });
            }
        }
        out
    }

    /// Earliest time at which [`poll`](Self::poll) may have something new to send (`None` if
    /// nothing is missing).
    pub fn next_deadline_ms(&self) -> Option<u64> {
        if self.wanted.is_empty() || self.committee_size <= 1 {
            return None;
        }
        let earliest_ref = self.wanted.values().map(|w| w.busy_until).min();
        let earliest_request = self.inflight.iter().map(|r| r.deadline_ms).min();
        if self.inflight.len() >= self.config.max_inflight_requests {
            earliest_request
        } else {
            earliest_ref
        }
    }

    /// The peer for the next attempt: the preferred peer, then the others in index order
    /// starting after it; never this node.
    fn peer_for(&self, w: &Wanted) -> Option<AuthorityIndex> {
        let n = self.committee_size;
        let order: Vec<AuthorityIndex> = (0..n)
            .map(|k| (w.preferred.min(n.saturating_sub(1)) + k) % n)
            .filter(|p| *p != self.own)
            .collect();
        if order.is_empty() {
            return None;
        }
        Some(order[(w.attempts as usize) % order.len()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fastevm_consensus::BlockDigest;

    fn r(round: u32, author: u32) -> BlockRef {
        BlockRef::new(round, author, BlockDigest([round as u8; 32]))
    }

    fn config() -> SyncConfig {
        SyncConfig {
            retry_ms: 100,
            max_inflight_requests: 2,
            max_refs_per_request: 2,
            rebroadcast_ms: 1000,
        }
    }

    #[test]
    fn asks_source_first_then_rotates_on_timeout() {
        let mut s = BlockSynchronizer::new(0, 4, config());
        s.set_missing(&BTreeSet::from([r(5, 3)]), Some(2));
        let reqs = s.poll(0);
        assert_eq!(
            reqs,
            vec![FetchRequest {
                peer: 2,
                refs: vec![r(5, 3)]
            }]
        );
        assert!(s.poll(50).is_empty(), "still in flight");
        assert_eq!(s.next_deadline_ms(), Some(100));
        // Timed out: next peer after 2 is 3, then 1 (0 is self), then 2 again.
        let peers: Vec<u32> = [100, 200, 300].iter().map(|t| s.poll(*t)[0].peer).collect();
        assert_eq!(peers, vec![3, 1, 2]);
        // Resolved: nothing left.
        s.set_missing(&BTreeSet::new(), None);
        assert!(s.poll(1000).is_empty());
        assert_eq!(s.next_deadline_ms(), None);
        assert_eq!(s.inflight_count(), 0);
    }

    #[test]
    fn caps_inflight_requests_and_refs_per_request() {
        let mut s = BlockSynchronizer::new(0, 4, config());
        let missing: BTreeSet<BlockRef> = (1..=7).map(|k| r(k, 1)).collect();
        s.set_missing(&missing, Some(1));
        let reqs = s.poll(0);
        assert_eq!(reqs.len(), 2);
        assert!(reqs.iter().all(|q| q.refs.len() == 2 && q.peer == 1));
        assert_eq!(s.inflight_count(), 2);
        assert!(s.poll(10).is_empty());
        // Resolving the first request's refs frees a slot.
        let rest: BTreeSet<BlockRef> = missing.iter().skip(2).copied().collect();
        s.set_missing(&rest, None);
        assert_eq!(s.inflight_count(), 1);
        let reqs = s.poll(20);
        assert_eq!(reqs.len(), 1);
        assert_eq!(reqs[0].refs, vec![r(5, 1), r(6, 1)]);
    }

    #[test]
    fn source_self_or_unknown_falls_back_to_author() {
        let mut s = BlockSynchronizer::new(0, 4, config());
        s.set_missing(&BTreeSet::from([r(2, 3)]), Some(0));
        s.set_missing(&BTreeSet::from([r(2, 3), r(3, 2)]), Some(77));
        let reqs = s.poll(0);
        let peers: Vec<u32> = reqs.iter().map(|q| q.peer).collect();
        assert_eq!(peers, vec![2, 3]);
        assert_eq!(s.missing_count(), 2);
    }

    #[test]
    fn single_node_committee_never_requests() {
        let mut s = BlockSynchronizer::new(0, 1, config());
        s.set_missing(&BTreeSet::from([r(2, 0)]), None);
        assert!(s.poll(0).is_empty());
    }
}
