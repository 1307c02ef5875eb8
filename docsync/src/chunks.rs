//! The changes carried by a sync message's change data, in every form
//! automerge's own `receive_sync_message` accepts.
//!
//! An element of a sync message's `changes` is not always one change. It
//! is a run of storage chunks, each one of:
//!
//! - a **change** chunk (type 1) or a **compressed change** (type 2);
//! - a **bundle** (type 3): several changes, compressed together, whose
//!   dependencies may lie outside the bundle;
//! - a **document** (type 0): a whole document, or (from JavaScript
//!   automerge) a run of changes saved in the document format.
//!
//! JavaScript automerge 3.5 concatenates a client's unsent changes into one
//! element (several change chunks back to back), and sends a document
//! chunk when that is smaller. automerge takes all of these through
//! `load_incremental`; so does the server, but it must see every change
//! before it is applied (permissions, actor binding), so [`decode_standalone`] and [`decode_onto`] turn
//! the data into the changes it holds without applying anything.
//!
//! Every input is untrusted: nothing here panics (automerge's decoders are
//! run under `catch_unwind` as a last line), and what cannot be read is an
//! error.

use std::collections::HashSet;

use automerge::{Automerge, Bundle, Change, ChangeHash, ReadDoc};

/// The four bytes every storage chunk starts with.
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// What kind of storage chunk a piece of change data is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Document,
    Change,
    CompressedChange,
    Bundle,
}

/// Why change data cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    #[error("a chunk does not start with automerge's magic bytes")]
    Magic,
    #[error("a chunk header is cut short")]
    Truncated,
    #[error("unknown chunk type {0}")]
    UnknownType(u8),
    #[error("unreadable {kind:?} chunk: {reason}")]
    Unreadable { kind: Kind, reason: String },
}

/// Splits change data into its storage chunks (magic, checksum, type,
/// LEB128 length, body), without reading the bodies.
pub fn split(mut data: &[u8]) -> Result<Vec<(Kind, &[u8])>, ChunkError> {
    let mut out = Vec::new();
    while !data.is_empty() {
        if data.get(..4) != Some(&MAGIC[..]) {
            return Err(ChunkError::Magic);
        }
        let kind = match *data.get(8).ok_or(ChunkError::Truncated)? {
            0 => Kind::Document,
            1 => Kind::Change,
            2 => Kind::CompressedChange,
            3 => Kind::Bundle,
            other => return Err(ChunkError::UnknownType(other)),
        };
        let mut rest = &data[9..];
        let body_len = read_uleb(&mut rest).ok_or(ChunkError::Truncated)?;
        let header_len = data.len() - rest.len();
        let end = usize::try_from(body_len)
            .ok()
            .and_then(|n| n.checked_add(header_len))
            .filter(|&end| end <= data.len())
            .ok_or(ChunkError::Truncated)?;
        out.push((kind, &data[..end]));
        data = &data[end..];
    }
    Ok(out)
}

