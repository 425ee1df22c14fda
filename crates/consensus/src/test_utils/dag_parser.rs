//! A tiny text format for test DAGs:
//!
//! ```text
//! Round 0 : { 4 },
//! Round 1 : { * },
//! Round 2 : { A -> [*], B -> [-D1], C -> [A1, B1, C1] },
//! ```
//!
//! `Round 0 : { n }` sets the committee size. `{ * }` is a fully connected layer. Otherwise each
//! listed authority produces one block whose ancestors are: its own previous block (always
//! first), then `*` = every previous-round block, `-X1` = all previous-round blocks but X1,
//! or explicit references `X1`. Authorities not listed produce nothing in that round.

use crate::test_utils::DagBuilder;
use crate::types::{AuthorityIndex, BlockRef, Round, Slot};

/// Parses the text into a built [`DagBuilder`].
pub fn parse_dag(text: &str) -> Result<DagBuilder, String> {
    let mut builder: Option<DagBuilder> = None;
    let mut rest = text;
    while let Some(pos) = rest.find("Round") {
        rest = &rest[pos + "Round".len()..];
        let colon = rest.find(':').ok_or("missing ':' after Round")?;
        let round: Round = rest[..colon]
            .trim()
            .parse()
            .map_err(|_| format!("bad round number {:?}", rest[..colon].trim()))?;
        rest = &rest[colon + 1..];
        let open = rest.find('{').ok_or("missing '{'")?;
        let close = rest.find('}').ok_or("missing '}'")?;
        if close < open {
            return Err("'}' before '{'".into());
        }
        let body = rest[open + 1..close].trim();
        rest = &rest[close + 1..];
        if round == 0 {
            let n: usize = body
                .parse()
                .map_err(|_| format!("round 0 must give the committee size, got {body:?}"))?;
            if n == 0 || n > 26 {
                return Err(format!("committee size {n} out of 1..=26"));
            }
            builder = Some(DagBuilder::new(n));
            continue;
        }
        let b = builder.as_mut().ok_or("Round 0 : { n } must come first")?;
        if body == "*" {
            b.layer(round).build();
            continue;
        }
        let previous: Vec<BlockRef> = first_per_author(b.refs_at_round(round - 1));
        for spec in split_top_level(body) {
            let (who, list) = spec
                .split_once("->")
                .ok_or_else(|| format!("expected 'X -> [...]' in {spec:?}"))?;
            let author = parse_authority(who.trim(), b.committee.size())?;
            let list = list.trim();
            let inner = list
                .strip_prefix('[')
                .and_then(|l| l.strip_suffix(']'))
                .ok_or_else(|| format!("expected [...] in {spec:?}"))?;
            let items: Vec<&str> = inner
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            let mut links: Vec<BlockRef> = Vec::new();
            let only_exclusions = !items.is_empty() && items.iter().all(|i| i.starts_with('-'));
            if only_exclusions || items.contains(&"*") {
                links = previous.clone();
            }
            for item in items {
                if item == "*" {
                    continue;
                }
                if let Some(excluded) = item.strip_prefix('-') {
                    let slot = parse_slot(excluded, b.committee.size())?;
                    links.retain(|r| r.slot() != slot);
                } else {
                    let slot = parse_slot(item, b.committee.size())?;
                    let r = b
                        .blocks_at_slot(slot)
                        .first()
                        .map(|x| x.reference())
                        .ok_or_else(|| format!("unknown block {item}"))?;
                    if !links.contains(&r) {
                        links.push(r);
                    }
                }
            }
            let own = b.own_last(author);
            let mut ancestors = vec![own];
            ancestors.extend(links.into_iter().filter(|r| r.author != author));
            b.add_block(round, author, ancestors);
        }
        let layer = b.refs_at_round(round);
        b.set_last_layer(layer);
    }
    builder.ok_or_else(|| "empty DAG description".into())
}

fn first_per_author(refs: Vec<BlockRef>) -> Vec<BlockRef> {
    let mut out: Vec<BlockRef> = Vec::new();
    for r in refs {
        if !out.iter().any(|x| x.author == r.author) {
            out.push(r);
        }
    }
    out
}

