//! A whole local cluster for tests: a throwaway [`Postgres`], `n` real
//! `synpunkt` processes on it (`--store postgres://…`, each on a fixed
//! loopback port with a data directory of its own), and a real HAProxy in
//! front with the shipped configuration (`deploy/haproxy.cfg`). Nodes can be
//! killed and started again on the same address; HAProxy's view of them is
//! read from its admin socket. Everything stops when the cluster is
//! dropped: the nodes and HAProxy by their pids (`kill_on_drop`),
//! PostgreSQL by the pid in its pid file.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use docsync::DocumentId;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

use crate::{Postgres, ServerProcess, TIMEOUT};

/// Where Debian's package puts HAProxy; `cargo xtask setup` installs it.
pub const HAPROXY: &str = "/usr/sbin/haproxy";

/// The shipped HAProxy configuration with its placeholders filled in:
/// clients on `listen`, the admin socket at `stats_socket`, one server
/// line per node address (named `node1`, `node2`, …).
pub fn haproxy_config(listen: &str, stats_socket: &Path, nodes: &[String]) -> String {
    let template = std::fs::read_to_string(crate::repo_root().join("deploy/haproxy.cfg"))
        .expect("read deploy/haproxy.cfg");
    let servers: Vec<String> = nodes
        .iter()
        .enumerate()
        .map(|(i, addr)| format!("    server node{} {addr}", i + 1))
        .collect();
    template
        .replace("{{LISTEN}}", listen)
        .replace(
            "{{STATS_SOCKET}}",
            stats_socket.to_str().expect("UTF-8 path"),
        )
        .replace("{{SERVERS}}", &servers.join("\n"))
}

/// One node: the address HAProxy knows it by, its data directory (for
/// what is local; documents live in PostgreSQL), and its process while
/// it runs.
#[derive(Debug)]
struct Node {
    listen: String,
    data: tempfile::TempDir,
    process: Option<ServerProcess>,
}

/// HAProxy's view of one node, from `show stat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeState {
    /// `UP`, `DOWN`, `UP 1/2`, `DOWN 1/2`, …
    pub status: String,
    /// Sessions open to it now (WebSockets included).
    pub sessions: u32,
}

