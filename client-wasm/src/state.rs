//! The client's state, without the browser: what the page is (its facts
//! from the server), the sync session with its documents, the connection,
//! and the interface. Only [`crate::update::update`] changes it; the views
//! read it.

use std::collections::HashMap;

use automerge::{Automerge, ReadDoc};
use docsync::session::Session;
use docsync::{DocumentId, PeerId};
use model::history;
use model::presence::{self, Presence};
use model::summary::Summary;
use model::threads;
use serde_json::Value;

use crate::effect::Spot;
use crate::i18n::Lang;

/// The first wait before reconnecting, doubled up to [`MAX_BACKOFF_MS`].
pub const FIRST_BACKOFF_MS: u32 = 500;
pub const MAX_BACKOFF_MS: u32 = 10_000;
/// How often [`crate::msg::Msg::Tick`] comes.
pub const TICK_MS: u32 = 1_000;
/// How long sent changes may wait for the server's acknowledgement before
/// the connection counts as dead (the server pings every 5 s and drops a
/// silent peer after 10 s; a live server acknowledges within milliseconds).
pub const ACK_TIMEOUT_MS: f64 = 5_000.0;
/// How long a socket may take from opening to joining before it is
/// given up and made again.
pub const JOIN_TIMEOUT_MS: f64 = 10_000.0;
/// How often we tell the others we are still reading.
pub const ANNOUNCE_MS: f64 = 5_000.0;
/// Readers we have not heard from for this long have gone.
pub const READER_TIMEOUT_MS: f64 = 30_000.0;
/// Remote changes are saved locally at most this often.
pub const SAVE_DELAY_MS: u32 = 1_000;

/// What is kept with a document's local copy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalMeta {
    /// The heads the server last acknowledged (hex).
    pub acked: Vec<String>,
    /// The actors this browser wrote the document with (hex): a reload
    /// gets a new actor, and our earlier changes stay ours.
    pub actors: Vec<String>,
}

impl LocalMeta {
    /// As JSON, `{"acked": [...], "actors": [...]}`. Written and read
    /// through `serde_json::Value`, as the API's bodies are: a derived serde
    /// implementation would add its own copy of the JSON reader and writer
    /// to the wasm (some 15 KB).
    pub fn to_json(&self) -> Vec<u8> {
        let strings =
            |list: &[String]| Value::Array(list.iter().cloned().map(Value::String).collect());
        let mut map = serde_json::Map::new();
        map.insert("acked".into(), strings(&self.acked));
        map.insert("actors".into(), strings(&self.actors));
        Value::Object(map).to_string().into_bytes()
    }

    /// Reads what [`LocalMeta::to_json`] wrote; `None` unless both lists
    /// are there and hold only strings.
    pub fn from_json(bytes: &[u8]) -> Option<LocalMeta> {
        let value = crate::json::parse(std::str::from_utf8(bytes).ok()?)?;
        let strings = |key: &str| -> Option<Vec<String>> {
            value
                .get(key)?
                .as_array()?
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect()
        };
        Some(LocalMeta {
            acked: strings("acked")?,
            actors: strings("actors")?,
        })
    }
}

/// What the server told us about this page (`<body data-…>`).
#[derive(Debug, Clone)]
pub struct Page {
    pub kind: String,
    pub doc: Option<DocumentId>,
    pub role: Role,
    pub user_name: String,
    pub lang: Lang,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Public,
    Participant,
    Host,
}

impl Role {
    pub fn parse(s: &str) -> Self {
        match s {
            "host" => Role::Host,
            "participant" => Role::Participant,
            _ => Role::Public,
        }
    }
}

/// The connection to the server, as the status pill tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conn {
    /// The first connection is being made.
    Connecting,
    /// Joined; documents sync.
    Online,
    /// No connection (closed, the browser is offline, or the server stopped
    /// answering); reconnecting in the background.
    Offline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Comments,
    Proposals,
    History,
    Share,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    Open,
    Resolved,
    Orphaned,
}

/// A selection inside one section's body (UTF-16), and where its
/// characters are, so that it stays on them through remote edits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sel {
    pub section: String,
    pub start: usize,
    pub end: usize,
    pub quote: String,
    /// The body's text object the selection was made in, and automerge
    /// cursors on its first and last character ([`Sel::anchored`]).
    pub anchor: Option<(automerge::ObjId, (String, String))>,
}

