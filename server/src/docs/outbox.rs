//! The sending half of a connection, as document actors see it.

use protocol::Message;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// What a connection's writer task sends.
#[derive(Debug)]
pub enum Outbound {
    Message(Message),
    /// Send an `error` message with this text, then close the connection.
    Fatal(String),
}

/// A bounded queue into one connection's writer. A peer too slow to drain
/// it is disconnected (it resyncs when it reconnects); messages are never
/// dropped silently.
#[derive(Debug, Clone)]
pub struct Outbox {
    tx: mpsc::Sender<Outbound>,
    cancel: CancellationToken,
}

impl Outbox {
    pub fn new(tx: mpsc::Sender<Outbound>, cancel: CancellationToken) -> Self {
        Self { tx, cancel }
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

    /// Sends an `error` with `reason` and closes the connection.
    pub fn fail(&self, reason: String) {
        if self.tx.try_send(Outbound::Fatal(reason)).is_err() {
            self.cancel.cancel();
        }
    }

    pub fn is_closed(&self) -> bool {
        self.tx.is_closed() || self.cancel.is_cancelled()
    }
}
