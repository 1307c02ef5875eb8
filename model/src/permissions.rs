//! What a participant may change in a summary document, decided from the
//! operations of each incoming change (automerge changes are otherwise
//! opaque to a relay).
//!
//! A participant may:
//! - write anything inside objects they created (their threads, comments,
//!   contributions), under `threads` or `contributions`;
//! - *add* to the shared containers: a new thread in `threads`, a new
//!   contribution in `contributions`, a reply in a thread's `comments`
//!   list, a reaction in a `reactions` map.
//!
//! Everything else is refused: any operation on the summary (metadata,
//! sections, actions, root keys), and any edit or deletion of what someone
//! else wrote. Ownership is the automerge actor that created an object,
//! which the server binds to a user ([`crate`] users never choose it).
//!
//! Two rules hold whatever the object:
//! - nothing a participant overwrites or deletes may hold anything written
//!   by someone else: a thread with others' replies, a comments list, a
//!   reactions map with others' reactions can be resolved or tombstoned by
//!   its author, never removed or replaced;
//! - a reaction (`"emoji actorHex"` in a `reactions` map) names its author:
//!   only that author's actors may add or remove it, even on a comment of
//!   one's own.

use std::collections::HashMap;

use automerge::legacy::{Key, ObjectId, OpId, OpType};
use automerge::{ActorId, Automerge, Change, ObjType, Prop, ReadDoc};

use crate::summary::{Area, keys};

/// One step of a path from the root: a map key, or "some list element".
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index,
}

/// Where an object lives, who made it, and what it is.
#[derive(Debug, Clone)]
struct Place {
    path: Vec<Step>,
    creator: ActorId,
    kind: ObjType,
    /// The object in the document, if it existed before these changes.
    existing: Option<automerge::ObjId>,
}

/// Calls `check` with every operation of `changes` and the place of the
/// object it writes in (and the root key it falls under). Changes must be in
/// causal order and not yet applied to `doc`; objects they make themselves
/// are tracked as they go.
fn each_op(
    doc: &Automerge,
    changes: &[Change],
    mut check: impl FnMut(&Place, &automerge::legacy::Op, &str) -> Result<(), String>,
) -> Result<(), String> {
    let mut made: HashMap<(u64, ActorId), Place> = HashMap::new();
    for change in changes {
        let expanded = change.decode();
        let start = expanded.start_op.get();
        for (i, op) in expanded.operations.iter().enumerate() {
            let place = match &op.obj {
                ObjectId::Root => Place {
                    path: vec![],
                    creator: ActorId::random(),
                    kind: ObjType::Map,
                    existing: Some(automerge::ROOT),
                },
                ObjectId::Id(id) => match made.get(&(id.counter(), id.actor().clone())) {
                    Some(place) => place.clone(),
                    None => existing_place(doc, id)?,
                },
            };
            let top = match place.path.first() {
                Some(Step::Key(k)) => k.clone(),
                Some(Step::Index) => return Err("an operation does not fit its object".into()),
                None => match &op.key {
                    Key::Map(k) => k.to_string(),
                    Key::Seq(_) => return Err("an operation does not fit its object".into()),
                },
            };
            // Keys must fit the object: names in maps, elements in sequences.
            let is_map = matches!(place.kind, ObjType::Map | ObjType::Table);
            if is_map != matches!(op.key, Key::Map(_)) || (op.insert && is_map) {
                return Err("an operation does not fit its object".into());
            }
            check(&place, op, &top)?;
            if let OpType::Make(kind) = op.action {
                let mut path = place.path.clone();
                path.push(match &op.key {
                    Key::Map(k) => Step::Key(k.to_string()),
                    Key::Seq(_) => Step::Index,
                });
                made.insert(
                    (start + i as u64, expanded.actor_id.clone()),
                    Place {
                        path,
                        creator: expanded.actor_id.clone(),
                        kind,
                        existing: None,
                    },
                );
            }
        }
    }
    Ok(())
}

/// The summary's rules, as the sync engine asks for them: participants by
/// [`check_participant`], drafters by [`check_drafter`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SummaryRules;

