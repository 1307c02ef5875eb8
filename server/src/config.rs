//! Command line and environment configuration: one clap struct, every
//! default in one place, checked at start-up.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::clock::Clock;

#[derive(Debug, Parser)]
#[command(
    name = "synpunkt",
    version,
    about = "Synpunkt: real-time commenting on workshop summaries",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `synpunkt` without a command serves with these settings.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default when no command is given).
    Serve(ServeArgs),
    /// Import a page of workshop descriptions: one workshop per entry.
    /// Run it while the server is stopped.
    Import(ImportArgs),
    /// Print a fresh one-time admin sign-in link (valid 24 hours). Works
    /// while the server runs (through its control socket in the data
    /// directory, which only the directory's owner can reach) and while it
    /// is stopped.
    AdminLink(AdminLinkArgs),
}

#[derive(Debug, Clone, Args)]
pub struct AdminLinkArgs {
    /// Directory of the server's database.
    #[arg(long, env = "SYNPUNKT_DATA", default_value = "data")]
    pub data: PathBuf,
    /// The address the link names when no server is running (a running
    /// server names its own).
    #[arg(long, env = "SYNPUNKT_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The page, as plain text.
    pub file: PathBuf,
    /// Directory of the embedded database (created if missing).
    #[arg(long, env = "SYNPUNKT_DATA", default_value = "data")]
    pub data: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "SYNPUNKT_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Directory of the embedded database (created if missing).
    #[arg(long, env = "SYNPUNKT_DATA", default_value = "data")]
    pub data: PathBuf,

