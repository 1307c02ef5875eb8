//! The application: page facts, the sync session, the connection state and
//! the interface state, and the handlers every event goes through.
//!
//! One `App` per page, shared as `Rc<RefCell<App>>` by the socket and DOM
//! callbacks. Handlers take the `Rc`, change state, send what the session
//! says, and re-render. Clicks are delegated: buttons carry `data-action`
//! and one listener on the document dispatches them (no closure per
//! element, nothing leaks across re-renders).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use automerge::{Automerge, ReadDoc};
use base64::Engine;
use docsync::session::{Event, Session};
use docsync::{DocumentId, Message, PeerId};
use model::contributions::{self, Proposal};
use model::presence::{self, Presence};
use model::threads;
use wasm_bindgen::prelude::*;

use crate::dom::{data, window};
use crate::focus::{self, Spot};
use crate::i18n::Lang;
use crate::net::Socket;
use crate::{api, render};

pub const FIRST_BACKOFF_MS: u32 = 500;

/// The actions that open the composer (which then takes the focus).
const OPENS_COMPOSER: [&str; 10] = [
    "comment",
    "propose",
    "comment-section",
    "propose-section",
    "propose-paragraph",
    "propose-action",
    "reply",
    "edit-comment",
    "edit-accept",
    "reject",
];

/// The composer's fields (`data-key`), emptied when it sends or closes.
const COMPOSER_FIELDS: [&str; 4] = [
    "composer-text",
    "composer-reason",
    "composer-owner",
    "composer-due",
];

