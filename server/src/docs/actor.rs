//! One document's actor: it owns the automerge document and the sync state
//! of every peer of it.
//!
//! Each turn takes every queued command (up to a bound), applies them, and,
//! if the document changed, stores the new changes and waits for them to be
//! durable *before* generating any message that advertises the new heads.
//! Batching a turn's commands under one flush is what keeps durable
//! acknowledgements fast.

use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;

use crate::auth::Role;
use automerge::sync;
use automerge::{Automerge, AutomergeError};
use protocol::incoming::{self, Refusal, Replies, Rules};
use protocol::relay::Relay;
use protocol::{DocumentId, EphemeralMessage, Message, PeerId, SyncKind, SyncMessage};
use tokio::sync::mpsc;
use tracing::Instrument;

use super::{DocCommand, Docs, PeerLink};
use crate::Shared;
use crate::store::StoreError;

/// Ephemeral (sender, session) pairs remembered for deduplication.
const MAX_EPHEMERAL_SESSIONS: usize = 4096;

/// Most commands handled in one turn (and so under one flush).
const MAX_BATCH: usize = 256;

/// Live changes are applied to the document (see [`Relay`]) once it has
/// been quiet this long, or once this many wait.
const APPLY_WHEN_QUIET: std::time::Duration = std::time::Duration::from_secs(2);
const MAX_PENDING: usize = 4096;

/// Why a turn failed: the store (every document stops) or this document.
#[derive(Debug, thiserror::Error)]
enum TurnError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("automerge: {0}")]
    Document(#[from] AutomergeError),
}

struct PeerState {
    conn_id: u64,
    outbox: super::Outbox,
    sync: sync::State,
    /// The peer asked for a document that did not exist; it hears again only
    /// once the document comes into being.
    awaiting_doc: bool,
}

pub(super) struct DocActor {
    id: DocumentId,
    generation: u64,
    docs: Arc<Docs>,
    shared: Arc<Shared>,
    /// The document, with live changes relayed before they are applied.
    doc: Relay,
    /// Whether the store holds anything for this document.
    exists: bool,
    next_seq: u64,
    chunks_since_snapshot: u64,
    /// Set when a stored chunk could not be read: compaction would delete it.
    compaction_blocked: bool,
    /// Bytes the store holds for this document (snapshot and chunks).
    stored_bytes: u64,
    /// Bytes of the changes applied this turn and not yet stored.
    pending_bytes: u64,
    peers: HashMap<PeerId, PeerState>,
    /// Highest ephemeral `count` relayed per (sender, session).
    ephemeral_seen: HashMap<(PeerId, String), u64>,
}

impl DocActor {
    pub(super) fn new(
        id: DocumentId,
        generation: u64,
        docs: Arc<Docs>,
        shared: Arc<Shared>,
    ) -> Self {
        Self {
            id,
            generation,
            docs,
            shared,
            doc: Relay::new(Automerge::new()),
            exists: false,
            next_seq: 0,
            chunks_since_snapshot: 0,
            compaction_blocked: false,
            stored_bytes: 0,
            pending_bytes: 0,
            peers: HashMap::new(),
            ephemeral_seen: HashMap::new(),
        }
    }

    pub(super) async fn run(mut self, mut rx: mpsc::Receiver<DocCommand>) {
        let span = tracing::info_span!("doc", doc_id = %self.id);
        self.shared.metrics.resident_documents.inc();
        async move {
            let outcome = match self.load().await {
                Ok(()) => self.serve(&mut rx).await,
                Err(e) => Err(format!("document {} could not be loaded: {e}", self.id)),
            };
            if let Err(reason) = outcome {
                tracing::error!(%reason, "document actor stops");
                self.fail_all("the server could not serve this document; please reconnect");
                self.docs.forget(self.id, self.generation);
                // Every command still queued, or still arriving from a
                // sender that looked us up before we left the registry, is
                // answered with the error rather than handed to a new actor.
                rx.close();
                while let Some(command) = rx.recv().await {
                    if let DocCommand::Sync { from, .. } | DocCommand::Ephemeral { from, .. } =
                        command
                    {
                        from.outbox.fail(
                            "the server could not serve this document; please reconnect".into(),
                        );
                    }
                }
            }
            self.shared.metrics.resident_documents.dec();
        }
        .instrument(span)
        .await
    }

