//! A client's side of the sync protocol, without IO: the documents a client
//! holds, their sync states, and what to send in answer to what arrives.
//! The browser client drives it from a WebSocket; tests drive it directly.
//!
//! A session outlives connections: documents and local changes stay when
//! the connection drops, and [`Session::disconnected`] starts every document's
//! sync afresh on the next one. Automerge's sync protocol then sends exactly
//! the changes the server lacks, so a change made offline arrives once.

use std::collections::HashMap;

use automerge::sync::{self, SyncDoc};
use automerge::{Automerge, ChangeHash};

use crate::id::{DocumentId, PeerId};
use crate::message::{EphemeralMessage, Message, PeerMetadata, SyncKind, SyncMessage};

/// Something the application should react to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The server answered `join`.
    Joined,
    /// A document changed through sync.
    Changed(DocumentId),
    /// The server holds every local change of this document.
    Synced(DocumentId),
    /// The document does not exist for us (missing or not visible).
    Unavailable(DocumentId),
    /// The server refused something; it closes the connection next.
    Error(String),
    /// The server refused a change to this document (and closes the
    /// connection next). Sending it again would be refused again: the
    /// application should [`Session::discard`] its copy.
    Refused(DocumentId, String),
    /// Presence data from another peer.
    Ephemeral {
        from: PeerId,
        document: DocumentId,
        data: Vec<u8>,
    },
}

struct DocState {
    doc: Automerge,
    sync: sync::State,
    unavailable: bool,
    /// The server's heads from its last message, when known.
    their_heads: Option<Vec<ChangeHash>>,
    /// The server's heads from the last message of any connection: what it
    /// is known to hold, kept across disconnections (and, by the
    /// application, across reloads) to count the changes still waiting.
    acked: Option<Vec<ChangeHash>>,
    /// The bytes last given to keep locally (see [`Session::save`]), and
    /// the heads they hold.
    local: Vec<u8>,
    local_heads: Vec<ChangeHash>,
    /// How much of `local` is changes appended since its whole save.
    appended: usize,
}

/// Past this many bytes of appended changes (about 500 keystrokes), the
/// local copy is saved whole again: loading appended changes costs more
/// than loading the same changes saved whole.
const MAX_APPENDED_BYTES: usize = 64 * 1024;

impl DocState {
    fn new(doc: Automerge) -> Self {
        Self {
            doc,
            sync: sync::State::new(),
            unavailable: false,
            their_heads: None,
            acked: None,
            local: Vec::new(),
            local_heads: Vec::new(),
            appended: 0,
        }
    }
}

pub struct Session {
    peer_id: PeerId,
    server: Option<PeerId>,
    docs: HashMap<DocumentId, DocState>,
    session_id: String,
    ephemeral_count: u64,
}

impl Session {
    pub fn new(peer_id: PeerId) -> Self {
        Self {
            session_id: uuid::Uuid::new_v4().to_string(),
            peer_id,
            server: None,
            docs: HashMap::new(),
            ephemeral_count: 0,
        }
    }

    pub fn peer_id(&self) -> &PeerId {
        &self.peer_id
    }

    /// The first message of every connection.
    pub fn join(&self) -> Message {
        Message::Join {
            sender_id: self.peer_id.clone(),
            peer_metadata: PeerMetadata {
                storage_id: None,
                is_ephemeral: false,
            },
            supported_protocol_versions: Some(vec![crate::PROTOCOL_VERSION.to_owned()]),
        }
    }

    /// Holds a document, starting from `saved` (a local copy kept across
    /// reloads and offline time) if given. Returns what to send if
    /// connected.
    pub fn open(&mut self, id: DocumentId, saved: Option<&[u8]>) -> Vec<Message> {
        self.docs.entry(id).or_insert_with(|| {
            DocState::new(
                saved
                    .and_then(|bytes| Automerge::load(bytes).ok())
                    .unwrap_or_default(),
            )
        });
        self.sync_message(id).into_iter().collect()
    }

    /// The connection dropped: every sync state starts afresh next time.
    pub fn disconnected(&mut self) {
        self.server = None;
        for state in self.docs.values_mut() {
            state.sync = sync::State::new();
            state.their_heads = None;
        }
    }

