//! Fan-out benchmark: N clients on one document, each making small text
//! edits at a fixed rate, against a real `synpunkt` server process.
//!
//! Sender and receivers live in this process and share one clock, so the
//! latency of an edit is (arrival at a receiver) − (just before the sender
//! made it): it includes the server's durable write (group commit) and
//! both WebSocket hops. Server CPU and peak RSS come from /proc.
//!
//! The client benchmark (`client.rs`) measures the web client's size and
//! first load in headless Chromium; the anchor benchmark (`anchors.rs`) the
//! resolution of comment anchors.
//!
//! Run: `cargo xtask bench` (builds the release server first).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use automerge::ChangeHash;
use clap::Parser;
use light::{Arrivals, LightPeer};
use protocol::DocumentId;

mod anchors;
mod client;
mod light;
use tokio::io::{AsyncBufReadExt, BufReader};

#[derive(Debug, Parser)]
struct Args {
    /// The server binary to measure.
    #[arg(long, default_value = "target/release/synpunkt")]
    server: PathBuf,
    /// Client counts to run, one scenario each.
    #[arg(long, value_delimiter = ',', default_value = "10,100")]
    clients: Vec<usize>,
    /// Edits per second made by each client.
    #[arg(long, default_value_t = 1.0)]
    rate: f64,
    /// Seconds of editing per scenario.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Run only the anchor-resolution benchmark.
    #[arg(long)]
    anchors_only: bool,
    /// Run only the client benchmark (sizes and first load in Chromium).
    #[arg(long)]
    client_only: bool,
    /// The page the client benchmark loads; `{workshop}` is replaced by the
    /// id of the first open workshop.
    #[arg(long, default_value = "/")]
    client_page: String,
    /// Cold loads the client benchmark makes (best and median are printed).
    #[arg(long, default_value_t = 5)]
    client_loads: usize,
}

struct ServerProcess {
    child: tokio::process::Child,
    addr: String,
    /// The admin's session: benchmark documents live outside workshops.
    token: String,
    _dir: tempfile::TempDir,
}

