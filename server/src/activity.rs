//! When bytes last moved on a connection, and whether the server or the
//! client is the one to move next: what the HTTP idle timeout and the
//! WebSocket writer's stall check decide on.
//!
//! [`Tracked`] wraps a connection's socket and stamps every read and write
//! that moves bytes; the HTTP layer marks the time a request is being
//! handled ([`Activity::handling`]), except while the handler waits for
//! more of the request body ([`TrackedBody`]). A connection is *idle* when
//! nothing has moved for a while and the next move is the client's: it
//! keeps a kept-alive connection without requests, a body that stopped
//! arriving and a response nobody reads from holding a descriptor for ever,
//! without ever closing a connection whose request the server is still
//! working on.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

/// The activity of one connection, shared by its socket, its requests and
/// whoever watches it.
#[derive(Debug)]
pub(crate) struct Activity {
    start: Instant,
    /// Milliseconds since `start` of the last read, and of the last write,
    /// that moved bytes, and of the last time the turn passed between
    /// server and client without any (a handler starting or finishing, a
    /// body wait starting).
    last_read: AtomicU64,
    last_write: AtomicU64,
    last_turn: AtomicU64,
    /// One more than the milliseconds since `start` of the last time a
    /// write went through after the socket had been full (0: never): the
    /// peer read what we sent, so it is alive however long our pings take
    /// to reach it behind the rest.
    last_drain: AtomicU64,
    /// The last write found the socket full.
    write_blocked: AtomicBool,
    /// A request is being handled: the next move is the server's.
    handling: AtomicBool,
    /// The handler waits for more of the request body: the client's move.
    awaiting_body: AtomicBool,
}

impl Activity {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            start: Instant::now(),
            last_read: AtomicU64::new(0),
            last_write: AtomicU64::new(0),
            last_turn: AtomicU64::new(0),
            last_drain: AtomicU64::new(0),
            write_blocked: AtomicBool::new(false),
            handling: AtomicBool::new(false),
            awaiting_body: AtomicBool::new(false),
        })
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn at(&self, ms: u64) -> Instant {
        self.start + Duration::from_millis(ms)
    }

    fn read_now(&self) {
        self.last_read.store(self.now_ms(), Ordering::Relaxed);
    }

    fn wrote_now(&self) {
        self.last_write.store(self.now_ms(), Ordering::Relaxed);
    }

    /// Notes the outcome of a write: whether it moved bytes, and whether
    /// it found the socket full.
    fn wrote(&self, polled: &Poll<std::io::Result<usize>>) {
        match polled {
            Poll::Ready(Ok(n)) if *n > 0 => {
                self.wrote_now();
                if self.write_blocked.swap(false, Ordering::Relaxed) {
                    self.last_drain
                        .store(self.now_ms().saturating_add(1), Ordering::Relaxed);
                }
            }
            Poll::Pending => self.write_blocked.store(true, Ordering::Relaxed),
            Poll::Ready(_) => {}
        }
    }

    /// Whether bytes have arrived since `since`: the peer is alive, even
    /// if its pong still waits behind the rest of a large message.
    pub fn read_since(&self, since: Instant) -> bool {
        self.at(self.last_read.load(Ordering::Relaxed)) >= since
    }

    /// Whether the peer has drained a full socket since `since`: proof
    /// that it is alive and reading.
    pub fn drained_since(&self, since: Instant) -> bool {
        match self.last_drain.load(Ordering::Relaxed) {
            0 => false,
            ms => self.at(ms - 1) >= since,
        }
    }

    fn turned_now(&self) {
        self.last_turn.store(self.now_ms(), Ordering::Relaxed);
    }

    /// When bytes last moved either way (or the turn passed).
    fn last_io(&self) -> Instant {
        let read = self.last_read.load(Ordering::Relaxed);
        let write = self.last_write.load(Ordering::Relaxed);
        let turn = self.last_turn.load(Ordering::Relaxed);
        self.at(read.max(write).max(turn))
    }

    /// When bytes were last written to the socket.
    pub fn last_write(&self) -> Instant {
        self.at(self.last_write.load(Ordering::Relaxed))
    }

    /// Whether the next move is the client's: no request is being handled,
    /// or its handler waits for the body.
    fn waits_for_client(&self) -> bool {
        !self.handling.load(Ordering::Relaxed) || self.awaiting_body.load(Ordering::Relaxed)
    }

    /// Marks a request as being handled until the guard is dropped. Both
    /// ends count as activity, so that the idle clock restarts when the
    /// server hands the turn back to the client.
    pub fn handling(self: &Arc<Self>) -> Handling {
        self.handling.store(true, Ordering::Relaxed);
        self.turned_now();
        Handling(self.clone())
    }

    /// Resolves once nothing has moved for `limit` while it was the
    /// client's move.
    pub async fn idle(&self, limit: Duration) {
        loop {
            tokio::time::sleep_until(self.last_io() + limit).await;
            if !self.waits_for_client() {
                // The server is working on a request: look again later.
                tokio::time::sleep(limit).await;
                continue;
            }
            if self.last_io() + limit <= Instant::now() {
                return;
            }
        }
    }

    /// Resolves once no byte has been written for `limit`, counted from
    /// now at the earliest: for a write that has been waiting that long,
    /// the peer has stopped reading.
    pub async fn write_stalled(&self, limit: Duration) {
        let since = Instant::now();
        loop {
            let deadline = self.last_write().max(since) + limit;
            tokio::time::sleep_until(deadline).await;
            if self.last_write().max(since) + limit <= Instant::now() {
                return;
            }
        }
    }
}

