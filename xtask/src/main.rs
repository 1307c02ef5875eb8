//! Project automation: `cargo xtask <command>`.
//!
//! - `ci`: the README's test command. Installs what a fresh machine lacks
//!   (the wasm32 target, the Node packages of the interop tests, Chromium
//!   and ChromeDriver for the browser tests), then runs
//!   every check: rustfmt, clippy (native and wasm32) and rustdoc with
//!   warnings denied, and every test.
//! - `setup`: only the installation part of `ci` (the wasm32 target, the
//!   Node packages, and Chromium with ChromeDriver for the browser tests).
//! - `fuzz [TARGET] [--seconds N] [--grow-corpus]`: builds the libFuzzer
//!   targets of `fuzz/` on stable Rust and runs each for N seconds (see
//!   `fuzz.rs`). `ci` runs both for 20 s after the tests (40 s in all).
//! - `cluster [--port N]`: a local cluster to open in a browser: PostgreSQL
//!   in a temporary directory, three release nodes on it and HAProxy in
//!   front on 127.0.0.1:N (8080); Ctrl-C stops everything (`cluster.rs`).
//! - `bench`: builds the release server and the load generator and runs
//!   the benchmarks: ours against the reference JS sync server, one table.
//!   Not a test. Flags go to the bench (`cargo xtask bench --help`):
//!   `--quick` for a smoke run, `--scenarios`, `--client-only`,
//!   `--anchors-only`, sizes.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

mod cluster;
mod fuzz;

const WASM_TARGET: &str = "wasm32-unknown-unknown";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = root();
    std::env::set_current_dir(&root)?;
    match args.first().map(String::as_str) {
        Some("ci") => {
            setup()?;
            check()
        }
        Some("setup") => setup(),
        Some("bench") => bench(&args[1..]),
        Some("cluster") => cluster::run(&cargo(), &args[1..]),
        Some("fuzz") => fuzz::run(&cargo(), &root, &fuzz::Options::parse(&args[1..])?),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci|setup|bench [args…]|fuzz [args…]|cluster [--port N]>"
            );
            bail!("unknown command")
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask/ is inside the workspace")
        .to_path_buf()
}

