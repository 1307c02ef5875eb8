//! The HTTP listener: accepts TCP connections and serves each with hyper's
//! HTTP/1.1 (WebSocket upgrades included), with the limits `axum::serve`
//! does not offer. Without them, clients that send a request head one byte
//! at a time hold a file descriptor each for as long as they like, until
//! `accept` fails for everyone.
//!
//! - A request head must be complete within `header_timeout` (hyper's
//!   header read timeout, which also runs while a kept-alive connection
//!   waits for its next request).
//! - A connection on which nothing moves for `idle_timeout` while it is
//!   the client's move is closed ([`Activity::idle`]): a request body that
//!   stops arriving, a response the client stops reading.
//! - At most `max_connections` connections that are not WebSockets are
//!   open at once; one over the cap is answered 503 and closed at once,
//!   before anything else is read from it. An upgraded WebSocket leaves
//!   this count (it holds a slot of `--max-connections` instead).
//! - A failing `accept` (out of file descriptors, for one) pauses the loop
//!   briefly instead of spinning, and is logged at most every 10 s.
//!
//! Every accepted socket gets `TCP_NODELAY`. On shutdown the loop stops
//! accepting and each connection finishes the request in flight (hyper's
//! graceful shutdown) and closes.

use std::convert::Infallible;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::Metrics;
use crate::activity::{Activity, Tracked, TrackedBody};

/// The largest request head (request line and headers) read: 64 KiB. A
/// longer one is answered by hyper itself, 431 with an empty body. As the
/// read buffer's size, it also bounds what a slow client can make the
/// server hold before the head timeout ends it.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// How long the accept loop pauses after `accept` fails for want of a
/// resource; a connection closing meanwhile frees one.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// How often a failing `accept` is logged at most.
const ACCEPT_LOG_EVERY: Duration = Duration::from_secs(10);

/// The limits of one listener's connections (see the module doc).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

/// Accepts and serves connections on `listener` until `shutdown`, then
/// waits for the connections to finish.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(
        limits.max_connections.min(Semaphore::MAX_PERMITS),
    ));
    let mut connections = JoinSet::new();
    let mut failures = AcceptFailures::default();
    loop {
        let accepted = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            Some(done) = connections.join_next(), if !connections.is_empty() => {
                if let Err(e) = done {
                    tracing::error!(error = %e, "an HTTP connection task failed");
                }
                continue;
            }
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((tcp, peer)) => {
                // Requests and sync messages are small and latency-bound: no
                // Nagle delay.
                if let Err(e) = tcp.set_nodelay(true) {
                    tracing::debug!(error = %e, "could not set TCP_NODELAY");
                }
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    metrics.http_connections_refused.inc();
                    refuse(&tcp);
                    continue;
                };
                connections.spawn(serve_connection(
                    tcp,
                    peer,
                    router.clone(),
                    limits,
                    metrics.clone(),
                    shutdown.clone(),
                    slot,
                ));
            }
            // The client gave up before we accepted: nothing to do.
            Err(e) if is_connection_error(&e) => {}
            Err(e) => {
                metrics.accept_errors.inc();
                failures.log(&e);
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(ACCEPT_PAUSE) => {}
                }
            }
        }
    }
    // New connections are refused by the OS from here on.
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// Errors of one connection that `accept` reports: the next accept may
/// well succeed at once.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        e.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    )
}

/// Logs failing accepts at most every [`ACCEPT_LOG_EVERY`], with the count
/// of those not logged.
#[derive(Debug, Default)]
struct AcceptFailures {
    last_logged: Option<Instant>,
    unlogged: u64,
}

impl AcceptFailures {
    fn log(&mut self, e: &std::io::Error) {
        let now = Instant::now();
        if self
            .last_logged
            .is_some_and(|at| now.duration_since(at) < ACCEPT_LOG_EVERY)
        {
            self.unlogged += 1;
            return;
        }
        tracing::error!(
            error = %e,
            failures_since_last_log = self.unlogged,
            "cannot accept connections; pausing before the next try (is `ulimit -n` too low?)"
        );
        self.last_logged = Some(now);
        self.unlogged = 0;
    }
}

/// The answer to a connection over the cap.
static REFUSAL: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let body = r#"{"error":"too many connections; try again later"}"#;
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: 5\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
});

/// Answers a connection over the cap with 503 and closes it, without
/// waiting for anything: whatever the client sent so far is read and
/// dropped (closing a socket with unread data would reset the connection
/// before the client reads the answer), then the answer is written into
/// the empty send buffer of the new socket.
fn refuse(tcp: &TcpStream) {
    let mut scratch = [0u8; 4096];
    for _ in 0..16 {
        match tcp.try_read(&mut scratch) {
            Ok(n) if n > 0 => {}
            _ => break,
        }
    }
    let _ = tcp.try_write(&REFUSAL);
}

/// Serves one connection until it closes, times out, is upgraded, or the
/// server shuts down. `slot` is its place under the connection cap.
async fn serve_connection(
    tcp: TcpStream,
    peer: std::net::SocketAddr,
    router: Router,
    limits: Limits,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    slot: OwnedSemaphorePermit,
) {
    metrics.http_connections.inc();
    let activity = Activity::new();
    let io = TokioIo::new(Tracked::new(tcp, activity.clone()));
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |request| {
            handle(router.clone(), activity.clone(), peer, request)
        })
    };
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_header_size(MAX_HEAD_BYTES)
        .serve_connection(io, service)
        .with_upgrades();
    tokio::pin!(connection);
    let idle = activity.idle(limits.idle_timeout);
    tokio::pin!(idle);
    let mut shutting_down = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    if e.is_timeout() {
                        metrics.http_timeouts.inc();
                    }
                    tracing::debug!(error = %e, "HTTP connection ended");
                }
                break;
            }
            () = idle.as_mut() => {
                metrics.http_timeouts.inc();
                tracing::debug!("closing an idle HTTP connection");
                break;
            }
            () = shutdown.cancelled(), if !shutting_down => {
                shutting_down = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
    // Upgraded, or closed: either way no longer an HTTP connection.
    drop(slot);
    metrics.http_connections.dec();
}

/// One request: handled by the router, with the connection's activity
/// told when the server has the turn, and available to the handler (the
/// WebSocket writer watches it for stalls).
async fn handle(
    router: Router,
    activity: Arc<Activity>,
    peer: std::net::SocketAddr,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let _handling = activity.handling();
    let mut request = request.map(|body| Body::new(TrackedBody::new(body, activity.clone())));
    request.extensions_mut().insert(activity.clone());
    // The client's address keys the sign-in limit (`guard.rs`).
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(peer));
    router.oneshot(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn failing_accepts_are_logged_once_per_interval() {
        let mut failures = AcceptFailures::default();
        let e = std::io::Error::from_raw_os_error(24); // EMFILE
        failures.log(&e);
        assert!(failures.last_logged.is_some());
        for _ in 0..1000 {
            failures.log(&e);
        }
        assert_eq!(failures.unlogged, 1000);
    }

    #[test]
    fn errors_of_one_connection_do_not_pause_the_loop() {
        use std::io::{Error, ErrorKind};
        assert!(is_connection_error(&Error::from(
            ErrorKind::ConnectionAborted
        )));
        assert!(!is_connection_error(&Error::from_raw_os_error(24)));
    }
}
