//! Guards around signing in:
//!
//! - [`SignInLimit`]: a per-client limit on *sign-in attempts*: accepting
//!   an invite (`POST /api/invites/{token}/accept`, `POST /invite/{token}`)
//!   and presenting a session token (cookie, bearer, `?token=` on `/sync`)
//!   that is not a live session. A client over the limit is refused (429,
//!   `Retry-After`) *before* its token is looked up, whatever the token, so
//!   the limit cannot be used as an oracle for guessed tokens. Requests
//!   without a token are never limited, and valid sessions never count.
//! - [`check`]: the middleware that applies it to every route that reads a
//!   session; it also tells a browser to forget a session cookie that is no
//!   longer valid, so an ended session does not keep counting.
//! - [`housekeeping`]: every minute forgets idle clients' limiter state and
//!   closes the open sync connections of sessions that have ended; every
//!   hour deletes ended sessions that nobody presented again.
//!
//! A client is its TCP peer address (`ConnectInfo<SocketAddr>` in the
//! request's extensions), IPv6 addresses by their /64 prefix (one host
//! usually holds a whole /64). Without `ConnectInfo` every request shares
//! one bucket. Behind a reverse proxy every client is the proxy; forwarded
//! headers are not trusted (anyone can send them).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio_util::sync::CancellationToken;

use crate::AppState;
use crate::api::{ApiError, FORGET_SESSION_COOKIE};

/// Who a request comes from, for the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Client {
    V4([u8; 4]),
    /// The /64 prefix of an IPv6 address.
    V6([u8; 8]),
    /// No peer address known: one shared bucket.
    Unknown,
}

impl Client {
    pub(crate) fn of(extensions: &axum::http::Extensions) -> Self {
        match extensions.get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(addr)) => Self::of_ip(addr.ip()),
            None => Self::Unknown,
        }
    }

    fn of_ip(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::V4(v4.octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4.octets()),
                None => {
                    let mut prefix = [0; 8];
                    prefix.copy_from_slice(&v6.octets()[..8]);
                    Self::V6(prefix)
                }
            },
        }
    }
}

/// The per-client limit on sign-in attempts: a GCRA bucket per client
/// (`governor`) of `burst` attempts refilled at `per_minute`, and the
/// clients over it with the moment they may try again.
pub(crate) struct SignInLimit {
    limiter: DefaultKeyedRateLimiter<Client>,
    /// Clients refused until the given moment.
    blocked: Mutex<HashMap<Client, Instant>>,
}

impl std::fmt::Debug for SignInLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignInLimit")
    }
}

impl SignInLimit {
    pub(crate) fn new(per_minute: u32, burst: u32) -> Self {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst)),
            blocked: Mutex::default(),
        }
    }

    fn blocked(&self) -> std::sync::MutexGuard<'_, HashMap<Client, Instant>> {
        self.blocked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How long `client` must wait before its next attempt, if it is over
    /// the limit now.
    pub(crate) fn refused(&self, client: Client) -> Option<Duration> {
        let now = Instant::now();
        let mut blocked = self.blocked();
        match blocked.get(&client) {
            Some(until) if *until > now => Some(*until - now),
            Some(_) => {
                blocked.remove(&client);
                None
            }
            None => None,
        }
    }

    /// Counts one attempt of `client`. Over the limit it is refused, and
    /// every attempt until the returned wait is over is refused too.
    pub(crate) fn attempt(&self, client: Client) -> Result<(), Duration> {
        match self.limiter.check_key(&client) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let until = not_until.earliest_possible();
                let now = Instant::now();
                if self.blocked().insert(client, until).is_none() {
                    tracing::warn!(?client, "sign-in attempts over the limit; refusing for now");
                }
                Err(until.saturating_duration_since(now))
            }
        }
    }

    /// Forgets clients whose bucket is full again and blocks that are over.
    pub(crate) fn prune(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
        let now = Instant::now();
        self.blocked().retain(|_, until| *until > now);
    }
}

/// Whether a request accepts an invite.
fn accepts_invite(method: &Method, path: &str) -> bool {
    let token_only = |t: &str| !t.is_empty() && !t.contains('/');
    *method == Method::POST
        && (path
            .strip_prefix("/api/invites/")
            .and_then(|rest| rest.strip_suffix("/accept"))
            .is_some_and(token_only)
            || path.strip_prefix("/invite/").is_some_and(token_only))
}

/// Whether a route reads the caller's session (everything but the static
/// files, health and metrics).
fn reads_session(path: &str) -> bool {
    !(path.starts_with("/client/") || path == "/healthz" || path == "/metrics")
}

/// The session token the request's route reads, and whether it came from
/// the cookie. `?token=` counts on `/sync` only, as only `/sync` reads it.
fn presented_token(
    path: &str,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
) -> Option<(String, bool)> {
    let query = if path == "/sync" {
        Query::<HashMap<String, String>>::try_from_uri(uri)
            .map(|Query(q)| q)
            .unwrap_or_default()
    } else {
        HashMap::new()
    };
    let token = crate::api::token_of(headers, &query)?;
    let from_cookie = !query.contains_key("token") && !headers.contains_key(header::AUTHORIZATION);
    Some((token, from_cookie))
}

