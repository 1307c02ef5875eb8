//! The summary document schema, version [`SCHEMA_VERSION`].
//!
//! A workshop's summary is one automerge document:
//!
//! ```text
//! ROOT
//! ├── schemaVersion: int                       (1)
//! ├── workshop: map                            metadata, hosts only
//! │   ├── title: text
//! │   ├── when: str                            "Torsdag 19:e Nov 14:30-16:00"
//! │   ├── hosts, stakeholders, ambassadors: list<str>
//! │   ├── meetingType: str                     "open" | "invite-only"
//! │   ├── format: str                          as written: "workshop, closed, english"
//! │   ├── language: str                        e.g. "sv", "en", "sv, en"
//! │   └── registration: str
//! ├── sections: list<map>                      hosts only
//! │   └── { id: str, heading: text, body: text,
//! │         order?: number }                   reading order (see below)
//! ├── actions: list<map>                       hosts only
//! │   └── { id: str, text: text, owner: str, due: str, status: str }
//! ├── threads: map<threadId, map>              comment threads (participants add):
//! │                                            see crate::threads
//! ├── contributions: map<id, map>              proposed changes (participants add):
//! │                                            see crate::contributions
//! └── versions: map<id, map>                   named versions, hosts only: see
//!                                              crate::history
//! ```
//!
//! Sections are read in the order of their `order` keys, ties and sections
//! without one by their place in the list ([`SECTION_ORDER`]): moving a
//! section writes numbers instead of recreating it, because comment threads
//! anchor on its body's text object (crate::threads) and a recreated body
//! would orphan them all. Documents written before `order` existed have
//! none and read in list order, as before; see crate::authoring.
//!
//! Text is indexed in UTF-16 code units. The server's permission rules
//! separate what participants may add from the summary (see [`Area`] and
//! crate::permissions). Documents written before `versions` existed get it
//! when a host first publishes a version.

use automerge::transaction::Transactable;
use automerge::{Automerge, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use serde::{Deserialize, Serialize};

pub const SCHEMA_VERSION: i64 = 1;

/// The key of a section's place in the reading order: a number (written as
/// f64); absent, or not a finite number, the section's list index stands in.
pub const SECTION_ORDER: &str = "order";

/// Root keys.
pub mod keys {
    pub const SCHEMA_VERSION: &str = "schemaVersion";
    pub const WORKSHOP: &str = "workshop";
    pub const SECTIONS: &str = "sections";
    pub const ACTIONS: &str = "actions";
    pub const THREADS: &str = "threads";
    pub const CONTRIBUTIONS: &str = "contributions";
}

/// Which part of a summary document a root key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    /// Metadata, sections, actions, the schema version: hosts write.
    Summary,
    /// Comment threads: participants add and edit their own.
    Threads,
    /// Proposed changes: participants add and edit their own.
    Contributions,
}