    pub fn is_joined(&self) -> bool {
        self.server.is_some()
    }

    /// Every document the session holds.
    pub fn ids(&self) -> Vec<DocumentId> {
        self.docs.keys().copied().collect()
    }

    pub fn doc(&self, id: DocumentId) -> Option<&Automerge> {
        self.docs.get(&id).map(|s| &s.doc)
    }

    pub fn is_unavailable(&self, id: DocumentId) -> bool {
        self.docs.get(&id).is_some_and(|s| s.unavailable)
    }

    /// Whether the server is known to hold every change we have.
    pub fn is_synced(&self, id: DocumentId) -> bool {
        self.docs.get(&id).is_some_and(|s| {
            s.their_heads.as_ref().is_some_and(|theirs| {
                s.doc
                    .get_heads()
                    .iter()
                    .all(|h| theirs.contains(h) || known_before(&s.doc, theirs, h))
            })
        })
    }

    /// The heads the server is last known to hold (from this connection or
    /// an earlier one), to keep with a local copy.
    pub fn acked(&self, id: DocumentId) -> Option<&[ChangeHash]> {
        self.docs.get(&id)?.acked.as_deref()
    }

    /// Restores what the server was known to hold, kept with a local copy.
    pub fn set_acked(&mut self, id: DocumentId, heads: Vec<ChangeHash>) {
        if let Some(state) = self.docs.get_mut(&id) {
            state.acked = Some(heads);
        }
    }

    /// How many of our changes the server is not known to hold: those
    /// after the heads it last acknowledged (all of them if it never did).
    pub fn waiting(&self, id: DocumentId) -> usize {
        let Some(state) = self.docs.get(&id) else {
            return 0;
        };
        let heads = state.doc.get_heads();
        if state
            .acked
            .as_ref()
            .is_some_and(|acked| heads.iter().all(|h| acked.contains(h)))
        {
            // The usual case, and without walking the history.
            return 0;
        }
        let held: Vec<ChangeHash> = state
            .acked
            .iter()
            .flatten()
            .filter(|h| state.doc.get_change_meta_by_hash(h).is_some())
            .copied()
            .collect();
        if held.is_empty() && state.acked.as_ref().is_some_and(|a| !a.is_empty()) {
            // The server holds changes we have not received: it holds ours
            // only if it acknowledged them, which we cannot tell here.
            return state.doc.get_changes(&[]).len();
        }
        state.doc.get_changes(&held).len()
    }

    /// Whether the document has arrived from the server (or was loaded).
    pub fn has_content(&self, id: DocumentId) -> bool {
        self.docs
            .get(&id)
            .is_some_and(|s| !s.doc.get_heads().is_empty())
    }

    /// Makes a local change and returns the messages that send it.
    pub fn change<T>(
        &mut self,
        id: DocumentId,
        f: impl FnOnce(&mut Automerge) -> T,
    ) -> (T, Vec<Message>) {
        // Generic only in the call of `f`: the rest, in non-generic
        // functions, is compiled once rather than once per caller (the web
        // client has dozens).
        let out = f(self.doc_mut(id));
        (out, self.sent(id))
    }

    fn doc_mut(&mut self, id: DocumentId) -> &mut Automerge {
        &mut self
            .docs
            .entry(id)
            .or_insert_with(|| DocState::new(Automerge::new()))
            .doc
    }

    fn sent(&mut self, id: DocumentId) -> Vec<Message> {
        self.sync_message(id).into_iter().collect()
    }

    /// Forgets our copy of a document whose change the server refused: it
    /// starts empty and is fetched afresh on the next connection, so the
    /// refused change (and anything built on it) is never sent again.
    pub fn discard(&mut self, id: DocumentId) {
        if let Some(state) = self.docs.get_mut(&id) {
            *state = DocState::new(Automerge::new());
        }
    }

