//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the
//! targets without libFuzzer, so that every `cargo test` checks every input
//! a fuzzer once found interesting, and every crash fixed since.

use std::fs;
use std::path::{Path, PathBuf};

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../corpus")
        .join(target);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    files.retain(|p| p.is_file());
    files.sort();
    files
}

fn replay(target: &str, run: fn(&[u8])) {
    let files = corpus(target);
    assert!(
        files.len() >= 5,
        "the {target} corpus has only {} inputs",
        files.len()
    );
    for path in files {
        let input = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // A panic names the input that caused it.
        let outcome = std::panic::catch_unwind(|| run(&input));
        assert!(outcome.is_ok(), "{target} panicked on {}", path.display());
    }
}

#[test]
fn wire_decode_corpus_replays() {
    replay("wire_decode", fuzz_targets::wire_decode);
}

#[test]
fn incoming_corpus_replays() {
    replay("incoming", fuzz_targets::incoming);
}