impl docsync::incoming::ChangeRules for SummaryRules {
    fn check(
        &self,
        rules: docsync::incoming::Rules,
        doc: &Automerge,
        changes: &[Change],
        own: &dyn Fn(&ActorId) -> bool,
    ) -> Result<(), docsync::incoming::RuleViolation> {
        let checked = match rules {
            docsync::incoming::Rules::Participant => check_participant(doc, changes, own),
            docsync::incoming::Rules::Drafter => check_drafter(doc, changes),
            docsync::incoming::Rules::Unrestricted | docsync::incoming::Rules::ReadOnly => Ok(()),
        };
        Ok(checked?)
    }
}

/// Checks that every change is one a participant writing with `own`
/// actors may make to `doc`. Changes must be in causal order and not yet
/// applied to `doc`.
pub fn check_participant(
    doc: &Automerge,
    changes: &[Change],
    own: &dyn Fn(&ActorId) -> bool,
) -> Result<(), String> {
    each_op(doc, changes, |place, op, top| {
        if place.path.is_empty() || Area::of_root_key(top) == Area::Summary {
            return Err("participants cannot change the summary".into());
        }
        if op.pred.iter().any(|p| removes_others(doc, p, own)) {
            return Err("participants cannot remove what others wrote".into());
        }
        if is_reactions(&place.path) {
            return check_reaction(op, own);
        }
        let adding = op.pred.is_empty()
            && matches!(op.action, OpType::Make(_) | OpType::Put(_))
            && (op.insert || matches!(op.key, Key::Map(_)));
        // Everything the operation overwrites or deletes must be theirs:
        // owning a container (a thread) is not owning its entries.
        let touches_own = op.pred.iter().all(|p| own(p.actor()))
            && match &op.key {
                Key::Seq(automerge::legacy::ElementId::Id(elem)) if !op.insert => own(elem.actor()),
                _ => true,
            };
        let reserved = matches!(&op.key, Key::Map(k) if reserved_key(&place.path, k));
        let allowed = if reserved {
            false
        } else if own(&place.creator) {
            // In their own objects they set any field (e.g. reopen their
            // thread after a host resolved it), but never remove text or
            // entries someone else inserted into them.
            matches!(op.key, Key::Map(_)) || touches_own
        } else if !appendable(&place.path) {
            false
        } else if adding {
            key_is_free(doc, place, &op.key)
        } else {
            // Taking back what they added: their own reaction or reply.
            !op.pred.is_empty() && !op.insert && touches_own
        };
        if allowed {
            Ok(())
        } else {
            Err("participants can only change what they wrote".into())
        }
    })
}

/// A reaction's key names its author's actor; only that author may add or
/// remove it, and its value is a plain `true`, never an object.
fn check_reaction(
    op: &automerge::legacy::Op,
    own: &dyn Fn(&ActorId) -> bool,
) -> Result<(), String> {
    let Key::Map(key) = &op.key else {
        return Err("an operation does not fit its object".into());
    };
    let author_is_own = key
        .rsplit_once(' ')
        .and_then(|(_, actor)| actor.parse::<ActorId>().ok())
        .is_some_and(|actor| own(&actor));
    let plain = matches!(op.action, OpType::Put(_) | OpType::Delete);
    if author_is_own && plain && op.pred.iter().all(|p| own(p.actor())) {
        Ok(())
    } else {
        Err("a reaction can only be added or removed by its own author".into())
    }
}

/// Whether a `reactions` map of a thread or of one of its comments.
fn is_reactions(path: &[Step]) -> bool {
    let key = |s: &Step, k: &str| matches!(s, Step::Key(x) if x == k);
    match path {
        [top, _, last] | [top, _, _, _, last] => key(top, keys::THREADS) && key(last, "reactions"),
        _ => false,
    }
}