impl Area {
    /// The area a root key belongs to; unknown keys count as summary.
    pub fn of_root_key(key: &str) -> Self {
        match key {
            keys::THREADS => Area::Threads,
            keys::CONTRIBUTIONS => Area::Contributions,
            _ => Area::Summary,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum MeetingType {
    #[default]
    Open,
    InviteOnly,
}

impl MeetingType {
    pub fn as_str(self) -> &'static str {
        match self {
            MeetingType::Open => "open",
            MeetingType::InviteOnly => "invite-only",
        }
    }

    fn parse(s: &str) -> Self {
        if s == "invite-only" {
            MeetingType::InviteOnly
        } else {
            MeetingType::Open
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Workshop {
    pub title: String,
    pub when: String,
    pub hosts: Vec<String>,
    pub stakeholders: Vec<String>,
    pub ambassadors: Vec<String>,
    pub meeting_type: MeetingType,
    /// The meeting's format as written, e.g. "workshop, closed, english".
    pub format: String,
    pub language: String,
    pub registration: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Section {
    pub id: String,
    pub heading: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Action {
    pub id: String,
    pub text: String,
    pub owner: String,
    pub due: String,
    /// "open", "in-progress" or "done".
    pub status: String,
}

/// A whole summary, as plain data (for import, the JSON API and export).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Summary {
    pub workshop: Workshop,
    pub sections: Vec<Section>,
    pub actions: Vec<Action>,
}

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("not a summary document: {0}")]
    Shape(&'static str),
    #[error("summary schema version {0} is not supported (this build reads {SCHEMA_VERSION})")]
    Version(i64),
    #[error("no {kind} with id {id:?}")]
    NotFound { kind: &'static str, id: String },
    #[error("a {kind} with id {id:?} already exists")]
    Taken { kind: &'static str, id: String },
    #[error("an action's status is open, in-progress or done, not {0:?}")]
    Status(String),
    #[error("{0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Automerge(#[from] automerge::AutomergeError),
}

impl Summary {
    /// Writes this summary into an empty document, in one transaction.
    pub fn write_new(&self, doc: &mut Automerge) -> Result<(), SchemaError> {
        let mut tx = doc.transaction();
        tx.put(ROOT, keys::SCHEMA_VERSION, SCHEMA_VERSION)?;
        let w = tx.put_object(ROOT, keys::WORKSHOP, ObjType::Map)?;
        put_text(&mut tx, &w, "title", &self.workshop.title)?;
        tx.put(&w, "when", self.workshop.when.as_str())?;
        for (key, list) in [
            ("hosts", &self.workshop.hosts),
            ("stakeholders", &self.workshop.stakeholders),
            ("ambassadors", &self.workshop.ambassadors),
        ] {
            let l = tx.put_object(&w, key, ObjType::List)?;
            for (i, item) in list.iter().enumerate() {
                tx.insert(&l, i, item.as_str())?;
            }
        }
        tx.put(&w, "meetingType", self.workshop.meeting_type.as_str())?;
        tx.put(&w, "format", self.workshop.format.as_str())?;
        tx.put(&w, "language", self.workshop.language.as_str())?;
        tx.put(&w, "registration", self.workshop.registration.as_str())?;
        let sections = tx.put_object(ROOT, keys::SECTIONS, ObjType::List)?;
        for (i, s) in self.sections.iter().enumerate() {
            insert_section(&mut tx, &sections, i, s, None)?;
        }
        let actions = tx.put_object(ROOT, keys::ACTIONS, ObjType::List)?;
        for (i, a) in self.actions.iter().enumerate() {
            insert_action(&mut tx, &actions, i, a)?;
        }
        tx.put_object(ROOT, keys::THREADS, ObjType::Map)?;
        tx.put_object(ROOT, keys::CONTRIBUTIONS, ObjType::Map)?;
        tx.put_object(ROOT, crate::history::VERSIONS, ObjType::Map)?;
        tx.commit();
        Ok(())
    }

    /// Reads the summary part of a document.
    pub fn read(doc: &impl ReadDoc) -> Result<Self, SchemaError> {
        match doc.get(ROOT, keys::SCHEMA_VERSION)? {
            Some((Value::Scalar(v), _)) => match v.as_ref() {
                ScalarValue::Int(SCHEMA_VERSION) | ScalarValue::Uint(1) => {}
                ScalarValue::Int(other) => return Err(SchemaError::Version(*other)),
                _ => return Err(SchemaError::Shape("schemaVersion is not a number")),
            },
            _ => return Err(SchemaError::Shape("no schemaVersion")),
        }
        let w = object(doc, &ROOT, keys::WORKSHOP)?;
        let workshop = read_workshop(doc, &w);
        let sections = object(doc, &ROOT, keys::SECTIONS)?;
        let sections = section_entries(doc, &sections)
            .into_iter()
            .map(|entry| Section {
                heading: text(doc, &entry.obj, "heading"),
                body: text(doc, &entry.obj, "body"),
                id: entry.id,
            })
            .collect();
        let actions = object(doc, &ROOT, keys::ACTIONS)?;
        let actions = (0..doc.length(&actions))
            .filter_map(|i| match doc.get(&actions, i) {
                Ok(Some((Value::Object(ObjType::Map), m))) => Some(Action {
                    id: string(doc, &m, "id"),
                    text: text(doc, &m, "text"),
                    owner: string(doc, &m, "owner"),
                    due: string(doc, &m, "due"),
                    status: string(doc, &m, "status"),
                }),
                _ => None,
            })
            .collect();
        Ok(Summary {
            workshop,
            sections,
            actions,
        })
    }

    /// The summary as Markdown, for newsletters. Text is escaped so that
    /// nothing in it becomes Markdown structure or HTML.
    pub fn to_markdown(&self) -> String {
        let w = &self.workshop;
        let mut out = format!("# {}\n\n", escape_md(&w.title));
        let mut meta = Vec::new();
        if !w.when.is_empty() {
            meta.push(format!("**When:** {}", escape_md(&w.when)));
        }
        for (label, list) in [
            ("Host", &w.hosts),
            ("Invited stakeholders", &w.stakeholders),
            ("Ambassadors", &w.ambassadors),
        ] {
            if !list.is_empty() {
                let items: Vec<String> = list.iter().map(|s| escape_md(s)).collect();
                meta.push(format!("**{label}:** {}", items.join("; ")));
            }
        }
        let mut kind = w.meeting_type.as_str().to_owned();
        if !w.format.is_empty() {
            kind = format!("{kind} ({})", escape_md(&w.format));
        }
        meta.push(format!("**Meeting type:** {kind}"));
        if !w.language.is_empty() {
            meta.push(format!("**Language:** {}", escape_md(&w.language)));
        }
        if !w.registration.is_empty() {
            meta.push(format!("**Registration:** {}", escape_md(&w.registration)));
        }
        out.push_str(&meta.join("  \n"));
        out.push_str("\n\n");
        for s in &self.sections {
            out.push_str(&format!("## {}\n\n", escape_md(&s.heading)));
            for para in s.body.split('\n').filter(|p| !p.trim().is_empty()) {
                out.push_str(&escape_md(para));
                out.push_str("\n\n");
            }
        }
        if !self.actions.is_empty() {
            out.push_str("## Actions\n\n| Action | Owner | Due | Status |\n|---|---|---|---|\n");
            for a in &self.actions {
                out.push_str(&format!(
                    "| {} | {} | {} | {} |\n",
                    escape_cell(&a.text),
                    escape_cell(&a.owner),
                    escape_cell(&a.due),
                    escape_cell(&a.status)
                ));
            }
            out.push('\n');
        }
        out
    }
}

/// Escapes the characters that Markdown (or inline HTML) would interpret.
pub fn escape_md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`'
                | '*'
                | '_'
                | '{'
                | '}'
                | '['
                | ']'
                | '<'
                | '>'
                | '('
                | ')'
                | '#'
                | '+'
                | '!'
                | '|'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn escape_cell(s: &str) -> String {
    escape_md(s).replace('\n', " ")
}

/// Sets the workshop's title and meeting type (the server's edit when a
/// host changes them over HTTP), writing only what differs (see
/// [`crate::authoring::set_workshop`], which this calls with the other
/// fields as they are). Returns whether anything was written.
pub fn set_workshop<T: Transactable + ReadDoc>(
    tx: &mut T,
    title: Option<&str>,
    meeting_type: Option<MeetingType>,
) -> Result<bool, SchemaError> {
    let w = object(tx, &ROOT, keys::WORKSHOP)?;
    let mut workshop = read_workshop(tx, &w);
    if let Some(title) = title {
        title.clone_into(&mut workshop.title);
    }
    if let Some(meeting_type) = meeting_type {
        workshop.meeting_type = meeting_type;
    }
    crate::authoring::set_workshop(tx, &workshop)
}

/// The workshop metadata in the map `w`.
pub(crate) fn read_workshop(doc: &impl ReadDoc, w: &ObjId) -> Workshop {
    Workshop {
        title: text(doc, w, "title"),
        when: string(doc, w, "when"),
        hosts: strings(doc, w, "hosts"),
        stakeholders: strings(doc, w, "stakeholders"),
        ambassadors: strings(doc, w, "ambassadors"),
        meeting_type: MeetingType::parse(&string(doc, w, "meetingType")),
        format: string(doc, w, "format"),
        language: string(doc, w, "language"),
        registration: string(doc, w, "registration"),
    }
}

/// A section map of the `sections` list.
#[derive(Debug, Clone)]
pub(crate) struct SectionEntry {
    /// Its index in the list.
    pub(crate) index: usize,
    pub(crate) obj: ObjId,
    pub(crate) id: String,
    /// Its [`SECTION_ORDER`], if that is a finite number.
    pub(crate) order: Option<f64>,
}

impl SectionEntry {
    /// Where it sorts: its order, else its list index.
    pub(crate) fn key(&self) -> f64 {
        self.order.unwrap_or(self.index as f64)
    }
}

/// The section maps of `list` in reading order: by [`SectionEntry::key`],
/// ties by list index. Entries that are not maps are skipped.
pub(crate) fn section_entries(doc: &impl ReadDoc, list: &ObjId) -> Vec<SectionEntry> {
    let mut entries: Vec<SectionEntry> = (0..doc.length(list))
        .filter_map(|index| match doc.get(list, index) {
            Ok(Some((Value::Object(ObjType::Map), obj))) => Some(SectionEntry {
                index,
                id: string(doc, &obj, "id"),
                order: match doc.get(&obj, SECTION_ORDER) {
                    Ok(Some((Value::Scalar(v), _))) => match v.as_ref() {
                        ScalarValue::F64(n) => Some(*n),
                        ScalarValue::Int(n) => Some(*n as f64),
                        ScalarValue::Uint(n) => Some(*n as f64),
                        _ => None,
                    }
                    .filter(|n| n.is_finite()),
                    _ => None,
                },
                obj,
            }),
            _ => None,
        })
        .collect();
    crate::sort::by(&mut entries, |a, b| {
        a.key().total_cmp(&b.key()).then(a.index.cmp(&b.index))
    });
    entries
}

/// Inserts a section map at `index` of the `sections` list, in the shape
/// [`Summary::write_new`] writes (with `order` if given).
pub(crate) fn insert_section(
    tx: &mut impl Transactable,
    list: &ObjId,
    index: usize,
    s: &Section,
    order: Option<f64>,
) -> Result<ObjId, automerge::AutomergeError> {
    let m = tx.insert_object(list, index, ObjType::Map)?;
    tx.put(&m, "id", s.id.as_str())?;
    put_text(tx, &m, "heading", &s.heading)?;
    put_text(tx, &m, "body", &s.body)?;
    if let Some(order) = order {
        tx.put(&m, SECTION_ORDER, order)?;
    }
    Ok(m)
}

/// Inserts an action map at `index` of the `actions` list, in the shape
/// [`Summary::write_new`] writes.
pub(crate) fn insert_action(
    tx: &mut impl Transactable,
    list: &ObjId,
    index: usize,
    a: &Action,
) -> Result<ObjId, automerge::AutomergeError> {
    let m = tx.insert_object(list, index, ObjType::Map)?;
    tx.put(&m, "id", a.id.as_str())?;
    put_text(tx, &m, "text", &a.text)?;
    tx.put(&m, "owner", a.owner.as_str())?;
    tx.put(&m, "due", a.due.as_str())?;
    tx.put(&m, "status", a.status.as_str())?;
    Ok(m)
}

/// Puts a new text object holding `value` under `key`.
pub(crate) fn put_text(
    tx: &mut impl Transactable,
    obj: &ObjId,
    key: &str,
    value: &str,
) -> Result<(), automerge::AutomergeError> {
    let t = tx.put_object(obj, key, ObjType::Text)?;
    tx.splice_text(&t, 0, 0, value)?;
    Ok(())
}

pub(crate) fn object(
    doc: &impl ReadDoc,
    parent: &ObjId,
    key: &'static str,
) -> Result<ObjId, SchemaError> {
    match doc.get(parent, key)? {
        Some((Value::Object(_), id)) => Ok(id),
        _ => Err(SchemaError::Shape(key)),
    }
}

pub(crate) fn text(doc: &impl ReadDoc, parent: &ObjId, key: &str) -> String {
    match doc.get(parent, key) {
        Ok(Some((Value::Object(ObjType::Text), id))) => doc.text(&id).unwrap_or_default(),
        Ok(Some((Value::Scalar(s), _))) => s.as_str().unwrap_or_default().to_owned(),
        _ => String::new(),
    }
}

pub(crate) fn string(doc: &impl ReadDoc, parent: &ObjId, key: &str) -> String {
    text(doc, parent, key)
}

pub(crate) fn strings(doc: &impl ReadDoc, parent: &ObjId, key: &str) -> Vec<String> {
    let Ok(Some((Value::Object(ObjType::List), list))) = doc.get(parent, key) else {
        return Vec::new();
    };
    (0..doc.length(&list))
        .filter_map(|i| match doc.get(&list, i) {
            Ok(Some((Value::Scalar(s), _))) => s.as_str().map(str::to_owned),
            Ok(Some((Value::Object(ObjType::Text), id))) => doc.text(&id).ok(),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Summary {
        Summary {
            workshop: Workshop {
                title: "Betalningsmodeller för ATMP – vad händer? 😀".into(),
                when: "Onsdag 18:e Nov 13:00-14:15".into(),
                hosts: vec!["Sofie Alverlind, SKR".into()],
                stakeholders: vec!["Mikael Svensson, SKR".into(), "Anna Alassad, TLV".into()],
                ambassadors: vec![],
                meeting_type: MeetingType::InviteOnly,
                format: "workshop, closed".into(),
                language: "sv".into(),
                registration: "Inbjudna dvs inte alla".into(),
            },
            sections: vec![Section {
                id: "issue".into(),
                heading: "The issue at hand".into(),
                body: "Första stycket.\nAndra *stycket* <b>fet</b>.".into(),
            }],
            actions: vec![Action {
                id: "a1".into(),
                text: "Ta fram en | plan".into(),
                owner: "TLV".into(),
                due: "2021-06-01".into(),
                status: "open".into(),
            }],
        }
    }

    #[test]
    fn write_then_read_round_trips() {
        let mut doc = Automerge::new();
        sample().write_new(&mut doc).expect("write");
        let saved = doc.save();
        let loaded = Automerge::load(&saved).expect("load");
        assert_eq!(Summary::read(&loaded).expect("read"), sample());
    }

    #[test]
    fn set_workshop_writes_only_what_differs() {
        let mut doc = Automerge::new();
        sample().write_new(&mut doc).expect("write");
        let mut tx = doc.transaction();
        assert!(
            !set_workshop(
                &mut tx,
                Some(&sample().workshop.title),
                Some(MeetingType::InviteOnly)
            )
            .expect("set")
        );
        assert!(set_workshop(&mut tx, Some("Ny titel"), Some(MeetingType::Open)).expect("set"));
        tx.commit();
        let read = Summary::read(&doc).expect("read");
        assert_eq!(read.workshop.title, "Ny titel");
        assert_eq!(read.workshop.meeting_type, MeetingType::Open);
        assert_eq!(read.workshop.when, sample().workshop.when);
        let mut tx = doc.transaction();
        assert!(set_workshop(&mut tx, None, Some(MeetingType::InviteOnly)).expect("set"));
        tx.commit();
        assert_eq!(
            Summary::read(&doc).expect("read").workshop.meeting_type,
            MeetingType::InviteOnly
        );
    }

    #[test]
    fn a_document_without_the_schema_is_rejected() {
        assert!(matches!(
            Summary::read(&Automerge::new()),
            Err(SchemaError::Shape(_))
        ));
    }

    #[test]
    fn markdown_escapes_text() {
        let md = sample().to_markdown();
        assert!(md.starts_with("# Betalningsmodeller för ATMP – vad händer? 😀\n"));
        assert!(md.contains("## The issue at hand"));
        assert!(md.contains("Andra \\*stycket\\* \\<b\\>fet\\</b\\>."));
        assert!(md.contains("| Ta fram en \\| plan | TLV | 2021-06-01 | open |"));
        assert!(md.contains("**Meeting type:** invite-only (workshop, closed)"));
        assert!(md.contains("**Language:** sv"));
    }
}
