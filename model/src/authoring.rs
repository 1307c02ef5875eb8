//! Hosts' edits of the summary itself, as the browser client makes them:
//! sections (add, rename, move, delete), the workshop's metadata, and
//! actions (add, edit, delete).
//!
//! Every function works in the caller's automerge transaction and writes
//! only what differs: an edit that changes nothing writes nothing and
//! returns `Ok(false)`. Text (titles, headings, an action's text) is
//! spliced where it changed ([`crate::view::splice`]), so concurrent edits
//! of one heading merge like any text. No document shape makes these
//! functions panic: a missing or misshapen part is a [`SchemaError`].
//!
//! Sections move by their `order` key ([`SECTION_ORDER`]), never by being
//! recreated: comment threads anchor on a section body's text object with
//! cursors (crate::threads), and a recreated body would orphan them all. A
//! move numbers every section afresh (0..n in the new reading order,
//! writing only the numbers that changed), so concurrent moves converge to
//! one order: each section's number is one register that automerge
//! resolves the same way everywhere, and ties fall back to list order.
//! Documents that never had a section moved have no `order` keys and keep
//! reading in list order; a section added to one is placed by its list
//! position alone.
//!
//! Who may make these edits is the server's business: hosts write the
//! summary, participants never (crate::permissions refuses any operation
//! under `workshop`, `sections` or `actions` from a participant).

use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, ROOT, ReadDoc, Value};

use crate::summary::{
    self, Action, SECTION_ORDER, SchemaError, Section, SectionEntry, Workshop, keys,
};
use crate::view::splice;

/// The statuses an action may have.
pub const ACTION_STATUSES: [&str; 3] = ["open", "in-progress", "done"];

/// Adds a section (id, heading, empty body) after the section `after` in
/// reading order, or at the end. Ids are unique: an id already in use is
/// [`SchemaError::Taken`]; an unknown `after` is [`SchemaError::NotFound`].
pub fn add_section<T: Transactable + ReadDoc>(
    tx: &mut T,
    id: &str,
    heading: &str,
    after: Option<&str>,
) -> Result<(), SchemaError> {
    if id.is_empty() {
        return Err(SchemaError::Invalid("a section needs an id"));
    }
    let (list, mut entries) = sections(tx)?;
    if position(&entries, id).is_some() {
        return Err(SchemaError::Taken {
            kind: "section",
            id: id.to_owned(),
        });
    }
    // `at`: its place in reading order; `index`: its place in the list,
    // right after `after`'s map (which is the reading order in documents
    // without `order` keys, and breaks ties in those with them).
    let (at, index) = match after {
        None => (entries.len(), tx.length(&list)),
        Some(after) => {
            let i = position(&entries, after).ok_or_else(|| not_found("section", after))?;
            (i + 1, entries[i].index + 1)
        }
    };
    let order = if entries.iter().any(|e| e.order.is_some()) {
        Some(order_at(tx, &mut entries, at)?)
    } else {
        None
    };
    let section = Section {
        id: id.to_owned(),
        heading: heading.to_owned(),
        body: String::new(),
    };
    summary::insert_section(tx, &list, index, &section, order)?;
    Ok(())
}

/// Renames a section: splices its heading where it changed (so concurrent
/// renames merge like text).
pub fn rename_section<T: Transactable + ReadDoc>(
    tx: &mut T,
    section: &str,
    heading: &str,
) -> Result<bool, SchemaError> {
    let (_, entries) = sections(tx)?;
    let i = position(&entries, section).ok_or_else(|| not_found("section", section))?;
    set_text(tx, &entries[i].obj, "heading", heading)
}

/// Moves a section to place `to` of the reading order (past the end: the
/// last place), keeping the section itself (its body, and so the anchors of
/// its comment threads). Numbers every section 0..n in the new order,
/// writing only the numbers that change.
pub fn move_section<T: Transactable + ReadDoc>(
    tx: &mut T,
    section: &str,
    to: usize,
) -> Result<bool, SchemaError> {
    let (_, mut entries) = sections(tx)?;
    let from = position(&entries, section).ok_or_else(|| not_found("section", section))?;
    let to = to.min(entries.len().saturating_sub(1));
    if from == to {
        return Ok(false);
    }
    let moved = entries.remove(from);
    entries.insert(to, moved);
    renumber(tx, &mut entries, None)
}

/// Deletes a section (its comment threads stay, and read as orphaned).
/// `Ok(false)` if there is no such section.
pub fn delete_section<T: Transactable + ReadDoc>(
    tx: &mut T,
    section: &str,
) -> Result<bool, SchemaError> {
    let (list, entries) = sections(tx)?;
    let Some(i) = position(&entries, section) else {
        return Ok(false);
    };
    tx.delete(&list, entries[i].index)?;
    Ok(true)
}

