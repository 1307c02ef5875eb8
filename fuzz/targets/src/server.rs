//! The server's handling of incoming frames, exactly as the server runs
//! it: every frame goes through `docsync::incoming::Frames` (the bounded
//! decode, the join handshake, the sender and size checks, as in
//! `server/src/conn.rs`), and every document input through
//! `docsync::doc_state::DocState` (what the document actor runs). What
//! this module adds is only the IO around them, in memory: the role lookup
//! (one document exists, the fixture), the actors table, the store (every
//! chunk is durable at once), and the outboxes (returned messages). A
//! refused frame closes the connection, as in the server; the next frame
//! starts a new one.
//!
//! After every stored change it checks what the rules promise: a public
//! reader changes nothing, a participant never changes the summary or what
//! others wrote, a drafter never touches threads, and every new change's
//! actor belongs to the sender.

use automerge::sync::{self, SyncDoc};
use automerge::{Automerge, ChangeHash};
use docsync::doc_state::{self, DocState, Effect, Input, Limits, PeerRef};
use docsync::harness::MemoryBindings;
use docsync::incoming::{self, Frame, Frames, Rules};
use docsync::{Message, PeerId, SyncKind};
use model::summary::Summary;

use model::permissions::SummaryRules;

use crate::{fixture, oracle};

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

/// One document on a server, and one peer's connections to it.
#[derive(Debug)]
pub struct Server {
    role: Role,
    /// The document as the server's actor holds it.
    state: DocState<()>,
    bindings: MemoryBindings,
    server_id: PeerId,
    /// The current connection's frame handling and id.
    frames: Frames,
    conn_id: u64,
    /// What must not change, read from the fixture.
    summary: Option<Summary>,
    others_comments: Vec<(String, String, String)>,
}

/// Another peer of the document, following it: hears every change.
const OBSERVER: &str = "fuzz-observer";

impl Server {
    /// The fixture document, its actors bound to their users, with one
    /// other peer following it.
    pub fn new(role: Role) -> Self {
        let doc = fixture::document();
        let bindings = MemoryBindings::default();
        for (user, actor) in [
            fixture::HOST,
            fixture::PARTICIPANT,
            fixture::OTHER_PARTICIPANT,
        ] {
            bindings.insert(&actor, user);
        }
        let summary = Summary::read(&doc).ok();
        let others_comments = oracle::comments_not_by(&doc, role.user());
        let server_id = peer_id("fuzz-server");
        let limits = Limits {
            max_document_bytes: 64 << 20,
            compact_after_chunks: 64,
            max_pending: 4096,
            apply_when_quiet_ms: 2000,
            idle_evict_ms: 60_000,
        };
        let loaded = doc_state::Loaded {
            next_seq: 1,
            chunks: 1,
            bytes: doc.save().len() as u64,
            skipped: Vec::new(),
            // Served from its saved form, as a compacted document is after
            // a restart: the fuzzer's messages meet the unloaded paths
            // (and whatever loads it).
            doc: docsync::relay::Relay::unloaded(doc.save())
                .unwrap_or_else(|| panic!("a saved document")),
        };
        let mut state = DocState::loaded(fixture::doc_id(), server_id.clone(), limits, loaded);
        let mut observer = sync::State::new();
        let hello = doc
            .generate_sync_message(&mut observer)
            .unwrap_or_else(|| panic!("a first sync message"));
        let follow = Input::Sync {
            from: PeerRef {
                peer_id: peer_id(OBSERVER),
                conn_id: 0,
                user: Some(fixture::HOST.0.into()),
                rules: Rules::Unrestricted,
            },
            kind: SyncKind::Request,
            data: hello.encode(),
        };
        let _ = state.turn(vec![follow], &bindings, &SummaryRules);
        Self {
            role,
            state,
            bindings,
            server_id,
            frames: Frames::default(),
            conn_id: 1,
            summary,
            others_comments,
        }
    }