    async fn load(&mut self) -> Result<(), StoreError> {
        if self.shared.store_failed() {
            return Err(StoreError::Closed);
        }
        let store = self.shared.store.clone();
        let id = self.id;
        let loaded = tokio::task::spawn_blocking(move || {
            let Some(stored) = store.load(&id)? else {
                return Ok(None);
            };
            let bytes: u64 = stored.chunks.iter().map(|c| c.len() as u64).sum();
            let (doc, damaged) = load_chunks(&stored.chunks);
            Ok::<_, StoreError>(Some((
                doc,
                stored.next_seq,
                stored.chunks.len() as u64,
                damaged,
                bytes,
            )))
        })
        .await
        .map_err(|e| StoreError::Transaction(e.to_string()))??;
        if let Some((doc, next_seq, chunks, damaged, bytes)) = loaded {
            self.doc = Relay::new(doc);
            self.stored_bytes = bytes;
            self.exists = true;
            self.next_seq = next_seq;
            self.chunks_since_snapshot = chunks;
            // Never compact away a chunk we could not read.
            self.compaction_blocked = damaged;
            tracing::debug!(chunks, "document loaded");
            // What we loaded may be a write whose flush is still pending
            // (the previous actor's turn failed): make sure it is on disk
            // before any of it is advertised.
            self.shared.commit.durable().await?;
        }
        Ok(())
    }

    /// Serves commands until shutdown or idle eviction.
    async fn serve(&mut self, rx: &mut mpsc::Receiver<DocCommand>) -> Result<(), String> {
        let idle = self.shared.config.idle_evict;
        let shutdown = self.docs.shutdown.clone();
        loop {
            let first = tokio::select! {
                biased;
                command = rx.recv() => command,
                () = shutdown.cancelled() => None,
                () = tokio::time::sleep(APPLY_WHEN_QUIET), if self.doc.pending_len() > 0 => {
                    if let Err(e) = self.doc.flush() {
                        return Err(format!("applying changes failed: {e}"));
                    }
                    continue;
                }
                () = tokio::time::sleep(idle), if self.peers.values().all(|p| p.awaiting_doc) => {
                    if self.docs.evict(self.id, self.generation, rx) {
                        tracing::debug!("evicted idle document");
                        None
                    } else {
                        continue;
                    }
                }
            };
            let Some(first) = first else { return Ok(()) };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(command) => batch.push(command),
                    Err(_) => break,
                }
            }
            // A panic inside automerge on some input must not leave peers
            // waiting on a vanished actor: it ends the actor like an error.
            match AssertUnwindSafe(self.turn(batch)).catch_unwind().await {
                Ok(Ok(())) => {}
                Ok(Err(TurnError::Store(e))) => {
                    self.shared.mark_store_failed();
                    return Err(format!("storing changes failed: {e}"));
                }
                Ok(Err(TurnError::Document(e))) => {
                    return Err(format!("applying changes failed: {e}"));
                }
                Err(_) => return Err("panic while handling a sync message".into()),
            }
        }
    }

    async fn turn(&mut self, batch: Vec<DocCommand>) -> Result<(), TurnError> {
        let before = self.doc.heads().to_vec();
        self.pending_bytes = 0;
        // Peers that sent a sync message this turn and expect an answer.
        let mut to_answer = HashSet::new();
        // Peers whose messages brought changes: they must hear that we have
        // them, even where automerge would stay silent.
        let mut contributors = HashSet::new();
        // Server edits made this turn: answered once they are durable.
        let mut edited = Vec::new();
        // Released once this turn's answers are queued: until then they
        // count against their connections' answers in flight.
        let mut answering = Vec::new();
        for command in batch {
            match command {
                DocCommand::Sync {
                    from,
                    kind,
                    data,
                    answer,
                } => {
                    answering.push(answer);
                    to_answer.insert(from.peer_id.clone());
                    let peer = from.peer_id.clone();
                    if self.receive_sync(from, kind, &data) {
                        contributors.insert(peer);
                    }
                }
                DocCommand::Ephemeral { from, message } => self.relay_ephemeral(from, message),
                DocCommand::Edit { user, edit, reply } => match self.edit_as(&user, edit) {
                    Ok(value) => edited.push((reply, value)),
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                },
                DocCommand::Leave { peer_id, conn_id } => {
                    if self
                        .peers
                        .get(&peer_id)
                        .is_some_and(|p| p.conn_id == conn_id)
                    {
                        self.peers.remove(&peer_id);
                        self.ephemeral_seen.retain(|(p, _), _| *p != peer_id);
                    }
                }
            }
        }
        if self.doc.heads() != before {
            self.persist().await?;
            for (reply, value) in edited.drain(..) {
                let _ = reply.send(Ok(value));
            }
            // New changes: every peer may need them.
            self.send_sync_messages(false, &to_answer, &contributors)?;
        } else {
            for (reply, value) in edited.drain(..) {
                let _ = reply.send(Ok(value));
            }
            self.send_sync_messages(true, &to_answer, &contributors)?;
        }
        drop(answering);
        if self.doc.pending_len() >= MAX_PENDING {
            self.doc.flush()?;
        }
        if !self.compaction_blocked
            && self.chunks_since_snapshot >= self.shared.config.compact_after_chunks
        {
            self.compact()?;
        }
        Ok(())
    }
}

