//! Wire messages between validators and their deterministic encoding.
//!
//! Layout (all integers little-endian, as in the consensus crate's block encoding):
//!
//! ```text
//! message  = version:u8 (=1) ‖ tag:u8 ‖ body
//! Block    (tag 0) body = SignedBlock::to_bytes()
//! Request  (tag 1) body = n:u32 ‖ n × ref ‖ m:u32 ‖ m × highest_accepted_round:u32
//! Blocks   (tag 2) body = n:u32 ‖ n × (len:u32 ‖ SignedBlock::to_bytes())
//! RequestOwnLastBlock (tag 3) body = empty
//! OwnLastBlock        (tag 4) body = n:u32 (0 or 1) ‖ n × (len:u32 ‖ SignedBlock::to_bytes())
//! ExecutedVote        (tag 5) body = author:u32 ‖ height:u64 ‖ block_hash:[u8; 32] ‖ sig:[u8; 64]
//! RequestCommits      (tag 6) body = start:u64 ‖ end:u64
//! Commits             (tag 7) body = n:u32 ‖ n × (len:u32 ‖ Commit::to_bytes())
//!                                    ‖ m:u32 ‖ m × (len:u32 ‖ SignedBlock::to_bytes())   (blocks)
//!                                    ‖ k:u32 ‖ k × (len:u32 ‖ SignedBlock::to_bytes())   (certifiers)
//! ref      = round:u32 ‖ author:u32 ‖ digest:[u8; 32]
//! ```
//!
//! Encoding is a pure function of the value, so equal messages have equal bytes (the simulator's
//! trace digest relies on that). Decoding checks the size limit first, every count against
//! [`MessageLimits`] and against the bytes actually present, and rejects trailing bytes; it never
//! panics and never allocates more than the input justifies. Blocks inside are only decoded here:
//! signatures and structure are checked by the consensus verifier afterwards.

use fastevm_consensus::encoding::{Decoder, Encoder};
use fastevm_consensus::{
    BlockDigest, BlockRef, Commit, CommitIndex, ConsensusError, Round, SignedBlock,
};

use crate::error::{NodeError, NodeResult};
use crate::executed_votes::ExecutedVote;

/// Current wire format version.
pub const WIRE_VERSION: u8 = 1;

const TAG_BLOCK: u8 = 0;
const TAG_REQUEST: u8 = 1;
const TAG_BLOCKS: u8 = 2;
const TAG_REQUEST_OWN_LAST: u8 = 3;
const TAG_OWN_LAST: u8 = 4;
const TAG_EXECUTED_VOTE: u8 = 5;
const TAG_REQUEST_COMMITS: u8 = 6;
const TAG_COMMITS: u8 = 7;
/// Encoded size of a [`BlockRef`].
const REF_BYTES: usize = 40;

/// Size limits applied when decoding (and when building responses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageLimits {
    /// Largest encoded message accepted.
    pub max_message_bytes: usize,
    /// Most references one request may ask for.
    pub max_requested_refs: usize,
    /// Most blocks one response may carry.
    pub max_response_blocks: usize,
    /// Most per-authority rounds a request may carry (≥ committee size); also the most
    /// certifying blocks a commit response may carry.
    pub max_authorities: usize,
    /// Most commits one commit-sync response may carry.
    pub max_response_commits: usize,
}

impl Default for MessageLimits {
    /// 8 MiB messages, 256 references per request, 512 blocks per response, 1024 authorities,
    /// 100 commits per commit-sync response.
    fn default() -> Self {
        Self {
            max_message_bytes: 8 << 20,
            max_requested_refs: 256,
            max_response_blocks: 512,
            max_authorities: 1024,
            max_response_commits: 100,
        }
    }
}

