//! The server's handling of what a peer sends, without IO: the checks on
//! each frame, reading and authorising a sync message, applying it, and the
//! replies generated after a turn.
//!
//! The server's connection (`server/src/conn.rs`) and document actor
//! (`server/src/docs/actor.rs`) call these functions with their stores and
//! queues around them; the `incoming` fuzz target (`fuzz/targets`) calls the
//! same functions with in-memory stand-ins, so what is fuzzed is what runs.
//! Every function here returns an error for bad input; none panics.

use std::collections::HashMap;

use automerge::sync;
use automerge::{ActorId, Automerge, AutomergeError, Change};

use crate::fast_sync::ChangeLog;
use crate::id::PeerId;
use crate::message::{EphemeralMessage, Message};
use crate::relay::Relay;
use crate::{change_actors, chunks, fast_sync};

/// Longest ephemeral `sessionId` accepted (presence data is small; this
/// bounds what one message makes the server remember).
pub const MAX_SESSION_ID: usize = 128;
/// Largest ephemeral payload accepted (it is copied to every peer).
pub const MAX_EPHEMERAL_DATA: usize = 64 * 1024;

/// Why a frame ends the connection, before any document is involved. The
/// text is what the peer reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("the first message must be `join`")]
    NotJoined,
    #[error("unsupported protocol versions {0:?}; this server speaks \"1\"")]
    UnsupportedVersion(Vec<String>),
    #[error("senderId `{got}` does not match the joined peer `{joined}`")]
    SenderMismatch { got: PeerId, joined: PeerId },
    #[error(
        "ephemeral message too large (sessionId at most {MAX_SESSION_ID} bytes, data at most {MAX_EPHEMERAL_DATA} bytes)"
    )]
    EphemeralTooLarge,
    #[error("malformed message: {0}")]
    Decode(#[from] crate::DecodeError),
    #[error("already joined")]
    AlreadyJoined,
    #[error("unexpected `{0}` message from a client")]
    Unexpected(&'static str),
}

/// What a frame asks of its connection, once it passed the checks every
/// frame gets ([`Frames::read`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// The peer joined: answer with [`peer_reply`].
    Join(PeerId),
    /// A `sync` or `request` for a document.
    Sync(crate::SyncMessage),
    /// Presence data for a document's other peers (sizes checked).
    Ephemeral(EphemeralMessage),
    /// Nothing to do (the peer lacks a document we offered, or a message
    /// type we ignore).
    Nothing,
    /// The peer reported an error (the text, shortened): the connection
    /// closes with [`FrameError::Unexpected`].
    PeerError(String),
}

/// One connection's frame handling without IO: the bounded decode, the
/// `join` handshake, and the sender and size checks. The server's
/// connections and the fuzz target both read frames through it.
#[derive(Debug, Default)]
pub struct Frames {
    joined: Option<PeerId>,
}

impl Frames {
    /// The peer this connection joined as, once it has.
    pub fn joined(&self) -> Option<&PeerId> {
        self.joined.as_ref()
    }

    /// Reads one binary frame.
    pub fn read(&mut self, bytes: &[u8]) -> Result<Frame, FrameError> {
        let message = crate::decode(bytes)?;
        let Some(joined) = &self.joined else {
            let peer = check_join(message)?;
            self.joined = Some(peer.clone());
            return Ok(Frame::Join(peer));
        };
        check_sender(joined, &message)?;
        match message {
            Message::Join { .. } => Err(FrameError::AlreadyJoined),
            Message::Sync(m) => Ok(Frame::Sync(m)),
            Message::Ephemeral(m) => {
                check_ephemeral(&m)?;
                Ok(Frame::Ephemeral(m))
            }
            Message::DocUnavailable { .. } | Message::Ignored { .. } => Ok(Frame::Nothing),
            Message::Peer { .. } => Err(FrameError::Unexpected("peer")),
            Message::Error { message, .. } => {
                Ok(Frame::PeerError(message.chars().take(200).collect()))
            }
        }
    }
}