fn read_uleb(input: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = input.split_first()?;
        *input = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The changes in a run of chunks, when they can be read without the
/// document they extend: change chunks and bundles always can; a document
/// chunk can when it holds its whole history. `Ok(None)`: a document chunk
/// that continues history outside it (see [`decode_onto`]).
pub fn decode_standalone(data: &[u8]) -> Result<Option<Vec<Change>>, ChunkError> {
    let mut out = Vec::new();
    for (kind, bytes) in split(data)? {
        let unreadable = |reason: String| ChunkError::Unreadable { kind, reason };
        match kind {
            Kind::Change | Kind::CompressedChange => {
                let change = guarded(|| Change::from_bytes(bytes.to_vec()))
                    .map_err(unreadable)?
                    .map_err(|e| unreadable(e.to_string()))?;
                out.push(change);
            }
            Kind::Bundle => {
                let changes = guarded(|| {
                    Bundle::try_from(bytes)
                        .map_err(|e| e.to_string())
                        .and_then(|b| b.to_changes().map_err(|e| e.to_string()))
                })
                .map_err(unreadable)?
                .map_err(unreadable)?;
                out.extend(changes);
            }
            Kind::Document => {
                let Ok(Ok(doc)) = guarded(|| Automerge::load(bytes)) else {
                    return Ok(None);
                };
                if !doc.get_missing_deps(&[]).is_empty() {
                    return Ok(None);
                }
                out.extend(doc.get_changes(&[]));
            }
        }
    }
    Ok(Some(out))
}

/// The document `data` holds when it is exactly one document chunk with
/// its whole history (what automerge-repo's `import` then sync sends a
/// server that has nothing: the saved document, not its changes). `None`
/// for anything else, or what automerge cannot load.
pub fn whole_document(data: &[u8]) -> Option<Automerge> {
    match split(data).ok()?.as_slice() {
        [(Kind::Document, _)] => {}
        _ => return None,
    }
    let doc = guarded(|| Automerge::load(data)).ok()?.ok()?;
    doc.get_missing_deps(&[]).is_empty().then_some(doc)
}

/// The heads a saved document records in its header, read without loading
/// it: `Some` only when `data` is exactly one document chunk. The body
/// starts with the actors (a count, then each as length and bytes) and the
/// heads (a count, then 32 bytes each). For documents this server saved
/// (its own snapshots): loading one checks the heads against them.
pub fn document_heads(data: &[u8]) -> Option<Vec<ChangeHash>> {
    let chunks = split(data).ok()?;
    let [(Kind::Document, chunk)] = chunks.as_slice() else {
        return None;
    };
    let mut body = chunk.get(9..)?;
    read_uleb(&mut body)?;
    let actors = read_uleb(&mut body)?;
    for _ in 0..actors {
        let len = usize::try_from(read_uleb(&mut body)?).ok()?;
        body = body.get(len..)?;
    }
    let count = usize::try_from(read_uleb(&mut body)?).ok()?;
    let mut heads = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        let hash: [u8; 32] = body.get(..32)?.try_into().ok()?;
        heads.push(ChangeHash(hash));
        body = &body[32..];
    }
    heads.sort_unstable();
    Some(heads)
}

/// The changes that loading `data` into `doc` would add, as automerge
/// itself computes them (on a copy of `doc`): for chunks that continue the
/// document's history in a form only the document can complete.
pub fn decode_onto(doc: &Automerge, data: &[u8]) -> Result<Vec<Change>, ChunkError> {
    let unreadable = |reason: String| ChunkError::Unreadable {
        kind: Kind::Document,
        reason,
    };
    guarded(|| {
        let mut copy = doc.fork();
        let before = copy.get_heads();
        copy.load_incremental(data).map_err(|e| e.to_string())?;
        if !copy.get_missing_deps(&[]).is_empty() {
            return Err("changes whose dependencies this document lacks".to_owned());
        }
        Ok(copy.get_changes(&before))
    })
    .map_err(unreadable)?
    .map_err(unreadable)
}

/// Drops changes seen earlier in the list (a message may repeat one).
pub fn dedup(changes: &mut Vec<Change>) {
    let mut seen: HashSet<ChangeHash> = HashSet::with_capacity(changes.len());
    changes.retain(|c| seen.insert(c.hash()));
}

