//! The sending half of a connection, as document actors see it.
//!
//! Sending never waits: a document actor queues a message and moves on, so
//! a peer that stops reading (its writer task blocked on a full TCP socket)
//! cannot stall the actor or the document's other peers.
//!
//! Two kinds of messages go into the queue, and they are bounded in two
//! ways:
//!
//! - **Unprompted** messages ([`Outbox::send`]: others' changes relayed,
//!   their presence) are capped: a peer whose queue holds `outbound_queue`
//!   messages or `max_queued_bytes` bytes (one message of any size fits an
//!   empty queue) is too slow, and is disconnected with an `error`.
//! - **Answers** to what the peer itself sent ([`Outbox::answer`]) are
//!   paced instead: the connection's reader takes in the next message only
//!   after [`Outbox::pace`], which waits while the queue is at half of
//!   either cap or while a quarter of the message cap (at most 256) of the
//!   peer's sync messages still wait for their answers (each holds an
//!   [`AnswerPermit`] until its answer is queued). So a client that sends a burst (opening
//!   10,000 documents at once) is slowed down by TCP rather than dropped,
//!   and its answers exceed the caps by at most that many messages. A
//!   client that stops reading leaves its reader waiting; its writer gives
//!   up once a write makes no progress for two ping intervals (`conn.rs`).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use docsync::{DocumentId, Message};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use crate::Metrics;

/// What a connection's writer task sends.
#[derive(Debug)]
pub enum Outbound {
    Message(Message),
}

/// Held by a forwarded sync message until the document's actor has queued
/// its answer: bounds the answers a connection has coming.
pub type AnswerPermit = OwnedSemaphorePermit;

/// Why a connection is closed: sent to the peer as an `error` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fatal {
    pub reason: String,
    /// The document whose sync message was refused, if that is the cause.
    pub document: Option<DocumentId>,
}

/// What the peer reads when it is closed for not reading.
pub const TOO_SLOW: &str =
    "too slow: you did not read your messages fast enough; reconnect to resync";

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
    /// Messages and their weight queued now.
    queued_messages: Arc<AtomicUsize>,
    queued_bytes: Arc<AtomicUsize>,
    max_messages: usize,
    max_bytes: usize,
    /// One permit per answer the peer may have coming.
    answers: Arc<Semaphore>,
    /// Wakes the reader waiting in [`Outbox::pace`] when the writer has
    /// drained the queue below half its caps.
    room: Arc<Notify>,
    /// Whether the reader waits in [`Outbox::pace`]: the peer's frames
    /// (its pongs too) are not being read, through no fault of its own.
    pacing: Arc<AtomicBool>,
    /// Messages the writer has written to the socket: each one may draw an
    /// answer that the connection's rate limit does not count.
    written: Arc<AtomicUsize>,
    metrics: Arc<Metrics>,
}

impl Outbox {
    /// A queue capped at `max_messages` and `max_bytes` of unprompted
    /// messages, and the receiving end for the connection's writer.
    pub fn new(
        cancel: CancellationToken,
        max_messages: usize,
        max_bytes: usize,
        metrics: Arc<Metrics>,
    ) -> (Self, mpsc::Receiver<Outbound>) {
        let max_messages = max_messages.max(1);
        let answers = Self::answers_for(max_messages);
        // Room for the capped messages, the answers of the sync messages in
        // flight, and the one answer the reader may queue itself.
        let (tx, rx) = mpsc::channel(max_messages + answers + 1);
        let outbox = Self {
            tx,
            cancel,
            fatal: Arc::default(),
            queued_messages: Arc::default(),
            queued_bytes: Arc::default(),
            max_messages,
            max_bytes,
            answers: Arc::new(Semaphore::new(answers)),
            room: Arc::default(),
            pacing: Arc::default(),
            written: Arc::default(),
            metrics,
        };
        (outbox, rx)
    }

    /// How many of a peer's sync messages may wait for their answers at
    /// once: enough to keep the actors of many documents busy, few enough
    /// that the answers leave most of the queue to unprompted messages.
    fn answers_for(max_messages: usize) -> usize {
        (max_messages / 4).clamp(1, 256)
    }

    /// Called by the writer for each message it takes out of the queue.
    pub fn dequeued(&self, message: &Message) {
        self.queued_bytes
            .fetch_sub(weight(message), Ordering::SeqCst);
        self.queued_messages.fetch_sub(1, Ordering::SeqCst);
        if self.has_room() {
            self.room.notify_waiters();
        }
    }

    /// Called by the writer for each message written to the socket.
    pub fn written(&self) {
        self.written.fetch_add(1, Ordering::Relaxed);
    }

    /// Messages written to this connection's socket so far.
    pub fn written_count(&self) -> usize {
        self.written.load(Ordering::Relaxed)
    }

    /// Whether the queue is below half of both caps, so that the reader
    /// may take in another message.
    fn has_room(&self) -> bool {
        self.queued_messages.load(Ordering::SeqCst) * 2 < self.max_messages
            && self.queued_bytes.load(Ordering::SeqCst) * 2 < self.max_bytes
    }

    /// Whether the reader is waiting for the queue to drain (or for answers
    /// to be made): the peer's frames wait unread meanwhile, so a missed
    /// pong is not the peer's fault.
    pub fn is_pacing(&self) -> bool {
        self.pacing.load(Ordering::Relaxed)
    }

