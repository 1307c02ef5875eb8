//! The servers under test, as processes: ours (the release `synpunkt`
//! binary), samod (the Rust automerge-repo, as a small server of its own:
//! `bench/samod-server`, with samod's filesystem storage) and the reference
//! JavaScript sync server (`node tests/js/sync-server.mjs`, automerge-repo's
//! own server).
//!
//! A `Target` owns a temporary data directory that outlives restarts: stop
//! and start again on the same data is how the scenarios get a cold server.
//! All give a WebSocket URL for the same load generator (the others have
//! no `?token=`), their pid's CPU seconds and memory (from /proc), and
//! stop on SIGTERM.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, BufReader};

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ours,
    Samod,
    Js,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Ours => "ours",
            Kind::Samod => "samod",
            Kind::Js => "js",
        }
    }
}

/// How to start each server.
#[derive(Debug, Clone)]
pub struct Programs {
    /// The release `synpunkt` binary.
    pub ours: PathBuf,
    /// Extra arguments for every start of ours (e.g. raised limits).
    pub ours_args: Vec<String>,
    /// `bench/samod-server`'s release binary.
    pub samod: PathBuf,
    /// The Node executable.
    pub node: PathBuf,
    /// `tests/js/sync-server.mjs`.
    pub js_script: PathBuf,
}

/// A running (or stopped) server on its own data directory.
pub struct Target {
    pub kind: Kind,
    programs: Programs,
    /// Arguments this scenario adds for ours (ignored for js).
    extra: Vec<String>,
    dir: tempfile::TempDir,
    child: Option<tokio::process::Child>,
    addr: String,
    /// Ours: where it serves `/metrics` (a listener of its own).
    metrics_addr: Option<String>,
    /// Ours: the admin's session (benchmark documents live outside
    /// workshops, where only admins may go). Survives restarts.
    token: Option<String>,
}

impl Target {
    /// Starts a server of `kind` on a fresh data directory.
    pub async fn start(kind: Kind, programs: &Programs, extra: &[String]) -> anyhow::Result<Self> {
        let mut target = Self {
            kind,
            programs: programs.clone(),
            extra: extra.to_vec(),
            dir: tempfile::tempdir()?,
            child: None,
            addr: String::new(),
            metrics_addr: None,
            token: None,
        };
        target.spawn().await?;
        Ok(target)
    }

    /// Starts ours on a database another node set up: its admin (`token`)
    /// is already there, so it prints no sign-in link (a cluster's second
    /// and later nodes, `--store postgres://…` in `extra`).
    pub async fn start_as(
        programs: &Programs,
        extra: &[String],
        token: &str,
    ) -> anyhow::Result<Self> {
        let mut target = Self {
            kind: Kind::Ours,
            programs: programs.clone(),
            extra: extra.to_vec(),
            dir: tempfile::tempdir()?,
            child: None,
            addr: String::new(),
            metrics_addr: None,
            token: Some(token.to_owned()),
        };
        target.spawn().await?;
        Ok(target)
    }

    /// Ours: the admin's session token.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    async fn spawn(&mut self) -> anyhow::Result<()> {
        let data = self.data_dir();
        let mut command = match self.kind {
            Kind::Ours => {
                let mut c = tokio::process::Command::new(&self.programs.ours);
                c.args(["serve", "--listen", "127.0.0.1:0", "--data"])
                    .arg(&data)
                    .args(["--metrics-listen", "127.0.0.1:0"])
                    .args(&self.programs.ours_args)
                    .args(&self.extra)
                    .env("RUST_LOG", "warn");
                c
            }
            Kind::Samod => {
                let mut c = tokio::process::Command::new(&self.programs.samod);
                c.arg("127.0.0.1:0").arg(&data);
                c
            }
            Kind::Js => {
                let mut c = tokio::process::Command::new(&self.programs.node);
                c.arg(&self.programs.js_script).arg(&data).arg("0");
                c
            }
        };
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting the {} server", self.kind.name()))?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let mut addr = None;
        let mut metrics_addr = None;
        let mut invite = None;
        while let Some(line) = lines.next_line().await? {
            if let Some(port) = line.strip_prefix("listening on ") {
                addr = Some(format!("127.0.0.1:{}", port.trim()));
                break;
            } else if let Some(rest) = line.strip_prefix("Synpunkt is running. Open http://") {
                addr = Some(rest.trim_end_matches('/').to_owned());
            } else if let Some(rest) = line.strip_prefix("Metrics: http://") {
                metrics_addr = rest.strip_suffix("/metrics").map(str::to_owned);
            } else if let Some((_, token)) = line.split_once("/invite/") {
                invite = Some(token.trim().to_owned());
            } else if line.starts_with("Data directory") {
                break;
            }
        }
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        if std::env::var_os("DBG_DELAY").is_some() {
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        self.addr = addr.with_context(|| {
            format!(
                "the {} server exited before printing its address",
                self.kind.name()
            )
        })?;
        self.metrics_addr = metrics_addr;
        self.child = Some(child);
        if self.kind == Kind::Ours && self.token.is_none() {
            let invite = invite.context("a fresh server prints its admin sign-in link")?;
            self.token = Some(accept_invite(&self.addr, &invite).await?);
        }
        Ok(())
    }