    /// Largest accepted WebSocket message, in bytes.
    #[arg(long, env = "SYNPUNKT_MAX_MESSAGE_BYTES", default_value_t = 16 * 1024 * 1024,
          value_parser = clap::value_parser!(u64).range(1024..=1024 * 1024 * 1024))]
    pub max_message_bytes: u64,

    /// Seconds between keepalive pings; a peer that misses one is dropped.
    #[arg(long, env = "SYNPUNKT_PING_SECONDS", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub ping_seconds: u64,

    /// Seconds a document without peers stays in memory.
    #[arg(long, env = "SYNPUNKT_IDLE_EVICT_SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub idle_evict_seconds: u64,

    /// Incremental chunks a document accumulates in the store before they
    /// are replaced by one snapshot.
    #[arg(long, env = "SYNPUNKT_COMPACT_AFTER_CHUNKS", default_value_t = 256,
          value_parser = clap::value_parser!(u64).range(2..=1_000_000))]
    pub compact_after_chunks: u64,

    /// Most open sync WebSockets; an upgrade over the cap is refused with
    /// HTTP 503 before upgrading. Each connection holds a file descriptor
    /// (keep `ulimit -n` above the cap) and tens of KiB of buffers, plus
    /// whatever is queued for it (at most `--max-queued-bytes`).
    #[arg(long, env = "SYNPUNKT_MAX_CONNECTIONS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,

    /// Sustained messages per second one connection may send (every
    /// WebSocket frame counts). Each message the server sends to the peer
    /// gives one back, so answering the server (acknowledging the changes
    /// others make in a busy document) never counts against it. 200 is ten
    /// times what a fast typist with live presence sends unprompted.
    #[arg(long, env = "SYNPUNKT_MAX_MESSAGES_PER_SECOND", default_value_t = 200,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_messages_per_second: u64,

    /// Messages a connection may send at once above the sustained rate
    /// (the token bucket's size; a new connection starts with it full).
    /// 10,000: a client may open as many documents as one connection can
    /// hold (10,000), all at once, as automerge-repo does on connecting.
    #[arg(long, env = "SYNPUNKT_MESSAGE_BURST", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub message_burst: u64,

    /// Bytes of outgoing messages queued for one connection before it
    /// counts as too slow and is closed (it resyncs when it reconnects).
    /// One message is always accepted into an empty queue, however large.
    #[arg(long, env = "SYNPUNKT_MAX_QUEUED_BYTES", default_value_t = 8 * 1024 * 1024,
          value_parser = clap::value_parser!(u64).range(64 * 1024..=1024 * 1024 * 1024))]
    pub max_queued_bytes: u64,

    /// Seconds a client has to send a request's head (request line and
    /// headers). The clock also runs while a kept-alive connection waits
    /// for its next request, so an idle one closes after this long too.
    #[arg(long, env = "SYNPUNKT_HEADER_TIMEOUT_SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=30))]
    pub header_timeout_seconds: u64,

    /// Seconds an HTTP connection may go without a byte moving while it is
    /// the client's move (a request body that stopped arriving, a response
    /// it does not read) before it is closed. Never while the server is
    /// still working on a request.
    #[arg(long, env = "SYNPUNKT_HTTP_IDLE_SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub http_idle_seconds: u64,

    /// Most open HTTP connections that are not (yet) sync WebSockets: page
    /// loads, API calls, upgrades in progress. One over the cap is answered
    /// 503 and closed at once. Each holds a file descriptor and up to 64
    /// KiB of request head: with `--max-connections`, keep `ulimit -n`
    /// above their sum.
    #[arg(long, env = "SYNPUNKT_MAX_HTTP_CONNECTIONS", default_value_t = 2_000,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_http_connections: u64,

    /// Address to serve Prometheus metrics (`GET /metrics`) on, apart from
    /// the public listener, e.g. `127.0.0.1:9090`. Not served when unset.
    #[arg(long, env = "SYNPUNKT_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Largest stored size of one document, in bytes. A change that would
    /// grow a document past it is refused before it is stored or relayed.
    /// The default, 64 MiB, takes the whole paper editing trace (260k
    /// keystrokes: 129 KB saved, but some 20 MB when a client sends its
    /// history change by change, as a first sync may): far beyond any
    /// workshop summary, while bounding a document's disk use and load time.
    #[arg(long, env = "SYNPUNKT_MAX_DOCUMENT_BYTES", default_value_t = 64 * 1024 * 1024,
          value_parser = clap::value_parser!(u64).range(1024..=1024 * 1024 * 1024 * 1024))]
    pub max_document_bytes: u64,

    /// Seconds a session may go unused before it ends (30 days). Uses are
    /// recorded at most once per tenth of this, so a session ends after 90
    /// to 100 % of it without use.
    #[arg(long, env = "SYNPUNKT_SESSION_IDLE_SECONDS", default_value_t = 30 * DAY,
          value_parser = clap::value_parser!(u64).range(60..=10 * 366 * DAY))]
    pub session_idle_seconds: u64,

    /// Seconds a session lasts at most, however often it is used (90 days);
    /// then its holder accepts an invite again. Also the session cookie's
    /// `Max-Age`.
    #[arg(long, env = "SYNPUNKT_SESSION_LIFETIME_SECONDS", default_value_t = 90 * DAY,
          value_parser = clap::value_parser!(u64).range(60..=10 * 366 * DAY))]
    pub session_lifetime_seconds: u64,

    /// Sign-in attempts (invites accepted, session tokens that are not
    /// live sessions) one client address may make per minute, sustained.
    #[arg(long, env = "SYNPUNKT_SIGN_IN_ATTEMPTS_PER_MINUTE", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub sign_in_attempts_per_minute: u32,

    /// Sign-in attempts one client address may make at once above that
    /// rate: 50, so that a room of people behind one address can all join
    /// at the start of a meeting.
    #[arg(long, env = "SYNPUNKT_SIGN_IN_ATTEMPT_BURST", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub sign_in_attempt_burst: u32,
}

const DAY: u64 = 24 * 3600;

