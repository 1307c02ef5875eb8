//! The default [`Store`]: an embedded sled database on local disk.
//!
//! Layout: tree `chunks`, key = document id (16 bytes) ++ chunk key (its
//! SHA-256, 32 bytes; data written before chunk keys were hashes has an
//! 8-byte big-endian sequence number there, still loaded, and deleted by
//! the first compaction that merges it), value = one automerge chunk. A
//! compaction stores the snapshot and removes the chunks it merged in one
//! atomic batch. Tree `meta` holds server settings; one tree per [`Table`].

use std::path::Path;

use docsync::DocumentId;

use super::{ChunkKey, Record, Store, StoreError, StoredDoc, Table};

#[derive(Debug, Clone)]
pub struct SledStore {
    db: sled::Db,
    chunks: sled::Tree,
    meta: sled::Tree,
    /// One tree per [`Table`], in `Table::ALL` order.
    tables: Vec<sled::Tree>,
}

fn key(doc: &DocumentId, chunk: &ChunkKey) -> Vec<u8> {
    let mut k = Vec::with_capacity(16 + chunk.0.len());
    k.extend_from_slice(doc.as_bytes());
    k.extend_from_slice(&chunk.0);
    k
}

impl SledStore {
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .mode(sled::Mode::HighThroughput)
            // Durability is ours: we flush before every acknowledgement.
            .flush_every_ms(None)
            .open()?;
        let chunks = db.open_tree("chunks")?;
        let meta = db.open_tree("meta")?;
        let tables = Table::ALL
            .iter()
            .map(|t| db.open_tree(t.name()))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            db,
            chunks,
            meta,
            tables,
        })
    }

    fn tree(&self, table: Table) -> &sled::Tree {
        let index = Table::ALL.iter().position(|t| *t == table).unwrap_or(0);
        &self.tables[index]
    }
}

impl Store for SledStore {
    fn load(&self, doc: &DocumentId) -> Result<Option<StoredDoc>, StoreError> {
        let mut stored = StoredDoc::default();
        for item in self.chunks.scan_prefix(doc.as_bytes()) {
            let (k, v) = item?;
            stored.keys.push(ChunkKey(k[16..].to_vec()));
            stored.chunks.push(v.to_vec());
        }
        Ok((!stored.chunks.is_empty()).then_some(stored))
    }

    fn append(&self, doc: &DocumentId, chunk: &[u8]) -> Result<ChunkKey, StoreError> {
        let chunk_key = ChunkKey::of(chunk);
        self.chunks.insert(key(doc, &chunk_key), chunk)?;
        Ok(chunk_key)
    }

    fn compact(
        &self,
        doc: &DocumentId,
        snapshot: &[u8],
        merged: &[ChunkKey],
    ) -> Result<ChunkKey, StoreError> {
        let snapshot_key = ChunkKey::of(snapshot);
        let mut batch = sled::Batch::default();
        for merged in merged.iter().filter(|k| **k != snapshot_key) {
            batch.remove(key(doc, merged));
        }
        batch.insert(key(doc, &snapshot_key), snapshot);
        self.chunks.apply_batch(batch)?;
        Ok(snapshot_key)
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.tree(table).get(key)?.map(|v| v.to_vec()))
    }

    fn put(&self, table: Table, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.tree(table).insert(key, value)?;
        Ok(())
    }

    fn delete(&self, table: Table, key: &[u8]) -> Result<(), StoreError> {
        self.tree(table).remove(key)?;
        Ok(())
    }

    fn bind_actor(&self, actor: &[u8], user: &str) -> Result<String, StoreError> {
        // Atomic: of two binders racing, one swaps and the other sees it.
        let owner = match self.tree(Table::Actors).compare_and_swap(
            actor,
            None::<&[u8]>,
            Some(user.as_bytes()),
        )? {
            Ok(()) => user.to_owned(),
            Err(e) => {
                String::from_utf8_lossy(e.current.as_deref().unwrap_or_default()).into_owned()
            }
        };
        Ok(owner)
    }

    fn scan(&self, table: Table, prefix: &[u8]) -> Result<Vec<Record>, StoreError> {
        self.tree(table)
            .scan_prefix(prefix)
            .map(|item| {
                let (k, v) = item?;
                Ok((k.to_vec(), v.to_vec()))
            })
            .collect()
    }

    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.meta.get(key)?.map(|v| v.to_vec()))
    }

    fn put_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.meta.insert(key, value)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_compact_and_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let doc = DocumentId::random();
        let other = DocumentId::random();
        {
            let store = SledStore::open(dir.path()).expect("open");
            assert!(store.load(&doc).expect("load").is_none());
            let keys: Vec<_> = (0..5u8)
                .map(|n| store.append(&doc, &[n]).expect("append"))
                .collect();
            store.append(&other, b"other").expect("append");
            store.compact(&doc, b"snap", &keys[..3]).expect("compact");
            store.flush().expect("flush");
        }
        let store = SledStore::open(dir.path()).expect("reopen");
        let loaded = store.load(&doc).expect("load").expect("present");
        let mut chunks = loaded.chunks;
        chunks.sort();
        assert_eq!(chunks, vec![vec![3], vec![4], b"snap".to_vec()]);
        let loaded = store.load(&other).expect("load").expect("present");
        assert_eq!(loaded.chunks, vec![b"other".to_vec()]);
    }

    /// A data directory written when chunk keys were sequence numbers
    /// (document id ++ 8-byte big-endian seq) still loads, and a
    /// compaction that merged those chunks deletes them.
    #[test]
    fn chunks_under_sequence_numbers_still_load_and_compact() {
        let dir = tempfile::tempdir().expect("tempdir");
        let doc = DocumentId::random();
        {
            let db = sled::open(dir.path()).expect("open");
            let chunks = db.open_tree("chunks").expect("tree");
            for seq in 0..3u64 {
                let mut k = doc.as_bytes().to_vec();
                k.extend_from_slice(&seq.to_be_bytes());
                chunks.insert(k, vec![seq as u8]).expect("insert");
            }
            db.flush().expect("flush");
        }
        let store = SledStore::open(dir.path()).expect("open");
        let loaded = store.load(&doc).expect("load").expect("present");
        assert_eq!(loaded.chunks, vec![vec![0], vec![1], vec![2]]);
        assert_eq!(loaded.keys[2], ChunkKey(2u64.to_be_bytes().to_vec()));
        store.compact(&doc, b"snap", &loaded.keys).expect("compact");
        let loaded = store.load(&doc).expect("load").expect("present");
        assert_eq!(loaded.chunks, vec![b"snap".to_vec()]);
    }
}
