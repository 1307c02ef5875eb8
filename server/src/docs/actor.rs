//! One document's actor: a thin loop around [`DocState`] that executes its
//! effects.
//!
//! Each turn takes every queued command (up to a bound) and hands them to
//! the state as one batch. If the batch changed the document, the state
//! returns one chunk to store and holds the turn's replies; the actor stores
//! the chunk, waits for the group-commit flush, and only then asks the state
//! for the replies ([`DocState::durable`]). Batching a turn's commands under
//! one flush is what keeps durable acknowledgements fast. Every decision
//! (what to store, whom to answer, what to relay, when to compact, when to
//! apply pending changes) is the state's; the actor only does IO, and tells
//! the state the time: a tick starts every turn, and a timer gives a tick
//! alone when [`DocState::next_tick_ms`] comes.

use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;

use crate::auth::Role;
use docsync::doc_state::{self, DocError, DocState, Effect, Input, PeerRef};
use docsync::incoming::{self, BindingsError, Rules};
use docsync::{DocumentId, PeerId};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::{DocCommand, Docs, Outbox, PeerLink};
use crate::Shared;
use crate::store::{ChunkKey, StoreError, Table};

/// Most commands handled in one turn (and so under one flush).
const MAX_BATCH: usize = 256;

/// Live changes are applied to the document (see `docsync::relay`) once
/// it has been quiet this long (milliseconds), or once this many wait.
const APPLY_WHEN_QUIET_MS: u64 = 2000;
const MAX_PENDING: usize = 4096;

type EditReply = oneshot::Sender<Result<serde_json::Value, String>>;

/// Why a turn failed: the store (every document stops) or this document.
#[derive(Debug, thiserror::Error)]
enum TurnError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Document(#[from] DocError),
}

