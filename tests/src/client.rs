//! A Rust automerge-repo peer over a real WebSocket, for tests and
//! benchmarks. Documents hold `{ text: Text }`, like the Node peer's.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use automerge::sync::{self, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{Automerge, ChangeHash, ObjType, ROOT, ReadDoc};
use docsync::{DocumentId, EphemeralMessage, Message, PeerId, PeerMetadata, SyncKind, SyncMessage};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::TIMEOUT;

#[derive(Debug)]
pub enum ClientError {
    Timeout(String),
    Unavailable(DocumentId),
    Closed(Vec<String>),
}

impl std::error::Error for ClientError {}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Timeout(what) => write!(f, "timed out waiting for {what}"),
            ClientError::Unavailable(doc) => write!(f, "document {doc} is unavailable"),
            ClientError::Closed(errors) => write!(f, "connection closed; errors: {errors:?}"),
        }
    }
}

/// Called with the hashes of changes that arrived from the server.
pub type ChangeHook = Box<dyn Fn(DocumentId, &[ChangeHash]) + Send + Sync>;

/// Called with the heads each sync message from the server advertises.
pub type HeadsHook = Box<dyn Fn(DocumentId, &[ChangeHash]) + Send + Sync>;

struct DocState {
    doc: Automerge,
    sync: sync::State,
}

#[derive(Default)]
struct Inner {
    server: Option<PeerId>,
    docs: HashMap<DocumentId, DocState>,
    unavailable: HashSet<DocumentId>,
    errors: Vec<String>,
    /// Documents named by the server's `error` messages (refused changes).
    refused: Vec<DocumentId>,
    ephemeral: Vec<EphemeralMessage>,
    closed: bool,
}

/// The forms change data takes in a sync message (see
/// [`Client::send_changes_since`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeData {
    /// Change chunks back to back in one element.
    Concatenated,
    /// One bundle chunk (several changes compressed together).
    Bundle,
    /// The whole document, saved.
    WholeDocument,
}

/// A connected peer. Cloning shares the connection.
#[derive(Clone)]
pub struct Client {
    peer_id: PeerId,
    inner: Arc<Mutex<Inner>>,
    out: mpsc::UnboundedSender<WsMessage>,
    events: watch::Receiver<u64>,
    hook: Arc<Mutex<Option<ChangeHook>>>,
    heads_hook: Arc<Mutex<Option<HeadsHook>>>,
    ephemeral_count: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Client({})", self.peer_id)
    }
}

impl Client {
    /// Connects with a random peer id and completes the join handshake.
    pub async fn connect(url: &str) -> Self {
        let id = format!("rust-{}", hex::encode(rand::random::<[u8; 6]>()));
        Self::connect_as(url, &id).await
    }

    pub async fn connect_as(url: &str, peer_id: &str) -> Self {
        let client = Self::connect_raw(url, peer_id).await;
        client.send(&Message::Join {
            sender_id: client.peer_id.clone(),
            peer_metadata: PeerMetadata {
                storage_id: None,
                is_ephemeral: true,
            },
            supported_protocol_versions: Some(vec!["1".into()]),
        });
        client
            .wait("the peer message", |i| i.server.is_some())
            .await
            .expect("server answers join");
        client
    }

