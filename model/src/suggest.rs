//! Open proposals shown in the text itself, suggestion-style (as in a word
//! processor's suggestion mode): a section's body cut into plain text and
//! suggestions, each suggestion the word diff of the stretch it replaces
//! against its proposed text, where that stretch is now.

use automerge::Automerge;

use crate::contributions::{self, Status};
use crate::diff::{self, Part};
use crate::threads::Anchor;

/// An open proposal to replace a stretch of a section's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// The contribution's id.
    pub id: String,
    /// Its author's actor (hex).
    pub author: String,
    /// Where the stretch it replaces is now (UTF-16, half-open).
    pub start: usize,
    pub end: usize,
    /// The proposed text.
    pub text: String,
}

/// A piece of a section's body: text as it is, or a suggestion over it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    /// A suggestion with the word diff of its stretch to its text.
    Suggestion(Suggestion, Vec<Part>),
}

/// The open replacement proposals anchored in `section`, in text order;
/// of proposals over the same stretch, the first proposed is shown (the
/// others stay listed with the proposals).
pub fn open_in(doc: &Automerge, section: &str) -> Vec<Suggestion> {
    let mut out: Vec<Suggestion> = contributions::contributions(doc)
        .into_iter()
        .filter(|c| c.status == Status::Open && c.kind == "replace" && c.section == section)
        .filter_map(|c| match c.anchor {
            Some(Anchor::Anchored { start, end } | Anchor::Moved { start, end }) => {
                Some(Suggestion {
                    id: c.id,
                    author: c.author,
                    start,
                    end,
                    text: c.text,
                })
            }
            _ => None,
        })
        .collect();
    // Stable: equal starts keep the order they were proposed in.
    crate::sort::by_key(&mut out, |s| s.start);
    let mut taken_to = 0;
    out.retain(|s| {
        let free = s.start >= taken_to;
        if free {
            taken_to = s.end.max(s.start + 1);
        }
        free
    });
    out
}

/// Cuts `body` into text and suggestions (`suggestions` in text order,
/// not overlapping, UTF-16 ranges; any out of range is left out).
pub fn pieces(body: &str, suggestions: &[Suggestion]) -> Vec<Piece> {
    let units: Vec<u16> = body.encode_utf16().collect();
    let mut out = Vec::new();
    let mut at = 0;
    for s in suggestions {
        if s.start < at || s.end < s.start || s.end > units.len() {
            continue;
        }
        if s.start > at {
            out.push(Piece::Text(String::from_utf16_lossy(&units[at..s.start])));
        }
        let old = String::from_utf16_lossy(&units[s.start..s.end]);
        out.push(Piece::Suggestion(s.clone(), diff::words(&old, &s.text)));
        at = s.end;
    }
    if at < units.len() {
        out.push(Piece::Text(String::from_utf16_lossy(&units[at..])));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(id: &str, start: usize, end: usize, text: &str) -> Suggestion {
        Suggestion {
            id: id.into(),
            author: "a1".into(),
            start,
            end,
            text: text.into(),
        }
    }

    #[test]
    fn suggestions_cut_the_text_and_diff_their_stretch_by_words() {
        let body = "Läkemedelsverket 😀 — ATMP och mer";
        let atmp = "Läkemedelsverket 😀 — ".encode_utf16().count();
        let pieces = pieces(body, &[s("c1", atmp, atmp + 4, "cell- och genterapier")]);
        assert_eq!(
            pieces,
            vec![
                Piece::Text("Läkemedelsverket 😀 — ".into()),
                Piece::Suggestion(
                    s("c1", atmp, atmp + 4, "cell- och genterapier"),
                    vec![
                        Part::Delete("ATMP".into()),
                        Part::Insert("cell- och genterapier".into())
                    ]
                ),
                Piece::Text(" och mer".into()),
            ]
        );
    }

    #[test]
    fn out_of_range_or_overlapping_suggestions_are_left_out() {
        let body = "abc def";
        let pieces = pieces(
            body,
            &[
                s("c1", 0, 3, "xyz"),
                s("c2", 2, 5, "no"),
                s("c3", 4, 99, "no"),
            ],
        );
        assert_eq!(pieces.len(), 2, "{pieces:?}");
        assert_eq!(pieces[1], Piece::Text(" def".into()));
        assert_eq!(super::pieces("", &[]), vec![]);
    }

    #[test]
    fn open_replacements_are_found_where_their_text_is_now() {
        use crate::contributions::{Proposal, propose};
        use crate::summary::{Section, Summary};
        use automerge::transaction::Transactable;
        let mut doc = Automerge::new();
        Summary {
            sections: vec![Section {
                id: "issue".into(),
                heading: "Frågan".into(),
                body: "Regionerna behöver samarbeta.".into(),
            }],
            ..Summary::default()
        }
        .write_new(&mut doc)
        .expect("write");
        let mut tx = doc.transaction();
        let replace = |start, end, text: &str| Proposal::Replace {
            section: "issue".into(),
            start,
            end,
            text: text.into(),
        };
        propose(&mut tx, "c1", &replace(11, 18, "måste"), "", 1).expect("propose");
        propose(&mut tx, "c2", &replace(12, 14, "x"), "", 2).expect("overlaps c1");
        tx.commit();
        // Text written before the stretch moves it.
        let body = crate::threads::section_body(&doc, "issue").expect("body");
        let mut tx = doc.transaction();
        tx.splice_text(&body, 0, 0, "Alla ").expect("splice");
        tx.commit();
        let open = open_in(&doc, "issue");
        assert_eq!(open.len(), 1, "{open:?}");
        assert_eq!(
            (open[0].id.as_str(), open[0].start, open[0].end),
            ("c1", 16, 23)
        );
        assert!(open_in(&doc, "other").is_empty());
    }
}
