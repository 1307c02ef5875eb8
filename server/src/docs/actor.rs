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
use automerge::{Automerge, ChangeHash};
use protocol::incoming::{self, Refusal, Replies, Rules};
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
    doc: Automerge,
    /// Whether the store holds anything for this document.
    exists: bool,
    next_seq: u64,
    chunks_since_snapshot: u64,
    /// Set when a stored chunk could not be read: compaction would delete it.
    compaction_blocked: bool,
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
            doc: Automerge::new(),
            exists: false,
            next_seq: 0,
            chunks_since_snapshot: 0,
            compaction_blocked: false,
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
            let mut doc = Automerge::new();
            let mut damaged = false;
            for chunk in &stored.chunks {
                if let Err(e) = doc.load_incremental(chunk) {
                    // Keep what loads; a damaged chunk must not hide the rest.
                    tracing::error!(error = %e, "skipping an unreadable chunk");
                    damaged = true;
                }
            }
            Ok::<_, StoreError>(Some((
                doc,
                stored.next_seq,
                stored.chunks.len() as u64,
                damaged,
            )))
        })
        .await
        .map_err(|e| StoreError::Transaction(e.to_string()))??;
        if let Some((doc, next_seq, chunks, damaged)) = loaded {
            self.doc = doc;
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
                Ok(Err(e)) => {
                    self.shared.mark_store_failed();
                    return Err(format!("storing changes failed: {e}"));
                }
                Err(_) => return Err("panic while handling a sync message".into()),
            }
        }
    }

    async fn turn(&mut self, batch: Vec<DocCommand>) -> Result<(), StoreError> {
        let before = self.doc.get_heads();
        // Peers that sent a sync message this turn and expect an answer.
        let mut to_answer = HashSet::new();
        // Peers whose messages brought changes: they must hear that we have
        // them, even where automerge would stay silent.
        let mut contributors = HashSet::new();
        // Server edits made this turn: answered once they are durable.
        let mut edited = Vec::new();
        for command in batch {
            match command {
                DocCommand::Sync { from, kind, data } => {
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
        if self.doc.get_heads() != before {
            self.persist(&before).await?;
            for (reply, value) in edited.drain(..) {
                let _ = reply.send(Ok(value));
            }
            // New changes: every peer may need them.
            self.send_sync_messages(None, &contributors);
        } else {
            for (reply, value) in edited.drain(..) {
                let _ = reply.send(Ok(value));
            }
            self.send_sync_messages(Some(&to_answer), &contributors);
        }
        if !self.compaction_blocked
            && self.chunks_since_snapshot >= self.shared.config.compact_after_chunks
        {
            self.compact();
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
        let message = match incoming::check_sync(&self.doc, data, sender, &bindings) {
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
        let unknown = !self.exists && self.doc.get_heads().is_empty();
        if unknown && kind == SyncKind::Request && message.heads.is_empty() {
            let Some(state) = attach(&mut self.peers, &from) else {
                return false;
            };
            state.awaiting_doc = true;
            from.outbox.send(Message::DocUnavailable {
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
        let mut scratch = self.doc.fork().with_actor(actor);
        let value = (edit.0)(&mut scratch)?;
        let changes = scratch.get_changes(&self.doc.get_heads());
        self.doc
            .apply_changes(changes)
            .map_err(|e| format!("applying an edit failed: {e}"))?;
        Ok(value)
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

    /// Stores the changes made since `before` and waits until they are
    /// durable.
    async fn persist(&mut self, before: &[ChangeHash]) -> Result<(), StoreError> {
        let chunk = self.doc.save_after(before);
        self.shared.store.append(&self.id, self.next_seq, &chunk)?;
        self.next_seq += 1;
        self.chunks_since_snapshot += 1;
        self.shared.metrics.changes_stored.inc();
        self.shared.commit.durable().await?;
        self.exists = true;
        Ok(())
    }

    /// Generates and queues a sync message for each peer in `only` (every
    /// peer if `None`) that has something to hear ([`Replies`] computes one
    /// message per distinct peer state). Peers in `confirm` brought changes
    /// this turn and always hear our heads.
    fn send_sync_messages(&mut self, only: Option<&HashSet<PeerId>>, confirm: &HashSet<PeerId>) {
        let server = &self.shared.peer_id;
        let mut replies = Replies::new();
        self.peers.retain(|peer_id, peer| {
            if only.is_some_and(|only| !only.contains(peer_id)) {
                return true;
            }
            if peer.awaiting_doc && !self.exists {
                return !peer.outbox.is_closed();
            }
            peer.awaiting_doc = false;
            let must_confirm = confirm.contains(peer_id);
            let Some(data) = replies.reply(&self.doc, &mut peer.sync, must_confirm) else {
                return !peer.outbox.is_closed();
            };
            peer.outbox.send(Message::Sync(SyncMessage {
                kind: SyncKind::Sync,
                sender_id: server.clone(),
                target_id: peer_id.clone(),
                document_id: self.id,
                data,
            }))
        });
    }

    /// Replaces the stored chunks by one snapshot. Not awaited: it becomes
    /// durable with the next flush, and either state is complete on its own.
    fn compact(&mut self) {
        let snapshot = self.doc.save();
        match self
            .shared
            .store
            .compact(&self.id, &snapshot, self.next_seq)
        {
            Ok(()) => self.chunks_since_snapshot = 1,
            Err(e) => {
                // Retry only after as many chunks again.
                self.chunks_since_snapshot = 0;
                tracing::error!(error = %e, "compaction failed; keeping the chunks");
            }
        }
    }

    fn fail_all(&mut self, reason: &str) {
        for peer in self.peers.values() {
            peer.outbox.fail(reason.to_owned());
        }
        self.peers.clear();
    }
}
