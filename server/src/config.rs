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

    /// Where documents and records are stored: `sled` (the embedded
    /// database in the data directory) or a PostgreSQL URL
    /// (`postgres://user@host:port/database`), which several nodes may
    /// share. The data directory then holds only the control socket.
    #[arg(long, env = "SYNPUNKT_STORE", default_value = defaults::STORE,
          value_parser = StoreConfig::parse)]
    pub store: StoreConfig,

    /// Do not listen for the other nodes' notifications (with a shared
    /// PostgreSQL store): documents then catch up only when a peer joins.
    /// For tests and diagnosis.
    #[arg(long, env = "SYNPUNKT_NO_CLUSTER_LISTEN", hide = true)]
    pub no_cluster_listen: bool,

    /// Largest accepted WebSocket message, in bytes.
    #[arg(long, env = "SYNPUNKT_MAX_MESSAGE_BYTES", default_value_t = defaults::MAX_MESSAGE_BYTES,
          value_parser = clap::value_parser!(u64).range(1024..=1024 * 1024 * 1024))]
    pub max_message_bytes: u64,

    /// Seconds between keepalive pings; a peer that misses one is dropped.
    #[arg(long, env = "SYNPUNKT_PING_SECONDS", default_value_t = defaults::PING_SECONDS,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub ping_seconds: u64,

    /// Seconds a document without peers stays in memory.
    #[arg(long, env = "SYNPUNKT_IDLE_EVICT_SECONDS", default_value_t = defaults::IDLE_EVICT_SECONDS,
          value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub idle_evict_seconds: u64,

    /// Incremental chunks a document accumulates in the store before they
    /// are replaced by one snapshot.
    #[arg(long, env = "SYNPUNKT_COMPACT_AFTER_CHUNKS", default_value_t = defaults::COMPACT_AFTER_CHUNKS,
          value_parser = clap::value_parser!(u64).range(2..=1_000_000))]
    pub compact_after_chunks: u64,

    /// Most open sync WebSockets; an upgrade over the cap is refused with
    /// HTTP 503 before upgrading. Each connection holds a file descriptor
    /// (keep `ulimit -n` above the cap) and tens of KiB of buffers, plus
    /// whatever is queued for it (at most `--max-queued-bytes`).
    #[arg(long, env = "SYNPUNKT_MAX_CONNECTIONS", default_value_t = defaults::MAX_CONNECTIONS,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,

    /// Sustained messages per second one connection may send (every
    /// WebSocket frame counts). Each message the server sends to the peer
    /// gives one back, so answering the server (acknowledging the changes
    /// others make in a busy document) never counts against it. 200 is ten
    /// times what a fast typist with live presence sends unprompted.
    #[arg(long, env = "SYNPUNKT_MAX_MESSAGES_PER_SECOND", default_value_t = defaults::MAX_MESSAGES_PER_SECOND,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_messages_per_second: u64,

    /// Messages a connection may send at once above the sustained rate
    /// (the token bucket's size; a new connection starts with it full).
    /// 10,000: a client may open as many documents as one connection can
    /// hold (10,000), all at once, as automerge-repo does on connecting.
    #[arg(long, env = "SYNPUNKT_MESSAGE_BURST", default_value_t = defaults::MESSAGE_BURST,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub message_burst: u64,

    /// Bytes of outgoing messages queued for one connection before it
    /// counts as too slow and is closed (it resyncs when it reconnects).
    /// One message is always accepted into an empty queue, however large.
    #[arg(long, env = "SYNPUNKT_MAX_QUEUED_BYTES", default_value_t = defaults::MAX_QUEUED_BYTES,
          value_parser = clap::value_parser!(u64).range(64 * 1024..=1024 * 1024 * 1024))]
    pub max_queued_bytes: u64,

    /// Seconds a client has to send a request's head (request line and
    /// headers). The clock also runs while a kept-alive connection waits
    /// for its next request, so an idle one closes after this long too.
    #[arg(long, env = "SYNPUNKT_HEADER_TIMEOUT_SECONDS", default_value_t = defaults::HEADER_TIMEOUT_SECONDS,
          value_parser = clap::value_parser!(u64).range(1..=30))]
    pub header_timeout_seconds: u64,

    /// Seconds an HTTP connection may go without a byte moving while it is
    /// the client's move (a request body that stopped arriving, a response
    /// it does not read) before it is closed. Never while the server is
    /// still working on a request.
    #[arg(long, env = "SYNPUNKT_HTTP_IDLE_SECONDS", default_value_t = defaults::HTTP_IDLE_SECONDS,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub http_idle_seconds: u64,

    /// Most open HTTP connections that are not (yet) sync WebSockets: page
    /// loads, API calls, upgrades in progress. One over the cap is answered
    /// 503 and closed at once. Each holds a file descriptor and up to 64
    /// KiB of request head: with `--max-connections`, keep `ulimit -n`
    /// above their sum.
    #[arg(long, env = "SYNPUNKT_MAX_HTTP_CONNECTIONS", default_value_t = defaults::MAX_HTTP_CONNECTIONS,
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
    #[arg(long, env = "SYNPUNKT_MAX_DOCUMENT_BYTES", default_value_t = defaults::MAX_DOCUMENT_BYTES,
          value_parser = clap::value_parser!(u64).range(1024..=1024 * 1024 * 1024 * 1024))]
    pub max_document_bytes: u64,

    /// Seconds a session may go unused before it ends (30 days). Uses are
    /// recorded at most once per tenth of this, so a session ends after 90
    /// to 100 % of it without use.
    #[arg(long, env = "SYNPUNKT_SESSION_IDLE_SECONDS", default_value_t = defaults::SESSION_IDLE_SECONDS,
          value_parser = clap::value_parser!(u64).range(60..=10 * 366 * DAY))]
    pub session_idle_seconds: u64,

    /// Seconds a session lasts at most, however often it is used (90 days);
    /// then its holder accepts an invite again. Also the session cookie's
    /// `Max-Age`.
    #[arg(long, env = "SYNPUNKT_SESSION_LIFETIME_SECONDS", default_value_t = defaults::SESSION_LIFETIME_SECONDS,
          value_parser = clap::value_parser!(u64).range(60..=10 * 366 * DAY))]
    pub session_lifetime_seconds: u64,

    /// Sign-in attempts (invites accepted, session tokens that are not
    /// live sessions) one client address may make per minute, sustained.
    #[arg(long, env = "SYNPUNKT_SIGN_IN_ATTEMPTS_PER_MINUTE", default_value_t = defaults::SIGN_IN_ATTEMPTS_PER_MINUTE,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub sign_in_attempts_per_minute: u32,

    /// Sign-in attempts one client address may make at once above that
    /// rate: 50, so that a room of people behind one address can all join
    /// at the start of a meeting.
    #[arg(long, env = "SYNPUNKT_SIGN_IN_ATTEMPT_BURST", default_value_t = defaults::SIGN_IN_ATTEMPT_BURST,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub sign_in_attempt_burst: u32,
}

