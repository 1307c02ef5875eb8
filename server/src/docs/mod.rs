//! Documents in memory: one actor task per resident document, found through
//! the [`Docs`] registry.
//!
//! Connections never touch an automerge document themselves; they send
//! [`DocCommand`]s to the document's actor, which owns the document, every
//! peer's sync state, and the order in which changes are stored and
//! acknowledged. Actors start on demand (loading from the store) and stop
//! when idle.

mod actor;
mod outbox;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use docsync::{DocumentId, EphemeralMessage, PeerId, SyncKind};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use outbox::{AnswerPermit, Outbound, Outbox};

use crate::Shared;

/// Messages a document actor accepts.
#[derive(Debug)]
pub enum DocCommand {
    /// A `request` or `sync` from a peer.
    Sync {
        from: PeerLink,
        kind: SyncKind,
        data: Vec<u8>,
        /// Held until the turn has queued the answer (see [`Outbox::pace`]).
        answer: AnswerPermit,
    },
    /// Presence data to relay to the document's other peers.
    Ephemeral {
        from: PeerLink,
        message: EphemeralMessage,
    },
    /// The connection `conn_id` of this peer has ended.
    Leave { peer_id: PeerId, conn_id: u64 },
    /// A change the server makes on a user's behalf (a host accepting a
    /// contribution, merging a draft, publishing a version). `reply` hears
    /// once the change is durable, or why it was not made.
    Edit {
        user: Arc<str>,
        edit: Edit,
        reply: tokio::sync::oneshot::Sender<Result<serde_json::Value, String>>,
    },
    /// Another node committed chunks of this document (these, if named):
    /// read those not known and take them (see `crate::cluster`).
    CatchUp {
        keys: Option<Vec<crate::store::ChunkKey>>,
    },
    /// An ephemeral message a peer on another node sent.
    RemoteEphemeral { message: EphemeralMessage },
}

/// A server edit: it gets a copy of the document to change (committing its
/// own transactions); its changes are kept only if it returns `Ok`, and
/// what it returns is the reply.
pub struct Edit(pub Box<EditFn>);

pub type EditFn = docsync::doc_state::EditFn<serde_json::Value>;

impl std::fmt::Debug for Edit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Edit")
    }
}

/// Who sent a command, and how to answer them. Every command carries it, so
/// an actor (re)started at any moment knows all it needs about its peers.
#[derive(Debug, Clone)]
pub struct PeerLink {
    pub peer_id: PeerId,
    /// Distinguishes a reconnected peer (same id) from its old connection.
    pub conn_id: u64,
    pub outbox: Outbox,
    /// The peer's role in this document, decided by the connection.
    pub role: crate::auth::Role,
    /// The signed-in user behind the peer.
    pub user_id: Option<Arc<str>>,
}

/// The inbox bound of each actor: senders wait when it is full, which slows
/// the connections feeding a busy document rather than growing memory.
const INBOX: usize = 1024;

#[derive(Debug)]
struct Entry {
    generation: u64,
    tx: mpsc::Sender<DocCommand>,
}

/// The registry of resident documents.
#[derive(Debug)]
pub struct Docs {
    shared: Arc<Shared>,
    actors: Mutex<HashMap<DocumentId, Entry>>,
    next_generation: std::sync::atomic::AtomicU64,
    /// Actors evicted so far (the memory trimmer watches it).
    evicted: std::sync::atomic::AtomicU64,
    tracker: TaskTracker,
    shutdown: CancellationToken,
}

impl Docs {
    pub fn new(shared: Arc<Shared>, shutdown: CancellationToken) -> Arc<Self> {
        Arc::new(Self {
            shared,
            actors: Mutex::default(),
            next_generation: Default::default(),
            evicted: Default::default(),
            tracker: TaskTracker::new(),
            shutdown,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<DocumentId, Entry>> {
        self.actors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Delivers a command to the document's actor, starting it if needed.
    pub async fn send(self: &Arc<Self>, doc: DocumentId, mut command: DocCommand) {
        loop {
            let (generation, tx) = self.actor(doc);
            match tx.send(command).await {
                Ok(()) => return,
                // The actor stopped between lookup and send: forget it and
                // start a fresh one (it reloads from the store).
                Err(mpsc::error::SendError(returned)) => {
                    self.forget(doc, generation);
                    command = returned;
                    if self.shutdown.is_cancelled() {
                        return;
                    }
                }
            }
        }
    }

    fn actor(self: &Arc<Self>, doc: DocumentId) -> (u64, mpsc::Sender<DocCommand>) {
        let mut actors = self.lock();
        if let Some(entry) = actors.get(&doc) {
            return (entry.generation, entry.tx.clone());
        }
        let generation = self
            .next_generation
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(INBOX);
        actors.insert(
            doc,
            Entry {
                generation,
                tx: tx.clone(),
            },
        );
        drop(actors);
        let actor = actor::DocActor::new(doc, generation, self.clone(), self.shared.clone());
        self.tracker.spawn(actor.run(rx));
        (generation, tx)
    }

    /// Removes the entry if it still belongs to `generation`. Returns whether
    /// it did.
    fn forget(&self, doc: DocumentId, generation: u64) -> bool {
        let mut actors = self.lock();
        match actors.get(&doc) {
            Some(entry) if entry.generation == generation => {
                actors.remove(&doc);
                true
            }
            _ => false,
        }
    }

    /// Makes a server edit on a user's behalf and waits until it is durable
    /// and sent to the document's peers.
    pub async fn edit(
        self: &Arc<Self>,
        doc: DocumentId,
        user: &str,
        edit: Box<EditFn>,
    ) -> Result<serde_json::Value, String> {
        let (reply, done) = tokio::sync::oneshot::channel();
        self.send(
            doc,
            DocCommand::Edit {
                user: user.into(),
                edit: Edit(edit),
                reply,
            },
        )
        .await;
        done.await
            .unwrap_or_else(|_| Err("the document could not be changed; try again".into()))
    }

    /// Delivers a command only if the document's actor is running (for
    /// `Leave`: no need to load a document to tell it a peer left).
    pub async fn send_if_resident(&self, doc: DocumentId, command: DocCommand) {
        let tx = self.lock().get(&doc).map(|e| e.tx.clone());
        if let Some(tx) = tx {
            let _ = tx.send(command).await;
        }
    }

    /// Delivers a command to every resident document (made for each).
    pub async fn send_to_resident(&self, command: impl Fn() -> DocCommand) {
        let senders: Vec<_> = self.lock().values().map(|e| e.tx.clone()).collect();
        for tx in senders {
            let _ = tx.send(command()).await;
        }
    }

    /// Removes an idle actor from the registry, if nothing can still reach
    /// it: its inbox is empty and no sender clone exists besides the
    /// registry's (connections take clones only under this lock, in
    /// [`Docs::send`], and drop them once sent). Returns true if evicted;
    /// then the inbox is closed and empty, and nothing is lost.
    fn evict(&self, doc: DocumentId, generation: u64, rx: &mut mpsc::Receiver<DocCommand>) -> bool {
        let mut actors = self.lock();
        let Some(entry) = actors.get(&doc) else {
            return true;
        };
        if entry.generation != generation || entry.tx.strong_count() > 1 || !rx.is_empty() {
            return entry.generation != generation;
        }
        actors.remove(&doc);
        rx.close();
        self.evicted
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        true
    }

    /// How many idle actors have been evicted so far.
    pub fn evictions(&self) -> u64 {
        self.evicted.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Stops every actor after its current batch and waits for them.
    pub async fn shutdown(&self) {
        self.shutdown.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}
