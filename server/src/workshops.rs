//! Workshops: each owns one summary document; the workshop's id is that
//! document's id. The record (in the store's `workshops` table) is the
//! authority on visibility (`meetingType`); the document carries the same
//! metadata for display.

use std::sync::Arc;

use automerge::Automerge;
use docsync::DocumentId;
use model::summary::{MeetingType, SchemaError, Summary};
use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreError, Table};

/// The owner of actors the server itself writes with.
pub const SYSTEM_USER: &str = "system";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkshopRecord {
    /// The summary document's id (bs58check), also the workshop's id.
    pub id: String,
    pub title: String,
    pub when: String,
    pub meeting_type: MeetingType,
    /// Seconds since the Unix epoch.
    pub created_at: u64,
    /// Creation order (microseconds since the epoch, strictly increasing
    /// within a process): lists keep the order workshops were made in.
    #[serde(default)]
    pub order: u64,
    /// When the meeting starts, as the host gave it (`YYYY-MM-DDTHH:MM`,
    /// local time), if given that way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<String>,
    /// Archived: hidden from every list but its hosts' (and admins'),
    /// kept on disk, restorable; its page and API still answer as before.
    #[serde(default)]
    pub archived: bool,
    /// The series (a page of workshops imported together) it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    /// What public readers (no role but the public's) see: the live text,
    /// or only the latest version a host published.
    #[serde(default)]
    pub public_view: PublicView,
}

/// What an open workshop shows the public (a host's choice).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PublicView {
    /// The summary as it is now, live.
    #[default]
    Live,
    /// Only the latest published version (the edition): the live
    /// document, its threads and its history stay with the members.
    Published,
}

/// A published edition: the summary at a named version's heads.
#[derive(Debug, Clone)]
pub struct Edition {
    pub summary: Summary,
    pub name: String,
    /// When it was published (ms since the epoch).
    pub at: i64,
}

/// A series of workshops, from the preamble of an imported page: its
/// description is the whole preamble (navigation text included, so that
/// nothing pasted is dropped), kept apart from every workshop's sections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeriesRecord {
    pub id: String,
    pub description: String,
    pub created_at: u64,
}

/// A strictly increasing creation stamp.
fn next_order() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(last + 1);
        match LAST.compare_exchange(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

/// A participant's draft: a copy of a workshop's summary document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DraftRecord {
    /// The draft document's id.
    pub id: String,
    /// The workshop (and summary document) it was forked from.
    pub workshop: String,
    /// The user it belongs to.
    pub owner: String,
    pub created_at: u64,
}

impl WorkshopRecord {
    pub fn is_open(&self) -> bool {
        self.meeting_type == MeetingType::Open
    }

    /// Whether someone with `role` sees only the published edition: the
    /// public, when the hosts chose so. The one rule behind the pages, the
    /// API and `/sync` alike.
    pub fn edition_only(&self, role: crate::auth::Role) -> bool {
        role == crate::auth::Role::Public && self.public_view == PublicView::Published
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WorkshopError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Schema(#[from] SchemaError),
    #[error("corrupt workshop record: {0}")]
    Record(#[from] serde_json::Error),
    #[error("the published edition cannot be read: {0}")]
    Edition(String),
}

/// The workshop registry over a store.
#[derive(Clone)]
pub struct Workshops {
    store: Arc<dyn Store>,
}

impl std::fmt::Debug for Workshops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Workshops")
    }
}

impl Workshops {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// Creates a workshop and its summary document. Durable after the
    /// store's next flush; the caller flushes.
    pub fn create(&self, summary: &Summary) -> Result<WorkshopRecord, WorkshopError> {
        let mut doc = Automerge::new();
        summary.write_new(&mut doc)?;
        self.adopt(&doc, summary)
    }

