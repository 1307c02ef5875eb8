//! Checks that a change's operations name only actors the change lists.
//!
//! An automerge change lists its actors (its author, then the others it
//! refers to) and its operations name actors by index into that list.
//! automerge 0.12 parses a change without checking those indices, and then
//! panics on one out of range: in `Change::decode` (which the permission
//! check uses) and when applying it (`apply_changes`, `load_incremental`).
//! The `incoming` fuzz target found this; a peer could end a document's
//! actor with one crafted change. [`check`] reads the change's columns
//! itself and refuses such a change before automerge sees it.
//!
//! The format (automerge's binary format, change chunks): magic, checksum,
//! chunk type, length; dependencies, actor, seq, start op, time, message,
//! other actors; column metadata (spec, length) and the columns. Actor
//! columns (spec type 1) are run-length encoded unsigned LEB128 values.

use automerge::Change;

/// Why a change is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeActorsError {
    #[error("malformed change: {0}")]
    Malformed(&'static str),
    #[error("an operation names actor {index}, but the change lists {actors}")]
    UnknownActor { index: u64, actors: usize },
}

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const CHANGE_CHUNK: u8 = 1;
const ACTOR_COLUMN: u64 = 1;
const DEFLATED: u64 = 0b1000;

/// Checks every actor index in `change`'s operations.
pub fn check(change: &Change) -> Result<(), ChangeActorsError> {
    check_bytes(change.raw_bytes())
}

fn check_bytes(bytes: &[u8]) -> Result<(), ChangeActorsError> {
    let mut r = Reader(bytes);
    if r.take(4)? != MAGIC {
        return Err(ChangeActorsError::Malformed("not a chunk"));
    }
    r.take(4)?; // checksum
    if r.take(1)? != [CHANGE_CHUNK] {
        return Err(ChangeActorsError::Malformed(
            "not an uncompressed change chunk",
        ));
    }
    let length = r.uleb()?;
    let mut r = Reader(r.take(usize_of(length)?)?);
    let deps = r.uleb()?;
    for _ in 0..deps {
        r.take(32)?;
    }
    r.bytes()?; // actor
    r.uleb()?; // seq
    r.uleb()?; // start op
    r.sleb()?; // time
    r.bytes()?; // message
    let others = r.uleb()?;
    for _ in 0..others {
        r.bytes()?;
    }
    let actors = usize_of(others)?.saturating_add(1);
    let count = r.uleb()?;
    let mut columns = Vec::new();
    for _ in 0..count {
        let spec = r.uleb()?;
        let len = usize_of(r.uleb()?)?;
        columns.push((spec, len));
    }
    for (spec, len) in columns {
        let data = r.take(len)?;
        if spec & DEFLATED != 0 {
            // automerge refuses compressed columns in a change chunk.
            return Err(ChangeActorsError::Malformed("compressed change column"));
        }
        if spec & 0b111 == ACTOR_COLUMN {
            check_actor_column(data, actors)?;
        }
    }
    Ok(())
}

/// An RLE column of LEB128 values: runs of `n > 0` copies of one value,
/// `-n` literal values, or (`0`) a count of nulls.
fn check_actor_column(data: &[u8], actors: usize) -> Result<(), ChangeActorsError> {
    let mut r = Reader(data);
    let check = |index: u64| {
        if usize::try_from(index).map_or(true, |i| i >= actors) {
            Err(ChangeActorsError::UnknownActor { index, actors })
        } else {
            Ok(())
        }
    };
    while !r.0.is_empty() {
        let run = r.sleb()?;
        if run > 0 {
            check(r.uleb()?)?;
        } else if run < 0 {
            for _ in 0..run.unsigned_abs() {
                check(r.uleb()?)?;
            }
        } else {
            r.uleb()?; // nulls
        }
    }
    Ok(())
}

