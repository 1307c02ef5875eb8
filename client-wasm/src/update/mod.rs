//! The one place the client's state changes: `update(model, msg)` handles
//! one [`Msg`] and returns the [`Effect`]s it needs (send, store, fetch,
//! redraw, focus). It reads no clock and touches no browser API, so every
//! behaviour here is unit-tested natively (see the tests below).

use automerge::transaction::{CommitOptions, Transaction};
use automerge::{Automerge, ChangeHash, ReadDoc};
use docsync::session::Event;
use docsync::{DocumentId, Message};
use model::contributions::{self, Proposal};
use model::presence::{self, Presence};
use model::threads;
use serde_json::{Value, json};

use crate::effect::{Effect, Focus, Region, Spot};
use crate::msg::{Action, Msg, Reply};
use crate::state::{
    ACK_TIMEOUT_MS, ANNOUNCE_MS, COMPOSER_FIELDS, Composer, Conn, FIRST_BACKOFF_MS, InviteRow,
    JOIN_TIMEOUT_MS, LocalMeta, MAX_BACKOFF_MS, Model, READER_TIMEOUT_MS, SAVE_DELAY_MS, Sel, Tab,
    VersionView,
};

/// Handles one message.
pub fn update(m: &mut Model, msg: Msg) -> Vec<Effect> {
    let mut fx = Fx(Vec::new());
    match msg {
        Msg::Start => start(m, &mut fx),
        Msg::Loaded { doc, saved, meta } => loaded(m, &mut fx, doc, saved, meta),
        Msg::SocketOpened => {
            let join = m.session.join();
            fx.push(Effect::Send(vec![join]));
        }
        Msg::SocketClosed => socket_closed(m, &mut fx),
        Msg::Reconnect => {
            m.reconnect_pending = false;
            connect(m, &mut fx);
        }
        Msg::BrowserOffline => {
            m.browser_online = false;
            go_offline(m, &mut fx);
        }
        Msg::BrowserOnline => {
            m.browser_online = true;
            m.backoff_ms = FIRST_BACKOFF_MS;
            if m.socket_open && m.conn != Conn::Online {
                // A socket opened while offline may hang: start afresh.
                fx.push(Effect::Disconnect);
            } else {
                connect(m, &mut fx);
            }
        }
        Msg::Frame(bytes) => frame(m, &mut fx, &bytes),
        Msg::Tick => tick(m, &mut fx),
        Msg::SaveNow => {
            m.save_pending = false;
            for id in m.held() {
                store(m, &mut fx, id);
            }
        }
        Msg::Action { action, opener } => on_action(m, &mut fx, action, opener),
        Msg::Input { key, value } => {
            // A composer's field without a composer is a late event of a
            // closed one: what it held was dropped with it.
            if m.ui.composer.is_some() || !COMPOSER_FIELDS.contains(&key.as_str()) {
                m.ui.inputs.insert(key, value);
            }
        }
        Msg::EditSection { section, value } => edit_section(m, &mut fx, &section, &value),
        Msg::EditHeading { section, value } => {
            authoring::rename_section(m, &mut fx, &section, &value)
        }
        Msg::Selected(sel) => selected(m, &mut fx, sel),
        Msg::Escape => {
            if m.ui.composer.is_some() {
                close_composer(m, &mut fx);
            } else if m.ui.confirm_delete.is_some() {
                on_action(m, &mut fx, Action::CancelDelete, None);
            } else if m.ui.action_editing.is_some() {
                authoring::close_action(m, &mut fx);
            } else if m.ui.meta_editing {
                authoring::close_meta(m, &mut fx);
            } else if m.ui.editing.is_some() {
                stop_editing(m, &mut fx);
            } else {
                margin::escape(m, &mut fx);
            }
        }
        Msg::PageHide => presence_message(m, &mut fx, true),
        Msg::LoadFailed { doc, error } => {
            let out = m.session.open(doc, None);
            send(m, &mut fx, out);
            fx.render_all();
            fx.push(Effect::Log(format!("local store: {error}")));
            let text = m.t("store-failed").to_owned();
            fx.notice(m, text);
        }
        Msg::StoreFailed(error) => {
            fx.push(Effect::Log(format!("local store: {error}")));
            let text = m.t("store-failed").to_owned();
            fx.notice(m, text);
        }
        Msg::Fetched {
            reply,
            status,
            body,
        } => fetched(m, &mut fx, reply, status, body),
    }
    fx.0
}

/// Effects being collected.
struct Fx(Vec<Effect>);

impl Fx {
    fn push(&mut self, e: Effect) {
        self.0.push(e);
    }

    fn render(&mut self, region: Region) {
        self.0.push(Effect::Render(region));
    }

    fn render_all(&mut self) {
        for r in Region::ALL {
            self.render(r);
        }
    }

    fn notice(&mut self, m: &mut Model, text: String) {
        m.ui.notice = Some(if text.is_empty() {
            m.t("error").to_owned()
        } else {
            text
        });
        self.render(Region::Sidebar);
        // It is drawn atop the sidebar: the reader may be far below.
        self.push(Effect::Reveal("#notice".into()));
    }
}

// ------------------------------------------------------------ connection