/// The server's answer to a `join`: its peer id, storage id and protocol.
pub fn peer_reply(server: &PeerId, peer: &PeerId, storage_id: &str) -> Message {
    Message::Peer {
        sender_id: server.clone(),
        target_id: peer.clone(),
        peer_metadata: crate::PeerMetadata {
            storage_id: Some(storage_id.to_owned()),
            is_ephemeral: false,
        },
        selected_protocol_version: crate::PROTOCOL_VERSION.to_owned(),
    }
}

/// Checks the first message of a connection: a `join` offering protocol
/// "1" (or no versions at all, as old clients send). Returns the peer id.
pub fn check_join(message: Message) -> Result<PeerId, FrameError> {
    let Message::Join {
        sender_id,
        supported_protocol_versions,
        ..
    } = message
    else {
        return Err(FrameError::NotJoined);
    };
    if let Some(versions) = supported_protocol_versions
        && !versions.iter().any(|v| v == crate::PROTOCOL_VERSION)
    {
        let shown = versions
            .into_iter()
            .take(4)
            .map(|v| v.chars().take(16).collect())
            .collect();
        return Err(FrameError::UnsupportedVersion(shown));
    }
    Ok(sender_id)
}

/// Checks that a message after `join` names the joined peer as its sender
/// (if it names one).
pub fn check_sender(joined: &PeerId, message: &Message) -> Result<(), FrameError> {
    match message.sender_id() {
        Some(sender) if sender != joined => Err(FrameError::SenderMismatch {
            got: sender.clone(),
            joined: joined.clone(),
        }),
        _ => Ok(()),
    }
}

/// Checks the sizes of an ephemeral message before it is relayed.
pub fn check_ephemeral(message: &EphemeralMessage) -> Result<(), FrameError> {
    if message.session_id.len() > MAX_SESSION_ID || message.data.len() > MAX_EPHEMERAL_DATA {
        return Err(FrameError::EphemeralTooLarge);
    }
    Ok(())
}

/// The rules a sender's changes are held to in one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rules {
    /// A public reader: nothing it sends is applied.
    ReadOnly,
    /// What a participant may change (the document's [`ChangeRules`]).
    Participant,
    /// What a draft's editor may change (the document's [`ChangeRules`]).
    Drafter,
    /// A host: any change.
    Unrestricted,
}

/// The rules a document's changes are held to, beyond actor binding: who
/// may touch what. The sync engine knows nothing of what a document holds;
/// the domain model supplies them (`model::permissions::SummaryRules`).
pub trait ChangeRules {
    /// Checks `changes` (in causal order, not yet applied to `doc`) of a
    /// sender held to `rules` (`Participant` or `Drafter`), whose own
    /// actors `own` tells. The error is what the sender reads.
    fn check(
        &self,
        rules: Rules,
        doc: &Automerge,
        changes: &[Change],
        own: &dyn Fn(&ActorId) -> bool,
    ) -> Result<(), RuleViolation>;
}

/// Rules for documents without any: every signed-in writer may change
/// anything (the harness, and tests of the engine alone).
#[derive(Debug, Clone, Copy, Default)]
pub struct AnyChange;

impl ChangeRules for AnyChange {
    fn check(
        &self,
        _: Rules,
        _: &Automerge,
        _: &[Change],
        _: &dyn Fn(&ActorId) -> bool,
    ) -> Result<(), RuleViolation> {
        Ok(())
    }
}

/// Who sent a sync message, as the document sees them.
#[derive(Clone, Copy)]
pub struct Sender<'a> {
    /// The signed-in user behind the peer, if any.
    pub user: Option<&'a str>,
    pub rules: Rules,
    /// The document's rules for `Participant` and `Drafter` senders.
    pub checks: &'a dyn ChangeRules,
}

impl std::fmt::Debug for Sender<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("user", &self.user)
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

/// Which user each automerge actor id belongs to (the server's `actors`
/// table). Errors are the store's.
pub trait ActorBindings {
    /// The user an actor id is bound to, if any.
    fn owner(&self, actor: &[u8]) -> Result<Option<String>, BindingsError>;
    /// Binds an unbound actor id to `user`, atomically; returns whether the
    /// actor is now `user`'s (false: someone else's).
    fn bind(&self, actor: &[u8], user: &str) -> Result<bool, BindingsError>;
    /// The actor id the server writes with on `user`'s behalf (made and
    /// bound to them the first time, so nobody can claim it first).
    fn edit_actor(&self, user: &str) -> Result<Vec<u8>, BindingsError>;
}

