//! Comment threads anchored to a range of a section's text.
//!
//! ```text
//! threads: map<threadId, {
//!   section: str,                        the section's id
//!   anchor: { start: str, end: str,      automerge cursors (first and last character)
//!             quote: str,                the text the thread was about
//!             before: str, after: str }, a little context on either side
//!   status: "open" | "resolved",
//!   comments: list<{ id: str, body: text, createdAt: int (ms),
//!                    edited: bool, deleted: bool,
//!                    reactions: map<"emoji actorHex", true> }>
//! }>
//! ```
//!
//! A comment's author is the automerge actor that created it, which the
//! server binds to a user: no field the client writes says who wrote it.
//!
//! Anchors never silently vanish: [`resolve`] finds the range between the
//! cursors; if the text there is no longer the quote, it looks for the quote
//! nearby (closest to where the anchor was); failing that, the thread is
//! [`Anchor::Orphaned`] and stays listed under its section.

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, MoveCursor, ObjId, ObjType, ROOT, ReadDoc, Value};

use crate::read::{Fields, actor_of, from_utf16, get_obj, get_str, utf16};
use crate::summary::keys;

/// Characters of context kept on each side of a quote.
pub const CONTEXT: usize = 24;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ThreadError {
    #[error("no such section")]
    NoSection,
    #[error("no such thread")]
    NoThread,
    #[error("no such comment")]
    NoComment,
    #[error("an anchor needs a non-empty range inside the text")]
    BadRange,
    #[error("automerge: {0}")]
    Automerge(String),
}

impl From<automerge::AutomergeError> for ThreadError {
    fn from(e: automerge::AutomergeError) -> Self {
        ThreadError::Automerge(e.to_string())
    }
}

