//! Contributions: changes participants propose and hosts review.
//!
//! ```text
//! contributions: map<id, {
//!   kind: "replace" | "insert" | "action" | "draft",
//!   section: str,                      replace, insert: the section's id
//!   anchor: { start, end, quote, before, after }
//!                                      replace: the range to replace;
//!                                      insert: the paragraph the new one
//!                                      goes after (or before, see `place`)
//!   anchorStart: str, anchorEnd: str,  with `anchor`: its start, end and
//!   quote: str,                        quote again, as on a thread
//!                                      ([`threads::flat`]; not read here)
//!   place: "after" | "before" | "end", insert only
//!   text: text,                        the proposed text (replace, insert,
//!                                      action)
//!   owner: str, due: str,              action only
//!   draft: str,                        draft: the draft document's id
//!   reason: text,
//!   createdAt: int (ms),
//!   withdrawn: bool,                   set by its author
//!   review: { state: "accepted" | "rejected", by: str (user id),
//!             at: int (ms), reply: str, applied: str }
//! }>
//! ```
//!
//! A contribution's author is the automerge actor that created it (bound
//! to a user by the server). Only hosts write `review`
//! ([`crate::permissions`] refuses it to participants); accepting applies the
//! proposal to the summary in the same change that records the review, so
//! the history shows who accepted whose contribution.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{Automerge, ObjId, ObjType, ROOT, ReadDoc};
use serde::{Deserialize, Serialize};

use crate::diff::{self, Part};
use crate::read::{Fields, actor_of, from_utf16, get_obj, get_str, utf16};
use crate::summary::{Action, insert_action, keys, put_text};
use crate::threads::{self, Anchor, TextIndex, ThreadError, section_body};

/// The key only hosts may write in a contribution.
pub const REVIEW: &str = "review";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ContributionError {
    #[error("no such contribution")]
    NotFound,
    #[error("this contribution was already reviewed")]
    AlreadyReviewed,
    #[error("its author withdrew this contribution")]
    Withdrawn,
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Thread(#[from] ThreadError),
}

impl From<automerge::AutomergeError> for ContributionError {
    fn from(e: automerge::AutomergeError) -> Self {
        ContributionError::Thread(e.into())
    }
}

/// What a participant proposes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Proposal {
    /// Replace `[start, end)` (UTF-16) of a section's body with `text`.
    Replace {
        section: String,
        start: usize,
        end: usize,
        text: String,
    },
    /// A new paragraph at the paragraph boundary at or after `at` (UTF-16).
    Insert {
        section: String,
        at: usize,
        text: String,
    },
    /// A new action item.
    Action {
        text: String,
        #[serde(default)]
        owner: String,
        #[serde(default)]
        due: String,
    },
    /// A draft: a fork of the whole summary, edited and submitted.
    Draft { draft: String },
}

/// Writes a new contribution (the author's own object).
pub fn propose<T: Transactable + ReadDoc>(
    tx: &mut T,
    id: &str,
    proposal: &Proposal,
    reason: &str,
    now_ms: i64,
) -> Result<(), ContributionError> {
    let all = get_obj(tx, &ROOT, keys::CONTRIBUTIONS).ok_or(ContributionError::NotFound)?;
    let c = tx.put_object(&all, id, ObjType::Map)?;
    match proposal {
        Proposal::Replace {
            section,
            start,
            end,
            text,
        } => {
            tx.put(&c, "kind", "replace")?;
            tx.put(&c, "section", section.as_str())?;
            threads::put_anchor(tx, &c, section, *start, *end)?;
            put_text(tx, &c, "text", text)?;
        }
        Proposal::Insert { section, at, text } => {
            tx.put(&c, "kind", "insert")?;
            tx.put(&c, "section", section.as_str())?;
            let body = section_body(tx, section).ok_or(ThreadError::NoSection)?;
            let units = utf16(&tx.text(&body)?);
            let (place, range) = paragraph_near(&units, *at);
            tx.put(&c, "place", place)?;
            if let Some((s, e)) = range {
                threads::put_anchor(tx, &c, section, s, e)?;
            }
            put_text(tx, &c, "text", text)?;
        }
        Proposal::Action { text, owner, due } => {
            tx.put(&c, "kind", "action")?;
            put_text(tx, &c, "text", text)?;
            tx.put(&c, "owner", owner.as_str())?;
            tx.put(&c, "due", due.as_str())?;
        }
        Proposal::Draft { draft } => {
            tx.put(&c, "kind", "draft")?;
            tx.put(&c, "draft", draft.as_str())?;
        }
    }
    put_text(tx, &c, "reason", reason)?;
    tx.put(&c, "createdAt", now_ms)?;
    tx.put(&c, "withdrawn", false)?;
    Ok(())
}

