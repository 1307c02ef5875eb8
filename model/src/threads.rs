//! Comment threads anchored to a range of a section's text.
//!
//! ```text
//! threads: map<threadId, {
//!   section: str,                        the section's id
//!   anchor: { start: str, end: str,      automerge cursors (first and last character)
//!             quote: str,                the text the thread was about
//!             before: str, after: str }, a little context on either side
//!   anchorStart: str, anchorEnd: str,    anchor.start, anchor.end and
//!   quote: str,                          anchor.quote again (see below)
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
//! `anchor` is where an anchor is described in full. `anchorStart`,
//! `anchorEnd` and `quote` ([`flat`]) repeat what resolving it needs, as plain
//! strings on the thread itself, written with `anchor` and never apart from
//! it: [`resolve_anchors`] then reads each thread's own keys and nothing
//! below them (automerge would otherwise walk the thread's comments too).
//! Threads written before these keys have only `anchor`, which readers fall
//! back to. As with every key of a thread, no participant but its author
//! may write them ([`crate::permissions`]).
//!
//! Anchors never silently vanish: [`resolve`] finds the range between the
//! cursors; if the text there is no longer the quote, it looks for the quote
//! nearby (closest to where the anchor was); failing that, the thread is
//! [`Anchor::Orphaned`] and stays listed under its section.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use automerge::iter::{DocItem, MapRangeItem};
use automerge::transaction::Transactable;
use automerge::{
    ActorId, Automerge, MoveCursor, ObjId, ObjType, ROOT, ReadDoc, ScalarValueRef, Value, ValueRef,
};

use crate::read::{actor_of, from_utf16, get_obj, get_str, utf16};
use crate::summary::keys;

/// Characters of context kept on each side of a quote.
pub const CONTEXT: usize = 24;

/// The keys under which a thread (or a contribution) repeats its anchor's
/// cursors and quote as plain strings, next to the `anchor` map: reading
/// them takes no descent into another object. Threads written before these
/// keys existed have only the `anchor` map, which readers fall back to.
pub mod flat {
    /// `anchor.start`.
    pub const START: &str = "anchorStart";
    /// `anchor.end`.
    pub const END: &str = "anchorEnd";
    /// `anchor.quote`.
    pub const QUOTE: &str = "quote";
}

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
/// `[start, end)` (UTF-16) of a section's body, the quote, and context; and
/// the cursors and the quote again as plain keys of `parent` ([`flat`]), which
/// is all [`resolve_anchors`] reads.
pub(crate) fn put_anchor<T: Transactable + ReadDoc>(
    tx: &mut T,
    parent: &ObjId,
    section: &str,
    start: usize,
    end: usize,
) -> Result<(), ThreadError> {
    let [first, last, quote] = put_anchor_map(tx, parent, section, start, end)?;
    tx.put(parent, flat::START, first)?;
    tx.put(parent, flat::END, last)?;
    tx.put(parent, flat::QUOTE, quote)?;
    Ok(())
}