/// The automerge actor the server writes with on a user's behalf: derived
/// from the user id, so one user's server edits share an actor.
fn user_actor(user: &str) -> automerge::ActorId {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("synpunkt server edit\0{user}").as_bytes());
    automerge::ActorId::from(&digest[..16])
}

/// Loads a document's stored chunks: all in one batch (automerge walks each
/// object once per batch, so chunk by chunk would walk it once per chunk),
/// or, if that fails, chunk by chunk, skipping (and logging) any chunk that
/// automerge refuses or panics on, so that one bad chunk cannot hide the
/// rest or keep the document from loading. Returns whether any was skipped.
fn load_chunks(chunks: &[Vec<u8>]) -> (Automerge, bool) {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    let all = chunks.concat();
    let batch = catch_unwind(|| {
        let mut doc = Automerge::new();
        doc.load_incremental(&all).map(|_| doc)
    });
    if let Ok(Ok(doc)) = batch {
        return (doc, false);
    }
    let mut doc = Automerge::new();
    let mut damaged = false;
    for chunk in chunks {
        let mut next = doc.clone();
        match catch_unwind(AssertUnwindSafe(|| next.load_incremental(chunk))) {
            Ok(Ok(_)) => doc = next,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "skipping an unreadable chunk");
                damaged = true;
            }
            Err(_) => {
                tracing::error!("skipping a chunk automerge cannot apply");
                damaged = true;
            }
        }
    }
    (doc, damaged)
}

/// The actor bindings of the server's `actors` table, for
/// [`incoming::check_sync`].
struct AuthBindings<'a>(&'a crate::auth::Auth);

impl incoming::ActorBindings for AuthBindings<'_> {
    fn owner(&self, actor: &[u8]) -> Result<Option<String>, String> {
        self.0.actor_owner(actor).map_err(|e| e.to_string())
    }

    fn bind(&self, actor: &[u8], user: &str) -> Result<bool, String> {
        // Durable with this turn's flush, before anything is acknowledged.
        self.0.bind_actor(actor, user).map_err(|e| e.to_string())
    }
}

