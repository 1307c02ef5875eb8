//! Myers' diff of token sequences, as the `similar` crate (2.7) computes it
//! for `TextDiff::from_words`, `from_lines` and `from_chars`: the same
//! middle-snake divide and conquer, the same clean-up that slides
//! insertions and deletions along equal runs, and the same grouping of a
//! stretch's deletions before its insertions, so [`crate::diff`] gives the
//! same runs as it did with `similar` (a test compares them).
//!
//! Why not `similar` itself: it is generic over token types and its hooks,
//! and compiles its Patience and LCS algorithms in too; in the web client
//! that was some 50 KB of wasm before optimisation. This is one copy for
//! `&[&str]`.

use std::ops::Range;

/// What a run of tokens is in the diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    Equal,
    Delete,
    Insert,
}

/// The text split into runs of whitespace and of everything else.
pub fn words(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut space = None;
    for (i, c) in text.char_indices() {
        let is = c.is_whitespace();
        if space.is_some_and(|s| s != is) {
            out.push(&text[start..i]);
            start = i;
        }
        space = Some(is);
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// The text split into lines, each with its line ending (`\n`, `\r\n` or
/// `\r`).
pub fn lines(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let end = match bytes[i] {
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => i + 2,
            b'\r' | b'\n' => i + 1,
            _ => {
                i += 1;
                continue;
            }
        };
        out.push(&text[start..end]);
        start = end;
        i = end;
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// The text split into characters.
pub fn chars(text: &str) -> Vec<&str> {
    text.char_indices()
        .map(|(i, c)| &text[i..i + c.len_utf8()])
        .collect()
}

/// The diff from `old` to `new` as runs: an `Equal` or `Delete` run is a
/// range of `old`, an `Insert` run a range of `new`. Between two equal
/// runs, the deleted tokens come before the inserted ones.
pub fn diff(old: &[&str], new: &[&str]) -> Vec<(Tag, Range<usize>)> {
    let max = max_d(old.len(), new.len());
    let mut search = Search {
        old,
        new,
        vf: V::new(max),
        vb: V::new(max),
        ops: Vec::new(),
    };
    search.conquer(0..old.len(), 0..new.len());
    let mut ops = search.ops;
    compact(old, new, &mut ops);
    group(&ops)
}

/// One operation of the script, as `similar::DiffOp`: an equal run has
/// `old_len == new_len`, a deletion `new_len == 0`, an insertion
/// `old_len == 0`.
#[derive(Debug, Clone, Copy)]
struct Op {
    tag: Tag,
    old: usize,
    new: usize,
    old_len: usize,
    new_len: usize,
}

impl Op {
    fn equal(old: usize, new: usize, len: usize) -> Op {
        Op {
            tag: Tag::Equal,
            old,
            new,
            old_len: len,
            new_len: len,
        }
    }
    fn old_range(&self) -> Range<usize> {
        self.old..self.old + self.old_len
    }
    fn new_range(&self) -> Range<usize> {
        self.new..self.new + self.new_len
    }
    fn is_empty(&self) -> bool {
        self.old_len == 0 && self.new_len == 0
    }
    /// `similar`'s `DiffOp::adjust`: the offsets move by `offset`, the
    /// length (both, for an equal run) by `len`; `true` subtracts.
    fn adjust(&mut self, offset: (usize, bool), len: (usize, bool)) {
        fn modify(value: &mut usize, (by, minus): (usize, bool)) {
            if minus {
                *value -= by;
            } else {
                *value += by;
            }
        }
        modify(&mut self.old, offset);
        modify(&mut self.new, offset);
        if self.tag != Tag::Insert {
            modify(&mut self.old_len, len);
        }
        if self.tag != Tag::Delete {
            modify(&mut self.new_len, len);
        }
    }
    fn shift_left(&mut self, by: usize) {
        self.adjust((by, true), (0, false));
    }
    fn shift_right(&mut self, by: usize) {
        self.adjust((by, false), (0, false));
    }
    fn grow_left(&mut self, by: usize) {
        self.adjust((by, true), (by, false));
    }
    fn grow_right(&mut self, by: usize) {
        self.adjust((0, false), (by, false));
    }
    fn shrink_left(&mut self, by: usize) {
        self.adjust((0, false), (by, true));
    }
    fn shrink_right(&mut self, by: usize) {
        self.adjust((by, false), (by, true));
    }
}

fn prefix_len(
    old: &[&str],
    old_range: Range<usize>,
    new: &[&str],
    new_range: Range<usize>,
) -> usize {
    new_range
        .zip(old_range)
        .take_while(|&(n, o)| new[n] == old[o])
        .count()
}

fn suffix_len(
    old: &[&str],
    old_range: Range<usize>,
    new: &[&str],
    new_range: Range<usize>,
) -> usize {
    new_range
        .rev()
        .zip(old_range.rev())
        .take_while(|&(n, o)| new[n] == old[o])
        .count()
}

fn max_d(len1: usize, len2: usize) -> usize {
    (len1 + len2).div_ceil(2) + 1
}

/// The furthest reaching x per diagonal `k` (which may be negative).
struct V {
    offset: isize,
    v: Vec<usize>,
}

impl V {
    fn new(max_d: usize) -> V {
        V {
            offset: max_d as isize,
            v: vec![0; 2 * max_d],
        }
    }
    fn at(&mut self, k: isize) -> &mut usize {
        &mut self.v[(k + self.offset) as usize]
    }
}

struct Search<'a, 'b> {
    old: &'b [&'a str],
    new: &'b [&'a str],
    vf: V,
    vb: V,
    ops: Vec<Op>,
}

impl Search<'_, '_> {
    fn conquer(&mut self, mut old_range: Range<usize>, mut new_range: Range<usize>) {
        let (old, new) = (self.old, self.new);
        let prefix = prefix_len(old, old_range.clone(), new, new_range.clone());
        if prefix > 0 {
            self.ops
                .push(Op::equal(old_range.start, new_range.start, prefix));
        }
        old_range.start += prefix;
        new_range.start += prefix;
        let suffix = suffix_len(old, old_range.clone(), new, new_range.clone());
        let suffix_at = (old_range.end - suffix, new_range.end - suffix);
        old_range.end -= suffix;
        new_range.end -= suffix;

        if old_range.is_empty() && new_range.is_empty() {
        } else if new_range.is_empty() {
            self.ops.push(Op {
                tag: Tag::Delete,
                old: old_range.start,
                new: new_range.start,
                old_len: old_range.len(),
                new_len: 0,
            });
        } else if old_range.is_empty() {
            self.ops.push(Op {
                tag: Tag::Insert,
                old: old_range.start,
                new: new_range.start,
                old_len: 0,
                new_len: new_range.len(),
            });
        } else {
            // Without a deadline the middle snake is always found.
            let (x, y) = self.middle_snake(old_range.clone(), new_range.clone());
            self.conquer(old_range.start..x, new_range.start..y);
            self.conquer(x..old_range.end, y..new_range.end);
        }
        if suffix > 0 {
            self.ops.push(Op::equal(suffix_at.0, suffix_at.1, suffix));
        }
    }

    fn middle_snake(&mut self, old_range: Range<usize>, new_range: Range<usize>) -> (usize, usize) {
        let (old, new) = (self.old, self.new);
        let n = old_range.len();
        let m = new_range.len();
        let delta = n as isize - m as isize;
        let odd = delta & 1 == 1;
        *self.vf.at(1) = 0;
        *self.vb.at(1) = 0;
        let d_max = max_d(n, m);
        for d in 0..d_max as isize {
            for k in (-d..=d).rev().step_by(2) {
                let mut x = if k == -d || (k != d && *self.vf.at(k - 1) < *self.vf.at(k + 1)) {
                    *self.vf.at(k + 1)
                } else {
                    *self.vf.at(k - 1) + 1
                };
                let y = (x as isize - k) as usize;
                let (x0, y0) = (x, y);
                if x < n && y < m {
                    x += prefix_len(
                        old,
                        old_range.start + x..old_range.end,
                        new,
                        new_range.start + y..new_range.end,
                    );
                }
                *self.vf.at(k) = x;
                if odd && (k - delta).abs() < d && x + *self.vb.at(-(k - delta)) >= n {
                    return (x0 + old_range.start, y0 + new_range.start);
                }
            }
            for k in (-d..=d).rev().step_by(2) {
                let mut x = if k == -d || (k != d && *self.vb.at(k - 1) < *self.vb.at(k + 1)) {
                    *self.vb.at(k + 1)
                } else {
                    *self.vb.at(k - 1) + 1
                };
                let mut y = (x as isize - k) as usize;
                if x < n && y < m {
                    let advance = suffix_len(
                        old,
                        old_range.start..old_range.start + n - x,
                        new,
                        new_range.start..new_range.start + m - y,
                    );
                    x += advance;
                    y += advance;
                }
                *self.vb.at(k) = x;
                if !odd && (k - delta).abs() <= d && x + *self.vf.at(-(k - delta)) >= n {
                    return (n - x + old_range.start, m - y + new_range.start);
                }
            }
        }
        // Unreachable for a complete search: a D-path exists for
        // D = n + m, and the search covers half of it from each end. As
        // `similar` does on a deadline, fall back to replacing it all.
        (old_range.end, new_range.start)
    }
}

/// `similar`'s `cleanup_diff_ops`: slides each deletion, then each
/// insertion, up and down along the equal runs around it, joining it with
/// its neighbours of the same kind.
fn compact(old: &[&str], new: &[&str], ops: &mut Vec<Op>) {
    for tag in [Tag::Delete, Tag::Insert] {
        let mut pointer = 0;
        while let Some(op) = ops.get(pointer) {
            if op.tag == tag {
                pointer = shift_up(ops, old, new, pointer);
                pointer = shift_down(ops, old, new, pointer);
            }
            pointer += 1;
        }
    }
}

fn shift_up(ops: &mut Vec<Op>, old: &[&str], new: &[&str], mut pointer: usize) -> usize {
    while let Some(&prev) = pointer.checked_sub(1).and_then(|i| ops.get(i)) {
        let this = ops[pointer];
        match (this.tag, prev.tag) {
            (Tag::Insert | Tag::Delete, Tag::Equal) => {
                let suffix = suffix_len(old, prev.old_range(), new, this.new_range());
                if suffix > 0 {
                    if ops.get(pointer + 1).is_some_and(|o| o.tag == Tag::Equal) {
                        ops[pointer + 1].grow_left(suffix);
                    } else {
                        // `similar` gives a moved deletion's equal run the
                        // length `prev.old_len - suffix`; a deletion never
                        // gets here (its new range is empty, so `suffix`
                        // is 0), and an insertion's is `suffix`.
                        let len = if this.tag == Tag::Insert {
                            suffix
                        } else {
                            prev.old_len - suffix
                        };
                        ops.insert(
                            pointer + 1,
                            Op::equal(
                                prev.old_range().end - suffix,
                                this.new_range().end - suffix,
                                len,
                            ),
                        );
                    }
                    ops[pointer].shift_left(suffix);
                    ops[pointer - 1].shrink_left(suffix);
                    if ops[pointer - 1].is_empty() {
                        ops.remove(pointer - 1);
                        pointer -= 1;
                    }
                } else if ops[pointer - 1].is_empty() {
                    ops.remove(pointer - 1);
                    pointer -= 1;
                } else {
                    break;
                }
            }
            (Tag::Insert, Tag::Delete) | (Tag::Delete, Tag::Insert) => {
                ops.swap(pointer - 1, pointer);
                pointer -= 1;
            }
            (Tag::Insert, Tag::Insert) => {
                ops[pointer - 1].grow_right(this.new_len);
                ops.remove(pointer);
                pointer -= 1;
            }
            (Tag::Delete, Tag::Delete) => {
                ops[pointer - 1].grow_right(this.old_len);
                ops.remove(pointer);
                pointer -= 1;
            }
            // Only deletions and insertions are shifted.
            _ => break,
        }
    }
    pointer
}

fn shift_down(ops: &mut Vec<Op>, old: &[&str], new: &[&str], mut pointer: usize) -> usize {
    while let Some(&next) = ops.get(pointer + 1) {
        let this = ops[pointer];
        match (this.tag, next.tag) {
            (Tag::Insert | Tag::Delete, Tag::Equal) => {
                let prefix = prefix_len(old, next.old_range(), new, this.new_range());
                if prefix > 0 {
                    if pointer
                        .checked_sub(1)
                        .and_then(|i| ops.get(i))
                        .is_some_and(|o| o.tag == Tag::Equal)
                    {
                        ops[pointer - 1].grow_right(prefix);
                    } else {
                        ops.insert(
                            pointer,
                            Op::equal(next.old_range().start, this.new_range().start, prefix),
                        );
                        pointer += 1;
                    }
                    ops[pointer].shift_right(prefix);
                    ops[pointer + 1].shrink_right(prefix);
                    if ops[pointer + 1].is_empty() {
                        ops.remove(pointer + 1);
                    }
                } else if ops[pointer + 1].is_empty() {
                    ops.remove(pointer + 1);
                } else {
                    break;
                }
            }
            (Tag::Insert, Tag::Delete) | (Tag::Delete, Tag::Insert) => {
                ops.swap(pointer, pointer + 1);
                pointer += 1;
            }
            (Tag::Insert, Tag::Insert) => {
                ops[pointer].grow_right(next.new_len);
                ops.remove(pointer + 1);
            }
            (Tag::Delete, Tag::Delete) => {
                ops[pointer].grow_right(next.old_len);
                ops.remove(pointer + 1);
            }
            _ => break,
        }
    }
    pointer
}

/// `similar`'s `Replace` hook and change iteration: equal runs joined,
/// and between two of them, one deletion (from the first deleted token,
/// as long as all deleted) before one insertion.
fn group(ops: &[Op]) -> Vec<(Tag, Range<usize>)> {
    let mut out: Vec<(Tag, Range<usize>)> = Vec::new();
    let mut del: Option<(usize, usize)> = None;
    let mut ins: Option<(usize, usize)> = None;
    let mut eq: Option<(usize, usize)> = None;
    for op in ops {
        if op.tag == Tag::Equal {
            // Flush the stretch before this run.
            if let Some((at, len)) = del.take() {
                out.push((Tag::Delete, at..at + len));
            }
            if let Some((at, len)) = ins.take() {
                out.push((Tag::Insert, at..at + len));
            }
            eq = Some(match eq {
                Some((at, len)) => (at, len + op.old_len),
                None => (op.old, op.old_len),
            });
            continue;
        }
        if let Some((at, len)) = eq.take() {
            out.push((Tag::Equal, at..at + len));
        }
        if op.tag == Tag::Delete {
            del = Some(match del {
                Some((at, len)) => (at, len + op.old_len),
                None => (op.old, op.old_len),
            });
        } else {
            ins = Some(match ins {
                Some((at, len)) => (at, len + op.new_len),
                None => (op.new, op.new_len),
            });
        }
    }
    if let Some((at, len)) = eq {
        out.push((Tag::Equal, at..at + len));
    }
    if let Some((at, len)) = del {
        out.push((Tag::Delete, at..at + len));
    }
    if let Some((at, len)) = ins {
        out.push((Tag::Insert, at..at + len));
    }
    out.retain(|(_, range)| !range.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use similar::{ChangeTag, TextDiff};

    /// What `similar` gives, as (tag, token text) per token.
    fn reference<'a>(diff: TextDiff<'a, 'a, 'a, str>) -> Vec<(Tag, String)> {
        diff.iter_all_changes()
            .map(|c| {
                let tag = match c.tag() {
                    ChangeTag::Equal => Tag::Equal,
                    ChangeTag::Delete => Tag::Delete,
                    ChangeTag::Insert => Tag::Insert,
                };
                (tag, c.value().to_owned())
            })
            .collect()
    }

    fn ours(old: &[&str], new: &[&str]) -> Vec<(Tag, String)> {
        diff(old, new)
            .into_iter()
            .flat_map(|(tag, range)| {
                let tokens = if tag == Tag::Insert { new } else { old };
                tokens[range].iter().map(move |t| (tag, (*t).to_owned()))
            })
            .collect()
    }

    /// Texts from a few words, spaces and line breaks: many repeats, so
    /// many equally short scripts to choose between (where tie-breaking and
    /// the clean-up show).
    fn text() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("a"),
                Just("b"),
                Just("ab"),
                Just("ö"),
                Just(" "),
                Just("  "),
                Just("\n"),
                Just("\r\n"),
                Just("\u{a0}"),
            ],
            0..40,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn same_changes_as_similar(old in text(), new in text()) {
            prop_assert_eq!(ours(&words(&old), &words(&new)), reference(TextDiff::from_words(&old, &new)));
            prop_assert_eq!(ours(&lines(&old), &lines(&new)), reference(TextDiff::from_lines(&old, &new)));
            prop_assert_eq!(ours(&chars(&old), &chars(&new)), reference(TextDiff::from_chars(&old, &new)));
        }
    }

    #[test]
    fn same_changes_as_similar_on_long_texts() {
        // Over 100 tokens, `similar` interns them first: the same result.
        let old = "Regionerna behöver samarbeta mer kring kompetensförsörjning. ".repeat(20);
        let new = old.replace("behöver", "måste").replace("mer kring", "om");
        assert_eq!(
            ours(&words(&old), &words(&new)),
            reference(TextDiff::from_words(&old, &new))
        );
        assert_eq!(
            ours(&chars(&old), &chars(&new)),
            reference(TextDiff::from_chars(&old, &new))
        );
    }
}
