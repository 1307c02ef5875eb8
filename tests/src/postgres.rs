//! A throwaway PostgreSQL server for tests: its own cluster in a temporary
//! directory, started from the installed binaries on a free loopback port,
//! and stopped (immediately, by the pid in its pid file) when dropped. Never
//! a system service, never port 5432.
//!
//! `initdb` refuses to run as root: as root, every command runs as the
//! `postgres` user that Debian's package creates (`runuser`). `cargo xtask
//! setup` installs the package when it is missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A running (or stopped, see [`Postgres::stop_immediately`]) test server.
#[derive(Debug)]
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

/// The directory of the newest installed server binaries
/// (`/usr/lib/postgresql/<version>/bin` on Debian), or an error that says
/// how to install them.
pub fn postgres_bin() -> Result<PathBuf, String> {
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
    found.pop().map(|(_, bin)| bin).ok_or_else(|| {
        "PostgreSQL's server binaries are not installed (/usr/lib/postgresql/*/bin/initdb): \
         run `cargo xtask setup`, or `apt-get install postgresql`"
            .to_owned()
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

impl Postgres {
    /// Creates a cluster and starts it (about a second).
    pub fn start() -> Self {
        let bin = postgres_bin().unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::Builder::new()
            .prefix("synpunkt-pg-")
            .tempdir()
            .expect("temporary directory");
        let mut pg = Self { dir, bin, port: 0 };
        pg.chown_to_postgres(pg.dir.path());
        let data = pg.data();
        pg.run(
            "initdb",
            &[
                "-D",
                path_str(&data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        // A port taken between our probe and the server's bind: try another.
        for _ in 0..5 {
            pg.port = free_port();
            if pg.try_start() {
                return pg;
            }
        }
        panic!("PostgreSQL did not start: {}", pg.log());
    }

    /// The URL a server's `--store` takes.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server as a crash would (`pg_ctl stop -m immediate`):
    /// connections are cut, nothing is shut down cleanly.
    pub fn stop_immediately(&self) {
        self.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&self.data()),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
    }

    /// Starts the stopped server again on the same port and data.
    pub fn restart(&self) {
        assert!(
            self.try_start(),
            "PostgreSQL did not restart: {}",
            self.log()
        );
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn try_start(&self) -> bool {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c max_connections=200",
            self.port,
            path_str(self.dir.path())
        );
        let log = self.dir.path().join("log");
        self.output(
            "pg_ctl",
            &[
                "-D",
                path_str(&self.data()),
                "-o",
                &options,
                "-l",
                path_str(&log),
                "-w",
                "start",
            ],
        )
        .status
        .success()
    }

    /// The postmaster's pid, from its pid file (`None` when stopped).
    fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.data().join("postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    fn chown_to_postgres(&self, path: &Path) {
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(path)
                .status()
                .expect("run chown");
            assert!(status.success(), "chown postgres {path:?} failed");
        }
    }

    fn output(&self, program: &str, args: &[&str]) -> Output {
        let program = self.bin.join(program);
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        command
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("could not run {program:?}: {e}"))
    }

    fn run(&self, program: &str, args: &[&str]) {
        let out = self.output(program, args);
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // By its pid: SIGQUIT is PostgreSQL's immediate shutdown.
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill")
                .args(["-QUIT", &pid.to_string()])
                .status();
            // Wait (bounded) until it is gone, so its files can be removed.
            for _ in 0..500 {
                if !Path::new(&format!("/proc/{pid}")).exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
    }
}