/// Where a new paragraph at `at` goes: after the paragraph that ends at or
/// after `at` ("after", its range), before the first paragraph when `at`
/// is 0 ("before"), or at the end of an empty text ("end").
fn paragraph_near(text: &[u16], at: usize) -> (&'static str, Option<(usize, usize)>) {
    const NL: u16 = b'\n' as u16;
    if text.is_empty() {
        return ("end", None);
    }
    let at = at.min(text.len());
    let paragraph = |end: usize| {
        let start = text[..end]
            .iter()
            .rposition(|&c| c == NL)
            .map_or(0, |i| i + 1);
        (start, end)
    };
    if at == 0 {
        let end = text.iter().position(|&c| c == NL).unwrap_or(text.len());
        return if end == 0 {
            ("end", None)
        } else {
            ("before", Some((0, end)))
        };
    }
    // The end of the paragraph holding the character before `at`.
    let end = text[at - 1..]
        .iter()
        .position(|&c| c == NL)
        .map_or(text.len(), |i| at - 1 + i);
    let (start, end) = paragraph(end);
    if start == end {
        ("end", None)
    } else {
        ("after", Some((start, end)))
    }
}

/// The author takes their contribution back (before review).
pub fn withdraw<T: Transactable + ReadDoc>(tx: &mut T, id: &str) -> Result<(), ContributionError> {
    let c = contribution_obj(tx, id)?;
    tx.put(&c, "withdrawn", true)?;
    Ok(())
}

fn contribution_obj(doc: &impl ReadDoc, id: &str) -> Result<ObjId, ContributionError> {
    let all = get_obj(doc, &ROOT, keys::CONTRIBUTIONS).ok_or(ContributionError::NotFound)?;
    get_obj(doc, &all, id).ok_or(ContributionError::NotFound)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Open,
    Accepted,
    Rejected,
    Withdrawn,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Review {
    pub state: Status,
    /// The host's user id (written by the server on the host's behalf).
    pub by: String,
    pub at: i64,
    pub reply: String,
    /// The text that went into the summary (the host may have edited it).
    pub applied: String,
}

/// A contribution as a host reviews it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContributionView {
    pub id: String,
    pub kind: String,
    /// The actor that proposed it (hex), to be mapped to its verified user.
    pub author: String,
    pub created_at: i64,
    pub reason: String,
    pub status: Status,
    pub review: Option<Review>,
    pub section: String,
    /// The proposed text (replace, insert, action).
    pub text: String,
    pub owner: String,
    pub due: String,
    /// The draft document (drafts).
    pub draft: String,
    /// The text the proposal replaces, as it was when proposed.
    pub quote: String,
    /// Where the anchored range (replace) or paragraph (insert) is now.
    pub anchor: Option<Anchor>,
    /// The proposal against the current text while it is open; once
    /// reviewed or withdrawn, against the text it replaced.
    pub diff: Vec<Part>,
    /// Why an open proposal no longer applies as written, if it does not.
    pub conflict: Option<String>,
}

/// A section body's text, its index, and an anchor resolved against it.
fn resolve_in(doc: &Automerge, section: &str, anchor: &Fields) -> (Anchor, Vec<u16>) {
    let Some(body) = section_body(doc, section) else {
        return (Anchor::Orphaned, Vec::new());
    };
    let text = utf16(&doc.text(&body).unwrap_or_default());
    let index = TextIndex::new(doc, &body);
    let anchor = threads::resolve(
        &index,
        &text,
        &anchor.str(doc, "start"),
        &anchor.str(doc, "end"),
        &anchor.str(doc, "quote"),
    );
    (anchor, text)
}