fn split_top_level(body: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, ch) in body.char_indices() {
        match ch {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(body[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(body[start..].trim());
    parts.into_iter().filter(|p| !p.is_empty()).collect()
}

fn parse_authority(s: &str, n: usize) -> Result<AuthorityIndex, String> {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c @ 'A'..='Z'), None) if ((c as u8 - b'A') as usize) < n => {
            Ok((c as u8 - b'A') as AuthorityIndex)
        }
        _ => Err(format!("bad authority {s:?}")),
    }
}

fn parse_slot(s: &str, n: usize) -> Result<Slot, String> {
    let (a, r) = s.split_at(s.char_indices().nth(1).map_or(s.len(), |(i, _)| i));
    let authority = parse_authority(a, n)?;
    let round = r.parse().map_err(|_| format!("bad slot {s:?}"))?;
    Ok(Slot::new(round, authority))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::committer::{UniversalCommitter, UniversalCommitterOptions};
    use crate::dag_state::DagState;

    #[test]
    fn fully_connected_text_equals_builder() {
        let parsed = parse_dag("Round 0 : { 4 }, Round 1 : { * }, Round 2 : { * }").unwrap();
        let mut built = DagBuilder::new(4);
        built.layers(1..=2).build();
        assert_eq!(
            parsed.blocks.keys().collect::<Vec<_>>(),
            built.blocks.keys().collect::<Vec<_>>()
        );
    }

    #[test]
    fn explicit_and_excluded_links() {
        let b = parse_dag(
            "Round 0 : { 4 },
             Round 1 : { * },
             Round 2 : { A -> [-D1], B -> [A1, C1], C -> [*] }",
        )
        .unwrap();
        let a2 = b.block(2, 0);
        assert_eq!(a2.ancestors()[0], b.block(1, 0).reference());
        assert!(!a2.ancestors().iter().any(|r| r.slot() == Slot::new(1, 3)));
        assert_eq!(a2.ancestors().len(), 3);
        let b2 = b.block(2, 1);
        let authors: Vec<_> = b2.ancestors().iter().map(|r| r.author).collect();
        assert_eq!(authors, vec![1, 0, 2]);
        assert_eq!(b.block(2, 2).ancestors().len(), 4);
        assert!(b.blocks_at_slot(Slot::new(2, 3)).is_empty());
    }

    #[test]
    fn rejects_malformed_text() {
        for bad in [
            "",
            "Round 1 : { * }",
            "Round 0 : { x }",
            "Round 0 : { 4 }, Round 1 : { E -> [*] }",
            "Round 0 : { 4 }, Round 1 : { A -> * }",
            "Round 0 : { 4 }, Round 1 : { A -> [Q1] }",
            "Round 0 : { 4 }, Round 1 : { A -> [B7] }",
            "Round 0 : { 4 }, Round x : { * }",
        ] {
            assert!(parse_dag(bad).is_err(), "{bad:?}");
        }
    }

    /// Sui's declarative indirect commit: D3's votes are 2f+1 but certificates only f+1.
    #[test]
    fn declarative_indirect_commit() {
        let mut b = parse_dag(
            "Round 0 : { 4 },
             Round 1 : { * },
             Round 2 : { * },
             Round 3 : { * },
             Round 4 : { A -> [*], B -> [*], C -> [-D3], D -> [*] },
             Round 5 : { A -> [*], B -> [*], C -> [-B4], D -> [-B4] },
             Round 6 : { * }",
        )
        .unwrap();
        let u = UniversalCommitter::new(b.schedule.clone(), UniversalCommitterOptions::default());
        let decide = |b: &DagBuilder| {
            let mut dag = DagState::new(b.committee.clone(), 0);
            b.persist(&mut dag);
            u.try_decide(&dag, Slot::default()).unwrap()
        };
        assert_eq!(decide(&b).len(), 2, "round 3 undecided without an anchor");
        b.layers(7..=8).build();
        let d = decide(&b);
        assert_eq!(d.len(), 6);
        assert_eq!(d[2].committed(), Some(&b.block(3, 3)));
    }
}