/// Whether overwriting or deleting what operation `pred` wrote would remove
/// something written by someone else: `pred` made an object (already in the
/// document) that holds anything not written by `own` actors.
fn removes_others(doc: &Automerge, pred: &OpId, own: &dyn Fn(&ActorId) -> bool) -> bool {
    let id = format!("{}@{}", pred.counter(), pred.actor().to_hex_string());
    match doc.import(&id) {
        Ok((obj, _)) => holds_others(doc, &obj, own),
        // A plain value, or an object these very changes made.
        Err(_) => false,
    }
}

/// Whether anything in `obj`, at any depth, was written by an actor that is
/// not `own`: map values (conflicting ones too), list elements, characters.
fn holds_others(doc: &Automerge, obj: &automerge::ObjId, own: &dyn Fn(&ActorId) -> bool) -> bool {
    let others = |values: Vec<(automerge::Value<'_>, automerge::ObjId)>| {
        values.into_iter().any(|(value, id)| {
            let writer_is_own = matches!(&id, automerge::ObjId::Id(_, actor, _) if own(actor));
            !writer_is_own || (value.is_object() && holds_others(doc, &id, own))
        })
    };
    match doc.object_type(obj) {
        Ok(ObjType::Map | ObjType::Table) => doc
            .keys(obj)
            .any(|k| doc.get_all(obj, k.as_str()).map_or(true, &others)),
        Ok(ObjType::List | ObjType::Text) => {
            (0..doc.length(obj)).any(|i| doc.get_all(obj, i).map_or(true, &others))
        }
        Err(_) => true,
    }
}

/// Checks that changes to a draft (a participant's copy of a summary) only
/// edit the summary itself: workshop metadata, sections and actions. A
/// draft never carries comments or contributions, so merging it cannot
/// touch anyone else's.
pub fn check_drafter(doc: &Automerge, changes: &[Change]) -> Result<(), String> {
    each_op(doc, changes, |place, _, top| {
        if place.path.is_empty() || !matches!(top, keys::WORKSHOP | keys::SECTIONS | keys::ACTIONS)
        {
            return Err("a draft may only change the summary's text, metadata and actions".into());
        }
        Ok(())
    })
}

/// Adding under a map key someone else's object already has would make a
/// conflict that hides their entry: only new keys may be added.
fn key_is_free(doc: &Automerge, place: &Place, key: &Key) -> bool {
    let (Key::Map(name), Some(obj)) = (key, &place.existing) else {
        return true;
    };
    doc.get_all(obj, name.as_str())
        .is_ok_and(|values| values.is_empty())
}

/// Keys only hosts write, even in a participant's own objects: the review
/// of a contribution.
fn reserved_key(path: &[Step], key: &str) -> bool {
    matches!(path, [Step::Key(top), _] if top == keys::CONTRIBUTIONS)
        && key == crate::contributions::REVIEW
}

/// Containers anyone taking part may add to (but not edit in).
fn appendable(path: &[Step]) -> bool {
    let key = |s: &Step, k: &str| matches!(s, Step::Key(x) if x == k);
    match path {
        [top] => key(top, keys::THREADS) || key(top, keys::CONTRIBUTIONS),
        [top, _, last] => {
            key(top, keys::THREADS) && (key(last, "comments") || key(last, "reactions"))
        }
        [top, _, _, _, last] => key(top, keys::THREADS) && key(last, "reactions"),
        _ => false,
    }
}