/// The state of the peer behind `from`, created (or reset, for a new
/// connection of the same peer) as needed.
///
/// Connection ids only grow: a command from an older connection of the same
/// peer (one that was replaced but had frames in flight) returns `None` and
/// must be ignored, so it cannot take the live connection's place.
fn attach<'a>(
    peers: &'a mut HashMap<PeerId, PeerState>,
    from: &PeerLink,
) -> Option<&'a mut PeerState> {
    let fresh = || PeerState {
        conn_id: from.conn_id,
        outbox: from.outbox.clone(),
        // The server never applies what a public reader sends.
        sync: if from.role == Role::Public {
            sync::State::new_read_only()
        } else {
            sync::State::new()
        },
        awaiting_doc: false,
    };
    let state = peers.entry(from.peer_id.clone()).or_insert_with(fresh);
    if from.conn_id < state.conn_id {
        return None;
    }
    if state.conn_id != from.conn_id {
        // A reconnect: sync state starts fresh on the new connection.
        *state = fresh();
    }
    Some(state)
}

impl DocActor {
    /// Receives one sync message; returns whether it brought changes.
    fn receive_sync(&mut self, from: PeerLink, kind: SyncKind, data: &[u8]) -> bool {
        let sender = incoming::Sender {
            user: from.user_id.as_deref(),
            rules: match from.role {
                Role::Public => Rules::ReadOnly,
                Role::Participant => Rules::Participant,
                Role::Drafter => Rules::Drafter,
                Role::Host => Rules::Unrestricted,
            },
        };
        let bindings = AuthBindings(&self.shared.auth);
        let message = match incoming::check_sync(&mut self.doc, data, sender, &bindings) {
            Ok(message) => message,
            Err(Refusal::Invalid(reason)) => {
                self.reject(&from, reason);
                return false;
            }
            Err(Refusal::Forbidden(reason)) => {
                tracing::warn!(peer = %from.peer_id, role = ?from.role, %reason, "refused a change");
                self.shared.metrics.protocol_errors.inc();
                from.outbox.refuse(self.id, reason);
                self.forget(&from);
                return false;
            }
        };
        if !message.changes.is_empty() {
            // The frame's size bounds the changes as sent (automerge's own,
            // compressed chunks: no smaller than what storing them adds).
            let incoming = data.len() as u64;
            if let Err(reason) = self.make_room(incoming) {
                tracing::warn!(peer = %from.peer_id, %reason, "refused a change");
                self.shared.metrics.protocol_errors.inc();
                self.shared.metrics.document_size_refusals.inc();
                from.outbox.refuse(self.id, reason);
                self.forget(&from);
                return false;
            }
            self.pending_bytes += incoming;
        }
        let unknown = !self.exists && self.doc.heads().is_empty();
        if unknown && kind == SyncKind::Request && message.heads.is_empty() {
            let Some(state) = attach(&mut self.peers, &from) else {
                return false;
            };
            state.awaiting_doc = true;
            from.outbox.answer(Message::DocUnavailable {
                sender_id: self.shared.peer_id.clone(),
                target_id: from.peer_id.clone(),
                document_id: self.id,
            });
            return false;
        }
        let Some(state) = attach(&mut self.peers, &from) else {
            return false;
        };
        state.awaiting_doc = false;
        match incoming::apply(&mut self.doc, &mut state.sync, message) {
            Ok(brings_changes) => brings_changes,
            Err(e) => {
                self.reject(&from, e.to_string());
                false
            }
        }
    }

    /// Runs a server edit on the document, writing as `user` (an actor id
    /// derived from the user and bound to them, so the history shows the
    /// user who asked for it). An edit that fails leaves the document as
    /// it was: it only commits when it succeeds.
    fn edit_as(&mut self, user: &str, edit: super::Edit) -> Result<serde_json::Value, String> {
        if !self.exists {
            return Err("no such document".into());
        }
        let actor = user_actor(user);
        if !self
            .shared
            .auth
            .bind_actor(actor.to_bytes(), user)
            .map_err(|e| e.to_string())?
        {
            return Err("this user's server actor belongs to someone else".into());
        }
        // The edit runs on a fork; its changes are checked against the size
        // cap before they are applied.
        let (value, changes) = {
            let doc = self
                .doc
                .doc()
                .map_err(|e| format!("applying changes failed: {e}"))?;
            let mut scratch = doc.fork().with_actor(actor);
            let value = (edit.0)(&mut scratch)?;
            (value, scratch.get_changes(&doc.get_heads()))
        };
        let incoming = changes.iter().map(|c| c.raw_bytes().len() as u64).sum();
        if let Err(reason) = self.make_room(incoming) {
            self.shared.metrics.document_size_refusals.inc();
            return Err(reason);
        }
        self.pending_bytes += incoming;
        self.doc
            .edit(|doc| doc.apply_changes(changes))
            .map_err(|e| format!("applying changes failed: {e}"))?
            .map_err(|e| format!("applying an edit failed: {e}"))?;
        Ok(value)
    }