    /// Makes a workshop of a summary document written elsewhere (with
    /// history: the benchmarks' large document), as [`Workshops::create`]
    /// makes one of its new document; `summary` is what it reads as. Its
    /// actors belong to the server, like the server's own.
    pub fn adopt(
        &self,
        doc: &Automerge,
        summary: &Summary,
    ) -> Result<WorkshopRecord, WorkshopError> {
        let id = DocumentId::random();
        self.store.append(&id, &doc.save())?;
        // The server's own actors belong to no user: nobody can claim them.
        let mut actors: Vec<_> = doc
            .get_changes(&[])
            .iter()
            .map(|c| c.actor_id().clone())
            .collect();
        actors.push(doc.get_actor().clone());
        actors.sort();
        actors.dedup();
        for actor in actors {
            self.store
                .put(Table::Actors, actor.to_bytes(), SYSTEM_USER.as_bytes())?;
        }
        let record = WorkshopRecord {
            id: id.to_string(),
            title: summary.workshop.title.clone(),
            when: summary.workshop.when.clone(),
            meeting_type: summary.workshop.meeting_type,
            created_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            order: next_order(),
            starts_at: None,
            archived: false,
            series: None,
            public_view: PublicView::Live,
        };
        self.store.put(
            Table::Workshops,
            id.as_bytes(),
            &serde_json::to_vec(&record)?,
        )?;
        Ok(record)
    }

    /// Stores a series record; returns its id. Durable after the store's
    /// next flush.
    pub fn create_series(&self, description: &str) -> Result<SeriesRecord, WorkshopError> {
        let record = SeriesRecord {
            id: hex::encode(rand::random::<[u8; 8]>()),
            description: description.to_owned(),
            created_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        };
        self.store.put(
            Table::Series,
            record.id.as_bytes(),
            &serde_json::to_vec(&record)?,
        )?;
        Ok(record)
    }

    pub fn series(&self, id: &str) -> Result<Option<SeriesRecord>, WorkshopError> {
        match self.store.get(Table::Series, id.as_bytes())? {
            Some(v) => Ok(Some(serde_json::from_slice(&v)?)),
            None => Ok(None),
        }
    }

    /// Creates the workshops of an imported page (see
    /// [`crate::import::parse_page`]): its preamble becomes one series
    /// record that every workshop of the page points to. Durable after the
    /// store's next flush.
    pub fn create_page(
        &self,
        page: &crate::import::Page,
    ) -> Result<Vec<WorkshopRecord>, WorkshopError> {
        let series = match page.preamble.as_deref() {
            Some(p) if !page.workshops.is_empty() => Some(self.create_series(p)?),
            _ => None,
        };
        let mut out = Vec::new();
        for summary in &page.workshops {
            let mut record = self.create(summary)?;
            if let Some(series) = &series {
                record.series = Some(series.id.clone());
                let id = DocumentId::parse(&record.id).map_err(|_| {
                    WorkshopError::Record(serde::de::Error::custom("bad workshop id"))
                })?;
                self.put(&id, &record)?;
            }
            out.push(record);
        }
        Ok(out)
    }

    /// Every workshop, oldest first.
    pub fn list(&self) -> Result<Vec<WorkshopRecord>, WorkshopError> {
        let mut all: Vec<WorkshopRecord> = self
            .store
            .scan(Table::Workshops, &[])?
            .into_iter()
            .map(|(_, v)| serde_json::from_slice(&v))
            .collect::<Result<_, _>>()?;
        all.sort_by(|a, b| (a.order, &a.id).cmp(&(b.order, &b.id)));
        Ok(all)
    }

    /// Replaces a workshop's record.
    pub fn put(&self, id: &DocumentId, record: &WorkshopRecord) -> Result<(), WorkshopError> {
        self.store.put(
            Table::Workshops,
            id.as_bytes(),
            &serde_json::to_vec(record)?,
        )?;
        Ok(())
    }

    pub fn get(&self, id: &DocumentId) -> Result<Option<WorkshopRecord>, WorkshopError> {
        match self.store.get(Table::Workshops, id.as_bytes())? {
            Some(v) => Ok(Some(serde_json::from_slice(&v)?)),
            None => Ok(None),
        }
    }