fn start(m: &mut Model, fx: &mut Fx) {
    let Some(doc) = m.page.doc.filter(|_| m.page.kind == "workshop") else {
        return;
    };
    if !m.browser_online {
        // Opened (from the service worker's copy) without a network.
        m.conn = Conn::Offline;
    }
    fx.render(Region::Status);
    if m.can_take_part() {
        // The local copy first (offline work, a reload while offline).
        fx.push(Effect::Load(doc));
    } else {
        // Public readers keep nothing: they cannot change anything.
        loaded(m, fx, doc, None, None);
    }
    connect(m, fx);
    if !m.page.user_name.is_empty() {
        fx.push(fetch("GET", "/api/session".into(), None, Reply::Me));
    }
}

fn loaded(
    m: &mut Model,
    fx: &mut Fx,
    doc: DocumentId,
    saved: Option<Vec<u8>>,
    meta: Option<Vec<u8>>,
) {
    let out = m.session.open(doc, saved.as_deref());
    let meta = meta
        .and_then(|bytes| LocalMeta::from_json(&bytes))
        .unwrap_or_default();
    let acked: Option<Vec<ChangeHash>> = meta.acked.iter().map(|h| h.parse().ok()).collect();
    if let Some(heads) = acked.filter(|h| !h.is_empty()) {
        m.session.set_acked(doc, heads);
    }
    for actor in meta.actors {
        if !m.own_actors.contains(&actor) {
            m.own_actors.push(actor);
        }
    }
    m.loaded.push(doc);
    send(m, fx, out);
    fx.render_all();
    load_authors_if_needed(m, fx);
}

/// Opens the socket unless one is open or opening.
fn connect(m: &mut Model, fx: &mut Fx) {
    if !m.socket_open {
        m.socket_open = true;
        m.connect_started = Some(m.now);
        fx.push(Effect::Connect);
    }
}

fn socket_closed(m: &mut Model, fx: &mut Fx) {
    m.socket_open = false;
    m.session.disconnected();
    m.conn = Conn::Offline;
    m.unacked_since = None;
    fx.render(Region::Status);
    if !m.ui.readers.is_empty() {
        m.ui.readers.clear();
        fx.render(Region::Summary);
        fx.render(Region::Sidebar);
    }
    if !m.reconnect_pending {
        m.reconnect_pending = true;
        let delay = m.backoff_ms;
        m.backoff_ms = (m.backoff_ms * 2).min(MAX_BACKOFF_MS);
        fx.push(Effect::Later {
            ms: delay,
            msg: Box::new(Msg::Reconnect),
        });
    }
}

/// The connection is gone (or dead): say so at once and close the socket,
/// whose close event starts reconnecting.
fn go_offline(m: &mut Model, fx: &mut Fx) {
    m.conn = Conn::Offline;
    fx.render(Region::Status);
    if m.socket_open {
        fx.push(Effect::Disconnect);
    }
}

fn tick(m: &mut Model, fx: &mut Fx) {
    let now = m.now;
    let before = m.ui.readers.len();
    m.ui.readers
        .retain(|_, (_, seen)| now - *seen < READER_TIMEOUT_MS);
    if m.ui.readers.len() != before {
        fx.render(Region::Summary);
        fx.render(Region::Sidebar);
    }
    let stuck_joining = m.socket_open
        && m.conn != Conn::Online
        && m.connect_started
            .is_some_and(|since| now - since > JOIN_TIMEOUT_MS);
    if stuck_joining {
        // Opened (or opening) but never joined: try again.
        m.connect_started = None;
        fx.push(Effect::Disconnect);
        return;
    }
    if m.conn == Conn::Online
        && m.unacked_since
            .is_some_and(|since| now - since > ACK_TIMEOUT_MS)
    {
        // Sent changes unanswered: the server (or the way to it) is gone,
        // whatever the socket says.
        go_offline(m, fx);
        return;
    }
    if now - m.last_announce >= ANNOUNCE_MS {
        presence_message(m, fx, false);
    }
}

/// Sends messages; notes when changes start waiting for acknowledgement.
fn send(m: &mut Model, fx: &mut Fx, out: Vec<Message>) {
    if out.is_empty() {
        return;
    }
    if m.unacked_since.is_none() && m.waiting() > 0 {
        m.unacked_since = Some(m.now);
    }
    fx.push(Effect::Send(out));
}