/// The server's runtime settings, derived from [`ServeArgs`] (tests build it
/// directly to shorten timeouts).
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub max_message_bytes: usize,
    pub ping_interval: Duration,
    pub idle_evict: Duration,
    /// Outgoing messages queued per connection before it counts as too slow.
    pub outbound_queue: usize,
    /// Outgoing bytes queued per connection before it counts as too slow.
    pub max_queued_bytes: usize,
    /// Most open sync connections.
    pub max_connections: usize,
    /// Sustained incoming messages per second per connection.
    pub max_messages_per_second: u32,
    /// Incoming messages per connection above the sustained rate.
    pub message_burst: u32,
    /// Largest stored size of one document.
    pub max_document_bytes: u64,
    /// Incremental chunks a document accumulates before it is compacted.
    pub compact_after_chunks: u64,
    /// How long a session may go unused before it ends.
    pub session_idle: Duration,
    /// How long a session lasts at most.
    pub session_lifetime: Duration,
    /// Sign-in attempts per client address per minute, sustained.
    pub sign_in_attempts_per_minute: u32,
    /// Sign-in attempts per client address above that rate.
    pub sign_in_attempt_burst: u32,
    /// How often the housekeeping task runs: forgets idle clients of the
    /// sign-in limit and closes connections of ended sessions (a minute;
    /// tests shorten it). Ended sessions are swept from the store hourly.
    pub housekeeping_every: Duration,
    /// The clock of every expiry (sessions, invites); tests use a manual one.
    pub clock: Clock,
    /// Time a client has to send a request head.
    pub header_timeout: Duration,
    /// Time an HTTP connection may wait on its client with nothing moving.
    pub http_idle_timeout: Duration,
    /// Most open HTTP connections not upgraded to a WebSocket.
    pub max_http_connections: usize,
}

impl Config {
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            max_message_bytes: 16 * 1024 * 1024,
            ping_interval: Duration::from_secs(5),
            idle_evict: Duration::from_secs(60),
            outbound_queue: 4096,
            max_queued_bytes: 8 * 1024 * 1024,
            max_connections: 10_000,
            max_messages_per_second: 200,
            message_burst: 10_000,
            max_document_bytes: 8 * 1024 * 1024,
            compact_after_chunks: 256,
            session_idle: Duration::from_secs(30 * DAY),
            session_lifetime: Duration::from_secs(90 * DAY),
            sign_in_attempts_per_minute: 20,
            sign_in_attempt_burst: 50,
            housekeeping_every: Duration::from_secs(60),
            clock: Clock::system(),
            header_timeout: Duration::from_secs(10),
            http_idle_timeout: Duration::from_secs(30),
            max_http_connections: 2_000,
        }
    }
}

impl From<&ServeArgs> for Config {
    fn from(args: &ServeArgs) -> Self {
        Self {
            max_message_bytes: usize::try_from(args.max_message_bytes).unwrap_or(usize::MAX),
            ping_interval: Duration::from_secs(args.ping_seconds),
            idle_evict: Duration::from_secs(args.idle_evict_seconds),
            compact_after_chunks: args.compact_after_chunks,
            max_queued_bytes: usize::try_from(args.max_queued_bytes).unwrap_or(usize::MAX),
            max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
            // The parsers bound both to a million.
            max_messages_per_second: u32::try_from(args.max_messages_per_second)
                .unwrap_or(u32::MAX),
            message_burst: u32::try_from(args.message_burst).unwrap_or(u32::MAX),
            max_document_bytes: args.max_document_bytes,
            session_idle: Duration::from_secs(args.session_idle_seconds),
            session_lifetime: Duration::from_secs(args.session_lifetime_seconds),
            sign_in_attempts_per_minute: args.sign_in_attempts_per_minute,
            sign_in_attempt_burst: args.sign_in_attempt_burst,
            header_timeout: Duration::from_secs(args.header_timeout_seconds),
            http_idle_timeout: Duration::from_secs(args.http_idle_seconds),
            max_http_connections: usize::try_from(args.max_http_connections).unwrap_or(usize::MAX),
            ..Self::new(args.data.clone())
        }
    }
}
