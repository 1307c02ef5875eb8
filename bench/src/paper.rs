//! The paper editing trace (automerge-perf's `automerge-paper.json.gz`: the
//! keystrokes that wrote an academic paper) as one automerge document.
//!
//! Format: `{startContent, endContent, txns: [{patches: [[pos, del, ins]]}]}`.
//! Each transaction becomes one change on the root's `text` object (the
//! shape the load generator edits), so the document has ~260k changes.
//! Replaying takes a while, so the saved document is cached
//! (`<cache>/paper.automerge`; delete it to rebuild).

use std::io::Read;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use automerge::transaction::Transactable;
use automerge::{Automerge, ObjType, ROOT, ReadDoc};

/// Where [`saved_doc`] caches the saved document (a file the JS client
/// can read).
pub fn saved_path(cache_dir: &Path) -> std::path::PathBuf {
    cache_dir.join("paper.automerge")
}

/// The saved paper document: from the cache, or built from the trace.
pub fn saved_doc(trace: &Path, cache_dir: &Path) -> anyhow::Result<Vec<u8>> {
    let cache = saved_path(cache_dir);
    if let Ok(bytes) = std::fs::read(&cache) {
        return Ok(bytes);
    }
    let started = Instant::now();
    eprintln!(
        "building the paper document from {} (once; cached in {})",
        trace.display(),
        cache.display()
    );
    let doc = build(trace)?;
    let bytes = doc.save();
    std::fs::create_dir_all(cache_dir)?;
    std::fs::write(&cache, &bytes)?;
    eprintln!(
        "built in {:.1} s: {} changes, {} KB saved",
        started.elapsed().as_secs_f64(),
        doc.get_changes(&[]).len(),
        bytes.len() / 1000
    );
    Ok(bytes)
}

fn build(trace: &Path) -> anyhow::Result<Automerge> {
    let trace = read(trace)?;
    let mut doc = Automerge::new();
    let mut tx = doc.transaction();
    let text = tx.put_object(ROOT, "text", ObjType::Text)?;
    tx.commit();
    replay(&trace, &mut doc, &text)?;
    Ok(doc)
}

/// The trace, decompressed and parsed.
pub fn read(trace: &Path) -> anyhow::Result<serde_json::Value> {
    let file = std::fs::File::open(trace).with_context(|| {
        format!(
            "opening the paper trace {} (flag --paper PATH)",
            trace.display()
        )
    })?;
    let mut json = String::new();
    flate2::read::GzDecoder::new(file).read_to_string(&mut json)?;
    Ok(serde_json::from_str(&json)?)
}

/// Replays the trace into the (empty) text `text` of `doc`: its start
/// content as one change (if any), then one change per transaction;
/// checks that the text ends as the trace's `endContent`.
pub fn replay(
    trace: &serde_json::Value,
    doc: &mut Automerge,
    text: &automerge::ObjId,
) -> anyhow::Result<()> {
    let start = trace["startContent"].as_str().unwrap_or("");
    let end = trace["endContent"]
        .as_str()
        .context("the trace has no endContent")?;
    let txns = trace["txns"].as_array().context("the trace has no txns")?;
    if !start.is_empty() {
        let mut tx = doc.transaction();
        tx.splice_text(text, 0, 0, start)?;
        tx.commit();
    }
    for txn in txns {
        let patches = txn["patches"].as_array().context("a txn without patches")?;
        let mut tx = doc.transaction();
        for p in patches {
            let pos = p[0].as_u64().context("patch position")? as usize;
            let del = p[1].as_i64().context("patch deletion")? as isize;
            let ins = p[2].as_str().unwrap_or("");
            tx.splice_text(text, pos, del, ins)?;
        }
        tx.commit();
    }
    let result = doc.text(text)?;
    anyhow::ensure!(
        result == end,
        "replaying the trace did not give its endContent ({} vs {} characters)",
        result.len(),
        end.len()
    );
    Ok(())
}