/// Writes `parent.anchor` only (all that threads and contributions written
/// before the [`flat`] keys have); returns its cursors and quote.
fn put_anchor_map<T: Transactable + ReadDoc>(
    tx: &mut T,
    parent: &ObjId,
    section: &str,
    start: usize,
    end: usize,
) -> Result<[String; 3], ThreadError> {
    let text_obj = section_body(tx, section).ok_or(ThreadError::NoSection)?;
    let text = utf16(&tx.text(&text_obj)?);
    if start >= end || end > text.len() {
        return Err(ThreadError::BadRange);
    }
    let first = tx
        .get_cursor_moving(&text_obj, start, None, MoveCursor::After)?
        .to_string();
    let last = tx
        .get_cursor_moving(&text_obj, end - 1, None, MoveCursor::Before)?
        .to_string();
    let quote = from_utf16(&text[start..end]);
    let a = tx.put_object(parent, "anchor", ObjType::Map)?;
    tx.put(&a, "start", first.as_str())?;
    tx.put(&a, "end", last.as_str())?;
    tx.put(&a, "quote", quote.as_str())?;
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
    Ok([first, last, quote])
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
/// the operation that inserted it (the id a cursor names), and the text
/// itself as UTF-16: one pass over the text, so resolving many cursors costs
/// one lookup each.
#[derive(Debug, Default)]
pub struct TextIndex {
    /// By the inserting operation's (counter, actor index in this document):
    /// no string is built per character.
    positions: IdMap<usize>,
    /// The actors that inserted characters, by the hex id cursors name them
    /// by, to their index in this document.
    actors: HashMap<String, usize>,
    /// The text, as [`ReadDoc::text`] gives it, in UTF-16.
    units: Vec<u16>,
    /// Every position keyed by the two units that start there (the last
    /// position by its unit and 0), sorted: `unit << 48 | next << 32 |
    /// position`. Built when a quote is first looked for.
    bigrams: OnceLock<Vec<u64>>,
}

impl TextIndex {
    /// Marks, which nothing here writes, would count as characters (in
    /// positions and text alike): `list_range` shows them like characters.
    pub fn new(doc: &Automerge, text: &ObjId) -> Self {
        let mut units = Vec::new();
        let mut actors = HashMap::new();
        let mut known: Vec<bool> = Vec::new();
        let mut positions = Vec::new();
        for item in doc.list_range(text, ..) {
            if let ObjId::Id(ctr, actor, a) = item.id() {
                if !known.get(a).copied().unwrap_or(false) {
                    known.resize(known.len().max(a + 1), false);
                    known[a] = true;
                    actors.insert(actor.to_hex_string(), a);
                }
                positions.push(((ctr, a), units.len()));
            }
            match &item.value {
                ValueRef::Scalar(ScalarValueRef::Str(s)) => units.extend(s.encode_utf16()),
                // An embedded object or a block marker: one placeholder.
                _ => units.push(0xFFFC),
            }
        }
        TextIndex {
            // Sized once, not grown (and rehashed) as it fills.
            positions: positions.into_iter().collect(),
            actors,
            units,
            bigrams: OnceLock::new(),
        }
    }

    /// The text, in UTF-16.
    pub fn text(&self) -> &[u16] {
        &self.units
    }

    /// Where an anchor is now in this text: [`resolve`] in
    /// [`TextIndex::text`].
    pub fn resolve(&self, start: &str, end: &str, quote: &str) -> Anchor {
        resolve_with(self, &self.units, start, end, quote, |quote, near| {
            self.closest(quote, near)
        })
    }

    /// The occurrence of a non-empty `quote` closest to `near`, the earlier
    /// one on a tie.
    fn closest(&self, quote: &[u16], near: usize) -> Option<usize> {
        const POSITION: u64 = (1 << 32) - 1;
        let text = &self.units;
        let bigrams = self.bigrams.get_or_init(|| {
            let mut keys: Vec<u64> = (0..text.len())
                .map(|i| {
                    let next = text.get(i + 1).copied().unwrap_or(0);
                    u64::from(text[i]) << 48 | u64::from(next) << 32 | i as u64
                })
                .collect();
            crate::sort::u64s(&mut keys);
            keys
        });
        if text.len() > POSITION as usize {
            return None;
        }
        let at = |k: &u64| (k & POSITION) as usize;
        let first = u64::from(*quote.first()?) << 48;
        let Some(&second) = quote.get(1) else {
            // Every position starting with the unit is an occurrence.
            let from = bigrams.partition_point(|&k| k < first);
            let to = bigrams.partition_point(|&k| k < first + (1 << 48));
            return bigrams[from..to]
                .iter()
                .map(at)
                .min_by_key(|&i| (i.abs_diff(near), i));
        };
        let key = first | u64::from(second) << 32;
        let from = bigrams.partition_point(|&k| k < key);
        let to = bigrams.partition_point(|&k| k < key + (1 << 32));
        // Candidates in text order: the nearest occurrence on either side.
        let candidates = &bigrams[from..to];
        let split = candidates.partition_point(|k| at(k) < near);
        // Past the two units the key holds, unit by unit: most candidates
        // differ at the next one (a slice comparison costs a call each).
        let rest = &quote[2..];
        let is_at = |i: &usize| {
            text.get(i + 2..i + quote.len())
                .is_some_and(|t| t.iter().zip(rest).all(|(a, b)| a == b))
        };
        let after = candidates[split..].iter().map(at).find(is_at);
        let before = candidates[..split].iter().rev().map(at).find(is_at);
        match (before, after) {
            (Some(b), Some(a)) => Some(if near - b <= a - near { b } else { a }),
            (b, a) => b.or(a),
        }
    }

    /// A cursor's position, if its character is still there.
    pub(crate) fn position(&self, cursor: &str) -> Option<usize> {
        let (ctr, actor) = cursor.trim_start_matches('-').split_once('@')?;
        if ctr.is_empty() || !ctr.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let a = *self.actors.get(actor)?;
        self.positions.get(&(ctr.parse().ok()?, a)).copied()
    }
}

/// Where an anchor is now. `text` is the section body's text as UTF-16 and
/// `index` its [`TextIndex`]. ([`TextIndex::resolve`] does the same in the
/// index's own text, faster when the quote has to be looked for.)
pub fn resolve(index: &TextIndex, text: &[u16], start: &str, end: &str, quote: &str) -> Anchor {
    resolve_with(index, text, start, end, quote, |quote, near| {
        closest_by_scan(text, quote, near)
    })
}

/// The occurrence of a non-empty `quote` in `text` closest to `near`, the
/// earlier one on a tie, by looking everywhere.
fn closest_by_scan(text: &[u16], quote: &[u16], near: usize) -> Option<usize> {
    // The first unit is compared inline: most positions fail there.
    let (&first, rest) = quote.split_first()?;
    (0..(text.len() + 1).saturating_sub(quote.len()))
        .filter(|&i| text[i] == first && text[i + 1..i + quote.len()] == *rest)
        .min_by_key(|&i| i.abs_diff(near))
}

/// [`resolve`], with `closest(quote, near)` finding the occurrence of the
/// (non-empty) quote closest to `near`, the earlier one on a tie.
fn resolve_with(
    index: &TextIndex,
    text: &[u16],
    start: &str,
    end: &str,
    quote: &str,
    closest: impl FnOnce(&[u16], usize) -> Option<usize>,
) -> Anchor {
    let (s, e) = (index.position(start), index.position(end));
    if let (Some(s), Some(e)) = (s, e) {
        let e = e + 1;
        if s < e && e <= text.len() && text[s..e].iter().copied().eq(quote.encode_utf16()) {
            return Anchor::Anchored { start: s, end: e };
        }
    }
    // An end of the quote was deleted or the text between changed: the
    // exact quote cannot be between the cursors. Look for it again, the
    // occurrence closest to a surviving end.
    let near = s.or(e).unwrap_or(0);
    let quote = utf16(quote);
    if quote.is_empty() || quote.len() > text.len() {
        return Anchor::Orphaned;
    }
    closest(&quote, near).map_or(Anchor::Orphaned, |i| Anchor::Moved {
        start: i,
        end: i + quote.len(),
    })
}

/// A read-only copy of an object and everything below it, read in one pass:
/// automerge's document iterator walks the objects in storage order and
/// shifts its column iterators forward, where a `map_range` or `text` per
/// object would seek afresh each time (about 3x the cost).
///
/// Strings are copied into one buffer as they are read, and the keys this
/// module looks up are recognised then ([`Field`]): the document's own bytes
/// are hot only while automerge decodes them, and going back to them later
/// costs a cache miss per string.
struct Tree {
    nodes: Vec<Node>,
    /// Every string of the tree (keys, values, texts), back to back.
    strings: String,
}

struct Node {
    id: ObjId,
    typ: ObjType,
    /// When automerge reached it (its strings are in this order).
    visited: usize,
    kind: Kind,
}

/// A range of [`Tree::strings`].
type Str = std::ops::Range<usize>;

enum Kind {
    Map(Vec<(Field, Str, Val)>),
    List(Vec<Val>),
    Text(Str),
}

/// The map keys this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Section,
    Status,
    Anchor,
    AnchorStart,
    AnchorEnd,
    Start,
    End,
    Quote,
    Comments,
    Id,
    Body,
    CreatedAt,
    Edited,
    Deleted,
    Reactions,
    Other,
}

