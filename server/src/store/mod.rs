//! Durable storage of documents, behind the small [`Store`] trait.
//!
//! A document is a set of chunks, each either a whole `save()` (snapshot) or
//! the changes of one incremental save. Loading feeds every chunk to
//! `load_incremental`, in any order: duplicates are harmless. Compaction
//! writes a snapshot and deletes the chunks it covers in one atomic step.
//!
//! Several writers may share one store (nodes of a cluster on one
//! PostgreSQL): a chunk's key is the SHA-256 of its bytes ([`ChunkKey`]),
//! so two writers never collide (equal keys are equal chunks), and a
//! compaction deletes exactly the chunks it merged, by key, never "all
//! below N": a chunk another writer added meanwhile stays.
//!
//! Writes become durable only through [`Store::flush`]; the server calls it
//! (through [`GroupCommit`]) before acknowledging a change to any peer.
//!
//! Only this module knows about sled and PostgreSQL.

mod group_commit;
#[cfg(test)]
mod memory;
mod pg_store;
mod sled_store;

use docsync::DocumentId;

pub use group_commit::GroupCommit;
#[cfg(test)]
pub use memory::MemoryStore;
pub use pg_store::PgStore;
pub use sled_store::SledStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage: {0}")]
    Sled(#[from] sled::Error),
    #[error("database: {0}")]
    Postgres(String),
    #[error("the database did not answer within {0:?}")]
    Timeout(std::time::Duration),
    #[error("invalid key for table {table}: {reason}")]
    InvalidKey {
        table: &'static str,
        reason: &'static str,
    },
    #[error("storage transaction failed: {0}")]
    Transaction(String),
    #[error("the store is shut down")]
    Closed,
}

/// The record tables besides documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    /// workshop id (= its summary's document id, 16 bytes) → record (JSON)
    Workshops,
    /// user id → user (JSON)
    Users,
    /// SHA-256 of a session token → session (JSON)
    Sessions,
    /// SHA-256 of an invite token → invite (JSON)
    Invites,
    /// workshop id (16 bytes) ++ user id → role
    Memberships,
    /// automerge actor id → user id: who wrote with that actor
    Actors,
    /// draft document id (16 bytes) → draft record (JSON): its workshop and
    /// owner
    Drafts,
    /// user id → the automerge actor id (16 bytes) the server writes with
    /// on that user's behalf (also bound to them in `Actors`)
    EditActors,
    /// document id (16 bytes) ++ SHA-256 of the chunk → a stored chunk
    /// automerge could not load, moved aside by compaction (never loaded,
    /// never deleted: kept for repair)
    Unreadable,
    /// series id → series record (JSON): the title and description of a
    /// page of workshops that were imported together
    Series,
}

impl Table {
    pub const ALL: [Table; 10] = [
        Table::Workshops,
        Table::Users,
        Table::Sessions,
        Table::Invites,
        Table::Memberships,
        Table::Actors,
        Table::Drafts,
        Table::EditActors,
        Table::Unreadable,
        Table::Series,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Workshops => "workshops",
            Table::Users => "users",
            Table::Sessions => "sessions",
            Table::Invites => "invites",
            Table::Memberships => "memberships",
            Table::Actors => "actors",
            Table::Drafts => "drafts",
            Table::EditActors => "edit_actors",
            Table::Unreadable => "unreadable",
            Table::Series => "series",
        }
    }
}

/// A key and its value.
pub type Record = (Vec<u8>, Vec<u8>);

/// The key of a stored chunk within its document: the SHA-256 of its
/// bytes, or (sled data written before keys were hashes) its 8-byte
/// big-endian sequence number. Opaque to everyone but the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChunkKey(pub Vec<u8>);

impl ChunkKey {
    /// The key a chunk is stored under: its content hash.
    pub fn of(chunk: &[u8]) -> Self {
        use sha2::{Digest, Sha256};
        Self(Sha256::digest(chunk).to_vec())
    }
}

/// What the store holds for one document.
#[derive(Debug, Default)]
pub struct StoredDoc {
    /// Snapshots and incremental chunks, in key order.
    pub chunks: Vec<Vec<u8>>,
    /// Each chunk's key (same order): what a compaction of them deletes.
    pub keys: Vec<ChunkKey>,
}