impl ServerProcess {
    async fn start(bin: &PathBuf) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut child = tokio::process::Command::new(bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(dir.path().join("data"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let mut addr = None;
        let mut invite = None;
        while let Some(line) = lines.next_line().await? {
            if let Some(rest) = line.strip_prefix("Synpunkt is running. Open http://") {
                addr = Some(rest.trim_end_matches('/').to_owned());
            } else if let Some((_, token)) = line.split_once("/invite/") {
                invite = Some(token.trim().to_owned());
            } else if line.starts_with("Data directory") {
                break;
            }
        }
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let addr = addr.context("the server exited before printing its address")?;
        let invite = invite.context("a fresh server prints its admin sign-in link")?;
        let token = accept_invite(&addr, &invite).await?;
        Ok(Self {
            child,
            addr,
            token,
            _dir: dir,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// User + system CPU seconds of the server so far.
    fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap_or_default();
        // Fields after the parenthesised command name; utime and stime are 14 and 15.
        let after = stat.rsplit(')').next().unwrap_or("");
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks: f64 = [11, 12]
            .iter()
            .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<f64>().ok()))
            .sum();
        ticks / clock_ticks()
    }

    /// Peak resident set size in MiB.
    fn peak_rss_mib(&self) -> f64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

/// Signs in with the admin invite (raw HTTP/1.1); returns the session token.
async fn accept_invite(addr: &str, invite: &str) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = r#"{"name":"Bench"}"#;
    let request = format!(
        "POST /api/invites/{invite}/accept HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let token = response
        .split("\"token\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("no token in the sign-in answer")?;
    Ok(token.to_owned())
}

/// The client benchmark against its own release server.
async fn client_bench(args: &Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.client_loads > 0, "--client-loads must be at least 1");
    let server = ServerProcess::start(&args.server).await?;
    client::run(&server.addr, &args.client_page, args.client_loads).await
}

fn clock_ticks() -> f64 {
    // sysconf(_SC_CLK_TCK) is 100 on every Linux we run on.
    100.0
}

struct Outcome {
    clients: usize,
    edits: usize,
    expected: usize,
    latencies_ms: Vec<f64>,
    cpu_s: f64,
    rss_mib: f64,
}

async fn scenario(args: &Args, clients: usize) -> anyhow::Result<Outcome> {
    let server = ServerProcess::start(&args.server).await?;
    let url = format!("ws://{}/sync?token={}", server.addr, server.token);
    let arrivals: Arrivals = Arc::default();
    let doc = DocumentId::random();
    let creator = LightPeer::connect(&url, doc, arrivals.clone()).await?;
    creator
        .create("Sammanfattning: workshop summary text. ")
        .await?;
    let mut peers = vec![creator];
    for _ in 1..clients {
        let p = LightPeer::connect(&url, doc, arrivals.clone()).await?;
        p.find().await.context("find")?;
        peers.push(p);
    }
    arrivals
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clear();
    let sent: Arc<Mutex<HashMap<ChangeHash, Instant>>> = Arc::default();
    let cpu_before = server.cpu_seconds();
    let period = Duration::from_secs_f64(1.0 / args.rate);
    let rounds = (args.seconds as f64 * args.rate).round() as usize;
    let mut tasks = Vec::new();
    for (i, p) in peers.iter().enumerate() {
        let p = p.clone();
        let sent = sent.clone();
        // Spread the clients evenly over one period.
        let offset = period.mul_f64(i as f64 / clients as f64);
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
            for _ in 0..rounds {
                tick.tick().await;
                let (hash, t) = p.edit("x");
                sent.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(hash, t);
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let edits = clients * rounds;
    let expected = edits * (clients - 1);
    let all: Vec<ChangeHash> = sent
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .keys()
        .copied()
        .collect();
    for p in &peers {
        p.wait_server_heads(&all)
            .await
            .context("every edit reaches every peer")?;
    }
    let cpu_s = server.cpu_seconds() - cpu_before;
    let rss_mib = server.peak_rss_mib();
    // Every peer applies what it got and must reach the same document.
    let heads = peers[0].settle();
    for p in &peers {
        anyhow::ensure!(p.settle() == heads, "peers did not converge");
    }
    let sent = sent
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let arrivals = arrivals
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut latencies_ms: Vec<f64> = arrivals
        .iter()
        .filter_map(|(h, at)| {
            sent.get(h)
                .map(|t| at.duration_since(*t).as_secs_f64() * 1000.0)
        })
        .collect();
    latencies_ms.sort_by(f64::total_cmp);
    Ok(Outcome {
        clients,
        edits,
        expected,
        latencies_ms,
        cpu_s,
        rss_mib,
    })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.client_only {
        return client_bench(&args).await;
    }
    anchors::run();
    if args.anchors_only {
        return Ok(());
    }
    client_bench(&args).await?;
    println!();
    println!(
        "fan-out: one document, small text edits, {} edit/s per client, {} s; server {}",
        args.rate,
        args.seconds,
        args.server.display()
    );
    println!(
        "{:>7} {:>7} {:>10} {:>9} {:>9} {:>9} {:>9} {:>10} {:>12} {:>9}",
        "clients",
        "edits",
        "deliveries",
        "delivered",
        "p50 ms",
        "p99 ms",
        "max ms",
        "server cpu",
        "cpu/edit ms",
        "peak rss"
    );
    for &n in &args.clients {
        let o = scenario(&args, n).await?;
        let delivered = o.latencies_ms.len() as f64 / o.expected.max(1) as f64;
        println!(
            "{:>7} {:>7} {:>10} {:>8.1}% {:>9.2} {:>9.2} {:>9.2} {:>9.2}s {:>12.3} {:>6.1}MiB",
            o.clients,
            o.edits,
            o.latencies_ms.len(),
            delivered * 100.0,
            percentile(&o.latencies_ms, 0.50),
            percentile(&o.latencies_ms, 0.99),
            o.latencies_ms.last().copied().unwrap_or(f64::NAN),
            o.cpu_s,
            o.cpu_s * 1000.0 / o.edits.max(1) as f64,
            o.rss_mib,
        );
    }
    println!("target (issue 2): 100 clients x 1 edit/s: p50 <= 5 ms, p99 <= 50 ms");
    Ok(())
}
