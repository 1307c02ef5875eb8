//! An in-memory [`Store`] for unit tests of the core: nothing survives.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use docsync::DocumentId;

use super::{ChunkKey, Record, Store, StoreError, StoredDoc, Table};

/// One table: key → value, in key order.
type Tree = BTreeMap<Vec<u8>, Vec<u8>>;

#[derive(Debug, Default)]
pub struct MemoryStore {
    docs: Mutex<HashMap<DocumentId, BTreeMap<ChunkKey, Vec<u8>>>>,
    meta: Mutex<HashMap<String, Vec<u8>>>,
    tables: Mutex<HashMap<Table, Tree>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Store for MemoryStore {
    fn load(&self, doc: &DocumentId) -> Result<Option<StoredDoc>, StoreError> {
        let docs = lock(&self.docs);
        Ok(docs.get(doc).map(|chunks| StoredDoc {
            chunks: chunks.values().cloned().collect(),
            keys: chunks.keys().cloned().collect(),
        }))
    }

    fn append(&self, doc: &DocumentId, chunk: &[u8]) -> Result<ChunkKey, StoreError> {
        let key = ChunkKey::of(chunk);
        lock(&self.docs)
            .entry(*doc)
            .or_default()
            .insert(key.clone(), chunk.to_vec());
        Ok(key)
    }

    fn compact(
        &self,
        doc: &DocumentId,
        snapshot: &[u8],
        merged: &[ChunkKey],
    ) -> Result<ChunkKey, StoreError> {
        let key = ChunkKey::of(snapshot);
        let mut docs = lock(&self.docs);
        let chunks = docs.entry(*doc).or_default();
        for merged in merged {
            chunks.remove(merged);
        }
        chunks.insert(key.clone(), snapshot.to_vec());
        Ok(key)
    }

    fn bind_actor(&self, actor: &[u8], user: &str) -> Result<String, StoreError> {
        let mut tables = lock(&self.tables);
        let owner = tables
            .entry(Table::Actors)
            .or_default()
            .entry(actor.to_vec())
            .or_insert_with(|| user.as_bytes().to_vec());
        Ok(String::from_utf8_lossy(owner).into_owned())
    }

    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(lock(&self.tables)
            .get(&table)
            .and_then(|t| t.get(key).cloned()))
    }

    fn put(&self, table: Table, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        lock(&self.tables)
            .entry(table)
            .or_default()
            .insert(key.to_vec(), value.to_vec());
        Ok(())
    }

    fn delete(&self, table: Table, key: &[u8]) -> Result<(), StoreError> {
        if let Some(t) = lock(&self.tables).get_mut(&table) {
            t.remove(key);
        }
        Ok(())
    }

    fn scan(&self, table: Table, prefix: &[u8]) -> Result<Vec<Record>, StoreError> {
        Ok(lock(&self.tables)
            .get(&table)
            .map(|t| {
                t.iter()
                    .filter(|(k, _)| k.starts_with(prefix))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default())
    }

    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(lock(&self.meta).get(key).cloned())
    }

    fn put_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        lock(&self.meta).insert(key.to_owned(), value.to_vec());
        Ok(())
    }
}