/// The store behind [`ActorBindings`] failed (the sync engine does not know
/// which store; the error it wraps does).
#[derive(Debug, thiserror::Error)]
#[error("the actors table failed: {0}")]
pub struct BindingsError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

impl BindingsError {
    pub fn new(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Box::new(error))
    }
}

/// A change the document's [`ChangeRules`] refuse; the text is what the
/// sender reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RuleViolation(pub String);

impl From<String> for RuleViolation {
    fn from(reason: String) -> Self {
        Self(reason)
    }
}

/// Why a sync message is not applied. Its text is what the peer reads.
///
/// Messages that cannot be read ([`Refusal::is_forbidden`] false) close
/// the connection with the error; changes the sender may not make are
/// refused with an error naming the document (the client drops its copy of
/// them), and the connection closes too.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("invalid automerge sync message: {0}")]
    Malformed(String),
    #[error("invalid automerge sync message: {0}")]
    OutOfBounds(&'static str),
    #[error("automerge rejected the sync message: {0}")]
    Rejected(String),
    #[error("public readers cannot change documents")]
    ReadOnly,
    #[error("a change was made with another user's automerge actor")]
    ForeignActor,
    #[error("unreadable changes: {0}")]
    Unreadable(#[from] chunks::ChunkError),
    #[error("unreadable changes: {0}")]
    UnlistedActor(#[from] change_actors::ChangeActorsError),
    #[error("applying changes failed: {0}")]
    Apply(String),
    #[error("{0}")]
    Bindings(String),
    #[error(
        "document {document} is full: the change would grow it past the limit of {max} stored bytes"
    )]
    DocumentFull {
        document: crate::DocumentId,
        max: u64,
    },
    #[error(transparent)]
    Rules(#[from] RuleViolation),
}

impl Refusal {
    /// Whether the message was readable but carried changes the sender may
    /// not make (the peer drops its copy of them).
    pub fn is_forbidden(&self) -> bool {
        !matches!(
            self,
            Refusal::Malformed(_) | Refusal::OutOfBounds(_) | Refusal::Rejected(_)
        )
    }
}

/// A sync message that passed [`check_sync`], with its new changes decoded
/// (once: they travel on as values to [`apply`] and the store).
#[derive(Debug)]
pub struct Checked {
    /// The message; its `changes` are exactly the checked changes' bytes.
    pub message: sync::Message,
    /// The changes the document did not have, in the order they came.
    pub changes: Vec<Change>,
    /// A whole history that arrived at once for a document that has none
    /// (see `whole_history`): loaded once, checked change by change, and
    /// taken as the document instead of applying its changes one by one.
    /// `message.changes` is then empty.
    pub document: Option<Automerge>,
}

impl Checked {
    /// Whether the message brings changes the document lacks.
    pub fn brings_changes(&self) -> bool {
        !self.changes.is_empty() || self.document.is_some()
    }
}

/// Reads one sync message (`data` of a `sync` or `request`) for `doc`:
/// decodes and validates it and, if it carries changes, authorises them
/// (binding new actor ids to the sender's user). The message returned
/// carries exactly the checked changes, never other bytes of the input.
pub fn check_sync(
    doc: &mut Relay,
    data: &[u8],
    sender: Sender<'_>,
    actors: &dyn ActorBindings,
) -> Result<Checked, Refusal> {
    let mut message = sync::Message::decode(data).map_err(|e| Refusal::Malformed(e.to_string()))?;
    fast_sync::validate(&message).map_err(Refusal::OutOfBounds)?;
    let mut changes = Vec::new();
    let mut document = None;
    if let Some(whole) = whole_history(doc, &message, sender) {
        authorize_document(&whole, sender, actors)?;
        message.changes = sync::ChunkList::empty();
        document = Some(whole);
    } else if !message.changes.is_empty() {
        changes = authorize(doc, &message, sender, actors)?;
        message.changes = changes
            .iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect::<Vec<_>>()
            .into();
    }
    Ok(Checked {
        message,
        changes,
        document,
    })
}

/// Applies a checked message to `doc` and the sender's sync `state`;
/// returns whether it brought changes.
pub fn apply(doc: &mut Relay, state: &mut sync::State, checked: Checked) -> Result<bool, Refusal> {
    let brings_changes = checked.brings_changes();
    if let Some(document) = checked.document {
        doc.adopt(document)
            .map_err(|e| Refusal::Rejected(e.to_string()))?;
    }
    doc.receive_checked(state, checked.message, checked.changes)
        .map_err(|e| Refusal::Rejected(e.to_string()))?;
    Ok(brings_changes)
}

/// The whole history a message carries, loaded, when it is taken as the
/// document: the document has no changes (none applied, none pending), the
/// message's change data is exactly one document chunk that holds its whole
/// history, and the sender may change anything (a host). A participant's or
/// drafter's changes are read one by one for their rules (`authorize`).
///
/// This is automerge-repo's `import` followed by sync: the client sends the
/// saved document, not its changes. Taking it as loaded costs one load;
/// decoding its changes and applying them one by one would cost several
/// (on the paper trace, 260k changes: ~0.7 s against ~3 s and 28 MB stored
/// instead of the 129 KB document).
fn whole_history(doc: &Relay, message: &sync::Message, sender: Sender<'_>) -> Option<Automerge> {
    if sender.rules != Rules::Unrestricted || sender.user.is_none() || !doc.heads().is_empty() {
        return None;
    }
    match message.changes.iter().collect::<Vec<_>>().as_slice() {
        [data] => chunks::whole_document(data),
        _ => None,
    }
}

/// [`authorize`] for a whole history taken as the document: every change's
/// actor is bound to the sender's user, or is bound to them now (a host's
/// changes are held to no other rule). automerge loaded and checked every
/// change's operations already.
fn authorize_document(
    document: &Automerge,
    sender: Sender<'_>,
    actors: &dyn ActorBindings,
) -> Result<(), Refusal> {
    let Some(user) = sender.user else {
        return Err(Refusal::ReadOnly);
    };
    // Every change is checked through its actor: the same verdict for all
    // changes of one actor, asked once.
    let mut authors: Vec<ActorId> = document
        .get_changes_meta(&[])
        .into_iter()
        .map(|meta| meta.actor.into_owned())
        .collect();
    authors.sort_unstable();
    authors.dedup();
    let mut unbound = Vec::new();
    for actor in &authors {
        match actors
            .owner(actor.to_bytes())
            .map_err(|e| Refusal::Bindings(e.to_string()))?
        {
            Some(owner) if owner == user => {}
            Some(_) => return Err(Refusal::ForeignActor),
            None => unbound.push(actor),
        }
    }
    for actor in unbound {
        if !actors
            .bind(actor.to_bytes(), user)
            .map_err(|e| Refusal::Bindings(e.to_string()))?
        {
            return Err(Refusal::ForeignActor);
        }
    }
    Ok(())
}

/// Decides whether the sender may make the changes a message carries, and
/// binds new automerge actor ids to the sender's user. Nothing is applied
/// here; a refusal refuses the whole message. Returns the checked changes.
fn authorize(
    doc: &mut Relay,
    message: &sync::Message,
    sender: Sender<'_>,
    actors: &dyn ActorBindings,
) -> Result<Vec<Change>, Refusal> {
    let Some(user) = sender.user.filter(|_| sender.rules != Rules::ReadOnly) else {
        return Err(Refusal::ReadOnly);
    };
    let changes = new_changes(doc, message)?;
    let mut unbound = Vec::new();
    for change in &changes {
        let actor = change.actor_id().to_bytes();
        match actors
            .owner(actor)
            .map_err(|e| Refusal::Bindings(e.to_string()))?
        {
            Some(owner) if owner == user => {}
            Some(_) => return Err(Refusal::ForeignActor),
            None => unbound.push(actor.to_vec()),
        }
    }
    if matches!(sender.rules, Rules::Participant | Rules::Drafter) {
        let mine = |a: &ActorId| {
            unbound.iter().any(|u| u.as_slice() == a.to_bytes())
                || actors.owner(a.to_bytes()).ok().flatten().as_deref() == Some(user)
        };
        sender
            .checks
            .check(sender.rules, applied(doc)?, &changes, &mine)?;
    }
    for actor in unbound {
        // Of two users racing for a new actor id, one wins and the other is
        // refused.
        if !actors
            .bind(&actor, user)
            .map_err(|e| Refusal::Bindings(e.to_string()))?
        {
            return Err(Refusal::ForeignActor);
        }
    }
    Ok(changes)
}

/// The document with every change applied: the rules read it.
fn applied(doc: &mut Relay) -> Result<&Automerge, Refusal> {
    doc.doc().map_err(|e| Refusal::Apply(e.to_string()))
}

/// The changes a sync message carries that `doc` does not have yet, in
/// the order they came (automerge sends them in causal order). Every form
/// of change data automerge accepts is read ([`chunks`]): single changes,
/// several changes in one element, bundles, and document chunks (whole
/// documents, or runs of changes continuing the document's history).
fn new_changes(doc: &mut Relay, message: &sync::Message) -> Result<Vec<Change>, Refusal> {
    let mut out = Vec::new();
    let mut needs_document = false;
    for data in message.changes.iter() {
        match chunks::decode_standalone(data)? {
            Some(changes) => out.extend(changes),
            None => needs_document = true,
        }
    }
    if needs_document {
        // A document chunk that continues our history: let automerge read
        // the whole message onto a copy of the document, as it would.
        let joined: Vec<u8> = message.changes.iter().flatten().copied().collect();
        out = chunks::decode_onto(applied(doc)?, &joined)?;
    }
    chunks::dedup(&mut out);
    // An unloaded document knows its changes by hash only once loaded.
    doc.load_unless_provably_new(&out)
        .map_err(|e| Refusal::Apply(e.to_string()))?;
    out.retain(|c| !doc.knows(&[c.hash()]));
    // automerge panics on an operation naming an actor the change does not
    // list, both when decoding and when applying it.
    for change in &out {
        change_actors::check(change)?;
    }
    Ok(out)
}

/// The sync messages of one turn, generated once per distinct peer state.
///
/// `generate_sync_message` is a pure function of the document and the
/// peer's sync state, and costs time proportional to history. Peers in the
/// same state (in a busy document, most of them: they all acknowledged the
/// same heads) get the same message, so it is computed once per state.
#[derive(Default)]
pub struct Replies {
    memo: HashMap<sync::State, (Option<Vec<u8>>, sync::State)>,
}

impl std::fmt::Debug for Replies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replies")
            .field("states", &self.memo.len())
            .finish()
    }
}