/// Runs an automerge decoder on untrusted bytes; a panic is an error.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .map_err(|_| "automerge could not decode it".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{ActorId, ROOT};

    fn doc_with_history() -> Automerge {
        let mut doc = Automerge::new().with_actor(ActorId::from([1u8; 16]));
        for i in 0..5 {
            let mut tx = doc.transaction();
            tx.put(ROOT, "n", i).expect("put");
            tx.commit();
        }
        doc
    }

    /// `n` changes by another actor on top of `base`, and their hashes.
    fn more(base: &Automerge, n: i64) -> (Automerge, Vec<Change>) {
        let mut fork = base.fork().with_actor(ActorId::from([2u8; 16]));
        let heads = fork.get_heads();
        for i in 0..n {
            let mut tx = fork.transaction();
            tx.put(ROOT, "m", i).expect("put");
            tx.commit();
        }
        let changes = fork.get_changes(&heads);
        (fork, changes)
    }

    fn hashes(changes: &[Change]) -> Vec<ChangeHash> {
        changes.iter().map(Change::hash).collect()
    }

    #[test]
    fn concatenated_change_chunks_are_each_read() {
        let base = doc_with_history();
        let (fork, expected) = more(&base, 3);
        let data = fork.save_after(&base.get_heads());
        assert_eq!(split(&data).expect("split").len(), 3);
        let got = decode_standalone(&data).expect("read").expect("standalone");
        assert_eq!(hashes(&got), hashes(&expected));
    }

    #[test]
    fn a_bundle_is_read_without_its_dependencies() {
        let base = doc_with_history();
        let (fork, expected) = more(&base, 10);
        let bundle = fork.bundle(hashes(&expected)).expect("bundle");
        let got = decode_standalone(bundle.bytes())
            .expect("read")
            .expect("standalone");
        assert_eq!(hashes(&got), hashes(&expected));
    }

    #[test]
    fn a_whole_document_is_read_standalone() {
        let (fork, _) = more(&doc_with_history(), 2);
        let got = decode_standalone(&fork.save())
            .expect("read")
            .expect("standalone");
        assert_eq!(got.len(), 7);
    }

    #[test]
    fn chunks_needing_the_document_are_read_onto_it() {
        let base = doc_with_history();
        let (fork, expected) = more(&base, 2);
        let got = decode_onto(&base, &fork.save_after(&base.get_heads())).expect("read");
        assert_eq!(hashes(&got), hashes(&expected));
        // A change on top of a change the document does not have.
        let unrelated = {
            let mut o = Automerge::new().with_actor(ActorId::from([8; 16]));
            for x in 1..=2 {
                let mut tx = o.transaction();
                tx.put(ROOT, "x", x).expect("put");
                tx.commit();
            }
            o.get_last_local_change()
                .expect("change")
                .raw_bytes()
                .to_vec()
        };
        assert!(
            decode_onto(&base, &unrelated).is_err(),
            "missing dependencies"
        );
    }

    #[test]
    fn a_saved_documents_heads_are_read_from_its_header() {
        // Two heads: concurrent changes of two actors.
        let mut doc = doc_with_history();
        let (mut fork, _) = more(&doc, 3);
        let mut tx = doc.transaction();
        tx.put(ROOT, "n", 9).expect("put");
        tx.commit();
        doc.merge(&mut fork).expect("merge");
        assert_eq!(doc.get_heads().len(), 2);
        let saved = doc.save();
        assert_eq!(document_heads(&saved), Some(doc.get_heads()));
        assert_eq!(document_heads(&Automerge::new().save()), Some(vec![]));
        // Not one document chunk, or cut short: no heads.
        let change = doc.get_changes(&[])[0].raw_bytes().to_vec();
        assert_eq!(document_heads(&change), None);
        assert_eq!(
            document_heads(&[saved.clone(), saved.clone()].concat()),
            None
        );
        for cut in [10, 20, saved.len() / 2] {
            assert_eq!(document_heads(&saved[..cut]), None, "cut at {cut}");
        }
    }

    #[test]
    fn garbage_is_an_error_never_a_panic() {
        let base = doc_with_history();
        let (fork, _) = more(&base, 3);
        let good = fork.save_after(&base.get_heads());
        for cut in 0..good.len() {
            let _ = decode_standalone(&good[..cut]);
            let _ = decode_onto(&base, &good[..cut]);
        }
        let mut flipped = good.clone();
        for i in 0..flipped.len() {
            flipped[i] ^= 0x5a;
            let _ = decode_standalone(&flipped);
            flipped[i] ^= 0x5a;
        }
        assert_eq!(split(b"nope"), Err(ChunkError::Magic));
        let mut bad_type = good[..12].to_vec();
        bad_type[8] = 9;
        assert_eq!(split(&bad_type), Err(ChunkError::UnknownType(9)));
    }
}