    /// The document as it is now (pending changes applied).
    pub fn document(&mut self) -> &Automerge {
        self.state
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
                    let bytes = docsync::encode(reply);
                    assert_eq!(docsync::decode(&bytes).as_ref(), Ok(reply));
                }
            }
            // The connection closes: its peer leaves the document.
            Err(_) => {
                if let Some(peer) = self.frames.joined() {
                    self.state.leave(&peer.clone(), self.conn_id);
                }
                self.frames = Frames::default();
                self.conn_id += 1;
            }
        }
        result
    }

    fn handle(&mut self, frame: &[u8]) -> Result<Vec<Message>, String> {
        let frame = self.frames.read(frame).map_err(|e| e.to_string())?;
        let Some(peer) = self.frames.joined().cloned() else {
            return Err("not joined".into());
        };
        let (doc, input) = match frame {
            Frame::Join(peer) => {
                return Ok(vec![incoming::peer_reply(
                    &self.server_id,
                    &peer,
                    "fuzz-storage",
                )]);
            }
            Frame::Nothing => return Ok(Vec::new()),
            Frame::PeerError(_) => return Err("unexpected `error` message from a client".into()),
            Frame::Sync(m) => (
                m.document_id,
                Input::Sync {
                    from: self.peer_ref(&peer),
                    kind: m.kind,
                    data: m.data,
                },
            ),
            Frame::Ephemeral(m) => (
                m.document_id,
                Input::Ephemeral {
                    from: self.peer_ref(&peer),
                    message: m,
                },
            ),
        };
        if doc != fixture::doc_id() {
            // Missing and forbidden documents answer alike.
            return Ok(match input {
                Input::Sync { .. } => vec![Message::DocUnavailable {
                    sender_id: self.server_id.clone(),
                    target_id: peer,
                    document_id: doc,
                }],
                _ => Vec::new(),
            });
        }
        self.turn(&peer, input)
    }

    fn peer_ref(&self, peer: &PeerId) -> PeerRef {
        PeerRef {
            peer_id: peer.clone(),
            conn_id: self.conn_id,
            user: self.role.user().map(Into::into),
            rules: self.role.rules(),
        }
    }

    /// One actor turn: the input, then its effects (the store is durable at
    /// once); returns what our peer hears, or why its connection closes.
    fn turn(&mut self, peer: &PeerId, input: Input<()>) -> Result<Vec<Message>, String> {
        let before = self.state.heads().to_vec();
        let mut effects = self
            .state
            .turn(vec![input], &self.bindings, &SummaryRules)
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        let mut closed = None;
        while !effects.is_empty() {
            let mut stored = None;
            for effect in effects {
                match effect {
                    Effect::Send { to, message, .. } if to == *peer => out.push(message),
                    Effect::Close { to, reason, .. } if to == *peer => {
                        closed = Some(reason.to_string());
                    }
                    Effect::Store { seq, .. } => stored = Some(seq),
                    _ => {}
                }
            }
            effects = match stored {
                Some(seq) => {
                    self.check_rules(&before);
                    self.state.durable(seq).map_err(|e| e.to_string())?
                }
                None => Vec::new(),
            };
        }
        match closed {
            Some(reason) => Err(reason),
            None => Ok(out),
        }
    }

    /// Panics if the changes applied since `before` break the role's rules.
    fn check_rules(&mut self, before: &[ChangeHash]) {
        let doc = self
            .state
            .doc()
            .unwrap_or_else(|e| panic!("applying taken changes failed: {e}"));
        let expected = oracle::Unchanged {
            summary: self.summary.as_ref(),
            others_comments: &self.others_comments,
        };
        oracle::check_rules(self.role, doc, before, &self.bindings, &expected);
    }
}

fn peer_id(id: &str) -> PeerId {
    PeerId::new(id).unwrap_or_else(|e| panic!("{e}"))
}