    /// The document as bytes, to keep locally: the last whole save with
    /// the changes made since appended (`Automerge::load` takes both). A
    /// whole save walks the history (tens of ms in the browser on a
    /// long-edited document, on every keystroke); appending a change takes
    /// microseconds. Saved whole again when the appended part grows large
    /// or the document is not the one saved before.
    pub fn save(&mut self, id: DocumentId) -> Option<Vec<u8>> {
        let state = self.docs.get_mut(&id)?;
        let continues = !state.local.is_empty()
            && state
                .local_heads
                .iter()
                .all(|h| state.doc.get_change_meta_by_hash(h).is_some());
        let since = if continues {
            state.doc.save_after(&state.local_heads)
        } else {
            Vec::new()
        };
        if !continues || state.appended + since.len() > MAX_APPENDED_BYTES {
            state.local = state.doc.save();
            state.appended = 0;
        } else {
            state.local.extend_from_slice(&since);
            state.appended += since.len();
        }
        state.local_heads = state.doc.get_heads();
        Some(state.local.clone())
    }

    /// Presence data for the document's other peers.
    pub fn ephemeral(&mut self, id: DocumentId, data: Vec<u8>) -> Option<Message> {
        let server = self.server.clone()?;
        self.ephemeral_count += 1;
        Some(Message::Ephemeral(EphemeralMessage {
            sender_id: self.peer_id.clone(),
            target_id: server,
            count: self.ephemeral_count,
            session_id: self.session_id.clone(),
            document_id: id,
            data,
        }))
    }

    /// Handles a message from the server: what to send back, and what
    /// happened.
    pub fn receive(&mut self, message: Message) -> (Vec<Message>, Vec<Event>) {
        let mut out = Vec::new();
        let mut events = Vec::new();
        match message {
            Message::Peer { sender_id, .. } => {
                self.server = Some(sender_id);
                events.push(Event::Joined);
                let ids: Vec<DocumentId> = self.docs.keys().copied().collect();
                for id in ids {
                    out.extend(self.sync_message(id));
                }
            }
            Message::Sync(m) => {
                let id = m.document_id;
                let Some(state) = self.docs.get_mut(&id) else {
                    return (out, events);
                };
                let Ok(decoded) = sync::Message::decode(&m.data) else {
                    events.push(Event::Error("the server sent an unreadable message".into()));
                    return (out, events);
                };
                state.unavailable = false;
                state.their_heads = Some(decoded.heads.clone());
                state.acked = Some(decoded.heads.clone());
                let before = state.doc.get_heads();
                // Not automerge's own: it walks the whole history on every
                // message (hundreds of ms per keystroke in the browser on a
                // long-edited document; `bench --scenarios browser-large`).
                if let Err(e) =
                    crate::fast_sync::receive_sync_message(&mut state.doc, &mut state.sync, decoded)
                {
                    events.push(Event::Error(format!("could not apply changes: {e}")));
                    return (out, events);
                }
                if state.doc.get_heads() != before {
                    events.push(Event::Changed(id));
                }
                out.extend(self.sync_message(id));
                if self.is_synced(id) {
                    events.push(Event::Synced(id));
                }
            }
            Message::DocUnavailable { document_id, .. } => {
                if let Some(state) = self.docs.get_mut(&document_id) {
                    state.unavailable = true;
                }
                events.push(Event::Unavailable(document_id));
            }
            Message::Ephemeral(m) => events.push(Event::Ephemeral {
                from: m.sender_id,
                document: m.document_id,
                data: m.data,
            }),
            Message::Error {
                message,
                document_id: Some(id),
                ..
            } => events.push(Event::Refused(id, message)),
            Message::Error { message, .. } => events.push(Event::Error(message)),
            Message::Join { .. } | Message::Ignored { .. } => {}
        }
        (out, events)
    }

