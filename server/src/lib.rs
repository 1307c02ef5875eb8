//! Synpunkt's server.
//!
//! - [`config`]: command line and environment settings.
//! - `http`: the axum routers: the public one (`/sync`, `/healthz`, pages,
//!   API, the web client) and the metrics one (`/metrics`, on its own
//!   listener).
//! - `listener`: the accept loop, serving each connection with hyper and
//!   its limits (request head timeout, idle timeout, the cap of HTTP
//!   connections); `activity`: when bytes last moved on a connection.
//! - `pages`: the server-rendered HTML pages (work without JavaScript).
//! - `conn`: one WebSocket connection speaking the automerge-repo protocol.
//! - `docs`: one actor per resident document, owning it and its peers' sync
//!   states; the registry that starts and evicts them.
//! - `store`: durable chunks behind a small trait (sled), with group commit.
//! - `metrics`: Prometheus counters and gauges.
//! - `rate`: the token bucket behind each connection's message rate limit.
//! - [`control`]: the Unix socket in the data directory through which
//!   `synpunkt admin-link` gets a sign-in link from the running server.
//!
//! [`Server::start`] binds nothing itself: it takes its listeners, so tests
//! run servers on `127.0.0.1:0`.

mod activity;
mod api;
pub mod auth;
pub mod clock;
mod cluster;
pub mod config;
mod conn;
pub mod control;
mod demo;
mod docs;
mod guard;
mod http;
pub mod import;
pub mod input;
mod listener;
mod memory;
mod metrics;
mod pages;
mod rate;
pub mod store;
pub mod workshops;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use docsync::PeerId;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use clock::Clock;
pub use config::Config;
pub use metrics::Metrics;
use store::{GroupCommit, PgStore, SledStore, Store};

/// What document actors need from the server.
#[derive(Debug)]
pub(crate) struct Shared {
    pub store: Arc<dyn Store>,
    pub auth: auth::Auth,
    pub commit: GroupCommit,
    pub metrics: Arc<Metrics>,
    pub config: Config,
    /// The server's own peer id, the `senderId` of everything it sends.
    pub peer_id: PeerId,
    /// Set when a write or flush failed on a store that does not recover
    /// ([`Store::recovers`]). sled's errors are sticky, and what is in its
    /// cache may not be on disk: nothing more is served, health checks
    /// fail, and the process should be restarted. (PostgreSQL's failures
    /// pass: its health is asked each time, see `http::healthz`.)
    store_failed: std::sync::atomic::AtomicBool,
}

impl Shared {
    pub fn store_failed(&self) -> bool {
        self.store_failed.load(Ordering::Relaxed)
    }

    pub fn mark_store_failed(&self) {
        if self.store.recovers() {
            return;
        }
        if !self.store_failed.swap(true, Ordering::Relaxed) {
            tracing::error!("the store failed; refusing further work until restarted");
        }
    }
}

impl std::fmt::Debug for dyn Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

type PeerEntry = (u64, CancellationToken, Option<String>);

/// State of a running server, shared by its HTTP handlers and connections.
#[derive(Debug)]
pub(crate) struct AppState {
    pub shared: Arc<Shared>,
    pub workshops: workshops::Workshops,
    pub auth: auth::Auth,
    /// Open connections by session id, closed when the session is revoked.
    live_sessions: Mutex<HashMap<String, Vec<CancellationToken>>>,
    /// Bumped whenever a role may have changed (visibility, revoked
    /// memberships); connections then re-check the roles they cached.
    roles_epoch: tokio::sync::watch::Sender<u64>,
    pub docs: Arc<docs::Docs>,
    /// Sent in `peer` messages so automerge-repo clients track our heads.
    pub storage_id: String,
    pub shutdown: CancellationToken,
    pub connections: TaskTracker,
    /// One permit per open sync connection (`max_connections`).
    pub connection_slots: Arc<tokio::sync::Semaphore>,
    /// The per-client limit on invite acceptance and failed session lookups.
    pub sign_in_limit: Arc<guard::SignInLimit>,
    /// Live peer ids: connection id, its token, its user.
    peers: Mutex<HashMap<PeerId, PeerEntry>>,
    next_conn: AtomicU64,
}