/// What the server told us about this page (`<body data-…>`).
pub struct Page {
    pub kind: String,
    pub doc: Option<DocumentId>,
    /// "public", "participant" or "host".
    pub role: String,
    pub user_name: String,
    pub lang: Lang,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conn {
    Connecting,
    Online,
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

/// Everything the interface shows besides the documents.
#[derive(Default)]
pub struct Ui {
    pub tab: Option<Tab>,
    pub filter: Option<Filter>,
    pub selection: Option<Sel>,
    pub composer: Option<Composer>,
    /// The control that opened the composer: the focus goes back to it
    /// when the composer closes.
    pub opener: Option<focus::Spot>,
    /// The section a host (or a drafter) is editing.
    pub editing: Option<String>,
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
    pub invite_url: Option<String>,
    /// A past version shown read-only, or a comparison.
    pub version_view: Option<render::VersionView>,
    /// A draft's merge preview (JSON from the server), by contribution.
    pub preview: Option<(String, JsValue)>,
    pub unavailable: bool,
    pub refused: Option<String>,
}

pub struct App {
    pub page: Page,
    pub session: Session,
    pub socket: Option<Socket>,
    pub reconnect_pending: bool,
    pub backoff_ms: u32,
    pub conn: Conn,
    pub ui: Ui,
    /// The local copy of a document is saved at most this often after
    /// remote changes (local changes are saved at once).
    save_pending: bool,
}

fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

fn storage_key(id: DocumentId) -> String {
    format!("synpunkt:doc:{id}")
}

pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Commits with the time (seconds, as automerge records it): the history
/// shows when each version was written.
fn commit(tx: automerge::transaction::Transaction<'_>) {
    tx.commit_with(
        automerge::transaction::CommitOptions::default().with_time((now_ms() / 1000.0) as i64),
    );
}

impl App {
    pub fn new(page: Page) -> Self {
        let peer = PeerId::new(format!("browser-{}", uuid::Uuid::new_v4()))
            .expect("a generated peer id is valid");
        App {
            page,
            session: Session::new(peer),
            socket: None,
            reconnect_pending: false,
            backoff_ms: FIRST_BACKOFF_MS,
            conn: Conn::Connecting,
            ui: Ui::default(),
            save_pending: false,
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
        self.page.role == "host"
    }

    pub fn can_take_part(&self) -> bool {
        matches!(self.page.role.as_str(), "host" | "participant")
    }

    /// Whether the shown document's text may be edited here.
    pub fn can_edit_text(&self) -> bool {
        self.ui.draft.is_some() || self.is_host()
    }

    /// Opens a document, from its local copy if there is one.
    pub fn open(app: &Rc<RefCell<App>>, id: DocumentId) {
        let saved = storage()
            .and_then(|s| s.get_item(&storage_key(id)).ok().flatten())
            .and_then(|text| base64::engine::general_purpose::STANDARD.decode(text).ok());
        let out = app.borrow_mut().session.open(id, saved.as_deref());
        Self::send(app, out);
    }

    fn save_now(&mut self, id: DocumentId) {
        // Public readers keep nothing: they cannot change anything.
        if !self.can_take_part() {
            return;
        }
        if let (Some(bytes), Some(store)) = (self.session.save(id), storage()) {
            let text = base64::engine::general_purpose::STANDARD.encode(bytes);
            let _ = store.set_item(&storage_key(id), &text);
        }
    }

    fn save_soon(app: &Rc<RefCell<App>>) {
        if std::mem::replace(&mut app.borrow_mut().save_pending, true) {
            return;
        }
        let app2 = app.clone();
        let later = Closure::once_into_js(move || {
            let mut a = app2.borrow_mut();
            a.save_pending = false;
            let ids: Vec<DocumentId> = a.page.doc.into_iter().chain(a.ui.draft).collect();
            for id in ids {
                a.save_now(id);
            }
        });
        let _ = window()
            .set_timeout_with_callback_and_timeout_and_arguments_0(later.unchecked_ref(), 1000);
    }

    /// Sends messages if the socket is open (otherwise the session resends
    /// what is needed after the next join).
    pub fn send(app: &Rc<RefCell<App>>, messages: Vec<Message>) {
        let a = app.borrow();
        let Some(socket) = &a.socket else { return };
        if socket.ws.ready_state() != web_sys::WebSocket::OPEN {
            return;
        }
        for m in messages {
            let _ = socket.ws.send_with_u8_array(&docsync::encode(&m));
        }
    }

    pub fn socket_opened(app: &Rc<RefCell<App>>) {
        let join = app.borrow().session.join();
        Self::send(app, vec![join]);
    }

    pub fn socket_closed(app: &Rc<RefCell<App>>) {
        let had_readers = {
            let mut a = app.borrow_mut();
            a.socket = None;
            a.session.disconnected();
            a.conn = Conn::Offline;
            let had = !a.ui.readers.is_empty();
            a.ui.readers.clear();
            had
        };
        render::status(&app.borrow());
        // Failed reconnection attempts change nothing else: no redraw.
        if had_readers {
            render::summary(app);
            render::sidebar(app);
        }
    }

    /// A frame from the server.
    pub fn frame(app: &Rc<RefCell<App>>, bytes: &[u8]) {
        let Ok(message) = docsync::decode(bytes) else {
            return;
        };
        // Keep the local editor's selection where it was in the text.
        let caret = render::editor_cursors(&app.borrow());
        let (out, events) = app.borrow_mut().session.receive(message);
        Self::send(app, out);
        let mut changed = false;
        let mut readers = false;
        let mut newcomer = false;
        let mut synced = false;
        for event in events {
            match event {
                Event::Joined => {
                    let mut a = app.borrow_mut();
                    a.conn = Conn::Online;
                    a.backoff_ms = FIRST_BACKOFF_MS;
                    drop(a);
                    Self::announce(app);
                }
                Event::Changed(_) => changed = true,
                Event::Synced(_) => synced = true,
                Event::Unavailable(id) => {
                    let mut a = app.borrow_mut();
                    if Some(id) == a.page.doc && !a.session.has_content(id) {
                        a.ui.unavailable = true;
                    }
                    changed = true;
                }
                Event::Error(message) => {
                    let mut a = app.borrow_mut();
                    a.ui.refused = Some(message);
                }
                Event::Refused(id, message) => {
                    // The change would be refused again on every
                    // reconnect: drop our copy (here and stored) and fetch
                    // the server's afresh.
                    let mut a = app.borrow_mut();
                    a.session.discard(id);
                    if let Some(store) = storage() {
                        let _ = store.remove_item(&storage_key(id));
                    }
                    a.ui.refused = Some(format!("{}: {message}", a.t("refused")));
                    changed = true;
                }
                Event::Ephemeral {
                    from,
                    document,
                    data,
                } => {
                    let mut a = app.borrow_mut();
                    if Some(document) == a.page.doc
                        && let Some(p) = Presence::decode(&data)
                    {
                        if p.leaving {
                            a.ui.readers.remove(&from);
                        } else if a.ui.readers.insert(from, (p, now_ms())).is_none() {
                            newcomer = true;
                        }
                        readers = true;
                    }
                }
            }
        }
        if newcomer {
            // Someone new is reading: tell them at once that we are too
            // (they would otherwise hear of us at our next tick).
            Self::announce(app);
        }
        if synced {
            // Our new actors are bound by now: their names can be shown.
            Self::load_authors_if_needed(app);
        }
        if changed {
            let moved = app.borrow_mut().follow_selections();
            Self::save_soon(app);
            render::all(app);
            render::restore_editor(&app.borrow(), caret);
            Self::load_authors_if_needed(app);
            if moved {
                Self::announce(app);
            }
        } else {
            render::status(&app.borrow());
            if readers {
                render::summary(app);
                render::sidebar(app);
            }
        }
    }

    /// After changes to the shown document: keeps the selection, and the
    /// one a composer is about, on the same characters. Whether the
    /// selection moved (or went).
    fn follow_selections(&mut self) -> bool {
        let Some(doc) = self.shown_doc() else {
            return false;
        };
        let selection = self.ui.selection.as_ref().map(|s| s.follow(doc));
        // A composer keeps its selection even when its text went: what was
        // typed stays, and the thread's anchor says it is orphaned.
        let composer = match &self.ui.composer {
            Some(Composer::Comment(s)) => Some(Composer::Comment(
                s.follow(doc).unwrap_or_else(|| s.clone()),
            )),
            Some(Composer::Replace(s)) => Some(Composer::Replace(
                s.follow(doc).unwrap_or_else(|| s.clone()),
            )),
            _ => None,
        };
        if composer.is_some() {
            self.ui.composer = composer;
        }
        match selection {
            Some(now) if now != self.ui.selection => {
                self.ui.selection = now;
                true
            }
            _ => false,
        }
    }

    /// Makes a local change to a document, keeps it locally, sends it.
    pub fn change(app: &Rc<RefCell<App>>, id: DocumentId, f: impl FnOnce(&mut Automerge)) {
        let out = {
            let mut a = app.borrow_mut();
            let ((), out) = a.session.change(id, f);
            a.save_now(id);
            out
        };
        Self::send(app, out);
        render::all(app);
    }

    /// Tells the others we are here and what we have selected.
    pub fn announce(app: &Rc<RefCell<App>>) {
        Self::send_presence(app, false);
    }

    /// Tells the others we are going (the page closes), so that they do
    /// not list us until we time out.
    pub fn leave(app: &Rc<RefCell<App>>) {
        Self::send_presence(app, true);
    }

    fn send_presence(app: &Rc<RefCell<App>>, leaving: bool) {
        let out = {
            let mut a = app.borrow_mut();
            let Some(doc) = a.page.doc else { return };
            if !a.can_take_part() {
                return;
            }
            let sel = a.ui.selection.clone();
            let p = Presence {
                name: a.page.user_name.clone(),
                color: presence::color_for(a.session.peer_id().as_str()).to_owned(),
                section: sel.as_ref().map(|s| s.section.clone()),
                start: sel.as_ref().map_or(0, |s| s.start as u32),
                end: sel.as_ref().map_or(0, |s| s.end as u32),
                cursors: sel
                    .as_ref()
                    .and_then(|s| s.anchor.as_ref())
                    .map(|(_, cursors)| cursors.clone()),
                leaving,
            };
            a.session.ephemeral(doc, p.encode())
        };
        Self::send(app, out.into_iter().collect());
    }

    /// Fetches verified author names when the document has unknown actors.
    pub fn load_authors_if_needed(app: &Rc<RefCell<App>>) {
        let path = {
            let a = app.borrow();
            let Some(doc) = a.page.doc else { return };
            if a.ui.authors_loading {
                return;
            }
            let Some(d) = a.summary_doc() else { return };
            let unknown = d
                .get_changes(&[])
                .iter()
                .any(|c| !a.ui.authors.contains_key(&c.actor_id().to_hex_string()));
            if !unknown {
                return;
            }
            format!("/api/workshops/{doc}/authors")
        };
        app.borrow_mut().ui.authors_loading = true;
        let app = app.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let (status, json) = api::call("GET", &path, None).await;
            {
                let mut a = app.borrow_mut();
                a.ui.authors_loading = false;
                if status == 200
                    && let Ok(keys) = js_sys::Reflect::own_keys(&json)
                {
                    for key in keys.iter() {
                        let Some(actor) = key.as_string() else {
                            continue;
                        };
                        let who = api::get(&json, &actor);
                        a.ui.authors.insert(
                            actor,
                            (api::str_of(&who, "userId"), api::str_of(&who, "name")),
                        );
                    }
                }
            }
            render::all(&app);
        });
    }

    /// The verified name behind an actor (our own actors are us, even
    /// before the server has bound them).
    pub fn author_name(&self, actor: &str) -> String {
        let own = [self.page.doc, self.ui.draft]
            .into_iter()
            .flatten()
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
        let own_actor = self
            .summary_doc()
            .is_some_and(|d| d.get_actor().to_hex_string() == actor);
        own_actor
            || matches!((&self.ui.me, self.ui.authors.get(actor)), (Some(me), Some((id, _))) if me == id)
    }

    /// A click on an element with `data-action`.
    pub fn on_click(app: &Rc<RefCell<App>>, target: &web_sys::Element) {
        let action = data(target, "action");
        let (thread, section, contribution, comment) = (
            data(target, "thread"),
            data(target, "section"),
            data(target, "contribution"),
            data(target, "comment"),
        );
        let mut rerender = true;
        match action.as_str() {
            "tab" => {
                let tab = match data(target, "tab").as_str() {
                    "proposals" => Tab::Proposals,
                    "history" => Tab::History,
                    "share" => Tab::Share,
                    _ => Tab::Comments,
                };
                app.borrow_mut().ui.tab = Some(tab);
                if tab == Tab::Proposals {
                    Self::load_drafts(app);
                }
            }
            "filter" => {
                let filter = match data(target, "filter").as_str() {
                    "resolved" => Filter::Resolved,
                    "orphaned" => Filter::Orphaned,
                    _ => Filter::Open,
                };
                app.borrow_mut().ui.filter = Some(filter);
            }
            "comment" | "propose" => {
                let mut a = app.borrow_mut();
                if let Some(sel) = a.ui.selection.clone() {
                    // The tab where what is written will be listed.
                    (a.ui.composer, a.ui.tab) = if action == "comment" {
                        (Some(Composer::Comment(sel)), Some(Tab::Comments))
                    } else {
                        (Some(Composer::Replace(sel)), Some(Tab::Proposals))
                    };
                }
            }
            // Keyboard users' way to a selection: the whole section.
            "comment-section" | "propose-section" => {
                let sel = app.borrow().shown_doc().and_then(|d| {
                    let body = threads::section_body(d, &section)?;
                    let text = d.text(&body).ok()?;
                    let end = text.encode_utf16().count();
                    (end > 0).then(|| {
                        Sel {
                            section: section.clone(),
                            start: 0,
                            end,
                            quote: text,
                            anchor: None,
                        }
                        .anchored(d)
                    })
                });
                let mut a = app.borrow_mut();
                if action == "comment-section" {
                    a.ui.composer = sel.map(Composer::Comment);
                    a.ui.tab = Some(Tab::Comments);
                } else {
                    a.ui.composer = sel.map(Composer::Replace);
                    a.ui.tab = Some(Tab::Proposals);
                }
            }
            "propose-paragraph" => {
                let mut a = app.borrow_mut();
                let at = match &a.ui.selection {
                    Some(s) if s.section == section => s.end,
                    _ => usize::MAX,
                };
                a.ui.composer = Some(Composer::Paragraph { section, at });
                a.ui.tab = Some(Tab::Proposals);
            }
            "propose-action" => {
                let mut a = app.borrow_mut();
                a.ui.composer = Some(Composer::Action);
                a.ui.tab = Some(Tab::Proposals);
            }
            "reply" => app.borrow_mut().ui.composer = Some(Composer::Reply { thread }),
            "edit-comment" => {
                app.borrow_mut().ui.composer = Some(Composer::EditComment { thread, comment })
            }
            "edit-accept" => {
                app.borrow_mut().ui.composer = Some(Composer::EditAccept { contribution })
            }
            "reject" => app.borrow_mut().ui.composer = Some(Composer::Reject { contribution }),
            "cancel" => {
                Self::close_composer(app);
                rerender = false;
            }
            "submit" => {
                Self::submit(app);
                Self::return_focus(app);
                rerender = false;
            }
            "delete-comment" => {
                Self::change_summary(app, |tx| {
                    let _ = threads::delete_comment(tx, &thread, &comment);
                });
                rerender = false;
            }
            "resolve" | "reopen" => {
                let resolved = action == "resolve";
                Self::change_summary(app, |tx| {
                    let _ = threads::set_resolved(tx, &thread, resolved);
                });
                rerender = false;
            }
            "react" => {
                let Some(doc) = app.borrow().page.doc else {
                    return;
                };
                Self::change(app, doc, |d| {
                    let actor = d.get_actor().clone();
                    let on = !threads::threads(d).iter().any(|t| {
                        t.id == thread
                            && t.comments.iter().any(|c| {
                                c.id == comment
                                    && c.reactions
                                        .iter()
                                        .any(|(e, a)| e == "👍" && *a == actor.to_hex_string())
                            })
                    });
                    let mut tx = d.transaction();
                    let _ = threads::react(&mut tx, &thread, &comment, "👍", &actor, on);
                    commit(tx);
                });
                rerender = false;
            }
            "withdraw" => {
                Self::change_summary(app, |tx| {
                    let _ = contributions::withdraw(tx, &contribution);
                });
                rerender = false;
            }
            "edit-section" => {
                app.borrow_mut().ui.editing = Some(section);
                render::all(app);
                render::focus_editor(&app.borrow());
                rerender = false;
            }
            "done-editing" => {
                Self::stop_editing(app);
                rerender = false;
            }
            "accept" => {
                Self::review(app, &contribution, "accept", "{}".into());
                rerender = false;
            }
            "preview" => {
                Self::load_preview(app, &contribution);
                rerender = false;
            }
            "start-draft" => {
                Self::start_draft(app);
                rerender = false;
            }
            "open-draft" => {
                if let Ok(id) = DocumentId::parse(&data(target, "draft")) {
                    Self::open_draft(app, id);
                }
                rerender = false;
            }
            "submit-draft" => {
                Self::submit_draft(app);
                rerender = false;
            }
            "close-draft" => {
                let mut a = app.borrow_mut();
                a.ui.draft = None;
                a.ui.editing = None;
            }
            "view-version" | "compare-version" => {
                let heads = data(target, "heads");
                let a = &mut *app.borrow_mut();
                a.ui.version_view = a
                    .summary_doc()
                    .and_then(|d| render::VersionView::of(d, &heads, action == "compare-version"));
            }
            "close-version" => app.borrow_mut().ui.version_view = None,
            "publish" => {
                Self::publish(app);
                rerender = false;
            }
            "invite" => {
                Self::create_invite(app);
                rerender = false;
            }
            "dismiss" => {
                let mut a = app.borrow_mut();
                a.ui.notice = None;
                a.ui.refused = None;
            }
            _ => rerender = false,
        }
        if rerender {
            render::all(app);
        }
        if OPENS_COMPOSER.contains(&action.as_str()) && app.borrow().ui.composer.is_some() {
            app.borrow_mut().ui.opener = Spot::of(target);
            Spot::field("composer-text").focus();
        }
    }

    /// Escape: closes the composer, else leaves the section editor; the
    /// focus goes back to the control that opened it. False if there was
    /// nothing to close.
    pub fn on_escape(app: &Rc<RefCell<App>>) -> bool {
        let (composing, editing) = {
            let a = app.borrow();
            (a.ui.composer.is_some(), a.ui.editing.is_some())
        };
        if composing {
            Self::close_composer(app);
        } else if editing {
            Self::stop_editing(app);
        }
        composing || editing
    }

    /// Closes the composer without sending; what was typed in it goes too.
    fn close_composer(app: &Rc<RefCell<App>>) {
        {
            let mut a = app.borrow_mut();
            a.ui.composer = None;
            for key in COMPOSER_FIELDS {
                a.ui.inputs.remove(key);
            }
        }
        render::all(app);
        Self::return_focus(app);
    }

    /// After the composer closed: the focus goes back to the control that
    /// opened it, or to the sidebar's selected tab if that is gone.
    fn return_focus(app: &Rc<RefCell<App>>) {
        let opener = app.borrow_mut().ui.opener.take();
        if !opener.is_some_and(|o| o.focus()) {
            focus::selected_tab();
        }
    }

    /// Leaves the section editor; the focus goes to its "Edit section".
    fn stop_editing(app: &Rc<RefCell<App>>) {
        let section = app.borrow_mut().ui.editing.take();
        render::all(app);
        if let Some(section) = section {
            Spot::section_control("edit-section", &section).focus();
        }
    }

    /// A change in one transaction on the summary. Threads and
    /// contributions live only there: also while a draft is shown (a
    /// draft may not carry them, the server would refuse the change).
    fn change_summary(
        app: &Rc<RefCell<App>>,
        f: impl FnOnce(&mut automerge::transaction::Transaction<'_>),
    ) {
        let Some(doc) = app.borrow().page.doc else {
            return;
        };
        Self::change(app, doc, |d| {
            let mut tx = d.transaction();
            f(&mut tx);
            commit(tx);
        });
    }

    fn input(&self, key: &str) -> String {
        self.ui.inputs.get(key).cloned().unwrap_or_default()
    }

    /// Sends what the composer holds.
    fn submit(app: &Rc<RefCell<App>>) {
        let (composer, text, reason, owner, due) = {
            let mut a = app.borrow_mut();
            let Some(composer) = a.ui.composer.take() else {
                return;
            };
            let values = (
                a.input("composer-text").trim().to_owned(),
                a.input("composer-reason").trim().to_owned(),
                a.input("composer-owner").trim().to_owned(),
                a.input("composer-due").trim().to_owned(),
            );
            for key in COMPOSER_FIELDS {
                a.ui.inputs.remove(key);
            }
            (composer, values.0, values.1, values.2, values.3)
        };
        let id = uuid::Uuid::new_v4().to_string();
        let now = now_ms() as i64;
        let Some(summary) = app.borrow().page.doc else {
            return;
        };
        let propose = |app: &Rc<RefCell<App>>, p: Proposal| {
            Self::change(app, summary, |d| {
                let mut tx = d.transaction();
                let _ = contributions::propose(&mut tx, &id, &p, &reason, now);
                commit(tx);
            });
        };
        match composer {
            Composer::Comment(sel) if !text.is_empty() => Self::change(app, summary, |d| {
                let mut tx = d.transaction();
                let _ = threads::create_thread(
                    &mut tx,
                    &id,
                    &sel.section,
                    sel.start,
                    sel.end,
                    &text,
                    now,
                );
                commit(tx);
            }),
            Composer::Replace(sel) => propose(
                app,
                Proposal::Replace {
                    section: sel.section,
                    start: sel.start,
                    end: sel.end,
                    text,
                },
            ),
            Composer::Paragraph { section, at } if !text.is_empty() => {
                propose(app, Proposal::Insert { section, at, text })
            }
            Composer::Action if !text.is_empty() => {
                propose(app, Proposal::Action { text, owner, due })
            }
            Composer::Reply { thread } if !text.is_empty() => Self::change(app, summary, |d| {
                let mut tx = d.transaction();
                let _ = threads::add_comment(&mut tx, &thread, &id, &text, now);
                commit(tx);
            }),
            Composer::EditComment { thread, comment } if !text.is_empty() => {
                Self::change(app, summary, |d| {
                    let mut tx = d.transaction();
                    let _ = threads::edit_comment(&mut tx, &thread, &comment, &text);
                    commit(tx);
                })
            }
            Composer::EditAccept { contribution } => Self::review(
                app,
                &contribution,
                "accept",
                format!("{{\"text\":{}}}", api::json_str(&text)),
            ),
            Composer::Reject { contribution } => Self::review(
                app,
                &contribution,
                "reject",
                format!("{{\"reply\":{}}}", api::json_str(&text)),
            ),
            _ => {}
        }
        app.borrow_mut().ui.selection = None;
        render::all(app);
    }

    /// A host accepts or rejects a contribution (over HTTP; the result
    /// arrives through sync).
    fn review(app: &Rc<RefCell<App>>, contribution: &str, verb: &str, body: String) {
        let Some(doc) = app.borrow().page.doc else {
            return;
        };
        let path = format!("/api/workshops/{doc}/contributions/{contribution}/{verb}");
        let app = app.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let (status, json) = api::call("POST", &path, Some(body)).await;
            if status != 200 {
                let mut a = app.borrow_mut();
                let error = api::str_of(&json, "error");
                a.ui.notice = Some(if error.is_empty() {
                    a.t("error").to_owned()
                } else {
                    error
                });
            }
            app.borrow_mut().ui.preview = None;
            render::all(&app);
        });
    }