    /// Stops the server with SIGTERM and waits for it to exit (it flushes
    /// its store first); kills it if it takes longer than 60 s.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if let Some(pid) = child.id() {
            let _ = tokio::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
        if tokio::time::timeout(Duration::from_secs(60), child.wait())
            .await
            .is_err()
        {
            child.kill().await?;
            anyhow::bail!("the {} server did not stop within 60 s", self.kind.name());
        }
        Ok(())
    }

    /// Stops the server and starts it again on the same data: a cold server.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop().await?;
        self.spawn().await
    }

    /// The server's data directory (ours: a sled store no one may open
    /// while the server runs).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Starts the server again on the same data after [`Target::stop`].
    pub async fn start_again(&mut self) -> anyhow::Result<()> {
        anyhow::ensure!(self.child.is_none(), "the server is still running");
        self.spawn().await
    }

    /// `host:port`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The sync endpoint, with the admin's token for ours.
    pub fn url(&self) -> String {
        match &self.token {
            Some(token) => format!("ws://{}/sync?token={token}", self.addr),
            None => format!("ws://{}/sync", self.addr),
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().and_then(|c| c.id()).unwrap_or(0)
    }

    /// User + system CPU seconds of the server process so far.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(&self.pid().to_string())
    }

    fn status_kib(&self, field: &str) -> f64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    }

    /// Bytes of every file in the server's data directory.
    pub fn data_dir_bytes(&self) -> u64 {
        fn walk(dir: &std::path::Path) -> u64 {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return 0;
            };
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => walk(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        }
        walk(self.dir.path())
    }

    /// Peak resident set size since this process started, MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        self.status_kib("VmHWM:") / 1024.0
    }

    /// Resident set size now, KiB.
    pub fn rss_kib(&self) -> f64 {
        self.status_kib("VmRSS:")
    }

    /// Ours only: the documents resident in memory (`/metrics`, on the
    /// metrics listener).
    pub async fn resident_documents(&self) -> Option<u64> {
        let metrics = self.metrics_addr.as_deref()?;
        let body = http_get(metrics, "/metrics").await.ok()?;
        body.lines()
            .find(|l| l.starts_with("synpunkt_resident_documents"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map(|v| v as u64)
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        // kill_on_drop ends the child; this only makes it explicit.
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }
}

/// User + system CPU seconds so far of process `pid` (`self`: this one,
/// the load generator).
pub fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<f64>().ok()))
        .sum();
    // sysconf(_SC_CLK_TCK) is 100 on every Linux we run on.
    ticks / 100.0
}

/// Signs in with the admin invite (raw HTTP/1.1); returns the session token.
pub async fn accept_invite(addr: &str, invite: &str) -> anyhow::Result<String> {
    let body = r#"{"name":"Bench"}"#;
    let request = format!(
        "POST /api/invites/{invite}/accept HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let response = http(addr, &request).await?;
    let token = response
        .split("\"token\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("no token in the sign-in answer")?;
    Ok(token.to_owned())
}

async fn http_get(addr: &str, path: &str) -> anyhow::Result<String> {
    http(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .await
}

async fn http(addr: &str, request: &str) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    Ok(response)
}
