//! Word diffs of text, for reviewing contributions and comparing versions
//! (computed by [`crate::myers`]).

use serde::Serialize;

use crate::myers::{self, Tag};

/// One run of a diff: text both sides share, or text only one side has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "op", content = "text")]
pub enum Part {
    Equal(String),
    Delete(String),
    Insert(String),
}

/// The word-level diff from `old` to `new`, with adjacent runs of the same
/// kind joined (whitespace belongs to the words around it).
pub fn words(old: &str, new: &str) -> Vec<Part> {
    parts(&myers::words(old), &myers::words(new))
}

/// The line-level diff from `old` to `new`.
pub fn lines(old: &str, new: &str) -> Vec<Part> {
    parts(&myers::lines(old), &myers::lines(new))
}

fn parts(old: &[&str], new: &[&str]) -> Vec<Part> {
    let mut out: Vec<Part> = Vec::new();
    for (tag, range) in myers::diff(old, new) {
        let tokens = if tag == Tag::Insert { new } else { old };
        let text = &tokens[range];
        match (out.last_mut(), tag) {
            (Some(Part::Equal(s)), Tag::Equal)
            | (Some(Part::Delete(s)), Tag::Delete)
            | (Some(Part::Insert(s)), Tag::Insert) => s.extend(text.iter().copied()),
            (_, Tag::Equal) => out.push(Part::Equal(text.concat())),
            (_, Tag::Delete) => out.push(Part::Delete(text.concat())),
            (_, Tag::Insert) => out.push(Part::Insert(text.concat())),
        }
    }
    out
}

/// Whether a diff changes anything.
pub fn changes(parts: &[Part]) -> bool {
    parts.iter().any(|p| !matches!(p, Part::Equal(_)))
}

/// The ranges of `old` (byte offsets) that a diff to `new` replaces or
/// deletes; an insertion is an empty range at the place it goes.
pub fn touched(old: &str, new: &str) -> Vec<(usize, usize)> {
    let old = myers::chars(old);
    let mut out: Vec<(usize, usize)> = Vec::new();
    let mut at = 0;
    for (tag, range) in myers::diff(&old, &myers::chars(new)) {
        match tag {
            Tag::Equal => at += old[range].iter().map(|c| c.len()).sum::<usize>(),
            Tag::Delete => {
                let len: usize = old[range].iter().map(|c| c.len()).sum();
                match out.last_mut() {
                    Some((_, end)) if *end == at => *end = at + len,
                    _ => out.push((at, at + len)),
                }
                at += len;
            }
            Tag::Insert => match out.last() {
                Some((_, end)) if *end == at => {}
                _ => out.push((at, at)),
            },
        }
    }
    out
}

/// Whether two sets of touched ranges (from [`touched`], over the same old
/// text) overlap or meet: edits there would interleave.
pub fn overlap(a: &[(usize, usize)], b: &[(usize, usize)]) -> bool {
    a.iter()
        .any(|&(s1, e1)| b.iter().any(|&(s2, e2)| s1 <= e2 && s2 <= e1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_diff_joins_runs() {
        let parts = words(
            "Regionerna behöver samarbeta mer",
            "Regionerna måste samarbeta mer",
        );
        assert_eq!(
            parts,
            vec![
                Part::Equal("Regionerna ".into()),
                Part::Delete("behöver".into()),
                Part::Insert("måste".into()),
                Part::Equal(" samarbeta mer".into()),
            ]
        );
        assert!(changes(&parts));
        assert!(!changes(&words("samma 😀", "samma 😀")));
    }

    #[test]
    fn touched_ranges_overlap_only_where_edits_meet() {
        let base = "one two three four";
        let a = touched(base, "one TWO three four");
        let b = touched(base, "one two three FOUR");
        let c = touched(base, "one tw0 three four");
        assert!(!overlap(&a, &b));
        assert!(overlap(&a, &c));
        let insert = touched(base, "one two three four five");
        assert_eq!(insert, vec![(18, 18)]);
    }
}
