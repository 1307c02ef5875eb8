//! An in-memory [`Store`] for unit tests of the core: nothing survives.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use docsync::DocumentId;

use super::{Record, Store, StoreError, StoredDoc, Table};

/// One table: key → value, in key order.
type Tree = BTreeMap<Vec<u8>, Vec<u8>>;

#[derive(Debug, Default)]
pub struct MemoryStore {
    docs: Mutex<HashMap<DocumentId, BTreeMap<u64, Vec<u8>>>>,
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
            next_seq: chunks.keys().next_back().map_or(0, |k| k + 1),
        }))
    }

    fn append(&self, doc: &DocumentId, seq: u64, chunk: &[u8]) -> Result<(), StoreError> {
        lock(&self.docs)
            .entry(*doc)
            .or_default()
            .insert(seq, chunk.to_vec());
        Ok(())
    }

    fn compact(&self, doc: &DocumentId, snapshot: &[u8], upto: u64) -> Result<(), StoreError> {
        let mut docs = lock(&self.docs);
        let chunks = docs.entry(*doc).or_default();
        chunks.retain(|seq, _| *seq >= upto);
        // The snapshot takes the last covered sequence number.
        chunks.insert(upto.saturating_sub(1), snapshot.to_vec());
        Ok(())
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
