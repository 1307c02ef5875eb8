//! Synpunkt's test kit, shared by the integration tests and the benchmarks:
//!
//! - [`TestServer`]: a real server on `127.0.0.1:0` over a real sled
//!   directory;
//! - [`Client`]: a Rust automerge-repo peer over a real WebSocket;
//! - [`NodePeer`]: the real JavaScript automerge-repo client, scripted
//!   through `tests/js/peer.mjs`;
//! - [`ServerProcess`]: the `synpunkt` binary as a child process (signals,
//!   crashes, command line);
//! - [`Postgres`]: a throwaway PostgreSQL server (`--store postgres://…`);
//! - [`Cluster`]: PostgreSQL, several `synpunkt` processes on it and a real
//!   HAProxy in front (`deploy/haproxy.cfg`);
//! - [`Browser`]: a real headless Chromium driven over WebDriver, for the
//!   browser client.
//!
//! Every wait here is on an event (a message arriving), bounded by a
//! timeout that fails the test; nothing sleeps to synchronise.

mod browser;
mod client;
mod cluster;
mod node;
mod postgres;
mod process;
mod server;

pub use browser::{Browser, Key, screenshots_dir};
pub use client::{ChangeData, Client, ClientError};
pub use cluster::{Cluster, NodeState, haproxy_config};
pub use node::NodePeer;
pub use postgres::{Postgres, postgres_bin};
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

/// A minimal HTTP/1.1 GET over a real socket: (status, body).
pub async fn http_get(url: &str) -> (u16, String) {
    let (status, _, body) = http("GET", url, None, None).await;
    (status, body)
}

/// A minimal HTTP/1.1 request over a real socket, with an optional JSON
/// body and session token: (status, response headers, body).
pub async fn http(
    method: &str,
    url: &str,
    json: Option<&str>,
    token: Option<&str>,
) -> (u16, String, String) {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = Vec::new();
    if let Some(bearer) = &bearer {
        headers.push(("Authorization", bearer.as_str()));
    }
    if json.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    http_with(method, url, &headers, json).await
}

/// A minimal HTTP/1.1 request over a real socket with the given request
/// headers (a `Cookie`, `Accept-Language`, a form's `Content-Type`, ...)
/// and an optional body: (status, response headers, body).
pub async fn http_with(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, String, String) {
    http_from(None, method, url, headers, body).await
}

/// [`http_with`] from a chosen local address (another loopback address,
/// such as `127.0.0.2`, is another client to the server).
pub async fn http_from(
    source: Option<std::net::IpAddr>,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("http url");
    let (host, path) = rest.split_once('/').expect("path");
    let mut stream = match source {
        None => tokio::net::TcpStream::connect(host).await.expect("connect"),
        Some(ip) => {
            let socket = tokio::net::TcpSocket::new_v4().expect("socket");
            socket
                .bind(std::net::SocketAddr::new(ip, 0))
                .expect("bind the source address");
            let addr = host.parse().expect("a numeric host:port");
            socket.connect(addr).await.expect("connect")
        }
    };
    let mut request = format!("{method} /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    let body = body.unwrap_or("");
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response[9..12].parse().expect("status code");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, head.to_owned(), body)
}

/// The value of a response header (case-insensitive name) in the head
/// [`http`] returns.
pub fn header_value<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Accepts an invite through the API; returns the session token.
pub async fn accept_invite(base: &str, invite_token: &str, name: &str) -> String {
    let body = serde_json::json!({ "name": name }).to_string();
    let (status, _, reply) = http(
        "POST",
        &format!("{base}/api/invites/{invite_token}/accept"),
        Some(&body),
        None,
    )
    .await;
    assert_eq!(status, 200, "accepting an invite: {reply}");
    let reply: serde_json::Value = serde_json::from_str(&reply).expect("JSON");
    reply["token"].as_str().expect("token").to_owned()
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}