fn usize_of(n: u64) -> Result<usize, ChangeActorsError> {
    usize::try_from(n).map_err(|_| ChangeActorsError::Malformed("length out of range"))
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ChangeActorsError> {
        if n > self.0.len() {
            return Err(ChangeActorsError::Malformed("truncated"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn bytes(&mut self) -> Result<&'a [u8], ChangeActorsError> {
        let n = usize_of(self.uleb()?)?;
        self.take(n)
    }

    fn uleb(&mut self) -> Result<u64, ChangeActorsError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let [byte] = self.take(1)? else {
                unreachable!("take(1) returns one byte")
            };
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(ChangeActorsError::Malformed("LEB128 number too long"))
    }

    fn sleb(&mut self) -> Result<i64, ChangeActorsError> {
        let mut value = 0i64;
        let mut shift = 0u32;
        loop {
            let [byte] = self.take(1)? else {
                unreachable!("take(1) returns one byte")
            };
            if shift >= 64 {
                return Err(ChangeActorsError::Malformed("LEB128 number too long"));
            }
            value |= i64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                if shift < 64 && byte & 0x40 != 0 {
                    value |= -1i64 << shift;
                }
                return Ok(value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{ActorId, Automerge, ObjType, ROOT};

    /// Changes automerge itself writes, with several actors (maps, lists,
    /// text, overwrites and deletions of others' operations), all pass.
    #[test]
    fn automerge_changes_pass() {
        let mut a = Automerge::new().with_actor(ActorId::from([1; 16]));
        let mut tx = a.transaction();
        let list = tx.put_object(ROOT, "list", ObjType::List).expect("list");
        tx.insert(&list, 0, "x").expect("insert");
        let text = tx.put_object(ROOT, "text", ObjType::Text).expect("text");
        tx.splice_text(&text, 0, 0, "hello").expect("splice");
        tx.commit();
        let mut b = a.fork().with_actor(ActorId::from([2; 16]));
        let mut tx = b.transaction();
        tx.put(ROOT, "k", 1).expect("put");
        tx.insert(&list, 1, "y").expect("insert");
        tx.delete(&list, 0).expect("delete");
        tx.splice_text(&text, 1, 2, "ä").expect("splice");
        tx.commit();
        for change in b.get_changes(&[]) {
            assert_eq!(check(&change), Ok(()));
        }
    }

    /// A change whose key actor index is out of range is refused (the
    /// reproducer is in the `incoming` fuzz corpus,
    /// `fuzz/corpus/incoming/regression-change-actor-index`).
    #[test]
    fn out_of_range_actor_is_refused() {
        let mut a = Automerge::new().with_actor(ActorId::from([1; 16]));
        let mut tx = a.transaction();
        let list = tx.put_object(ROOT, "list", ObjType::List).expect("list");
        tx.insert(&list, 0, "x").expect("insert");
        tx.commit();
        let mut b = a.fork().with_actor(ActorId::from([2; 16]));
        let mut tx = b.transaction();
        tx.insert(&list, 1, "y").expect("insert");
        tx.commit();
        let change = b.get_changes(&a.get_heads())[0].clone();
        assert_eq!(check(&change), Ok(()));
        // The change lists [2…, 1…]; renumber every actor index 1 to 5.
        let bytes = change.raw_bytes().to_vec();
        let broken = rewrite_actor_indices(&bytes, 5);
        let broken = Change::from_bytes(broken).expect("automerge parses it");
        // What this module guards against: automerge panics on it.
        let decoded = std::panic::catch_unwind(|| broken.decode());
        assert!(decoded.is_err(), "automerge 0.12 decodes it now");
        assert_eq!(
            check(&broken),
            Err(ChangeActorsError::UnknownActor {
                index: 5,
                actors: 2
            })
        );
        // Truncations are errors, never panics.
        for end in 0..bytes.len() {
            let _ = check_bytes(&bytes[..end]);
        }
    }

    /// Replaces the value of single-value actor columns (a run of one, or
    /// one literal) naming actor 1 by `to`.
    fn rewrite_actor_indices(bytes: &[u8], to: u8) -> Vec<u8> {
        let mut out = bytes.to_vec();
        let mut r = Reader(bytes);
        r.take(9).expect("header");
        let length = r.uleb().expect("length");
        let body_start = bytes.len() - usize::try_from(length).expect("length");
        let mut r = Reader(&bytes[body_start..]);
        for _ in 0..r.uleb().expect("deps") {
            r.take(32).expect("dep");
        }
        r.bytes().expect("actor");
        r.uleb().expect("seq");
        r.uleb().expect("start");
        r.sleb().expect("time");
        r.bytes().expect("message");
        for _ in 0..r.uleb().expect("others") {
            r.bytes().expect("other");
        }
        let mut columns = Vec::new();
        for _ in 0..r.uleb().expect("count") {
            let spec = r.uleb().expect("spec");
            let len = r.uleb().expect("len");
            columns.push((spec, usize::try_from(len).expect("len")));
        }
        let mut at = bytes.len() - r.0.len();
        for (spec, len) in columns {
            let single = len == 2 && matches!(bytes[at], 0x01 | 0x7f) && bytes[at + 1] == 1;
            if spec & 0b111 == ACTOR_COLUMN && single {
                out[at + 1] = to;
            }
            at += len;
        }
        out
    }
}
