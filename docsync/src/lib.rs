//! Synpunkt's sync engine, without IO: the automerge-repo wire protocol and
//! what a server and a client do with it. It knows nothing of summaries;
//! the rules a document's changes are held to come from outside
//! ([`incoming::ChangeRules`], implemented by the `model` crate).
//!
//! - [`id`]: document and peer identifiers, validated at the edge.
//! - [`message`]: the automerge-repo wire messages (protocol "1").
//! - [`codec`]: CBOR encoding and a lenient, bounded decoder.
//! - [`cbor`]: CBOR to and from values, without serde (less wasm).
//! - [`cbor_limits`]: the structural check of a frame before decoding
//!   (depth, declared lengths, no indefinite-length items).
//! - [`chunks`]: the changes in sync messages' change data, in every form
//!   automerge accepts.
//! - [`change_actors`]: refuses changes whose operations name unlisted
//!   actors (automerge panics on them).
//! - [`fast_sync`]: automerge sync in time independent of history.
//! - [`relay`]: a document that relays live changes before applying them.
//! - [`incoming`]: a connection's frame handling and the checks of what a
//!   peer sends (decode once, actor binding, the document's rules).
//! - [`doc_state`]: one document's whole behaviour on the server, without
//!   IO: inputs in, effects out.
//! - [`harness`]: a deterministic world of peers, store and crashes around
//!   one [`doc_state::DocState`], for property tests and fuzzing.
//! - [`session`]: a client's side of the sync protocol (the browser
//!   client's core).
//!
//! Nothing in this crate performs IO, spawns tasks or reads clocks, so it
//! builds for native targets and for `wasm32-unknown-unknown` alike.

pub mod cbor;
pub mod cbor_limits;
pub mod change_actors;
pub mod chunks;
pub mod codec;
pub mod doc_state;
pub mod fast_sync;
pub mod harness;
pub mod id;
pub mod incoming;
pub mod message;
pub mod relay;
pub mod session;

pub use codec::{DecodeError, decode, encode};
pub use id::{DocumentId, InvalidDocumentId, InvalidPeerId, PeerId};
pub use message::{EphemeralMessage, Message, PeerMetadata, SyncKind, SyncMessage};

/// The only protocol version automerge-repo 2.x speaks, and so do we.
pub const PROTOCOL_VERSION: &str = "1";
