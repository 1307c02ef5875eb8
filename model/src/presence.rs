//! Presence: who is reading a summary now and where their selection is,
//! sent as ephemeral messages (CBOR maps, as automerge-repo peers send).
//!
//! A selection travels twice: as UTF-16 offsets into the section's body, and
//! as automerge cursors on its first and last character. Offsets go stale
//! as soon as anyone edits the text before them; the cursors name the
//! characters themselves, so a receiver resolves them in its own copy of the
//! document ([`Presence::range_in`]) and underlines the same characters
//! after any edit, without the sender announcing again. Offsets remain the
//! fallback when the receiver cannot find those characters (they have not
//! arrived yet or were deleted, or a peer sends no cursors); the sender
//! follows its own selection through edits ([`follow_own`]) and announces
//! again when it moved.
//!
//! ```text
//! { name: str, color: "#rrggbb", section?: str,
//!   start: uint, end: uint,            UTF-16, in the section's body
//!   firstChar?: str, lastChar?: str,  cursors, "counter@actorhex"
//!   leaving?: true }                  sent once as the page closes
//! ```

use automerge::{ActorId, Cursor, ObjId, ReadDoc, ScalarValueRef, ValueRef};
use ciborium::Value;

/// One peer's presence, as it announces it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Presence {
    /// The display name (the server vouches only for document changes; a
    /// presence name is what the peer says).
    pub name: String,
    /// A CSS colour for the peer's marks, e.g. "#b3261e".
    pub color: String,
    /// The section the selection is in, if any.
    pub section: Option<String>,
    /// The selection (UTF-16, start ≤ end) in that section's body when it
    /// was announced.
    pub start: u32,
    pub end: u32,
    /// The same selection as automerge cursors (strings, as
    /// `Cursor::to_string` writes them) on its first and its last
    /// character: see [`selection_cursors`] and [`Presence::range_in`].
    pub cursors: Option<(String, String)>,
    /// The peer is going (its page closes): forget it now, not when it
    /// has been silent long enough.
    pub leaving: bool,
}

/// Longest name and colour kept from another peer.
const MAX_FIELD: usize = 80;

/// Longest cursor string kept from another peer: a counter and an actor id
/// in hex (ours are 16 or 32 bytes).
const MAX_CURSOR: usize = 160;

impl Presence {
    pub fn encode(&self) -> Vec<u8> {
        let mut fields = vec![
            (Value::Text("name".into()), Value::Text(self.name.clone())),
            (Value::Text("color".into()), Value::Text(self.color.clone())),
            (
                Value::Text("start".into()),
                Value::Integer(self.start.into()),
            ),
            (Value::Text("end".into()), Value::Integer(self.end.into())),
        ];
        if let Some(section) = &self.section {
            fields.push((Value::Text("section".into()), Value::Text(section.clone())));
        }
        if let Some((first, last)) = &self.cursors {
            fields.push((Value::Text("firstChar".into()), Value::Text(first.clone())));
            fields.push((Value::Text("lastChar".into()), Value::Text(last.clone())));
        }
        if self.leaving {
            fields.push((Value::Text("leaving".into()), Value::Bool(true)));
        }
        let mut out = Vec::new();
        docsync::cbor::write(&Value::Map(fields), &mut out);
        out
    }

