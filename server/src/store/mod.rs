//! Durable storage of documents, behind the small [`Store`] trait.
//!
//! A document is a set of chunks, each either a whole `save()` (snapshot) or
//! the changes of one incremental save. Loading feeds every chunk to
//! `load_incremental`, in any order: duplicates are harmless. Compaction
//! writes a snapshot and deletes the chunks it covers in one atomic step.
//!
//! Writes become durable only through [`Store::flush`]; the server calls it
//! (through [`GroupCommit`]) before acknowledging a change to any peer.
//!
//! Only this module knows about sled.

mod group_commit;
#[cfg(test)]
mod memory;
mod sled_store;

use docsync::DocumentId;

pub use group_commit::GroupCommit;
#[cfg(test)]
pub use memory::MemoryStore;
pub use sled_store::SledStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage: {0}")]
    Sled(#[from] sled::Error),
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

/// What the store holds for one document.
#[derive(Debug, Default)]
pub struct StoredDoc {
    /// Snapshots and incremental chunks, in key order.
    pub chunks: Vec<Vec<u8>>,
    /// The sequence number the next appended chunk must use.
    pub next_seq: u64,
}

pub trait Store: Send + Sync + 'static {
    /// Every chunk of a document; `None` if the store has none.
    fn load(&self, doc: &DocumentId) -> Result<Option<StoredDoc>, StoreError>;

    /// Stores an incremental chunk under sequence number `seq` (not yet durable).
    fn append(&self, doc: &DocumentId, seq: u64, chunk: &[u8]) -> Result<(), StoreError>;

    /// Atomically replaces every chunk with a sequence number below `upto`
    /// (and any older snapshot) by `snapshot`.
    fn compact(&self, doc: &DocumentId, snapshot: &[u8], upto: u64) -> Result<(), StoreError>;

    /// Makes every earlier write durable. Blocking; call it through
    /// [`GroupCommit`] so that concurrent writers share one flush.
    fn flush(&self) -> Result<(), StoreError>;

    /// A record of `table`; `None` if absent.
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Writes a record (durable with the next flush).
    fn put(&self, table: Table, key: &[u8], value: &[u8]) -> Result<(), StoreError>;
    /// Removes a record (durable with the next flush).
    fn delete(&self, table: Table, key: &[u8]) -> Result<(), StoreError>;
    /// Every record of `table` whose key starts with `prefix`, in key order.
    fn scan(&self, table: Table, prefix: &[u8]) -> Result<Vec<Record>, StoreError>;

    /// Small key/value settings of the server itself (e.g. its storage id).
    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    fn put_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The behaviour every store must have.
    fn contract(store: &dyn Store) {
        let doc = DocumentId::random();
        assert!(store.load(&doc).expect("load").is_none());
        for seq in 0..4u8 {
            store.append(&doc, u64::from(seq), &[seq]).expect("append");
        }
        store.compact(&doc, b"snapshot", 2).expect("compact");
        store.flush().expect("flush");
        let loaded = store.load(&doc).expect("load").expect("stored");
        assert_eq!(loaded.chunks, vec![b"snapshot".to_vec(), vec![2], vec![3]]);
        assert_eq!(loaded.next_seq, 4);
        store.put_meta("k", b"v").expect("put");
        assert_eq!(store.get_meta("k").expect("get"), Some(b"v".to_vec()));
        store.put(Table::Workshops, b"w2", b"two").expect("put");
        store.put(Table::Workshops, b"w1", b"one").expect("put");
        assert_eq!(
            store.get(Table::Workshops, b"w1").expect("get"),
            Some(b"one".to_vec())
        );
        assert_eq!(store.get(Table::Workshops, b"w3").expect("get"), None);
        store.put(Table::Workshops, b"w3", b"three").expect("put");
        store.delete(Table::Workshops, b"w3").expect("delete");
        assert_eq!(store.get(Table::Workshops, b"w3").expect("get"), None);
        let all = store.scan(Table::Workshops, b"w").expect("scan");
        assert_eq!(
            all,
            vec![
                (b"w1".to_vec(), b"one".to_vec()),
                (b"w2".to_vec(), b"two".to_vec())
            ]
        );
    }

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