const DAY: u64 = 24 * 3600;

/// Every default, once: the command line's and [`Config::new`]'s (tests
/// and embedders start from the same values as `synpunkt serve`).
/// Which store the server opens (`--store`).
#[derive(Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// sled in the data directory (the default).
    Sled,
    /// PostgreSQL at this URL.
    Postgres(String),
}

impl StoreConfig {
    pub fn parse(value: &str) -> Result<Self, String> {
        if value == "sled" {
            Ok(Self::Sled)
        } else if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            Ok(Self::Postgres(value.to_owned()))
        } else {
            Err("expected `sled` or a URL postgres://user@host:port/database".into())
        }
    }
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sled => f.write_str("Sled"),
            // The URL may hold a password: only its host part is shown.
            Self::Postgres(url) => {
                let host = url.rsplit_once('@').map_or(url.as_str(), |(_, h)| h);
                write!(f, "Postgres({host})")
            }
        }
    }
}

pub mod defaults {
    use super::DAY;

    pub const STORE: &str = "sled";
    pub const MAX_MESSAGE_BYTES: u64 = 16 * 1024 * 1024;
    pub const PING_SECONDS: u64 = 5;
    pub const IDLE_EVICT_SECONDS: u64 = 60;
    pub const COMPACT_AFTER_CHUNKS: u64 = 256;
    pub const MAX_CONNECTIONS: u64 = 10_000;
    pub const MAX_MESSAGES_PER_SECOND: u64 = 200;
    pub const MESSAGE_BURST: u64 = 10_000;
    pub const MAX_QUEUED_BYTES: u64 = 8 * 1024 * 1024;
    pub const HEADER_TIMEOUT_SECONDS: u64 = 10;
    pub const HTTP_IDLE_SECONDS: u64 = 30;
    pub const MAX_HTTP_CONNECTIONS: u64 = 2_000;
    pub const MAX_DOCUMENT_BYTES: u64 = 64 * 1024 * 1024;
    pub const SESSION_IDLE_SECONDS: u64 = 30 * DAY;
    pub const SESSION_LIFETIME_SECONDS: u64 = 90 * DAY;
    pub const SIGN_IN_ATTEMPTS_PER_MINUTE: u32 = 20;
    pub const SIGN_IN_ATTEMPT_BURST: u32 = 50;
}

