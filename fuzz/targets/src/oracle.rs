//! What the fuzz target checks after every stored change: the promises
//! of the roles, read off the document (not the server's own code).

use automerge::{Automerge, ChangeHash};
use docsync::incoming::ActorBindings;
use model::summary::Summary;
use model::threads;

use crate::fixture;
use crate::server::Role;

/// What the fixture held that the fuzzed role must never change.
#[derive(Debug)]
pub struct Unchanged<'a> {
    pub summary: Option<&'a Summary>,
    pub others_comments: &'a [(String, String, String)],
}

/// Panics if the changes applied since `before` break the role's rules.
pub fn check_rules(
    role: Role,
    doc: &Automerge,
    before: &[ChangeHash],
    bindings: &dyn ActorBindings,
    expected: &Unchanged<'_>,
) {
    let user = role.user();
    assert!(
        user.is_some() && role != Role::Public,
        "a public reader changed the document"
    );
    for change in doc.get_changes(before) {
        let owner = bindings.owner(change.actor_id().to_bytes());
        assert_eq!(
            owner.ok().flatten().as_deref(),
            user,
            "a change was applied with an actor that is not the sender's"
        );
    }
    if matches!(role, Role::Participant | Role::Drafter) {
        let now = comments_not_by(doc, user);
        for comment in expected.others_comments {
            assert!(
                now.contains(comment),
                "{:?} changed someone else's comment {comment:?}",
                role
            );
        }
    }
    if role == Role::Participant {
        assert!(
            Summary::read(doc).ok() == expected.summary.cloned(),
            "a participant changed the summary"
        );
    }
    if role == Role::Drafter {
        let threads = |doc: &Automerge| -> Vec<_> {
            threads::threads(doc)
                .into_iter()
                .map(|t| (t.id, t.resolved, t.comments))
                .collect()
        };
        assert!(
            threads(doc) == threads(&fixture::document()),
            "a drafter changed the threads"
        );
    }
}

/// (thread, comment, body) of every comment not written with one of
/// `user`'s fixture actors.
pub fn comments_not_by(doc: &Automerge, user: Option<&str>) -> Vec<(String, String, String)> {
    let own: Vec<String> = [
        fixture::HOST,
        fixture::PARTICIPANT,
        fixture::OTHER_PARTICIPANT,
    ]
    .iter()
    .filter(|(u, _)| Some(*u) == user)
    .map(|(_, actor)| automerge::ActorId::from(*actor).to_hex_string())
    .collect();
    threads::threads(doc)
        .into_iter()
        .flat_map(|t| {
            let id = t.id;
            t.comments
                .into_iter()
                .filter(|c| !own.contains(&c.author))
                .map(move |c| (id.clone(), c.id, c.body))
        })
        .collect()
}
