//! History: the versions of a summary, the summary as it was at any of
//! them, what changed between two, and versions hosts publish by name.
//!
//! A version is a run of consecutive changes by one actor within
//! [`GROUP_SECONDS`] (typing a sentence is one version, not forty). Its
//! heads are the document's heads after it, in the order automerge lists
//! changes (causal), so any version can be read back with `fork_at`.
//!
//! ```text
//! versions: map<id, { name: str, heads: list<str>, at: int (ms), by: str }>
//! ```
//! (a root key: only hosts write it.)

use std::collections::{HashMap, HashSet};

use automerge::legacy::{ObjectId, OpType};
use automerge::transaction::Transactable;
use automerge::{Automerge, ChangeHash, ObjType, Prop, ROOT, ReadDoc, ScalarValue};
use serde::Serialize;

use crate::diff::{self, Part};
use crate::read::{Fields, get_obj};
use crate::summary::{SchemaError, Summary, keys};

/// Consecutive changes by one actor closer together than this are one
/// version.
pub const GROUP_SECONDS: i64 = 120;

/// The root key of named versions.
pub const VERSIONS: &str = "versions";

/// What a version changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct What {
    /// Ids of the sections whose heading or text changed.
    pub sections: Vec<String>,
    /// Their headings now, in the same order (what people read; ids are
    /// internal).
    pub headings: Vec<String>,
    /// Characters (UTF-16) inserted and deleted in summary text.
    pub inserted: usize,
    pub deleted: usize,
    pub metadata: bool,
    pub actions: bool,
    /// Operations on comment threads and on contributions.
    pub comments: usize,
    pub contributions: usize,
    pub named_versions: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Version {
    /// The hash of its last change (hex): stable, usable as an id.
    pub id: String,
    /// The document's heads after this version (hex).
    pub heads: Vec<String>,
    /// Seconds since the epoch, as the writer's clock said (0: unknown).
    pub time: i64,
    /// The actor that wrote it (hex), to be mapped to its verified user.
    pub actor: String,
    pub changes: usize,
    /// The last commit message in it (the server writes one when a host
    /// accepts a contribution).
    pub message: String,
    pub what: What,
}

/// A version a host published by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NamedVersion {
    pub id: String,
    pub name: String,
    pub heads: Vec<String>,
    pub at: i64,
    pub by: String,
}

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("unknown version: {0}")]
    UnknownHeads(String),
    #[error(transparent)]
    Schema(Box<SchemaError>),
    #[error("automerge: {0}")]
    Automerge(String),
}

impl From<SchemaError> for HistoryError {
    fn from(e: SchemaError) -> Self {
        HistoryError::Schema(Box::new(e))
    }
}

impl From<automerge::AutomergeError> for HistoryError {
    fn from(e: automerge::AutomergeError) -> Self {
        HistoryError::Automerge(e.to_string())
    }
}

/// Where an object sits, by its automerge id, memoised.
struct Places<'a> {
    doc: &'a Automerge,
    /// (id, heading now) by list index.
    section_ids: Vec<(String, String)>,
    memo: HashMap<String, Option<(String, Option<usize>, bool)>>,
}