pub trait Store: Send + Sync + 'static {
    /// Every chunk of a document; `None` if the store has none.
    fn load(&self, doc: &DocumentId) -> Result<Option<StoredDoc>, StoreError>;

    /// Stores an incremental chunk (not yet durable) under its
    /// [`ChunkKey::of`], which it returns.
    fn append(&self, doc: &DocumentId, chunk: &[u8]) -> Result<ChunkKey, StoreError>;

    /// Atomically stores `snapshot` (under its key, returned) and deletes
    /// exactly the chunks `merged` (those the snapshot covers; never the
    /// snapshot itself, should it be among them). Chunks not named stay,
    /// so a compaction racing another writer keeps that writer's chunks.
    fn compact(
        &self,
        doc: &DocumentId,
        snapshot: &[u8],
        merged: &[ChunkKey],
    ) -> Result<ChunkKey, StoreError>;

    /// Makes every earlier write durable. Blocking; call it through
    /// [`GroupCommit`] so that concurrent writers share one flush.
    fn flush(&self) -> Result<(), StoreError>;

    /// A record of `table`; `None` if absent.
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Writes a record (durable with the next flush).
    fn put(&self, table: Table, key: &[u8], value: &[u8]) -> Result<(), StoreError>;
    /// Removes a record (durable with the next flush).
    fn delete(&self, table: Table, key: &[u8]) -> Result<(), StoreError>;
    /// Binds automerge actor id `actor` to `user` unless it is bound
    /// already, atomically (two writers racing bind it once); returns the
    /// owner after the call. Durable with the next flush at the latest.
    fn bind_actor(&self, actor: &[u8], user: &str) -> Result<String, StoreError>;
    /// Every record of `table` whose key starts with `prefix`, in key order.
    fn scan(&self, table: Table, prefix: &[u8]) -> Result<Vec<Record>, StoreError>;

    /// Small key/value settings of the server itself (e.g. its storage id).
    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    fn put_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;

    /// Whether the store can take writes now (a database may be
    /// unreachable); `/healthz` asks. Blocking, with a short timeout.
    fn health(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Whether a failed write or flush leaves the store usable once the
    /// cause is gone (a database that comes back). If not (sled's errors
    /// are sticky), the server stops serving after one.
    fn recovers(&self) -> bool {
        false
    }

    /// Whether other processes write to this store too (nodes of a
    /// cluster): then a resident document catches up with chunks it does
    /// not know ([`Store::chunks_not_in`]) when a peer (re)joins it.
    fn is_shared(&self) -> bool {
        false
    }

    /// What other nodes sharing this store do ([`ClusterEvent`]); `None`
    /// for a store nobody else writes to. Called once, at start.
    fn subscribe(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<ClusterEvent>> {
        None
    }

    /// Tells the other nodes, best effort, at once (not with a flush):
    /// ephemeral messages and access changes already durable.
    fn publish(&self, _event: &ClusterEvent) {}

    /// The committed chunks of `doc` whose keys are not in `known`: those
    /// named in `hint` if they are all still there (the common case: one
    /// query), else every one (a compaction elsewhere merged the named
    /// ones into a snapshot). Empty for a store nobody else writes to.
    fn chunks_not_in(
        &self,
        _doc: &DocumentId,
        _known: &std::collections::HashSet<ChunkKey>,
        _hint: Option<&[ChunkKey]>,
    ) -> Result<Vec<(ChunkKey, Vec<u8>)>, StoreError> {
        Ok(Vec::new())
    }

    /// Held while a node does its first-start setup (storage id, demo
    /// workshops, the admin invite), so that nodes starting at once on an
    /// empty database do it once. Released when dropped.
    fn setup_lock(&self) -> Result<Box<dyn std::any::Any + Send>, StoreError> {
        Ok(Box::new(()))
    }
}

/// What another node sharing the store did (see [`Store::subscribe`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterEvent {
    /// Another node committed chunks of `doc`: these (`None`: too many to
    /// name in one notification).
    Chunks {
        doc: DocumentId,
        keys: Option<Vec<ChunkKey>>,
    },
    /// Notifications may have been missed (the listening connection was
    /// (re)established): every resident document catches up.
    Resync,
    /// An ephemeral message (its encoded frame) a node relayed to the
    /// document's peers; best effort (dropped if too large to notify).
    Ephemeral { doc: DocumentId, frame: Vec<u8> },
    /// A session was ended: its sockets close on every node.
    SessionClosed { session: String },
    /// Roles may have changed (a workshop made invite-only, a membership or
    /// an invite revoked): every connection re-checks its roles.
    RolesChanged,
}