impl Field {
    fn of(key: &str) -> Self {
        match key {
            "section" => Field::Section,
            "status" => Field::Status,
            "anchor" => Field::Anchor,
            flat::START => Field::AnchorStart,
            flat::END => Field::AnchorEnd,
            "start" => Field::Start,
            "end" => Field::End,
            "quote" => Field::Quote,
            "comments" => Field::Comments,
            "id" => Field::Id,
            "body" => Field::Body,
            "createdAt" => Field::CreatedAt,
            "edited" => Field::Edited,
            "deleted" => Field::Deleted,
            "reactions" => Field::Reactions,
            _ => Field::Other,
        }
    }
}

enum Val {
    Str(Str),
    Bool(bool),
    /// Any number, as [`ScalarValue::as_i64`](automerge::ScalarValue::as_i64) reads it.
    Int(i64),
    /// Another scalar (bytes, null...): nothing this module reads.
    Other,
    /// A node of the tree, by index.
    Obj(usize),
}

/// An object id as a cheap key: (counter, actor index).
fn obj_key(id: &ObjId) -> (u64, usize) {
    match id {
        ObjId::Id(ctr, _, a) => (*ctr, *a),
        ObjId::Root => (0, usize::MAX),
    }
}

/// A map keyed by operation id, (counter, actor index).
type IdMap<V> = HashMap<(u64, usize), V, IdHashing>;

/// Hashes operation ids with a multiply per word (as FxHash does) from a
/// random seed: SipHash, the default, cost several times more for the
/// thousands of ids an index holds, and the seed keeps crafted ids from
/// colliding on purpose.
#[derive(Clone)]
struct IdHashing(u64);

impl Default for IdHashing {
    fn default() -> Self {
        use std::hash::BuildHasher;
        IdHashing(std::collections::hash_map::RandomState::new().hash_one(0u64))
    }
}

impl std::hash::BuildHasher for IdHashing {
    type Hasher = IdHasher;
    fn build_hasher(&self) -> IdHasher {
        IdHasher(self.0)
    }
}

struct IdHasher(u64);