impl<'a> Places<'a> {
    fn new(doc: &'a Automerge) -> Self {
        // By list index, which is what an object's path says (the reading
        // order, by `order` keys, may differ).
        let section_ids = get_obj(doc, &ROOT, keys::SECTIONS)
            .map(|list| {
                (0..doc.length(&list))
                    .map(|i| match doc.get(&list, i) {
                        Ok(Some((automerge::Value::Object(ObjType::Map), s))) => (
                            crate::read::get_str(doc, &s, "id"),
                            crate::read::get_str(doc, &s, "heading"),
                        ),
                        _ => (String::new(), String::new()),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            doc,
            section_ids,
            memo: HashMap::new(),
        }
    }

    /// (root key, section index if under `sections`, is a text object).
    fn of(&mut self, obj: &str) -> Option<(String, Option<usize>, bool)> {
        if let Some(p) = self.memo.get(obj) {
            return p.clone();
        }
        let place = self.doc.import(obj).ok().and_then(|(id, kind)| {
            let mut path: Vec<Prop> = self.doc.parents(&id).ok()?.map(|p| p.prop).collect();
            path.reverse();
            let top = match path.first()? {
                Prop::Map(k) => k.clone(),
                Prop::Seq(_) => return None,
            };
            let index = match (top.as_str(), path.get(1)) {
                (keys::SECTIONS, Some(Prop::Seq(i))) => Some(*i),
                _ => None,
            };
            Some((top, index, kind == ObjType::Text))
        });
        self.memo.insert(obj.to_owned(), place.clone());
        place
    }
}

/// Every version, oldest first.
pub fn versions(doc: &Automerge) -> Vec<Version> {
    let mut places = Places::new(doc);
    let mut out: Vec<Version> = Vec::new();
    let mut heads: Vec<ChangeHash> = Vec::new();
    for change in doc.get_changes(&[]) {
        let deps: HashSet<&ChangeHash> = change.deps().iter().collect();
        heads.retain(|h| !deps.contains(h));
        heads.push(change.hash());
        let actor = change.actor_id().to_hex_string();
        let time = change.timestamp();
        let joins = out.last().is_some_and(|v: &Version| {
            v.actor == actor && v.message.is_empty() && (time - v.time).abs() <= GROUP_SECONDS
        }) && change.message().is_none_or(str::is_empty);
        if !joins {
            out.push(Version {
                id: String::new(),
                heads: Vec::new(),
                time,
                actor,
                changes: 0,
                message: String::new(),
                what: What::default(),
            });
        }
        let Some(version) = out.last_mut() else {
            continue;
        };
        version.id = change.hash().to_string();
        // Sorted as hashes, which is their hex order too (and reuses
        // automerge's sort of hashes instead of adding one of strings).
        let mut sorted = heads.clone();
        sorted.sort();
        version.heads = sorted.iter().map(ToString::to_string).collect();
        version.time = time;
        version.changes += 1;
        if let Some(m) = change.message().filter(|m| !m.is_empty()) {
            version.message = m.to_owned();
        }
        describe(&mut places, &change, &mut version.what);
    }
    out
}

/// Versions in the order they were written (by their time, oldest first),
/// not the order they were applied in: a merged draft's changes, or a
/// participant's made offline, arrive after changes written later than
/// they were, and listing them by application put an older entry above a
/// newer one. Equal times keep their application order.
pub fn in_time_order(mut versions: Vec<Version>) -> Vec<Version> {
    crate::sort::by_key(&mut versions, |v| v.time);
    versions
}

/// Adds what one change did to `what`.
fn describe(places: &mut Places<'_>, change: &automerge::Change, what: &mut What) {
    let expanded = change.decode();
    for op in &expanded.operations {
        let (top, section, text) = match &op.obj {
            ObjectId::Root => match &op.key {
                automerge::legacy::Key::Map(k) => (k.to_string(), None, false),
                automerge::legacy::Key::Seq(_) => continue,
            },
            ObjectId::Id(id) => {
                let name = format!("{}@{}", id.counter(), id.actor().to_hex_string());
                match places.of(&name) {
                    Some(p) => p,
                    // Made and removed again later: nothing to show now.
                    None => continue,
                }
            }
        };
        match top.as_str() {
            keys::SECTIONS => {
                if let Some((id, heading)) = section.and_then(|i| places.section_ids.get(i))
                    && !what.sections.contains(id)
                {
                    what.sections.push(id.clone());
                    what.headings.push(heading.clone());
                }
            }
            keys::WORKSHOP => what.metadata = true,
            keys::ACTIONS => what.actions = true,
            keys::THREADS => what.comments += 1,
            keys::CONTRIBUTIONS => what.contributions += 1,
            VERSIONS => what.named_versions = true,
            _ => {}
        }
        if text
            && matches!(
                top.as_str(),
                keys::SECTIONS | keys::WORKSHOP | keys::ACTIONS
            )
        {
            match &op.action {
                OpType::Put(ScalarValue::Str(s)) if op.insert => {
                    what.inserted += s.encode_utf16().count();
                }
                OpType::Delete => what.deleted += 1,
                _ => {}
            }
        }
    }
}

/// Parses hex heads.
pub fn parse_heads(heads: &[String]) -> Result<Vec<ChangeHash>, HistoryError> {
    heads
        .iter()
        .map(|h| {
            h.parse::<ChangeHash>()
                .map_err(|_| HistoryError::UnknownHeads(h.clone()))
        })
        .collect()
}

/// The summary as it was at `heads`.
pub fn at(doc: &Automerge, heads: &[ChangeHash]) -> Result<Summary, HistoryError> {
    for h in heads {
        if doc.get_change_meta_by_hash(h).is_none() {
            return Err(HistoryError::UnknownHeads(h.to_string()));
        }
    }
    Ok(Summary::read(&doc.fork_at(heads)?)?)
}

/// How one section differs between two versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SectionChange {
    pub id: String,
    pub heading: String,
    /// "added", "removed" or "changed".
    pub status: &'static str,
    pub heading_diff: Vec<Part>,
    pub body_diff: Vec<Part>,
}

/// What changed from one version to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    pub sections: Vec<SectionChange>,
    /// The whole summary as Markdown, line by line (metadata, actions).
    pub markdown: Vec<Part>,
}

/// Compares the summary at two versions.
pub fn compare(
    doc: &Automerge,
    from: &[ChangeHash],
    to: &[ChangeHash],
) -> Result<Comparison, HistoryError> {
    let (old, new) = (at(doc, from)?, at(doc, to)?);
    let mut sections = Vec::new();
    for s in &new.sections {
        match old.sections.iter().find(|o| o.id == s.id) {
            None => sections.push(SectionChange {
                id: s.id.clone(),
                heading: s.heading.clone(),
                status: "added",
                heading_diff: diff::words("", &s.heading),
                body_diff: diff::words("", &s.body),
            }),
            Some(o) if o.heading != s.heading || o.body != s.body => {
                sections.push(SectionChange {
                    id: s.id.clone(),
                    heading: s.heading.clone(),
                    status: "changed",
                    heading_diff: diff::words(&o.heading, &s.heading),
                    body_diff: diff::words(&o.body, &s.body),
                });
            }
            Some(_) => {}
        }
    }
    for o in &old.sections {
        if !new.sections.iter().any(|s| s.id == o.id) {
            sections.push(SectionChange {
                id: o.id.clone(),
                heading: o.heading.clone(),
                status: "removed",
                heading_diff: diff::words(&o.heading, ""),
                body_diff: diff::words(&o.body, ""),
            });
        }
    }
    Ok(Comparison {
        sections,
        markdown: diff::lines(&old.to_markdown(), &new.to_markdown()),
    })
}

/// Publishes the state at `heads` (normally the current heads) under a name.
pub fn publish<T: Transactable + ReadDoc>(
    tx: &mut T,
    id: &str,
    name: &str,
    heads: &[ChangeHash],
    by: &str,
    now_ms: i64,
) -> Result<(), HistoryError> {
    let heads: Vec<String> = heads.iter().map(ToString::to_string).collect();
    let all = match get_obj(tx, &ROOT, VERSIONS) {
        Some(all) => all,
        None => tx.put_object(ROOT, VERSIONS, ObjType::Map)?,
    };
    let v = tx.put_object(&all, id, ObjType::Map)?;
    tx.put(&v, "name", name)?;
    let list = tx.put_object(&v, "heads", ObjType::List)?;
    for (i, h) in heads.iter().enumerate() {
        tx.insert(&list, i, h.as_str())?;
    }
    tx.put(&v, "at", now_ms)?;
    tx.put(&v, "by", by)?;
    Ok(())
}

/// Published versions, oldest first.
pub fn named(doc: &Automerge) -> Vec<NamedVersion> {
    let Some(all) = get_obj(doc, &ROOT, VERSIONS) else {
        return Vec::new();
    };
    let mut out: Vec<NamedVersion> = Fields::of(doc, &all)
        .0
        .into_iter()
        .map(|(id, (_, obj))| {
            let f = Fields::of(doc, &obj);
            let heads = f
                .obj("heads")
                .map(|l| {
                    doc.list_range(&l, ..)
                        .filter_map(|item| match automerge::Value::from(item.value) {
                            automerge::Value::Scalar(s) => s.as_str().map(str::to_owned),
                            automerge::Value::Object(_) => None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            NamedVersion {
                name: f.str(doc, "name"),
                at: f.int("at"),
                by: f.str(doc, "by"),
                heads,
                id,
            }
        })
        .collect();
    crate::sort::by(&mut out, |a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::Section;
    use crate::threads::section_body;
    use automerge::ActorId;
    use automerge::transaction::CommitOptions;

    fn doc() -> Automerge {
        let mut doc = Automerge::new().with_actor(ActorId::from([1u8; 16]));
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
        doc
    }

    fn type_at(doc: &mut Automerge, actor: u8, time: i64, at: usize, text: &str) {
        doc.set_actor(ActorId::from([actor; 16]));
        let body = section_body(doc, "issue").expect("body");
        let mut tx = doc.transaction();
        tx.splice_text(&body, at, 0, text).expect("splice");
        tx.commit_with(CommitOptions::default().with_time(time));
    }

    #[test]
    fn versions_group_typing_and_read_back() {
        let mut d = doc();
        let created = d.get_heads();
        type_at(&mut d, 2, 1000, 0, "A");
        type_at(&mut d, 2, 1001, 1, "l");
        type_at(&mut d, 2, 1002, 2, "la ");
        type_at(&mut d, 3, 1003, 0, "😀");
        type_at(&mut d, 2, 5000, 0, "Nu: ");
        let v = versions(&d);
        assert_eq!(v.len(), 4, "{v:#?}");
        assert_eq!(v[1].changes, 3);
        assert_eq!(v[1].what.sections, vec!["issue".to_owned()]);
        assert_eq!(v[1].what.inserted, 5);
        assert_eq!(v[2].what.inserted, 2, "one emoji is two UTF-16 units");
        let heads = parse_heads(&v[1].heads).expect("heads");
        let then = at(&d, &heads).expect("at");
        assert_eq!(then.sections[0].body, "Alla Regionerna behöver samarbeta.");
        let cmp = compare(&d, &created, &d.get_heads()).expect("compare");
        assert_eq!(cmp.sections.len(), 1);
        assert_eq!(cmp.sections[0].status, "changed");
        assert!(
            cmp.sections[0]
                .body_diff
                .contains(&Part::Insert("Nu: 😀Alla ".into())),
            "{:?}",
            cmp.sections[0].body_diff
        );
    }

    #[test]
    fn versions_name_sections_by_heading_and_list_in_time_order() {
        let mut d = doc();
        // A draft written at 1000 and merged (applied) after the host's
        // edit at 2000: applied later, written earlier.
        let mut draft = d.fork().with_actor(ActorId::from([3u8; 16]));
        type_at(&mut d, 2, 2000, 0, "Värd: ");
        let body = section_body(&draft, "issue").expect("body");
        let mut tx = draft.transaction();
        tx.splice_text(&body, 0, 0, "Utkast: ").expect("splice");
        tx.commit_with(CommitOptions::default().with_time(1000));
        d.merge(&mut draft).expect("merge");
        let applied = versions(&d);
        let ordered = in_time_order(applied.clone());
        assert_eq!(applied.len(), 3);
        assert_eq!(
            applied.iter().map(|v| v.time).collect::<Vec<_>>()[1..],
            [2000, 1000],
            "applied in merge order"
        );
        assert_eq!(
            ordered.iter().map(|v| v.time).collect::<Vec<_>>()[1..],
            [1000, 2000],
            "listed in time order"
        );
        for v in &ordered[1..] {
            assert_eq!(v.what.sections, vec!["issue".to_owned()]);
            assert_eq!(v.what.headings, vec!["Frågan".to_owned()]);
        }
    }

    #[test]
    fn named_versions_point_at_their_state() {
        let mut d = doc();
        type_at(&mut d, 2, 1000, 0, "Utkast: ");
        let heads = d.get_heads();
        let mut tx = d.transaction();
        publish(&mut tx, "v1", "Efter workshopen", &heads, "host", 7).expect("publish");
        tx.commit();
        type_at(&mut d, 2, 9000, 0, "Senare. ");
        let named = named(&d);
        assert_eq!(named.len(), 1);
        assert_eq!(named[0].name, "Efter workshopen");
        let heads = parse_heads(&named[0].heads).expect("heads");
        assert_eq!(
            at(&d, &heads).expect("at").sections[0].body,
            "Utkast: Regionerna behöver samarbeta."
        );
        assert!(versions(&d).iter().any(|v| v.what.named_versions));
        assert!(matches!(
            at(&d, &parse_heads(&["00".repeat(32)]).expect("hex")),
            Err(HistoryError::UnknownHeads(_))
        ));
    }
}