/// See [`Activity::handling`].
#[derive(Debug)]
pub(crate) struct Handling(Arc<Activity>);

impl Drop for Handling {
    fn drop(&mut self) {
        self.0.handling.store(false, Ordering::Relaxed);
        self.0.awaiting_body.store(false, Ordering::Relaxed);
        self.0.turned_now();
    }
}

/// A socket whose reads and writes stamp its [`Activity`].
#[derive(Debug)]
pub(crate) struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S> Tracked<S> {
    pub fn new(inner: S, activity: Arc<Activity>) -> Self {
        Self { inner, activity }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.read_now();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.activity.wrote(&polled);
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.activity.wrote(&polled);
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A request body that tells its [`Activity`] while the handler waits for
/// more of it (the client's move, however long the handler has been busy).
#[derive(Debug)]
pub(crate) struct TrackedBody<B> {
    inner: B,
    activity: Arc<Activity>,
}

impl<B> TrackedBody<B> {
    pub fn new(inner: B, activity: Arc<Activity>) -> Self {
        Self { inner, activity }
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for TrackedBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        let waiting = polled.is_pending();
        if self.activity.awaiting_body.swap(waiting, Ordering::Relaxed) != waiting {
            // The wait starts (or ends) now.
            self.activity.turned_now();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn idle_waits_for_the_client_and_never_fires_while_handling() {
        let activity = Activity::new();
        let limit = Duration::from_millis(50);
        let handling = activity.handling();
        // The server works on a request for longer than the limit.
        let idle = activity.idle(limit);
        tokio::pin!(idle);
        assert!(
            tokio::time::timeout(limit * 4, idle.as_mut())
                .await
                .is_err()
        );
        // Done: the clock starts when the turn is the client's.
        drop(handling);
        let started = Instant::now();
        tokio::time::timeout(Duration::from_secs(10), idle)
            .await
            .expect("idle after the limit");
        assert!(started.elapsed() >= limit);
    }

    #[tokio::test]
    async fn a_write_stall_counts_from_the_last_write_or_now() {
        let activity = Activity::new();
        let limit = Duration::from_millis(50);
        tokio::time::sleep(limit * 2).await;
        let started = Instant::now();
        activity.write_stalled(limit).await;
        assert!(started.elapsed() >= limit);
    }
}