/// What validators send each other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsensusMessage {
    /// A block pushed by its author (new proposal or re-broadcast).
    Block(SignedBlock),
    /// Ask a peer for blocks by reference. `highest_accepted[a]` is the requester's highest
    /// accepted round of authority `a`; the peer may add ancestors above those rounds.
    RequestBlocks {
        /// The blocks wanted.
        refs: Vec<BlockRef>,
        /// Requester's highest accepted round per authority (index = authority).
        highest_accepted: Vec<Round>,
    },
    /// Answer to a request: blocks ordered by reference (parents before children).
    Blocks(Vec<SignedBlock>),
    /// Amnesia recovery: "what is the latest block you hold from me?"
    RequestOwnLastBlock,
    /// Answer to [`ConsensusMessage::RequestOwnLastBlock`]: the requester's latest block the
    /// peer holds, if any (signed, so a peer cannot make up a round).
    OwnLastBlock(Option<SignedBlock>),
    /// A validator's signed executed result (see [`crate::executed_votes`]).
    ExecutedVote(ExecutedVote),
    /// Commit sync: "send me commits `start..=end`".
    RequestCommits {
        /// First commit wanted.
        start: CommitIndex,
        /// Last commit wanted.
        end: CommitIndex,
    },
    /// Answer to [`ConsensusMessage::RequestCommits`]: a prefix of the range the responder can
    /// certify, as many of their blocks as fit (the rest are fetched by reference), and blocks
    /// from a quorum of authors voting for the last commit (see
    /// [`fastevm_consensus::commit_certifier`]). Empty when it has nothing certified there.
    Commits {
        /// Consecutive commits from the requested start.
        commits: Vec<Commit>,
        /// Blocks those commits name (possibly not all of them).
        blocks: Vec<SignedBlock>,
        /// Blocks voting for the last commit.
        certifiers: Vec<SignedBlock>,
    },
}

impl ConsensusMessage {
    /// Short kind name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            ConsensusMessage::Block(_) => "block",
            ConsensusMessage::RequestBlocks { .. } => "request_blocks",
            ConsensusMessage::Blocks(_) => "blocks",
            ConsensusMessage::RequestOwnLastBlock => "request_own_last_block",
            ConsensusMessage::OwnLastBlock(_) => "own_last_block",
            ConsensusMessage::ExecutedVote(_) => "executed_vote",
            ConsensusMessage::RequestCommits { .. } => "request_commits",
            ConsensusMessage::Commits { .. } => "commits",
        }
    }

    /// Deterministic encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        e.fixed(&[WIRE_VERSION]);
        match self {
            ConsensusMessage::Block(block) => {
                e.fixed(&[TAG_BLOCK]).fixed(&block.to_bytes());
            }
            ConsensusMessage::RequestBlocks {
                refs,
                highest_accepted,
            } => {
                e.fixed(&[TAG_REQUEST]).u32(len_u32(refs.len()));
                for r in refs {
                    encode_ref(&mut e, r);
                }
                e.u32(len_u32(highest_accepted.len()));
                for round in highest_accepted {
                    e.u32(*round);
                }
            }
            ConsensusMessage::Blocks(blocks) => {
                e.fixed(&[TAG_BLOCKS]).u32(len_u32(blocks.len()));
                for b in blocks {
                    e.bytes(&b.to_bytes());
                }
            }
            ConsensusMessage::RequestOwnLastBlock => {
                e.fixed(&[TAG_REQUEST_OWN_LAST]);
            }
            ConsensusMessage::OwnLastBlock(block) => {
                e.fixed(&[TAG_OWN_LAST]).u32(u32::from(block.is_some()));
                if let Some(b) = block {
                    e.bytes(&b.to_bytes());
                }
            }
            ConsensusMessage::ExecutedVote(vote) => {
                e.fixed(&[TAG_EXECUTED_VOTE])
                    .u32(vote.author)
                    .u64(vote.height)
                    .fixed(&vote.block_hash)
                    .fixed(&vote.signature);
            }
            ConsensusMessage::RequestCommits { start, end } => {
                e.fixed(&[TAG_REQUEST_COMMITS]).u64(*start).u64(*end);
            }
            ConsensusMessage::Commits {
                commits,
                blocks,
                certifiers,
            } => {
                e.fixed(&[TAG_COMMITS]).u32(len_u32(commits.len()));
                for c in commits {
                    e.bytes(&c.to_bytes());
                }
                for list in [blocks, certifiers] {
                    e.u32(len_u32(list.len()));
                    for b in list {
                        e.bytes(&b.to_bytes());
                    }
                }
            }
        }
        e.finish()
    }

    /// Decodes [`ConsensusMessage::encode`] output, enforcing `limits`.
    pub fn decode(bytes: &[u8], limits: &MessageLimits) -> NodeResult<Self> {
        if bytes.len() > limits.max_message_bytes {
            return Err(NodeError::MessageTooLarge {
                len: bytes.len(),
                max: limits.max_message_bytes,
            });
        }
        let (&version, rest) = bytes.split_first().ok_or(NodeError::EmptyMessage)?;
        if version != WIRE_VERSION {
            return Err(NodeError::UnsupportedMessageVersion(version));
        }
        let (&tag, body) = rest
            .split_first()
            .ok_or_else(|| NodeError::MalformedMessage("missing tag".into()))?;
        match tag {
            TAG_BLOCK => Ok(ConsensusMessage::Block(
                SignedBlock::from_bytes(body).map_err(malformed)?,
            )),
            TAG_REQUEST => decode_request(body, limits),
            TAG_BLOCKS => decode_blocks(body, limits),
            TAG_REQUEST_OWN_LAST if body.is_empty() => Ok(ConsensusMessage::RequestOwnLastBlock),
            TAG_REQUEST_OWN_LAST => Err(NodeError::MalformedMessage(
                "trailing bytes after an own-last-block request".into(),
            )),
            TAG_OWN_LAST => decode_own_last(body),
            TAG_EXECUTED_VOTE => decode_executed_vote(body),
            TAG_REQUEST_COMMITS => {
                let mut d = Decoder::new(body);
                let start = d.u64().map_err(malformed)?;
                let end = d.u64().map_err(malformed)?;
                d.finish().map_err(malformed)?;
                Ok(ConsensusMessage::RequestCommits { start, end })
            }
            TAG_COMMITS => decode_commits(body, limits),
            other => Err(NodeError::UnknownMessageTag(other)),
        }
    }
}