    /// Reads another peer's presence; `None` if it is not one.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        // Depth as ciborium's `from_reader` allowed.
        let Value::Map(fields) = docsync::cbor::read(bytes, 256).ok()? else {
            return None;
        };
        let mut p = Presence::default();
        let (mut first, mut last) = (None, None);
        for (k, v) in fields {
            let Value::Text(k) = k else { continue };
            match (k.as_str(), v) {
                ("name", Value::Text(s)) => p.name = s.chars().take(MAX_FIELD).collect(),
                ("color", Value::Text(s)) if is_color(&s) => p.color = s,
                ("section", Value::Text(s)) => {
                    p.section = Some(s.chars().take(MAX_FIELD).collect())
                }
                ("start", Value::Integer(n)) => p.start = u32::try_from(n).unwrap_or(0),
                ("end", Value::Integer(n)) => p.end = u32::try_from(n).unwrap_or(0),
                ("firstChar", Value::Text(s)) if is_cursor(&s) => first = Some(s),
                ("lastChar", Value::Text(s)) if is_cursor(&s) => last = Some(s),
                ("leaving", Value::Bool(b)) => p.leaving = b,
                _ => {}
            }
        }
        if p.end < p.start {
            p.end = p.start;
        }
        // Both or neither: half a selection names no range.
        p.cursors = first.zip(last);
        Some(p)
    }

    /// Where this selection lies now in `text` (the body of
    /// [`Presence::section`] in `doc`), UTF-16, half-open: from its first
    /// character to the end of its last, found by their cursors when both
    /// characters are in `text`; else (they were deleted, or have not
    /// arrived yet, or no cursors came) the announced offsets. Clamped to
    /// the text; `None` when empty.
    ///
    /// Any cursor string is safe here: they are looked for among the text's
    /// characters, never handed to automerge's `get_cursor_position`, which
    /// panics on a cursor naming a character of another object.
    pub fn range_in(&self, doc: &impl ReadDoc, text: &ObjId) -> Option<(usize, usize)> {
        let len = doc.length(text);
        let (start, end) = self
            .cursors
            .as_ref()
            .and_then(|(first, last)| range_of_characters(doc, text, first, last))
            .unwrap_or((self.start as usize, self.end as usize));
        let (start, end) = (start.min(len), end.min(len));
        (start < end).then_some((start, end))
    }
}

/// Cursors on the first and the last character of `start..end` (UTF-16,
/// non-empty) of the text object `text`, as strings for
/// [`Presence::cursors`]; `None` if the range is not in the text.
pub fn selection_cursors(
    doc: &impl ReadDoc,
    text: &ObjId,
    start: usize,
    end: usize,
) -> Option<(String, String)> {
    if start >= end || end > doc.length(text) {
        return None;
    }
    let first = doc.get_cursor(text, start, None).ok()?;
    let last = doc.get_cursor(text, end - 1, None).ok()?;
    Some((first.to_string(), last.to_string()))
}

/// Where a selection this peer made with [`selection_cursors`] on `text`
/// lies now, through any edits: a deleted first character gives way to the
/// next one still there, a deleted last character to the one before it.
/// `None` when nothing of it is left or a cursor does not parse.
///
/// Only for cursors made on `text` itself: automerge's
/// `get_cursor_position` panics on a cursor of another object's character
/// (use [`Presence::range_in`] for what other peers send).
pub fn follow_own(
    doc: &impl ReadDoc,
    text: &ObjId,
    cursors: &(String, String),
) -> Option<(usize, usize)> {
    let (first, last) = (parse_cursor(&cursors.0)?, parse_cursor(&cursors.1)?);
    let start = doc.get_cursor_position(text, &first, None).ok()?;
    // A deleted character's cursor resolves to the next character left, so
    // the selection then ends before it; a character still there ends after
    // its last UTF-16 unit (an emoji has two).
    let at = doc.get_cursor_position(text, &last, None).ok()?;
    let end = if cursor_at(doc, text, at).as_ref() == Some(&last) {
        at + 1 + usize::from(cursor_at(doc, text, at + 1).as_ref() == Some(&last))
    } else {
        at
    };
    (start < end).then_some((start, end))
}

/// The range from the character `first` names to the end of the one `last`
/// names, when both are in `text` now: one pass over its characters.
fn range_of_characters(
    doc: &impl ReadDoc,
    text: &ObjId,
    first: &str,
    last: &str,
) -> Option<(usize, usize)> {
    let (first, last) = (OpName::parse(first)?, OpName::parse(last)?);
    let (mut start, mut end) = (None, None);
    let mut at = 0;
    for item in doc.list_range(text, ..) {
        let width = match &item.value {
            ValueRef::Scalar(ScalarValueRef::Str(s)) => s.encode_utf16().count(),
            _ => 1,
        };
        if let ObjId::Id(counter, actor, _) = item.id() {
            if first.is(counter, &actor) {
                start = Some(at);
            }
            if last.is(counter, &actor) {
                end = Some(at + width);
            }
        }
        at += width;
        if start.is_some() && end.is_some() {
            break;
        }
    }
    Some((start?, end?))
}