pub(super) struct DocActor {
    id: DocumentId,
    generation: u64,
    docs: Arc<Docs>,
    shared: Arc<Shared>,
    /// Each peer's current connection: where its messages go.
    links: HashMap<PeerId, (u64, Outbox)>,
    /// Edits waiting for their answer, by id.
    edits: HashMap<u64, EditReply>,
    next_edit: u64,
    /// The last turn returned [`Effect::Evict`].
    evict: bool,
    /// The store's keys of the chunks this actor loaded (and the snapshot
    /// of its last compaction): every compaction merges them.
    loaded: Vec<ChunkKey>,
    /// The keys of the chunks this actor appended, by the state's sequence
    /// number: a compaction up to `upto` merges those below it. Chunks
    /// other writers added are in neither list, so no compaction deletes
    /// them.
    appended: Vec<(u64, ChunkKey)>,
    /// Keys of chunks other nodes stored that automerge could not load:
    /// known (not read again), never merged (not ours to delete).
    ignored: HashSet<ChunkKey>,
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
            links: HashMap::new(),
            edits: HashMap::new(),
            next_edit: 0,
            evict: false,
            loaded: Vec::new(),
            appended: Vec::new(),
            ignored: HashSet::new(),
        }
    }

    fn limits(&self) -> doc_state::Limits {
        doc_state::Limits {
            max_document_bytes: self.shared.config.max_document_bytes,
            compact_after_chunks: self.shared.config.compact_after_chunks,
            max_pending: MAX_PENDING,
            apply_when_quiet_ms: APPLY_WHEN_QUIET_MS,
            idle_evict_ms: u64::try_from(self.shared.config.idle_evict.as_millis())
                .unwrap_or(u64::MAX),
        }
    }

    pub(super) async fn run(mut self, mut rx: mpsc::Receiver<DocCommand>) {
        let span = tracing::info_span!("doc", doc_id = %self.id);
        self.shared.metrics.resident_documents.inc();
        async move {
            let outcome = match self.load().await {
                Ok(mut state) => self.serve(&mut state, &mut rx).await,
                Err(e) => Err(format!("document {} could not be loaded: {e}", self.id)),
            };
            if let Err(reason) = outcome {
                tracing::error!(%reason, "document actor stops");
                let reason = "the server could not serve this document; please reconnect";
                for (_, (_, outbox)) in self.links.drain() {
                    outbox.fail(reason.into());
                }
                self.docs.forget(self.id, self.generation);
                // Every command still queued, or still arriving from a
                // sender that looked us up before we left the registry, is
                // answered with the error rather than handed to a new actor.
                rx.close();
                while let Some(command) = rx.recv().await {
                    if let DocCommand::Sync { from, .. } | DocCommand::Ephemeral { from, .. } =
                        command
                    {
                        from.outbox.fail(reason.into());
                    }
                }
            }
            self.shared.metrics.resident_documents.dec();
        }
        .instrument(span)
        .await
    }

    async fn load(&mut self) -> Result<DocState<serde_json::Value>, StoreError> {
        let server = self.shared.peer_id.clone();
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
            let (doc, skipped) = doc_state::open_chunks(&stored.chunks);
            let loaded = doc_state::Loaded {
                doc,
                // The state's sequence numbers only pair this actor's
                // stores with their flushes; the store keys chunks itself.
                next_seq: 0,
                chunks: stored.chunks.len() as u64,
                bytes,
                skipped,
            };
            Ok::<_, StoreError>(Some((loaded, stored.keys)))
        })
        .await
        .map_err(|e| StoreError::Transaction(e.to_string()))??;
        let Some((loaded, keys)) = loaded else {
            return Ok(DocState::new(id, server, self.limits()));
        };
        self.loaded = keys;
        if !loaded.skipped.is_empty() {
            tracing::error!(
                chunks = loaded.skipped.len(),
                "skipped stored chunks that automerge cannot load"
            );
        }
        tracing::debug!(chunks = loaded.chunks, "document loaded");
        // What we loaded may be a write whose flush is still pending (the
        // previous actor's turn failed): make sure it is on disk before any
        // of it is advertised.
        self.shared.commit.durable().await?;
        Ok(DocState::loaded(id, server, self.limits(), loaded))
    }

    /// Serves commands until shutdown or idle eviction (when the state says
    /// so, and nothing can still reach this actor).
    async fn serve(
        &mut self,
        state: &mut DocState<serde_json::Value>,
        rx: &mut mpsc::Receiver<DocCommand>,
    ) -> Result<(), String> {
        let shutdown = self.docs.shutdown.clone();
        // The state's clock: milliseconds since the actor started (tokio's,
        // so tests with paused time move it too).
        let start = tokio::time::Instant::now();
        let now = || Input::Tick {
            now_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        loop {
            // (A time past what the clock can hold is never.)
            let tick_at = state
                .next_tick_ms()
                .and_then(|ms| start.checked_add(std::time::Duration::from_millis(ms)));
            let first = tokio::select! {
                biased;
                command = rx.recv() => command,
                () = shutdown.cancelled() => None,
                () = sleep_until(tick_at), if tick_at.is_some() => {
                    self.step(state, vec![now()]).await?;
                    if std::mem::take(&mut self.evict)
                        && self.docs.evict(self.id, self.generation, rx)
                    {
                        tracing::debug!("evicted idle document");
                        return Ok(());
                    }
                    continue;
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
            // Chunks other nodes committed come first, so that a peer
            // (re)joining hears them in its first answer.
            let arrived = self.catch_up(&mut batch).await;
            // Released once this turn's answers are queued: until then they
            // count against their connections' answers in flight (the reader
            // of a connection that sent a burst waits for them).
            let mut answering = Vec::new();
            let inputs = std::iter::once(now())
                .chain(arrived)
                .chain(batch.into_iter().map(|c| self.input(c, &mut answering)))
                .collect();
            self.step(state, inputs).await?;
            drop(answering);
        }
    }

    /// Takes one turn; an error ends the actor (the reason is returned).
    async fn step(
        &mut self,
        state: &mut DocState<serde_json::Value>,
        inputs: Vec<Input<serde_json::Value>>,
    ) -> Result<(), String> {
        // A panic inside automerge on some input must not leave peers
        // waiting on a vanished actor: it ends the actor like an error.
        match AssertUnwindSafe(self.turn(state, inputs))
            .catch_unwind()
            .await
        {
            Ok(Ok(())) => Ok(()),
            Ok(Err(TurnError::Store(e))) => {
                self.shared.mark_store_failed();
                Err(format!("storing changes failed: {e}"))
            }
            Ok(Err(TurnError::Document(e))) => Err(format!("applying changes failed: {e}")),
            Err(_) => Err("panic while handling a sync message".into()),
        }
    }

    /// One turn: the inputs go to the state; its effects are carried out,
    /// including the store-then-durable step that releases the replies.
    async fn turn(
        &mut self,
        state: &mut DocState<serde_json::Value>,
        inputs: Vec<Input<serde_json::Value>>,
    ) -> Result<(), TurnError> {
        let bindings = AuthBindings(&self.shared.auth);
        let mut effects = state.turn(inputs, &bindings, &model::permissions::SummaryRules)?;
        while !effects.is_empty() {
            let mut stored = None;
            for effect in effects {
                if let Some(seq) = self.execute(state, effect)? {
                    stored = Some(seq);
                }
            }
            effects = match stored {
                Some(seq) => {
                    self.shared.commit.durable().await?;
                    state.durable(seq)?
                }
                None => Vec::new(),
            };
        }
        Ok(())
    }

    /// The chunks of this document other nodes committed that this actor
    /// does not know, as an [`Input::Arrived`], if the batch asks for
    /// them: a notification named them ([`DocCommand::CatchUp`], taken out
    /// of the batch), or a peer (re)joins (correctness does not rest on
    /// notifications: one may have been missed). Only for a store others
    /// write to. A failed read is logged: the next one catches up.
    async fn catch_up(&mut self, batch: &mut Vec<DocCommand>) -> Option<Input<serde_json::Value>> {
        if !self.shared.store.is_shared() {
            return None;
        }
        let (mut wanted, mut everything, mut hint) = (false, false, Vec::new());
        batch.retain(|command| match command {
            DocCommand::CatchUp { keys } => {
                wanted = true;
                match keys {
                    Some(keys) => hint.extend(keys.iter().cloned()),
                    None => everything = true,
                }
                false
            }
            DocCommand::Sync { from, .. } => {
                let joins = self
                    .links
                    .get(&from.peer_id)
                    .is_none_or(|(conn, _)| *conn != from.conn_id);
                wanted |= joins;
                everything |= joins;
                true
            }
            _ => true,
        });
        if !wanted {
            return None;
        }
        let known: HashSet<ChunkKey> = self
            .loaded
            .iter()
            .chain(self.appended.iter().map(|(_, key)| key))
            .chain(&self.ignored)
            .cloned()
            .collect();
        let (store, id) = (self.shared.store.clone(), self.id);
        let found = tokio::task::spawn_blocking(move || {
            let hint = (!everything).then_some(hint);
            store.chunks_not_in(&id, &known, hint.as_deref())
        })
        .await
        .map_err(|e| StoreError::Transaction(e.to_string()))
        .and_then(|found| found);
        match found {
            Ok(found) if found.is_empty() => None,
            Ok(found) => {
                tracing::debug!(chunks = found.len(), "took chunks other nodes stored");
                let (keys, chunks): (Vec<_>, Vec<_>) = found.into_iter().unzip();
                // Merged by our next compaction (which covers them).
                self.loaded.extend(keys);
                Some(Input::Arrived { chunks })
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not read the chunks other nodes stored");
                None
            }
        }
    }

    /// A command as the state's input; remembers where to answer.
    fn input(
        &mut self,
        command: DocCommand,
        answering: &mut Vec<super::AnswerPermit>,
    ) -> Input<serde_json::Value> {
        match command {
            DocCommand::Sync {
                from,
                kind,
                data,
                answer,
            } => {
                answering.push(answer);
                Input::Sync {
                    from: self.link(from),
                    kind,
                    data,
                }
            }
            DocCommand::Ephemeral { from, message } => Input::Ephemeral {
                from: self.link(from),
                message,
            },
            DocCommand::Leave { peer_id, conn_id } => {
                if self.links.get(&peer_id).is_some_and(|(c, _)| *c == conn_id) {
                    self.links.remove(&peer_id);
                }
                Input::Leave { peer_id, conn_id }
            }
            DocCommand::RemoteEphemeral { message } => Input::RemoteEphemeral { message },
            // Taken out of the batch by `catch_up`.
            DocCommand::CatchUp { .. } => Input::Arrived { chunks: Vec::new() },
            DocCommand::Edit { user, edit, reply } => {
                let id = self.next_edit;
                self.next_edit += 1;
                self.edits.insert(id, reply);
                Input::Edit {
                    id,
                    user,
                    edit: edit.0,
                }
            }
        }
    }

    /// Records the peer's connection (a newer one replaces an older one).
    fn link(&mut self, from: PeerLink) -> PeerRef {
        let newer = self
            .links
            .get(&from.peer_id)
            .is_none_or(|(conn, _)| *conn <= from.conn_id);
        if newer {
            self.links
                .insert(from.peer_id.clone(), (from.conn_id, from.outbox));
        }
        PeerRef {
            peer_id: from.peer_id,
            conn_id: from.conn_id,
            user: from.user_id,
            rules: match from.role {
                Role::Public => Rules::ReadOnly,
                Role::Participant => Rules::Participant,
                Role::Drafter => Rules::Drafter,
                Role::Host => Rules::Unrestricted,
            },
        }
    }

    /// The outbox of the peer's connection `conn_id`, if it is current.
    fn outbox(&self, peer: &PeerId, conn_id: u64) -> Option<&Outbox> {
        self.links
            .get(peer)
            .filter(|(conn, _)| *conn == conn_id)
            .map(|(_, outbox)| outbox)
    }

    /// Carries out one effect; returns the sequence number of a chunk it
    /// stored (which must become durable before the turn goes on).
    fn execute(
        &mut self,
        state: &mut DocState<serde_json::Value>,
        effect: Effect<serde_json::Value>,
    ) -> Result<Option<u64>, StoreError> {
        match effect {
            Effect::Send {
                to,
                conn_id,
                message,
                answer,
            } => {
                let delivered = self.outbox(&to, conn_id).is_some_and(|outbox| {
                    if answer {
                        outbox.answer(message)
                    } else {
                        outbox.send(message)
                    }
                });
                if !delivered {
                    self.links.remove(&to);
                    state.leave(&to, conn_id);
                }
            }
            Effect::Close {
                to,
                conn_id,
                reason,
            } => {
                self.shared.metrics.protocol_errors.inc();
                if let Some(outbox) = self.outbox(&to, conn_id) {
                    if reason.is_forbidden() {
                        tracing::warn!(peer = %to, %reason, "refused a change");
                        outbox.refuse(self.id, reason.to_string());
                    } else {
                        tracing::warn!(peer = %to, %reason, "rejecting a sync message");
                        outbox.fail(reason.to_string());
                    }
                    self.links.remove(&to);
                }
            }
            Effect::Store { seq, chunk } => {
                let key = self.shared.store.append(&self.id, &chunk)?;
                self.appended.push((seq, key));
                self.shared.metrics.changes_stored.inc();
                return Ok(Some(seq));
            }
            Effect::Compact {
                snapshot,
                upto,
                unreadable,
            } => match self.compact(&snapshot, upto, &unreadable) {
                Ok(()) => {
                    self.shared.metrics.compactions.inc();
                    self.shared
                        .metrics
                        .unreadable_chunks
                        .inc_by(unreadable.len() as u64);
                    state.compacted();
                }
                Err(e) => {
                    tracing::error!(error = %e, "compaction failed; keeping the chunks");
                    state.compaction_failed();
                }
            },
            Effect::EditDone { id, result } => {
                if let Some(reply) = self.edits.remove(&id) {
                    let _ = reply.send(result);
                }
            }
            Effect::DocumentFull => {
                self.shared.metrics.document_size_refusals.inc();
            }
            Effect::Evict => self.evict = true,
            Effect::Unreadable { chunks } => {
                tracing::error!(
                    chunks = chunks.len(),
                    "skipped arrived chunks that automerge cannot load"
                );
                // Not ours to delete: the node that stored them keeps them
                // aside when it compacts.
                for chunk in &chunks {
                    let key = ChunkKey::of(chunk);
                    self.loaded.retain(|k| *k != key);
                    self.ignored.insert(key);
                }
            }
            Effect::Publish { message } => {
                let frame = docsync::codec::encode(&docsync::Message::Ephemeral(message));
                self.shared
                    .store
                    .publish(&crate::store::ClusterEvent::Ephemeral {
                        doc: self.id,
                        frame,
                    });
            }
        }
        Ok(None)
    }
}

/// Sleeps until `at` (forever if `None`; the caller's guard skips that).
async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

impl DocActor {
    /// Moves unreadable chunks aside (table `unreadable`), then replaces
    /// the chunks the snapshot covers (those loaded, and those appended
    /// below `upto`) by the snapshot; chunks other writers added stay.
    fn compact(
        &mut self,
        snapshot: &[u8],
        upto: u64,
        unreadable: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        use sha2::{Digest, Sha256};
        for chunk in unreadable {
            let mut key = self.id.as_bytes().to_vec();
            key.extend_from_slice(&Sha256::digest(chunk));
            self.shared.store.put(Table::Unreadable, &key, chunk)?;
        }
        let merged: Vec<ChunkKey> = self
            .loaded
            .iter()
            .chain(
                self.appended
                    .iter()
                    .filter(|(seq, _)| *seq < upto)
                    .map(|(_, key)| key),
            )
            .cloned()
            .collect();
        let snapshot = self.shared.store.compact(&self.id, snapshot, &merged)?;
        self.loaded = vec![snapshot];
        self.appended.retain(|(seq, _)| *seq >= upto);
        Ok(())
    }
}

/// The actor bindings of the server's `actors` table, for
/// [`incoming::check_sync`].
struct AuthBindings<'a>(&'a crate::auth::Auth);

impl incoming::ActorBindings for AuthBindings<'_> {
    fn owner(&self, actor: &[u8]) -> Result<Option<String>, BindingsError> {
        self.0.actor_owner(actor).map_err(BindingsError::new)
    }

    fn bind(&self, actor: &[u8], user: &str) -> Result<bool, BindingsError> {
        // Durable with this turn's flush, before anything is acknowledged.
        self.0.bind_actor(actor, user).map_err(BindingsError::new)
    }

    fn edit_actor(&self, user: &str) -> Result<Vec<u8>, BindingsError> {
        self.0.edit_actor(user).map_err(BindingsError::new)
    }
}
