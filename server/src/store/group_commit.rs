//! Group commit: many writers, one flush.
//!
//! Writers call [`GroupCommit::durable`] after their writes. A dedicated
//! thread takes every request that is waiting, flushes once, and answers
//! them all; requests that arrive during a flush share the next one. So a
//! busy server pays one fsync per batch, not one per change.

use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::Instant;

use tokio::sync::oneshot;

use super::{Store, StoreError};

type Waiter = oneshot::Sender<Result<(), String>>;

#[derive(Debug, Clone)]
pub struct GroupCommit {
    requests: std_mpsc::Sender<Waiter>,
}

impl GroupCommit {
    /// Starts the flushing thread. `on_flush` observes each flush's duration.
    pub fn start(
        store: Arc<dyn Store>,
        on_flush: impl Fn(std::time::Duration) + Send + 'static,
    ) -> Self {
        let store = Arc::downgrade(&store);
        let (requests, rx) = std_mpsc::channel::<Waiter>();
        std::thread::Builder::new()
            .name("synpunkt-flush".into())
            .spawn(move || {
                // Ends when every sender (every clone of GroupCommit) is gone.
                while let Ok(first) = rx.recv() {
                    let mut waiters = vec![first];
                    waiters.extend(rx.try_iter());
                    let started = Instant::now();
                    // The thread must not keep the store open after the
                    // server has let it go.
                    let result = match store.upgrade() {
                        Some(store) => store.flush().map_err(|e| e.to_string()),
                        None => Err(StoreError::Closed.to_string()),
                    };
                    on_flush(started.elapsed());
                    if let Err(e) = &result {
                        tracing::error!(error = %e, "store flush failed");
                    }
                    for w in waiters {
                        let _ = w.send(result.clone());
                    }
                }
            })
            .expect("spawning the flush thread");
        Self { requests }
    }

    /// Resolves once every write made before this call is on disk.
    pub async fn durable(&self) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        self.requests.send(tx).map_err(|_| StoreError::Closed)?;
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StoreError::Transaction(e)),
            Err(_) => Err(StoreError::Closed),
        }
    }
}