/// The operation a cursor string names: `counter@actorhex`.
struct OpName<'a> {
    counter: u64,
    actor: &'a str,
}

impl<'a> OpName<'a> {
    fn parse(cursor: &'a str) -> Option<Self> {
        if !is_cursor(cursor) {
            return None;
        }
        let (counter, actor) = cursor.split_once('@')?;
        Some(OpName {
            counter: counter.parse().ok()?,
            actor,
        })
    }

    fn is(&self, counter: u64, actor: &ActorId) -> bool {
        // Hex only for the rare character with the same counter.
        counter == self.counter && actor.to_hex_string() == self.actor
    }
}

/// The cursor of the character at `at` in `text`, if there is one.
fn cursor_at(doc: &impl ReadDoc, text: &ObjId, at: usize) -> Option<Cursor> {
    if at >= doc.length(text) {
        return None;
    }
    doc.get_cursor(text, at, None).ok()
}

/// Only what [`selection_cursors`] writes: `counter@actorhex` (lower-case
/// hex). automerge's own parser slices strings by bytes and would panic on
/// some input (an empty string, a multi-byte first character), so nothing
/// else reaches it.
fn is_cursor(s: &str) -> bool {
    let Some((counter, actor)) = s.split_once('@') else {
        return false;
    };
    s.len() <= MAX_CURSOR
        && (1..=19).contains(&counter.len())
        && counter.bytes().all(|b| b.is_ascii_digit())
        && !actor.is_empty()
        && actor.len() % 2 == 0
        && actor
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn parse_cursor(s: &str) -> Option<Cursor> {
    if !is_cursor(s) {
        return None;
    }
    match Cursor::try_from(s).ok()? {
        // A cursor on a character: never the start or end of the text.
        c @ Cursor::Op(_) => Some(c),
        _ => None,
    }
}

/// Only `#rrggbb`: a colour from another peer ends up in a style.
fn is_color(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].chars().all(|c| c.is_ascii_hexdigit())
}