fn decode_request(body: &[u8], limits: &MessageLimits) -> NodeResult<ConsensusMessage> {
    let mut d = Decoder::new(body);
    let n = bounded_count(
        &mut d,
        REF_BYTES,
        "requested refs",
        limits.max_requested_refs,
    )?;
    let mut refs = Vec::with_capacity(n);
    for _ in 0..n {
        refs.push(decode_ref(&mut d)?);
    }
    let m = bounded_count(&mut d, 4, "highest accepted rounds", limits.max_authorities)?;
    let mut highest_accepted = Vec::with_capacity(m);
    for _ in 0..m {
        highest_accepted.push(d.u32().map_err(malformed)?);
    }
    d.finish().map_err(malformed)?;
    Ok(ConsensusMessage::RequestBlocks {
        refs,
        highest_accepted,
    })
}

fn decode_blocks(body: &[u8], limits: &MessageLimits) -> NodeResult<ConsensusMessage> {
    let mut d = Decoder::new(body);
    let n = bounded_count(&mut d, 4, "response blocks", limits.max_response_blocks)?;
    let mut blocks = Vec::with_capacity(n);
    for _ in 0..n {
        let raw = d.bytes().map_err(malformed)?;
        blocks.push(SignedBlock::from_bytes(raw).map_err(malformed)?);
    }
    d.finish().map_err(malformed)?;
    Ok(ConsensusMessage::Blocks(blocks))
}

fn decode_commits(body: &[u8], limits: &MessageLimits) -> NodeResult<ConsensusMessage> {
    let mut d = Decoder::new(body);
    let n = bounded_count(&mut d, 4, "response commits", limits.max_response_commits)?;
    let mut commits = Vec::with_capacity(n);
    for _ in 0..n {
        commits.push(Commit::from_bytes(d.bytes().map_err(malformed)?).map_err(malformed)?);
    }
    let mut lists = Vec::with_capacity(2);
    for (what, max) in [
        ("response blocks", limits.max_response_blocks),
        ("certifying blocks", limits.max_authorities),
    ] {
        let m = bounded_count(&mut d, 4, what, max)?;
        let mut blocks = Vec::with_capacity(m);
        for _ in 0..m {
            blocks.push(SignedBlock::from_bytes(d.bytes().map_err(malformed)?).map_err(malformed)?);
        }
        lists.push(blocks);
    }
    d.finish().map_err(malformed)?;
    let certifiers = lists.pop().unwrap_or_default();
    let blocks = lists.pop().unwrap_or_default();
    Ok(ConsensusMessage::Commits {
        commits,
        blocks,
        certifiers,
    })
}

