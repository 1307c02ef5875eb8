//! Synpunkt's test kit, shared by the integration tests and the benchmarks:
//!
//! - [`TestServer`]: a real server on `127.0.0.1:0` over a real sled
//!   directory;
//! - [`Client`]: a Rust automerge-repo peer over a real WebSocket;
//! - [`NodePeer`]: the real JavaScript automerge-repo client, scripted
//!   through `tests/js/peer.mjs`;
//! - [`ServerProcess`]: the `synpunkt` binary as a child process (signals,
//!   crashes, command line).
//!
//! Every wait here is on an event (a message arriving), bounded by a
//! timeout that fails the test; nothing sleeps to synchronise.

mod client;
mod node;
mod process;
mod server;

pub use client::{Client, ClientError};
pub use node::NodePeer;
pub use process::{ServerProcess, synpunkt_bin};
pub use server::TestServer;

use std::time::Duration;

/// How long any single wait in a test may take before it fails.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// The repository root (the workspace directory).
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Polls `condition` (cheap, in-process state such as a metric) until it
/// holds; fails the test after [`TIMEOUT`]. For conditions no message
/// announces.
pub async fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