    /// Makes a draft of a workshop's summary for `owner`: a fork of the
    /// document as stored, under a new id. Durable after the store's next
    /// flush; the caller flushes.
    pub fn create_draft(
        &self,
        workshop: &DocumentId,
        owner: &str,
    ) -> Result<Option<DraftRecord>, WorkshopError> {
        let Some(doc) = self.load(workshop)? else {
            return Ok(None);
        };
        let id = DocumentId::random();
        self.store.append(&id, &doc.save())?;
        let record = DraftRecord {
            id: id.to_string(),
            workshop: workshop.to_string(),
            owner: owner.to_owned(),
            created_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        };
        self.store
            .put(Table::Drafts, id.as_bytes(), &serde_json::to_vec(&record)?)?;
        Ok(Some(record))
    }

    pub fn draft(&self, id: &DocumentId) -> Result<Option<DraftRecord>, WorkshopError> {
        match self.store.get(Table::Drafts, id.as_bytes())? {
            Some(v) => Ok(Some(serde_json::from_slice(&v)?)),
            None => Ok(None),
        }
    }

    /// A user's drafts of a workshop, oldest first.
    pub fn drafts_of(
        &self,
        workshop: &DocumentId,
        owner: &str,
    ) -> Result<Vec<DraftRecord>, WorkshopError> {
        let mut out: Vec<DraftRecord> = self
            .store
            .scan(Table::Drafts, &[])?
            .into_iter()
            .map(|(_, v)| serde_json::from_slice::<DraftRecord>(&v))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|d| d.workshop == workshop.to_string() && d.owner == owner)
            .collect();
        out.sort_by_key(|d| d.created_at);
        Ok(out)
    }

    /// The document as stored (every acknowledged change), through the
    /// one loader the document actor uses too: a stored chunk automerge
    /// cannot load is skipped, never a failure of the whole read.
    pub fn load(&self, id: &DocumentId) -> Result<Option<Automerge>, WorkshopError> {
        let Some(stored) = self.store.load(id)? else {
            return Ok(None);
        };
        let (doc, skipped) = docsync::doc_state::load_chunks(&stored.chunks);
        if !skipped.is_empty() {
            tracing::warn!(doc_id = %id, chunks = skipped.len(), "skipped unreadable stored chunks");
        }
        Ok(Some(doc))
    }

    /// The summary as stored.
    pub fn summary(&self, id: &DocumentId) -> Result<Option<Summary>, WorkshopError> {
        match self.load(id)? {
            Some(doc) => Ok(Some(Summary::read(&doc)?)),
            None => Ok(None),
        }
    }

    /// The latest published edition (the named version published last),
    /// `None` when nothing is published yet.
    pub fn edition(&self, id: &DocumentId) -> Result<Option<Edition>, WorkshopError> {
        let Some(doc) = self.load(id)? else {
            return Ok(None);
        };
        let Some(latest) = model::history::named(&doc).pop() else {
            return Ok(None);
        };
        let heads = model::history::parse_heads(&latest.heads)
            .map_err(|e| WorkshopError::Edition(e.to_string()))?;
        let summary =
            model::history::at(&doc, &heads).map_err(|e| WorkshopError::Edition(e.to_string()))?;
        Ok(Some(Edition {
            summary,
            name: latest.name,
            at: latest.at,
        }))
    }

    /// The document's comment threads, anchors resolved.
    pub fn threads(
        &self,
        id: &DocumentId,
    ) -> Result<Vec<model::threads::ThreadView>, WorkshopError> {
        Ok(self
            .load(id)?
            .map(|doc| model::threads::threads(&doc))
            .unwrap_or_default())
    }

    /// Every automerge actor (hex) that wrote in the document.
    pub fn actors(&self, id: &DocumentId) -> Result<Vec<String>, WorkshopError> {
        let Some(doc) = self.load(id)? else {
            return Ok(Vec::new());
        };
        let mut actors: Vec<String> = doc
            .get_changes(&[])
            .iter()
            .map(|c| c.actor_id().to_hex_string())
            .collect();
        actors.sort();
        actors.dedup();
        Ok(actors)
    }
}
