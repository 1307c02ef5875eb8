//! Corpus seeds: the frames real client sessions send. A scripted
//! `docsync::session::Session` (the web client's sync core) talks to
//! [`Server`] until both are quiet after each step, and every frame the
//! client sent is kept. `examples/seeds.rs` writes them into
//! `fuzz/corpus/`.

use automerge::transaction::Transactable;
use automerge::{Automerge, ObjType, ROOT, ReadDoc};
use docsync::session::Session;
use docsync::{DocumentId, Message, PeerId};
use model::threads;

use crate::fixture;
use crate::frames;
use crate::server::{Role, Server};

/// A client session against a [`Server`], recording the client's frames.
struct Script {
    server: Server,
    client: Session,
    frames: Vec<Vec<u8>>,
}

impl Script {
    fn new(role: Role) -> Self {
        let peer =
            PeerId::new(format!("seed-{}", role.to_byte())).unwrap_or_else(|e| panic!("{e}"));
        let mut script = Self {
            server: Server::new(role),
            client: Session::new(peer),
            frames: Vec::new(),
        };
        let join = script.client.join();
        script.send(vec![join]);
        script
    }

    /// Sends messages, and whatever the client answers to the replies,
    /// until both sides are quiet.
    fn send(&mut self, messages: Vec<Message>) {
        for message in messages {
            let bytes = docsync::encode(&message);
            self.frames.push(bytes.clone());
            let Ok(replies) = self.server.receive(&bytes) else {
                self.client.disconnected();
                continue;
            };
            for reply in replies {
                let (answers, _events) = self.client.receive(reply);
                self.send(answers);
            }
        }
    }

    fn open(&mut self, doc: DocumentId) {
        let messages = self.client.open(doc, None);
        self.send(messages);
    }

    fn change(&mut self, edit: impl FnOnce(&mut Automerge)) {
        let ((), messages) = self.client.change(fixture::doc_id(), edit);
        self.send(messages);
    }

    fn presence(&mut self) {
        // {"cursor": 3}
        let data = vec![0xa1, 0x66, b'c', b'u', b'r', b's', b'o', b'r', 0x03];
        if let Some(message) = self.client.ephemeral(fixture::doc_id(), data) {
            self.send(vec![message]);
        }
    }

    fn input(self, role: Role) -> Vec<u8> {
        frames::join(role, &self.frames)
    }
}

fn splice_section(doc: &mut Automerge, section: &str, at: usize, text: &str) {
    let Some(body) = threads::section_body(doc, section) else {
        return;
    };
    let mut tx = doc.transaction();
    let _ = tx.splice_text(&body, at, 0, text);
    tx.commit();
}

/// Named inputs for the `incoming` target, one per scripted session.
pub fn incoming() -> Vec<(&'static str, Vec<u8>)> {
    let doc = fixture::doc_id();
    let mut out = Vec::new();

    // A participant comments, replies, reacts and edits their comment.
    let mut s = Script::new(Role::Participant);
    s.open(doc);
    s.presence();
    s.change(|d| {
        let mut tx = d.transaction();
        let _ = threads::create_thread(&mut tx, "t-seed", "s1", 2, 9, "Varför?", 1);
        tx.commit();
    });
    s.change(|d| {
        let me = d.get_actor().clone();
        let mut tx = d.transaction();
        let _ = threads::add_comment(&mut tx, "t-host", "t-host-seed", "Också Teg.", 2);
        let _ = threads::react(&mut tx, "t-host", "t-host-0", "❤️", &me, true);
        tx.commit();
    });
    s.change(|d| {
        let mut tx = d.transaction();
        let _ = threads::edit_comment(&mut tx, "t-seed", "t-seed-0", "Varför inte?");
        tx.commit();
    });
    out.push(("participant-comments", s.input(Role::Participant)));

    // A participant tries to change the summary: refused, reconnects.
    let mut s = Script::new(Role::Participant);
    s.open(doc);
    s.change(|d| splice_section(d, "s2", 0, "Inga "));
    // As the web client does on a refusal: drop the copy, fetch afresh.
    s.client.discard(doc);
    let join = s.client.join();
    s.send(vec![join]);
    s.open(doc);
    out.push(("participant-refused", s.input(Role::Participant)));

    // A host edits the text, resolves a thread and changes an action.
    let mut s = Script::new(Role::Host);
    s.open(doc);
    s.change(|d| splice_section(d, "s3", 0, "Möte i maj."));
    s.change(|d| {
        let mut tx = d.transaction();
        let _ = threads::set_resolved(&mut tx, "t-bob", true);
        if let Ok(Some((_, actions))) = tx.get(ROOT, "actions")
            && let Ok(Some((_, first))) = tx.get(&actions, 0)
        {
            let _ = tx.put(&first, "status", "done");
        }
        let _ = tx.put_object(ROOT, "extra", ObjType::Map);
        tx.commit();
    });
    let host_frames = s.frames.clone();
    out.push(("host-edits", s.input(Role::Host)));
    // The host's frames from peers that may not make those changes.
    out.push((
        "host-frames-as-participant",
        frames::join(Role::Participant, &host_frames),
    ));
    out.push((
        "host-frames-as-public",
        frames::join(Role::Public, &host_frames),
    ));

    // A drafter edits the draft's text; then tries a thread (refused).
    let mut s = Script::new(Role::Drafter);
    s.open(doc);
    s.change(|d| splice_section(d, "s1", 0, "Utkast: "));
    s.change(|d| {
        let mut tx = d.transaction();
        let _ = threads::add_comment(&mut tx, "t-bob", "t-bob-d", "Nej.", 3);
        tx.commit();
    });
    out.push(("drafter-edits", s.input(Role::Drafter)));

    // A public reader syncs and asks for a missing document; a change it
    // makes is never sent (the server's sync state is read-only).
    let mut s = Script::new(Role::Public);
    s.open(doc);
    s.open(DocumentId::from_bytes([7; 16]));
    s.change(|d| splice_section(d, "s1", 0, "x"));
    out.push(("public-reads", s.input(Role::Public)));
    out
}