/// Sets the workshop's metadata to `w`, writing only what differs: the
/// title is spliced; `when`, meeting type, format, language and
/// registration are put; the hosts, stakeholders and ambassadors lists are
/// edited where they differ (the entries in between the common start and
/// end are replaced), so concurrent additions to a list both stay.
pub fn set_workshop<T: Transactable + ReadDoc>(
    tx: &mut T,
    w: &Workshop,
) -> Result<bool, SchemaError> {
    let obj = object_of(tx, keys::WORKSHOP, ObjType::Map)?;
    let mut changed = set_text(tx, &obj, "title", &w.title)?;
    changed |= set_str(tx, &obj, "when", &w.when)?;
    changed |= set_list(tx, &obj, "hosts", &w.hosts)?;
    changed |= set_list(tx, &obj, "stakeholders", &w.stakeholders)?;
    changed |= set_list(tx, &obj, "ambassadors", &w.ambassadors)?;
    changed |= set_str(tx, &obj, "meetingType", w.meeting_type.as_str())?;
    changed |= set_str(tx, &obj, "format", &w.format)?;
    changed |= set_str(tx, &obj, "language", &w.language)?;
    changed |= set_str(tx, &obj, "registration", &w.registration)?;
    Ok(changed)
}

/// Adds an action at the end of the list. Its id must be new and its
/// status one of [`ACTION_STATUSES`].
pub fn add_action<T: Transactable + ReadDoc>(tx: &mut T, a: &Action) -> Result<(), SchemaError> {
    if a.id.is_empty() {
        return Err(SchemaError::Invalid("an action needs an id"));
    }
    check_status(&a.status)?;
    let list = object_of(tx, keys::ACTIONS, ObjType::List)?;
    if find_action(tx, &list, &a.id).is_some() {
        return Err(SchemaError::Taken {
            kind: "action",
            id: a.id.clone(),
        });
    }
    let end = tx.length(&list);
    summary::insert_action(tx, &list, end, a)?;
    Ok(())
}

/// Sets the action `a.id` to `a`: its text spliced, owner, due date and
/// status put where they differ. The status must be one of
/// [`ACTION_STATUSES`].
pub fn set_action<T: Transactable + ReadDoc>(tx: &mut T, a: &Action) -> Result<bool, SchemaError> {
    check_status(&a.status)?;
    let list = object_of(tx, keys::ACTIONS, ObjType::List)?;
    let (_, obj) = find_action(tx, &list, &a.id).ok_or_else(|| not_found("action", &a.id))?;
    let mut changed = set_text(tx, &obj, "text", &a.text)?;
    changed |= set_str(tx, &obj, "owner", &a.owner)?;
    changed |= set_str(tx, &obj, "due", &a.due)?;
    changed |= set_str(tx, &obj, "status", &a.status)?;
    Ok(changed)
}

/// Deletes the action `id`; `Ok(false)` if there is none.
pub fn delete_action<T: Transactable + ReadDoc>(tx: &mut T, id: &str) -> Result<bool, SchemaError> {
    let list = object_of(tx, keys::ACTIONS, ObjType::List)?;
    let Some((index, _)) = find_action(tx, &list, id) else {
        return Ok(false);
    };
    tx.delete(&list, index)?;
    Ok(true)
}

fn not_found(kind: &'static str, id: &str) -> SchemaError {
    SchemaError::NotFound {
        kind,
        id: id.to_owned(),
    }
}

fn check_status(status: &str) -> Result<(), SchemaError> {
    if ACTION_STATUSES.contains(&status) {
        Ok(())
    } else {
        Err(SchemaError::Status(status.to_owned()))
    }
}

/// The root object `key`, which must be of kind `kind`.
fn object_of(doc: &impl ReadDoc, key: &'static str, kind: ObjType) -> Result<ObjId, SchemaError> {
    match doc.get(ROOT, key)? {
        Some((Value::Object(k), id)) if k == kind => Ok(id),
        _ => Err(SchemaError::Shape(key)),
    }
}

/// The sections list and its sections in reading order.
fn sections(doc: &impl ReadDoc) -> Result<(ObjId, Vec<SectionEntry>), SchemaError> {
    let list = object_of(doc, keys::SECTIONS, ObjType::List)?;
    let entries = summary::section_entries(doc, &list);
    Ok((list, entries))
}

/// The place in reading order of the section `id`. Should two share an id
/// (concurrent additions), the first in the list: the one whose body
/// [`crate::threads::section_body`] anchors threads on.
fn position(entries: &[SectionEntry], id: &str) -> Option<usize> {
    entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.id == id)
        .min_by_key(|(_, e)| e.index)
        .map(|(i, _)| i)
}

