//! Word diffs of text, for reviewing contributions and comparing versions.

use serde::Serialize;
use similar::{ChangeTag, TextDiff};

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
    let diff = TextDiff::from_words(old, new);
    join(diff.iter_all_changes().map(|c| (c.tag(), c.value())))
}

/// The line-level diff from `old` to `new`.
pub fn lines(old: &str, new: &str) -> Vec<Part> {
    let diff = TextDiff::from_lines(old, new);
    join(diff.iter_all_changes().map(|c| (c.tag(), c.value())))
}

fn join<'a>(changes: impl Iterator<Item = (ChangeTag, &'a str)>) -> Vec<Part> {
    let mut out: Vec<Part> = Vec::new();
    for (tag, text) in changes {
        match (out.last_mut(), tag) {
            (Some(Part::Equal(s)), ChangeTag::Equal)
            | (Some(Part::Delete(s)), ChangeTag::Delete)
            | (Some(Part::Insert(s)), ChangeTag::Insert) => s.push_str(text),
            (_, ChangeTag::Equal) => out.push(Part::Equal(text.to_owned())),
            (_, ChangeTag::Delete) => out.push(Part::Delete(text.to_owned())),
            (_, ChangeTag::Insert) => out.push(Part::Insert(text.to_owned())),
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
    let diff = TextDiff::from_chars(old, new);
    let mut out: Vec<(usize, usize)> = Vec::new();
    let mut at = 0;
    for change in diff.iter_all_changes() {
        let len = change.value().len();
        match change.tag() {
            ChangeTag::Equal => at += len,
            ChangeTag::Delete => {
                match out.last_mut() {
                    Some((_, end)) if *end == at => *end = at + len,
                    _ => out.push((at, at + len)),
                }
                at += len;
            }
            ChangeTag::Insert => match out.last() {
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