impl AppState {
    pub fn next_conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    fn peers(&self) -> std::sync::MutexGuard<'_, HashMap<PeerId, PeerEntry>> {
        self.peers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records the connection of a peer; returns the token of the connection
    /// it replaces, if any.
    ///
    /// A peer id held by a signed-in user's connection cannot be taken over
    /// by anyone else: `Err(())`, so nobody can knock others offline by
    /// joining with their peer id. (Anonymous readers can only replace
    /// anonymous readers.)
    pub fn register_peer(
        &self,
        peer: &PeerId,
        conn_id: u64,
        cancel: &CancellationToken,
        user: Option<&str>,
    ) -> Result<Option<CancellationToken>, ()> {
        let mut peers = self.peers();
        if let Some(existing) = peers.get(peer)
            && !existing.1.is_cancelled()
            && existing.2.is_some()
            && existing.2.as_deref() != user
        {
            return Err(());
        }
        Ok(peers
            .insert(
                peer.clone(),
                (conn_id, cancel.clone(), user.map(str::to_owned)),
            )
            .filter(|(old, _, _)| *old != conn_id)
            .map(|(_, token, _)| token))
    }

    /// Records an open connection of a session, to close on revocation.
    pub fn watch_session(&self, session_id: &str, cancel: &CancellationToken) {
        let mut live = self
            .live_sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let tokens = live.entry(session_id.to_owned()).or_default();
        tokens.retain(|t| !t.is_cancelled());
        tokens.push(cancel.clone());
    }

    pub fn roles_epoch(&self) -> u64 {
        *self.roles_epoch.borrow()
    }

    /// Wakes when roles may have changed.
    pub fn watch_roles(&self) -> tokio::sync::watch::Receiver<u64> {
        self.roles_epoch.subscribe()
    }

    /// Tells every connection, on every node, to re-check its cached
    /// roles (call it once the change is durable).
    pub fn roles_changed(&self) {
        self.roles_changed_here();
        self.shared
            .store
            .publish(&store::ClusterEvent::RolesChanged);
    }

    /// Tells this node's connections to re-check their cached roles.
    pub fn roles_changed_here(&self) {
        self.roles_epoch.send_modify(|e| *e += 1);
    }

    /// Closes every open connection of a (revoked) session, on every node
    /// (call it once the revocation is durable).
    pub fn close_session(&self, session_id: &str) {
        self.close_session_here(session_id);
        self.shared
            .store
            .publish(&store::ClusterEvent::SessionClosed {
                session: session_id.to_owned(),
            });
    }

    /// Closes this node's open connections of a (revoked) session.
    pub fn close_session_here(&self, session_id: &str) {
        let tokens = self
            .live_sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(session_id)
            .unwrap_or_default();
        for t in tokens {
            t.cancel();
        }
    }

    /// The sessions with open connections (forgetting those whose
    /// connections have all closed).
    pub fn open_sessions(&self) -> Vec<String> {
        let mut live = self
            .live_sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        live.retain(|_, tokens| {
            tokens.retain(|t| !t.is_cancelled());
            !tokens.is_empty()
        });
        live.keys().cloned().collect()
    }