impl IdHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl Tree {
    /// Node 0 is `obj`, of type `typ`.
    fn read(doc: &Automerge, obj: &ObjId, typ: ObjType) -> Self {
        let mut tree = Tree {
            nodes: vec![Node::new(obj.clone(), typ)],
            strings: String::new(),
        };
        let mut by_id: IdMap<usize> = IdMap::default();
        by_id.insert(obj_key(obj), 0);
        // The object the last item was in, and its node.
        let mut current: Option<(Arc<ObjId>, Option<usize>)> = None;
        let mut visits = 0;
        for item in doc.iter_at(obj, None) {
            let n = match &current {
                Some((o, n)) if Arc::ptr_eq(o, &item.obj) => *n,
                _ => {
                    let n = by_id.get(&obj_key(&item.obj)).copied();
                    if let Some(n) = n {
                        tree.nodes[n].visited = visits;
                        visits += 1;
                    }
                    current = Some((item.obj.clone(), n));
                    n
                }
            };
            let Some(n) = n else {
                continue;
            };
            match item.item {
                DocItem::Map(m) => {
                    let field = Field::of(&m.key);
                    let key = tree.push_str(&m.key);
                    let v = tree.val(&mut by_id, &m.value, || m.id());
                    if let Kind::Map(entries) = &mut tree.nodes[n].kind {
                        entries.push((field, key, v));
                    }
                }
                DocItem::List(l) => {
                    let v = tree.val(&mut by_id, &l.value, || l.id());
                    if let Kind::List(items) = &mut tree.nodes[n].kind {
                        items.push(v);
                    }
                }
                DocItem::Text(span) => {
                    // A text's spans come one after the other.
                    let s = tree.push_str(span.as_str());
                    if let Kind::Text(text) = &mut tree.nodes[n].kind {
                        if text.start == text.end {
                            text.start = s.start;
                        }
                        text.end = s.end;
                    }
                }
            }
        }
        tree
    }

    fn push_str(&mut self, s: &str) -> Str {
        let start = self.strings.len();
        self.strings.push_str(s);
        start..self.strings.len()
    }

    /// A value read, and a node for it if it is an object.
    fn val(
        &mut self,
        by_id: &mut IdMap<usize>,
        value: &ValueRef<'_>,
        id: impl FnOnce() -> ObjId,
    ) -> Val {
        match value {
            ValueRef::Object(t) => {
                let id = id();
                by_id.insert(obj_key(&id), self.nodes.len());
                self.nodes.push(Node::new(id, *t));
                Val::Obj(self.nodes.len() - 1)
            }
            ValueRef::Scalar(s) => match s {
                ScalarValueRef::Str(s) => Val::Str(self.push_str(s)),
                ScalarValueRef::Boolean(b) => Val::Bool(*b),
                ScalarValueRef::Int(i)
                | ScalarValueRef::Timestamp(i)
                | ScalarValueRef::Counter(i) => Val::Int(*i),
                ScalarValueRef::Uint(u) => Val::Int(*u as i64),
                ScalarValueRef::F64(f) => Val::Int(*f as i64),
                _ => Val::Other,
            },
        }
    }

    fn entries(&self, n: usize) -> &[(Field, Str, Val)] {
        match &self.nodes[n].kind {
            Kind::Map(entries) => entries,
            _ => &[],
        }
    }

    fn items(&self, n: usize) -> &[Val] {
        match &self.nodes[n].kind {
            Kind::List(items) => items,
            _ => &[],
        }
    }

    fn get(&self, n: usize, key: Field) -> Option<&Val> {
        self.entries(n)
            .iter()
            .find_map(|(f, _, v)| (*f == key).then_some(v))
    }

    fn obj(&self, n: usize, key: Field) -> Option<usize> {
        match self.get(n, key) {
            Some(Val::Obj(c)) => Some(*c),
            _ => None,
        }
    }

    /// A string, held as a scalar or as a text object.
    fn str(&self, n: usize, key: Field) -> &str {
        self.opt_str(n, key).unwrap_or_default()
    }

    /// A string, if the key holds one (as a scalar or as a text object).
    fn opt_str(&self, n: usize, key: Field) -> Option<&str> {
        match self.get(n, key)? {
            Val::Str(s) => Some(&self.strings[s.clone()]),
            Val::Obj(c) => match &self.nodes[*c].kind {
                Kind::Text(text) => Some(&self.strings[text.clone()]),
                _ => None,
            },
            _ => None,
        }
    }

    fn bool(&self, n: usize, key: Field) -> bool {
        matches!(self.get(n, key), Some(Val::Bool(true)))
    }

    fn int(&self, n: usize, key: Field) -> i64 {
        match self.get(n, key) {
            Some(Val::Int(i)) => *i,
            _ => 0,
        }
    }

    /// The actor that created a node (hex).
    fn author(&self, n: usize) -> String {
        actor_of(&self.nodes[n].id)
    }
}