/// Where a proposed paragraph goes now: at the end ("after") or start
/// ("before") of the paragraph it was proposed next to, found by either of
/// its cursors (so edits inside that paragraph do not matter), or by its
/// text if both ends were deleted.
fn insert_point(doc: &Automerge, section: &str, anchor: &Fields, place: &str) -> Option<usize> {
    const NL: u16 = b'\n' as u16;
    let body = section_body(doc, section)?;
    let text = utf16(&doc.text(&body).ok()?);
    let index = TextIndex::new(doc, &body);
    let (start, end) = (anchor.str(doc, "start"), anchor.str(doc, "end"));
    let cursors = if place == "after" {
        [&end, &start]
    } else {
        [&start, &end]
    };
    let found =
        cursors.iter().find_map(|c| index.position(c)).or_else(|| {
            match threads::resolve(&index, &text, &start, &end, &anchor.str(doc, "quote")) {
                Anchor::Anchored { start, .. } | Anchor::Moved { start, .. } => Some(start),
                Anchor::Orphaned => None,
            }
        })?;
    Some(if place == "after" {
        text[found..]
            .iter()
            .position(|&c| c == NL)
            .map_or(text.len(), |i| found + i)
    } else {
        text[..found]
            .iter()
            .rposition(|&c| c == NL)
            .map_or(0, |i| i + 1)
    })
}

/// Every contribution, with its diff against the current summary.
pub fn contributions(doc: &Automerge) -> Vec<ContributionView> {
    let Some(all) = get_obj(doc, &ROOT, keys::CONTRIBUTIONS) else {
        return Vec::new();
    };
    let mut out: Vec<ContributionView> = Fields::of(doc, &all)
        .0
        .into_iter()
        .filter_map(|(id, (_, obj))| view(doc, id, &obj))
        .collect();
    crate::sort::by(&mut out, |a, b| {
        (a.created_at, &a.id).cmp(&(b.created_at, &b.id))
    });
    out
}

/// One contribution, by id.
pub fn contribution(doc: &Automerge, id: &str) -> Option<ContributionView> {
    let obj = contribution_obj(doc, id).ok()?;
    view(doc, id.to_owned(), &obj)
}

fn view(doc: &Automerge, id: String, obj: &ObjId) -> Option<ContributionView> {
    let f = Fields::of(doc, obj);
    let kind = f.str(doc, "kind");
    let section = f.str(doc, "section");
    let text = f.str(doc, "text");
    let review = f.obj(REVIEW).map(|r| {
        let r = Fields::of(doc, &r);
        Review {
            state: if r.str(doc, "state") == "accepted" {
                Status::Accepted
            } else {
                Status::Rejected
            },
            by: r.str(doc, "by"),
            at: r.int("at"),
            reply: r.str(doc, "reply"),
            applied: r.str(doc, "applied"),
        }
    });
    let status = match (&review, f.bool("withdrawn")) {
        (Some(r), _) => r.state,
        (None, true) => Status::Withdrawn,
        (None, false) => Status::Open,
    };
    let stored_anchor = f.obj("anchor").map(|a| Fields::of(doc, &a));
    let quote = stored_anchor
        .as_ref()
        .map(|a| a.str(doc, "quote"))
        .unwrap_or_default();
    let mut anchor = None;
    let mut conflict = None;
    let mut diff = match kind.as_str() {
        "replace" => {
            let (resolved, current) = match &stored_anchor {
                Some(a) => resolve_in(doc, &section, a),
                None => (Anchor::Orphaned, Vec::new()),
            };
            let old = match resolved {
                Anchor::Anchored { start, end } | Anchor::Moved { start, end } => {
                    from_utf16(&current[start..end])
                }
                Anchor::Orphaned => quote.clone(),
            };
            conflict = match resolved {
                Anchor::Anchored { .. } => None,
                Anchor::Moved { .. } => Some(
                    "the text around the proposal was edited; it was found again nearby".into(),
                ),
                Anchor::Orphaned => {
                    Some("the text this proposal replaces is no longer in the summary".into())
                }
            };
            anchor = Some(resolved);
            diff::words(&old, &text)
        }
        "insert" => {
            if let Some(a) = &stored_anchor {
                let place = f.str(doc, "place");
                anchor = Some(match insert_point(doc, &section, a, &place) {
                    Some(at) => Anchor::Anchored { start: at, end: at },
                    None => {
                        conflict = Some(
                            "the paragraph this one was to go next to is no longer in the summary"
                                .into(),
                        );
                        Anchor::Orphaned
                    }
                });
            }
            vec![Part::Insert(text.clone())]
        }
        "action" => vec![Part::Insert(text.clone())],
        "draft" => Vec::new(),
        _ => return None,
    };
    if status != Status::Open {
        // Reviewed or withdrawn: the proposal as it was made. Against the
        // text now it would compare with itself (or the host's edit of it)
        // and report a conflict that no longer matters.
        conflict = None;
        if kind == "replace" {
            diff = diff::words(&quote, &text);
        }
    }
    Some(ContributionView {
        author: actor_of(obj),
        created_at: f.int("createdAt"),
        reason: f.str(doc, "reason"),
        status,
        review,
        owner: f.str(doc, "owner"),
        due: f.str(doc, "due"),
        draft: f.str(doc, "draft"),
        id,
        kind,
        section,
        text,
        quote,
        anchor,
        diff,
        conflict,
    })
}