    /// Waits until the connection may take in one more message from its
    /// peer: the queue is below half of both caps, and one of the
    /// answer permits is free. The returned permit
    /// goes with a forwarded sync message until its answer is queued.
    /// `None` when the connection closes meanwhile.
    pub async fn pace(&self) -> Option<AnswerPermit> {
        let permit = self.answers.clone().try_acquire_owned().ok();
        if permit.is_some() && self.has_room() {
            return permit;
        }
        self.metrics.reads_paused.inc();
        self.pacing.store(true, Ordering::Relaxed);
        let waited = tokio::select! {
            () = self.cancel.cancelled() => None,
            permit = self.wait_for_room(permit) => permit,
        };
        self.pacing.store(false, Ordering::Relaxed);
        waited
    }

    async fn wait_for_room(&self, mut permit: Option<AnswerPermit>) -> Option<AnswerPermit> {
        loop {
            if permit.is_none() {
                // The semaphore is never closed.
                permit = Some(self.answers.clone().acquire_owned().await.ok()?);
            }
            let notified = self.room.notified();
            tokio::pin!(notified);
            // Registered before the check, so that a wake-up between the
            // check and the wait is not lost.
            notified.as_mut().enable();
            if self.has_room() {
                return permit;
            }
            notified.await;
        }
    }

    /// Disconnects a peer that does not read fast enough, telling it why
    /// (if it still reads at all).
    pub fn too_slow(&self) {
        if !self.cancel.is_cancelled() {
            tracing::warn!("peer too slow to read its messages; disconnecting it");
            self.metrics.slow_peers.inc();
            self.fail(TOO_SLOW.to_owned());
        }
    }

    /// The fatal error to send before closing, if any.
    pub fn fatal(&self) -> Option<&Fatal> {
        self.fatal.get()
    }

    /// Queues a message the peer did not ask for (another peer's change or
    /// presence); returns false (and closes the connection if it is too
    /// slow) when the message cannot be delivered.
    pub fn send(&self, message: Message) -> bool {
        self.queue(message, true)
    }

    /// Queues the answer to a message the peer sent. Never refused for the
    /// caps: the reader's pacing bounds answers (see the module doc).
    pub fn answer(&self, message: Message) -> bool {
        self.queue(message, false)
    }

    fn queue(&self, message: Message, capped: bool) -> bool {
        if self.cancel.is_cancelled() {
            return false;
        }
        let weight = weight(&message);
        let messages = self.queued_messages.fetch_add(1, Ordering::SeqCst) + 1;
        let bytes = self.queued_bytes.fetch_add(weight, Ordering::SeqCst) + weight;
        let over = messages > self.max_messages || (bytes > self.max_bytes && bytes > weight);
        if capped && over {
            self.unqueue(weight);
            self.too_slow();
            return false;
        }
        match self.tx.try_send(Outbound::Message(message)) {
            Ok(()) => {
                self.metrics
                    .outbox_peak_messages
                    .inner()
                    .fetch_max(as_i64(messages), Ordering::Relaxed);
                self.metrics
                    .outbox_peak_bytes
                    .inner()
                    .fetch_max(as_i64(bytes), Ordering::Relaxed);
                true
            }
            Err(e) => {
                self.unqueue(weight);
                // The channel has room for every answer the pacing allows:
                // full means the peer is not reading.
                if matches!(e, mpsc::error::TrySendError::Full(_)) {
                    self.too_slow();
                }
                false
            }
        }
    }

    fn unqueue(&self, weight: usize) {
        self.queued_bytes.fetch_sub(weight, Ordering::SeqCst);
        self.queued_messages.fetch_sub(1, Ordering::SeqCst);
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

    /// Whether the connection is gone (or going).
    #[cfg(test)]
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed() || self.cancel.is_cancelled()
    }

    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }
}

fn as_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use docsync::PeerId;

    fn unavailable() -> Message {
        Message::DocUnavailable {
            sender_id: PeerId::new("server").expect("peer id"),
            target_id: PeerId::new("peer").expect("peer id"),
            document_id: DocumentId::random(),
        }
    }

    fn outbox(max_messages: usize) -> (Outbox, mpsc::Receiver<Outbound>) {
        Outbox::new(
            CancellationToken::new(),
            max_messages,
            1 << 20,
            Arc::new(Metrics::new()),
        )
    }

    #[test]
    fn unprompted_messages_over_the_cap_close_the_connection() {
        let (outbox, _rx) = outbox(8);
        for _ in 0..8 {
            assert!(outbox.send(unavailable()));
        }
        assert!(!outbox.send(unavailable()));
        assert!(outbox.is_closed());
        assert_eq!(outbox.fatal().map(|f| f.reason.as_str()), Some(TOO_SLOW));
    }

    #[test]
    fn answers_pass_the_cap_and_pacing_waits_for_the_writer() {
        let (outbox, mut rx) = outbox(8);
        for _ in 0..8 + Outbox::answers_for(8) {
            assert!(outbox.answer(unavailable()));
        }
        assert!(!outbox.is_closed());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let paced = outbox.pace();
            tokio::pin!(paced);
            assert!(futures_util::poll!(paced.as_mut()).is_pending());
            assert!(outbox.is_pacing());
            // The writer drains the queue below half its cap.
            while let Ok(Outbound::Message(m)) = rx.try_recv() {
                outbox.dequeued(&m);
                if outbox.has_room() {
                    break;
                }
            }
            assert!(paced.await.is_some());
            assert!(!outbox.is_pacing());
        });
    }
}