impl Node {
    fn new(id: ObjId, typ: ObjType) -> Self {
        let kind = match typ {
            ObjType::Map | ObjType::Table => Kind::Map(Vec::new()),
            ObjType::List => Kind::List(Vec::new()),
            ObjType::Text => Kind::Text(0..0),
        };
        Node {
            id,
            typ,
            visited: usize::MAX,
            kind,
        }
    }
}

/// A thread's anchor, resolved against the current text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadAnchor {
    /// The thread's id.
    pub thread: String,
    pub section: String,
    pub quote: String,
    pub anchor: Anchor,
}

/// The threads map, read in one pass.
fn read_threads(doc: &Automerge) -> Option<Tree> {
    let all = get_obj(doc, &ROOT, keys::THREADS)?;
    Some(Tree::read(doc, &all, ObjType::Map))
}

/// Every thread (node) of a tree of the threads map with its anchor resolved;
/// each section's text is indexed once.
fn anchors(doc: &Automerge, tree: &Tree) -> Vec<(usize, ThreadAnchor)> {
    let mut texts: HashMap<&str, Option<TextIndex>> = HashMap::new();
    let mut threads: Vec<(&str, usize)> = tree
        .entries(0)
        .iter()
        .filter_map(|(_, id, v)| match v {
            Val::Obj(t) if tree.nodes[*t].typ == ObjType::Map => {
                Some((&tree.strings[id.clone()], *t))
            }
            _ => None,
        })
        .collect();
    // In the order they were read, not by id: the tree is then read front
    // to back, which the CPU's caches follow far better.
    crate::sort::by_key(&mut threads, |(_, t)| tree.nodes[*t].visited);
    threads
        .into_iter()
        .map(|(id, t)| {
            let section = tree.str(t, Field::Section);
            let stored = if tree.opt_str(t, Field::AnchorStart).is_some() {
                Some([Field::AnchorStart, Field::AnchorEnd, Field::Quote].map(|f| tree.str(t, f)))
            } else {
                tree.obj(t, Field::Anchor)
                    .map(|a| [Field::Start, Field::End, Field::Quote].map(|f| tree.str(a, f)))
            };
            let quote = stored.map_or("", |[_, _, quote]| quote);
            let index = texts.entry(section).or_insert_with(|| {
                section_body(doc, section).map(|body| TextIndex::new(doc, &body))
            });
            let anchor = match (index, stored) {
                (Some(index), Some([start, end, quote])) => index.resolve(start, end, quote),
                _ => Anchor::Orphaned,
            };
            let view = ThreadAnchor {
                thread: id.to_string(),
                section: section.to_owned(),
                quote: quote.to_owned(),
                anchor,
            };
            (t, view)
        })
        .collect()
}

/// Every thread's anchor, resolved against the current text, by thread id:
/// what [`threads`] gives without reading the comments.
///
/// Only each thread's own keys are read (a `map_range` per thread): the
/// [`flat`] keys, or the `anchor` map of a thread written without them. A
/// read of the whole threads map, however done, would walk every comment.
pub fn resolve_anchors(doc: &Automerge) -> Vec<ThreadAnchor> {
    let Some(all) = get_obj(doc, &ROOT, keys::THREADS) else {
        return Vec::new();
    };
    let mut texts: HashMap<String, Option<TextIndex>> = HashMap::new();
    let mut out: Vec<ThreadAnchor> = doc
        .map_range(&all, ..)
        .filter(|t| matches!(t.value, ValueRef::Object(ObjType::Map)))
        .map(|t| {
            let (section, stored) = stored_anchor(doc, &t.id());
            let index = match texts.get(section.as_ref()) {
                Some(index) => index,
                None => texts.entry(section.to_string()).or_insert_with(|| {
                    section_body(doc, &section).map(|b| TextIndex::new(doc, &b))
                }),
            };
            let anchor = match (index, &stored) {
                (Some(index), Some([start, end, quote])) => index.resolve(start, end, quote),
                _ => Anchor::Orphaned,
            };
            ThreadAnchor {
                thread: t.key.into_owned(),
                section: section.into_owned(),
                quote: stored
                    .map(|[_, _, quote]| quote.into_owned())
                    .unwrap_or_default(),
                anchor,
            }
        })
        .collect();
    // map_range gives them by key already (so this sort is one pass); the
    // order is this function's promise, not automerge's.
    crate::sort::by(&mut out, |a, b| a.thread.cmp(&b.thread));
    out
}

