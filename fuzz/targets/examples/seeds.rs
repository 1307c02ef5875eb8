//! Writes the corpus seeds: `cargo run -p fuzz-targets --example seeds`.
//!
//! Into `fuzz/corpus/incoming/`: one input per scripted session, and the
//! captured automerge-repo frames (`tests/fixtures/js/*.cbor`) as sessions
//! of each role, as captured and with their documentId replaced by the
//! fixture's. Into `fuzz/corpus/wire_decode/`: every frame of those.
//! Existing files are overwritten; nothing else is removed.

use std::fs;
use std::path::Path;

use docsync::Message;
use fuzz_targets::server::Role;
use fuzz_targets::{fixture, frames, seeds};

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let corpus = root.join("fuzz/corpus");
    let incoming = corpus.join("incoming");
    let wire = corpus.join("wire_decode");
    fs::create_dir_all(&incoming)?;
    fs::create_dir_all(&wire)?;

    for (name, input) in seeds::incoming() {
        fs::write(incoming.join(format!("seed-{name}")), input)?;
    }
    for (i, frame) in seeds::wire_frames().into_iter().enumerate() {
        fs::write(wire.join(format!("seed-frame-{i:03}")), frame)?;
    }

    // The JavaScript client's frames, in the order it sent them.
    let js = root.join("tests/fixtures/js");
    let order = ["join", "request", "sync", "sync-changes", "ephemeral"];
    let mut captured = Vec::new();
    for name in order {
        captured.push(fs::read(js.join(format!("{name}.cbor")))?);
    }
    let retargeted: Vec<Vec<u8>> = captured
        .iter()
        .map(|frame| match docsync::decode(frame) {
            Ok(Message::Sync(mut m)) => {
                m.document_id = fixture::doc_id();
                docsync::encode(&Message::Sync(m))
            }
            Ok(Message::Ephemeral(mut m)) => {
                m.document_id = fixture::doc_id();
                docsync::encode(&Message::Ephemeral(m))
            }
            _ => frame.clone(),
        })
        .collect();
    for role in Role::ALL {
        let n = role.to_byte();
        fs::write(
            incoming.join(format!("seed-js-{n}")),
            frames::join(role, &captured),
        )?;
        fs::write(
            incoming.join(format!("seed-js-fixture-doc-{n}")),
            frames::join(role, &retargeted),
        )?;
    }
    for entry in fs::read_dir(&js)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "cbor") {
            let name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
            let name = name.unwrap_or_default();
            fs::copy(&path, wire.join(format!("seed-js-{name}")))?;
        }
    }
    Ok(())
}