fn frame(m: &mut Model, fx: &mut Fx, bytes: &[u8]) {
    let Ok(message) = docsync::decode(bytes) else {
        fx.push(Effect::Log("the server sent an unreadable frame".into()));
        return;
    };
    let (out, events) = m.session.receive(message);
    send(m, fx, out);
    let mut changed = false;
    let mut readers = false;
    let mut newcomer = false;
    let mut synced = false;
    for event in events {
        match event {
            Event::Joined => {
                m.connect_started = None;
                m.conn = Conn::Online;
                m.backoff_ms = FIRST_BACKOFF_MS;
                newcomer = true;
            }
            Event::Changed(_) => changed = true,
            Event::Synced(_) => synced = true,
            Event::Unavailable(id) => {
                if Some(id) == m.page.doc && !m.session.has_content(id) {
                    m.ui.unavailable = true;
                }
                changed = true;
            }
            Event::Error(message) => {
                fx.push(Effect::Log(message.clone()));
                m.ui.refused = Some(message);
                readers = true;
            }
            Event::Refused(id, message) => {
                // The change would be refused again on every reconnect:
                // drop our copy (here and stored) and fetch the server's
                // afresh.
                m.session.discard(id);
                fx.push(Effect::Forget(id));
                m.ui.refused = Some(format!("{}: {message}", m.t("refused")));
                changed = true;
            }
            Event::Ephemeral {
                from,
                document,
                data,
            } => {
                if Some(document) == m.page.doc
                    && let Some(p) = Presence::decode(&data)
                {
                    if p.leaving {
                        m.ui.readers.remove(&from);
                    } else if m.ui.readers.insert(from, (p, m.now)).is_none() {
                        newcomer = true;
                    }
                    readers = true;
                }
            }
        }
    }
    // The server answered: what still waits is measured from now (a host
    // typing steadily always has a change in flight).
    m.unacked_since = (m.waiting() > 0).then_some(m.now);
    if newcomer {
        // Someone new is reading (or we joined): tell them at once that we
        // are too (they would otherwise hear of us at our next announce).
        presence_message(m, fx, false);
    }
    if synced {
        // Our new actors are bound by now: their names can be shown. And
        // the local copy keeps what the server now holds.
        load_authors_if_needed(m, fx);
        save_soon(m, fx);
    }
    if m.ui.unavailable && m.page.doc.is_some_and(|d| m.session.has_content(d)) {
        m.ui.unavailable = false;
    }
    fx.render(Region::Status);
    if changed {
        let moved = follow_selections(m);
        save_soon(m, fx);
        fx.render_all();
        load_authors_if_needed(m, fx);
        if moved {
            presence_message(m, fx, false);
        }
    } else if readers {
        fx.render(Region::Summary);
        fx.render(Region::Sidebar);
    }
}

/// After changes to the shown document: keeps the selection, and the one
/// a composer is about, on the same characters. Whether the selection
/// moved (or went).
fn follow_selections(m: &mut Model) -> bool {
    let Some(doc) = m.shown_doc() else {
        return false;
    };
    let selection = m.ui.selection.as_ref().map(|s| s.follow(doc));
    // A composer keeps its selection even when its text went: what was
    // typed stays, and the thread's anchor says it is orphaned.
    let composer = match &m.ui.composer {
        Some(Composer::Comment(s)) => Some(Composer::Comment(
            s.follow(doc).unwrap_or_else(|| s.clone()),
        )),
        Some(Composer::Replace(s)) => Some(Composer::Replace(
            s.follow(doc).unwrap_or_else(|| s.clone()),
        )),
        _ => None,
    };
    if composer.is_some() {
        m.ui.composer = composer;
    }
    match selection {
        Some(now) if now != m.ui.selection => {
            m.ui.selection = now;
            true
        }
        _ => false,
    }
}

/// Tells the others we are here (and what we have selected), or going.
fn presence_message(m: &mut Model, fx: &mut Fx, leaving: bool) {
    let Some(doc) = m.page.doc else { return };
    if !m.can_take_part() {
        return;
    }
    let sel = m.ui.selection.clone();
    let p = Presence {
        name: m.page.user_name.clone(),
        color: presence::color_for(m.session.peer_id().as_str()).to_owned(),
        section: sel.as_ref().map(|s| s.section.clone()),
        start: sel.as_ref().map_or(0, |s| s.start as u32),
        end: sel.as_ref().map_or(0, |s| s.end as u32),
        cursors: sel
            .as_ref()
            .and_then(|s| s.anchor.as_ref())
            .map(|(_, cursors)| cursors.clone()),
        leaving,
    };
    if let Some(message) = m.session.ephemeral(doc, p.encode()) {
        m.last_announce = m.now;
        fx.push(Effect::Send(vec![message]));
    }
}

// ------------------------------------------------------------ local copies

/// Keeps a document's local copy now.
fn store(m: &mut Model, fx: &mut Fx, id: DocumentId) {
    // Public readers keep nothing: they cannot change anything.
    if !m.can_take_part() || !m.loaded.contains(&id) {
        return;
    }
    if let Some(actor) = m.session.doc(id).map(|d| d.get_actor().to_hex_string())
        && !m.own_actors.contains(&actor)
    {
        m.own_actors.push(actor);
    }
    if let Some(bytes) = m.session.save(id) {
        let meta = LocalMeta {
            acked: m
                .session
                .acked(id)
                .unwrap_or_default()
                .iter()
                .map(ToString::to_string)
                .collect(),
            actors: m.own_actors.clone(),
        };
        fx.push(Effect::Store {
            doc: id,
            bytes,
            meta: meta.to_json(),
        });
    }
}

/// Keeps the local copies soon (remote changes come in bursts).
fn save_soon(m: &mut Model, fx: &mut Fx) {
    if !std::mem::replace(&mut m.save_pending, true) {
        fx.push(Effect::Later {
            ms: SAVE_DELAY_MS,
            msg: Box::new(Msg::SaveNow),
        });
    }
}

// ------------------------------------------------------------ local changes

/// Commits with the time (seconds, as automerge records it): the history
/// shows when each version was written.
fn commit(tx: Transaction<'_>, now_ms: f64) {
    tx.commit_with(CommitOptions::default().with_time((now_ms / 1000.0) as i64));
}