/// A thread's section and stored anchor (start and end cursors, quote), from
/// its own keys: the [`flat`] ones if it has them, else its `anchor` map.
fn stored_anchor<'a>(
    doc: &'a Automerge,
    thread: &ObjId,
) -> (Cow<'a, str>, Option<[Cow<'a, str>; 3]>) {
    let mut section = None;
    let mut found: [Option<Cow<'a, str>>; 3] = [None, None, None];
    let mut nested = None;
    for item in doc.map_range(thread, ..) {
        let slot = match item.key.as_ref() {
            "section" => &mut section,
            flat::START => &mut found[0],
            flat::END => &mut found[1],
            flat::QUOTE => &mut found[2],
            "anchor" => {
                if matches!(item.value, ValueRef::Object(ObjType::Map)) {
                    nested = Some(item);
                }
                continue;
            }
            _ => continue,
        };
        *slot = string(doc, item);
    }
    let section = section.unwrap_or_default();
    if found[0].is_some() {
        return (section, Some(found.map(Option::unwrap_or_default)));
    }
    let Some(nested) = nested else {
        return (section, None);
    };
    let mut found: [Option<Cow<'a, str>>; 3] = [None, None, None];
    for item in doc.map_range(nested.id(), ..) {
        let slot = match item.key.as_ref() {
            "start" => &mut found[0],
            "end" => &mut found[1],
            "quote" => &mut found[2],
            _ => continue,
        };
        *slot = string(doc, item);
    }
    (section, Some(found.map(Option::unwrap_or_default)))
}

/// A map entry's string: a scalar, or a text object's content.
fn string<'a>(doc: &Automerge, item: MapRangeItem<'a>) -> Option<Cow<'a, str>> {
    match item.value {
        ValueRef::Scalar(ScalarValueRef::Str(s)) => Some(s),
        ValueRef::Object(ObjType::Text) => doc.text(item.id()).ok().map(Cow::Owned),
        _ => None,
    }
}

