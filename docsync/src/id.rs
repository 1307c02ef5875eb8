//! Identifiers on the wire.
//!
//! A [`DocumentId`] is the bs58check encoding (Bitcoin alphabet plus a 4-byte
//! double-SHA256 checksum) of a 16-byte UUID, exactly as automerge-repo makes
//! them. A [`PeerId`] is an opaque string chosen by each peer.

use std::fmt;
use std::str::FromStr;

/// The prefix of an automerge-repo document URL.
pub const URL_PREFIX: &str = "automerge:";

/// A document's identity: 16 random bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentId([u8; 16]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid document id")]
pub struct InvalidDocumentId;

impl DocumentId {
    /// A fresh random id (UUIDv4), as `repo.create()` makes.
    pub fn random() -> Self {
        Self(*uuid::Uuid::new_v4().as_bytes())
    }

    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Parses the bare bs58check form or an `automerge:` URL.
    pub fn parse(s: &str) -> Result<Self, InvalidDocumentId> {
        let bare = s.strip_prefix(URL_PREFIX).unwrap_or(s);
        // A bs58 string of 20 bytes is at most 28 characters: reject long
        // input before decoding it.
        if bare.is_empty() || bare.len() > 32 {
            return Err(InvalidDocumentId);
        }
        let mut decoded = [0u8; 20];
        let len = bs58::decode(bare)
            .onto(&mut decoded[..])
            .map_err(|_| InvalidDocumentId)?;
        if len != decoded.len() {
            return Err(InvalidDocumentId);
        }
        let (bytes, check) = decoded.split_at(16);
        let bytes: [u8; 16] = bytes.try_into().map_err(|_| InvalidDocumentId)?;
        if checksum(&bytes) != check {
            return Err(InvalidDocumentId);
        }
        Ok(Self(bytes))
    }

    /// The `automerge:<id>` URL form.
    pub fn url(&self) -> String {
        format!("{URL_PREFIX}{self}")
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut checked = [0u8; 20];
        checked[..16].copy_from_slice(&self.0);
        checked[16..].copy_from_slice(&checksum(&self.0));
        f.write_str(&bs58::encode(checked).into_string())
    }
}

/// bs58check's checksum: the first 4 bytes of SHA-256 applied twice.
fn checksum(payload: &[u8]) -> [u8; 4] {
    use sha2::{Digest, Sha256};
    let hash = Sha256::digest(Sha256::digest(payload));
    [hash[0], hash[1], hash[2], hash[3]]
}

impl fmt::Debug for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocumentId({self})")
    }
}

impl FromStr for DocumentId {
    type Err = InvalidDocumentId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A peer's self-chosen name, e.g. `peer-x7f…` for JS clients.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid peer id: must be 1 to {max} printable characters", max = PeerId::MAX_LEN)]
pub struct InvalidPeerId;

impl PeerId {
    pub const MAX_LEN: usize = 256;

    pub fn new(s: impl Into<String>) -> Result<Self, InvalidPeerId> {
        let s = s.into();
        if s.is_empty() || s.len() > Self::MAX_LEN || s.chars().any(char::is_control) {
            return Err(InvalidPeerId);
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerId({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_id_round_trips() {
        let id = DocumentId::random();
        let text = id.to_string();
        assert_eq!(DocumentId::parse(&text), Ok(id));
        assert_eq!(DocumentId::parse(&id.url()), Ok(id));
    }

    #[test]
    fn known_automerge_repo_id_parses() {
        // An id produced by automerge-repo's `repo.create()`.
        let id = DocumentId::parse("4NMNnkMhL8jXrdJ9jamS58PAVdXu").expect("valid id");
        assert_eq!(id.to_string(), "4NMNnkMhL8jXrdJ9jamS58PAVdXu");
    }

    #[test]
    fn bad_document_ids_are_rejected() {
        for bad in [
            "",
            "automerge:",
            "not-base58-0OIl",
            "4NMNnkMhL8jXrdJ9jamS58PAVdXv",
            "1111",
        ] {
            assert_eq!(DocumentId::parse(bad), Err(InvalidDocumentId), "{bad}");
        }
        let long = "z".repeat(1000);
        assert_eq!(DocumentId::parse(&long), Err(InvalidDocumentId));
        // Valid bs58check but not 16 bytes.
        let short = [1u8, 2, 3];
        let short = bs58::encode([&short[..], &checksum(&short)].concat()).into_string();
        assert_eq!(DocumentId::parse(&short), Err(InvalidDocumentId));
    }

    #[test]
    fn peer_ids_are_bounded() {
        assert!(PeerId::new("peer-abc").is_ok());
        assert!(PeerId::new("").is_err());
        assert!(PeerId::new("a\nb").is_err());
        assert!(PeerId::new("x".repeat(257)).is_err());
    }
}
