//! `cargo xtask fuzz [TARGET] [--seconds N] [--grow-corpus]`: builds the
//! libFuzzer targets of `fuzz/` and runs them, on stable Rust and without
//! cargo-fuzz.
//!
//! The build uses the flags `cargo fuzz build --sanitizer none` passes
//! (SanitizerCoverage instrumentation for libFuzzer, `--cfg fuzzing`, an
//! explicit `--target` so build scripts and proc-macros stay
//! uninstrumented, release mode with line tables) in its own target
//! directory, `target/fuzz`. Debug assertions and overflow checks come
//! from `fuzz/Cargo.toml`'s release profile rather than `-Cdebug-assertions`
//! in RUSTFLAGS, so that automerge can be left without its debug
//! assertions (one fires on valid concurrent text edits; the server never
//! runs automerge with them).
//!
//! Each target runs for `--seconds` (default 60) on its committed corpus
//! `fuzz/corpus/<target>/`. New interesting inputs go to a scratch corpus
//! `target/fuzz/corpus/<target>/` (kept across runs) unless `--grow-corpus`
//! is given, which writes them into the committed one. A crash is written
//! to `fuzz/artifacts/<target>/` (as cargo-fuzz does) and fails the run,
//! naming the file.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime};

use anyhow::{Context, bail};

/// Every target, in the order `cargo xtask fuzz` runs them.
pub const TARGETS: [&str; 2] = ["wire_decode", "incoming"];

/// What `cargo xtask fuzz` was asked to do.
#[derive(Debug)]
pub struct Options {
    pub targets: Vec<String>,
    pub seconds: u64,
    pub grow_corpus: bool,
}

impl Options {
    /// Parses `[TARGET] [--seconds N] [--grow-corpus]`.
    pub fn parse(args: &[String]) -> anyhow::Result<Self> {
        let mut options = Options {
            targets: Vec::new(),
            seconds: 60,
            grow_corpus: false,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--seconds" => {
                    let n = args.next().context("--seconds needs a number")?;
                    options.seconds = n
                        .parse()
                        .with_context(|| format!("--seconds {n}: not a number of seconds"))?;
                }
                "--grow-corpus" => options.grow_corpus = true,
                target if TARGETS.contains(&target) => options.targets.push(target.to_owned()),
                other => bail!(
                    "unknown fuzz argument `{other}`; usage: cargo xtask fuzz [{}] [--seconds N] [--grow-corpus]",
                    TARGETS.join("|")
                ),
            }
        }
        if options.targets.is_empty() {
            options.targets = TARGETS.iter().map(|t| (*t).to_owned()).collect();
        }
        Ok(options)
    }
}

/// The RUSTFLAGS of `cargo fuzz build --sanitizer none` (cargo-fuzz
/// `src/project.rs`), for Linux, minus `-Cdebug-assertions` (see the module
/// docs) and `-Ccodegen-units=1` (one codegen unit per crate: a faster
/// binary for a much slower build on two cores; not worth it in a short
/// CI run).
const RUSTFLAGS: &[&str] = &[
    "-Cpasses=sancov-module",
    "-Cllvm-args=-sanitizer-coverage-level=4",
    "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
    "-Cllvm-args=-sanitizer-coverage-pc-table",
    "-Cllvm-args=-sanitizer-coverage-trace-compares",
    "-Cllvm-args=-sanitizer-coverage-stack-depth",
    "-Cllvm-args=-simplifycfg-branch-fold-threshold=0",
    "--cfg",
    "fuzzing",
    "-Coverflow-checks",
];

/// Builds every target; returns the directory holding the binaries.
pub fn build(cargo: &str, root: &Path) -> anyhow::Result<PathBuf> {
    let triple = host_triple()?;
    let target_dir = root.join("target/fuzz");
    let mut flags = RUSTFLAGS.join(" ");
    // As cargo-fuzz does: the caller's RUSTFLAGS come last and win.
    if let Ok(extra) = std::env::var("RUSTFLAGS") {
        flags.push(' ');
        flags.push_str(&extra);
    }
    let args = [
        "build",
        "--manifest-path",
        "fuzz/Cargo.toml",
        "--release",
        "--config",
        "profile.release.debug=\"line-tables-only\"",
        "--bins",
        "--target",
        &triple,
        "--target-dir",
        target_dir
            .to_str()
            .context("target directory path is not UTF-8")?,
    ];
    eprintln!("\n==> RUSTFLAGS=\"{flags}\" {cargo} {}", args.join(" "));
    let started = Instant::now();
    let status = Command::new(cargo)
        .args(args)
        .current_dir(root)
        .env("RUSTFLAGS", &flags)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WRAPPER")
        .status()
        .context("could not run cargo")?;
    if !status.success() {
        bail!("building the fuzz targets failed ({status})");
    }
    eprintln!(
        "fuzz targets built in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(target_dir.join(triple).join("release"))
}

/// Builds and runs the targets `options` names, one after the other.
pub fn run(cargo: &str, root: &Path, options: &Options) -> anyhow::Result<()> {
    let bin_dir = build(cargo, root)?;
    for target in &options.targets {
        run_target(root, &bin_dir, target, options)?;
    }
    Ok(())
}

fn run_target(root: &Path, bin_dir: &Path, target: &str, options: &Options) -> anyhow::Result<()> {
    let committed = root.join("fuzz/corpus").join(target);
    let scratch = root.join("target/fuzz/corpus").join(target);
    let artifacts = root.join("fuzz/artifacts").join(target);
    for dir in [&committed, &scratch, &artifacts] {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    // libFuzzer adds new inputs to the first corpus directory only.
    let (first, second) = if options.grow_corpus {
        (&committed, &scratch)
    } else {
        (&scratch, &committed)
    };
    let binary = bin_dir.join(target);
    let mut artifact_prefix = artifacts.into_os_string();
    artifact_prefix.push("/");
    let mut prefix_arg = std::ffi::OsString::from("-artifact_prefix=");
    prefix_arg.push(&artifact_prefix);
    let since = SystemTime::now();
    eprintln!(
        "\n==> fuzzing {target} for {} s (corpus {}, new inputs to {})",
        options.seconds,
        committed.display(),
        first.display()
    );
    let status = Command::new(&binary)
        .arg(format!("-max_total_time={}", options.seconds))
        // An input that takes this long is a finding (it would stall a
        // document actor).
        .arg("-timeout=10")
        .arg("-print_final_stats=1")
        .arg(prefix_arg)
        .arg(first)
        .arg(second)
        .current_dir(root)
        .status()
        .with_context(|| format!("could not run {}", binary.display()))?;
    if status.success() {
        return Ok(());
    }
    let found = new_files(Path::new(&artifact_prefix), since);
    for path in &found {
        eprintln!("\nfuzz target `{target}` failed on: {}", path.display());
        eprintln!(
            "  reproduce: {} {}\n  or:        cargo fuzz run {target} {}",
            binary.display(),
            path.display(),
            path.display()
        );
        eprintln!(
            "  once fixed, keep it as a regression test: cp {} fuzz/corpus/{target}/",
            path.display()
        );
    }
    if found.is_empty() {
        bail!("fuzz target `{target}` failed ({status}); no reproducer was written");
    }
    bail!("fuzz target `{target}` found a crash")
}

/// Files in `dir` modified at or after `since`.
fn new_files(dir: &Path, since: SystemTime) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            e.metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t >= since)
        })
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

fn host_triple() -> anyhow::Result<String> {
    let output = Command::new("rustc")
        .arg("-vV")
        .output()
        .context("could not run rustc -vV")?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .context("rustc -vV did not name the host triple")
}