/// The place of an object already in the document.
fn existing_place(doc: &Automerge, id: &OpId) -> Result<Place, String> {
    let text = format!("{}@{}", id.counter(), id.actor().to_hex_string());
    let (obj, kind) = doc
        .import(&text)
        .map_err(|_| "a change refers to an object that does not exist".to_owned())?;
    let parents = doc
        .parents(&obj)
        .map_err(|_| "a change refers to an object that does not exist".to_owned())?;
    let mut path: Vec<Step> = parents
        .map(|p| match p.prop {
            Prop::Map(k) => Step::Key(k),
            Prop::Seq(_) => Step::Index,
        })
        .collect();
    path.reverse();
    Ok(Place {
        path,
        creator: id.actor().clone(),
        kind,
        existing: Some(obj),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::{Section, Summary};
    use automerge::transaction::Transactable;
    use automerge::{ObjType, ROOT};

    fn summary_doc() -> Automerge {
        let mut doc = Automerge::new().with_actor(ActorId::from([1u8; 16]));
        Summary {
            sections: vec![Section {
                id: "issue".into(),
                heading: "Frågan".into(),
                body: "Läkemedelsverket 😀 — ATMP".into(),
            }],
            ..Summary::default()
        }
        .write_new(&mut doc)
        .expect("write");
        doc
    }

    /// The changes `f` makes on a fork acting as `actor`.
    fn changes_by(
        doc: &Automerge,
        actor: u8,
        f: impl FnOnce(&mut automerge::transaction::Transaction<'_>),
    ) -> Vec<Change> {
        let mut fork = doc.fork().with_actor(ActorId::from([actor; 16]));
        let heads = fork.get_heads();
        let mut tx = fork.transaction();
        f(&mut tx);
        tx.commit();
        fork.get_changes(&heads).into_iter().collect()
    }

    fn check(doc: &Automerge, changes: &[Change], me: u8) -> Result<(), String> {
        let mine = ActorId::from([me; 16]);
        check_participant(doc, changes, &|a| *a == mine)
    }

    fn obj(doc: &Automerge, path: &[&str]) -> automerge::ObjId {
        let mut o = ROOT;
        for k in path {
            o = doc.get(&o, *k).expect("get").expect("present").1;
        }
        o
    }

    fn new_thread(doc: &mut Automerge, actor: u8, id: &str) {
        let threads = obj(doc, &["threads"]);
        let changes = changes_by(doc, actor, |tx| {
            let t = tx.put_object(&threads, id, ObjType::Map).expect("thread");
            let comments = tx.put_object(&t, "comments", ObjType::List).expect("list");
            let c = tx
                .insert_object(&comments, 0, ObjType::Map)
                .expect("comment");
            let body = tx.put_object(&c, "body", ObjType::Text).expect("body");
            tx.splice_text(&body, 0, 0, "Bra poäng 👍").expect("text");
        });
        assert_eq!(check(doc, &changes, actor), Ok(()));
        doc.apply_changes(changes).expect("apply");
    }

    #[test]
    fn participants_may_start_threads_and_reply() {
        let mut doc = summary_doc();
        new_thread(&mut doc, 2, "t1");
        let comments = obj(&doc, &["threads", "t1", "comments"]);
        let reply = changes_by(&doc, 3, |tx| {
            let c = tx.insert_object(&comments, 1, ObjType::Map).expect("reply");
            tx.put(&c, "body", "Håller med").expect("put");
        });
        assert_eq!(check(&doc, &reply, 3), Ok(()));
    }

    #[test]
    fn participants_may_not_touch_the_summary() {
        let doc = summary_doc();
        let sections = obj(&doc, &["sections"]);
        let section = doc.get(&sections, 0).expect("get").expect("section").1;
        let body = doc.get(&section, "body").expect("get").expect("body").1;
        let edit = changes_by(&doc, 2, |tx| {
            tx.splice_text(&body, 0, 0, "X").expect("splice")
        });
        assert!(check(&doc, &edit, 2).is_err());
        let root = changes_by(&doc, 2, |tx| tx.put(ROOT, "schemaVersion", 2).expect("put"));
        assert!(check(&doc, &root, 2).is_err());
        let new_root_key = changes_by(&doc, 2, |tx| tx.put(ROOT, "extra", "x").expect("put"));
        assert!(check(&doc, &new_root_key, 2).is_err());
        let replace_threads = changes_by(&doc, 2, |tx| {
            tx.put_object(ROOT, "threads", ObjType::Map).expect("put");
        });
        assert!(check(&doc, &replace_threads, 2).is_err());
    }

    #[test]
    fn participants_cannot_hide_or_remove_others_entries() {
        let mut doc = summary_doc();
        new_thread(&mut doc, 2, "t1");
        let threads = obj(&doc, &["threads"]);
        // Overwriting someone's thread with a new one under the same key.
        let hide = changes_by(&doc, 3, |tx| {
            tx.put_object(&threads, "t1", ObjType::Map).expect("put");
        });
        assert!(check(&doc, &hide, 3).is_err());
        // Alice (2) owns the thread; Bob (3) replies; Alice may not delete
        // or overwrite Bob's reply in her thread.
        let comments = obj(&doc, &["threads", "t1", "comments"]);
        let reply = changes_by(&doc, 3, |tx| {
            tx.insert(&comments, 1, "Bobs svar").expect("insert");
        });
        assert_eq!(check(&doc, &reply, 3), Ok(()));
        doc.apply_changes(reply).expect("apply");
        let delete = changes_by(&doc, 2, |tx| tx.delete(&comments, 1).expect("delete"));
        assert!(check(&doc, &delete, 2).is_err());
        let overwrite = changes_by(&doc, 2, |tx| tx.put(&comments, 1, "Ändrat").expect("put"));
        assert!(check(&doc, &overwrite, 2).is_err());
        // Alice may still delete her own comment.
        let own = changes_by(&doc, 2, |tx| tx.delete(&comments, 0).expect("delete"));
        assert_eq!(check(&doc, &own, 2), Ok(()));
    }

    /// A reaction key as [`crate::threads::react`] writes it.
    fn reaction(actor: u8) -> String {
        format!("👍 {}", ActorId::from([actor; 16]).to_hex_string())
    }

    #[test]
    fn participants_react_and_take_their_reaction_back() {
        let mut doc = summary_doc();
        new_thread(&mut doc, 2, "t1");
        let comments = obj(&doc, &["threads", "t1", "comments"]);
        let comment = doc.get(&comments, 0).expect("get").expect("comment").1;
        let reactions = changes_by(&doc, 2, |tx| {
            tx.put_object(&comment, "reactions", ObjType::Map)
                .expect("reactions");
        });
        doc.apply_changes(reactions).expect("apply");
        let r = doc.get(&comment, "reactions").expect("get").expect("map").1;
        let add = changes_by(&doc, 3, |tx| tx.put(&r, reaction(3), true).expect("put"));
        assert_eq!(check(&doc, &add, 3), Ok(()));
        doc.apply_changes(add).expect("apply");
        let remove = changes_by(&doc, 3, |tx| tx.delete(&r, reaction(3)).expect("delete"));
        assert_eq!(check(&doc, &remove, 3), Ok(()));
        let remove_others = changes_by(&doc, 4, |tx| tx.delete(&r, reaction(3)).expect("delete"));
        assert!(check(&doc, &remove_others, 4).is_err());
        // Not even on her own comment may Alice take Bob's reaction away,
        // one by one or by replacing the map.
        let by_owner = changes_by(&doc, 2, |tx| tx.delete(&r, reaction(3)).expect("delete"));
        assert!(check(&doc, &by_owner, 2).is_err());
        let replace = changes_by(&doc, 2, |tx| {
            tx.put_object(&comment, "reactions", ObjType::Map)
                .expect("reactions");
        });
        assert!(check(&doc, &replace, 2).is_err());
        // Nor delete her comment while it holds Bob's reaction (she
        // tombstones it instead).
        let delete = changes_by(&doc, 2, |tx| tx.delete(&comments, 0).expect("delete"));
        assert!(check(&doc, &delete, 2).is_err());
    }

    #[test]
    fn reactions_cannot_be_forged_in_someone_elses_name() {
        let mut doc = summary_doc();
        new_thread(&mut doc, 2, "t1");
        let comments = obj(&doc, &["threads", "t1", "comments"]);
        let comment = doc.get(&comments, 0).expect("get").expect("comment").1;
        let make = changes_by(&doc, 2, |tx| {
            tx.put_object(&comment, "reactions", ObjType::Map)
                .expect("reactions");
        });
        doc.apply_changes(make).expect("apply");
        let r = doc.get(&comment, "reactions").expect("get").expect("map").1;
        for writer in [2, 3] {
            let forged = changes_by(&doc, writer, |tx| {
                tx.put(&r, reaction(4), true).expect("put")
            });
            assert!(check(&doc, &forged, writer).is_err(), "as {writer}");
        }
        let nameless = changes_by(&doc, 3, |tx| tx.put(&r, "👍", true).expect("put"));
        assert!(check(&doc, &nameless, 3).is_err());
        let object = changes_by(&doc, 3, |tx| {
            tx.put_object(&r, reaction(3), ObjType::Map).expect("put");
        });
        assert!(check(&doc, &object, 3).is_err());
    }

    #[test]
    fn a_thread_holding_others_replies_is_never_removed() {
        let mut doc = summary_doc();
        new_thread(&mut doc, 2, "t1");
        new_thread(&mut doc, 2, "t2");
        let threads = obj(&doc, &["threads"]);
        // A thread of hers alone she may take back.
        let own = changes_by(&doc, 2, |tx| tx.delete(&threads, "t2").expect("delete"));
        assert_eq!(check(&doc, &own, 2), Ok(()));
        // Bob replies in t1.
        let comments = obj(&doc, &["threads", "t1", "comments"]);
        let reply = changes_by(&doc, 3, |tx| {
            let c = tx.insert_object(&comments, 1, ObjType::Map).expect("reply");
            let body = tx.put_object(&c, "body", ObjType::Text).expect("body");
            tx.splice_text(&body, 0, 0, "Bobs svar").expect("text");
        });
        assert_eq!(check(&doc, &reply, 3), Ok(()));
        doc.apply_changes(reply).expect("apply");
        let thread = obj(&doc, &["threads", "t1"]);
        let attacks: Vec<Vec<Change>> = vec![
            changes_by(&doc, 2, |tx| tx.delete(&threads, "t1").expect("delete")),
            changes_by(&doc, 2, |tx| {
                tx.put_object(&threads, "t1", ObjType::Map)
                    .expect("replace");
            }),
            changes_by(&doc, 2, |tx| {
                tx.put_object(&thread, "comments", ObjType::List)
                    .expect("empty list");
            }),
            changes_by(&doc, 2, |tx| {
                tx.delete(&thread, "comments").expect("delete")
            }),
            changes_by(&doc, 2, |tx| {
                tx.put(&thread, "comments", "none").expect("put")
            }),
        ];
        for (i, attack) in attacks.iter().enumerate() {
            assert_eq!(
                check(&doc, attack, 2),
                Err("participants cannot remove what others wrote".to_owned()),
                "attack {i}"
            );
        }
        // She may still resolve it.
        let resolve = changes_by(&doc, 2, |tx| {
            tx.put(&thread, "status", "resolved").expect("put")
        });
        assert_eq!(check(&doc, &resolve, 2), Ok(()));
    }

    #[test]
    fn participants_may_edit_their_own_comments_only() {
        let mut doc = summary_doc();
        new_thread(&mut doc, 2, "t1");
        let body = obj(&doc, &["threads", "t1", "comments"]);
        let comment = doc.get(&body, 0).expect("get").expect("comment").1;
        let text = doc.get(&comment, "body").expect("get").expect("text").1;
        let own_edit = changes_by(&doc, 2, |tx| {
            tx.splice_text(&text, 0, 4, "Utmärkt").expect("splice")
        });
        assert_eq!(check(&doc, &own_edit, 2), Ok(()));
        let other_edit = changes_by(&doc, 3, |tx| {
            tx.splice_text(&text, 0, 4, "Dålig").expect("splice")
        });
        assert!(check(&doc, &other_edit, 3).is_err());
        let other_delete = changes_by(&doc, 3, |tx| tx.delete(&body, 0).expect("delete"));
        assert!(check(&doc, &other_delete, 3).is_err());
        let thread = obj(&doc, &["threads", "t1"]);
        let resolve_others = changes_by(&doc, 3, |tx| {
            tx.put(&thread, "resolved", true).expect("put")
        });
        assert!(check(&doc, &resolve_others, 3).is_err());
        let resolve_own = changes_by(&doc, 2, |tx| {
            tx.put(&thread, "resolved", true).expect("put")
        });
        assert_eq!(check(&doc, &resolve_own, 2), Ok(()));
    }

    #[test]
    fn only_its_author_writes_a_threads_anchor_keys() {
        use crate::threads::{self, flat};
        let mut doc = summary_doc();
        // Alice (2) starts a thread the ordinary way: with the flat keys.
        let start = changes_by(&doc, 2, |tx| {
            threads::create_thread(tx, "t1", "issue", 0, 4, "Vad menas?", 0).expect("thread");
        });
        assert_eq!(check(&doc, &start, 2), Ok(()));
        doc.apply_changes(start).expect("apply");
        let thread = obj(&doc, &["threads", "t1"]);
        for key in [flat::START, flat::END, flat::QUOTE] {
            let overwrite = changes_by(&doc, 3, |tx| tx.put(&thread, key, "1@03").expect("put"));
            assert!(check(&doc, &overwrite, 3).is_err(), "{key}");
            let delete = changes_by(&doc, 3, |tx| tx.delete(&thread, key).expect("delete"));
            assert!(check(&doc, &delete, 3).is_err(), "{key}");
            let own = changes_by(&doc, 2, |tx| tx.put(&thread, key, "x").expect("put"));
            assert_eq!(check(&doc, &own, 2), Ok(()), "{key}");
        }
        // Nor may anyone else add them to a thread written without them.
        new_thread(&mut doc, 2, "t2");
        let old = obj(&doc, &["threads", "t2"]);
        for key in [flat::START, flat::END, flat::QUOTE] {
            let add = changes_by(&doc, 3, |tx| tx.put(&old, key, "1@03").expect("put"));
            assert!(check(&doc, &add, 3).is_err(), "{key}");
        }
    }

    #[test]
    fn participants_propose_but_never_review() {
        let mut doc = summary_doc();
        let propose = changes_by(&doc, 2, |tx| {
            crate::contributions::propose(
                tx,
                "c1",
                &crate::contributions::Proposal::Action {
                    text: "Ring regionerna".into(),
                    owner: String::new(),
                    due: String::new(),
                },
                "",
                0,
            )
            .expect("propose");
        });
        assert_eq!(check(&doc, &propose, 2), Ok(()));
        doc.apply_changes(propose).expect("apply");
        let c = obj(&doc, &["contributions", "c1"]);
        let withdraw = changes_by(&doc, 2, |tx| tx.put(&c, "withdrawn", true).expect("put"));
        assert_eq!(check(&doc, &withdraw, 2), Ok(()));
        let self_accept = changes_by(&doc, 2, |tx| {
            let r = tx.put_object(&c, "review", ObjType::Map).expect("review");
            tx.put(&r, "state", "accepted").expect("put");
        });
        assert!(check(&doc, &self_accept, 2).is_err());
        let others = changes_by(&doc, 3, |tx| tx.put(&c, "withdrawn", true).expect("put"));
        assert!(check(&doc, &others, 3).is_err());
    }

    #[test]
    fn drafts_change_only_the_summary() {
        let doc = summary_doc();
        let sections = obj(&doc, &["sections"]);
        let section = doc.get(&sections, 0).expect("get").expect("section").1;
        let body = doc.get(&section, "body").expect("get").expect("body").1;
        let edit = changes_by(&doc, 2, |tx| {
            tx.splice_text(&body, 0, 0, "Ny text. ").expect("splice")
        });
        assert_eq!(check_drafter(&doc, &edit), Ok(()));
        let threads = obj(&doc, &["threads"]);
        let thread = changes_by(&doc, 2, |tx| {
            tx.put_object(&threads, "t1", ObjType::Map).expect("thread");
        });
        assert!(check_drafter(&doc, &thread).is_err());
        let root = changes_by(&doc, 2, |tx| tx.put(ROOT, "schemaVersion", 9).expect("put"));
        assert!(check_drafter(&doc, &root).is_err());
    }
}