/// Runs a command, echoing it; fails if it fails.
fn run(program: &str, args: &[&str], dir: Option<&Path>) -> anyhow::Result<()> {
    eprintln!("\n==> {program} {}", args.join(" "));
    let mut command = Command::new(program);
    command.args(args);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let status = command
        .status()
        .with_context(|| format!("could not run {program} (is it installed?)"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn setup() -> anyhow::Result<()> {
    // The browser client is built for wasm32; a fresh toolchain lacks it.
    run("rustup", &["target", "add", WASM_TARGET], None)?;
    // The real JavaScript automerge-repo client, for the interop tests.
    // `npm install` honours the committed lock (`npm ci` rejects it, see
    // tests/js/README.md).
    run(
        "npm",
        &["install", "--no-audit", "--no-fund", "--loglevel=error"],
        Some(Path::new("tests/js")),
    )?;
    ensure_browser()?;
    ensure_cluster_tools()
}

/// Where Debian's `chromium` and `chromium-driver` packages put the browser
/// and its WebDriver server; the testkit's `Browser` runs them from there.
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The browser tests drive a real headless Chromium through ChromeDriver.
/// Installs both with apt when either is missing (CI runs as root; elsewhere
/// through `sudo`). Does nothing when both are there.
fn ensure_browser() -> anyhow::Result<()> {
    ensure_packages(
        "the browser tests",
        &[CHROMIUM, CHROMEDRIVER],
        &["chromium", "chromium-driver"],
    )
}

/// The PostgreSQL tests start their own throwaway server from the installed
/// binaries (`testkit::Postgres`: initdb and pg_ctl in
/// `/usr/lib/postgresql/<version>/bin`; the package's own service is not
/// used); the cluster's load balancer is Debian's HAProxy.
fn ensure_cluster_tools() -> anyhow::Result<()> {
    let initdb = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin/initdb"))
        .find(|p| p.exists());
    if initdb.is_some() && Path::new(HAPROXY).exists() {
        return Ok(());
    }
    ensure_packages(
        "the PostgreSQL and cluster tests",
        &[],
        &["postgresql", "haproxy"],
    )
}

const HAPROXY: &str = "/usr/sbin/haproxy";

/// Installs Debian `packages` with apt-get unless every one of `paths`
/// exists (an empty `paths`: the caller has checked, install). As root
/// directly, otherwise through `sudo`.
fn ensure_packages(for_what: &str, paths: &[&str], packages: &[&str]) -> anyhow::Result<()> {
    if !paths.is_empty() && paths.iter().all(|p| Path::new(p).exists()) {
        return Ok(());
    }
    let list = packages.join(" ");
    eprintln!("\n{for_what} need {list}: installing with apt-get");
    let manual = format!("install them yourself (Debian: `apt-get install {list}`)");
    if !Path::new("/usr/bin/apt-get").exists() {
        bail!("{for_what} need {list}, and apt-get is not here: {manual}");
    }
    let as_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    // apt-get needs root: run it directly, or through sudo. `env` sets
    // DEBIAN_FRONTEND on the root side, so that apt never stops at a prompt.
    let mut prefix = vec!["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"];
    if !as_root {
        if Command::new("sudo").arg("--version").output().is_err() {
            bail!(
                "{for_what} need {list}; installing them needs root and sudo is not \
                 available: {manual}"
            );
        }
        prefix.insert(0, "sudo");
    }
    let apt = |args: &[&str]| {
        let all: Vec<&str> = prefix[1..].iter().chain(args).copied().collect();
        run(prefix[0], &all, None)
    };
    apt(&["update"])?;
    let mut install = vec!["install", "-y", "--no-install-recommends"];
    install.extend(packages);
    apt(&install)?;
    if let Some(missing) = paths.iter().find(|p| !Path::new(p).exists()) {
        bail!("apt-get installed {list}, but {missing} is still missing");
    }
    Ok(())
}

fn check() -> anyhow::Result<()> {
    let cargo = cargo();
    run(&cargo, &["fmt", "--all", "--", "--check"], None)?;
    run(
        &cargo,
        &["clippy", "--all-targets", "--", "-D", "warnings"],
        None,
    )?;
    run(
        &cargo,
        &[
            "clippy",
            "-p",
            "client-wasm",
            "--target",
            WASM_TARGET,
            "--",
            "-D",
            "warnings",
        ],
        None,
    )?;
    run(
        &cargo,
        &["build", "-p", "server", "--bin", "synpunkt"],
        None,
    )?;
    // The crate docs (module maps, invariants) link to what they describe:
    // a broken link fails like a broken build.
    run(
        "env",
        &["RUSTDOCFLAGS=-D warnings", &cargo, "doc", "--no-deps"],
        None,
    )?;
    run(&cargo, &["test"], None)?;
    // A short fuzz run of each target; a crash fails CI, naming its input.
    let options = fuzz::Options {
        targets: fuzz::TARGETS.iter().map(|t| (*t).to_owned()).collect(),
        seconds: 20,
        grow_corpus: false,
    };
    fuzz::run(&cargo, &root(), &options)?;
    eprintln!("\nAll checks passed.");
    Ok(())
}

fn bench(extra: &[String]) -> anyhow::Result<()> {
    let cargo = cargo();
    if bench_loads_client(extra) {
        ensure_browser()?;
    }
    if bench_runs_cluster(extra) {
        ensure_cluster_tools()?;
    }
    // The reference JS sync server needs tests/js's packages.
    if !Path::new("tests/js/node_modules/@automerge/automerge-repo-storage-nodefs").exists() {
        run(
            "npm",
            &["install", "--no-audit", "--no-fund", "--loglevel=error"],
            Some(Path::new("tests/js")),
        )?;
    }
    run(
        &cargo,
        &["build", "--release", "-p", "server", "-p", "bench"],
        None,
    )?;
    // Where cargo put them: CARGO_TARGET_DIR if set, else target/.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| PathBuf::from("target"), PathBuf::from)
        .join("release");
    let server = target.join("synpunkt");
    let server = server
        .to_str()
        .context("target directory path is not UTF-8")?;
    let bench = target.join("bench");
    let bench = bench
        .to_str()
        .context("target directory path is not UTF-8")?;
    let mut args = vec!["--server", server];
    // samod's server has a workspace (and lock file) of its own: it is not
    // part of the product, only what the bench measures us against.
    let samod_dir = PathBuf::from("bench/samod-server");
    let samod = if bench_measures_samod(extra) {
        run(
            &cargo,
            &[
                "build",
                "--release",
                "--manifest-path",
                "bench/samod-server/Cargo.toml",
            ],
            None,
        )?;
        let built = std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| samod_dir.join("target"), PathBuf::from)
            .join("release/samod-server");
        Some(
            built
                .to_str()
                .context("target directory path is not UTF-8")?
                .to_owned(),
        )
    } else {
        None
    };
    if let Some(samod) = &samod {
        args.extend(["--samod-server", samod.as_str()]);
    }
    args.extend(extra.iter().map(String::as_str));
    run(bench, &args, None)
}

/// Whether this bench run measures samod: unless `--targets` leaves it out
/// (or the run measures only ours: the anchors or the client alone).
fn bench_measures_samod(args: &[String]) -> bool {
    if args
        .iter()
        .any(|a| a == "--anchors-only" || a == "--client-only" || a == "--help" || a == "-h")
    {
        return false;
    }
    let targets = args.iter().enumerate().find_map(|(i, a)| {
        a.strip_prefix("--targets=")
            .map(str::to_owned)
            .or_else(|| (a == "--targets").then(|| args.get(i + 1).cloned().unwrap_or_default()))
    });
    targets.is_none_or(|t| t.split(',').any(|t| t.trim() == "samod"))
}

/// Whether this bench run starts PostgreSQL (the `cluster` scenario): in
/// a full run, or when `--scenarios` names it.
fn bench_runs_cluster(args: &[String]) -> bool {
    if args
        .iter()
        .any(|a| a == "--anchors-only" || a == "--client-only" || a == "--help" || a == "-h")
    {
        return false;
    }
    let scenarios = args.iter().enumerate().find_map(|(i, a)| {
        a.strip_prefix("--scenarios=")
            .map(str::to_owned)
            .or_else(|| (a == "--scenarios").then(|| args.get(i + 1).cloned().unwrap_or_default()))
    });
    match scenarios {
        Some(list) => list.split(',').any(|s| s.trim() == "cluster"),
        None => !args.iter().any(|a| a == "--quick"),
    }
}

/// Whether this bench run loads the web client in headless Chromium: the
/// client benchmark runs with `--client-only`, in a full run (no
/// `--scenarios`, no `--quick`), or when `--scenarios` names `client`.
fn bench_loads_client(args: &[String]) -> bool {
    if args.iter().any(|a| a == "--client-only") {
        return true;
    }
    if args
        .iter()
        .any(|a| a == "--anchors-only" || a == "--help" || a == "-h")
    {
        return false;
    }
    let scenarios = args.iter().enumerate().find_map(|(i, a)| {
        a.strip_prefix("--scenarios=")
            .map(str::to_owned)
            .or_else(|| (a == "--scenarios").then(|| args.get(i + 1).cloned().unwrap_or_default()))
    });
    match scenarios {
        Some(list) => list.split(',').any(|s| s.trim() == "client"),
        None => !args.iter().any(|a| a == "--quick"),
    }
}
