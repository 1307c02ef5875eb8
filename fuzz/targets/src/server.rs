//! The server's handling of incoming frames, as `server/src/conn.rs` and
//! `server/src/docs/actor.rs` do it, with in-memory stand-ins for their IO.
//!
//! Every decision is the server's own code: the codec, the frame checks,
//! reading, authorising and applying sync messages, and generating replies
//! all come from `protocol` (`protocol::incoming`), which the server calls
//! too. What this module adds is what those files do around them: the
//! connection's join state, the role lookup (one document exists, the
//! fixture), the actors table (a map), the peers' sync states (the fuzzed
//! peer and one other peer that hears every change), and the outbox (the
//! returned messages). A refused frame closes the connection, as in the
//! server; the next frame starts a new one.
//!
//! After every applied message it checks what the rules promise: a public
//! reader changes nothing, a participant never changes the summary or what
//! others wrote, a drafter never touches threads, and every new change's
//! actor belongs to the sender.

use std::cell::RefCell;
use std::collections::HashMap;

use automerge::sync;
use automerge::{Automerge, ChangeHash};
use protocol::incoming::{self, ActorBindings, Replies, Rules, Sender};
use protocol::relay::Relay;
use protocol::summary::Summary;
use protocol::threads;
use protocol::{Message, PROTOCOL_VERSION, PeerId, PeerMetadata, SyncKind, SyncMessage};

use crate::fixture;

/// The fuzzed peer's role in the fixture document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Signed in as the fixture's participant `bob`.
    Participant,
    /// Signed in as the fixture's host `alice`.
    Host,
    /// `bob`, as the owner of a draft with the fixture's content.
    Drafter,
    /// Not signed in.
    Public,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Participant, Role::Host, Role::Drafter, Role::Public];

    /// The role an input's first byte selects.
    pub fn from_byte(byte: u8) -> Self {
        Self::ALL[usize::from(byte) % Self::ALL.len()]
    }

    pub fn to_byte(self) -> u8 {
        match self {
            Role::Participant => 0,
            Role::Host => 1,
            Role::Drafter => 2,
            Role::Public => 3,
        }
    }

    /// The signed-in user behind the peer.
    pub fn user(self) -> Option<&'static str> {
        match self {
            Role::Participant | Role::Drafter => Some(fixture::PARTICIPANT.0),
            Role::Host => Some(fixture::HOST.0),
            Role::Public => None,
        }
    }

    /// The rules the server holds this role's changes to (as the actor
    /// maps `server::auth::Role`).
    pub fn rules(self) -> Rules {
        match self {
            Role::Participant => Rules::Participant,
            Role::Host => Rules::Unrestricted,
            Role::Drafter => Rules::Drafter,
            Role::Public => Rules::ReadOnly,
        }
    }
}

/// The server's `actors` table, in memory.
#[derive(Debug, Default)]
pub struct MemoryBindings(RefCell<HashMap<Vec<u8>, String>>);

impl ActorBindings for MemoryBindings {
    fn owner(&self, actor: &[u8]) -> Result<Option<String>, String> {
        Ok(self.0.borrow().get(actor).cloned())
    }

    fn bind(&self, actor: &[u8], user: &str) -> Result<bool, String> {
        let mut map = self.0.borrow_mut();
        let owner = map.entry(actor.to_vec()).or_insert_with(|| user.to_owned());
        Ok(owner == user)
    }
}

/// One document on a server, and one peer's connections to it.
#[derive(Debug)]
pub struct Server {
    role: Role,
    /// The document as the server's actor holds it.
    doc: Relay,
    bindings: MemoryBindings,
    server_id: PeerId,
    /// The peer id of the current connection, once joined.
    joined: Option<PeerId>,
    /// The fuzzed peer's sync state, once it synced on this connection.
    peer: Option<sync::State>,
    /// Another peer of the document: hears every change.
    observer: sync::State,
    /// What must not change, read from the fixture.
    summary: Option<Summary>,
    others_comments: Vec<(String, String, String)>,
}

impl Server {
    /// The fixture document, its actors bound to their users.
    pub fn new(role: Role) -> Self {
        let doc = fixture::document();
        let bindings = MemoryBindings::default();
        for (user, actor) in [
            fixture::HOST,
            fixture::PARTICIPANT,
            fixture::OTHER_PARTICIPANT,
        ] {
            let _ = bindings.bind(&actor, user);
        }
        let summary = Summary::read(&doc).ok();
        let others_comments = comments_not_by(&doc, role.user());
        Self {
            role,
            doc: Relay::new(doc),
            bindings,
            server_id: PeerId::new("fuzz-server").unwrap_or_else(|e| panic!("{e}")),
            joined: None,
            peer: None,
            observer: sync::State::new(),
            summary,
            others_comments,
        }
    }

    /// The document as it is now (pending changes applied).
    pub fn document(&mut self) -> &Automerge {
        self.doc
            .doc()
            .unwrap_or_else(|e| panic!("applying taken changes failed: {e}"))
    }

