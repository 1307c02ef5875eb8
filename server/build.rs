//! Builds the browser client (`client-wasm`) for wasm32, generates its JS
//! glue with wasm-bindgen, and leaves both in `$OUT_DIR/web` for the server
//! to embed, so that `target/release/synpunkt` is one standalone binary.
//!
//! When `xtask setup` has installed binaryen and terser (npm packages pinned
//! in `tests/js`), binaryen's `wasm-opt` shrinks the module further
//! (about 11 %) and terser minifies the JS glue (to less than half), which
//! keeps the client under its 1.5 MB budget; without them the client works
//! the same, only larger.
//!
//! The nested cargo uses its own target directory (no lock contention with
//! the outer build). Set `SYNPUNKT_SKIP_WEB=1` to embed a placeholder instead
//! (for quick native-only checks).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-unknown-unknown";
const PROFILE: &str = "wasm-release";

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest
        .parent()
        .expect("server/ is inside the workspace")
        .to_path_buf();
    let out = PathBuf::from(env::var("OUT_DIR").expect("set by cargo")).join("web");
    std::fs::create_dir_all(&out).expect("create OUT_DIR/web");
    for path in [
        "client-wasm/src",
        "client-wasm/Cargo.toml",
        "docsync/src",
        "docsync/Cargo.toml",
        "model/src",
        "model/Cargo.toml",
        "Cargo.lock",
        "tests/js/node_modules/.bin/wasm-opt",
        "tests/js/node_modules/.bin/terser",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(path).display());
    }
    println!("cargo:rerun-if-env-changed=SYNPUNKT_SKIP_WEB");

    if env::var_os("SYNPUNKT_SKIP_WEB").is_some() {
        std::fs::write(
            out.join("client_wasm.js"),
            "// web client not built (SYNPUNKT_SKIP_WEB)\n",
        )
        .expect("write placeholder");
        std::fs::write(out.join("client_wasm_bg.wasm"), b"").expect("write placeholder");
        return;
    }

    let wasm = build_wasm(&root);
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&wasm)
        .web(true)
        .expect("web target")
        .omit_default_module_path(false)
        // Function names are for debuggers; the budget is 1.5 MB.
        .remove_name_section(true)
        .remove_producers_section(true)
        .typescript(false)
        .generate(&out)
        .expect("wasm-bindgen generates the JS glue");
    shrink(&root, &out.join("client_wasm_bg.wasm"));
    minify(&root, &out.join("client_wasm.js"));
}

fn build_wasm(root: &Path) -> PathBuf {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target_dir = root.join("target").join("web-build");
    ensure_target();
    let status = Command::new(&cargo)
        .current_dir(root)
        .args([
            "build",
            "-p",
            "client-wasm",
            "--target",
            TARGET,
            "--profile",
            PROFILE,
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        .env("CARGO_ENCODED_RUSTFLAGS", remap_source_paths(root))
        .env_remove("RUSTFLAGS")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .status()
        .expect("run cargo for the web client");
    assert!(status.success(), "building client-wasm for {TARGET} failed");
    target_dir
        .join(TARGET)
        .join(PROFILE)
        .join("client_wasm.wasm")
}

/// Rust flags for the nested build: panic locations (kept even with
/// `panic = "abort"`) name their source files, by default with this machine's
/// absolute paths (`/home/…/.cargo/registry/src/index…/automerge-0.12.0/…`).
/// Shortened to paths relative to the workspace and to each registry's
/// source folder, they take some 10 KB less in the module and no longer
/// depend on where it was built.
fn remap_source_paths(root: &Path) -> String {
    let mut prefixes = vec![root.to_path_buf()];
    let cargo_home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    if let Some(Ok(registries)) = cargo_home.map(|home| home.join("registry/src").read_dir()) {
        prefixes.extend(registries.flatten().map(|entry| entry.path()));
    }
    prefixes
        .iter()
        .map(|prefix| format!("--remap-path-prefix={}/=", prefix.display()))
        .collect::<Vec<_>>()
        // Cargo's separator in CARGO_ENCODED_RUSTFLAGS.
        .join("\x1f")
}

/// A fresh machine lacks the wasm32 standard library: add it with rustup.
fn ensure_target() {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.trim() == TARGET)
        })
        .unwrap_or(true);
    if !installed {
        let status = Command::new("rustup")
            .args(["target", "add", TARGET])
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "could not install the {TARGET} target; run `rustup target add {TARGET}`"
        );
    }
}

/// Runs binaryen's `wasm-opt` on the module, if installed: `-Oz` twice,
/// after `--flatten --rereloop` (which rebuilds each function's control flow
/// from its graph of basic blocks: about 13 KB smaller than `-Oz` alone, at
/// the same behaviour), and without the `target_features` section.
fn shrink(root: &Path, wasm: &Path) {
    let wasm_opt = root.join("tests/js/node_modules/.bin/wasm-opt");
    if !wasm_opt.exists() {
        println!(
            "cargo:warning=wasm-opt not installed (run `cargo xtask setup`): the web client is not size-optimised"
        );
        return;
    }
    let optimised = wasm.with_extension("opt.wasm");
    let status = Command::new(&wasm_opt)
        .args([
            "--flatten",
            "--rereloop",
            "-Oz",
            "-Oz",
            "--strip-target-features",
        ])
        // The features rustc's wasm32 target emits.
        .args([
            "--enable-bulk-memory",
            "--enable-nontrapping-float-to-int",
            "--enable-sign-ext",
            "--enable-mutable-globals",
            "--enable-reference-types",
            "--enable-multivalue",
        ])
        .arg(wasm)
        .arg("-o")
        .arg(&optimised)
        .status();
    match status {
        Ok(s) if s.success() => {
            std::fs::rename(&optimised, wasm).expect("replace the module by its optimised form");
        }
        _ => println!("cargo:warning=wasm-opt failed: the web client is not size-optimised"),
    }
}

/// Minifies the JS glue with terser, if installed: compresses the code and
/// renames local names. It stays an ES module with the same exports, and the
/// import names the module asks for are object keys, which terser keeps.
fn minify(root: &Path, js: &Path) {
    let terser = root.join("tests/js/node_modules/.bin/terser");
    if !terser.exists() {
        println!(
            "cargo:warning=terser not installed (run `cargo xtask setup`): the web client's JS is not minified"
        );
        return;
    }
    let minified = js.with_extension("min.js");
    let status = Command::new(&terser)
        .arg(js)
        .args(["--module", "--compress", "--mangle", "--output"])
        .arg(&minified)
        .status();
    match status {
        Ok(s) if s.success() => {
            std::fs::rename(&minified, js).expect("replace the JS glue by its minified form");
        }
        _ => println!("cargo:warning=terser failed: the web client's JS is not minified"),
    }
}