/// Makes a local change to a document, keeps it locally, sends it, redraws.
fn change(m: &mut Model, fx: &mut Fx, id: DocumentId, f: impl FnOnce(&mut Automerge)) {
    let ((), out) = m.session.change(id, f);
    store(m, fx, id);
    send(m, fx, out);
    fx.render_all();
}

/// A change in one transaction on the summary. Threads and contributions
/// live only there: also while a draft is shown (a draft may not carry
/// them, the server would refuse the change).
///
/// A change that fails part-way is rolled back whole (a half-written
/// thread must not reach anyone): the error comes back, nothing is sent.
fn change_summary<T, E: std::fmt::Display>(
    m: &mut Model,
    fx: &mut Fx,
    f: impl FnOnce(&mut Transaction<'_>) -> Result<T, E>,
) -> Result<(), String> {
    let Some(doc) = m.page.doc else {
        return Err(m.t("error").to_owned());
    };
    let now = m.now;
    let mut failed = None;
    let ((), out) = m.session.change(doc, |d| {
        let mut tx = d.transaction();
        match f(&mut tx) {
            Ok(_) => commit(tx, now),
            Err(e) => {
                tx.rollback();
                failed = Some(e.to_string());
            }
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    store(m, fx, doc);
    send(m, fx, out);
    fx.render_all();
    Ok(())
}

/// Says why a change could not be made.
fn report(m: &mut Model, fx: &mut Fx, result: Result<(), String>) {
    if let Err(e) = result {
        fx.notice(m, e);
    }
}

/// The host (or drafter) typed in a section: the change as one splice.
/// The editor already shows it: only the status is redrawn.
fn edit_section(m: &mut Model, fx: &mut Fx, section: &str, value: &str) {
    let Some(doc) = m.shown() else { return };
    // Only the open editor's section, in a document that has arrived (a
    // late event of an editor that was just replaced changes nothing).
    if !m.can_edit_text() || m.ui.editing.as_deref() != Some(section) || !m.session.has_content(doc)
    {
        return;
    }
    let now = m.now;
    let ((), out) = m.session.change(doc, |d| {
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
            commit(tx, now);
        }
    });
    store(m, fx, doc);
    send(m, fx, out);
    fx.render(Region::Status);
}

/// The text selection changed: remember it if it lies in one section.
fn selected(m: &mut Model, fx: &mut Fx, sel: Option<Sel>) {
    let sel = sel.map(|s| match m.shown_doc() {
        Some(doc) => s.anchored(doc),
        None => s,
    });
    if m.ui.selection == sel {
        // Selected again after Escape closed its toolbar: it comes back.
        if sel.is_some() && !m.ui.toolbar && m.ui.composer.is_none() {
            m.ui.toolbar = true;
            fx.render(Region::Toolbar);
        }
        return;
    }
    if sel.is_none() && m.ui.composer.is_some() {
        return;
    }
    // The toolbar opens by a new selection (and goes with it).
    m.ui.toolbar = sel.is_some();
    m.ui.selection = sel;
    fx.render(Region::Toolbar);
    presence_message(m, fx, false);
}

// ------------------------------------------------------------ actions

fn on_action(m: &mut Model, fx: &mut Fx, action: Action, opener: Option<Spot>) {
    let opens_composer = action.opens_composer();
    // A section menu's item goes with its menu: the focus returns to the
    // menu's button.
    let opener = match &action {
        Action::CommentSection { section }
        | Action::ProposeSection { section }
        | Action::ProposeParagraph { section } => {
            Some(Spot::section_control("section-menu", section))
        }
        _ => opener,
    };
    match action {
        Action::Tab(tab) => {
            m.ui.tab = Some(tab);
            match tab {
                Tab::Proposals => {
                    load_drafts(m, fx);
                    review::load_counts(m, fx);
                }
                Tab::Share => load_invites(m, fx),
                Tab::History => edition::load(m, fx),
                _ => {}
            }
            fx.render(Region::Sidebar);
        }
        Action::Filter(filter) => {
            m.ui.filter = Some(filter);
            fx.render(Region::Sidebar);
        }
        Action::FocusThread { thread } => margin::focus_thread(m, fx, thread),
        Action::CloseThread => margin::close_thread(m, fx),
        Action::SectionMenu { section } => margin::toggle_menu(m, fx, section),
        Action::Comment | Action::Propose => {
            m.ui.toolbar = false;
            if let Some(sel) = m.ui.selection.clone() {
                // The tab where what is written will be listed.
                (m.ui.composer, m.ui.tab) = if action == Action::Comment {
                    (Some(Composer::Comment(sel)), Some(Tab::Comments))
                } else {
                    (Some(Composer::Replace(sel)), Some(Tab::Proposals))
                };
            }
            fx.render_all();
        }
        Action::CommentSection { ref section } | Action::ProposeSection { ref section } => {
            let comment = matches!(action, Action::CommentSection { .. });
            m.ui.section_menu = None;
            let sel = m.shown_doc().and_then(|d| Sel::whole_section(d, section));
            // An empty section has nothing to comment on or reword.
            if let Some(sel) = sel {
                for key in COMPOSER_FIELDS {
                    m.ui.inputs.remove(key);
                }
                if comment {
                    m.ui.composer = Some(Composer::Comment(sel));
                    m.ui.tab = Some(Tab::Comments);
                } else {
                    m.ui.composer = Some(Composer::Replace(sel));
                    m.ui.tab = Some(Tab::Proposals);
                }
            }
            fx.render_all();
        }
        Action::ProposeParagraph { section } => {
            m.ui.section_menu = None;
            let at = match &m.ui.selection {
                Some(s) if s.section == section => s.end,
                _ => usize::MAX,
            };
            m.ui.composer = Some(Composer::Paragraph { section, at });
            m.ui.tab = Some(Tab::Proposals);
            fx.render_all();
        }
        Action::ProposeAction => {
            m.ui.composer = Some(Composer::Action);
            m.ui.tab = Some(Tab::Proposals);
            fx.render_all();
        }
        Action::Reply { thread } => {
            // The composer opens in the thread's card: it is the one looked at.
            m.ui.focused_thread = Some(thread.clone());
            m.ui.toolbar = false;
            open_composer(m, fx, Composer::Reply { thread });
            fx.render(Region::Summary);
        }
        Action::EditComment { thread, comment } => {
            open_composer(m, fx, Composer::EditComment { thread, comment })
        }
        Action::EditAccept { contribution } => {
            open_composer(m, fx, Composer::EditAccept { contribution })
        }
        Action::Reject { contribution } => open_composer(m, fx, Composer::Reject { contribution }),
        Action::Cancel => close_composer(m, fx),
        Action::Submit => {
            submit(m, fx);
            return_focus(m, fx);
        }
        Action::DeleteComment { thread, comment } => {
            let r = change_summary(m, fx, |tx| threads::delete_comment(tx, &thread, &comment));
            report(m, fx, r);
        }
        Action::Resolve { thread } => {
            let r = change_summary(m, fx, |tx| threads::set_resolved(tx, &thread, true));
            report(m, fx, r);
        }
        Action::Reopen { thread } => {
            let r = change_summary(m, fx, |tx| threads::set_resolved(tx, &thread, false));
            report(m, fx, r);
        }
        Action::React { thread, comment } => react(m, fx, &thread, &comment),
        Action::Withdraw { contribution } => {
            let r = change_summary(m, fx, |tx| contributions::withdraw(tx, &contribution));
            report(m, fx, r);
        }
        Action::EditSection { section } => {
            if m.can_edit_text() {
                m.ui.editing = Some(section);
                fx.render_all();
                fx.push(Effect::Focus(Focus::Editor));
            }
        }
        Action::DoneEditing => stop_editing(m, fx),
        Action::Accept { contribution } => review(m, fx, &contribution, "accept", "{}".into()),
        Action::Preview { contribution } => {
            if let Some(doc) = m.page.doc {
                fx.push(fetch(
                    "GET",
                    format!("/api/workshops/{doc}/contributions/{contribution}/preview"),
                    None,
                    Reply::Preview { contribution },
                ));
            }
        }
        Action::StartDraft => {
            if let Some(doc) = m.page.doc {
                fx.push(fetch(
                    "POST",
                    format!("/api/workshops/{doc}/drafts"),
                    Some("{}".into()),
                    Reply::StartDraft,
                ));
            }
        }
        Action::OpenDraft { draft } => open_draft(m, fx, draft),
        Action::SubmitDraft => submit_draft(m, fx),
        Action::CloseDraft => {
            m.ui.draft = None;
            m.ui.editing = None;
            fx.render_all();
        }
        Action::ViewVersion { ref heads } | Action::CompareVersion { ref heads } => {
            let compare = matches!(action, Action::CompareVersion { .. });
            m.ui.version_view = m
                .summary_doc()
                .and_then(|d| VersionView::of(d, heads, compare));
            fx.render(Region::Sidebar);
            // Drawn atop the history, which the reader may be far down.
            fx.push(Effect::Reveal("#version-view".into()));
        }
        Action::CloseVersion => {
            m.ui.version_view = None;
            fx.render(Region::Sidebar);
        }
        Action::ToggleSuggestions => {
            m.ui.suggestions = !m.ui.suggestions;
            fx.render(Region::Summary);
        }
        Action::ClosePreview => {
            m.ui.preview = None;
            fx.render(Region::Sidebar);
        }
        Action::Publish => publish(m, fx),
        Action::PublicView { ref view } => edition::set(m, fx, view),
        Action::Invite => create_invite(m, fx),
        Action::RevokeInvite { invite } => {
            if let Some(doc) = m.page.doc {
                fx.push(fetch(
                    "DELETE",
                    format!("/api/workshops/{doc}/invites/{invite}"),
                    None,
                    Reply::RevokeInvite,
                ));
            }
        }
        Action::CopyLink { url } => {
            fx.push(Effect::Copy(url.clone()));
            m.ui.copied = Some(url);
            fx.render(Region::Sidebar);
        }
        Action::Dismiss => {
            m.ui.notice = None;
            m.ui.refused = None;
            fx.render(Region::Sidebar);
        }
        Action::AddSection => authoring::add_section(m, fx),
        Action::MoveUp { section } => authoring::move_section(m, fx, &section, -1),
        Action::MoveDown { section } => authoring::move_section(m, fx, &section, 1),
        Action::DeleteSection { section } => {
            m.ui.confirm_delete = Some(section.clone());
            fx.render(Region::Summary);
            fx.push(Effect::Focus(Focus::Spot(Spot::section_control(
                "confirm-delete-section",
                &section,
            ))));
        }
        Action::ConfirmDeleteSection { section } => authoring::delete_section(m, fx, &section),
        Action::CancelDelete => {
            if let Some(section) = m.ui.confirm_delete.take() {
                fx.render(Region::Summary);
                fx.push(Effect::Focus(Focus::Spot(Spot::section_control(
                    "delete-section",
                    &section,
                ))));
            }
        }
        Action::EditMeta => authoring::edit_meta(m, fx),
        Action::SaveMeta => authoring::save_meta(m, fx),
        Action::CancelMeta => authoring::close_meta(m, fx),
        Action::AddAction => authoring::edit_action(m, fx, None),
        Action::EditAction { action } => authoring::edit_action(m, fx, Some(action)),
        Action::SaveAction => authoring::save_action(m, fx),
        Action::CancelAction => authoring::close_action(m, fx),
        Action::DeleteAction { action } => authoring::delete_action(m, fx, &action),
    }
    if opens_composer && m.ui.composer.is_some() {
        prefill_composer(m);
        m.ui.opener = opener;
        fx.push(Effect::Focus(Focus::Spot(Spot::field("composer-text"))));
    }
}

/// A composer that edits text starts from that text, in the model: what
/// is sent is what the field shows, even untouched.
fn prefill_composer(m: &mut Model) {
    let current = match &m.ui.composer {
        Some(Composer::Replace(sel)) => Some(sel.quote.clone()),
        Some(Composer::EditComment { thread, comment }) => m
            .summary_doc()
            .map(threads::threads)
            .unwrap_or_default()
            .into_iter()
            .find(|t| t.id == *thread)
            .and_then(|t| t.comments.into_iter().find(|c| c.id == *comment))
            .map(|c| c.body),
        Some(Composer::EditAccept { contribution }) => m
            .summary_doc()
            .and_then(|d| contributions::contribution(d, contribution))
            .map(|c| c.text),
        _ => None,
    };
    if let Some(text) = current {
        m.ui.inputs.insert("composer-text".to_owned(), text);
    }
}

fn open_composer(m: &mut Model, fx: &mut Fx, c: Composer) {
    m.ui.composer = Some(c);
    fx.render(Region::Sidebar);
}

/// Closes the composer without sending; what was typed in it goes too.
fn close_composer(m: &mut Model, fx: &mut Fx) {
    m.ui.composer = None;
    for key in COMPOSER_FIELDS {
        m.ui.inputs.remove(key);
    }
    fx.render_all();
    return_focus(m, fx);
}

/// After the composer closed: the focus goes back to the control that
/// opened it, or to the sidebar's selected tab if that is gone.
fn return_focus(m: &mut Model, fx: &mut Fx) {
    fx.push(Effect::Focus(match m.ui.opener.take() {
        Some(spot) => Focus::Spot(spot),
        None => Focus::SelectedTab,
    }));
}

/// Leaves the section editor; the focus goes to its "Edit section".
fn stop_editing(m: &mut Model, fx: &mut Fx) {
    if let Some(section) = m.ui.editing.take() {
        fx.render_all();
        fx.push(Effect::Focus(Focus::Spot(Spot::section_control(
            "edit-section",
            &section,
        ))));
    }
}

fn react(m: &mut Model, fx: &mut Fx, thread: &str, comment: &str) {
    let Some(doc) = m.page.doc else { return };
    let now = m.now;
    change(m, fx, doc, |d| {
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
        let _ = threads::react(&mut tx, thread, comment, "👍", &actor, on);
        commit(tx, now);
    });
}

/// Sends what the composer holds. If the change cannot be made (its
/// passage went meanwhile), the composer stays open with what was typed,
/// and says why.
fn submit(m: &mut Model, fx: &mut Fx) {
    let Some(composer) = m.ui.composer.take() else {
        return;
    };
    let text = m.input("composer-text").trim().to_owned();
    let reason = m.input("composer-reason").trim().to_owned();
    let owner = m.input("composer-owner").trim().to_owned();
    let due = m.input("composer-due").trim().to_owned();
    let id = uuid::Uuid::new_v4().to_string();
    let now = m.now as i64;
    let propose = |m: &mut Model, fx: &mut Fx, p: Proposal| {
        change_summary(m, fx, |tx| {
            contributions::propose(tx, &id, &p, &reason, now)
        })
    };
    let result = match composer.clone() {
        Composer::Comment(sel) if !text.is_empty() => change_summary(m, fx, |tx| {
            threads::create_thread(tx, &id, &sel.section, sel.start, sel.end, &text, now)
        }),
        Composer::Replace(sel) => propose(
            m,
            fx,
            Proposal::Replace {
                section: sel.section,
                start: sel.start,
                end: sel.end,
                text: text.clone(),
            },
        ),
        Composer::Paragraph { section, at } if !text.is_empty() => propose(
            m,
            fx,
            Proposal::Insert {
                section,
                at,
                text: text.clone(),
            },
        ),
        Composer::Action if !text.is_empty() => propose(
            m,
            fx,
            Proposal::Action {
                text: text.clone(),
                owner,
                due,
            },
        ),
        Composer::Reply { thread } if !text.is_empty() => change_summary(m, fx, |tx| {
            threads::add_comment(tx, &thread, &id, &text, now)
        }),
        Composer::EditComment { thread, comment } if !text.is_empty() => {
            change_summary(m, fx, |tx| {
                threads::edit_comment(tx, &thread, &comment, &text)
            })
        }
        Composer::EditAccept { contribution } => {
            review(
                m,
                fx,
                &contribution,
                "accept",
                json!({ "text": text }).to_string(),
            );
            Ok(())
        }
        Composer::Reject { contribution } => {
            review(
                m,
                fx,
                &contribution,
                "reject",
                json!({ "reply": text }).to_string(),
            );
            Ok(())
        }
        // Nothing written: nothing to send.
        _ => Ok(()),
    };
    match result {
        Ok(()) => {
            for key in COMPOSER_FIELDS {
                m.ui.inputs.remove(key);
            }
            m.ui.selection = None;
            let from_toolbar =
                m.ui.opener
                    .as_ref()
                    .is_none_or(|s| s.0.first().is_some_and(|(_, action)| action == "comment"));
            if matches!(composer, Composer::Comment(_)) && from_toolbar {
                // Opened from the toolbar, which is gone: the focus goes
                // to the new highlight, where the reader was.
                m.ui.opener = Some(margin::highlight(&id));
            }
        }
        Err(e) => {
            m.ui.composer = Some(composer);
            fx.notice(m, e);
        }
    }
    fx.render_all();
}

/// A host accepts or rejects a contribution (over HTTP; the result
/// arrives through sync).
fn review(m: &mut Model, fx: &mut Fx, contribution: &str, verb: &str, body: String) {
    let Some(doc) = m.page.doc else { return };
    fx.push(fetch(
        "POST",
        format!("/api/workshops/{doc}/contributions/{contribution}/{verb}"),
        Some(body),
        Reply::Review,
    ));
}

fn load_drafts(m: &mut Model, fx: &mut Fx) {
    if let Some(doc) = m.page.doc
        && m.can_take_part()
    {
        fx.push(fetch(
            "GET",
            format!("/api/workshops/{doc}/drafts"),
            None,
            Reply::Drafts,
        ));
    }
}

fn load_invites(m: &mut Model, fx: &mut Fx) {
    if let Some(doc) = m.page.doc
        && m.is_host()
    {
        fx.push(fetch(
            "GET",
            format!("/api/workshops/{doc}/invites"),
            None,
            Reply::Invites,
        ));
    }
}

fn open_draft(m: &mut Model, fx: &mut Fx, id: DocumentId) {
    m.ui.draft = Some(id);
    m.ui.editing = None;
    if m.session.doc(id).is_none() {
        fx.push(Effect::Load(id));
    }
    fx.render_all();
}

fn submit_draft(m: &mut Model, fx: &mut Fx) {
    let (Some(draft), Some(_)) = (m.ui.draft, m.page.doc) else {
        return;
    };
    if m.session.waiting(draft) > 0 {
        // The host would review a draft without its latest changes.
        let text = m.t("draft-not-synced").to_owned();
        fx.notice(m, text);
        return;
    }
    let reason = m.input("draft-reason");
    m.ui.inputs.remove("draft-reason");
    m.ui.draft = None;
    m.ui.editing = None;
    m.ui.tab = Some(Tab::Proposals);
    let id = uuid::Uuid::new_v4().to_string();
    let now = m.now;
    let r = change_summary(m, fx, |tx| {
        contributions::propose(
            tx,
            &id,
            &Proposal::Draft {
                draft: draft.to_string(),
            },
            &reason,
            now as i64,
        )
    });
    report(m, fx, r);
}

fn publish(m: &mut Model, fx: &mut Fx) {
    let Some(doc) = m.page.doc else { return };
    let name = m.input("version-name").trim().to_owned();
    if name.is_empty() {
        return;
    }
    m.ui.inputs.remove("version-name");
    fx.push(fetch(
        "POST",
        format!("/api/workshops/{doc}/versions"),
        Some(json!({ "name": name }).to_string()),
        Reply::Publish,
    ));
    fx.render(Region::Sidebar);
}

/// Invite lifetimes offered in the Share panel (`invite-expiry`), seconds.
pub const EXPIRY_CHOICES: [(&str, Option<u64>); 4] = [
    ("1d", Some(86_400)),
    ("7d", Some(7 * 86_400)),
    ("30d", Some(30 * 86_400)),
    ("never", None),
];

fn create_invite(m: &mut Model, fx: &mut Fx) {
    let Some(doc) = m.page.doc else { return };
    let role = match m.input("invite-role").as_str() {
        "host" => "host",
        _ => "participant",
    };
    let expiry = m.input("invite-expiry");
    let expires = EXPIRY_CHOICES
        .iter()
        .find(|(k, _)| *k == expiry)
        .map_or(Some(7 * 86_400), |(_, s)| *s);
    let uses = m.input("invite-uses");
    let uses = uses.trim();
    let max_uses = if uses.is_empty() {
        None
    } else {
        match uses.parse::<u32>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                let text = m.t("invite-uses-invalid").to_owned();
                fx.notice(m, text);
                return;
            }
        }
    };
    let mut body = json!({ "role": role });
    if let Some(s) = expires {
        body["expiresInSeconds"] = json!(s);
    }
    if let Some(n) = max_uses {
        body["maxUses"] = json!(n);
    }
    fx.push(fetch(
        "POST",
        format!("/api/workshops/{doc}/invites"),
        Some(body.to_string()),
        Reply::CreateInvite,
    ));
}

/// An invite from the API's JSON (`None` for a personal sign-in link or
/// an admin invite: the Share panel lists the workshop's invites).
pub fn invite_row(v: &Value) -> Option<InviteRow> {
    let role = v["role"].as_str().or(v["grant"].as_str())?;
    if !matches!(role, "participant" | "host") {
        return None;
    }
    Some(InviteRow {
        id: v["id"].as_str()?.to_owned(),
        role: role.to_owned(),
        state: v["state"].as_str().unwrap_or("valid").to_owned(),
        uses: v["uses"].as_u64().unwrap_or(0),
        max_uses: v["maxUses"].as_u64(),
        expires_at: v["expiresAt"].as_i64().map(|s| s * 1000),
        created_at: v["createdAt"].as_u64().unwrap_or(0),
        url: None,
    })
}

/// Fetches verified author names when the document has unknown actors.
fn load_authors_if_needed(m: &mut Model, fx: &mut Fx) {
    let Some(doc) = m.page.doc else { return };
    if m.ui.authors_loading {
        return;
    }
    let Some(d) = m.summary_doc() else { return };
    let unknown = d
        .get_changes(&[])
        .iter()
        .any(|c| !m.ui.authors.contains_key(&c.actor_id().to_hex_string()));
    if unknown {
        m.ui.authors_loading = true;
        fx.push(fetch(
            "GET",
            format!("/api/workshops/{doc}/authors"),
            None,
            Reply::Authors,
        ));
    }
}

fn fetch(method: &'static str, path: String, body: Option<String>, reply: Reply) -> Effect {
    Effect::Fetch {
        method,
        path,
        body,
        reply,
    }
}

fn error_text(body: &Value) -> String {
    body["error"].as_str().unwrap_or_default().to_owned()
}

fn fetched(m: &mut Model, fx: &mut Fx, reply: Reply, status: u16, body: Value) {
    match reply {
        Reply::Me => {
            if status == 200 {
                m.ui.me = body["user"]["id"].as_str().map(str::to_owned);
                fx.render_all();
            }
        }
        Reply::Authors => {
            m.ui.authors_loading = false;
            if status == 200
                && let Some(map) = body.as_object()
            {
                for (actor, who) in map {
                    m.ui.authors.insert(
                        actor.clone(),
                        (
                            who["userId"].as_str().unwrap_or_default().to_owned(),
                            who["name"].as_str().unwrap_or_default().to_owned(),
                        ),
                    );
                }
            }
            fx.render_all();
        }
        Reply::Drafts => {
            if status == 200 {
                m.ui.my_drafts = body
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|d| d["id"].as_str().map(str::to_owned))
                    .collect();
                fx.render(Region::Sidebar);
            }
        }
        Reply::StartDraft => match body["id"].as_str().map(DocumentId::parse) {
            Some(Ok(id)) if status == 201 => {
                m.ui.my_drafts.push(id.to_string());
                open_draft(m, fx, id);
            }
            _ => fx.notice(m, error_text(&body)),
        },
        Reply::DraftCount { contribution } => review::counted(m, fx, contribution, status, &body),
        Reply::Preview { contribution } => {
            if status == 200 {
                fx.push(Effect::Reveal(format!(
                    ".contribution[data-contribution=\"{contribution}\"] .draft-review"
                )));
                m.ui.draft_sections
                    .insert(contribution.clone(), review::changed_sections(&body).len());
                m.ui.preview = Some((contribution, body));
                fx.render(Region::Sidebar);
            } else {
                fx.notice(m, error_text(&body));
            }
        }
        Reply::Review => {
            if status != 200 {
                fx.notice(m, error_text(&body));
            }
            m.ui.preview = None;
            fx.render_all();
        }
        Reply::Details => {
            if status != 200 {
                fx.notice(m, error_text(&body));
            }
        }
        Reply::Workshop => edition::fetched(m, fx, status, &body),
        Reply::Publish => {
            if status != 201 {
                fx.notice(m, error_text(&body));
            }
            fx.render(Region::Sidebar);
        }
        Reply::CreateInvite => {
            if status == 201 {
                m.ui.new_invite = invite_row(&body["invite"]).map(|row| InviteRow {
                    url: body["url"].as_str().map(str::to_owned),
                    ..row
                });
                m.ui.copied = None;
                load_invites(m, fx);
                fx.render(Region::Sidebar);
            } else {
                fx.notice(m, error_text(&body));
            }
        }
        Reply::Invites => {
            if status == 200 {
                let mut rows: Vec<InviteRow> = body
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(invite_row)
                    .collect();
                // Newest first.
                model::sort::by(&mut rows, |a, b| {
                    b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id))
                });
                m.ui.invites = Some(rows);
                fx.render(Region::Sidebar);
            } else {
                fx.notice(m, error_text(&body));
            }
        }
        Reply::RevokeInvite => {
            if status == 200 || status == 204 {
                load_invites(m, fx);
            } else {
                fx.notice(m, error_text(&body));
            }
        }
    }
}

mod authoring;
mod edition;
pub mod margin;
pub mod review;
#[cfg(test)]
mod tests;