impl Sel {
    /// The selection with its cursors, taken in the document it was made in.
    pub fn anchored(mut self, doc: &Automerge) -> Self {
        self.anchor = threads::section_body(doc, &self.section).and_then(|body| {
            let cursors = presence::selection_cursors(doc, &body, self.start, self.end)?;
            Some((body, cursors))
        });
        self
    }

    /// The whole text of a section, as a selection (keyboard users' way
    /// to comment on or propose for a section); `None` if it is empty.
    pub fn whole_section(doc: &Automerge, section: &str) -> Option<Self> {
        let body = threads::section_body(doc, section)?;
        let text = doc.text(&body).ok()?;
        let end = text.encode_utf16().count();
        (end > 0).then(|| {
            Sel {
                section: section.to_owned(),
                start: 0,
                end,
                quote: text,
                anchor: None,
            }
            .anchored(doc)
        })
    }

    /// The selection after changes to `doc`: on the same characters, or
    /// what is left of them; `None` when none are. Without cursors it
    /// stays as it is.
    pub fn follow(&self, doc: &Automerge) -> Option<Sel> {
        let Some((text, cursors)) = &self.anchor else {
            return Some(self.clone());
        };
        // The cursors name characters of `text`: resolve them there only
        // (automerge panics on another object's), and only while it is
        // still the section's body.
        if threads::section_body(doc, &self.section).as_ref() != Some(text) {
            return None;
        }
        let (start, end) = presence::follow_own(doc, text, cursors)?;
        let units: Vec<u16> = doc.text(text).ok()?.encode_utf16().collect();
        Some(Sel {
            start,
            end,
            quote: String::from_utf16_lossy(units.get(start..end)?),
            ..self.clone()
        })
    }
}

/// What the composer in the sidebar is writing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Composer {
    Comment(Sel),
    Replace(Sel),
    Paragraph { section: String, at: usize },
    Action,
    Reply { thread: String },
    EditComment { thread: String, comment: String },
    EditAccept { contribution: String },
    Reject { contribution: String },
}

/// The composer's fields (`data-key`), emptied when it sends or closes.
pub const COMPOSER_FIELDS: [&str; 4] = [
    "composer-text",
    "composer-reason",
    "composer-owner",
    "composer-due",
];

/// A past version, read-only, or its comparison with now; `heads` names
/// the version (for the view's header).
#[derive(Debug, Clone)]
pub struct VersionView {
    pub heads: String,
    pub shown: Shown,
}

#[derive(Debug, Clone)]
pub enum Shown {
    At(Summary),
    Compare(history::Comparison),
}

impl VersionView {
    pub fn of(doc: &Automerge, heads: &str, compare: bool) -> Option<Self> {
        let list: Vec<String> = heads.split(',').map(str::to_owned).collect();
        let list = history::parse_heads(&list).ok()?;
        let shown = if compare {
            history::compare(doc, &list, &doc.get_heads())
                .ok()
                .map(Shown::Compare)
        } else {
            history::at(doc, &list).ok().map(Shown::At)
        }?;
        Some(VersionView {
            heads: heads.to_owned(),
            shown,
        })
    }
}

/// The action a host is editing (`new`: not yet in the summary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionEdit {
    pub id: String,
    pub new: bool,
}

/// An invite as the Share panel lists it (from the invites API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteRow {
    pub id: String,
    pub role: String,
    /// "valid", "expired", "used up" or "revoked" (the server's words).
    pub state: String,
    pub uses: u64,
    pub max_uses: Option<u64>,
    /// Milliseconds since the epoch.
    pub expires_at: Option<i64>,
    /// Seconds since the epoch.
    pub created_at: u64,
    /// Only for the invite created in this page (the server keeps hashes).
    pub url: Option<String>,
}