    fn load_preview(app: &Rc<RefCell<App>>, contribution: &str) {
        let Some(doc) = app.borrow().page.doc else {
            return;
        };
        let path = format!("/api/workshops/{doc}/contributions/{contribution}/preview");
        let app = app.clone();
        let contribution = contribution.to_owned();
        wasm_bindgen_futures::spawn_local(async move {
            let (status, json) = api::call("GET", &path, None).await;
            {
                let mut a = app.borrow_mut();
                if status == 200 {
                    a.ui.preview = Some((contribution, json));
                } else {
                    a.ui.notice = Some(api::str_of(&json, "error"));
                }
            }
            render::all(&app);
        });
    }

    fn load_drafts(app: &Rc<RefCell<App>>) {
        let Some(doc) = app.borrow().page.doc else {
            return;
        };
        if !app.borrow().can_take_part() {
            return;
        }
        let app = app.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let (status, json) =
                api::call("GET", &format!("/api/workshops/{doc}/drafts"), None).await;
            if status == 200 {
                app.borrow_mut().ui.my_drafts = api::items(&json)
                    .iter()
                    .map(|d| api::str_of(d, "id"))
                    .collect();
                render::sidebar(&app);
            }
        });
    }

    fn start_draft(app: &Rc<RefCell<App>>) {
        let Some(doc) = app.borrow().page.doc else {
            return;
        };
        let app = app.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let (status, json) = api::call(
                "POST",
                &format!("/api/workshops/{doc}/drafts"),
                Some("{}".into()),
            )
            .await;
            match DocumentId::parse(&api::str_of(&json, "id")) {
                Ok(id) if status == 201 => {
                    app.borrow_mut().ui.my_drafts.push(id.to_string());
                    Self::open_draft(&app, id);
                }
                _ => {
                    let mut a = app.borrow_mut();
                    a.ui.notice = Some(a.t("error").to_owned());
                    drop(a);
                    render::all(&app);
                }
            }
        });
    }

    fn open_draft(app: &Rc<RefCell<App>>, id: DocumentId) {
        {
            let mut a = app.borrow_mut();
            a.ui.draft = Some(id);
            a.ui.editing = None;
        }
        Self::open(app, id);
        render::all(app);
    }

    fn submit_draft(app: &Rc<RefCell<App>>) {
        let (draft, summary, reason) = {
            let mut a = app.borrow_mut();
            let (Some(draft), Some(summary)) = (a.ui.draft, a.page.doc) else {
                return;
            };
            let reason = a.input("draft-reason");
            a.ui.inputs.remove("draft-reason");
            a.ui.draft = None;
            a.ui.editing = None;
            a.ui.tab = Some(Tab::Proposals);
            (draft, summary, reason)
        };
        let id = uuid::Uuid::new_v4().to_string();
        let now = now_ms() as i64;
        Self::change(app, summary, |d| {
            let mut tx = d.transaction();
            let _ = contributions::propose(
                &mut tx,
                &id,
                &Proposal::Draft {
                    draft: draft.to_string(),
                },
                &reason,
                now,
            );
            commit(tx);
        });
    }

    fn publish(app: &Rc<RefCell<App>>) {
        let (doc, name) = {
            let mut a = app.borrow_mut();
            let Some(doc) = a.page.doc else { return };
            let name = a.input("version-name").trim().to_owned();
            if name.is_empty() {
                return;
            }
            a.ui.inputs.remove("version-name");
            (doc, name)
        };
        let app = app.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let body = format!("{{\"name\":{}}}", api::json_str(&name));
            let (status, json) = api::call(
                "POST",
                &format!("/api/workshops/{doc}/versions"),
                Some(body),
            )
            .await;
            if status != 201 {
                app.borrow_mut().ui.notice = Some(api::str_of(&json, "error"));
            }
            render::all(&app);
        });
    }

    fn create_invite(app: &Rc<RefCell<App>>) {
        let (doc, role) = {
            let a = app.borrow();
            let Some(doc) = a.page.doc else { return };
            let role = match a.input("invite-role").as_str() {
                "host" => "host",
                _ => "participant",
            };
            (doc, role)
        };
        let app = app.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let body = format!("{{\"role\":\"{role}\"}}");
            let (status, json) =
                api::call("POST", &format!("/api/workshops/{doc}/invites"), Some(body)).await;
            {
                let mut a = app.borrow_mut();
                if status == 201 {
                    a.ui.invite_url = Some(api::str_of(&json, "url"));
                } else {
                    a.ui.notice = Some(api::str_of(&json, "error"));
                }
            }
            render::sidebar(&app);
        });
    }

    /// Text typed into an input or textarea with `data-key`.
    pub fn on_input(app: &Rc<RefCell<App>>, target: &web_sys::Element) {
        let key = data(target, "key");
        let value = render::value_of(target);
        if key == "section-editor" {
            Self::edit_section(app, &data(target, "section"), &value);
            return;
        }
        app.borrow_mut().ui.inputs.insert(key, value);
    }

    /// The host (or drafter) typed in a section: the change as one splice.
    fn edit_section(app: &Rc<RefCell<App>>, section: &str, value: &str) {
        let Some(doc) = app.borrow().shown() else {
            return;
        };
        let out = {
            let mut a = app.borrow_mut();
            let ((), out) = a.session.change(doc, |d| {
                let Some(body) = threads::section_body(d, section) else {
                    return;
                };
                let old = d.text(&body).unwrap_or_default();
                if let Some((at, del, ins)) = model::view::splice(&old, value) {
                    let mut tx = d.transaction();
                    let _ = automerge::transaction::Transactable::splice_text(
                        &mut tx,
                        &body,
                        at,
                        del as isize,
                        &ins,
                    );
                    commit(tx);
                }
            });
            a.save_now(doc);
            out
        };
        Self::send(app, out);
        render::status(&app.borrow());
    }

    /// The text selection changed: remember it if it lies in one section.
    pub fn on_selection(app: &Rc<RefCell<App>>) {
        let changed = {
            let mut a = app.borrow_mut();
            let sel = render::selection_in_summary().map(|s| match a.shown_doc() {
                Some(doc) => s.anchored(doc),
                None => s,
            });
            if a.ui.selection == sel || (sel.is_none() && a.ui.composer.is_some()) {
                false
            } else {
                a.ui.selection = sel;
                true
            }
        };
        if changed {
            render::sidebar(app);
            Self::announce(app);
        }
    }

    /// Signed-in facts the page does not carry (our user id).
    pub fn load_me(app: &Rc<RefCell<App>>) {
        let app = app.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let (status, json) = api::call("GET", "/api/session", None).await;
            if status == 200 {
                app.borrow_mut().ui.me = Some(api::str_of(&api::get(&json, "user"), "id"));
                render::all(&app);
            }
        });
    }

    /// Called every few seconds: forget readers we have not heard from,
    /// and say we are still here.
    pub fn tick(app: &Rc<RefCell<App>>) {
        let before = app.borrow().ui.readers.len();
        app.borrow_mut()
            .ui
            .readers
            .retain(|_, (_, seen)| now_ms() - *seen < 30_000.0);
        if app.borrow().ui.readers.len() != before {
            render::sidebar(app);
        }
        Self::announce(app);
    }
}