/// The order number for a new section at place `at` of the reading order
/// of a document that uses `order` keys: halfway between its neighbours'.
/// Where there is no room (ties after concurrent moves, or numbers too
/// close for an f64), or some section has no number, every section is
/// numbered afresh with a gap at `at`.
fn order_at(
    tx: &mut impl Transactable,
    entries: &mut [SectionEntry],
    at: usize,
) -> Result<f64, SchemaError> {
    if entries.iter().all(|e| e.order.is_some()) {
        let before = at.checked_sub(1).map(|i| entries[i].key());
        let after = entries.get(at).map(SectionEntry::key);
        let order = match (before, after) {
            (None, None) => 0.0,
            (Some(b), None) => b + 1.0,
            (None, Some(a)) => a - 1.0,
            (Some(b), Some(a)) => b + (a - b) / 2.0,
        };
        let fits = order.is_finite()
            && before.is_none_or(|b| b < order)
            && after.is_none_or(|a| order < a);
        if fits {
            return Ok(order);
        }
    }
    renumber(tx, entries, Some(at))?;
    Ok(at as f64)
}

/// Numbers `entries` (in their new reading order) 0, 1, 2, … leaving out
/// `gap`, writing only the numbers that differ. Returns whether it wrote.
fn renumber(
    tx: &mut impl Transactable,
    entries: &mut [SectionEntry],
    gap: Option<usize>,
) -> Result<bool, SchemaError> {
    let mut changed = false;
    for (i, e) in entries.iter_mut().enumerate() {
        let n = if gap.is_some_and(|g| i >= g) {
            i + 1
        } else {
            i
        };
        let order = n as f64;
        if e.order != Some(order) {
            tx.put(&e.obj, SECTION_ORDER, order)?;
            e.order = Some(order);
            changed = true;
        }
    }
    Ok(changed)
}

/// The first action map with this id, and its list index.
fn find_action(doc: &impl ReadDoc, list: &ObjId, id: &str) -> Option<(usize, ObjId)> {
    (0..doc.length(list)).find_map(|i| match doc.get(list, i) {
        Ok(Some((Value::Object(ObjType::Map), m))) if summary::string(doc, &m, "id") == id => {
            Some((i, m))
        }
        _ => None,
    })
}

/// Makes `obj.key` the text `value`: a minimal splice of its text object,
/// or a new text object where there was none (or something else).
fn set_text<T: Transactable + ReadDoc>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
    value: &str,
) -> Result<bool, SchemaError> {
    if let Some((Value::Object(ObjType::Text), text)) = tx.get(obj, key)? {
        let Some((at, delete, insert)) = splice(&tx.text(&text)?, value) else {
            return Ok(false);
        };
        let delete = isize::try_from(delete).map_err(|_| SchemaError::Invalid("text too long"))?;
        tx.splice_text(&text, at, delete, &insert)?;
        return Ok(true);
    }
    if summary::text(tx, obj, key) == value {
        return Ok(false);
    }
    summary::put_text(tx, obj, key, value)?;
    Ok(true)
}

/// Makes `obj.key` the string `value` (read as [`summary::string`] reads
/// it, so an absent key is the empty string).
fn set_str<T: Transactable + ReadDoc>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
    value: &str,
) -> Result<bool, SchemaError> {
    if summary::string(tx, obj, key) == value {
        return Ok(false);
    }
    tx.put(obj, key, value)?;
    Ok(true)
}