/// Who decides, and when.
#[derive(Debug, Clone)]
pub struct Decision<'a> {
    /// The host's user id.
    pub by: &'a str,
    pub now_ms: i64,
    /// The commit message (the history shows it).
    pub message: String,
}

/// Accepts a contribution: applies it to the summary (with `edited` text if
/// the host changed it) and records the review, in one change. Drafts are
/// merged by the caller first (see [`crate::drafts`]); this records them.
/// Returns the text applied.
pub fn accept(
    doc: &mut Automerge,
    id: &str,
    edited: Option<&str>,
    decision: &Decision<'_>,
) -> Result<String, ContributionError> {
    let view = open_contribution(doc, id)?;
    let text = edited.unwrap_or(&view.text).to_owned();
    // Where it goes, decided before the transaction (resolving needs the
    // whole document).
    let target = match view.kind.as_str() {
        "replace" => match view.anchor {
            Some(Anchor::Anchored { start, end } | Anchor::Moved { start, end }) => {
                Some((start, end - start, text.clone()))
            }
            _ => {
                return Err(ContributionError::Conflict(
                    view.conflict.unwrap_or_default(),
                ));
            }
        },
        "insert" => {
            let place = {
                let c = contribution_obj(doc, id)?;
                get_str(doc, &c, "place")
            };
            let body = section_body(doc, &view.section).ok_or(ThreadError::NoSection)?;
            let len = utf16(&doc.text(&body)?).len();
            match (place.as_str(), view.anchor) {
                ("after", Some(Anchor::Anchored { end, .. })) => {
                    Some((end, 0, format!("\n{text}")))
                }
                ("before", Some(Anchor::Anchored { start, .. })) => {
                    Some((start, 0, format!("{text}\n")))
                }
                ("end", _) if len == 0 => Some((0, 0, text.clone())),
                ("end", _) => Some((len, 0, format!("\n{text}"))),
                _ => {
                    return Err(ContributionError::Conflict(
                        view.conflict.unwrap_or_default(),
                    ));
                }
            }
        }
        _ => None,
    };
    let mut tx = doc.transaction();
    match (view.kind.as_str(), target) {
        (_, Some((at, delete, insert))) => {
            let body = section_body(&tx, &view.section).ok_or(ThreadError::NoSection)?;
            tx.splice_text(&body, at, delete as isize, &insert)?;
        }
        ("action", None) => {
            let actions = get_obj(&tx, &ROOT, keys::ACTIONS).ok_or(ContributionError::NotFound)?;
            let action = Action {
                id: id.to_owned(),
                text: text.clone(),
                owner: view.owner.clone(),
                due: view.due.clone(),
                status: "open".to_owned(),
            };
            let end = tx.length(&actions);
            insert_action(&mut tx, &actions, end, &action)?;
        }
        _ => {}
    }
    write_review(&mut tx, id, "accepted", decision, "", &text)?;
    tx.commit_with(
        CommitOptions::default()
            .with_message(decision.message.clone())
            .with_time(decision.now_ms / 1000),
    );
    Ok(text)
}