    pub fn unregister_peer(&self, peer: &PeerId, conn_id: u64) {
        let mut peers = self.peers();
        if peers.get(peer).is_some_and(|(id, _, _)| *id == conn_id) {
            peers.remove(peer);
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the store (data directory {dir}): {source}")]
    Store {
        dir: std::path::PathBuf,
        source: store::StoreError,
    },
    #[error("cannot create workshops: {0}")]
    Demo(String),
    #[error("cannot listen: {0}")]
    Listen(#[from] std::io::Error),
}

/// Where a server listens: the public listener, and optionally a separate
/// one for `/metrics` (which the public one does not serve).
#[derive(Debug)]
pub struct Listeners {
    pub public: TcpListener,
    pub metrics: Option<TcpListener>,
}

impl From<TcpListener> for Listeners {
    fn from(public: TcpListener) -> Self {
        Self {
            public,
            metrics: None,
        }
    }
}

/// A running server. Dropping it does not stop it: call [`Server::shutdown`].
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    app: Arc<AppState>,
    /// The accept loops of the public and the metrics listener.
    http: Vec<tokio::task::JoinHandle<()>>,
    admin_invite: Option<String>,
}

impl Server {
    /// Opens the store in `config.data_dir` and serves on `listeners` (a
    /// plain `TcpListener` serves no metrics).
    pub async fn start(
        config: Config,
        listeners: impl Into<Listeners>,
    ) -> Result<Self, StartError> {
        let listeners = listeners.into();
        let addr = listeners.public.local_addr()?;
        let metrics_addr = listeners
            .metrics
            .as_ref()
            .map(TcpListener::local_addr)
            .transpose()?;
        let store_error = |source| StartError::Store {
            dir: config.data_dir.clone(),
            source,
        };
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| store_error(store::StoreError::Transaction(e.to_string())))?;
        let store: Arc<dyn Store> = match &config.store {
            config::StoreConfig::Sled => {
                Arc::new(SledStore::open(&config.data_dir).map_err(store_error)?)
            }
            config::StoreConfig::Postgres(url) => {
                // Blocks this thread while connecting and migrating.
                Arc::new(PgStore::open(url).map_err(store_error)?)
            }
        };
        // Nodes starting at once on an empty database set up once: the
        // first takes the lock and does it, the others then find it done.
        let setup = store.setup_lock().map_err(store_error)?;
        let storage_id = storage_id(store.as_ref()).map_err(store_error)?;
        let workshops = workshops::Workshops::new(store.clone());
        create_demo_workshops(store.as_ref(), &workshops)
            .map_err(|e| StartError::Demo(e.to_string()))?;
        let auth = auth::Auth::new(
            store.clone(),
            config.clock.clone(),
            auth::Lifetimes::of(&config),
        );
        let admin_invite = first_admin_invite(store.as_ref(), &auth)
            .map_err(|e| StartError::Demo(e.to_string()))?;
        drop(setup);
        // What the other nodes sharing the store do (nothing, on sled).
        let cluster_events = if config.cluster_listen {
            store.subscribe()
        } else {
            None
        };
        let metrics = Arc::new(Metrics::new());
        let flush_histogram = metrics.store_flush_seconds.clone();
        let commit = GroupCommit::start(store.clone(), move |d| {
            flush_histogram.observe(d.as_secs_f64());
        });
        let short: String = storage_id
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect();
        let peer_id = PeerId::new(format!("storage-server-synpunkt-{short}"))
            .expect("a fixed-format peer id is valid");
        let shared = Arc::new(Shared {
            store,
            auth: auth.clone(),
            commit,
            metrics,
            config,
            peer_id,
            store_failed: Default::default(),
        });
        let shutdown = CancellationToken::new();
        let docs = docs::Docs::new(shared.clone(), shutdown.child_token());
        let connection_slots = Arc::new(tokio::sync::Semaphore::new(
            shared
                .config
                .max_connections
                .min(tokio::sync::Semaphore::MAX_PERMITS),
        ));
        let sign_in_limit = Arc::new(guard::SignInLimit::new(
            shared.config.sign_in_attempts_per_minute,
            shared.config.sign_in_attempt_burst,
        ));
        let app = Arc::new(AppState {
            shared,
            workshops,
            auth,
            live_sessions: Mutex::default(),
            roles_epoch: tokio::sync::watch::channel(0).0,
            docs,
            storage_id,
            shutdown: shutdown.clone(),
            connections: TaskTracker::new(),
            connection_slots,
            sign_in_limit,
            peers: Mutex::default(),
            next_conn: AtomicU64::new(1),
        });
        tokio::spawn(memory::run(app.docs.clone(), shutdown.clone()));
        if let Some(events) = cluster_events {
            app.connections
                .spawn(cluster::run(app.clone(), events, shutdown.clone()));
        }
        // `synpunkt admin-link` asks for a sign-in link here.
        let control = control::bind(&app.shared.config.data_dir)?;
        app.connections
            .spawn(control::serve(control, app.clone(), addr, shutdown.clone()));
        // Tracked with the connections, so shutdown waits for it.
        app.connections
            .spawn(guard::housekeeping(app.clone(), shutdown.clone()));
        let config = &app.shared.config;
        let limits = listener::Limits {
            header_timeout: config.header_timeout,
            idle_timeout: config.http_idle_timeout,
            max_connections: config.max_http_connections,
        };
        let metrics = app.shared.metrics.clone();
        let mut http = vec![tokio::spawn(listener::serve(
            listeners.public,
            http::router(app.clone()),
            limits,
            metrics.clone(),
            shutdown.clone(),
        ))];
        if let Some(metrics_listener) = listeners.metrics {
            http.push(tokio::spawn(listener::serve(
                metrics_listener,
                http::metrics_router(app.clone()),
                limits,
                metrics,
                shutdown.clone(),
            )));
        }
        tracing::info!(%addr, "listening");
        if let Some(metrics_addr) = metrics_addr {
            tracing::info!(%metrics_addr, "serving metrics");
        }
        Ok(Self {
            addr,
            metrics_addr,
            app,
            http,
            admin_invite,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where `/metrics` is served, if anywhere.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// On the first start of a data directory: the token of the one-time
    /// admin sign-in link (`/invite/<token>`).
    pub fn admin_invite(&self) -> Option<&str> {
        self.admin_invite.as_deref()
    }

    pub fn metrics(&self) -> &Metrics {
        &self.app.shared.metrics
    }

    /// Stops accepting, closes every connection, lets every document actor
    /// finish its turn, and flushes the store. Returns once the data
    /// directory is released.
    pub async fn shutdown(self) {
        self.app.shutdown.cancel();
        // Graceful HTTP shutdown waits for responses in flight; a client
        // that stalls one must not hold up the process for ever. Aborting
        // an accept loop drops (and so aborts) its connections.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        for mut http in self.http {
            if tokio::time::timeout_at(deadline, &mut http).await.is_err() {
                tracing::warn!("HTTP responses still in flight after 5 s; aborting them");
                http.abort();
                let _ = http.await;
            }
        }
        self.app.connections.close();
        self.app.connections.wait().await;
        self.app.docs.shutdown().await;
        let store = self.app.shared.store.clone();
        match tokio::task::spawn_blocking(move || store.flush()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "final flush failed"),
            Err(e) => tracing::error!(error = %e, "final flush failed"),
        }
        // Every task is done: this is the last reference, and dropping it
        // closes the database (releasing its directory lock).
        if Arc::strong_count(&self.app) > 1 {
            tracing::warn!("state still referenced at shutdown");
        }
        drop(self.app);
        tracing::info!("shut down");
    }
}

/// Imports a page of workshop descriptions (see [`import`]) into the data
/// directory `data` (which no running server may hold), flushed to disk.
pub fn import_page(
    data: &std::path::Path,
    page: &str,
) -> Result<Vec<workshops::WorkshopRecord>, StartError> {
    let store_error = |source| StartError::Store {
        dir: data.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(data)
        .map_err(|e| store_error(store::StoreError::Transaction(e.to_string())))?;
    let store: Arc<dyn Store> = Arc::new(SledStore::open(data).map_err(store_error)?);
    let registry = workshops::Workshops::new(store.clone());
    let created = registry
        .create_page(&import::parse_page(page))
        .map_err(|e| StartError::Demo(e.to_string()))?;
    store.flush().map_err(store_error)?;
    Ok(created)
}

/// Makes a workshop of the saved summary document `saved` (see
/// [`workshops::Workshops::adopt`]) in the data directory `data` (which no
/// running server may hold), flushed to disk. The benchmarks' way to give
/// a workshop a long history.
pub fn import_document(
    data: &std::path::Path,
    saved: &[u8],
) -> Result<workshops::WorkshopRecord, StartError> {
    let store_error = |source| StartError::Store {
        dir: data.to_path_buf(),
        source,
    };
    let doc = automerge::Automerge::load(saved).map_err(|e| StartError::Demo(e.to_string()))?;
    let summary =
        model::summary::Summary::read(&doc).map_err(|e| StartError::Demo(e.to_string()))?;
    let store: Arc<dyn Store> = Arc::new(SledStore::open(data).map_err(store_error)?);
    let record = workshops::Workshops::new(store.clone())
        .adopt(&doc, &summary)
        .map_err(|e| StartError::Demo(e.to_string()))?;
    store.flush().map_err(store_error)?;
    Ok(record)
}

/// On the first start of a fresh data directory, creates the demo workshops.
fn create_demo_workshops(
    store: &dyn Store,
    workshops: &workshops::Workshops,
) -> Result<(), workshops::WorkshopError> {
    if store.get_meta("demo-created")?.is_some() {
        return Ok(());
    }
    if workshops.list()?.is_empty() {
        for summary in demo::summaries() {
            workshops.create(&summary)?;
        }
    }
    store.put_meta("demo-created", b"1")?;
    store.flush()?;
    Ok(())
}

/// On the first start, the one-time admin sign-in invite (valid 7 days).
fn first_admin_invite(
    store: &dyn Store,
    auth: &auth::Auth,
) -> Result<Option<String>, auth::AuthError> {
    if store.get_meta("admin-invited")?.is_some() {
        return Ok(None);
    }
    let (_, token) = auth.create_invite(None, auth::Grant::Admin, Some(7 * 24 * 3600), Some(1))?;
    store.put_meta("admin-invited", b"1")?;
    store.flush()?;
    Ok(Some(token))
}

/// The server's persistent storage id, created on first start.
fn storage_id(store: &dyn Store) -> Result<String, store::StoreError> {
    if let Some(id) = store.get_meta("storage-id")? {
        return Ok(String::from_utf8_lossy(&id).into_owned());
    }
    let id = hex::encode(rand::random::<[u8; 16]>());
    store.put_meta("storage-id", id.as_bytes())?;
    store.flush()?;
    Ok(id)
}
