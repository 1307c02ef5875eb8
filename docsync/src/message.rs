//! The automerge-repo wire messages, protocol "1".
//!
//! Field names follow the JavaScript implementation (`senderId`, `targetId`,
//! `documentId`, …); see `docs/sync-protocol.md` in the steering repository.

use crate::id::{DocumentId, PeerId};

/// What a peer says about itself in `join` and `peer`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerMetadata {
    /// A stable id of the peer's storage, if it has any.
    pub storage_id: Option<String>,
    /// Ephemeral peers keep no storage of their own.
    pub is_ephemeral: bool,
}

/// `request` ("sync, and tell me if you don't have it") or plain `sync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncKind {
    Request,
    Sync,
}

impl SyncKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncKind::Request => "request",
            SyncKind::Sync => "sync",
        }
    }
}

/// A `request` or `sync`: one automerge sync message for one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncMessage {
    pub kind: SyncKind,
    pub sender_id: PeerId,
    pub target_id: PeerId,
    pub document_id: DocumentId,
    /// An encoded `automerge::sync::Message`.
    pub data: Vec<u8>,
}

/// Presence and other transient data, relayed to the document's other peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EphemeralMessage {
    /// The original author; kept unchanged when relayed.
    pub sender_id: PeerId,
    pub target_id: PeerId,
    pub count: u64,
    pub session_id: String,
    pub document_id: DocumentId,
    /// An opaque CBOR payload.
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Client → server, the first message of a connection.
    Join {
        sender_id: PeerId,
        peer_metadata: PeerMetadata,
        /// `None` when the field is missing (old clients): treated as ["1"].
        supported_protocol_versions: Option<Vec<String>>,
    },
    /// Server → client, the answer to `join`.
    Peer {
        sender_id: PeerId,
        target_id: PeerId,
        peer_metadata: PeerMetadata,
        selected_protocol_version: String,
    },
    /// Server → client; the server closes the connection after it.
    /// `document_id` (our extension; other peers ignore it) names the
    /// document whose sync message was refused, so that a client can drop
    /// the refused change instead of sending it again on every reconnect.
    Error {
        sender_id: Option<PeerId>,
        target_id: Option<PeerId>,
        message: String,
        document_id: Option<DocumentId>,
    },
    Sync(SyncMessage),
    DocUnavailable {
        sender_id: PeerId,
        target_id: PeerId,
        document_id: DocumentId,
    },
    Ephemeral(EphemeralMessage),
    /// `remote-subscription-change`, `remote-heads-changed` and the legacy
    /// `leave`: understood and deliberately ignored (remote-heads gossip is
    /// off, as in automerge-repo's default).
    Ignored {
        kind: IgnoredKind,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IgnoredKind {
    RemoteSubscriptionChange,
    RemoteHeadsChanged,
    Leave,
}

impl IgnoredKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IgnoredKind::RemoteSubscriptionChange => "remote-subscription-change",
            IgnoredKind::RemoteHeadsChanged => "remote-heads-changed",
            IgnoredKind::Leave => "leave",
        }
    }
}

impl Message {
    /// The wire `type` of this message.
    pub fn type_name(&self) -> &'static str {
        match self {
            Message::Join { .. } => "join",
            Message::Peer { .. } => "peer",
            Message::Error { .. } => "error",
            Message::Sync(m) => m.kind.as_str(),
            Message::DocUnavailable { .. } => "doc-unavailable",
            Message::Ephemeral(_) => "ephemeral",
            Message::Ignored { kind } => kind.as_str(),
        }
    }

    /// The peer that sent this message, if the message names one.
    pub fn sender_id(&self) -> Option<&PeerId> {
        match self {
            Message::Join { sender_id, .. }
            | Message::Peer { sender_id, .. }
            | Message::DocUnavailable { sender_id, .. } => Some(sender_id),
            Message::Error { sender_id, .. } => sender_id.as_ref(),
            Message::Sync(m) => Some(&m.sender_id),
            Message::Ephemeral(m) => Some(&m.sender_id),
            Message::Ignored { .. } => None,
        }
    }
}
