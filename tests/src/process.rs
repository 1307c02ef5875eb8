//! The `synpunkt` binary as a child process, for tests of what only a
//! process has: command-line parsing, signals, and crashes.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;

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
}

impl ServerProcess {
    /// Starts `synpunkt serve` on an ephemeral port with `data` as its
    /// directory, and waits for the line that gives its address.
    pub async fn start(data: &Path) -> Self {
        let mut child = Command::new(synpunkt_bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start synpunkt");
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
        Self { child, addr, admin }
    }

    /// Starts on a data directory whose admin session token is known.
    pub async fn start_as(data: &Path, admin: &str) -> Self {
        let mut server = Self::start(data).await;
        server.admin = admin.to_owned();
        server
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
    pub async fn wait(mut self) -> std::process::ExitStatus {
        tokio::time::timeout(TIMEOUT, self.child.wait())
            .await
            .expect("synpunkt exits in time")
            .expect("wait for synpunkt")
    }
}
