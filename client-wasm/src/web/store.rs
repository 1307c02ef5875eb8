//! The local copies of documents, for offline work and reloads while
//! offline: the document's bytes, and what goes with them
//! (`state::LocalMeta`: the heads the server was known to hold, our actors).

use docsync::DocumentId;

use crate::idb;

fn doc_key(id: DocumentId) -> String {
    format!("doc:{id}")
}

fn meta_key(id: DocumentId) -> String {
    format!("meta:{id}")
}

/// A document's local copy and its acknowledged heads, if kept.
pub async fn load(id: DocumentId) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let doc = idb::get(&doc_key(id)).await.unwrap_or_else(|e| {
        log(&e);
        None
    });
    let meta = idb::get(&meta_key(id)).await.unwrap_or_else(|e| {
        log(&e);
        None
    });
    (doc, meta)
}

pub async fn save(id: DocumentId, bytes: &[u8], meta: &[u8]) {
    if let Err(e) = idb::put(&doc_key(id), bytes).await {
        log(&e);
    }
    if let Err(e) = idb::put(&meta_key(id), meta).await {
        log(&e);
    }
}

pub async fn forget(id: DocumentId) {
    for key in [doc_key(id), meta_key(id)] {
        if let Err(e) = idb::delete(&key).await {
            log(&e);
        }
    }
}

fn log(e: &str) {
    web_sys::console::error_1(&format!("synpunkt client: local store: {e}").into());
}
