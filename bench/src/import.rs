//! The JS client's view of a large document: the real automerge-repo client
//! (`tests/js/import-find.mjs`) imports the paper trace's saved document and
//! syncs it to the server, then fresh clients find it.
//!
//! 1. **Upload**: import, until the server's sync state holds every head
//!    and a second, fresh client holds them too. **Stored and
//!    acknowledged**: from the whole history leaving the client to the
//!    server's acknowledgement arriving (the client's own work, such as
//!    saving the document to send it, is not counted); target <= 2 s.
//! 2. **Find while resident**: a fresh client finds the document.
//! 3. Restart the server on the same data; **find after a restart**.
//! 4. The server's **peak RSS** after the restart and the **data directory**
//!    on disk afterwards.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use crate::report::{Goal, Metric};
use crate::target::Target;

/// Bound on each step.
const STEP_TIMEOUT: Duration = Duration::from_secs(660);

pub async fn run(
    target: &mut Target,
    node: &Path,
    script: &Path,
    saved: &Path,
) -> anyhow::Result<Vec<Metric>> {
    let upload = js(node, script, &["upload", &target.url(), path(saved)?]).await?;
    let doc_id = upload["docId"].as_str().context("docId")?.to_owned();
    let heads: Vec<&str> = upload["heads"]
        .as_array()
        .context("heads")?
        .iter()
        .filter_map(|h| h.as_str())
        .collect();
    let heads = heads.join(",");
    let resident = js(node, script, &["find", &target.url(), &doc_id, &heads]).await?;
    target.restart().await?;
    let cold = js(node, script, &["find", &target.url(), &doc_id, &heads]).await?;
    let rss = target.peak_rss_mib();
    let disk_kib = target.data_dir_bytes() as f64 / 1024.0;
    let seconds = |v: &serde_json::Value| v["ms"].as_f64().unwrap_or(f64::NAN) / 1000.0;
    Ok(vec![
        Metric::num(
            "JS import: whole history stored and acknowledged",
            upload["storedMs"].as_f64().unwrap_or(f64::NAN) / 1000.0,
            "s",
            2,
        )
        .goal(Goal::AtMost(2.0)),
        Metric::num(
            "JS import: upload until a second client has it",
            seconds(&upload),
            "s",
            2,
        ),
        Metric::num(
            "JS import: fresh client's find while resident",
            seconds(&resident),
            "s",
            2,
        ),
        Metric::num(
            "JS import: fresh client's find after a restart",
            seconds(&cold),
            "s",
            2,
        ),
        Metric::num(
            "JS import: server peak RSS after the restart",
            rss,
            "MiB",
            0,
        ),
        Metric::num("JS import: data directory afterwards", disk_kib, "KiB", 0),
    ])
}

fn path(p: &Path) -> anyhow::Result<&str> {
    p.to_str().context("path is not UTF-8")
}

/// Runs the script; its one JSON line.
async fn js(node: &Path, script: &Path, args: &[&str]) -> anyhow::Result<serde_json::Value> {
    let mut command = tokio::process::Command::new(node);
    command
        .arg(script)
        .args(args)
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let output = tokio::time::timeout(STEP_TIMEOUT, command.output())
        .await
        .context("the JS client timed out")??;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        anyhow::bail!(
            "the JS client failed ({}) on {}: {}",
            output.status,
            args[0],
            tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
        );
    }
    let line = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(line.trim()).context("the JS client's reply")
}