/// A colour for a peer, stable for its id: readable on white (WCAG AA for
/// large marks).
pub fn color_for(id: &str) -> &'static str {
    const COLORS: [&str; 8] = [
        "#b3261e", "#1b6e3a", "#0b57d0", "#8e24aa", "#a15c00", "#00696f", "#c2185b", "#4e5b00",
    ];
    let hash = id
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    COLORS[hash as usize % COLORS.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ObjType, ROOT};
    use proptest::prelude::*;

    const BODY: &str = "Läkemedelsverket 😀 — ATMP";

    fn units(s: &str) -> usize {
        s.encode_utf16().count()
    }

    fn at(needle: &str) -> usize {
        units(&BODY[..BODY.find(needle).expect("in the body")])
    }

    /// A document with a text object holding [`BODY`].
    fn body_doc() -> (AutoCommit, ObjId) {
        let mut doc = AutoCommit::new();
        let text = doc.put_object(ROOT, "body", ObjType::Text).expect("text");
        doc.splice_text(&text, 0, 0, BODY).expect("splice");
        (doc, text)
    }

    /// What another peer announces for `start..end` of `text` in `doc`.
    fn announced(doc: &AutoCommit, text: &ObjId, start: usize, end: usize) -> Presence {
        let p = Presence {
            name: "Alice".into(),
            color: "#0b57d0".into(),
            section: Some("issue".into()),
            start: start as u32,
            end: end as u32,
            cursors: selection_cursors(doc, text, start, end),
            leaving: false,
        };
        Presence::decode(&p.encode()).expect("decodes")
    }

    /// The text of `range` in `doc`.
    fn covered(range: Option<(usize, usize)>, doc: &AutoCommit, text: &ObjId) -> Option<String> {
        let (start, end) = range?;
        let units: Vec<u16> = doc.text(text).expect("text").encode_utf16().collect();
        Some(String::from_utf16(&units[start..end]).expect("whole characters"))
    }

    #[test]
    fn presence_round_trips_and_rejects_styles() {
        let p = Presence {
            name: "Åsa Öberg 😀".into(),
            color: "#0b57d0".into(),
            section: Some("issue".into()),
            start: 3,
            end: 9,
            cursors: Some(("12@0a1b".into(), "15@0a1b".into())),
            leaving: false,
        };
        assert_eq!(Presence::decode(&p.encode()), Some(p.clone()));
        let gone = Presence { leaving: true, ..p };
        assert_eq!(Presence::decode(&gone.encode()), Some(gone));
        let hostile = Presence {
            color: "red; background: url(x)".into(),
            start: 9,
            end: 3,
            ..Presence::default()
        };
        let back = Presence::decode(&hostile.encode()).expect("decodes");
        assert_eq!(back.color, "");
        assert_eq!((back.start, back.end), (9, 9));
        assert_eq!(Presence::decode(b"\xff"), None);
    }

    #[test]
    fn another_readers_selection_stays_on_its_characters() {
        let (mut doc, text) = body_doc();
        let atmp = announced(&doc, &text, at("ATMP"), at("ATMP") + 4);
        let emoji = announced(&doc, &text, at("😀"), at("😀") + 2);
        let word = announced(&doc, &text, 0, at(" 😀"));
        let seen = |p: &Presence, doc: &AutoCommit| covered(p.range_in(doc, &text), doc, &text);
        assert_eq!(seen(&word, &doc).as_deref(), Some("Läkemedelsverket"));
        // Text inserted before them: the offsets are stale, the cursors not.
        doc.splice_text(&text, 0, 0, "Om: ").expect("insert");
        assert_eq!(seen(&atmp, &doc).as_deref(), Some("ATMP"));
        assert_eq!(seen(&emoji, &doc).as_deref(), Some("😀"));
        assert_eq!(seen(&word, &doc).as_deref(), Some("Läkemedelsverket"));
        // Text right after a selection stays out of it; text inside, in.
        let len = doc.length(&text);
        doc.splice_text(&text, len, 0, " (CAR-T)").expect("append");
        assert_eq!(seen(&atmp, &doc).as_deref(), Some("ATMP"));
        doc.splice_text(&text, units("Om: Läkemedels"), 0, "-")
            .expect("insert inside");
        assert_eq!(seen(&word, &doc).as_deref(), Some("Läkemedels-verket"));
        // An end deleted: the announced offsets, until the reader's own
        // client announces where its selection went (see `follow_own`).
        doc.splice_text(&text, units("Om: Läkemedels-verke"), 1, "")
            .expect("delete the last");
        assert_eq!(word.range_in(&doc, &text), Some((0, at(" 😀"))));
    }

    #[test]
    fn an_own_selection_follows_its_characters_through_deletions() {
        let (mut doc, text) = body_doc();
        let word = selection_cursors(&doc, &text, 0, at(" 😀")).expect("cursors");
        let emoji = selection_cursors(&doc, &text, at("😀"), at("😀") + 2).expect("cursors");
        let now =
            |c: &(String, String), doc: &AutoCommit| covered(follow_own(doc, &text, c), doc, &text);
        doc.splice_text(&text, 0, 0, "Om: ").expect("insert");
        assert_eq!(now(&word, &doc).as_deref(), Some("Läkemedelsverket"));
        assert_eq!(now(&emoji, &doc).as_deref(), Some("😀"));
        // Its last character deleted, then its first: what is left of it.
        doc.splice_text(&text, units("Om: Läkemedelsverke"), 1, "")
            .expect("delete the last");
        assert_eq!(now(&word, &doc).as_deref(), Some("Läkemedelsverke"));
        doc.splice_text(&text, units("Om: "), 1, "")
            .expect("delete the first");
        assert_eq!(now(&word, &doc).as_deref(), Some("äkemedelsverke"));
        // All of it: nothing.
        doc.splice_text(&text, units("Om: "), units("äkemedelsverke") as isize, "")
            .expect("delete all");
        assert_eq!(follow_own(&doc, &text, &word), None);
        assert_eq!(doc.text(&text).expect("text"), "Om:  😀 — ATMP");
        assert_eq!(now(&emoji, &doc).as_deref(), Some("😀"));
        assert_eq!(follow_own(&doc, &text, &("s".into(), "e".into())), None);
    }

    #[test]
    fn offsets_are_the_fallback_when_cursors_do_not_resolve() {
        let (doc, text) = body_doc();
        let mut p = announced(&doc, &text, 0, 3);
        // A cursor of characters this copy has not seen (another actor).
        p.cursors = Some(("1@00ff".into(), "2@00ff".into()));
        assert_eq!(p.range_in(&doc, &text), Some((0, 3)));
        // No cursors at all (a peer that sends offsets only), past the end.
        p.cursors = None;
        p.end = 999;
        assert_eq!(p.range_in(&doc, &text), Some((0, units(BODY))));
        // Cursors of another object's characters.
        let (mut other, other_text) = body_doc();
        other.splice_text(&other_text, 0, 0, "x").expect("insert");
        let mut p = announced(&other, &other_text, 0, 1);
        (p.start, p.end) = (4, 6);
        assert_eq!(p.range_in(&doc, &text), Some((4, 6)));
        assert_eq!(selection_cursors(&doc, &text, 3, 3), None);
        assert_eq!(selection_cursors(&doc, &text, 0, 999), None);
    }

    #[test]
    fn hostile_cursor_strings_are_dropped() {
        let (doc, text) = body_doc();
        let real = selection_cursors(&doc, &text, 0, 1).expect("cursors").0;
        let bad = [
            "",
            "s",
            "e",
            "-",
            "@",
            "ä@00",
            "1@ä0",
            "-1@00",
            "1@0",
            "1@zz",
            "@00",
            "1@",
            "12345678901234567890@00",
            "1@00\u{0}",
        ];
        for s in bad.iter().map(|s| s.to_string()).chain([
            format!("{real}{}", "0".repeat(MAX_CURSOR)),
            format!(" {real}"),
        ]) {
            let p = Presence {
                cursors: Some((s.clone(), real.clone())),
                ..Presence::default()
            };
            let back = Presence::decode(&p.encode()).expect("decodes");
            assert_eq!(back.cursors, None, "{s:?} is not a cursor");
        }
        // Not a string at all.
        let mut bytes = Vec::new();
        let map = Value::Map(vec![
            (Value::Text("firstChar".into()), Value::Integer(3.into())),
            (Value::Text("lastChar".into()), Value::Bytes(vec![1, 2])),
        ]);
        ciborium::into_writer(&map, &mut bytes).expect("encode");
        assert_eq!(Presence::decode(&bytes).expect("decodes").cursors, None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Any cursor-shaped string (a real actor with any counter: the
        /// ids of map keys, other objects, deletions, nothing) and any
        /// other string, resolved against a document: no panic, and a range
        /// inside the text.
        #[test]
        fn any_cursor_resolves_safely(
            first in 0u64..80,
            last in 0u64..80,
            junk in "\\PC{0,12}",
            start in 0u32..60,
            end in 0u32..60,
        ) {
            let (mut doc, text) = body_doc();
            let map = doc.put_object(ROOT, "m", ObjType::Map).expect("map");
            doc.put(&map, "k", "v").expect("put");
            doc.splice_text(&text, 3, 4, "").expect("delete");
            let actor = doc.get_actor().to_hex_string();
            for cursors in [
                (format!("{first}@{actor}"), format!("{last}@{actor}")),
                (junk.clone(), format!("{last}@{actor}")),
                (format!("{first}@{actor}"), junk.clone()),
            ] {
                let p = Presence { start, end, cursors: Some(cursors), ..Presence::default() };
                let p = Presence::decode(&p.encode()).expect("decodes");
                if let Some((s, e)) = p.range_in(&doc, &text) {
                    prop_assert!(s < e && e <= doc.length(&text));
                }
            }
        }
    }
}
