//! Synpunkt's IO-free core, shared by the server and the wasm client.
//!
//! - [`id`]: document and peer identifiers, validated at the edge.
//! - [`message`]: the automerge-repo wire messages (protocol "1").
//! - [`codec`]: CBOR encoding and a lenient, bounded decoder.
//! - [`cbor_limits`]: the structural check of a frame before decoding
//!   (depth, declared lengths, no indefinite-length items).
//! - [`summary`]: the summary document schema (typed accessors, Markdown).
//! - [`fast_sync`]: automerge sync in time independent of history.
//! - [`relay`]: a document that relays live changes before applying them.
//! - [`doc_state`]: one document's whole behaviour on the server, without IO.
//! - [`harness`]: a deterministic world of peers, store and crashes around
//!   one [`doc_state::DocState`], for property tests and fuzzing.
//! - [`incoming`]: the server's checks and handling of what a peer sends.
//! - [`chunks`]: the changes in sync messages' change data, in every form.
//!
//! Nothing in this crate performs IO, spawns tasks or reads clocks, so it
//! builds for native targets and for `wasm32-unknown-unknown` alike.

pub mod cbor_limits;
pub mod change_actors;
pub mod chunks;
pub mod codec;
pub mod contributions;
pub mod diff;
pub mod doc_state;
pub mod drafts;
pub mod fast_sync;
pub mod harness;
pub mod history;
pub mod id;
pub mod incoming;
pub mod message;
pub mod permissions;
pub mod presence;
mod read;
pub mod relay;
pub mod session;
pub mod summary;
pub mod threads;
pub mod view;

pub use codec::{DecodeError, decode, encode};
pub use id::{DocumentId, InvalidDocumentId, InvalidPeerId, PeerId};
pub use message::{EphemeralMessage, Message, PeerMetadata, SyncKind, SyncMessage};

/// The only protocol version automerge-repo 2.x speaks, and so do we.
pub const PROTOCOL_VERSION: &str = "1";
