//! Prometheus metrics, one registry per server instance (no global state, so
//! several servers can run in one test process).

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub connections: Gauge,
    pub resident_documents: Gauge,
    pub messages_in: Counter,
    pub messages_out: Counter,
    pub bytes_in: Counter,
    pub bytes_out: Counter,
    pub protocol_errors: Counter,
    pub store_flush_seconds: Histogram,
    pub changes_stored: Counter<u64, AtomicU64>,
    /// Connections closed because they did not read fast enough (their
    /// outbox filled up with messages they did not ask for, or a write to
    /// them made no progress for two ping intervals).
    pub slow_peers: Counter,
    /// The most messages / bytes any one connection's outbox has held.
    pub outbox_peak_messages: Gauge,
    pub outbox_peak_bytes: Gauge,
    /// Connections closed for sending faster than their rate limit.
    pub rate_limited: Counter,
    /// WebSocket upgrades refused at the connection cap.
    pub connections_refused: Counter,
    /// Changes refused because they would grow a document past its cap.
    pub document_size_refusals: Counter,
    /// Compactions stored (a document's chunks replaced by one snapshot).
    pub compactions: Counter,
    /// Stored chunks automerge could not load, moved aside by compaction.
    pub unreadable_chunks: Counter,
    /// Times a connection's reader waited for its outbox to drain (or for
    /// the answers to its sync messages to be made) before reading on:
    /// back-pressure on a client that sent a burst.
    pub reads_paused: Counter,
    /// Open HTTP connections not (yet) upgraded to a WebSocket.
    pub http_connections: Gauge,
    /// HTTP connections closed at once for being over the cap of
    /// connections before upgrade.
    pub http_connections_refused: Counter,
    /// HTTP connections closed because a request head took too long or
    /// nothing moved on them for too long.
    pub http_timeouts: Counter,
    /// Failed `accept` calls (out of file descriptors, for one).
    pub accept_errors: Counter,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("synpunkt");
        let connections = Gauge::default();
        let resident_documents = Gauge::default();
        let messages_in = Counter::default();
        let messages_out = Counter::default();
        let bytes_in = Counter::default();
        let bytes_out = Counter::default();
        let protocol_errors = Counter::default();
        let changes_stored = Counter::default();
        let slow_peers = Counter::default();
        let outbox_peak_messages = Gauge::default();
        let outbox_peak_bytes = Gauge::default();
        let rate_limited = Counter::default();
        let connections_refused = Counter::default();
        let document_size_refusals = Counter::default();
        let compactions = Counter::default();
        let unreadable_chunks = Counter::default();
        let reads_paused = Counter::default();
        let http_connections = Gauge::default();
        let http_connections_refused = Counter::default();
        let http_timeouts = Counter::default();
        let accept_errors = Counter::default();
        // 50 µs .. ~0.8 s
        let store_flush_seconds = Histogram::new(exponential_buckets(0.000_05, 2.0, 15));
        registry.register(
            "connections",
            "Open WebSocket connections",
            connections.clone(),
        );
        registry.register(
            "resident_documents",
            "Documents loaded in memory",
            resident_documents.clone(),
        );
        registry.register(
            "messages_in",
            "Sync protocol messages received",
            messages_in.clone(),
        );
        registry.register(
            "messages_out",
            "Sync protocol messages sent",
            messages_out.clone(),
        );
        registry.register("bytes_in", "Sync protocol bytes received", bytes_in.clone());
        registry.register("bytes_out", "Sync protocol bytes sent", bytes_out.clone());
        registry.register(
            "protocol_errors",
            "Connections closed for bad input",
            protocol_errors.clone(),
        );
        registry.register(
            "changes_stored",
            "Incremental chunks of changes written to the store",
            changes_stored.clone(),
        );
        registry.register(
            "store_flush_seconds",
            "Duration of each group-commit flush of the store",
            store_flush_seconds.clone(),
        );
        registry.register(
            "slow_peers",
            "Connections closed because they did not read their messages fast enough",
            slow_peers.clone(),
        );
        registry.register(
            "outbox_peak_messages",
            "The most messages any one connection's outbound queue has held",
            outbox_peak_messages.clone(),
        );
        registry.register(
            "outbox_peak_bytes",
            "The most bytes any one connection's outbound queue has held",
            outbox_peak_bytes.clone(),
        );
        registry.register(
            "rate_limited",
            "Connections closed for exceeding their message rate",
            rate_limited.clone(),
        );
        registry.register(
            "connections_refused",
            "WebSocket upgrades refused at the connection cap",
            connections_refused.clone(),
        );
        registry.register(
            "document_size_refusals",
            "Changes refused because they would grow a document past its size cap",
            document_size_refusals.clone(),
        );
        registry.register(
            "compactions",
            "Compactions stored (a document's chunks replaced by one snapshot)",
            compactions.clone(),
        );
        registry.register(
            "unreadable_chunks",
            "Stored chunks automerge could not load, moved aside by compaction",
            unreadable_chunks.clone(),
        );
        registry.register(
            "reads_paused",
            "Times a connection stopped reading until its outbound queue drained or its answers were made",
            reads_paused.clone(),
        );
        registry.register(
            "http_connections",
            "Open HTTP connections not upgraded to a WebSocket",
            http_connections.clone(),
        );
        registry.register(
            "http_connections_refused",
            "HTTP connections closed at once, over the cap of connections before upgrade",
            http_connections_refused.clone(),
        );
        registry.register(
            "http_timeouts",
            "HTTP connections closed for a slow request head or for idling",
            http_timeouts.clone(),
        );
        registry.register(
            "accept_errors",
            "Failed accepts of new TCP connections (such as running out of file descriptors)",
            accept_errors.clone(),
        );
        Self {
            reads_paused,
            http_connections,
            http_connections_refused,
            http_timeouts,
            accept_errors,
            registry,
            compactions,
            unreadable_chunks,
            slow_peers,
            outbox_peak_messages,
            outbox_peak_bytes,
            rate_limited,
            connections_refused,
            document_size_refusals,
            connections,
            resident_documents,
            messages_in,
            messages_out,
            bytes_in,
            bytes_out,
            protocol_errors,
            store_flush_seconds,
            changes_stored,
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