/// A running cluster; see the module documentation.
#[derive(Debug)]
pub struct Cluster {
    pg: Postgres,
    nodes: Vec<Node>,
    admin: String,
    lb: String,
    dir: tempfile::TempDir,
    haproxy: Child,
    haproxy_log: Arc<Mutex<Vec<String>>>,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

impl Cluster {
    /// Starts PostgreSQL, `n` nodes and HAProxy, and waits until HAProxy
    /// has every node up.
    pub async fn start(n: usize) -> Self {
        assert!(
            Path::new(HAPROXY).exists(),
            "HAProxy is not installed ({HAPROXY}): run `cargo xtask setup`, or \
             `apt-get install haproxy`"
        );
        let pg = Postgres::start();
        let store = pg.url();
        let mut nodes = Vec::new();
        let mut admin = String::new();
        for i in 0..n {
            let listen = format!("127.0.0.1:{}", free_port());
            let data = tempfile::tempdir().expect("tempdir");
            // The first node creates the admin (its one-time link is
            // accepted by ServerProcess); the others find it in the database.
            let process = if i == 0 {
                let p = ServerProcess::start_on(&listen, data.path(), &["--store", &store]).await;
                admin = p.admin_token().to_owned();
                p
            } else {
                Self::node_process(&listen, data.path(), &store, &admin).await
            };
            nodes.push(Node {
                listen,
                data,
                process: Some(process),
            });
        }
        let dir = tempfile::Builder::new()
            .prefix("synpunkt-lb-")
            .tempdir()
            .expect("tempdir");
        let lb = format!("127.0.0.1:{}", free_port());
        let addrs: Vec<String> = nodes.iter().map(|n| n.listen.clone()).collect();
        let config = dir.path().join("haproxy.cfg");
        std::fs::write(
            &config,
            haproxy_config(&lb, &dir.path().join("admin.sock"), &addrs),
        )
        .expect("write haproxy.cfg");
        // In the foreground (-db), logging to its stdout, which we keep.
        let mut haproxy = Command::new(HAPROXY)
            .arg("-db")
            .arg("-f")
            .arg(&config)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start haproxy");
        let haproxy_log = Arc::new(Mutex::new(Vec::new()));
        for out in [
            Box::new(haproxy.stdout.take().expect("stdout"))
                as Box<dyn tokio::io::AsyncRead + Send + Unpin>,
            Box::new(haproxy.stderr.take().expect("stderr")),
        ] {
            let log = haproxy_log.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(out).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    log.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(line);
                }
            });
        }
        let cluster = Self {
            pg,
            nodes,
            admin,
            lb,
            dir,
            haproxy,
            haproxy_log,
        };
        for i in 0..n {
            cluster.wait_status(i, "UP").await;
        }
        cluster
    }

    async fn node_process(listen: &str, data: &Path, store: &str, admin: &str) -> ServerProcess {
        ServerProcess::start_as_on(listen, data, admin, &["--store", store]).await
    }

    /// The throwaway PostgreSQL the nodes share.
    pub fn postgres(&self) -> &Postgres {
        &self.pg
    }

    /// The admin's session token (valid on every node).
    pub fn admin_token(&self) -> &str {
        &self.admin
    }

    /// HAProxy's address, as an HTTP base URL.
    pub fn lb_url(&self) -> String {
        format!("http://{}", self.lb)
    }

    /// The sync URL through HAProxy for the admin, with the affinity
    /// parameter the web client adds.
    pub fn sync_url(&self, doc: DocumentId) -> String {
        format!("ws://{}/sync?token={}&doc={doc}", self.lb, self.admin)
    }

    /// How many nodes the cluster has.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Node `i`'s process (panics when it is not running).
    pub fn node(&self, i: usize) -> &ServerProcess {
        self.nodes[i].process.as_ref().expect("the node is running")
    }

    /// SIGKILLs node `i` and waits until it is gone.
    pub async fn kill(&mut self, i: usize) {
        let process = self.nodes[i].process.take().expect("the node is running");
        process.signal("KILL");
        let _ = process.wait().await;
    }

    /// Stops node `i` as an operator would (SIGTERM) and waits until it is
    /// gone.
    pub async fn stop(&mut self, i: usize) {
        let process = self.nodes[i].process.take().expect("the node is running");
        process.signal("TERM");
        let _ = process.wait().await;
    }

    /// Starts node `i` again on its address and data directory, and waits
    /// until HAProxy has it up.
    pub async fn restart(&mut self, i: usize) {
        assert!(self.nodes[i].process.is_none(), "node {i} is running");
        let process = Self::node_process(
            &self.nodes[i].listen,
            self.nodes[i].data.path(),
            &self.pg.url(),
            &self.admin,
        )
        .await;
        self.nodes[i].process = Some(process);
        self.wait_status(i, "UP").await;
    }

    /// HAProxy's view of every node, in order.
    pub async fn states(&self) -> Vec<NodeState> {
        let stat = self.admin_command("show stat").await;
        let mut lines = stat.lines();
        let header: Vec<&str> = lines
            .next()
            .expect("a header")
            .trim_start_matches("# ")
            .split(',')
            .collect();
        let col = |name: &str| {
            header
                .iter()
                .position(|h| *h == name)
                .unwrap_or_else(|| panic!("no {name} in {header:?}"))
        };
        let (px, sv, scur, status) = (col("pxname"), col("svname"), col("scur"), col("status"));
        let mut states = vec![None; self.nodes.len()];
        for line in lines {
            let fields: Vec<&str> = line.split(',').collect();
            if fields.get(px) != Some(&"nodes") {
                continue;
            }
            let Some(i) = fields[sv]
                .strip_prefix("node")
                .and_then(|n| n.parse::<usize>().ok())
            else {
                continue;
            };
            states[i - 1] = Some(NodeState {
                status: fields[status].to_owned(),
                sessions: fields[scur].parse().unwrap_or(0),
            });
        }
        states
            .into_iter()
            .map(|s| s.expect("every node in show stat"))
            .collect()
    }

    /// Waits until HAProxy reports node `i` with `status` (`UP`, `DOWN`).
    pub async fn wait_status(&self, i: usize, status: &str) {
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        loop {
            let states = self.states().await;
            if states[i].status == status {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "HAProxy never reported node {} {status}: {states:?}",
                i + 1
            );
            // Health checks run every 500 ms: poll a few times per check.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The one node that has sessions open through HAProxy now (when only
    /// one client is connected: the node it is connected to).
    pub async fn connected_node(&self) -> Option<usize> {
        let states = self.states().await;
        let busy: Vec<usize> = (0..states.len())
            .filter(|i| states[*i].sessions > 0)
            .collect();
        match busy.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }

    /// HAProxy's log so far (one line per request, logged as soon as it is
    /// forwarded).
    pub fn haproxy_log(&self) -> Vec<String> {
        self.haproxy_log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    async fn admin_command(&self, command: &str) -> String {
        let socket = self.dir.path().join("admin.sock");
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        // The socket appears once HAProxy has started.
        let mut stream = loop {
            match tokio::net::UnixStream::connect(&socket).await {
                Ok(stream) => break stream,
                Err(e) => {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "HAProxy's admin socket {socket:?}: {e}; its log: {:?}",
                        self.haproxy_log()
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        };
        stream
            .write_all(format!("{command}\n").as_bytes())
            .await
            .expect("write to HAProxy's admin socket");
        let mut out = String::new();
        tokio::time::timeout(TIMEOUT, stream.read_to_string(&mut out))
            .await
            .expect("HAProxy answers on its admin socket")
            .expect("read HAProxy's admin socket");
        out
    }

    /// The nodes (indices) HAProxy sent each accepted socket for `doc` to
    /// (`GET /sync?doc=…` answered 101), in order, from its log.
    pub fn sync_nodes(&self, doc: DocumentId) -> Vec<usize> {
        let param = format!("doc={doc}");
        self.haproxy_log()
            .iter()
            .filter(|l| l.contains("\"/sync\"") && l.ends_with(&param))
            .filter_map(|line| {
                // client [time] frontend backend/server timers status …
                let fields: Vec<&str> = line.split_whitespace().collect();
                if fields.get(5) != Some(&"101") {
                    return None;
                }
                let server = fields.get(3)?.strip_prefix("nodes/node")?;
                Some(server.parse::<usize>().ok()? - 1)
            })
            .collect()
    }

    /// HAProxy's pid (for tests that check it stops).
    pub fn haproxy_pid(&self) -> Option<u32> {
        self.haproxy.id()
    }

    /// The directory of HAProxy's configuration.
    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}