/// The server's runtime settings, derived from [`ServeArgs`] (tests build it
/// directly to shorten timeouts).
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    /// Where documents and records live (sled in `data_dir` by default).
    pub store: StoreConfig,
    /// Listen for the other nodes sharing the store (see `cluster`).
    pub cluster_listen: bool,
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
        use defaults as d;
        let secs = Duration::from_secs;
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        Self {
            data_dir,
            store: StoreConfig::parse(d::STORE).unwrap_or(StoreConfig::Sled),
            cluster_listen: true,
            max_message_bytes: size(d::MAX_MESSAGE_BYTES),
            ping_interval: secs(d::PING_SECONDS),
            idle_evict: secs(d::IDLE_EVICT_SECONDS),
            outbound_queue: 4096,
            max_queued_bytes: size(d::MAX_QUEUED_BYTES),
            max_connections: size(d::MAX_CONNECTIONS),
            max_messages_per_second: u32::try_from(d::MAX_MESSAGES_PER_SECOND).unwrap_or(u32::MAX),
            message_burst: u32::try_from(d::MESSAGE_BURST).unwrap_or(u32::MAX),
            max_document_bytes: d::MAX_DOCUMENT_BYTES,
            compact_after_chunks: d::COMPACT_AFTER_CHUNKS,
            session_idle: secs(d::SESSION_IDLE_SECONDS),
            session_lifetime: secs(d::SESSION_LIFETIME_SECONDS),
            sign_in_attempts_per_minute: d::SIGN_IN_ATTEMPTS_PER_MINUTE,
            sign_in_attempt_burst: d::SIGN_IN_ATTEMPT_BURST,
            housekeeping_every: secs(60),
            clock: Clock::system(),
            header_timeout: secs(d::HEADER_TIMEOUT_SECONDS),
            http_idle_timeout: secs(d::HTTP_IDLE_SECONDS),
            max_http_connections: size(d::MAX_HTTP_CONNECTIONS),
        }
    }
}

impl From<&ServeArgs> for Config {
    fn from(args: &ServeArgs) -> Self {
        Self {
            store: args.store.clone(),
            cluster_listen: !args.no_cluster_listen,
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// `Config::new` (tests, embedders) and `synpunkt serve` without flags
    /// start from the same settings.
    #[test]
    fn the_command_line_and_config_new_share_every_default() {
        let cli = Cli::try_parse_from(["synpunkt"]).expect("no flags parse");
        let from_cli = Config::from(&cli.serve);
        let new = Config::new(cli.serve.data.clone());
        assert_eq!(format!("{from_cli:?}"), format!("{new:?}"));
    }

    #[test]
    fn the_store_is_sled_or_a_postgres_url_and_its_password_is_not_shown() {
        let cli = Cli::try_parse_from(["synpunkt", "--store", "postgres://u:secret@db:5433/s"])
            .expect("parses");
        assert_eq!(
            cli.serve.store,
            StoreConfig::Postgres("postgres://u:secret@db:5433/s".into())
        );
        assert!(!format!("{:?}", cli.serve.store).contains("secret"));
        assert!(Cli::try_parse_from(["synpunkt", "--store", "mysql://x"]).is_err());
    }
}