/// Everything the interface shows besides the documents.
#[derive(Default)]
pub struct Ui {
    pub tab: Option<Tab>,
    pub filter: Option<Filter>,
    pub selection: Option<Sel>,
    pub composer: Option<Composer>,
    /// The control that opened the composer: the focus goes back to it
    /// when the composer closes.
    pub opener: Option<Spot>,
    /// The section a host (or a drafter) is editing.
    pub editing: Option<String>,
    /// Whether a host has the workshop's details form open.
    pub meta_editing: bool,
    /// The action a host is editing.
    pub action_editing: Option<ActionEdit>,
    /// The section a host asked to delete, awaiting confirmation.
    pub confirm_delete: Option<String>,
    /// The draft being edited instead of the summary.
    pub draft: Option<DocumentId>,
    pub my_drafts: Vec<String>,
    /// Other readers, by peer, with when we last heard of them (ms).
    pub readers: HashMap<PeerId, (Presence, f64)>,
    /// Verified authors: actor hex → (user id, name).
    pub authors: HashMap<String, (String, String)>,
    pub authors_loading: bool,
    pub me: Option<String>,
    /// Values typed into inputs, by `data-key`, kept across re-renders.
    pub inputs: HashMap<String, String>,
    /// A message for the user (an error, a created link).
    pub notice: Option<String>,
    /// The workshop's invites, when the Share tab has loaded them.
    pub invites: Option<Vec<InviteRow>>,
    /// The link of the invite made last (shown until another is made).
    pub new_invite: Option<InviteRow>,
    /// The invite link just copied (for the "Copied" confirmation).
    pub copied: Option<String>,
    /// A past version shown read-only, or a comparison.
    pub version_view: Option<VersionView>,
    /// What the public sees ("live" or "published"), once a host's
    /// History tab has read the workshop's record.
    pub public_view: Option<String>,
    /// Whether open proposals are shown in the text (suggestion mode).
    pub suggestions: bool,
    /// How many sections each open draft changes (by contribution), for
    /// its card.
    pub draft_sections: HashMap<String, usize>,
    /// A draft's merge preview (the server's JSON), by contribution.
    pub preview: Option<(String, serde_json::Value)>,
    pub unavailable: bool,
    pub refused: Option<String>,
    /// The thread the reader is looking at (its card focused, its
    /// highlight active; on phones, its bottom sheet open).
    pub focused_thread: Option<String>,
    /// Whether the floating toolbar by the selection is open (Escape
    /// closes it and leaves the selection).
    pub toolbar: bool,
    /// The section whose "⋯" menu is open.
    pub section_menu: Option<String>,
}

pub struct Model {
    pub page: Page,
    pub session: Session,
    pub conn: Conn,
    pub ui: Ui,
    /// The time of the message being handled (ms since the epoch), set by
    /// the runtime: update reads no clock.
    pub now: f64,
    /// Whether the browser says it has a network.
    pub browser_online: bool,
    pub backoff_ms: u32,
    pub reconnect_pending: bool,
    /// Whether a socket is open or opening.
    pub socket_open: bool,
    pub save_pending: bool,
    /// When we last sent a presence announcement (ms).
    pub last_announce: f64,
    /// When the current socket was asked for, until it joins.
    pub connect_started: Option<f64>,
    /// Since when sent changes wait for the server's acknowledgement.
    pub unacked_since: Option<f64>,
    /// The documents whose local copies have been read.
    pub loaded: Vec<DocumentId>,
    /// The actors this browser wrote with (hex), across reloads.
    pub own_actors: Vec<String>,
}

impl Model {
    pub fn new(page: Page, peer: PeerId) -> Self {
        Model {
            page,
            session: Session::new(peer),
            conn: Conn::Connecting,
            ui: Ui::default(),
            now: 0.0,
            browser_online: true,
            backoff_ms: FIRST_BACKOFF_MS,
            reconnect_pending: false,
            socket_open: false,
            save_pending: false,
            last_announce: 0.0,
            connect_started: None,
            unacked_since: None,
            loaded: Vec::new(),
            own_actors: Vec::new(),
        }
    }

