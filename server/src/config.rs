//! Command line and environment configuration: one clap struct, every
//! default in one place, checked at start-up.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

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
}

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
    /// Incremental chunks a document accumulates before it is compacted.
    pub compact_after_chunks: u64,
}

impl Config {
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            max_message_bytes: 16 * 1024 * 1024,
            ping_interval: Duration::from_secs(5),
            idle_evict: Duration::from_secs(60),
            outbound_queue: 4096,
            compact_after_chunks: 256,
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
            ..Self::new(args.data.clone())
        }
    }
}