/// The middleware: refuses clients over the sign-in limit, counts invite
/// acceptances and tokens that are not live sessions, and clears a dead
/// session cookie.
pub(crate) async fn check(
    State(app): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    if !reads_session(&path) {
        return next.run(request).await;
    }
    let accepting = accepts_invite(request.method(), &path);
    let token = presented_token(&path, request.uri(), request.headers());
    if token.is_none() && !accepting {
        return next.run(request).await;
    }
    let client = Client::of(request.extensions());
    let limit = &app.sign_in_limit;
    if let Some(wait) = limit.refused(client) {
        return too_many(&path, &request, wait);
    }
    let dead = match &token {
        Some((token, _)) => matches!(app.auth.session(token), Ok(None)),
        None => false,
    };
    if (dead || accepting)
        && let Err(wait) = limit.attempt(client)
    {
        return too_many(&path, &request, wait);
    }
    let dead_cookie = dead && token.as_ref().is_some_and(|(_, cookie)| *cookie);
    let mut response = next.run(request).await;
    if dead_cookie && !response.headers().contains_key(header::SET_COOKIE) {
        // The browser forgets it: an ended session stops counting.
        response.headers_mut().insert(
            header::SET_COOKIE,
            HeaderValue::from_static(FORGET_SESSION_COOKIE),
        );
    }
    response
}

/// 429 with `Retry-After`: JSON for the API and the sync socket, a page
/// for everything else.
fn too_many(path: &str, request: &Request, wait: Duration) -> Response {
    // Whole seconds, rounded up: never "try again in 0 seconds".
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    let mut response = if path.starts_with("/api/") || path == "/sync" {
        ApiError::TooManyAttempts(seconds).into_response()
    } else {
        crate::pages::too_many_attempts(request.uri(), request.headers(), seconds)
    };
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// Every `housekeeping_every` (a minute): forgets idle clients of the
/// limit and closes the open connections of sessions that have ended. Every
/// hour, and at once: deletes ended sessions from the store. Stops at
/// `shutdown`.
pub(crate) async fn housekeeping(app: Arc<AppState>, shutdown: CancellationToken) {
    const SWEEP_EVERY: Duration = Duration::from_secs(3600);
    let mut ticks = tokio::time::interval(app.shared.config.housekeeping_every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_sweep: Option<Instant> = None;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        app.sign_in_limit.prune();
        let sweep = last_sweep.is_none_or(|at| at.elapsed() >= SWEEP_EVERY);
        let open = app.open_sessions();
        if !sweep && open.is_empty() {
            continue;
        }
        let auth = app.auth.clone();
        let done = tokio::task::spawn_blocking(move || {
            let removed = if sweep {
                auth.remove_expired_sessions()?
            } else {
                0
            };
            let live = if open.is_empty() {
                Default::default()
            } else {
                auth.live_session_ids()?
            };
            let ended: Vec<String> = open.into_iter().filter(|id| !live.contains(id)).collect();
            Ok::<_, crate::auth::AuthError>((removed, ended))
        })
        .await;
        if sweep {
            last_sweep = Some(Instant::now());
        }
        match done {
            Ok(Ok((removed, ended))) => {
                if removed > 0 {
                    tracing::info!(removed, "deleted ended sessions");
                }
                for id in ended {
                    app.close_session_here(&id);
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "could not check sessions"),
            Err(e) => tracing::warn!(error = %e, "could not check sessions"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_addresses_and_ipv6_slash_64_prefixes() {
        let ip = |s: &str| Client::of_ip(s.parse().expect("ip"));
        assert_eq!(ip("192.0.2.1"), Client::V4([192, 0, 2, 1]));
        assert_eq!(ip("::ffff:192.0.2.1"), Client::V4([192, 0, 2, 1]));
        assert_eq!(ip("2001:db8:1:2:aaaa::1"), ip("2001:db8:1:2:bbbb::2"));
        assert_ne!(ip("2001:db8:1:2::1"), ip("2001:db8:1:3::1"));
        assert_eq!(Client::of(&axum::http::Extensions::new()), Client::Unknown);
    }

    #[test]
    fn over_the_burst_a_client_is_refused_until_its_bucket_refills() {
        let limit = SignInLimit::new(1, 3);
        let a = Client::V4([192, 0, 2, 1]);
        let b = Client::V4([192, 0, 2, 2]);
        for _ in 0..3 {
            assert!(limit.refused(a).is_none());
            assert!(limit.attempt(a).is_ok());
        }
        let wait = limit.attempt(a).expect_err("over the burst");
        assert!(
            wait > Duration::from_secs(50) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        assert!(limit.refused(a).is_some());
        assert!(limit.refused(b).is_none(), "another client is not affected");
        assert!(limit.attempt(b).is_ok());
    }

    #[test]
    fn invite_acceptances_and_session_routes_are_recognised() {
        assert!(accepts_invite(&Method::POST, "/api/invites/abc/accept"));
        assert!(accepts_invite(&Method::POST, "/invite/abc"));
        assert!(!accepts_invite(&Method::GET, "/invite/abc"));
        assert!(!accepts_invite(&Method::POST, "/api/invites//accept"));
        assert!(!accepts_invite(&Method::POST, "/api/workshops/x/invites"));
        assert!(reads_session("/api/session") && reads_session("/") && reads_session("/sync"));
        assert!(!reads_session("/client/app.css") && !reads_session("/healthz"));
    }

    #[test]
    fn the_query_token_counts_on_sync_only() {
        let headers = HeaderMap::new();
        let sync: axum::http::Uri = "/sync?token=abc".parse().expect("uri");
        assert_eq!(
            presented_token("/sync", &sync, &headers),
            Some(("abc".to_owned(), false))
        );
        let api: axum::http::Uri = "/api/session?token=abc".parse().expect("uri");
        assert_eq!(presented_token("/api/session", &api, &headers), None);
        let mut cookie = HeaderMap::new();
        cookie.insert(
            header::COOKIE,
            HeaderValue::from_static("synpunkt_session=xyz"),
        );
        assert_eq!(
            presented_token("/", &"/".parse().expect("uri"), &cookie),
            Some(("xyz".to_owned(), true))
        );
    }
}