/// Every thread, with its anchor resolved against the current text.
pub fn threads(doc: &Automerge) -> Vec<ThreadView> {
    let Some(tree) = read_threads(doc) else {
        return Vec::new();
    };
    let mut out: Vec<ThreadView> = anchors(doc, &tree)
        .into_iter()
        .map(|(t, a)| {
            let comments = tree
                .obj(t, Field::Comments)
                .map(|list| {
                    tree.items(list)
                        .iter()
                        .filter_map(|c| match c {
                            Val::Obj(c) if tree.nodes[*c].typ == ObjType::Map => {
                                Some(comment_view(&tree, *c))
                            }
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            ThreadView {
                author: tree.author(t),
                id: a.thread,
                section: a.section,
                quote: a.quote,
                resolved: tree.str(t, Field::Status) == "resolved",
                anchor: a.anchor,
                comments,
            }
        })
        .collect();
    crate::sort::by(&mut out, |a, b| a.id.cmp(&b.id));
    out
}

fn comment_view(tree: &Tree, c: usize) -> CommentView {
    let reactions = tree
        .obj(c, Field::Reactions)
        .map(|r| {
            tree.entries(r)
                .iter()
                .filter_map(|(_, k, _)| {
                    tree.strings[k.clone()]
                        .split_once(' ')
                        .map(|(e, a)| (e.to_owned(), a.to_owned()))
                })
                .collect()
        })
        .unwrap_or_default();
    CommentView {
        id: tree.str(c, Field::Id).to_owned(),
        body: tree.str(c, Field::Body).to_owned(),
        author: tree.author(c),
        created_at: tree.int(c, Field::CreatedAt),
        edited: tree.bool(c, Field::Edited),
        deleted: tree.bool(c, Field::Deleted),
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

    /// Threads read the plain way, an automerge call per object (as this
    /// module did before it read the tree in one pass), anchors from the
    /// `anchor` map alone (as before the [`flat`] keys): what [`threads`]
    /// must agree with, for threads written with the flat keys or without.
    fn reference_threads(doc: &Automerge) -> Vec<ThreadView> {
        fn str_of(doc: &Automerge, v: Option<(Value<'_>, ObjId)>) -> String {
            match v {
                Some((Value::Scalar(s), _)) => s.as_str().unwrap_or_default().to_owned(),
                Some((Value::Object(ObjType::Text), id)) => doc.text(&id).unwrap_or_default(),
                _ => String::new(),
            }
        }
        let field = |obj: &ObjId, key: &str| doc.get(obj, key).ok().flatten();
        let Some(all) = get_obj(doc, &ROOT, keys::THREADS) else {
            return Vec::new();
        };
        let mut out: Vec<ThreadView> = doc
            .map_range(&all, ..)
            .filter(|t| matches!(t.value, ValueRef::Object(ObjType::Map)))
            .map(|item| {
                let t = item.id();
                let section = str_of(doc, field(&t, "section"));
                let a = get_obj(doc, &t, "anchor");
                let get = |k: &str| a.as_ref().map(|a| str_of(doc, field(a, k))).unwrap_or_default();
                let quote = get("quote");
                let anchor = match (section_body(doc, &section), &a) {
                    (Some(body), Some(_)) => {
                        let text = utf16(&doc.text(&body).unwrap_or_default());
                        resolve(&TextIndex::new(doc, &body), &text, &get("start"), &get("end"), &quote)
                    }
                    _ => Anchor::Orphaned,
                };
                let comments = get_obj(doc, &t, "comments")
                    .map(|list| {
                        doc.list_range(&list, ..)
                            .filter(|c| matches!(c.value, ValueRef::Object(ObjType::Map)))
                            .map(|c| {
                                let c = c.id();
                                let flag = |k: &str| matches!(field(&c, k), Some((Value::Scalar(s), _)) if matches!(s.as_ref(), automerge::ScalarValue::Boolean(true)));
                                CommentView {
                                    id: str_of(doc, field(&c, "id")),
                                    body: str_of(doc, field(&c, "body")),
                                    author: actor_of(&c),
                                    created_at: field(&c, "createdAt").and_then(|(v, _)| v.as_i64()).unwrap_or(0),
                                    edited: flag("edited"),
                                    deleted: flag("deleted"),
                                    reactions: get_obj(doc, &c, "reactions")
                                        .map(|r| doc.keys(&r).filter_map(|k| k.split_once(' ').map(|(e, a)| (e.to_owned(), a.to_owned()))).collect())
                                        .unwrap_or_default(),
                                }
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                ThreadView {
                    id: item.key.into_owned(),
                    author: actor_of(&t),
                    resolved: str_of(doc, field(&t, "status")) == "resolved",
                    section,
                    quote,
                    anchor,
                    comments,
                }
            })
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    /// What [`threads`] gives, checked against [`reference_threads`] and
    /// [`resolve_anchors`].
    fn checked_threads(doc: &Automerge) -> Vec<ThreadView> {
        let views = threads(doc);
        assert_eq!(views, reference_threads(doc));
        let anchors: Vec<ThreadAnchor> = views
            .iter()
            .map(|t| ThreadAnchor {
                thread: t.id.clone(),
                section: t.section.clone(),
                quote: t.quote.clone(),
                anchor: t.anchor.clone(),
            })
            .collect();
        assert_eq!(resolve_anchors(doc), anchors);
        views
    }

    /// A thread as [`create_thread`] wrote it before the [`flat`] keys: the
    /// `anchor` map only.
    fn create_old_thread(
        tx: &mut automerge::transaction::Transaction<'_>,
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
        put_anchor_map(tx, &t, section, start, end)?;
        tx.put_object(&t, "comments", ObjType::List)?;
        add_comment(tx, thread_id, &format!("{thread_id}-0"), body, now_ms)
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
        let t = &checked_threads(&d)[0];
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
        let t = &checked_threads(&d)[0];
        assert!(t.resolved);
        assert!(
            t.comments[1].deleted && t.comments[1].body.is_empty(),
            "a tombstone stays"
        );
        let mut tx = d.transaction();
        set_resolved(&mut tx, "t1", false).expect("reopen");
        tx.commit();
        assert!(!checked_threads(&d)[0].resolved);
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
            anchored_text(&d, &checked_threads(&d)[0]).as_deref(),
            Some("samarbeta")
        );
        // The quote is cut out and pasted back: the cursors lose it, the
        // quote is found again.
        let (s, e) = pos(&body_text(&d), "samarbeta");
        splice(&mut d, s, (e - s) as isize, "");
        splice(&mut d, s, 0, "samarbeta");
        let t = &checked_threads(&d)[0];
        assert!(matches!(t.anchor, Anchor::Moved { .. }), "{:?}", t.anchor);
        assert_eq!(anchored_text(&d, t).as_deref(), Some("samarbeta"));
        // Gone for good: orphaned, still listed.
        let (s, e) = pos(&body_text(&d), "samarbeta");
        splice(&mut d, s, (e - s) as isize, "");
        let all = checked_threads(&d);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].anchor, Anchor::Orphaned);
        assert_eq!(all[0].section, "issue");
    }

    #[test]
    fn the_flat_keys_repeat_the_anchor() {
        let mut d = doc(1);
        let (s, e) = pos(BODY, "😀 — ATMP");
        let mut tx = d.transaction();
        create_thread(&mut tx, "t1", "issue", s, e, "Nytt", 0).expect("thread");
        tx.commit();
        let t = thread_obj(&d, "t1").expect("thread");
        let a = get_obj(&d, &t, "anchor").expect("anchor");
        for (flat, nested) in [
            (flat::START, "start"),
            (flat::END, "end"),
            (flat::QUOTE, "quote"),
        ] {
            assert_eq!(get_str(&d, &t, flat), get_str(&d, &a, nested), "{flat}");
        }
        assert_eq!(get_str(&d, &t, flat::QUOTE), "😀 — ATMP");
        assert!(
            !get_str(&d, &a, "after").is_empty(),
            "context stays in the map"
        );
        // The flat keys are enough: without the map, nothing changes.
        let before = checked_threads(&d);
        let mut tx = d.transaction();
        tx.delete(&t, "anchor").expect("delete");
        tx.commit();
        assert_eq!(threads(&d), before);
        assert_eq!(
            resolve_anchors(&d)[0].anchor,
            Anchor::Anchored { start: s, end: e }
        );
    }

    /// Threads written before the flat keys and after, side by side, as the
    /// text changes under them: both resolve as the reference does.
    #[test]
    fn threads_without_the_flat_keys_resolve_alike() {
        let mut d = doc(1);
        let mut tx = d.transaction();
        for (id, needle) in [
            ("old-1", "samarbeta"),
            ("new-1", "samarbeta"),
            ("old-2", "Regionerna"),
            ("new-2", "😀 — ATMP"),
        ] {
            let (s, e) = pos(BODY, needle);
            if id.starts_with("old") {
                create_old_thread(&mut tx, id, "issue", s, e, "Hm", 0)
            } else {
                create_thread(&mut tx, id, "issue", s, e, "Hm", 0)
            }
            .expect("thread");
        }
        tx.commit();
        let t = thread_obj(&d, "old-1").expect("thread");
        assert_eq!(
            d.get(&t, flat::START).expect("get"),
            None,
            "written the old way"
        );
        let all = checked_threads(&d);
        assert_eq!(all[0].quote, "samarbeta");
        assert!(
            all.iter()
                .all(|t| matches!(t.anchor, Anchor::Anchored { .. }))
        );
        // Moved, then orphaned.
        splice(&mut d, 0, 0, "Ny inledning. ");
        let (s, e) = pos(&body_text(&d), "samarbeta");
        splice(&mut d, s, (e - s) as isize, "");
        splice(&mut d, s, 0, "samarbeta");
        let all = checked_threads(&d);
        assert!(
            matches!(all[2].anchor, Anchor::Moved { .. }),
            "{:?}",
            all[2].anchor
        );
        assert_eq!(all[0].anchor, all[2].anchor);
        let (s, e) = pos(&body_text(&d), "Regionerna");
        splice(&mut d, s, (e - s) as isize, "Landstingen");
        let all = checked_threads(&d);
        assert_eq!(all[3].anchor, Anchor::Orphaned);
        assert_eq!(all[3].quote, "Regionerna");
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(usize, usize, String),
        Delete(usize, usize, usize),
        Split(usize, usize),
        Paste(usize, usize, usize, String),
        Comment(usize, usize, usize),
        /// A reply, reaction, edit, deletion or resolution (by the last
        /// number) on one of the threads started so far.
        Discuss(usize, usize, usize),
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
            (0..3usize, 0..100usize, 0..5usize).prop_map(|(p, t, what)| Op::Discuss(p, t, what)),
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
                            // Some as written before the flat keys.
                            if n % 3 == 0 {
                                create_old_thread(&mut tx, &id, "issue", s, e, "kommentar", 0)
                            } else {
                                create_thread(&mut tx, &id, "issue", s, e, "kommentar", 0)
                            }
                            .expect("thread");
                            tx.commit();
                            created.push(id);
                        }
                    }
                    Op::Discuss(p, t, what) => {
                        let Some(id) = (!created.is_empty()).then(|| created[t % created.len()].clone()) else {
                            continue;
                        };
                        let first = format!("{id}-0");
                        let actor = ActorId::from([*p as u8 + 2; 16]);
                        let mut tx = peers[*p].transaction();
                        // The thread may not have reached this peer yet.
                        let _ = match what {
                            0 => add_comment(&mut tx, &id, &format!("{id}-{n}"), "svar 😀", n as i64),
                            1 => react(&mut tx, &id, &first, "👍", &actor, n % 2 == 0),
                            2 => edit_comment(&mut tx, &id, &first, "ändrad"),
                            3 => delete_comment(&mut tx, &id, &first),
                            _ => set_resolved(&mut tx, &id, n % 2 == 0),
                        };
                        tx.commit();
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
            let views = checked_threads(&all);
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
            prop_assert_eq!(checked_threads(&peers[1]), views);
        }

        /// Finding a quote through the index's sorted pairs of units gives
        /// what a scan of the whole text gives, from any position.
        #[test]
        fn quote_search_agrees_with_a_scan(body in "[abx😀]{0,40}", quote in "[abx😀]{1,6}") {
            let mut d = Automerge::new();
            Summary {
                sections: vec![Section { id: "issue".into(), heading: "H".into(), body }],
                ..Summary::default()
            }
            .write_new(&mut d)
            .expect("write");
            let index = TextIndex::new(&d, &section_body(&d, "issue").expect("body"));
            prop_assert_eq!(index.text(), &utf16(&body_text(&d))[..]);
            let quote = utf16(&quote);
            for near in 0..=index.text().len() + 1 {
                prop_assert_eq!(
                    index.closest(&quote, near),
                    closest_by_scan(index.text(), &quote, near),
                    "near {}", near
                );
            }
        }
    }
}
