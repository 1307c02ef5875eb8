//! The sending half of a connection, as document actors see it.
//!
//! Sending never waits: a document actor queues a message and moves on, so
//! a peer that stops reading (its writer task blocked on a full TCP socket)
//! cannot stall the actor or the document's other peers. What one
//! connection can hold in memory is capped by construction: at most
//! `outbound_queue` messages and `max_queued_bytes` bytes (one message of
//! any size is accepted into an empty queue, so a large first sync always
//! fits). A peer over either cap is disconnected.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use docsync::{DocumentId, Message};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::Metrics;

/// What a connection's writer task sends.
#[derive(Debug)]
pub enum Outbound {
    Message(Message),
}

/// Why a connection is closed: sent to the peer as an `error` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fatal {
    pub reason: String,
    /// The document whose sync message was refused, if that is the cause.
    pub document: Option<DocumentId>,
}

/// What a queued message counts for against the byte cap: its payload and
/// a fixed allowance for its ids and framing. The writer subtracts the same
/// weight when it takes the message out.
pub fn weight(message: &Message) -> usize {
    const FIXED: usize = 256;
    FIXED
        + match message {
            Message::Sync(m) => m.data.len(),
            Message::Ephemeral(m) => m.data.len() + m.session_id.len(),
            Message::Error { message, .. } => message.len(),
            _ => 0,
        }
}

/// A bounded queue into one connection's writer. A peer too slow to drain
/// it is disconnected (it resyncs when it reconnects); messages are never
/// dropped silently.
#[derive(Debug, Clone)]
pub struct Outbox {
    tx: mpsc::Sender<Outbound>,
    cancel: CancellationToken,
    /// The reason of a fatal error: the writer sends it ahead of anything
    /// queued, then closes.
    fatal: Arc<OnceLock<Fatal>>,
    /// Weight of the messages queued now.
    queued_bytes: Arc<AtomicUsize>,
    max_queued_bytes: usize,
    /// Messages the writer has written to the socket: each one may draw an
    /// answer that the connection's rate limit does not count.
    written: Arc<AtomicUsize>,
    metrics: Arc<Metrics>,
}

impl Outbox {
    pub fn new(
        tx: mpsc::Sender<Outbound>,
        cancel: CancellationToken,
        max_queued_bytes: usize,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            tx,
            cancel,
            fatal: Arc::default(),
            queued_bytes: Arc::default(),
            max_queued_bytes,
            written: Arc::default(),
            metrics,
        }
    }

    /// Called by the writer for each message it takes out of the queue.
    pub fn dequeued(&self, message: &Message) {
        self.queued_bytes
            .fetch_sub(weight(message), Ordering::AcqRel);
    }

    /// Called by the writer for each message written to the socket.
    pub fn written(&self) {
        self.written.fetch_add(1, Ordering::Relaxed);
    }

    /// Messages written to this connection's socket so far.
    pub fn written_count(&self) -> usize {
        self.written.load(Ordering::Relaxed)
    }

    /// Disconnects a peer that does not read fast enough.
    fn too_slow(&self) {
        if !self.cancel.is_cancelled() {
            tracing::warn!("peer too slow to read its messages; disconnecting it");
            self.metrics.slow_peers.inc();
            self.cancel.cancel();
        }
    }

    /// The fatal error to send before closing, if any.
    pub fn fatal(&self) -> Option<&Fatal> {
        self.fatal.get()
    }

    /// Queues a message; returns false (and closes the connection if it is
    /// too slow) when the message cannot be delivered.
    pub fn send(&self, message: Message) -> bool {
        if self.cancel.is_cancelled() {
            return false;
        }
        let weight = weight(&message);
        let queued = self.queued_bytes.fetch_add(weight, Ordering::AcqRel) + weight;
        if queued > self.max_queued_bytes && queued > weight {
            self.queued_bytes.fetch_sub(weight, Ordering::AcqRel);
            self.too_slow();
            return false;
        }
        match self.tx.try_send(Outbound::Message(message)) {
            Ok(()) => {
                let messages = self.tx.max_capacity() - self.tx.capacity();
                self.metrics
                    .outbox_peak_messages
                    .inner()
                    .fetch_max(as_i64(messages), Ordering::Relaxed);
                self.metrics
                    .outbox_peak_bytes
                    .inner()
                    .fetch_max(as_i64(queued), Ordering::Relaxed);
                true
            }
            Err(e) => {
                self.queued_bytes.fetch_sub(weight, Ordering::AcqRel);
                if matches!(e, mpsc::error::TrySendError::Full(_)) {
                    self.too_slow();
                }
                false
            }
        }
    }

    /// Sends an `error` with `reason` (the first one, if called twice) and
    /// closes the connection, skipping whatever else is queued.
    pub fn fail(&self, reason: String) {
        self.close_with(Fatal {
            reason,
            document: None,
        });
    }

    /// Like [`Outbox::fail`], for a refused sync message of `document`: the
    /// peer learns which document to drop its refused change from.
    pub fn refuse(&self, document: DocumentId, reason: String) {
        self.close_with(Fatal {
            reason,
            document: Some(document),
        });
    }

    fn close_with(&self, fatal: Fatal) {
        let _ = self.fatal.set(fatal);
        self.cancel.cancel();
    }

    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }
}

fn as_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