/// The behaviour every store must have; the integration tests run it on
/// PostgreSQL too. Panics (it is a test) on the first difference.
#[doc(hidden)]
pub fn contract(store: &dyn Store) {
    let doc = DocumentId::random();
    assert!(store.load(&doc).expect("load").is_none());
    let keys: Vec<ChunkKey> = (0..4u8)
        .map(|n| store.append(&doc, &[n]).expect("append"))
        .collect();
    assert_eq!(keys[1], ChunkKey::of(&[1]));
    // A second writer's chunk, added after the compactor read the
    // document: the compaction must not delete it.
    let other = store.append(&doc, b"other writer").expect("append");
    let snapshot = store
        .compact(&doc, b"snapshot", &keys[..2])
        .expect("compact");
    store.flush().expect("flush");
    let loaded = store.load(&doc).expect("load").expect("stored");
    let mut got: Vec<(ChunkKey, Vec<u8>)> = loaded.keys.into_iter().zip(loaded.chunks).collect();
    got.sort();
    let mut want = vec![
        (snapshot.clone(), b"snapshot".to_vec()),
        (keys[2].clone(), vec![2]),
        (keys[3].clone(), vec![3]),
        (other, b"other writer".to_vec()),
    ];
    want.sort();
    assert_eq!(got, want);
    // Compacting into a snapshot equal to a merged chunk keeps it.
    let again = store
        .compact(&doc, b"snapshot", std::slice::from_ref(&snapshot))
        .expect("compact");
    assert_eq!(again, snapshot);
    store.flush().expect("flush");
    let loaded = store.load(&doc).expect("load").expect("stored");
    assert!(loaded.chunks.contains(&b"snapshot".to_vec()));

    store.put_meta("k", b"v").expect("put");
    assert_eq!(store.get_meta("k").expect("get"), Some(b"v".to_vec()));
    // Records are JSON (PostgreSQL keeps them as jsonb): compared as JSON.
    let json = |v: Option<Vec<u8>>| {
        v.map(|v| serde_json::from_slice::<serde_json::Value>(&v).expect("json"))
    };
    let (w1, w2, w3) = (
        DocumentId::random(),
        DocumentId::random(),
        DocumentId::random(),
    );
    store
        .put(Table::Workshops, w2.as_bytes(), br#"{"n":2}"#)
        .expect("put");
    store
        .put(Table::Workshops, w1.as_bytes(), br#"{"n":1}"#)
        .expect("put");
    assert_eq!(
        json(store.get(Table::Workshops, w1.as_bytes()).expect("get")),
        Some(serde_json::json!({"n": 1}))
    );
    assert_eq!(
        store.get(Table::Workshops, w3.as_bytes()).expect("get"),
        None
    );
    store
        .put(Table::Workshops, w3.as_bytes(), br#"{"n":3}"#)
        .expect("put");
    store
        .delete(Table::Workshops, w3.as_bytes())
        .expect("delete");
    assert_eq!(
        store.get(Table::Workshops, w3.as_bytes()).expect("get"),
        None
    );
    let all: Vec<_> = store
        .scan(Table::Workshops, &[])
        .expect("scan")
        .into_iter()
        .filter(|(k, _)| [w1, w2, w3].iter().any(|w| w.as_bytes()[..] == k[..]))
        .map(|(k, v)| (k, json(Some(v))))
        .collect();
    let mut want = vec![
        (w1.as_bytes().to_vec(), Some(serde_json::json!({"n": 1}))),
        (w2.as_bytes().to_vec(), Some(serde_json::json!({"n": 2}))),
    ];
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(all, want);
    // Memberships by workshop (a prefix of the key).
    let mut member = w1.as_bytes().to_vec();
    member.extend_from_slice(b"user-1");
    store
        .put(Table::Memberships, &member, br#"{"role":"host"}"#)
        .expect("put");
    let mut elsewhere = w2.as_bytes().to_vec();
    elsewhere.extend_from_slice(b"user-1");
    store
        .put(Table::Memberships, &elsewhere, br#"{"role":"participant"}"#)
        .expect("put");
    let of_w1 = store.scan(Table::Memberships, w1.as_bytes()).expect("scan");
    assert_eq!(of_w1.len(), 1);
    assert_eq!(of_w1[0].0, member);
    // Actor binding: the first user wins, the second is told the owner.
    let actor = rand::random::<[u8; 16]>();
    assert_eq!(store.bind_actor(&actor, "alice").expect("bind"), "alice");
    assert_eq!(store.bind_actor(&actor, "bob").expect("bind"), "alice");
    assert_eq!(
        store.get(Table::Actors, &actor).expect("get"),
        Some(b"alice".to_vec())
    );
    store.flush().expect("flush");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_keeps_the_contract() {
        contract(&MemoryStore::new());
    }

    #[test]
    fn sled_store_keeps_the_contract() {
        let dir = tempfile::tempdir().expect("tempdir");
        contract(&SledStore::open(dir.path()).expect("open"));
    }
}
