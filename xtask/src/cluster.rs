//! `cargo xtask cluster [--port N]`: a local cluster to open in a browser.
//! PostgreSQL from the installed binaries in a temporary directory, three
//! release nodes on loopback ports (`--store postgres://…`, a data
//! directory each), and HAProxy in front with `deploy/haproxy.cfg` on
//! 127.0.0.1:N (8080 unless told). Prints the link to open; Ctrl-C stops
//! everything by pid and removes the directory.
//!
//! The same steps as the tests' `testkit::Postgres` and `testkit::Cluster`,
//! written again here with the standard library only: xtask must build on a
//! fresh machine before anything else does.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, bail};

const NODES: usize = 3;

pub fn run(cargo: &str, args: &[String]) -> anyhow::Result<()> {
    let port = match args {
        [] => 8080,
        [flag, port] if flag == "--port" => port.parse().context("--port takes a number")?,
        _ => bail!("usage: cargo xtask cluster [--port N]"),
    };
    // Signals are caught from here on (queued while the cluster starts):
    // an early Ctrl-C still stops what was started.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (mut interrupt, mut terminate) = runtime.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        anyhow::Ok((
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        ))
    })?;
    crate::ensure_cluster_tools()?;
    crate::run(
        cargo,
        &["build", "--release", "-p", "server", "--bin", "synpunkt"],
        None,
    )?;
    let synpunkt = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| PathBuf::from("target"), PathBuf::from)
        .join("release/synpunkt");
    let synpunkt = std::fs::canonicalize(&synpunkt)
        .with_context(|| format!("{} was not built", synpunkt.display()))?;
    let pg_bin = postgres_bin()?;
    let lb = format!("127.0.0.1:{port}");
    TcpListener::bind(&lb).with_context(|| format!("{lb} is taken: choose another with --port"))?;

    let dir = std::env::temp_dir().join(format!("synpunkt-cluster-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    // Everything below stops (by pid) when `cluster` is dropped, on an
    // error as on Ctrl-C.
    let mut cluster = Running {
        dir: dir.clone(),
        pg: None,
        children: Vec::new(),
    };
    let store = cluster.start_postgres(&pg_bin)?;
    eprintln!("PostgreSQL: {store}");
    let mut admin_link = None;
    let mut nodes = Vec::new();
    for i in 1..=NODES {
        let listen = format!("127.0.0.1:{}", free_port()?);
        let data = dir.join(format!("node{i}"));
        let link = cluster.start_node(&synpunkt, i, &listen, &data, &store)?;
        // The first node creates the admin and prints a one-time link;
        // the others find the admin in the database.
        admin_link = admin_link.or(link);
        eprintln!("node{i}: http://{listen}/ (data {})", data.display());
        nodes.push(listen);
    }
    cluster.start_haproxy(&lb, &nodes)?;

    println!("\nSynpunkt cluster: {NODES} nodes on PostgreSQL behind HAProxy.");
    println!("Open http://{lb}/");
    if let Some(link) = admin_link {
        // The link names the node that printed it; it works on every node.
        let path = link
            .split_once("/invite/")
            .map(|(_, token)| format!("/invite/{token}"))
            .unwrap_or_default();
        println!("Admin sign-in (one-time link): http://{lb}{path}");
    }
    println!("HAProxy log: {}", dir.join("haproxy.log").display());
    println!("Ctrl-C stops everything.");

    runtime.block_on(async {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    });
    eprintln!("\nstopping the cluster");
    drop(cluster);
    Ok(())
}

/// What has been started, stopped in reverse order on drop.
struct Running {
    dir: PathBuf,
    /// PostgreSQL's binaries, once its cluster exists.
    pg: Option<PathBuf>,
    children: Vec<(String, Child)>,
}

impl Running {
    fn start_postgres(&mut self, bin: &Path) -> anyhow::Result<String> {
        let pgdir = self.dir.join("postgres");
        std::fs::create_dir_all(&pgdir)?;
        if is_root() {
            // initdb refuses to run as root: the package's `postgres` user.
            crate::run("chown", &["-R", "postgres:postgres", path(&pgdir)?], None)?;
        }
        let data = pgdir.join("data");
        as_postgres(
            bin,
            "initdb",
            &[
                "-D",
                path(&data)?,
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        )?;
        self.pg = Some(bin.to_path_buf());
        let port = free_port()?;
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {} -c max_connections=200",
            path(&pgdir)?
        );
        as_postgres(
            bin,
            "pg_ctl",
            &[
                "-D",
                path(&data)?,
                "-o",
                &options,
                "-l",
                path(&pgdir.join("log"))?,
                "-w",
                "start",
            ],
        )?;
        Ok(format!("postgres://postgres@127.0.0.1:{port}/postgres"))
    }

    /// Starts node `i` and waits until it listens; returns the admin
    /// sign-in link if it printed one.
    fn start_node(
        &mut self,
        bin: &Path,
        i: usize,
        listen: &str,
        data: &Path,
        store: &str,
    ) -> anyhow::Result<Option<String>> {
        let log = std::fs::File::create(self.dir.join(format!("node{i}.log")))?;
        let mut child = Command::new(bin)
            .args([
                "serve",
                "--listen",
                listen,
                "--data",
                path(data)?,
                "--store",
                store,
            ])
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(log)
            // Its own process group: Ctrl-C reaches xtask, which stops it.
            .process_group(0)
            .spawn()
            .context("start synpunkt")?;
        let stdout = child.stdout.take().context("stdout")?;
        self.children.push((format!("node{i}"), child));
        let mut link = None;
        let mut lines = BufReader::new(stdout).lines();
        loop {
            let Some(line) = lines.next().transpose()? else {
                bail!(
                    "node{i} exited while starting: see {}",
                    self.dir.join(format!("node{i}.log")).display()
                );
            };
            if line.contains("/invite/") {
                link = line.split_whitespace().last().map(str::to_owned);
            }
            if line.starts_with("Data directory") {
                break;
            }
        }
        // Keep reading, so the node never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(link)
    }

    fn start_haproxy(&mut self, lb: &str, nodes: &[String]) -> anyhow::Result<()> {
        let template =
            std::fs::read_to_string("deploy/haproxy.cfg").context("read deploy/haproxy.cfg")?;
        let servers: Vec<String> = nodes
            .iter()
            .enumerate()
            .map(|(i, addr)| format!("    server node{} {addr}", i + 1))
            .collect();
        let config = template
            .replace("{{LISTEN}}", lb)
            .replace("{{STATS_SOCKET}}", path(&self.dir.join("haproxy.sock"))?)
            .replace("{{SERVERS}}", &servers.join("\n"));
        let file = self.dir.join("haproxy.cfg");
        std::fs::write(&file, config)?;
        let log = std::fs::File::create(self.dir.join("haproxy.log"))?;
        let child = Command::new(crate::HAPROXY)
            .args(["-db", "-f", path(&file)?])
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .context("start haproxy")?;
        self.children.push(("haproxy".into(), child));
        // Ready once its admin socket exists (created with the listeners,
        // before it serves; a probe connection would log a bad request).
        let socket = self.dir.join("haproxy.sock");
        for _ in 0..200 {
            if socket.exists() {
                return Ok(());
            }
            if let Some((_, c)) = self.children.last_mut()
                && let Some(status) = c.try_wait()?
            {
                bail!(
                    "haproxy exited ({status}): see {}",
                    self.dir.join("haproxy.log").display()
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        bail!("haproxy did not start listening on {lb}")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        for (name, child) in self.children.iter_mut().rev() {
            // SIGTERM by pid: the nodes shut down cleanly, HAProxy stops.
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            match child.wait() {
                Ok(status) => eprintln!("{name} stopped ({status})"),
                Err(e) => eprintln!("{name}: {e}"),
            }
        }
        if let Some(bin) = &self.pg {
            let data = self.dir.join("postgres/data");
            if let Some(data) = data.to_str() {
                match as_postgres(bin, "pg_ctl", &["-D", data, "-m", "fast", "-w", "stop"]) {
                    Ok(()) => eprintln!("PostgreSQL stopped"),
                    Err(e) => eprintln!("PostgreSQL: {e:#}"),
                }
            }
        }
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("could not remove {}: {e}", self.dir.display());
        }
    }
}

/// The newest installed server binaries (`/usr/lib/postgresql/<v>/bin`).
fn postgres_bin() -> anyhow::Result<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, bin)| bin)
        .context("PostgreSQL's server binaries are not installed (/usr/lib/postgresql/*/bin)")
}

/// Runs one of PostgreSQL's programs, as the `postgres` user when we are
/// root, quietly unless it fails.
fn as_postgres(bin: &Path, program: &str, args: &[&str]) -> anyhow::Result<()> {
    let program = bin.join(program);
    let mut command = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&program);
        c
    } else {
        Command::new(&program)
    };
    let out = command
        .args(args)
        .process_group(0)
        .output()
        .with_context(|| format!("run {}", program.display()))?;
    if !out.status.success() {
        bail!(
            "{} failed: {}{}",
            program.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn path(p: &Path) -> anyhow::Result<&str> {
    p.to_str().context("temporary paths are UTF-8")
}
