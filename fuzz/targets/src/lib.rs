//! Synpunkt's fuzz targets as plain functions of the input bytes.
//!
//! libFuzzer runs them from `fuzz/fuzz_targets/` (`cargo xtask fuzz`,
//! `cargo fuzz run`); `tests/corpus.rs` replays every file of the committed
//! corpus (`fuzz/corpus/<target>/`) through them in every `cargo test`.
//! A target panics exactly when it finds a bug.
//!
//! - [`wire_decode`]: the wire codec.
//! - [`incoming`]: the server's handling of a sequence of frames.
//! - [`frames`]: how one input holds a role and a sequence of frames.
//! - [`fixture`]: the realistic summary document they run on.
//! - [`server`]: the server's frame handling and document state
//!   (`docsync::incoming::Frames`, `docsync::doc_state::DocState`) with
//!   in-memory IO.
//! - [`oracle`]: the role rules checked after every stored change.
//! - [`seeds`]: real frames from scripted client sessions (corpus seeds).

pub mod fixture;
pub mod frames;
pub mod oracle;
pub mod seeds;
pub mod server;
mod wire;

pub use wire::wire_decode;

/// The `incoming` target: a peer in the role the input names sends its
/// frames, one by one, to the server holding the fixture document. Panics
/// if handling panics or if a change the role may not make got applied.
pub fn incoming(data: &[u8]) {
    let (role, frames) = frames::split(data);
    let mut server = server::Server::new(role);
    for frame in frames {
        let _ = server.receive(frame);
    }
}
