//! The sending half of a connection, as document actors see it.

use std::sync::{Arc, OnceLock};

use protocol::{DocumentId, Message};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

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
}

impl Outbox {
    pub fn new(tx: mpsc::Sender<Outbound>, cancel: CancellationToken) -> Self {
        Self {
            tx,
            cancel,
            fatal: Arc::default(),
        }
    }

    /// The fatal error to send before closing, if any.
    pub fn fatal(&self) -> Option<&Fatal> {
        self.fatal.get()
    }

    /// Queues a message; returns false (and closes the connection if it is
    /// too slow) when the message cannot be delivered.
    pub fn send(&self, message: Message) -> bool {
        match self.tx.try_send(Outbound::Message(message)) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!("peer too slow to read its messages; disconnecting it");
                self.cancel.cancel();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
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

    pub fn is_closed(&self) -> bool {
        self.tx.is_closed() || self.cancel.is_cancelled()
    }
}
