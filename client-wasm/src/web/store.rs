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

/// A document's local copy and what goes with it, if kept; an error if
/// the store could not be read (the copy may exist: do not overwrite it).
pub async fn load(id: DocumentId) -> Result<(Option<Vec<u8>>, Option<Vec<u8>>), String> {
    let doc = idb::get(&doc_key(id)).await?;
    let meta = idb::get(&meta_key(id)).await?;
    Ok((doc, meta))
}

pub async fn save(id: DocumentId, bytes: &[u8], meta: &[u8]) -> Result<(), String> {
    idb::put(&doc_key(id), bytes).await?;
    idb::put(&meta_key(id), meta).await
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