/// Where a thread's anchor is now, in UTF-16 positions of its section body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Anchor {
    /// The cursors still enclose exactly the quote.
    Anchored { start: usize, end: usize },
    /// The quote was rewritten around; found again here.
    Moved { start: usize, end: usize },
    /// The quoted text is gone.
    Orphaned,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentView {
    pub id: String,
    pub body: String,
    /// The actor that wrote it (hex), to be mapped to its verified user.
    pub author: String,
    pub created_at: i64,
    pub edited: bool,
    pub deleted: bool,
    /// (emoji, actor hex) pairs.
    pub reactions: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadView {
    pub id: String,
    pub section: String,
    pub quote: String,
    pub resolved: bool,
    pub anchor: Anchor,
    /// The actor that started the thread (hex).
    pub author: String,
    pub comments: Vec<CommentView>,
}

/// The body text object of a section, by section id.
pub fn section_body(doc: &impl ReadDoc, section: &str) -> Option<ObjId> {
    let sections = get_obj(doc, &ROOT, keys::SECTIONS)?;
    (0..doc.length(&sections)).find_map(|i| {
        let s = match doc.get(&sections, i) {
            Ok(Some((Value::Object(ObjType::Map), s))) => s,
            _ => return None,
        };
        (get_str(doc, &s, "id") == section)
            .then(|| get_obj(doc, &s, "body"))
            .flatten()
    })
}

/// Starts a thread on `[start, end)` (UTF-16) of a section's body.
pub fn create_thread<T: Transactable + ReadDoc>(
    tx: &mut T,
    thread_id: &str,
    section: &str,
    start: usize,
    end: usize,
    body: &str,
    now_ms: i64,
) -> Result<(), ThreadError> {
    let threads = get_obj(tx, &ROOT, keys::THREADS).ok_or(ThreadError::NoThread)?;
    let t = tx.put_object(&threads, thread_id, ObjType::Map)?;
    tx.put(&t, "section", section)?;
    tx.put(&t, "status", "open")?;
    put_anchor(tx, &t, section, start, end)?;
    tx.put_object(&t, "comments", ObjType::List)?;
    add_comment(tx, thread_id, &format!("{thread_id}-0"), body, now_ms)
}

/// Writes `parent.anchor`: cursors on the first and last character of
/// `[start, end)` (UTF-16) of a section's body, the quote, and context.
pub(crate) fn put_anchor<T: Transactable + ReadDoc>(
    tx: &mut T,
    parent: &ObjId,
    section: &str,
    start: usize,
    end: usize,
) -> Result<(), ThreadError> {
    let text_obj = section_body(tx, section).ok_or(ThreadError::NoSection)?;
    let text = utf16(&tx.text(&text_obj)?);
    if start >= end || end > text.len() {
        return Err(ThreadError::BadRange);
    }
    let first = tx.get_cursor_moving(&text_obj, start, None, MoveCursor::After)?;
    let last = tx.get_cursor_moving(&text_obj, end - 1, None, MoveCursor::Before)?;
    let a = tx.put_object(parent, "anchor", ObjType::Map)?;
    tx.put(&a, "start", first.to_string())?;
    tx.put(&a, "end", last.to_string())?;
    tx.put(&a, "quote", from_utf16(&text[start..end]))?;
    tx.put(
        &a,
        "before",
        from_utf16(&text[start.saturating_sub(CONTEXT)..start]),
    )?;
    tx.put(
        &a,
        "after",
        from_utf16(&text[end..(end + CONTEXT).min(text.len())]),
    )?;
    Ok(())
}

fn thread_obj(doc: &impl ReadDoc, thread_id: &str) -> Result<ObjId, ThreadError> {
    let threads = get_obj(doc, &ROOT, keys::THREADS).ok_or(ThreadError::NoThread)?;
    get_obj(doc, &threads, thread_id).ok_or(ThreadError::NoThread)
}

fn comment_obj(
    doc: &impl ReadDoc,
    thread_id: &str,
    comment_id: &str,
) -> Result<ObjId, ThreadError> {
    let comments =
        get_obj(doc, &thread_obj(doc, thread_id)?, "comments").ok_or(ThreadError::NoComment)?;
    (0..doc.length(&comments))
        .find_map(|i| match doc.get(&comments, i) {
            Ok(Some((Value::Object(ObjType::Map), c))) if get_str(doc, &c, "id") == comment_id => {
                Some(c)
            }
            _ => None,
        })
        .ok_or(ThreadError::NoComment)
}

/// Adds a comment (a reply) at the end of a thread.
pub fn add_comment<T: Transactable + ReadDoc>(
    tx: &mut T,
    thread_id: &str,
    comment_id: &str,
    body: &str,
    now_ms: i64,
) -> Result<(), ThreadError> {
    let comments =
        get_obj(tx, &thread_obj(tx, thread_id)?, "comments").ok_or(ThreadError::NoComment)?;
    let c = tx.insert_object(&comments, tx.length(&comments), ObjType::Map)?;
    tx.put(&c, "id", comment_id)?;
    let b = tx.put_object(&c, "body", ObjType::Text)?;
    tx.splice_text(&b, 0, 0, body)?;
    tx.put(&c, "createdAt", now_ms)?;
    tx.put(&c, "edited", false)?;
    tx.put(&c, "deleted", false)?;
    tx.put_object(&c, "reactions", ObjType::Map)?;
    Ok(())
}

/// Replaces a comment's text and marks it edited.
pub fn edit_comment<T: Transactable + ReadDoc>(
    tx: &mut T,
    thread_id: &str,
    comment_id: &str,
    body: &str,
) -> Result<(), ThreadError> {
    let c = comment_obj(tx, thread_id, comment_id)?;
    let b = get_obj(tx, &c, "body").ok_or(ThreadError::NoComment)?;
    let old = tx.length(&b);
    tx.splice_text(&b, 0, old as isize, body)?;
    tx.put(&c, "edited", true)?;
    Ok(())
}

/// Deletes a comment: its text goes, a tombstone stays in the thread.
pub fn delete_comment<T: Transactable + ReadDoc>(
    tx: &mut T,
    thread_id: &str,
    comment_id: &str,
) -> Result<(), ThreadError> {
    let c = comment_obj(tx, thread_id, comment_id)?;
    let b = get_obj(tx, &c, "body").ok_or(ThreadError::NoComment)?;
    let old = tx.length(&b);
    tx.splice_text(&b, 0, old as isize, "")?;
    tx.put(&c, "deleted", true)?;
    Ok(())
}

/// Resolves or reopens a thread.
pub fn set_resolved<T: Transactable + ReadDoc>(
    tx: &mut T,
    thread_id: &str,
    resolved: bool,
) -> Result<(), ThreadError> {
    let t = thread_obj(tx, thread_id)?;
    tx.put(&t, "status", if resolved { "resolved" } else { "open" })?;
    Ok(())
}

/// Adds (or, with `on == false`, removes) this actor's reaction.
pub fn react<T: Transactable + ReadDoc>(
    tx: &mut T,
    thread_id: &str,
    comment_id: &str,
    emoji: &str,
    actor: &ActorId,
    on: bool,
) -> Result<(), ThreadError> {
    let c = comment_obj(tx, thread_id, comment_id)?;
    let r = get_obj(tx, &c, "reactions").ok_or(ThreadError::NoComment)?;
    let key = format!("{emoji} {}", actor.to_hex_string());
    if on {
        if tx.get(&r, key.as_str())?.is_none() {
            tx.put(&r, key.as_str(), true)?;
        }
    } else if tx.get(&r, key.as_str())?.is_some() {
        tx.delete(&r, key.as_str())?;
    }
    Ok(())
}

/// The UTF-16 position of every visible character of a text, by the id of
/// the operation that inserted it (the id a cursor names): one pass over the
/// text, so resolving many cursors costs one lookup each.
#[derive(Debug, Default)]
pub struct TextIndex {
    positions: std::collections::HashMap<String, usize>,
}

impl TextIndex {
    pub fn new(doc: &Automerge, text: &ObjId) -> Self {
        let mut positions = std::collections::HashMap::new();
        let mut at = 0usize;
        for item in doc.list_range(text, ..) {
            if let ObjId::Id(ctr, actor, _) = item.id() {
                positions.insert(format!("{ctr}@{actor}"), at);
            }
            at += match &item.value {
                automerge::ValueRef::Scalar(automerge::ScalarValueRef::Str(s)) => {
                    s.encode_utf16().count()
                }
                _ => 1,
            };
        }
        Self { positions }
    }

    /// A cursor's position, if its character is still there.
    pub(crate) fn position(&self, cursor: &str) -> Option<usize> {
        self.positions.get(cursor.trim_start_matches('-')).copied()
    }
}

/// Where an anchor is now. `text` is the section body's text as UTF-16 and
/// `index` its [`TextIndex`].
pub fn resolve(index: &TextIndex, text: &[u16], start: &str, end: &str, quote: &str) -> Anchor {
    let quote = utf16(quote);
    let (s, e) = (index.position(start), index.position(end));
    if let (Some(s), Some(e)) = (s, e) {
        let e = e + 1;
        if s < e && e <= text.len() && text[s..e] == quote[..] {
            return Anchor::Anchored { start: s, end: e };
        }
    }
    // An end of the quote was deleted or the text between changed: the
    // exact quote cannot be between the cursors. Look for it again, closest
    // to a surviving end.
    let s = s.or(e).unwrap_or(0);
    // Look for the quote again, the occurrence closest to where it was.
    if quote.is_empty() || quote.len() > text.len() {
        return Anchor::Orphaned;
    }
    (0..=text.len() - quote.len())
        .filter(|&i| text[i..i + quote.len()] == quote[..])
        .min_by_key(|&i| i.abs_diff(s))
        .map_or(Anchor::Orphaned, |i| Anchor::Moved {
            start: i,
            end: i + quote.len(),
        })
}

/// Every thread, with its anchor resolved against the current text.
pub fn threads(doc: &Automerge) -> Vec<ThreadView> {
    let Some(all) = get_obj(doc, &ROOT, keys::THREADS) else {
        return Vec::new();
    };
    type Body = Option<(ObjId, Vec<u16>, TextIndex)>;
    let mut texts: std::collections::HashMap<String, Body> = Default::default();
    let mut out = Vec::new();
    for (id, (_, t)) in Fields::of(doc, &all).0 {
        let thread = Fields::of(doc, &t);
        let section = thread.str(doc, "section");
        let anchor = thread.obj("anchor").map(|a| Fields::of(doc, &a));
        let quote = anchor
            .as_ref()
            .map(|a| a.str(doc, "quote"))
            .unwrap_or_default();
        let body = texts.entry(section.clone()).or_insert_with(|| {
            section_body(doc, &section).map(|b| {
                let text = utf16(&doc.text(&b).unwrap_or_default());
                let index = TextIndex::new(doc, &b);
                (b, text, index)
            })
        });
        let resolved_anchor = match (body, &anchor) {
            (Some((_, text, index)), Some(a)) => resolve(
                index,
                text,
                &a.str(doc, "start"),
                &a.str(doc, "end"),
                &quote,
            ),
            _ => Anchor::Orphaned,
        };
        let comments = thread
            .obj("comments")
            .map(|list| {
                doc.list_range(&list, ..)
                    .filter(|item| matches!(item.value, automerge::ValueRef::Object(ObjType::Map)))
                    .map(|item| comment_view(doc, &item.id()))
                    .collect()
            })
            .unwrap_or_default();
        out.push(ThreadView {
            author: actor_of(&t),
            id,
            section,
            quote,
            resolved: thread.str(doc, "status") == "resolved",
            anchor: resolved_anchor,
            comments,
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

fn comment_view(doc: &Automerge, c: &ObjId) -> CommentView {
    let f = Fields::of(doc, c);
    let reactions = f
        .obj("reactions")
        .map(|r| {
            doc.keys(&r)
                .filter_map(|k| k.split_once(' ').map(|(e, a)| (e.to_owned(), a.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    CommentView {
        id: f.str(doc, "id"),
        body: f.str(doc, "body"),
        author: actor_of(c),
        created_at: f.int("createdAt"),
        edited: f.bool("edited"),
        deleted: f.bool("deleted"),
        reactions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::{Section, Summary};
    use proptest::prelude::*;

    const BODY: &str = "Läkemedelsverket 😀 — ATMP. Regionerna behöver samarbeta om infrastruktur.";

    fn doc(actor: u8) -> Automerge {
        let mut doc = Automerge::new().with_actor(ActorId::from([actor; 16]));
        Summary {
            sections: vec![Section {
                id: "issue".into(),
                heading: "Frågan".into(),
                body: BODY.into(),
            }],
            ..Summary::default()
        }
        .write_new(&mut doc)
        .expect("write");
        doc
    }

    fn pos(s: &str, needle: &str) -> (usize, usize) {
        let i = s.find(needle).expect("needle");
        let start = s[..i].encode_utf16().count();
        (start, start + needle.encode_utf16().count())
    }

    fn splice(doc: &mut Automerge, at: usize, del: isize, ins: &str) {
        let body = section_body(doc, "issue").expect("body");
        let mut tx = doc.transaction();
        tx.splice_text(&body, at, del, ins).expect("splice");
        tx.commit();
    }

    fn body_text(doc: &Automerge) -> String {
        doc.text(section_body(doc, "issue").expect("body"))
            .expect("text")
    }

    fn anchored_text(doc: &Automerge, t: &ThreadView) -> Option<String> {
        let units: Vec<u16> = body_text(doc).encode_utf16().collect();
        match t.anchor {
            Anchor::Anchored { start, end } | Anchor::Moved { start, end } => {
                Some(from_utf16(&units[start..end]))
            }
            Anchor::Orphaned => None,
        }
    }

    #[test]
    fn a_thread_lives_its_whole_life() {
        let mut d = doc(1);
        let (s, e) = pos(BODY, "😀 — ATMP");
        let mut tx = d.transaction();
        create_thread(&mut tx, "t1", "issue", s, e, "Vad betyder detta?", 1000).expect("thread");
        add_comment(&mut tx, "t1", "c2", "Ett svar", 2000).expect("reply");
        edit_comment(&mut tx, "t1", "c2", "Ett bättre svar").expect("edit");
        react(&mut tx, "t1", "t1-0", "👍", &ActorId::from([9u8; 16]), true).expect("react");
        tx.commit();
        let t = &threads(&d)[0];
        assert_eq!(t.quote, "😀 — ATMP");
        assert_eq!(t.anchor, Anchor::Anchored { start: s, end: e });
        assert_eq!(t.comments.len(), 2);
        assert_eq!(t.comments[1].body, "Ett bättre svar");
        assert!(t.comments[1].edited);
        assert_eq!(
            t.comments[0].reactions,
            vec![("👍".to_owned(), "09".repeat(16))]
        );
        assert_eq!(t.comments[0].author, "01".repeat(16));
        let mut tx = d.transaction();
        delete_comment(&mut tx, "t1", "c2").expect("delete");
        set_resolved(&mut tx, "t1", true).expect("resolve");
        tx.commit();
        let t = &threads(&d)[0];
        assert!(t.resolved);
        assert!(
            t.comments[1].deleted && t.comments[1].body.is_empty(),
            "a tombstone stays"
        );
        let mut tx = d.transaction();
        set_resolved(&mut tx, "t1", false).expect("reopen");
        tx.commit();
        assert!(!threads(&d)[0].resolved);
    }

    #[test]
    fn anchors_follow_edits_reanchor_and_orphan() {
        let mut d = doc(1);
        let (s, e) = pos(BODY, "samarbeta");
        let mut tx = d.transaction();
        create_thread(&mut tx, "t1", "issue", s, e, "Hur?", 0).expect("thread");
        tx.commit();
        // Edits before the quote move it.
        splice(&mut d, 0, 0, "Ny inledning. ");
        assert_eq!(
            anchored_text(&d, &threads(&d)[0]).as_deref(),
            Some("samarbeta")
        );
        // The quote is cut out and pasted back: the cursors lose it, the
        // quote is found again.
        let (s, e) = pos(&body_text(&d), "samarbeta");
        splice(&mut d, s, (e - s) as isize, "");
        splice(&mut d, s, 0, "samarbeta");
        let t = &threads(&d)[0];
        assert!(matches!(t.anchor, Anchor::Moved { .. }), "{:?}", t.anchor);
        assert_eq!(anchored_text(&d, t).as_deref(), Some("samarbeta"));
        // Gone for good: orphaned, still listed.
        let (s, e) = pos(&body_text(&d), "samarbeta");
        splice(&mut d, s, (e - s) as isize, "");
        let all = threads(&d);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].anchor, Anchor::Orphaned);
        assert_eq!(all[0].section, "issue");
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(usize, usize, String),
        Delete(usize, usize, usize),
        Split(usize, usize),
        Paste(usize, usize, usize, String),
        Comment(usize, usize, usize),
        Sync(usize, usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        let word =
            prop::sample::select(vec!["å", "ä ", "😀", "ATMP ", "x", "—"]).prop_map(str::to_owned);
        prop_oneof![
            (0..3usize, 0..200usize, word.clone()).prop_map(|(p, at, w)| Op::Insert(p, at, w)),
            (0..3usize, 0..200usize, 1..6usize).prop_map(|(p, at, n)| Op::Delete(p, at, n)),
            (0..3usize, 0..200usize).prop_map(|(p, at)| Op::Split(p, at)),
            (0..3usize, 0..200usize, 1..12usize, word)
                .prop_map(|(p, at, n, w)| Op::Paste(p, at, n, w)),
            (0..3usize, 0..200usize, 1..10usize).prop_map(|(p, at, n)| Op::Comment(p, at, n)),
            (0..3usize, 0..3usize).prop_map(|(a, b)| Op::Sync(a, b)),
        ]
    }

    /// Clamps a range into the text, on UTF-16 boundaries.
    fn clamp(text: &str, at: usize, n: usize) -> Option<(usize, usize)> {
        let units: Vec<u16> = text.encode_utf16().collect();
        if units.is_empty() {
            return None;
        }
        let mut s = at % units.len();
        let mut e = (s + n).min(units.len());
        let boundary = |i: usize| i == units.len() || !(0xDC00..0xE000).contains(&units[i]);
        while !boundary(s) {
            s -= 1;
        }
        while !boundary(e) {
            e += 1;
        }
        (s < e).then_some((s, e))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Three peers edit concurrently (inserts, deletes, paragraph
        /// splits, pastes over anchors) and comment; after merging, all
        /// converge, no thread is lost, and every anchor that is not
        /// orphaned resolves to exactly its quote.
        #[test]
        fn threads_survive_concurrent_edits(ops in prop::collection::vec(op(), 1..60)) {
            let base = doc(1);
            let mut peers: Vec<Automerge> = (0..3).map(|i| base.fork().with_actor(ActorId::from([i as u8 + 2; 16]))).collect();
            let mut created = Vec::new();
            for (n, op) in ops.iter().enumerate() {
                match op {
                    Op::Insert(p, at, w) => {
                        let len = body_text(&peers[*p]).encode_utf16().count();
                        if let Some((s, _)) = clamp(&(body_text(&peers[*p]) + " "), at % (len + 1), 1) {
                            splice(&mut peers[*p], s.min(len), 0, w);
                        }
                    }
                    Op::Delete(p, at, k) => {
                        if let Some((s, e)) = clamp(&body_text(&peers[*p]), *at, *k) {
                            splice(&mut peers[*p], s, (e - s) as isize, "");
                        }
                    }
                    Op::Split(p, at) => {
                        if let Some((s, _)) = clamp(&body_text(&peers[*p]), *at, 1) {
                            splice(&mut peers[*p], s, 0, "\n");
                        }
                    }
                    Op::Paste(p, at, k, w) => {
                        if let Some((s, e)) = clamp(&body_text(&peers[*p]), *at, *k) {
                            splice(&mut peers[*p], s, (e - s) as isize, w);
                        }
                    }
                    Op::Comment(p, at, k) => {
                        if let Some((s, e)) = clamp(&body_text(&peers[*p]), *at, *k) {
                            let id = format!("t{n}");
                            let mut tx = peers[*p].transaction();
                            create_thread(&mut tx, &id, "issue", s, e, "kommentar", 0).expect("thread");
                            tx.commit();
                            created.push(id);
                        }
                    }
                    Op::Sync(a, b) if a != b => {
                        let mut other = peers[*b].clone();
                        peers[*a].merge(&mut other).expect("merge");
                    }
                    Op::Sync(..) => {}
                }
            }
            let mut all = peers[0].clone();
            for p in &mut peers[1..] {
                all.merge(p).expect("merge");
            }
            for p in &mut peers {
                p.merge(&mut all.clone()).expect("merge");
                prop_assert_eq!(p.get_heads(), all.get_heads());
            }
            let views = threads(&all);
            let mut ids: Vec<&str> = views.iter().map(|t| t.id.as_str()).collect();
            ids.sort_unstable();
            let mut expected: Vec<&str> = created.iter().map(String::as_str).collect();
            expected.sort_unstable();
            prop_assert_eq!(ids, expected, "no thread is lost");
            for t in &views {
                if let Some(found) = anchored_text(&all, t) {
                    prop_assert_eq!(found, t.quote.clone());
                }
            }
            prop_assert_eq!(threads(&peers[1]), views);
        }
    }
}