    /// Checks that changes of `incoming` bytes fit under the document size
    /// cap, counting what is stored and what this turn has applied. Before
    /// refusing, it compacts (a snapshot is smaller than the incremental
    /// chunks it replaces) when that could make room.
    fn make_room(&mut self, incoming: u64) -> Result<(), String> {
        let max = self.shared.config.max_document_bytes;
        let fits = |a: &Self| {
            a.stored_bytes
                .saturating_add(a.pending_bytes)
                .saturating_add(incoming)
                <= max
        };
        if fits(self) {
            return Ok(());
        }
        if self.pending_bytes == 0
            && self.exists
            && self.chunks_since_snapshot > 1
            && !self.compaction_blocked
        {
            self.compact()
                .map_err(|e| format!("applying changes failed: {e}"))?;
            if fits(self) {
                return Ok(());
            }
        }
        Err(format!(
            "document {} is full: the change would grow it past the limit of {max} stored bytes",
            self.id
        ))
    }

    /// Closes the connection of a peer whose message could not be read.
    fn reject(&mut self, from: &PeerLink, reason: String) {
        tracing::warn!(peer = %from.peer_id, %reason, "rejecting a sync message");
        self.shared.metrics.protocol_errors.inc();
        from.outbox.fail(reason);
        self.forget(from);
    }

    /// Drops a closed connection's peer state (not a newer connection's).
    fn forget(&mut self, from: &PeerLink) {
        if self
            .peers
            .get(&from.peer_id)
            .is_some_and(|p| p.conn_id == from.conn_id)
        {
            self.peers.remove(&from.peer_id);
        }
    }

    fn relay_ephemeral(&mut self, from: PeerLink, message: EphemeralMessage) {
        // Public readers are not relayed: nothing they send reaches others.
        if from.role == Role::Public {
            return;
        }
        if attach(&mut self.peers, &from).is_none() {
            return;
        }
        if self.ephemeral_seen.len() >= MAX_EPHEMERAL_SESSIONS {
            // Forgetting only risks relaying a duplicate, never losing one.
            self.ephemeral_seen.clear();
        }
        let key = (message.sender_id.clone(), message.session_id.clone());
        match self.ephemeral_seen.get(&key) {
            Some(&seen) if seen >= message.count => return,
            _ => {
                self.ephemeral_seen.insert(key, message.count);
            }
        }
        for (peer_id, peer) in &self.peers {
            if *peer_id == from.peer_id {
                continue;
            }
            peer.outbox.send(Message::Ephemeral(EphemeralMessage {
                target_id: peer_id.clone(),
                ..message.clone()
            }));
        }
    }

    /// Stores the changes taken since the last call and waits until they
    /// are durable.
    async fn persist(&mut self) -> Result<(), StoreError> {
        let chunk = self.doc.take_unsaved();
        self.shared.store.append(&self.id, self.next_seq, &chunk)?;
        self.stored_bytes += chunk.len() as u64;
        self.next_seq += 1;
        self.chunks_since_snapshot += 1;
        self.shared.metrics.changes_stored.inc();
        self.shared.commit.durable().await?;
        self.exists = true;
        Ok(())
    }