impl Replies {
    /// Replies for a document that does not change until they are all made.
    pub fn new() -> Self {
        Self::default()
    }

    /// The encoded sync message for a peer in `state` (which advances), or
    /// `None` if it has nothing to hear. With `must_confirm` (the peer
    /// brought changes this turn) it always gets a message with our heads:
    /// automerge stays silent when the peer's follow-up message already
    /// showed equal heads, and the peer would never learn that its changes
    /// are stored.
    pub fn reply(
        &mut self,
        doc: &mut Relay,
        state: &mut sync::State,
        must_confirm: bool,
    ) -> Result<Option<Vec<u8>>, AutomergeError> {
        if !must_confirm && fast_sync::nothing_to_send(doc, state) {
            return Ok(None);
        }
        let (mut data, next) = match self.memo.get(state) {
            Some(known) => known.clone(),
            None => {
                let before = state.clone();
                let mut next = before.clone();
                let data = doc.generate(&mut next)?.map(|m| m.encode());
                self.memo.insert(before, (data.clone(), next.clone()));
                (data, next)
            }
        };
        *state = next;
        if data.is_none() && must_confirm {
            // Forget what we last told them, so the generator speaks.
            state.last_sent_heads.clear();
            data = doc.generate(state)?.map(|m| m.encode());
        }
        Ok(data)
    }
}
