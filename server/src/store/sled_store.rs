//! The default [`Store`]: an embedded sled database on local disk.
//!
//! Layout: tree `chunks`, key = document id (16 bytes) ++ sequence number
//! (8 bytes, big-endian), value = one automerge chunk. A compaction stores
//! the snapshot under the last sequence number it covers and removes the
//! lower ones in the same atomic batch. Tree `meta` holds server settings.

use std::path::Path;

use docsync::DocumentId;

use super::{Record, Store, StoreError, StoredDoc, Table};

#[derive(Debug, Clone)]
pub struct SledStore {
    db: sled::Db,
    chunks: sled::Tree,
    meta: sled::Tree,
    /// One tree per [`Table`], in `Table::ALL` order.
    tables: Vec<sled::Tree>,
}

fn key(doc: &DocumentId, seq: u64) -> [u8; 24] {
    let mut k = [0u8; 24];
    k[..16].copy_from_slice(doc.as_bytes());
    k[16..].copy_from_slice(&seq.to_be_bytes());
    k
}

fn seq_of(key: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&key[16..24]);
    u64::from_be_bytes(b)
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
            stored.next_seq = seq_of(&k) + 1;
            stored.chunks.push(v.to_vec());
        }
        Ok((!stored.chunks.is_empty()).then_some(stored))
    }

    fn append(&self, doc: &DocumentId, seq: u64, chunk: &[u8]) -> Result<(), StoreError> {
        self.chunks.insert(key(doc, seq), chunk)?;
        Ok(())
    }

    fn compact(&self, doc: &DocumentId, snapshot: &[u8], upto: u64) -> Result<(), StoreError> {
        let last = upto.saturating_sub(1);
        let mut batch = sled::Batch::default();
        for item in self.chunks.range(key(doc, 0)..key(doc, last)) {
            let (k, _) = item?;
            batch.remove(k);
        }
        batch.insert(&key(doc, last)[..], snapshot);
        self.chunks.apply_batch(batch)?;
        Ok(())
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
            for seq in 0..5 {
                store.append(&doc, seq, &[seq as u8]).expect("append");
            }
            store.append(&other, 0, b"other").expect("append");
            store.compact(&doc, b"snap", 3).expect("compact");
            store.flush().expect("flush");
        }
        let store = SledStore::open(dir.path()).expect("reopen");
        let loaded = store.load(&doc).expect("load").expect("present");
        assert_eq!(loaded.chunks, vec![b"snap".to_vec(), vec![3], vec![4]]);
        assert_eq!(loaded.next_seq, 5);
        let loaded = store.load(&other).expect("load").expect("present");
        assert_eq!(loaded.chunks, vec![b"other".to_vec()]);
    }
}