/// Every frame of the `incoming` seeds, one input each, for `wire_decode`.
pub fn wire_frames() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = incoming()
        .into_iter()
        .flat_map(|(_, input)| {
            let (_, frames) = frames::split(&input);
            frames.into_iter().map(<[u8]>::to_vec).collect::<Vec<_>>()
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed's frames replayed: the server's document afterwards, and
    /// the errors that closed connections.
    fn replay(input: &[u8]) -> (Server, Vec<String>) {
        let (role, frames) = frames::split(input);
        let mut server = Server::new(role);
        let errors = frames
            .into_iter()
            .filter_map(|f| server.receive(f).err())
            .collect();
        (server, errors)
    }

    fn body(doc: &Automerge, section: &str) -> String {
        threads::section_body(doc, section)
            .and_then(|b| doc.text(&b).ok())
            .unwrap_or_default()
    }

    fn thread_ids(doc: &Automerge) -> Vec<String> {
        threads::threads(doc).into_iter().map(|t| t.id).collect()
    }

    #[test]
    fn sessions_do_what_their_roles_allow() {
        let seeds: std::collections::HashMap<_, _> = incoming().into_iter().collect();

        let (mut server, errors) = replay(&seeds["participant-comments"]);
        assert_eq!(errors, Vec::<String>::new());
        let threads = threads::threads(server.document());
        let seeded = threads.iter().find(|t| t.id == "t-seed").expect("t-seed");
        assert_eq!(seeded.comments[0].body, "Varför inte?");
        let host = threads.iter().find(|t| t.id == "t-host").expect("t-host");
        assert!(host.comments.iter().any(|c| c.id == "t-host-seed"));

        let (mut server, errors) = replay(&seeds["participant-refused"]);
        assert_eq!(
            errors,
            vec!["participants cannot change the summary".to_owned()]
        );
        assert!(!body(server.document(), "s2").starts_with("Inga"));

        let (mut server, errors) = replay(&seeds["host-edits"]);
        assert_eq!(errors, Vec::<String>::new());
        assert_eq!(body(server.document(), "s3"), "Möte i maj.");

        let (mut server, errors) = replay(&seeds["drafter-edits"]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(body(server.document(), "s1").starts_with("Utkast: "));
        assert_eq!(
            thread_ids(server.document()),
            thread_ids(&fixture::document())
        );

        let (mut server, errors) = replay(&seeds["public-reads"]);
        assert_eq!(errors, Vec::<String>::new());
        assert_eq!(
            server.document().get_heads(),
            fixture::document().get_heads()
        );

        let (mut server, errors) = replay(&seeds["host-frames-as-public"]);
        assert_eq!(errors[0], "public readers cannot change documents");
        assert_eq!(
            server.document().get_heads(),
            fixture::document().get_heads()
        );

        let (mut server, errors) = replay(&seeds["host-frames-as-participant"]);
        assert_eq!(errors[0], "participants cannot change the summary");
        assert_eq!(
            server.document().get_heads(),
            fixture::document().get_heads()
        );
    }
}