    /// The next sync message for a document, if connected and there is one.
    fn sync_message(&mut self, id: DocumentId) -> Option<Message> {
        let server = self.server.clone()?;
        let state = self.docs.get_mut(&id)?;
        // A document we have nothing of is *requested*: the server answers
        // doc-unavailable rather than waiting for us.
        let kind = if state.doc.get_heads().is_empty() {
            SyncKind::Request
        } else {
            SyncKind::Sync
        };
        // Generating computes clocks over the history: skip it when there
        // is provably nothing to send (an acknowledgement of our heads).
        if crate::fast_sync::nothing_to_send(&state.doc, &state.sync) {
            return None;
        }
        let data = state.doc.generate_sync_message(&mut state.sync)?.encode();
        Some(Message::Sync(SyncMessage {
            kind,
            sender_id: self.peer_id.clone(),
            target_id: server,
            document_id: id,
            data,
        }))
    }
}

/// Whether `hash` is an ancestor of one of `theirs` that we hold.
fn known_before(doc: &Automerge, theirs: &[ChangeHash], hash: &ChangeHash) -> bool {
    let held: Vec<ChangeHash> = theirs
        .iter()
        .filter(|h| doc.get_change_meta_by_hash(h).is_some())
        .copied()
        .collect();
    !held.is_empty() && doc.get_changes(&held).iter().all(|c| c.hash() != *hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{ObjType, ROOT, ReadDoc};

    #[test]
    fn a_small_change_is_appended_to_the_local_copy_not_saved_whole() {
        let id = DocumentId::random();
        let mut client = Session::new(PeerId::new("browser").expect("peer id"));
        client.open(id, None);
        let ((), _) = client.change(id, |d| {
            let mut tx = d.transaction();
            tx.put_object(ROOT, "text", ObjType::Text).expect("text");
            tx.commit();
        });
        let mut saved = client.save(id).expect("saved");
        for i in 0..50 {
            let ((), _) = client.change(id, |d| {
                let text = d.get(ROOT, "text").expect("get").expect("text").1;
                let mut tx = d.transaction();
                tx.splice_text(&text, i, 0, "x").expect("splice");
                tx.commit();
            });
            let next = client.save(id).expect("saved");
            assert!(next.starts_with(&saved), "the change is appended");
            let loaded = Automerge::load(&next).expect("loads");
            assert_eq!(loaded.get_heads(), client.doc(id).expect("doc").get_heads());
            saved = next;
        }
        // A document replaced under the same id is saved whole.
        client.discard(id);
        let fresh = client.save(id).expect("saved");
        assert_eq!(fresh, Automerge::new().save());
    }

    /// A server stand-in: one automerge document and one sync state per
    /// client, relaying nothing.
    struct Server {
        doc: Automerge,
        states: HashMap<PeerId, sync::State>,
    }

    impl Server {
        fn handle(&mut self, id: DocumentId, message: Message) -> Vec<Message> {
            let me = PeerId::new("server").expect("peer id");
            match message {
                Message::Join { sender_id, .. } => vec![Message::Peer {
                    sender_id: me,
                    target_id: sender_id,
                    peer_metadata: PeerMetadata::default(),
                    selected_protocol_version: "1".into(),
                }],
                Message::Sync(m) => {
                    let state = self.states.entry(m.sender_id.clone()).or_default();
                    let decoded = sync::Message::decode(&m.data).expect("decode");
                    self.doc
                        .receive_sync_message(state, decoded)
                        .expect("receive");
                    self.doc
                        .generate_sync_message(state)
                        .map(|reply| {
                            Message::Sync(SyncMessage {
                                kind: SyncKind::Sync,
                                sender_id: me,
                                target_id: m.sender_id,
                                document_id: id,
                                data: reply.encode(),
                            })
                        })
                        .into_iter()
                        .collect()
                }
                _ => vec![],
            }
        }
    }

    /// Delivers messages back and forth until both sides are quiet.
    fn pump(server: &mut Server, client: &mut Session, id: DocumentId, first: Vec<Message>) {
        let mut to_server = first;
        for _ in 0..50 {
            if to_server.is_empty() {
                return;
            }
            let mut to_client = Vec::new();
            for m in to_server.drain(..) {
                to_client.extend(server.handle(id, m));
            }
            for m in to_client {
                let (out, _) = client.receive(m);
                to_server.extend(out);
            }
        }
        panic!("sync did not settle");
    }

    #[test]
    fn offline_changes_arrive_once_after_reconnecting() {
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        let text = tx.put_object(ROOT, "text", ObjType::Text).expect("text");
        tx.splice_text(&text, 0, 0, "Hej 😀").expect("splice");
        tx.commit();
        let mut server = Server {
            doc,
            states: HashMap::new(),
        };
        let id = DocumentId::random();
        let mut client = Session::new(PeerId::new("browser").expect("peer id"));
        let join = client.join();
        client.open(id, None);
        pump(&mut server, &mut client, id, vec![join]);
        assert!(client.is_synced(id));
        assert_eq!(
            client.doc(id).map(|d| d.text(&text).expect("text")),
            Some("Hej 😀".to_owned())
        );

        // Offline: the change waits; nothing is sent.
        client.disconnected();
        let ((), sent) = client.change(id, |d| {
            let mut tx = d.transaction();
            tx.splice_text(&text, 0, 0, "Å ").expect("splice");
            tx.commit();
        });
        assert!(sent.is_empty());
        assert!(!client.is_synced(id));
        assert_eq!(client.waiting(id), 1, "one change waits");
        let ((), _) = client.change(id, |d| {
            let mut tx = d.transaction();
            tx.splice_text(&text, 0, 0, "Ä").expect("splice");
            tx.commit();
        });
        assert_eq!(client.waiting(id), 2);
        // Kept across a reload, with what the server was known to hold.
        let saved = client.save(id).expect("saved");
        let acked = client.acked(id).expect("acknowledged before").to_vec();
        let mut reloaded = Session::new(PeerId::new("browser-2").expect("peer id"));
        reloaded.open(id, Some(&saved));
        reloaded.set_acked(id, acked);
        assert_eq!(reloaded.waiting(id), 2, "still waiting after the reload");
        let join = reloaded.join();
        pump(&mut server, &mut reloaded, id, vec![join]);
        assert!(reloaded.is_synced(id));
        assert_eq!(reloaded.waiting(id), 0, "acknowledged");
        // The first session reconnects too (a new connection: the server
        // starts its sync state afresh): nothing arrives twice.
        server
            .states
            .remove(&PeerId::new("browser").expect("peer id"));
        let join = client.join();
        pump(&mut server, &mut client, id, vec![join]);
        assert_eq!(server.doc.text(&text).expect("text"), "ÄÅ Hej 😀");
        assert_eq!(server.doc.get_changes(&[]).len(), 3);
        assert_eq!(client.waiting(id), 0);
    }

    #[test]
    fn a_refused_change_is_discarded_and_the_document_fetched_again() {
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        let text = tx.put_object(ROOT, "text", ObjType::Text).expect("text");
        tx.splice_text(&text, 0, 0, "Sammanfattning")
            .expect("splice");
        tx.commit();
        let mut server = Server {
            doc,
            states: HashMap::new(),
        };
        let id = DocumentId::random();
        let mut client = Session::new(PeerId::new("browser").expect("peer id"));
        let join = client.join();
        client.open(id, None);
        pump(&mut server, &mut client, id, vec![join]);
        client.change(id, |d| {
            let mut tx = d.transaction();
            tx.splice_text(&text, 0, 0, "förbjudet ").expect("splice");
            tx.commit();
        });

        // The server refuses it, names the document, and closes.
        let (out, events) = client.receive(Message::Error {
            sender_id: Some(PeerId::new("server").expect("peer id")),
            target_id: None,
            message: "change refused: participants may not edit the summary".into(),
            document_id: Some(id),
        });
        assert!(out.is_empty());
        assert_eq!(
            events,
            vec![Event::Refused(
                id,
                "change refused: participants may not edit the summary".into()
            )]
        );
        client.discard(id);
        client.disconnected();
        assert!(!client.has_content(id));

        // Reconnecting fetches the server's document, without the change.
        let join = client.join();
        pump(&mut server, &mut client, id, vec![join]);
        assert!(client.is_synced(id));
        assert_eq!(
            client.doc(id).map(|d| d.text(&text).expect("text")),
            Some("Sammanfattning".to_owned())
        );
        assert_eq!(server.doc.get_changes(&[]).len(), 1);
    }
}