    /// Generates and queues a sync message for each peer (only those in
    /// `asked` if `only_asked`) that has something to hear ([`Replies`]
    /// computes one message per distinct peer state). Peers in `asked` sent
    /// a sync message this turn: theirs is its answer; the others' are
    /// unprompted. Peers in `confirm` brought changes this turn and always
    /// hear our heads.
    fn send_sync_messages(
        &mut self,
        only_asked: bool,
        asked: &HashSet<PeerId>,
        confirm: &HashSet<PeerId>,
    ) -> Result<(), AutomergeError> {
        let server = &self.shared.peer_id;
        let mut replies = Replies::new();
        let mut closed = Vec::new();
        for (peer_id, peer) in &mut self.peers {
            let answers = asked.contains(peer_id);
            if only_asked && !answers {
                continue;
            }
            if peer.awaiting_doc && !self.exists {
                if peer.outbox.is_closed() {
                    closed.push(peer_id.clone());
                }
                continue;
            }
            peer.awaiting_doc = false;
            let must_confirm = confirm.contains(peer_id);
            let delivered = match replies.reply(&mut self.doc, &mut peer.sync, must_confirm)? {
                Some(data) => {
                    let message = Message::Sync(SyncMessage {
                        kind: SyncKind::Sync,
                        sender_id: server.clone(),
                        target_id: peer_id.clone(),
                        document_id: self.id,
                        data,
                    });
                    if answers {
                        peer.outbox.answer(message)
                    } else {
                        peer.outbox.send(message)
                    }
                }
                None => !peer.outbox.is_closed(),
            };
            if !delivered {
                closed.push(peer_id.clone());
            }
        }
        for peer_id in closed {
            self.peers.remove(&peer_id);
        }
        Ok(())
    }

    /// Replaces the stored chunks by one snapshot. Not awaited: it becomes
    /// durable with the next flush, and either state is complete on its own.
    fn compact(&mut self) -> Result<(), AutomergeError> {
        let snapshot = self.doc.doc()?.save();
        match self
            .shared
            .store
            .compact(&self.id, &snapshot, self.next_seq)
        {
            Ok(()) => {
                self.chunks_since_snapshot = 1;
                self.stored_bytes = snapshot.len() as u64;
            }
            Err(e) => {
                // Retry only after as many chunks again.
                self.chunks_since_snapshot = 0;
                tracing::error!(error = %e, "compaction failed; keeping the chunks");
            }
        }
        Ok(())
    }

    fn fail_all(&mut self, reason: &str) {
        for peer in self.peers.values() {
            peer.outbox.fail(reason.to_owned());
        }
        self.peers.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{Change, ObjType, ROOT, ReadDoc};

    fn insert(doc: &mut Automerge, at: usize, s: &str) {
        let text = doc.get(ROOT, "text").expect("get").expect("text").1;
        let mut tx = doc.transaction();
        tx.splice_text(&text, at, 0, s).expect("splice");
        tx.commit();
    }

    #[test]
    fn a_chunk_automerge_panics_on_is_skipped_and_the_rest_loads() {
        let mut base = Automerge::new();
        let mut tx = base.transaction();
        tx.put_object(ROOT, "text", ObjType::Text).expect("text");
        tx.commit();
        insert(&mut base, 0, "Sammanfattning");
        // A change referencing an element its dependencies lack, with a
        // valid checksum (a client can send one): automerge panics on it.
        let mut other = base.fork().with_actor(automerge::ActorId::from([7u8; 16]));
        insert(&mut other, 0, "q");
        insert(&mut other, 1, "r");
        let mut dangling = other.get_changes(&base.get_heads())[1].decode();
        dangling.deps = base.get_heads();
        dangling.hash = None;
        let dangling = Change::from(dangling);
        let mut good = base.fork().with_actor(automerge::ActorId::from([8u8; 16]));
        insert(&mut good, 0, "Ny ");
        let good_change = good.get_changes(&base.get_heads())[0].raw_bytes().to_vec();

        let chunks = vec![base.save(), dangling.raw_bytes().to_vec(), good_change];
        let (doc, damaged) = load_chunks(&chunks);
        assert!(damaged);
        let text = doc.get(ROOT, "text").expect("get").expect("text").1;
        assert_eq!(doc.text(&text).expect("text"), "Ny Sammanfattning");
    }
}
