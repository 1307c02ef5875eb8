//! The `synpunkt` binary as a child process, for tests of what only a
//! process has: command-line parsing, signals, and crashes.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::TIMEOUT;

/// The debug `synpunkt` binary next to this test binary, built on first use.
pub fn synpunkt_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("test binary path");
        // target/<profile>/deps/<test> → target/<profile>/synpunkt
        let dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test binary lives in target/<profile>/deps");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .current_dir(crate::repo_root())
            .args(["build", "--quiet", "-p", "server", "--bin", "synpunkt"])
            .status()
            .expect("run cargo build");
        assert!(status.success(), "building synpunkt failed");
        dir.join("synpunkt")
    })
}

/// A running `synpunkt serve` process.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    addr: String,
    admin: String,
    log: Arc<Mutex<Vec<String>>>,
    log_drained: tokio::task::JoinHandle<()>,
}

impl ServerProcess {
    /// Starts `synpunkt serve` on an ephemeral port with `data` as its
    /// directory, and waits for the line that gives its address.
    pub async fn start(data: &Path) -> Self {
        Self::start_with(data, &[]).await
    }

    /// Like [`ServerProcess::start`], with more `serve` arguments.
    pub async fn start_with(data: &Path, args: &[&str]) -> Self {
        Self::start_on("127.0.0.1:0", data, args).await
    }

    /// Like [`ServerProcess::start_with`], listening on `listen` (a node
    /// behind a load balancer comes back on the address it is known by).
    pub async fn start_on(listen: &str, data: &Path, args: &[&str]) -> Self {
        let mut child = Command::new(synpunkt_bin())
            .args(["serve", "--listen", listen, "--data"])
            .arg(data)
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start synpunkt");
        // Its log (warnings and errors) goes to the test's output and is
        // kept for assertions.
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("piped stderr");
        let log_drained = tokio::spawn({
            let log = log.clone();
            async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    eprintln!("synpunkt: {line}");
                    log.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(line);
                }
            }
        });
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let (addr, invite) = tokio::time::timeout(TIMEOUT, async {
            let mut addr = None;
            while let Some(line) = lines.next_line().await.expect("read stdout") {
                if let Some(rest) = line.strip_prefix("Synpunkt is running. Open http://") {
                    addr = Some(rest.trim_end_matches('/').to_owned());
                } else if let Some((_, token)) = line.split_once("/invite/") {
                    return (addr.expect("address first"), Some(token.trim().to_owned()));
                } else if line.starts_with("Data directory") {
                    return (addr.expect("address first"), None);
                }
            }
            panic!("synpunkt exited before printing its address");
        })
        .await
        .expect("synpunkt prints its address");
        // Keep draining stdout so the server never blocks on it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let admin = match invite {
            Some(invite) => crate::accept_invite(&format!("http://{addr}"), &invite, "Admin").await,
            None => String::new(),
        };
        Self {
            child,
            addr,
            admin,
            log,
            log_drained,
        }
    }

    /// Starts on a data directory whose admin session token is known.
    pub async fn start_as(data: &Path, admin: &str) -> Self {
        Self::start_as_with(data, admin, &[]).await
    }

    /// [`ServerProcess::start_on`] on a database whose admin session token
    /// is known (a node of a cluster).
    pub async fn start_as_on(listen: &str, data: &Path, admin: &str, args: &[&str]) -> Self {
        let mut server = Self::start_on(listen, data, args).await;
        server.admin = admin.to_owned();
        server
    }

    /// [`ServerProcess::start_as`] with more `serve` arguments.
    pub async fn start_as_with(data: &Path, admin: &str, args: &[&str]) -> Self {
        let mut server = Self::start_with(data, args).await;
        server.admin = admin.to_owned();
        server
    }

    /// The lines the process has written to stderr so far (its log).
    pub fn log_lines(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The admin's session token.
    pub fn admin_token(&self) -> &str {
        &self.admin
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The sync URL with the admin's token.
    pub fn sync_url(&self) -> String {
        format!("ws://{}/sync?token={}", self.addr, self.admin)
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// Sends a signal (`TERM`, `KILL`, …) with kill(1).
    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the process to end and returns its exit status.
    pub async fn wait(self) -> std::process::ExitStatus {
        self.wait_with_log().await.0
    }

    /// Waits for the process to end; returns its exit status and every line
    /// it wrote to stderr.
    pub async fn wait_with_log(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let status = tokio::time::timeout(TIMEOUT, self.child.wait())
            .await
            .expect("synpunkt exits in time")
            .expect("wait for synpunkt");
        // Its stderr ends with the process: read it to the end.
        let _ = tokio::time::timeout(TIMEOUT, &mut self.log_drained).await;
        (status, self.log_lines())
    }
}