    pub fn t(&self, key: &'static str) -> &'static str {
        self.page.lang.t(key)
    }

    /// The document the summary view shows: the open draft, or the summary.
    pub fn shown(&self) -> Option<DocumentId> {
        self.ui.draft.or(self.page.doc)
    }

    pub fn shown_doc(&self) -> Option<&Automerge> {
        self.session.doc(self.shown()?)
    }

    pub fn summary_doc(&self) -> Option<&Automerge> {
        self.session.doc(self.page.doc?)
    }

    pub fn is_host(&self) -> bool {
        self.page.role == Role::Host
    }

    pub fn can_take_part(&self) -> bool {
        self.page.role != Role::Public
    }

    /// Whether the shown document's text may be edited here.
    pub fn can_edit_text(&self) -> bool {
        self.ui.draft.is_some() || self.is_host()
    }

    /// The documents this page holds: the summary and the open draft.
    pub fn held(&self) -> Vec<DocumentId> {
        self.page.doc.into_iter().chain(self.ui.draft).collect()
    }

    /// Our changes the server is not known to hold, over every document
    /// the page holds (a draft closed or submitted offline too).
    pub fn waiting(&self) -> usize {
        self.session
            .ids()
            .into_iter()
            .map(|id| self.session.waiting(id))
            .sum()
    }

    pub fn input(&self, key: &str) -> String {
        self.ui.inputs.get(key).cloned().unwrap_or_default()
    }

    /// The verified name behind an actor (our own actors are us, even
    /// before the server has bound them).
    pub fn author_name(&self, actor: &str) -> String {
        let own = self.own_actors.iter().any(|a| a == actor)
            || self
                .held()
                .into_iter()
                .filter_map(|id| self.session.doc(id))
                .any(|d| d.get_actor().to_hex_string() == actor);
        if own && !self.page.user_name.is_empty() {
            return self.page.user_name.clone();
        }
        match self.ui.authors.get(actor) {
            Some((_, name)) if !name.is_empty() => name.clone(),
            _ => self.t("unknown").to_owned(),
        }
    }

    /// Whether an actor (of a thread, comment or contribution: they are
    /// all in the summary) is the signed-in user's.
    pub fn is_mine(&self, actor: &str) -> bool {
        let own_actor = self.own_actors.iter().any(|a| a == actor)
            || self
                .summary_doc()
                .is_some_and(|d| d.get_actor().to_hex_string() == actor);
        own_actor
            || matches!((&self.ui.me, self.ui.authors.get(actor)), (Some(me), Some((id, _))) if me == id)
    }

    /// The connection pill: its state (for styling and tests) and text.
    pub fn status(&self) -> (&'static str, String) {
        if self.ui.unavailable {
            return ("unavailable", self.t("unavailable").to_owned());
        }
        let waiting = self.waiting();
        match self.conn {
            Conn::Connecting => ("connecting", self.t("connecting").to_owned()),
            Conn::Offline => {
                let text = match waiting {
                    0 => self.t("offline-saved").to_owned(),
                    1 => self.t("offline-one").to_owned(),
                    n => self.t("offline-n").replace("{n}", &n.to_string()),
                };
                ("offline", text)
            }
            Conn::Online => {
                let synced = self.held().into_iter().all(|id| self.session.is_synced(id));
                if synced && waiting == 0 && !self.can_take_part() {
                    // A public reader saves nothing: "Saved" would say
                    // they could change something.
                    ("saved", self.t("read-only-live").to_owned())
                } else if synced && waiting == 0 {
                    ("saved", self.t("saved").to_owned())
                } else {
                    ("syncing", self.t("syncing").to_owned())
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LocalMeta;

    #[test]
    fn local_meta_reads_what_it_wrote_and_what_earlier_versions_wrote() {
        let meta = LocalMeta {
            acked: vec!["ab12".into()],
            actors: vec!["cd34".into(), "ef56".into()],
        };
        assert_eq!(LocalMeta::from_json(&meta.to_json()), Some(meta.clone()));
        // As serde's derive wrote it (copies kept before this version).
        let earlier = br#"{"acked":["ab12"],"actors":["cd34","ef56"]}"#;
        assert_eq!(meta.to_json(), earlier);
        assert_eq!(LocalMeta::from_json(earlier), Some(meta));
        for bad in [&b"{}"[..], br#"{"acked":[1],"actors":[]}"#, b"\xff", b"[]"] {
            assert_eq!(LocalMeta::from_json(bad), None);
        }
    }
}
