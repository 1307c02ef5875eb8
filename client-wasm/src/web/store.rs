//! The local copies of documents, for offline work and reloads while
//! offline: the document's bytes and the heads the server was known to
//! hold (to count the changes still waiting).

use docsync::DocumentId;

use crate::idb;

fn doc_key(id: DocumentId) -> String {
    format!("doc:{id}")
}

fn acked_key(id: DocumentId) -> String {
    format!("acked:{id}")
}

/// A document's local copy and its acknowledged heads, if kept.
pub async fn load(id: DocumentId) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let doc = idb::get(&doc_key(id)).await.unwrap_or_else(|e| {
        log(&e);
        None
    });
    let acked = idb::get(&acked_key(id)).await.unwrap_or_else(|e| {
        log(&e);
        None
    });
    (doc, acked)
}

pub async fn save(id: DocumentId, bytes: &[u8], acked: &[u8]) {
    if let Err(e) = idb::put(&doc_key(id), bytes).await {
        log(&e);
    }
    if let Err(e) = idb::put(&acked_key(id), acked).await {
        log(&e);
    }
}

pub async fn forget(id: DocumentId) {
    for key in [doc_key(id), acked_key(id)] {
        if let Err(e) = idb::delete(&key).await {
            log(&e);
        }
    }
}

fn log(e: &str) {
    web_sys::console::error_1(&format!("synpunkt client: local store: {e}").into());
}
