//! Project automation: `cargo xtask <command>`.
//!
//! - `ci`: the README's test command. Installs what a fresh machine lacks
//!   (the wasm32 target, the Node packages of the interop tests), then runs
//!   every check: rustfmt, clippy (native and wasm32) with warnings denied,
//!   and every test.
//! - `setup`: only the installation part of `ci`.
//! - `bench`: builds the release server and runs the benchmarks; prints
//!   their numbers. Not a test.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

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
        _ => {
            eprintln!("usage: cargo xtask <ci|setup|bench [args…]>");
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
    run(&cargo, &["test"], None)?;
    eprintln!("\nAll checks passed.");
    Ok(())
}

fn bench(extra: &[String]) -> anyhow::Result<()> {
    let cargo = cargo();
    run(
        &cargo,
        &["build", "--release", "-p", "server", "-p", "bench"],
        None,
    )?;
    let mut args = vec!["--server", "target/release/synpunkt"];
    args.extend(extra.iter().map(String::as_str));
    run("target/release/bench", &args, None)
}
