//! CBOR encoding of [`Message`]s, compatible with automerge-repo's cbor-x.
//!
//! Decoding is lenient where cbor-x is loose (whole numbers sent as floats,
//! `undefined` for absent values, unknown keys) and strict where it matters:
//! every id is validated, unknown message types are errors, and a frame's
//! structure is checked before it is decoded (`cbor_limits`: depth, declared
//! lengths, no indefinite-length items), so hostile input can neither
//! exhaust the stack nor make the decoder allocate more than the frame.

use ciborium::value::{Integer, Value};

use crate::id::{DocumentId, InvalidDocumentId, InvalidPeerId, PeerId};
use crate::message::{EphemeralMessage, IgnoredKind, Message, PeerMetadata, SyncKind, SyncMessage};

/// Maximum CBOR nesting accepted. Our messages are at most three levels deep.
pub const MAX_DEPTH: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("malformed CBOR: {0}")]
    Cbor(String),
    #[error(transparent)]
    Limit(#[from] crate::cbor_limits::CborLimit),
    #[error("message is not a CBOR map")]
    NotAMap,
    #[error("missing or invalid field `{0}`")]
    Field(&'static str),
    #[error("unknown message type `{0}`")]
    UnknownType(String),
    #[error(transparent)]
    DocumentId(#[from] InvalidDocumentId),
    #[error("field `{field}`: {source}")]
    PeerId {
        field: &'static str,
        source: InvalidPeerId,
    },
}

/// Encodes a message as one CBOR map, as automerge-repo's WebSocket adapter
/// expects in each binary frame.
pub fn encode(message: &Message) -> Vec<u8> {
    let value = to_value(message);
    let mut out = Vec::with_capacity(64);
    crate::cbor::write(&value, &mut out);
    out
}

/// Decodes one frame. Never panics, whatever the input.
pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
    // Depth, declared lengths and indefinite items are checked on the
    // headers before anything is allocated.
    crate::cbor_limits::check(bytes, MAX_DEPTH)?;
    let value =
        crate::cbor::read(bytes, MAX_DEPTH).map_err(|e| DecodeError::Cbor(e.to_string()))?;
    let Value::Map(entries) = value else {
        return Err(DecodeError::NotAMap);
    };
    let map = Fields(entries);
    let kind = map.text("type").ok_or(DecodeError::Field("type"))?;
    match kind {
        "join" => Ok(Message::Join {
            sender_id: map.peer("senderId")?,
            peer_metadata: map.metadata("peerMetadata"),
            supported_protocol_versions: map.get("supportedProtocolVersions").and_then(|v| {
                let Value::Array(items) = v else { return None };
                Some(
                    items
                        .iter()
                        .filter_map(|i| i.as_text().map(str::to_owned))
                        .collect(),
                )
            }),
        }),
        "peer" => Ok(Message::Peer {
            sender_id: map.peer("senderId")?,
            target_id: map.peer("targetId")?,
            peer_metadata: map.metadata("peerMetadata"),
            selected_protocol_version: map
                .text("selectedProtocolVersion")
                .ok_or(DecodeError::Field("selectedProtocolVersion"))?
                .to_owned(),
        }),
        "error" => Ok(Message::Error {
            sender_id: map.optional_peer("senderId")?,
            target_id: map.optional_peer("targetId")?,
            message: map.text("message").unwrap_or_default().to_owned(),
            document_id: map.optional_document_id()?,
        }),
        "request" | "sync" => Ok(Message::Sync(SyncMessage {
            kind: if kind == "request" {
                SyncKind::Request
            } else {
                SyncKind::Sync
            },
            sender_id: map.peer("senderId")?,
            target_id: map.peer("targetId")?,
            document_id: map.document_id()?,
            data: map.bytes("data")?,
        })),
        "doc-unavailable" => Ok(Message::DocUnavailable {
            sender_id: map.peer("senderId")?,
            target_id: map.peer("targetId")?,
            document_id: map.document_id()?,
        }),
        "ephemeral" => Ok(Message::Ephemeral(EphemeralMessage {
            sender_id: map.peer("senderId")?,
            target_id: map.peer("targetId")?,
            count: map.uint("count").ok_or(DecodeError::Field("count"))?,
            session_id: map
                .text("sessionId")
                .ok_or(DecodeError::Field("sessionId"))?
                .to_owned(),
            document_id: map.document_id()?,
            data: map.bytes("data")?,
        })),
        "remote-subscription-change" => Ok(Message::Ignored {
            kind: IgnoredKind::RemoteSubscriptionChange,
        }),
        "remote-heads-changed" => Ok(Message::Ignored {
            kind: IgnoredKind::RemoteHeadsChanged,
        }),
        "leave" => Ok(Message::Ignored {
            kind: IgnoredKind::Leave,
        }),
        other => Err(DecodeError::UnknownType(truncate(other, 64))),
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Borrowed view of a decoded CBOR map with typed, lenient getters.
struct Fields(Vec<(Value, Value)>);

impl Fields {
    fn get(&self, key: &str) -> Option<&Value> {
        self.0
            .iter()
            .find(|(k, _)| k.as_text() == Some(key))
            .map(|(_, v)| v)
            // cbor-x may send `undefined` for absent fields; ciborium reads it as Null.
            .filter(|v| !matches!(v, Value::Null))
    }

    fn text(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_text)
    }

    fn bytes(&self, key: &'static str) -> Result<Vec<u8>, DecodeError> {
        match self.get(key) {
            Some(Value::Bytes(b)) => Ok(b.clone()),
            // A tagged typed array (cbor-x with tagUint8Array) carries bytes too.
            Some(Value::Tag(_, inner)) => match inner.as_ref() {
                Value::Bytes(b) => Ok(b.clone()),
                _ => Err(DecodeError::Field(key)),
            },
            _ => Err(DecodeError::Field(key)),
        }
    }

    /// A non-negative whole number, sent as an integer or (by cbor-x) a float.
    fn uint(&self, key: &str) -> Option<u64> {
        match self.get(key)? {
            Value::Integer(i) => u64::try_from(*i).ok(),
            Value::Float(f) if f.fract() == 0.0 && *f >= 0.0 && *f <= u64::MAX as f64 => {
                Some(*f as u64)
            }
            _ => None,
        }
    }

    fn peer(&self, key: &'static str) -> Result<PeerId, DecodeError> {
        let text = self.text(key).ok_or(DecodeError::Field(key))?;
        PeerId::new(text).map_err(|source| DecodeError::PeerId { field: key, source })
    }

    fn optional_peer(&self, key: &'static str) -> Result<Option<PeerId>, DecodeError> {
        match self.get(key) {
            None => Ok(None),
            Some(_) => self.peer(key).map(Some),
        }
    }

    fn optional_document_id(&self) -> Result<Option<DocumentId>, DecodeError> {
        match self.get("documentId") {
            None => Ok(None),
            Some(_) => self.document_id().map(Some),
        }
    }

    fn document_id(&self) -> Result<DocumentId, DecodeError> {
        let text = self
            .text("documentId")
            .ok_or(DecodeError::Field("documentId"))?;
        Ok(DocumentId::parse(text)?)
    }

    fn metadata(&self, key: &str) -> PeerMetadata {
        let Some(Value::Map(entries)) = self.get(key) else {
            return PeerMetadata::default();
        };
        let inner = Fields(entries.clone());
        PeerMetadata {
            storage_id: inner.text("storageId").map(str::to_owned),
            is_ephemeral: matches!(inner.get("isEphemeral"), Some(Value::Bool(true))),
        }
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn entry(key: &str, value: Value) -> (Value, Value) {
    (text(key), value)
}

fn metadata_value(m: &PeerMetadata) -> Value {
    let mut entries = Vec::with_capacity(2);
    if let Some(storage_id) = &m.storage_id {
        entries.push(entry("storageId", text(storage_id)));
    }
    entries.push(entry("isEphemeral", Value::Bool(m.is_ephemeral)));
    Value::Map(entries)
}

fn to_value(message: &Message) -> Value {
    let mut entries = vec![entry("type", text(message.type_name()))];
    match message {
        Message::Join {
            sender_id,
            peer_metadata,
            supported_protocol_versions,
        } => {
            entries.push(entry("senderId", text(sender_id.as_str())));
            entries.push(entry("peerMetadata", metadata_value(peer_metadata)));
            if let Some(versions) = supported_protocol_versions {
                entries.push(entry(
                    "supportedProtocolVersions",
                    Value::Array(versions.iter().map(|v| text(v)).collect()),
                ));
            }
        }
        Message::Peer {
            sender_id,
            target_id,
            peer_metadata,
            selected_protocol_version,
        } => {
            entries.push(entry("senderId", text(sender_id.as_str())));
            entries.push(entry("targetId", text(target_id.as_str())));
            entries.push(entry("peerMetadata", metadata_value(peer_metadata)));
            entries.push(entry(
                "selectedProtocolVersion",
                text(selected_protocol_version),
            ));
        }
        Message::Error {
            sender_id,
            target_id,
            message,
            document_id,
        } => {
            if let Some(s) = sender_id {
                entries.push(entry("senderId", text(s.as_str())));
            }
            if let Some(t) = target_id {
                entries.push(entry("targetId", text(t.as_str())));
            }
            entries.push(entry("message", text(message)));
            if let Some(d) = document_id {
                entries.push(entry("documentId", text(&d.to_string())));
            }
        }
        Message::Sync(m) => {
            entries.push(entry("senderId", text(m.sender_id.as_str())));
            entries.push(entry("targetId", text(m.target_id.as_str())));
            entries.push(entry("documentId", text(&m.document_id.to_string())));
            entries.push(entry("data", Value::Bytes(m.data.clone())));
        }
        Message::DocUnavailable {
            sender_id,
            target_id,
            document_id,
        } => {
            entries.push(entry("senderId", text(sender_id.as_str())));
            entries.push(entry("targetId", text(target_id.as_str())));
            entries.push(entry("documentId", text(&document_id.to_string())));
        }
        Message::Ephemeral(m) => {
            entries.push(entry("senderId", text(m.sender_id.as_str())));
            entries.push(entry("targetId", text(m.target_id.as_str())));
            entries.push(entry("count", Value::Integer(Integer::from(m.count))));
            entries.push(entry("sessionId", text(&m.session_id)));
            entries.push(entry("documentId", text(&m.document_id.to_string())));
            entries.push(entry("data", Value::Bytes(m.data.clone())));
        }
        Message::Ignored { .. } => {}
    }
    Value::Map(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(s: &str) -> PeerId {
        PeerId::new(s).expect("valid peer id")
    }

    fn samples() -> Vec<Message> {
        let doc = DocumentId::random();
        vec![
            Message::Join {
                sender_id: peer("peer-1"),
                peer_metadata: PeerMetadata {
                    storage_id: None,
                    is_ephemeral: true,
                },
                supported_protocol_versions: Some(vec!["1".into()]),
            },
            Message::Peer {
                sender_id: peer("server"),
                target_id: peer("peer-1"),
                peer_metadata: PeerMetadata {
                    storage_id: Some("store-1".into()),
                    is_ephemeral: false,
                },
                selected_protocol_version: "1".into(),
            },
            Message::Error {
                sender_id: Some(peer("server")),
                target_id: None,
                message: "nope".into(),
                document_id: None,
            },
            Message::Error {
                sender_id: Some(peer("server")),
                target_id: None,
                message: "change refused".into(),
                document_id: Some(doc),
            },
            Message::Sync(SyncMessage {
                kind: SyncKind::Request,
                sender_id: peer("peer-1"),
                target_id: peer("server"),
                document_id: doc,
                data: vec![0x42, 1, 2, 3],
            }),
            Message::Sync(SyncMessage {
                kind: SyncKind::Sync,
                sender_id: peer("peer-1"),
                target_id: peer("server"),
                document_id: doc,
                data: vec![0x42],
            }),
            Message::DocUnavailable {
                sender_id: peer("server"),
                target_id: peer("peer-1"),
                document_id: doc,
            },
            Message::Ephemeral(EphemeralMessage {
                sender_id: peer("peer-1"),
                target_id: peer("peer-2"),
                count: 7,
                session_id: "s-1".into(),
                document_id: doc,
                data: vec![0xa0],
            }),
        ]
    }

    #[test]
    fn every_message_round_trips() {
        for m in samples() {
            assert_eq!(decode(&encode(&m)), Ok(m.clone()), "{}", m.type_name());
        }
    }

    #[test]
    fn floats_and_undefined_are_accepted() {
        let doc = DocumentId::random();
        let value = Value::Map(vec![
            entry("type", text("ephemeral")),
            entry("senderId", text("a")),
            entry("targetId", text("b")),
            entry("count", Value::Float(3.0)),
            entry("sessionId", text("s")),
            entry("documentId", text(&doc.to_string())),
            entry("data", Value::Bytes(vec![1])),
            entry("unknownKey", Value::Null),
        ]);
        let mut bytes = Vec::new();
        ciborium::into_writer(&value, &mut bytes).expect("encode");
        let Ok(Message::Ephemeral(m)) = decode(&bytes) else {
            panic!("expected an ephemeral message");
        };
        assert_eq!(m.count, 3);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(decode(&[0xff, 0x00]), Err(DecodeError::Limit(_))));
        assert!(matches!(decode(&[0x61, 0xff]), Err(DecodeError::Cbor(_))));
        assert!(matches!(decode(&[0x01]), Err(DecodeError::NotAMap)));
        let mut unknown = Vec::new();
        ciborium::into_writer(
            &Value::Map(vec![entry("type", text("launch-missiles"))]),
            &mut unknown,
        )
        .expect("encode");
        assert_eq!(
            decode(&unknown),
            Err(DecodeError::UnknownType("launch-missiles".into()))
        );
    }

    #[test]
    fn deep_nesting_is_rejected_without_overflow() {
        // 100k nested arrays: would overflow the stack without a limit.
        let mut bytes = vec![0x81; 100_000];
        bytes.push(0x00);
        assert!(matches!(decode(&bytes), Err(DecodeError::Limit(_))));
    }

    #[test]
    fn truncated_frames_never_panic() {
        for m in samples() {
            let bytes = encode(&m);
            for end in 0..bytes.len() {
                let _ = decode(&bytes[..end]);
            }
        }
    }
}
