//! Synpunkt's benchmarks: our server against the reference JavaScript sync
//! server (automerge-repo 2.5.6, `tests/js/sync-server.mjs`), one after the
//! other, driven by the same Rust load generator, in one table.
//!
//! Scenarios (one module each): `fanout` (N clients on one document),
//! `large` (the paper editing trace), `many` (thousands of small
//! documents), `storm` (reconnect storm). Each runs on a fresh server
//! process per target (`target.rs`); the load generator's peers are in
//! `light.rs` (one document per connection) and `docs_peer.rs` (many).
//! Besides those: `client` (the web client's size and first load in
//! headless Chromium, `client.rs`) and `anchors` (comment-anchor
//! resolution, `anchors.rs`) and `browser-large` (the web client on a
//! workshop written by the paper trace: time to interactive, keystrokes
//! and remote changes timed in the page, `browser_large.rs`), ours only,
//! and `cluster` (several of our
//! nodes on one PostgreSQL: cross-node latency and the PostgreSQL store's
//! throughput against sled, `cluster.rs`).
//!
//! Run: `cargo xtask bench` (builds the release server first); see
//! `--help` and the README's Benchmarks section.

use std::path::PathBuf;

use clap::Parser;
use report::{Metric, Report};
use target::{Kind, Programs, Target};

mod anchors;
mod browser_large;
mod client;
mod cluster;
mod docs_peer;
mod fanout;
mod import;
mod large;
mod light;
mod many;
mod paper;
mod report;
mod storm;
mod target;