    /// Connects without joining: the caller speaks first.
    pub async fn connect_raw(url: &str, peer_id: &str) -> Self {
        let (ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
            .await
            .expect("websocket connects");
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<WsMessage>();
        let (notify, events) = watch::channel(0u64);
        let client = Self {
            peer_id: PeerId::new(peer_id).expect("valid peer id"),
            inner: Arc::default(),
            out,
            events,
            hook: Arc::default(),
            heads_hook: Arc::default(),
            ephemeral_count: Arc::default(),
        };
        tokio::spawn(async move {
            while let Some(m) = out_rx.recv().await {
                if sink.send(m).await.is_err() {
                    break;
                }
            }
        });
        let reader = client.clone();
        tokio::spawn(async move {
            while let Some(frame) = stream.next().await {
                match frame {
                    Ok(WsMessage::Binary(bytes)) => reader.on_frame(&bytes),
                    Ok(WsMessage::Close(_)) | Err(_) => break,
                    Ok(_) => {}
                }
                notify.send_modify(|n| *n += 1);
            }
            reader.lock().closed = true;
            notify.send_modify(|n| *n += 1);
        });
        client
    }

    pub fn peer_id(&self) -> &PeerId {
        &self.peer_id
    }

    /// The server's peer id, from its `peer` message.
    pub fn server_peer(&self) -> String {
        self.lock()
            .server
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Installs a callback for changes arriving from the server.
    pub fn on_changes(&self, hook: ChangeHook) {
        *self
            .hook
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(hook);
    }

    /// Installs a callback for the heads every sync message from the server
    /// advertises (the server's heads when it generated the message), called
    /// before the message is applied. The server sends a message only once
    /// the changes behind those heads are durable, so this is how a test
    /// learns exactly what the server acknowledged.
    pub fn on_server_heads(&self, hook: HeadsHook) {
        *self
            .heads_hook
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(hook);
    }

    pub fn send(&self, message: &Message) {
        self.send_raw(docsync::encode(message));
    }

    pub fn send_raw(&self, bytes: Vec<u8>) {
        let _ = self.out.send(WsMessage::Binary(bytes.into()));
    }

    pub fn send_ws(&self, message: WsMessage) {
        let _ = self.out.send(message);
    }

    fn on_frame(&self, bytes: &[u8]) {
        let Ok(message) = docsync::decode(bytes) else {
            self.lock()
                .errors
                .push("undecodable frame from server".into());
            return;
        };
        let mut inner = self.lock();
        match message {
            Message::Peer { sender_id, .. } => inner.server = Some(sender_id),
            Message::Error {
                message,
                document_id,
                ..
            } => {
                inner.errors.push(message);
                inner.refused.extend(document_id);
            }
            Message::DocUnavailable { document_id, .. } => {
                inner.unavailable.insert(document_id);
            }
            Message::Ephemeral(m) => inner.ephemeral.push(m),
            Message::Sync(m) => {
                let Some(state) = inner.docs.get_mut(&m.document_id) else {
                    return;
                };
                let Ok(sync_message) = sync::Message::decode(&m.data) else {
                    inner.errors.push("bad sync data from server".into());
                    return;
                };
                if let Some(hook) = self
                    .heads_hook
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .as_ref()
                {
                    hook(m.document_id, &sync_message.heads);
                }
                let before = state.doc.get_heads();
                if let Err(e) = docsync::fast_sync::receive_sync_message(
                    &mut state.doc,
                    &mut state.sync,
                    sync_message,
                ) {
                    inner.errors.push(format!("sync failed: {e}"));
                    return;
                }
                let arrived: Vec<ChangeHash> = if state.doc.get_heads() != before {
                    state
                        .doc
                        .get_changes(&before)
                        .iter()
                        .map(|c| c.hash())
                        .collect()
                } else {
                    Vec::new()
                };
                let reply = self.reply(&mut inner, m.document_id, SyncKind::Sync);
                drop(inner);
                if !arrived.is_empty()
                    && let Some(hook) = self
                        .hook
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .as_ref()
                {
                    hook(m.document_id, &arrived);
                }
                if let Some(reply) = reply {
                    self.send(&reply);
                }
            }
            Message::Join { .. } | Message::Ignored { .. } => {}
        }
    }

    fn reply(&self, inner: &mut Inner, doc: DocumentId, kind: SyncKind) -> Option<Message> {
        let server = inner.server.clone()?;
        let state = inner.docs.get_mut(&doc)?;
        if docsync::fast_sync::nothing_to_send(&state.doc, &state.sync) {
            return None;
        }
        let data = state.doc.generate_sync_message(&mut state.sync)?.encode();
        Some(Message::Sync(SyncMessage {
            kind,
            sender_id: self.peer_id.clone(),
            target_id: server,
            document_id: doc,
            data,
        }))
    }

    fn sync_now(&self, doc: DocumentId, kind: SyncKind) {
        let message = self.reply(&mut self.lock(), doc, kind);
        if let Some(message) = message {
            self.send(&message);
        }
    }

    /// Waits until `done` holds, re-checking on every incoming frame.
    async fn wait(&self, what: &str, done: impl Fn(&Inner) -> bool) -> Result<(), ClientError> {
        let mut events = self.events.clone();
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        loop {
            {
                let inner = self.lock();
                if done(&inner) {
                    return Ok(());
                }
                if inner.closed {
                    return Err(ClientError::Closed(inner.errors.clone()));
                }
            }
            match tokio::time::timeout_at(deadline, events.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(ClientError::Closed(self.lock().errors.clone())),
                Err(_) => return Err(ClientError::Timeout(what.to_owned())),
            }
        }
    }

    /// Creates a document holding `text` and waits until the server has
    /// acknowledged it.
    pub async fn create(&self, text: &str) -> DocumentId {
        let id = DocumentId::random();
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        let obj = tx
            .put_object(ROOT, "text", ObjType::Text)
            .expect("put text");
        tx.splice_text(&obj, 0, 0, text).expect("splice");
        tx.commit();
        self.lock().docs.insert(
            id,
            DocState {
                doc,
                sync: sync::State::new(),
            },
        );
        self.sync_now(id, SyncKind::Sync);
        self.wait_acked(id)
            .await
            .expect("server acknowledges the new document");
        id
    }

    /// Asks the server for a document and waits until it is synced.
    pub async fn find(&self, id: DocumentId) -> Result<(), ClientError> {
        self.lock().docs.entry(id).or_insert_with(|| DocState {
            doc: Automerge::new(),
            sync: sync::State::new(),
        });
        self.sync_now(id, SyncKind::Request);
        self.wait("the document", |i| {
            i.unavailable.contains(&id)
                || i.docs.get(&id).is_some_and(|s| {
                    s.sync.their_heads.as_ref().is_some_and(|theirs| {
                        !theirs.is_empty()
                            && theirs.iter().all(|h| s.doc.get_change_by_hash(h).is_some())
                    })
                })
        })
        .await?;
        if self.lock().unavailable.contains(&id) {
            return Err(ClientError::Unavailable(id));
        }
        Ok(())
    }

    /// Edits the text (UTF-16 positions) and sends the change.
    pub fn splice(&self, id: DocumentId, pos: usize, del: isize, ins: &str) -> ChangeHash {
        let hash = {
            let mut inner = self.lock();
            let state = inner.docs.get_mut(&id).expect("document is open");
            let obj = text_obj(&state.doc);
            let mut tx = state.doc.transaction();
            tx.splice_text(&obj, pos, del, ins).expect("splice");
            tx.commit().0.expect("a change was made")
        };
        self.sync_now(id, SyncKind::Sync);
        hash
    }

    /// Makes any change in one transaction and sends it; returns its hash
    /// (`None` if the closure changed nothing).
    pub fn change(
        &self,
        id: DocumentId,
        f: impl FnOnce(&mut automerge::transaction::Transaction<'_>),
    ) -> Option<ChangeHash> {
        let hash = {
            let mut inner = self.lock();
            let state = inner.docs.get_mut(&id).expect("document is open");
            let mut tx = state.doc.transaction();
            f(&mut tx);
            tx.commit().0
        };
        self.sync_now(id, SyncKind::Sync);
        hash
    }

    /// Like [`Client::change`], with the change's time set to `time`
    /// (seconds since the epoch): a change written earlier, e.g. offline.
    pub fn change_at(
        &self,
        id: DocumentId,
        time: i64,
        f: impl FnOnce(&mut automerge::transaction::Transaction<'_>),
    ) -> Option<ChangeHash> {
        let hash = {
            let mut inner = self.lock();
            let state = inner.docs.get_mut(&id).expect("document is open");
            let mut tx = state.doc.transaction();
            f(&mut tx);
            tx.commit_with(automerge::transaction::CommitOptions::default().with_time(time))
                .0
        };
        self.sync_now(id, SyncKind::Sync);
        hash
    }

    /// Makes a change without sending it (to send several at once with
    /// [`Client::send_changes_since`]).
    pub fn change_quietly(
        &self,
        id: DocumentId,
        f: impl FnOnce(&mut automerge::transaction::Transaction<'_>),
    ) {
        let mut inner = self.lock();
        let state = inner.docs.get_mut(&id).expect("document is open");
        let mut tx = state.doc.transaction();
        f(&mut tx);
        tx.commit();
    }

    /// Sends our latest local change in a hand-built sync message, ignoring
    /// the sync state (as a misbehaving client would, e.g. to a server that
    /// said it is read-only for us).
    pub fn force_send_last_change(&self, id: DocumentId) {
        let message = {
            let inner = self.lock();
            let state = inner.docs.get(&id).expect("document is open");
            let change = state.doc.get_last_local_change().expect("a local change");
            let data = sync::Message {
                heads: state.doc.get_heads(),
                need: vec![],
                have: vec![],
                changes: vec![change.raw_bytes().to_vec()].into(),
                flags: None,
                version: sync::MessageVersion::V1,
            };
            Message::Sync(SyncMessage {
                kind: SyncKind::Sync,
                sender_id: self.peer_id.clone(),
                target_id: inner.server.clone().expect("joined"),
                document_id: id,
                data: data.encode(),
            })
        };
        self.send(&message);
    }

    /// Sends every local change made since `since` in one hand-built sync
    /// message, with its change data in the given form (as other clients
    /// send it: JavaScript automerge concatenates unsent changes).
    pub fn send_changes_since(&self, id: DocumentId, since: &[ChangeHash], form: ChangeData) {
        let message = {
            let inner = self.lock();
            let state = inner.docs.get(&id).expect("document is open");
            let doc = &state.doc;
            let chunk = match form {
                ChangeData::Concatenated => doc.save_after(since),
                ChangeData::Bundle => {
                    let hashes = doc
                        .get_changes(since)
                        .iter()
                        .map(|c| c.hash())
                        .collect::<Vec<_>>();
                    doc.bundle(hashes).expect("bundle").bytes().to_vec()
                }
                ChangeData::WholeDocument => doc.save(),
            };
            let data = sync::Message {
                heads: doc.get_heads(),
                need: vec![],
                have: vec![],
                changes: vec![chunk].into(),
                flags: None,
                version: sync::MessageVersion::V2,
            };
            Message::Sync(SyncMessage {
                kind: SyncKind::Sync,
                sender_id: self.peer_id.clone(),
                target_id: inner.server.clone().expect("joined"),
                document_id: id,
                data: data.encode(),
            })
        };
        self.send(&message);
    }

    /// Sends these change chunks, as they are, in one hand-built sync
    /// message (a client crafting its own changes).
    pub fn send_raw_changes(&self, id: DocumentId, chunks: Vec<Vec<u8>>) {
        let message = {
            let inner = self.lock();
            let state = inner.docs.get(&id).expect("document is open");
            let data = sync::Message {
                heads: state.doc.get_heads(),
                need: vec![],
                have: vec![],
                changes: chunks.into(),
                flags: None,
                version: sync::MessageVersion::V1,
            };
            Message::Sync(SyncMessage {
                kind: SyncKind::Sync,
                sender_id: self.peer_id.clone(),
                target_id: inner.server.clone().expect("joined"),
                document_id: id,
                data: data.encode(),
            })
        };
        self.send(&message);
    }

    /// Reads the document.
    pub fn read<T>(&self, id: DocumentId, f: impl FnOnce(&Automerge) -> T) -> T {
        let inner = self.lock();
        f(&inner.docs.get(&id).expect("document is open").doc)
    }

    /// Writes with this automerge actor id from now on (to forge authorship
    /// in tests).
    pub fn set_actor(&self, id: DocumentId, actor: automerge::ActorId) {
        let mut inner = self.lock();
        let state = inner.docs.get_mut(&id).expect("document is open");
        state.doc.set_actor(actor);
    }

    pub fn text(&self, id: DocumentId) -> String {
        let inner = self.lock();
        let state = inner.docs.get(&id).expect("document is open");
        state.doc.text(text_obj(&state.doc)).expect("text")
    }

    pub fn heads(&self, id: DocumentId) -> Vec<ChangeHash> {
        self.lock()
            .docs
            .get(&id)
            .expect("document is open")
            .doc
            .get_heads()
    }

    /// Waits until the server's last sync message shows it has all of our
    /// changes (which it sends only once they are durable).
    pub async fn wait_acked(&self, id: DocumentId) -> Result<(), ClientError> {
        self.wait("the server's acknowledgement", |i| {
            i.docs.get(&id).is_some_and(|s| {
                let ours = s.doc.get_heads();
                s.sync.their_heads.as_ref().is_some_and(|theirs| {
                    ours.iter()
                        .all(|h| theirs.contains(h) || is_ancestor_known(s, theirs, h))
                })
            })
        })
        .await
    }

    /// Waits until the document contains every change in `heads`.
    pub async fn wait_heads(
        &self,
        id: DocumentId,
        heads: &[ChangeHash],
    ) -> Result<(), ClientError> {
        self.wait("changes", |i| {
            i.docs
                .get(&id)
                .is_some_and(|s| heads.iter().all(|h| s.doc.get_change_by_hash(h).is_some()))
        })
        .await
    }

    /// Waits until the document satisfies `condition`.
    pub async fn wait_doc(
        &self,
        id: DocumentId,
        what: &str,
        condition: impl Fn(&Automerge) -> bool,
    ) -> Result<(), ClientError> {
        self.wait(what, |i| i.docs.get(&id).is_some_and(|s| condition(&s.doc)))
            .await
    }

    pub async fn wait_text(&self, id: DocumentId, text: &str) -> Result<(), ClientError> {
        self.wait("text", |i| {
            i.docs
                .get(&id)
                .and_then(|s| s.doc.text(text_obj(&s.doc)).ok())
                .is_some_and(|t| t == text)
        })
        .await
    }

    /// Waits for the server's next `error` message and returns its text.
    pub async fn wait_error(&self) -> Result<String, ClientError> {
        self.wait("an error message", |i| !i.errors.is_empty())
            .await?;
        Ok(self.lock().errors[0].clone())
    }

    /// The documents the server's `error` messages named as refused.
    pub fn refused_documents(&self) -> Vec<DocumentId> {
        self.lock().refused.clone()
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Waits until the server closes the connection.
    pub async fn wait_closed(&self) -> Result<(), ClientError> {
        match self.wait("the connection to close", |i| i.closed).await {
            Ok(()) | Err(ClientError::Closed(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The sync state towards the server, for failure messages.
    pub fn debug_state(&self, id: DocumentId) -> String {
        let inner = self.lock();
        let s = inner.docs.get(&id).expect("document is open");
        format!(
            "heads {:?}, their_heads {:?}, shared {:?}, last_sent {:?}, sent {}, in_flight {}, have_responded {}",
            s.doc.get_heads(),
            s.sync.their_heads,
            s.sync.shared_heads,
            s.sync.last_sent_heads,
            s.sync.sent_hashes.len(),
            s.sync.in_flight,
            s.sync.have_responded
        )
    }

    pub fn errors(&self) -> Vec<String> {
        self.lock().errors.clone()
    }

    pub fn is_unavailable(&self, id: DocumentId) -> bool {
        self.lock().unavailable.contains(&id)
    }

    /// Sends an ephemeral message for a document.
    pub fn broadcast(&self, id: DocumentId, data: Vec<u8>) {
        let server = self.lock().server.clone().expect("joined");
        let count = self
            .ephemeral_count
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.send(&Message::Ephemeral(EphemeralMessage {
            sender_id: self.peer_id.clone(),
            target_id: server,
            count,
            session_id: format!("session-{}", self.peer_id),
            document_id: id,
            data,
        }));
    }

    /// Waits for an ephemeral message and takes it.
    pub async fn next_ephemeral(&self) -> Result<EphemeralMessage, ClientError> {
        self.wait("an ephemeral message", |i| !i.ephemeral.is_empty())
            .await?;
        Ok(self.lock().ephemeral.remove(0))
    }

    /// Closes the connection.
    pub fn close(&self) {
        self.send_ws(WsMessage::Close(None));
    }
}

/// Whether `hash` is already covered by `theirs` (an ancestor of their
/// heads), as happens once another peer has built on our change.
fn is_ancestor_known(state: &DocState, theirs: &[ChangeHash], hash: &ChangeHash) -> bool {
    if theirs
        .iter()
        .any(|h| state.doc.get_change_by_hash(h).is_none())
    {
        return false;
    }
    !state
        .doc
        .get_changes(theirs)
        .iter()
        .any(|c| c.hash() == *hash)
}

fn text_obj(doc: &Automerge) -> automerge::ObjId {
    match doc.get(ROOT, "text") {
        Ok(Some((_, id))) => id,
        _ => panic!("document has no text field"),
    }
}