/// Makes `obj.key` the list of strings `values`: a list of plain strings
/// is edited between its common start and end with `values`; anything else
/// that does not already read as `values` is replaced by a new list.
fn set_list<T: Transactable + ReadDoc>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
    values: &[String],
) -> Result<bool, SchemaError> {
    if let Some((Value::Object(ObjType::List), list)) = tx.get(obj, key)? {
        let items: Option<Vec<String>> = (0..tx.length(&list))
            .map(|i| match tx.get(&list, i) {
                Ok(Some((Value::Scalar(s), _))) => s.as_str().map(str::to_owned),
                _ => None,
            })
            .collect();
        if let Some(items) = items {
            if items == values {
                return Ok(false);
            }
            let prefix = items.iter().zip(values).take_while(|(a, b)| a == b).count();
            let room = items.len().min(values.len()) - prefix;
            let suffix = items
                .iter()
                .rev()
                .zip(values.iter().rev())
                .take(room)
                .take_while(|(a, b)| a == b)
                .count();
            for _ in prefix..items.len() - suffix {
                tx.delete(&list, prefix)?;
            }
            for (i, v) in values[prefix..values.len() - suffix].iter().enumerate() {
                tx.insert(&list, prefix + i, v.as_str())?;
            }
            return Ok(true);
        }
    }
    if summary::strings(tx, obj, key) == values {
        return Ok(false);
    }
    let list = tx.put_object(obj, key, ObjType::List)?;
    for (i, v) in values.iter().enumerate() {
        tx.insert(&list, i, v.as_str())?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::{MeetingType, Summary};
    use crate::threads::{self, Anchor};
    use automerge::{ActorId, Automerge, ScalarValue};
    use proptest::prelude::*;

    fn section(id: &str, body: &str) -> Section {
        Section {
            id: id.into(),
            heading: format!("Rubrik {id}"),
            body: body.into(),
        }
    }

    /// A summary with sections a, b, c, d (in list order, no `order` keys:
    /// as every document written before moves existed) and one action.
    fn doc(actor: u8) -> Automerge {
        let mut doc = Automerge::new().with_actor(ActorId::from([actor; 16]));
        Summary {
            workshop: Workshop {
                title: "Betalningsmodeller för ATMP 😀".into(),
                when: "Onsdag 18:e Nov 13:00-14:15".into(),
                hosts: vec!["Sofie Alverlind, SKR".into()],
                stakeholders: vec!["Mikael Svensson, SKR".into(), "Anna Alassad, TLV".into()],
                meeting_type: MeetingType::InviteOnly,
                ..Workshop::default()
            },
            sections: vec![
                section("a", "Första avsnittet."),
                section("b", "Regionerna behöver samarbeta om infrastruktur."),
                section("c", "Tredje."),
                section("d", "Fjärde."),
            ],
            actions: vec![Action {
                id: "x1".into(),
                text: "Ta fram en plan".into(),
                owner: "TLV".into(),
                due: "2021-06-01".into(),
                status: "open".into(),
            }],
        }
        .write_new(&mut doc)
        .expect("write");
        doc
    }

    fn read(doc: &Automerge) -> Summary {
        Summary::read(doc).expect("read")
    }

    fn ids(doc: &Automerge) -> Vec<String> {
        read(doc).sections.into_iter().map(|s| s.id).collect()
    }

    /// Runs `f` in one transaction and commits it.
    fn edit<T>(
        doc: &mut Automerge,
        f: impl FnOnce(&mut automerge::transaction::Transaction<'_>) -> T,
    ) -> T {
        let mut tx = doc.transaction();
        let out = f(&mut tx);
        tx.commit();
        out
    }

    /// Runs `f` and asserts it wrote nothing and said so.
    fn no_op(
        doc: &mut Automerge,
        f: impl FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<bool, SchemaError>,
    ) {
        let heads = doc.get_heads();
        let mut tx = doc.transaction();
        assert!(!f(&mut tx).expect("edit"), "said it changed something");
        assert_eq!(tx.pending_ops(), 0, "wrote operations");
        tx.commit();
        assert_eq!(doc.get_heads(), heads);
    }

    fn fork(doc: &Automerge, actor: u8) -> Automerge {
        doc.fork().with_actor(ActorId::from([actor; 16]))
    }

    fn merged(mut one: Automerge, mut other: Automerge) -> (Automerge, Automerge) {
        one.merge(&mut other.clone()).expect("merge");
        other.merge(&mut one.clone()).expect("merge");
        (one, other)
    }

    fn has_order_keys(doc: &Automerge) -> bool {
        let list = doc.get(ROOT, keys::SECTIONS).expect("get").expect("list").1;
        (0..doc.length(&list)).any(|i| {
            let s = doc.get(&list, i).expect("get").expect("section").1;
            doc.get(&s, SECTION_ORDER).expect("get").is_some()
        })
    }

    #[test]
    fn sections_are_added_where_asked() {
        let mut d = doc(1);
        edit(&mut d, |tx| add_section(tx, "e", "Nytt", Some("a"))).expect("add");
        edit(&mut d, |tx| add_section(tx, "f", "Sist", None)).expect("add");
        assert_eq!(ids(&d), ["a", "e", "b", "c", "d", "f"]);
        let e = &read(&d).sections[1];
        assert_eq!((e.heading.as_str(), e.body.as_str()), ("Nytt", ""));
        // Placed by list position alone: an old document stays without
        // order keys until something moves.
        assert!(!has_order_keys(&d));
        // Once sections have moved, new ones are numbered between their
        // neighbours.
        edit(&mut d, |tx| move_section(tx, "f", 0)).expect("move");
        assert_eq!(ids(&d), ["f", "a", "e", "b", "c", "d"]);
        edit(&mut d, |tx| add_section(tx, "g", "Efter f", Some("f"))).expect("add");
        edit(&mut d, |tx| add_section(tx, "h", "Efter d", Some("d"))).expect("add");
        edit(&mut d, |tx| add_section(tx, "i", "Slutet", None)).expect("add");
        assert_eq!(ids(&d), ["f", "g", "a", "e", "b", "c", "d", "h", "i"]);
        // Many additions at one place run out of room between two f64s
        // and renumber; the order holds.
        let mut after = "f".to_owned();
        for n in 0..70 {
            let id = format!("n{n}");
            edit(&mut d, |tx| add_section(tx, &id, "", Some(&after))).expect("add");
            after = id;
        }
        let got = ids(&d);
        assert_eq!(got[0], "f");
        assert_eq!(got[70], "n69");
        assert_eq!(got[71..], ["g", "a", "e", "b", "c", "d", "h", "i"]);
    }

    #[test]
    fn taken_ids_and_unknown_places_are_errors() {
        let mut d = doc(1);
        let heads = d.get_heads();
        edit(&mut d, |tx| {
            assert!(matches!(
                add_section(tx, "b", "Igen", None),
                Err(SchemaError::Taken { .. })
            ));
            assert!(matches!(
                add_section(tx, "e", "Var?", Some("zz")),
                Err(SchemaError::NotFound { .. })
            ));
            assert!(matches!(
                add_section(tx, "", "Utan id", None),
                Err(SchemaError::Invalid(_))
            ));
            assert!(matches!(
                rename_section(tx, "zz", "x"),
                Err(SchemaError::NotFound { .. })
            ));
            assert!(matches!(
                move_section(tx, "zz", 0),
                Err(SchemaError::NotFound { .. })
            ));
            assert_eq!(tx.pending_ops(), 0);
        });
        assert_eq!(d.get_heads(), heads);
    }

    #[test]
    fn sections_are_renamed_by_splicing() {
        let mut d = doc(1);
        assert!(edit(&mut d, |tx| rename_section(tx, "b", "Rubrik b, ny 😀")).expect("rename"));
        assert_eq!(read(&d).sections[1].heading, "Rubrik b, ny 😀");
        // Only the new characters were written.
        let heads = d.get_heads();
        edit(&mut d, |tx| rename_section(tx, "b", "Rubrik b, ny 😀!")).expect("rename");
        let change = d.get_changes(&heads);
        assert_eq!(change.len(), 1);
        assert_eq!(change[0].len(), 1, "one operation: the inserted '!'");
        no_op(&mut d, |tx| rename_section(tx, "b", "Rubrik b, ny 😀!"));
    }

    #[test]
    fn concurrent_renames_of_one_heading_merge() {
        let base = doc(1);
        let mut one = fork(&base, 2);
        let mut other = fork(&base, 3);
        edit(&mut one, |tx| rename_section(tx, "b", "Stora rubrik b")).expect("rename");
        edit(&mut other, |tx| rename_section(tx, "b", "Rubrik b i dag")).expect("rename");
        let (one, other) = merged(one, other);
        assert_eq!(read(&one).sections[1].heading, "Stora rubrik b i dag");
        assert_eq!(read(&one), read(&other));
    }

    #[test]
    fn sections_move_without_being_recreated() {
        let mut d = doc(1);
        let body_of_b = threads::section_body(&d, "b").expect("body");
        assert!(edit(&mut d, |tx| move_section(tx, "b", 3)).expect("move"));
        assert_eq!(ids(&d), ["a", "c", "d", "b"]);
        assert_eq!(threads::section_body(&d, "b"), Some(body_of_b));
        assert!(edit(&mut d, |tx| move_section(tx, "d", 0)).expect("move"));
        assert_eq!(ids(&d), ["d", "a", "c", "b"]);
        // Past the end: the last place.
        assert!(edit(&mut d, |tx| move_section(tx, "a", 99)).expect("move"));
        assert_eq!(ids(&d), ["d", "c", "b", "a"]);
        no_op(&mut d, |tx| move_section(tx, "a", 3));
        no_op(&mut d, |tx| move_section(tx, "a", 99));
        no_op(&mut d, |tx| move_section(tx, "d", 0));
        // The markdown export follows the reading order.
        let md = read(&d).to_markdown();
        let at = |h: &str| md.find(h).expect("heading");
        assert!(at("## Rubrik d") < at("## Rubrik c") && at("## Rubrik b") < at("## Rubrik a"));
    }

    #[test]
    fn a_move_writes_only_the_numbers_that_change() {
        let mut d = doc(1);
        edit(&mut d, |tx| move_section(tx, "d", 0)).expect("move");
        // Every section is numbered now: d 0, a 1, b 2, c 3. Swapping b and c
        // writes two numbers.
        let heads = d.get_heads();
        edit(&mut d, |tx| move_section(tx, "c", 2)).expect("move");
        assert_eq!(ids(&d), ["d", "a", "c", "b"]);
        assert_eq!(d.get_changes(&heads)[0].len(), 2);
    }

    #[test]
    fn concurrent_moves_converge_to_one_order() {
        let base = doc(1);
        let mut one = fork(&base, 2);
        let mut other = fork(&base, 3);
        edit(&mut one, |tx| move_section(tx, "a", 3)).expect("move");
        edit(&mut other, |tx| move_section(tx, "d", 0)).expect("move");
        assert_eq!(ids(&one), ["b", "c", "d", "a"]);
        assert_eq!(ids(&other), ["d", "a", "b", "c"]);
        let (one, other) = merged(one, other);
        let order = ids(&one);
        assert_eq!(order, ids(&other));
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            ["a", "b", "c", "d"],
            "every section once: {order:?}"
        );
        // A move after the merge settles any ties into a clean order.
        let mut settled = one;
        edit(&mut settled, |tx| move_section(tx, "c", 0)).expect("move");
        let after = ids(&settled);
        assert_eq!(after[0], "c");
        assert_eq!(after.len(), 4);
    }

    #[test]
    fn a_moved_sections_threads_stay_anchored() {
        let mut d = doc(1);
        let body = "Regionerna behöver samarbeta om infrastruktur.";
        let start = body.encode_utf16().count() - "infrastruktur.".encode_utf16().count();
        let end = start + "infrastruktur".encode_utf16().count();
        edit(&mut d, |tx| {
            threads::create_thread(tx, "t1", "b", start, end, "Vilken?", 0)
        })
        .expect("thread");
        edit(&mut d, |tx| move_section(tx, "b", 0)).expect("move");
        edit(&mut d, |tx| add_section(tx, "e", "Ny", None)).expect("add");
        edit(&mut d, |tx| move_section(tx, "b", 4)).expect("move");
        assert_eq!(ids(&d), ["a", "c", "d", "e", "b"]);
        let t = &threads::threads(&d)[0];
        assert_eq!(t.anchor, Anchor::Anchored { start, end });
        assert_eq!(t.quote, "infrastruktur");
        assert_eq!(
            threads::resolve_anchors(&d)[0].anchor,
            Anchor::Anchored { start, end }
        );
    }

    #[test]
    fn deleting_a_section_orphans_its_threads() {
        let mut d = doc(1);
        edit(&mut d, |tx| {
            threads::create_thread(tx, "t1", "b", 0, 10, "Hm", 0)
        })
        .expect("thread");
        assert!(edit(&mut d, |tx| delete_section(tx, "b")).expect("delete"));
        assert_eq!(ids(&d), ["a", "c", "d"]);
        let all = threads::threads(&d);
        assert_eq!(all.len(), 1, "the thread stays listed");
        assert_eq!(all[0].anchor, Anchor::Orphaned);
        assert_eq!(all[0].section, "b");
        assert_eq!(threads::resolve_anchors(&d)[0].anchor, Anchor::Orphaned);
        no_op(&mut d, |tx| delete_section(tx, "b"));
        // Deleting from a moved (numbered) document keeps the others' order.
        edit(&mut d, |tx| move_section(tx, "d", 0)).expect("move");
        edit(&mut d, |tx| delete_section(tx, "a")).expect("delete");
        assert_eq!(ids(&d), ["d", "c"]);
    }

    #[test]
    fn old_documents_read_in_list_order() {
        let d = doc(1);
        assert!(!has_order_keys(&d));
        assert_eq!(ids(&d), ["a", "b", "c", "d"]);
        // Numbers that are not finite numbers count as absent; ties and
        // absent numbers go by list position.
        let mut d = doc(1);
        let list = d.get(ROOT, keys::SECTIONS).expect("get").expect("list").1;
        let obj = |d: &Automerge, i: usize| d.get(&list, i).expect("get").expect("section").1;
        let (a, b, c, dd) = (obj(&d, 0), obj(&d, 1), obj(&d, 2), obj(&d, 3));
        edit(&mut d, |tx| {
            tx.put(&a, SECTION_ORDER, 5.0).expect("put");
            tx.put(&b, SECTION_ORDER, f64::NAN).expect("put");
            tx.put(&c, SECTION_ORDER, "0").expect("put");
            tx.put(&dd, SECTION_ORDER, ScalarValue::Int(1))
                .expect("put");
            // Something not a section in the list is skipped.
            tx.insert(&list, 4, "not a section").expect("insert");
        });
        // Keys: a 5, b 1 (index), c 2 (index), d 1 (tie with b: list order).
        assert_eq!(ids(&d), ["b", "d", "c", "a"]);
        // Moving in such a document still works and numbers them all.
        edit(&mut d, |tx| move_section(tx, "a", 0)).expect("move");
        assert_eq!(ids(&d), ["a", "b", "d", "c"]);
        // An addition in a mixed document renumbers with a gap.
        let mut d2 = doc(1);
        let a2 = d2
            .get(
                &d2.get(ROOT, keys::SECTIONS).expect("get").expect("list").1,
                0,
            )
            .expect("get")
            .expect("a")
            .1;
        edit(&mut d2, |tx| tx.put(&a2, SECTION_ORDER, 2.5).expect("put"));
        assert_eq!(ids(&d2), ["b", "c", "a", "d"]);
        edit(&mut d2, |tx| add_section(tx, "e", "Ny", Some("c"))).expect("add");
        assert_eq!(ids(&d2), ["b", "c", "e", "a", "d"]);
    }

    #[test]
    fn the_workshop_metadata_is_set_field_by_field() {
        let mut d = doc(1);
        let mut w = read(&d).workshop;
        no_op(&mut d, |tx| set_workshop(tx, &w));
        w.title = "Betalningsmodeller för ATMP 😀 – uppföljning".into();
        w.when = "Torsdag 19:e Nov 14:30-16:00".into();
        w.hosts.push("Hanna Host".into());
        w.stakeholders = vec!["Anna Alassad, TLV".into()];
        w.ambassadors = vec!["Ambassadör".into()];
        w.meeting_type = MeetingType::Open;
        w.format = "workshop, open".into();
        w.language = "sv, en".into();
        w.registration = "Alla".into();
        assert!(edit(&mut d, |tx| set_workshop(tx, &w)).expect("set"));
        assert_eq!(read(&d).workshop, w);
        no_op(&mut d, |tx| set_workshop(tx, &w));
        // The summary's own title/meeting type edit goes through here too.
        assert!(edit(&mut d, |tx| summary::set_workshop(tx, Some("Kort"), None)).expect("set"));
        assert_eq!(read(&d).workshop.title, "Kort");
        assert_eq!(read(&d).workshop.hosts, w.hosts);
        no_op(&mut d, |tx| {
            summary::set_workshop(tx, Some("Kort"), Some(MeetingType::Open))
        });
    }

    #[test]
    fn concurrent_list_additions_both_stay() {
        let base = doc(1);
        let mut one = fork(&base, 2);
        let mut other = fork(&base, 3);
        let mut w1 = read(&one).workshop;
        w1.stakeholders.push("Ett".into());
        let mut w2 = read(&other).workshop;
        w2.stakeholders.insert(0, "Två".into());
        edit(&mut one, |tx| set_workshop(tx, &w1)).expect("set");
        edit(&mut other, |tx| set_workshop(tx, &w2)).expect("set");
        let (one, other) = merged(one, other);
        assert_eq!(
            read(&one).workshop.stakeholders,
            ["Två", "Mikael Svensson, SKR", "Anna Alassad, TLV", "Ett"]
        );
        assert_eq!(read(&one), read(&other));
    }

    #[test]
    fn misshapen_metadata_is_replaced_not_a_panic() {
        let mut d = doc(1);
        let w_obj = d.get(ROOT, keys::WORKSHOP).expect("get").expect("w").1;
        edit(&mut d, |tx| {
            tx.put(&w_obj, "title", "a plain string").expect("put");
            tx.put(&w_obj, "hosts", 7).expect("put");
            let l = tx
                .put_object(&w_obj, "ambassadors", ObjType::List)
                .expect("list");
            let t = tx.insert_object(&l, 0, ObjType::Text).expect("text");
            tx.splice_text(&t, 0, 0, "Som text").expect("splice");
        });
        let mut w = read(&d).workshop;
        assert_eq!(w.ambassadors, ["Som text"]);
        no_op(&mut d, |tx| set_workshop(tx, &w));
        w.title = "Titel".into();
        w.hosts = vec!["Värd".into()];
        w.ambassadors.push("Till".into());
        assert!(edit(&mut d, |tx| set_workshop(tx, &w)).expect("set"));
        assert_eq!(read(&d).workshop, w);
        no_op(&mut d, |tx| set_workshop(tx, &w));
        // No workshop map at all: an error, nothing written.
        let mut bare = Automerge::new();
        let mut tx = bare.transaction();
        tx.put(ROOT, keys::WORKSHOP, "nope").expect("put");
        tx.put(ROOT, keys::SECTIONS, "nope").expect("put");
        tx.put(ROOT, keys::ACTIONS, "nope").expect("put");
        tx.commit();
        let mut tx = bare.transaction();
        assert!(matches!(
            set_workshop(&mut tx, &w),
            Err(SchemaError::Shape(_))
        ));
        assert!(matches!(
            add_section(&mut tx, "s", "", None),
            Err(SchemaError::Shape(_))
        ));
        assert!(matches!(
            delete_section(&mut tx, "s"),
            Err(SchemaError::Shape(_))
        ));
        assert!(matches!(
            delete_action(&mut tx, "x"),
            Err(SchemaError::Shape(_))
        ));
        assert_eq!(tx.pending_ops(), 0);
    }

    #[test]
    fn actions_are_added_edited_and_deleted() {
        let mut d = doc(1);
        let mut a = Action {
            id: "x2".into(),
            text: "Ring regionerna".into(),
            owner: "SKR".into(),
            due: "2021-09-01".into(),
            status: "open".into(),
        };
        edit(&mut d, |tx| add_action(tx, &a)).expect("add");
        assert_eq!(read(&d).actions[1], a);
        assert!(matches!(
            edit(&mut d, |tx| add_action(tx, &a)),
            Err(SchemaError::Taken { .. })
        ));
        no_op(&mut d, |tx| set_action(tx, &a));
        a.text = "Ring alla regionerna".into();
        a.status = "in-progress".into();
        a.due = String::new();
        let heads = d.get_heads();
        assert!(edit(&mut d, |tx| set_action(tx, &a)).expect("set"));
        assert_eq!(read(&d).actions[1], a);
        // "alla " spliced in (5 characters), due and status put: 7.
        assert_eq!(d.get_changes(&heads)[0].len(), 7);
        a.status = "done".into();
        edit(&mut d, |tx| set_action(tx, &a)).expect("set");
        assert_eq!(read(&d).actions[1].status, "done");
        assert!(edit(&mut d, |tx| delete_action(tx, "x1")).expect("delete"));
        assert_eq!(read(&d).actions, [a.clone()]);
        no_op(&mut d, |tx| delete_action(tx, "x1"));
    }

    #[test]
    fn action_statuses_are_checked() {
        let mut d = doc(1);
        let mut tx = d.transaction();
        for status in ["", "closed", "Open", "in progress"] {
            let a = Action {
                id: "x9".into(),
                status: status.into(),
                ..Action::default()
            };
            assert!(
                matches!(add_action(&mut tx, &a), Err(SchemaError::Status(_))),
                "{status}"
            );
            let a = Action {
                id: "x1".into(),
                ..a
            };
            assert!(
                matches!(set_action(&mut tx, &a), Err(SchemaError::Status(_))),
                "{status}"
            );
        }
        let missing = Action {
            id: "nope".into(),
            status: "done".into(),
            ..Action::default()
        };
        assert!(matches!(
            set_action(&mut tx, &missing),
            Err(SchemaError::NotFound { .. })
        ));
        assert_eq!(tx.pending_ops(), 0);
    }

    #[test]
    fn versions_name_the_section_edited_after_a_move() {
        let mut d = doc(1);
        edit(&mut d, |tx| move_section(tx, "d", 0)).expect("move");
        // Another actor edits section a's body (list index 0, read second).
        let mut other = fork(&d, 2);
        let body = threads::section_body(&other, "a").expect("body");
        edit(&mut other, |tx| {
            tx.splice_text(&body, 0, 0, "Nytt: ").expect("splice")
        });
        let versions = crate::history::versions(&other);
        let last = versions.last().expect("a version");
        assert_eq!(last.what.sections, ["a"]);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add { after: Option<usize> },
        Move { section: usize, to: usize },
        Delete { section: usize },
        Rename { section: usize },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            proptest::option::of(0..8usize).prop_map(|after| Op::Add { after }),
            (0..8usize, 0..8usize).prop_map(|(section, to)| Op::Move { section, to }),
            (0..8usize).prop_map(|section| Op::Delete { section }),
            (0..8usize).prop_map(|section| Op::Rename { section }),
        ]
    }

    /// Applies `ops` on `doc` (each its own change), naming new sections
    /// `{name}{n}`; returns the ids added and deleted.
    fn run(doc: &mut Automerge, name: &str, ops: &[Op]) -> (Vec<String>, Vec<String>) {
        let (mut added, mut deleted) = (Vec::new(), Vec::new());
        for (n, op) in ops.iter().enumerate() {
            let current = ids(doc);
            let pick = |i: usize| current.get(i % current.len().max(1)).cloned();
            match op {
                Op::Add { after } => {
                    let id = format!("{name}{n}");
                    let after = after.and_then(pick);
                    edit(doc, |tx| add_section(tx, &id, &id, after.as_deref())).expect("add");
                    added.push(id);
                }
                Op::Move { section, to } => {
                    if let Some(s) = pick(*section) {
                        edit(doc, |tx| move_section(tx, &s, *to)).expect("move");
                        let at = (*to).min(current.len() - 1);
                        assert_eq!(ids(doc)[at], s);
                    }
                }
                Op::Delete { section } => {
                    if let Some(s) = pick(*section) {
                        assert!(edit(doc, |tx| delete_section(tx, &s)).expect("delete"));
                        deleted.push(s);
                    }
                }
                Op::Rename { section } => {
                    if let Some(s) = pick(*section) {
                        edit(doc, |tx| rename_section(tx, &s, &format!("{s} {name}{n}")))
                            .expect("rename");
                    }
                }
            }
        }
        (added, deleted)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Two replicas edit the sections concurrently; merged both ways
        /// they read the same, and hold exactly the sections neither
        /// deleted (moves never lose or duplicate one).
        #[test]
        fn concurrent_section_edits_converge(
            one_ops in proptest::collection::vec(op(), 0..12),
            other_ops in proptest::collection::vec(op(), 0..12),
            moved_first in any::<bool>(),
        ) {
            let mut base = doc(1);
            if moved_first {
                edit(&mut base, |tx| move_section(tx, "c", 0)).expect("move");
            }
            let mut one = fork(&base, 2);
            let mut other = fork(&base, 3);
            let (added_one, deleted_one) = run(&mut one, "p", &one_ops);
            let (added_other, deleted_other) = run(&mut other, "q", &other_ops);
            let (one, other) = merged(one, other);
            prop_assert_eq!(read(&one), read(&other));
            let mut expected: Vec<String> = ids(&base)
                .into_iter()
                .chain(added_one)
                .chain(added_other)
                .filter(|id| !deleted_one.contains(id) && !deleted_other.contains(id))
                .collect();
            expected.sort();
            let mut got = ids(&one);
            got.sort();
            prop_assert_eq!(got, expected);
        }
    }
}