#[derive(Debug, Parser)]
#[command(about = "Synpunkt's benchmarks: ours against the reference JS sync server")]
struct Args {
    /// Our server binary.
    #[arg(long, default_value = "target/release/synpunkt")]
    server: PathBuf,
    /// An extra argument for every start of our server (repeatable).
    #[arg(long = "ours-arg", allow_hyphen_values = true)]
    ours_args: Vec<String>,
    /// The samod sync server (`bench/samod-server`, built by `cargo xtask
    /// bench`).
    #[arg(long, default_value = "bench/samod-server/target/release/samod-server")]
    samod_server: PathBuf,
    /// Node, for the JS server.
    #[arg(long, default_value = "node")]
    node: PathBuf,
    /// The JS sync server script.
    #[arg(long, default_value = "tests/js/sync-server.mjs")]
    js_server: PathBuf,
    /// Scenarios to run: fanout, large, import, many, storm, anchors,
    /// client, browser-large, cluster. Default: all (with --quick: fanout, large, many,
    /// storm).
    #[arg(long, value_delimiter = ',')]
    scenarios: Vec<String>,
    /// Servers to measure: ours, samod, js.
    #[arg(long, value_delimiter = ',', default_value = "ours,samod,js")]
    targets: Vec<String>,
    /// A smoke run: small sizes everywhere (each size flag still wins).
    #[arg(long)]
    quick: bool,
    /// Fan-out runs as CLIENTS:RATE (edits per second per client). Default
    /// 10:1,100:1,1000:0.02 (--quick: 10:1,100:1).
    #[arg(long, value_delimiter = ',')]
    fanout: Vec<String>,
    /// Seconds of editing per fan-out run. Default 20 (--quick: 5).
    #[arg(long)]
    seconds: Option<f64>,
    /// The paper editing trace.
    #[arg(long, default_value = "../shared/data/automerge-paper.json.gz")]
    paper: PathBuf,
    /// Where the replayed paper document is cached.
    #[arg(long, default_value = "target/bench-cache")]
    cache_dir: PathBuf,
    /// Keystrokes sent to the large document. Default 200 (--quick: 20).
    #[arg(long)]
    keystrokes: Option<usize>,
    /// Keys the host types into the large section in browser-large.
    /// Default 100 (--quick: 20).
    #[arg(long)]
    browser_keystrokes: Option<usize>,
    /// Remote single-character changes browser-large sends to the page.
    /// Default 50 (--quick: 10).
    #[arg(long)]
    remote_changes: Option<usize>,
    /// Small documents in the many-documents scenario. Default 10000
    /// (--quick: 500).
    #[arg(long)]
    docs: Option<usize>,
    /// Clients fetching documents at once in the many-documents scenario.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Our server's --idle-evict-seconds in the many-documents scenario.
    #[arg(long, default_value_t = 5)]
    evict_seconds: u64,
    /// Clients in the reconnect storm. Default 1000 (--quick: 200).
    #[arg(long)]
    storm_clients: Option<usize>,
    /// Documents the storm's clients are spread over.
    #[arg(long, default_value_t = 10)]
    storm_docs: usize,
    /// Readers in the cluster scenario, spread over three nodes.
    #[arg(long, default_value_t = 100)]
    cluster_readers: usize,
    /// Writers (a document each) in the cluster throughput runs.
    #[arg(long, default_value_t = 64)]
    cluster_writers: usize,
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

/// One fan-out run.
struct FanOut {
    clients: usize,
    rate: f64,
}

fn parse_fanout(specs: &[String], quick: bool) -> anyhow::Result<Vec<FanOut>> {
    let default: &[&str] = if quick {
        &["10:1", "100:1"]
    } else {
        &["10:1", "100:1", "1000:0.02"]
    };
    let specs: Vec<&str> = if specs.is_empty() {
        default.to_vec()
    } else {
        specs.iter().map(String::as_str).collect()
    };
    specs
        .iter()
        .map(|s| {
            let (c, r) = s.split_once(':').unwrap_or((s, "1"));
            let f = FanOut {
                clients: c.trim().parse()?,
                rate: r.trim().parse()?,
            };
            anyhow::ensure!(f.clients >= 2 && f.rate > 0.0, "bad fan-out run {s}");
            Ok(f)
        })
        .collect()
}

/// The client benchmark against its own release server.
async fn client_bench(args: &Args, programs: &Programs) -> anyhow::Result<()> {
    anyhow::ensure!(args.client_loads > 0, "--client-loads must be at least 1");
    let mut server = Target::start(Kind::Ours, programs, &[]).await?;
    let result = client::run(server.addr(), &args.client_page, args.client_loads).await;
    server.stop().await?;
    result
}

/// Runs one scenario on a fresh server of `kind`; its metrics, or a row
/// saying it failed.
async fn measure<F, Fut>(
    report: &mut Report,
    kind: Kind,
    programs: &Programs,
    extra: &[String],
    what: &str,
    run: F,
) where
    F: FnOnce(Target) -> Fut,
    Fut: std::future::Future<Output = (Target, anyhow::Result<Vec<Metric>>)>,
{
    eprintln!("== {what}: {}", kind.name());
    let result = match Target::start(kind, programs, extra).await {
        Ok(target) => {
            let (mut target, result) = run(target).await;
            if let Err(e) = target.stop().await {
                eprintln!("   stopping the {} server: {e:#}", kind.name());
            }
            result
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(metrics) => {
            for m in metrics {
                report.add(kind, m);
            }
        }
        Err(e) => {
            eprintln!("   {what} failed on {}: {e:#}", kind.name());
            report.add(
                kind,
                Metric::text(format!("{what}: failed"), format!("{e:#}")),
            );
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let programs = Programs {
        ours: args.server.clone(),
        ours_args: args.ours_args.clone(),
        samod: args.samod_server.clone(),
        node: args.node.clone(),
        js_script: args.js_server.clone(),
    };
    if args.client_only {
        return client_bench(&args, &programs).await;
    }
    if args.anchors_only {
        anchors::run();
        return Ok(());
    }
    let scenarios: Vec<String> = if args.scenarios.is_empty() {
        let all: &[&str] = if args.quick {
            &["fanout", "large", "many", "storm"]
        } else {
            &[
                "anchors",
                "client",
                "fanout",
                "large",
                "import",
                "many",
                "storm",
                "browser-large",
                "cluster",
            ]
        };
        all.iter().map(|s| (*s).to_owned()).collect()
    } else {
        args.scenarios.clone()
    };
    for s in &scenarios {
        anyhow::ensure!(
            [
                "fanout",
                "large",
                "import",
                "many",
                "storm",
                "anchors",
                "client",
                "browser-large",
                "cluster"
            ]
            .contains(&s.as_str()),
            "unknown scenario {s}"
        );
    }
    let kinds: Vec<Kind> = args
        .targets
        .iter()
        .map(|t| match t.as_str() {
            "ours" => Ok(Kind::Ours),
            "samod" => Ok(Kind::Samod),
            "js" => Ok(Kind::Js),
            _ => anyhow::bail!("unknown target {t} (ours, samod, js)"),
        })
        .collect::<anyhow::Result<_>>()?;
    let has = |s: &str| scenarios.iter().any(|x| x == s);
    let quick = args.quick;
    let fanouts = parse_fanout(&args.fanout, quick)?;
    let seconds = args.seconds.unwrap_or(if quick { 5.0 } else { 20.0 });
    let keystrokes = args.keystrokes.unwrap_or(if quick { 20 } else { 200 });
    let docs = args.docs.unwrap_or(if quick { 500 } else { 10_000 });
    let storm_clients = args.storm_clients.unwrap_or(if quick { 200 } else { 1000 });

    if has("anchors") {
        anchors::run();
        println!();
    }
    if has("client") {
        client_bench(&args, &programs).await?;
        println!();
    }

    let mut report = Report::default();
    if has("fanout") {
        for f in &fanouts {
            for &kind in &kinds {
                let what = format!("fan-out {} clients", f.clients);
                measure(&mut report, kind, &programs, &[], &what, |t| async move {
                    let r = fanout::run(&t, f.clients, f.rate, seconds).await;
                    (t, r)
                })
                .await;
            }
        }
    }
    if has("large") {
        let saved = paper::saved_doc(&args.paper, &args.cache_dir)?;
        for &kind in &kinds {
            let saved = &saved;
            measure(
                &mut report,
                kind,
                &programs,
                &[],
                "large doc",
                |mut t| async move {
                    let r = large::run(&mut t, saved, keystrokes).await;
                    (t, r)
                },
            )
            .await;
        }
    }
    if has("import") {
        // The JS client reads the saved document from the cache.
        paper::saved_doc(&args.paper, &args.cache_dir)?;
        let saved = paper::saved_path(&args.cache_dir);
        let script = args
            .js_server
            .parent()
            .map_or_else(|| "import-find.mjs".into(), |d| d.join("import-find.mjs"));
        for &kind in &kinds {
            let (saved, script, node) = (&saved, &script, &args.node);
            measure(
                &mut report,
                kind,
                &programs,
                &[],
                "JS import",
                |mut t| async move {
                    let r = import::run(&mut t, node, script, saved).await;
                    (t, r)
                },
            )
            .await;
        }
    }
    if has("many") {
        let evict = vec![
            "--idle-evict-seconds".to_owned(),
            args.evict_seconds.to_string(),
        ];
        for &kind in &kinds {
            let (concurrency, evict_s) = (args.concurrency, args.evict_seconds);
            measure(
                &mut report,
                kind,
                &programs,
                &evict,
                "many docs",
                |mut t| async move {
                    let r = many::run(&mut t, docs, concurrency, evict_s).await;
                    (t, r)
                },
            )
            .await;
        }
    }
    if has("storm") {
        for &kind in &kinds {
            let docs = args.storm_docs;
            measure(&mut report, kind, &programs, &[], "storm", |t| async move {
                let r = storm::run(&t, storm_clients, docs).await;
                (t, r)
            })
            .await;
        }
    }
    if has("browser-large") && kinds.contains(&Kind::Ours) {
        let saved = browser_large::saved_doc(&args.paper, &args.cache_dir)?;
        let typed = args
            .browser_keystrokes
            .unwrap_or(if quick { 20 } else { 100 });
        let remote = args.remote_changes.unwrap_or(if quick { 10 } else { 50 });
        let saved = &saved;
        measure(
            &mut report,
            Kind::Ours,
            &programs,
            &[],
            "browser, large doc",
            |mut t| async move {
                let r = browser_large::run(&mut t, saved, typed, remote).await;
                (t, r)
            },
        )
        .await;
    }
    if has("cluster") {
        eprintln!("== cluster: ours");
        let sizes = cluster::Sizes {
            readers: args.cluster_readers,
            seconds: seconds.min(10.0),
            writers: args.cluster_writers,
        };
        match cluster::run(&programs, &sizes).await {
            Ok(metrics) => {
                for m in metrics {
                    report.add(Kind::Ours, m);
                }
            }
            Err(e) => {
                eprintln!("   cluster failed: {e:#}");
                report.add(
                    Kind::Ours,
                    Metric::text("cluster: failed", format!("{e:#}")),
                );
            }
        }
    }

    println!(
        "ours: {} {}; samod: {} (samod 0.16); js: {} {} (automerge-repo 2.5.6); {} cores",
        args.server.display(),
        args.ours_args.join(" "),
        args.samod_server.display(),
        args.node.display(),
        args.js_server.display(),
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    if has("fanout") {
        let runs: Vec<String> = fanouts
            .iter()
            .map(|f| {
                format!(
                    "{} clients x {} edit/s = {} edits/s",
                    f.clients,
                    f.rate,
                    f.clients as f64 * f.rate
                )
            })
            .collect();
        println!("fan-out: {} s each; {}", seconds, runs.join("; "));
    }
    println!();
    report.print();
    Ok(())
}