    /// Handles one frame. Returns what the server sends the peer, or the
    /// error it closes the connection with (the next frame then opens a
    /// new connection).
    pub fn receive(&mut self, frame: &[u8]) -> Result<Vec<Message>, String> {
        let result = self.handle(frame);
        match &result {
            // The writer task encodes every message it sends.
            Ok(replies) => {
                for reply in replies {
                    let bytes = protocol::encode(reply);
                    assert_eq!(protocol::decode(&bytes).as_ref(), Ok(reply));
                }
            }
            // The connection closes: its peer leaves the document.
            Err(_) => {
                self.joined = None;
                self.peer = None;
            }
        }
        result
    }

    fn handle(&mut self, frame: &[u8]) -> Result<Vec<Message>, String> {
        let message = protocol::decode(frame).map_err(|e| e.to_string())?;
        let Some(joined) = self.joined.clone() else {
            let peer = incoming::check_join(message).map_err(|e| e.to_string())?;
            self.joined = Some(peer.clone());
            return Ok(vec![Message::Peer {
                sender_id: self.server_id.clone(),
                target_id: peer,
                peer_metadata: PeerMetadata {
                    storage_id: Some("fuzz-storage".into()),
                    is_ephemeral: false,
                },
                selected_protocol_version: PROTOCOL_VERSION.to_owned(),
            }]);
        };
        incoming::check_sender(&joined, &message).map_err(|e| e.to_string())?;
        let doc = match &message {
            Message::Sync(m) => Some(m.document_id),
            Message::Ephemeral(m) => Some(m.document_id),
            _ => None,
        };
        if let Some(doc) = doc
            && doc != fixture::doc_id()
        {
            // Missing and forbidden documents answer alike.
            return Ok(match message {
                Message::Sync(_) => vec![Message::DocUnavailable {
                    sender_id: self.server_id.clone(),
                    target_id: joined,
                    document_id: doc,
                }],
                _ => Vec::new(),
            });
        }
        match message {
            Message::Join { .. } => Err("already joined".into()),
            Message::Sync(m) => self.sync(&joined, &m.data),
            Message::Ephemeral(m) => {
                incoming::check_ephemeral(&m).map_err(|e| e.to_string())?;
                // Relayed to the other peers as it came (public: never).
                Ok(Vec::new())
            }
            Message::DocUnavailable { .. } | Message::Ignored { .. } => Ok(Vec::new()),
            Message::Peer { .. } => Err("unexpected `peer` message from a client".into()),
            Message::Error { .. } => Err("unexpected `error` message from a client".into()),
        }
    }

    /// One actor turn with one sync message: check, apply, store, answer.
    fn sync(&mut self, peer: &PeerId, data: &[u8]) -> Result<Vec<Message>, String> {
        let sender = Sender {
            user: self.role.user(),
            rules: self.role.rules(),
        };
        let message = incoming::check_sync(&mut self.doc, data, sender, &self.bindings)
            .map_err(|e| e.to_string())?;
        let before = self.doc.heads().to_vec();
        let role = self.role;
        let mut state = self.peer.take().unwrap_or_else(|| {
            if role == Role::Public {
                sync::State::new_read_only()
            } else {
                sync::State::new()
            }
        });
        let brought =
            incoming::apply(&mut self.doc, &mut state, message).map_err(|e| e.to_string())?;
        let changed = self.doc.heads() != before;
        if changed {
            // What the actor stores before it answers.
            let _chunk = self.doc.take_unsaved();
            self.check_rules(&before);
        }
        let mut replies = Replies::new();
        let mut out = Vec::new();
        let reply = replies
            .reply(&mut self.doc, &mut state, brought)
            .map_err(|e| e.to_string())?;
        self.peer = Some(state);
        if let Some(data) = reply {
            out.push(Message::Sync(SyncMessage {
                kind: SyncKind::Sync,
                sender_id: self.server_id.clone(),
                target_id: peer.clone(),
                document_id: fixture::doc_id(),
                data,
            }));
        }
        if changed {
            let _ = replies.reply(&mut self.doc, &mut self.observer, false);
        }
        Ok(out)
    }

    /// Panics if the changes applied since `before` break the role's rules.
    fn check_rules(&mut self, before: &[ChangeHash]) {
        let user = self.role.user();
        let doc = self
            .doc
            .doc()
            .unwrap_or_else(|e| panic!("applying taken changes failed: {e}"));
        assert!(
            user.is_some() && self.role != Role::Public,
            "a public reader changed the document"
        );
        for change in doc.get_changes(before) {
            let owner = self.bindings.owner(change.actor_id().to_bytes());
            assert_eq!(
                owner.ok().flatten().as_deref(),
                user,
                "a change was applied with an actor that is not the sender's"
            );
        }
        if matches!(self.role, Role::Participant | Role::Drafter) {
            let now = comments_not_by(doc, user);
            for comment in &self.others_comments {
                assert!(
                    now.contains(comment),
                    "{:?} changed someone else's comment {comment:?}",
                    self.role
                );
            }
        }
        if self.role == Role::Participant {
            assert!(
                Summary::read(doc).ok() == self.summary,
                "a participant changed the summary"
            );
        }
        if self.role == Role::Drafter {
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
}

/// (thread, comment, body) of every comment not written with one of
/// `user`'s fixture actors.
fn comments_not_by(doc: &Automerge, user: Option<&str>) -> Vec<(String, String, String)> {
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