fn decode_executed_vote(body: &[u8]) -> NodeResult<ConsensusMessage> {
    let mut d = Decoder::new(body);
    let author = d.u32().map_err(malformed)?;
    let height = d.u64().map_err(malformed)?;
    let mut block_hash = [0u8; 32];
    block_hash.copy_from_slice(d.fixed(32).map_err(malformed)?);
    let mut signature = [0u8; 64];
    signature.copy_from_slice(d.fixed(64).map_err(malformed)?);
    d.finish().map_err(malformed)?;
    Ok(ConsensusMessage::ExecutedVote(ExecutedVote {
        author,
        height,
        block_hash,
        signature,
    }))
}

fn decode_own_last(body: &[u8]) -> NodeResult<ConsensusMessage> {
    let mut d = Decoder::new(body);
    let n = bounded_count(&mut d, 4, "own last blocks", 1)?;
    let block = match n {
        0 => None,
        _ => Some(SignedBlock::from_bytes(d.bytes().map_err(malformed)?).map_err(malformed)?),
    };
    d.finish().map_err(malformed)?;
    Ok(ConsensusMessage::OwnLastBlock(block))
}

/// Reads a count, checking it against `max` and against the remaining input.
fn bounded_count(
    d: &mut Decoder<'_>,
    min_item_size: usize,
    what: &'static str,
    max: usize,
) -> NodeResult<usize> {
    let count = d.count(min_item_size).map_err(malformed)?;
    if count > max {
        return Err(NodeError::TooManyItems { what, count, max });
    }
    Ok(count)
}

fn malformed(e: ConsensusError) -> NodeError {
    match e {
        ConsensusError::Decode(reason) => NodeError::MalformedMessage(reason),
        other => NodeError::MalformedMessage(other.to_string()),
    }
}

fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

fn encode_ref(e: &mut Encoder, r: &BlockRef) {
    e.u32(r.round).u32(r.author).fixed(&r.digest.0);
}