/// Rejects a contribution with a reply to its author.
pub fn reject(
    doc: &mut Automerge,
    id: &str,
    reply: &str,
    decision: &Decision<'_>,
) -> Result<(), ContributionError> {
    open_contribution(doc, id)?;
    let mut tx = doc.transaction();
    write_review(&mut tx, id, "rejected", decision, reply, "")?;
    tx.commit_with(
        CommitOptions::default()
            .with_message(decision.message.clone())
            .with_time(decision.now_ms / 1000),
    );
    Ok(())
}

fn open_contribution(doc: &Automerge, id: &str) -> Result<ContributionView, ContributionError> {
    let view = contribution(doc, id).ok_or(ContributionError::NotFound)?;
    match view.status {
        Status::Open => Ok(view),
        Status::Withdrawn => Err(ContributionError::Withdrawn),
        Status::Accepted | Status::Rejected => Err(ContributionError::AlreadyReviewed),
    }
}

fn write_review<T: Transactable + ReadDoc>(
    tx: &mut T,
    id: &str,
    state: &str,
    decision: &Decision<'_>,
    reply: &str,
    applied: &str,
) -> Result<(), ContributionError> {
    let c = contribution_obj(tx, id)?;
    let r = tx.put_object(&c, REVIEW, ObjType::Map)?;
    tx.put(&r, "state", state)?;
    tx.put(&r, "by", decision.by)?;
    tx.put(&r, "at", decision.now_ms)?;
    tx.put(&r, "reply", reply)?;
    tx.put(&r, "applied", applied)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::{Section, Summary};
    use automerge::ActorId;

    fn doc() -> Automerge {
        let mut doc = Automerge::new().with_actor(ActorId::from([1u8; 16]));
        Summary {
            sections: vec![Section {
                id: "issue".into(),
                heading: "Frågan".into(),
                body: "Regionerna behöver samarbeta 😀.\nAndra stycket.".into(),
            }],
            ..Summary::default()
        }
        .write_new(&mut doc)
        .expect("write");
        doc
    }

    fn body(doc: &Automerge) -> String {
        doc.text(section_body(doc, "issue").expect("body"))
            .expect("text")
    }

    fn decision() -> Decision<'static> {
        Decision {
            by: "host",
            now_ms: 1_700_000_000_000,
            message: "accept".into(),
        }
    }

    fn propose_as(doc: &mut Automerge, actor: u8, id: &str, p: Proposal) {
        doc.set_actor(ActorId::from([actor; 16]));
        let mut tx = doc.transaction();
        propose(&mut tx, id, &p, "för att", 5).expect("propose");
        tx.commit();
    }

    #[test]
    fn a_replacement_is_diffed_and_applied_where_its_text_moved() {
        let mut d = doc();
        propose_as(
            &mut d,
            2,
            "c1",
            Proposal::Replace {
                section: "issue".into(),
                start: 11,
                end: 18,
                text: "måste".into(),
            },
        );
        let v = contribution(&d, "c1").expect("view");
        assert_eq!(v.quote, "behöver");
        assert_eq!(v.status, Status::Open);
        assert_eq!(v.author, ActorId::from([2u8; 16]).to_hex_string());
        assert_eq!(
            v.diff,
            vec![Part::Delete("behöver".into()), Part::Insert("måste".into())]
        );
        // The host edits before the range meanwhile.
        d.set_actor(ActorId::from([1u8; 16]));
        let b = section_body(&d, "issue").expect("body");
        let mut tx = d.transaction();
        tx.splice_text(&b, 0, 0, "Alla ").expect("splice");
        tx.commit();
        let applied = accept(&mut d, "c1", None, &decision()).expect("accept");
        assert_eq!(applied, "måste");
        assert_eq!(
            body(&d),
            "Alla Regionerna måste samarbeta 😀.\nAndra stycket."
        );
        let v = contribution(&d, "c1").expect("view");
        assert_eq!(v.status, Status::Accepted);
        assert_eq!(v.review.as_ref().map(|r| r.by.as_str()), Some("host"));
        // Once reviewed it shows as proposed, without a stale conflict.
        assert_eq!(v.conflict, None);
        assert_eq!(
            v.diff,
            vec![Part::Delete("behöver".into()), Part::Insert("måste".into())]
        );
        assert_eq!(
            accept(&mut d, "c1", None, &decision()),
            Err(ContributionError::AlreadyReviewed)
        );
    }

    #[test]
    fn a_replacement_whose_text_is_gone_is_a_conflict() {
        let mut d = doc();
        propose_as(
            &mut d,
            2,
            "c1",
            Proposal::Replace {
                section: "issue".into(),
                start: 11,
                end: 18,
                text: "måste".into(),
            },
        );
        d.set_actor(ActorId::from([1u8; 16]));
        let b = section_body(&d, "issue").expect("body");
        let mut tx = d.transaction();
        tx.splice_text(&b, 11, 7, "ska").expect("splice");
        tx.commit();
        let v = contribution(&d, "c1").expect("view");
        assert!(v.conflict.is_some());
        assert!(matches!(
            accept(&mut d, "c1", None, &decision()),
            Err(ContributionError::Conflict(_))
        ));
        reject(&mut d, "c1", "Vi skrev om stycket", &decision()).expect("reject");
        let v = contribution(&d, "c1").expect("view");
        assert_eq!(v.status, Status::Rejected);
        assert_eq!(
            v.review.map(|r| r.reply),
            Some("Vi skrev om stycket".to_owned())
        );
    }

    #[test]
    fn paragraphs_and_actions_are_added_with_edits() {
        let mut d = doc();
        propose_as(
            &mut d,
            2,
            "p1",
            Proposal::Insert {
                section: "issue".into(),
                at: 5,
                text: "Nytt stycke.".into(),
            },
        );
        propose_as(
            &mut d,
            3,
            "a1",
            Proposal::Action {
                text: "Skicka sammanfattningen".into(),
                owner: "Åsa".into(),
                due: "2026-12-01".into(),
            },
        );
        propose_as(
            &mut d,
            3,
            "w1",
            Proposal::Insert {
                section: "issue".into(),
                at: 0,
                text: "Först.".into(),
            },
        );
        // The host rewrites both paragraphs around the insertion points.
        d.set_actor(ActorId::from([1u8; 16]));
        let b = section_body(&d, "issue").expect("body");
        let mut tx = d.transaction();
        let end = tx.length(&b);
        tx.splice_text(&b, end, 0, " Slut.").expect("append");
        tx.splice_text(&b, 0, 10, "Kommunerna")
            .expect("rewrite start");
        tx.commit();
        accept(&mut d, "p1", Some("Nytt stycke, redigerat."), &decision()).expect("accept");
        accept(&mut d, "w1", None, &decision()).expect("accept");
        assert_eq!(
            body(&d),
            "Först.\nKommunerna behöver samarbeta 😀.\nNytt stycke, redigerat.\nAndra stycket. Slut."
        );
        accept(&mut d, "a1", None, &decision()).expect("accept");
        let summary = Summary::read(&d).expect("read");
        assert_eq!(summary.actions.len(), 1);
        assert_eq!(summary.actions[0].text, "Skicka sammanfattningen");
        assert_eq!(summary.actions[0].owner, "Åsa");
        let v = contribution(&d, "p1").expect("view");
        assert_eq!(
            v.review.map(|r| r.applied),
            Some("Nytt stycke, redigerat.".to_owned())
        );
    }

    #[test]
    fn withdrawn_contributions_cannot_be_accepted() {
        let mut d = doc();
        propose_as(
            &mut d,
            2,
            "a1",
            Proposal::Action {
                text: "x".into(),
                owner: String::new(),
                due: String::new(),
            },
        );
        let mut tx = d.transaction();
        withdraw(&mut tx, "a1").expect("withdraw");
        tx.commit();
        assert_eq!(
            accept(&mut d, "a1", None, &decision()),
            Err(ContributionError::Withdrawn)
        );
    }

    #[test]
    fn paragraph_boundaries() {
        let t: Vec<u16> = "ab\ncd".encode_utf16().collect();
        assert_eq!(paragraph_near(&t, 0), ("before", Some((0, 2))));
        assert_eq!(paragraph_near(&t, 1), ("after", Some((0, 2))));
        assert_eq!(paragraph_near(&t, 3), ("after", Some((0, 2))));
        assert_eq!(paragraph_near(&t, 4), ("after", Some((3, 5))));
        assert_eq!(paragraph_near(&t, 99), ("after", Some((3, 5))));
        assert_eq!(paragraph_near(&[], 0), ("end", None));
    }
}
