//! A real Synpunkt server inside the test process.

use std::path::{Path, PathBuf};

use server::{Config, Listeners, Server};
use tokio::net::TcpListener;

/// A server on an ephemeral loopback port with its own data directory.
#[derive(Debug)]
pub struct TestServer {
    server: Option<Server>,
    dir: Option<tempfile::TempDir>,
    data: PathBuf,
    /// The admin's session token (the first start's sign-in link, used).
    admin: String,
    /// Where the server listened before [`TestServer::stop`].
    stopped_at: Option<std::net::SocketAddr>,
}

impl TestServer {
    /// Starts a server on a fresh temporary directory.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a server on a fresh temporary directory, adjusting its config.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let data = dir.path().join("data");
        let mut test = Self::start_in(&data, adjust).await;
        test.dir = Some(dir);
        test
    }

    /// Starts a server on an existing data directory (for restarts).
    pub async fn start_in(data: &Path, adjust: impl FnOnce(&mut Config)) -> Self {
        // Server warnings and errors show in a failing test's output.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
            )
            .with_test_writer()
            .try_init();
        let mut config = Config::new(data.to_path_buf());
        adjust(&mut config);
        let listeners = Listeners {
            public: TcpListener::bind("127.0.0.1:0").await.expect("bind"),
            metrics: Some(TcpListener::bind("127.0.0.1:0").await.expect("bind")),
        };
        let server = Server::start(config, listeners)
            .await
            .expect("server starts");
        let base = format!("http://{}", server.addr());
        let admin = match server.admin_invite() {
            Some(invite) => crate::accept_invite(&base, invite, "Admin").await,
            None => String::new(),
        };
        Self {
            server: Some(server),
            dir: None,
            data: data.to_path_buf(),
            admin,
            stopped_at: None,
        }
    }

    /// The admin's session token.
    pub fn admin_token(&self) -> &str {
        &self.admin
    }

    /// The sync URL of an anonymous (public) reader.
    pub fn public_sync_url(&self) -> String {
        format!("ws://{}/sync", self.server().addr())
    }

    /// The sync URL for a session token.
    pub fn sync_url_for(&self, token: &str) -> String {
        format!("ws://{}/sync?token={token}", self.server().addr())
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.server().addr())
    }

    fn server(&self) -> &Server {
        self.server.as_ref().expect("server is running")
    }

    /// The sync URL with the admin's token (documents outside workshops
    /// exist for admins only).
    pub fn sync_url(&self) -> String {
        self.sync_url_for(&self.admin)
    }

    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{}", self.server().addr(), path)
    }

    /// The URL of `/metrics`, served on a listener of its own.
    pub fn metrics_url(&self) -> String {
        let addr = self.server().metrics_addr().expect("a metrics listener");
        format!("http://{addr}/metrics")
    }

    pub fn metrics(&self) -> &server::Metrics {
        self.server().metrics()
    }

    /// Shuts the server down gracefully and starts a new one on the same
    /// data directory.
    pub async fn restart(self) -> Self {
        self.restart_with(|_| {}).await
    }

    /// Like [`TestServer::restart`], adjusting the new server's config.
    pub async fn restart_with(mut self, adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = self.dir.take();
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
        let mut next = Self::start_in(&self.data, adjust).await;
        next.dir = dir;
        next.admin = std::mem::take(&mut self.admin);
        next
    }

    /// Stops the server (as a network outage would look to its clients),
    /// keeping its data and address for [`TestServer::resume`].
    pub async fn stop(&mut self) -> std::net::SocketAddr {
        let server = self.server.take().expect("the server is running");
        let addr = server.addr();
        server.shutdown().await;
        self.stopped_at = Some(addr);
        addr
    }

    /// Starts the server again on the same address and data directory.
    pub async fn resume(&mut self) {
        let addr = self.stopped_at.take().expect("the server was stopped");
        let config = Config::new(self.data.clone());
        // The old socket may linger briefly; binding is retried, bounded.
        let mut listener = None;
        for _ in 0..200 {
            match TcpListener::bind(addr).await {
                Ok(l) => {
                    listener = Some(l);
                    break;
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(25)).await,
            }
        }
        let listeners = Listeners {
            public: listener.expect("the old address can be bound again"),
            metrics: Some(TcpListener::bind("127.0.0.1:0").await.expect("bind")),
        };
        self.server = Some(
            Server::start(config, listeners)
                .await
                .expect("server starts"),
        );
    }

    pub async fn shutdown(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}