fn decode_ref(d: &mut Decoder<'_>) -> NodeResult<BlockRef> {
    let round = d.u32().map_err(malformed)?;
    let author = d.u32().map_err(malformed)?;
    let mut digest = [0u8; 32];
    digest.copy_from_slice(d.fixed(32).map_err(malformed)?);
    Ok(BlockRef::new(round, author, BlockDigest(digest)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fastevm_consensus::{Block, Committee, Transaction, VerifiedBlock};

    fn sample_block() -> SignedBlock {
        let (committee, keys) = Committee::new_for_test(4, 1);
        let ancestors = VerifiedBlock::genesis(&committee)
            .iter()
            .map(|g| g.reference())
            .collect();
        SignedBlock::sign(
            Block {
                epoch: 0,
                round: 1,
                author: 0,
                timestamp_ms: 5,
                ancestors,
                transactions: vec![Transaction(vec![1, 2, 3])],
                commit_votes: vec![],
            },
            &keys[0],
        )
    }

    fn samples() -> Vec<ConsensusMessage> {
        let b = sample_block();
        vec![
            ConsensusMessage::Block(b.clone()),
            ConsensusMessage::RequestBlocks {
                refs: vec![b.reference(), BlockRef::new(9, 3, BlockDigest([7; 32]))],
                highest_accepted: vec![1, 2, 3, 4],
            },
            ConsensusMessage::RequestBlocks {
                refs: vec![],
                highest_accepted: vec![],
            },
            ConsensusMessage::Blocks(vec![b.clone(), b.clone()]),
            ConsensusMessage::Blocks(vec![]),
            ConsensusMessage::RequestOwnLastBlock,
            ConsensusMessage::OwnLastBlock(Some(b.clone())),
            ConsensusMessage::OwnLastBlock(None),
            ConsensusMessage::ExecutedVote(ExecutedVote {
                author: 3,
                height: 1 << 40,
                block_hash: [5; 32],
                signature: [6; 64],
            }),
            ConsensusMessage::RequestCommits { start: 7, end: 106 },
            ConsensusMessage::Commits {
                commits: vec![sample_commit(7), sample_commit(8)],
                blocks: vec![b.clone()],
                certifiers: vec![b.clone(), b],
            },
            ConsensusMessage::Commits {
                commits: vec![],
                blocks: vec![],
                certifiers: vec![],
            },
        ]
    }

    fn sample_commit(index: u64) -> Commit {
        let leader = BlockRef::new(3, 1, BlockDigest([index as u8; 32]));
        Commit {
            index,
            previous_digest: Default::default(),
            timestamp_ms: 99,
            leader,
            blocks: vec![BlockRef::new(2, 0, BlockDigest([1; 32])), leader],
        }
    }

    #[test]
    fn round_trip_is_exact_and_deterministic() {
        let limits = MessageLimits::default();
        for m in samples() {
            let bytes = m.encode();
            assert_eq!(bytes, m.clone().encode());
            assert_eq!(ConsensusMessage::decode(&bytes, &limits).unwrap(), m);
        }
    }

    #[test]
    fn truncated_or_extended_input_is_rejected() {
        let limits = MessageLimits::default();
        for m in samples() {
            let bytes = m.encode();
            for cut in 0..bytes.len() {
                assert!(
                    ConsensusMessage::decode(&bytes[..cut], &limits).is_err(),
                    "{} cut at {cut}",
                    m.kind()
                );
            }
            let mut long = bytes.clone();
            long.push(0);
            assert!(matches!(
                ConsensusMessage::decode(&long, &limits),
                Err(NodeError::MalformedMessage(_))
            ));
        }
    }

    #[test]
    fn typed_errors_for_bad_headers_and_limits() {
        let limits = MessageLimits {
            max_message_bytes: 300,
            max_requested_refs: 1,
            max_response_blocks: 1,
            max_authorities: 4,
            max_response_commits: 1,
        };
        assert!(matches!(
            ConsensusMessage::decode(&[], &limits),
            Err(NodeError::EmptyMessage)
        ));
        assert!(matches!(
            ConsensusMessage::decode(&[9, 0], &limits),
            Err(NodeError::UnsupportedMessageVersion(9))
        ));
        assert!(matches!(
            ConsensusMessage::decode(&[WIRE_VERSION, 8], &limits),
            Err(NodeError::UnknownMessageTag(8))
        ));
        assert!(matches!(
            ConsensusMessage::decode(&vec![WIRE_VERSION; 301], &limits),
            Err(NodeError::MessageTooLarge { len: 301, max: 300 })
        ));
        let s = samples();
        assert!(matches!(
            ConsensusMessage::decode(&s[1].encode(), &limits),
            Err(NodeError::TooManyItems {
                what: "requested refs",
                count: 2,
                max: 1
            })
        ));
        let many_rounds = ConsensusMessage::RequestBlocks {
            refs: vec![],
            highest_accepted: vec![0; 5],
        };
        assert!(matches!(
            ConsensusMessage::decode(&many_rounds.encode(), &limits),
            Err(NodeError::TooManyItems { count: 5, .. })
        ));
        // Two blocks do not fit the 300-byte limit here; use a larger size limit.
        let big = MessageLimits {
            max_message_bytes: 1 << 20,
            ..limits
        };
        assert!(matches!(
            ConsensusMessage::decode(&s[3].encode(), &big),
            Err(NodeError::TooManyItems { count: 2, .. })
        ));
        let commits_at = s
            .iter()
            .position(|m| matches!(m, ConsensusMessage::Commits { .. }))
            .unwrap();
        assert!(matches!(
            ConsensusMessage::decode(&s[commits_at].encode(), &big),
            Err(NodeError::TooManyItems {
                what: "response commits",
                count: 2,
                max: 1
            })
        ));
        // A huge claimed count is rejected without allocating.
        let mut huge = vec![WIRE_VERSION, TAG_BLOCKS];
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            ConsensusMessage::decode(&huge, &big),
            Err(NodeError::MalformedMessage(_))
        ));
    }

    #[test]
    fn random_garbage_never_panics() {
        let limits = MessageLimits::default();
        let mut x: u64 = 0x2545f4914f6cdd1d;
        for len in 0..400usize {
            let mut buf: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            if len > 1 {
                buf[0] = WIRE_VERSION;
                buf[1] = (len % 3) as u8;
            }
            let _ = ConsensusMessage::decode(&buf, &limits);
        }
        // Still decodes valid input afterwards (nothing stateful).
        let m = &samples()[0];
        assert_eq!(&ConsensusMessage::decode(&m.encode(), &limits).unwrap(), m);
    }
}
