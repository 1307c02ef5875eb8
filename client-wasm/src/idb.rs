//! The documents kept for offline work, in IndexedDB: database `synpunkt`,
//! one object store `docs`, keys are strings and values `Uint8Array`s.
//!
//! Every call is async and returns a readable error instead of panicking
//! (no IndexedDB, private mode, quota, a value that is not bytes). The
//! database is opened once per page: the first call starts the open, and
//! every call awaits that same request, so concurrent first calls open it
//! once. A write's future resolves only when its transaction is
//! `complete` with `strict` durability: Chromium's default since 121 is
//! `relaxed`, whose `complete` comes before the data is flushed to disk.
//!
//! Handlers are the promise's own `resolve`/`reject` functions, so no Rust
//! closure outlives a request; the only closures are the upgrade's and the
//! two that live as long as the open database.

use std::cell::RefCell;

use js_sys::{ArrayBuffer, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    DomException, IdbDatabase, IdbObjectStore, IdbOpenDbRequest, IdbRequest, IdbTransaction,
};

const DATABASE: &str = "synpunkt";
const VERSION: u32 = 1;
const STORE: &str = "docs";

thread_local! {
    /// The open request of this page's database handle: its result is the
    /// `IDBDatabase` once it has succeeded. `None` before the first call,
    /// after a failed open, and after the browser closed the database.
    static OPENED: RefCell<Option<(IdbOpenDbRequest, Promise)>> = const { RefCell::new(None) };
}

#[wasm_bindgen]
extern "C" {
    /// `IDBDatabase` again, for `transaction(store, mode, options)`: web-sys
    /// offers the options (durability) only under `web_sys_unstable_apis`.
    #[wasm_bindgen(js_name = IDBDatabase)]
    type DatabaseWithOptions;

    #[wasm_bindgen(method, catch, js_name = transaction)]
    fn transaction(
        this: &DatabaseWithOptions,
        store: &str,
        mode: &str,
        options: &Object,
    ) -> Result<IdbTransaction, JsValue>;
}

/// The bytes stored under `key`, if any.
pub async fn get(key: &str) -> Result<Option<Vec<u8>>, String> {
    let db = database().await?;
    let tx = db
        .transaction_with_str(STORE)
        .map_err(|e| failure("starting a read", &e))?;
    let request = store(&tx)?
        .get(&JsValue::from_str(key))
        .map_err(|e| failure("reading", &e))?;
    request_done(&request).await?;
    let value = request.result().map_err(|e| failure("reading", &e))?;
    if value.is_undefined() {
        Ok(None)
    } else if let Some(bytes) = value.dyn_ref::<Uint8Array>() {
        Ok(Some(bytes.to_vec()))
    } else if let Some(buffer) = value.dyn_ref::<ArrayBuffer>() {
        Ok(Some(Uint8Array::new(buffer).to_vec()))
    } else {
        Err(format!(
            "IndexedDB: the value stored under {key:?} is not bytes"
        ))
    }
}

/// Stores `bytes` under `key` (replacing what was there); resolves once
/// the write is on disk.
pub async fn put(key: &str, bytes: &[u8]) -> Result<(), String> {
    // `from` copies out of the wasm memory, which may move before the
    // browser clones the value.
    let value = Uint8Array::from(bytes);
    write(|store| store.put_with_key(&value, &JsValue::from_str(key))).await
}

/// Deletes what is stored under `key` (nothing to delete is no error).
pub async fn delete(key: &str) -> Result<(), String> {
    write(|store| store.delete(&JsValue::from_str(key))).await
}

/// Deletes every stored document. (Sign-out deletes the whole database
/// from `boot.js` today, before the client starts.)
#[allow(dead_code)]
pub async fn clear() -> Result<(), String> {
    write(IdbObjectStore::clear).await
}

/// Runs one request in a strict read-write transaction and waits for the
/// transaction's `complete` (not the request's `success`, which comes
/// before the commit).
async fn write(
    request: impl FnOnce(&IdbObjectStore) -> Result<IdbRequest, JsValue>,
) -> Result<(), String> {
    let db = database().await?;
    let options = Object::new();
    Reflect::set(&options, &"durability".into(), &"strict".into())
        .map_err(|e| failure("starting a write", &e))?;
    let tx = db
        .unchecked_ref::<DatabaseWithOptions>()
        .transaction(STORE, "readwrite", &options)
        .map_err(|e| failure("starting a write", &e))?;
    let complete = Promise::new(&mut |resolve, reject| {
        tx.set_oncomplete(Some(&resolve));
        tx.set_onerror(Some(&reject));
        tx.set_onabort(Some(&reject));
    });
    if let Err(e) = store(&tx).and_then(|s| request(&s).map_err(|e| failure("writing", &e))) {
        let _ = tx.abort();
        return Err(e);
    }
    JsFuture::from(complete)
        .await
        .map(drop)
        .map_err(|_| match tx.error() {
            Some(e) => describe("writing", &e),
            None => "IndexedDB: the write was aborted".to_owned(),
        })
}

fn store(tx: &IdbTransaction) -> Result<IdbObjectStore, String> {
    tx.object_store(STORE)
        .map_err(|e| failure("opening the store", &e))
}

/// Waits for a request's `success`; its `error` becomes the error text.
async fn request_done(request: &IdbRequest) -> Result<(), String> {
    let done = Promise::new(&mut |resolve, reject| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    });
    JsFuture::from(done)
        .await
        .map(drop)
        .map_err(|_| match request.error() {
            Ok(Some(e)) => describe("reading", &e),
            _ => "IndexedDB: a request failed".to_owned(),
        })
}

/// This page's database, opened on first use (see [`OPENED`]).
async fn database() -> Result<IdbDatabase, String> {
    let (request, opened) = match OPENED.with(|o| o.borrow().clone()) {
        Some(open) => open,
        None => {
            let open = start_open()?;
            OPENED.with(|o| *o.borrow_mut() = Some(open.clone()));
            open
        }
    };
    if JsFuture::from(opened).await.is_err() {
        forget(&request);
        return Err(match request.error() {
            Ok(Some(e)) => describe("opening the database", &e),
            _ => "IndexedDB: the database could not be opened".to_owned(),
        });
    }
    let db = request
        .result()
        .ok()
        .and_then(|db| db.dyn_into::<IdbDatabase>().ok())
        .ok_or_else(|| "IndexedDB: opening gave no database".to_owned())?;
    if db.onclose().is_none() {
        watch(&db, &request);
    }
    Ok(db)
}

/// Once open: lets another tab's newer version take over (closes ours),
/// and reopens on the next call if the browser closes the database
/// (storage cleared, disk error).
fn watch(db: &IdbDatabase, request: &IdbOpenDbRequest) {
    let closed = {
        let request = request.clone();
        Closure::<dyn FnMut()>::new(move || forget(&request))
    };
    let version_change = {
        let (db, request) = (db.clone(), request.clone());
        Closure::<dyn FnMut()>::new(move || {
            db.close();
            forget(&request);
        })
    };
    db.set_onclose(Some(closed.as_ref().unchecked_ref()));
    db.set_onversionchange(Some(version_change.as_ref().unchecked_ref()));
    // They live as long as the database handle, about the page's life.
    closed.forget();
    version_change.forget();
}

/// Starts opening the database; the promise settles with the request
/// (its result is the database).
fn start_open() -> Result<(IdbOpenDbRequest, Promise), String> {
    let window = web_sys::window().ok_or("IndexedDB: no window")?;
    let factory = window
        .indexed_db()
        .map_err(|e| failure("reaching IndexedDB", &e))?
        .ok_or("IndexedDB is not available in this browser")?;
    let request = factory
        .open_with_u32(DATABASE, VERSION)
        .map_err(|e| failure("opening the database", &e))?;
    // Version 1 creates the store; a later version would migrate here.
    let upgrade = Closure::once_into_js(move |event: web_sys::Event| {
        let db = event
            .target()
            .and_then(|t| t.dyn_into::<IdbOpenDbRequest>().ok())
            .and_then(|r| r.result().ok())
            .and_then(|db| db.dyn_into::<IdbDatabase>().ok());
        if let Some(db) = db
            && !db.object_store_names().contains(STORE)
        {
            // A failure here aborts the upgrade: the open then fails with
            // the reason.
            let _ = db.create_object_store(STORE);
        }
    });
    request.set_onupgradeneeded(Some(upgrade.unchecked_ref()));
    let opened = Promise::new(&mut |resolve, reject| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    });
    Ok((request, opened))
}

/// Drops the cached handle if it is still `request`'s, so that the next
/// call opens the database again.
fn forget(request: &IdbOpenDbRequest) {
    OPENED.with(|o| {
        let mut o = o.borrow_mut();
        if o.as_ref().is_some_and(|(r, _)| r == request) {
            *o = None;
        }
    });
}

/// A readable text for a thrown JS value (a `DOMException`, an `Error`,
/// or anything else).
fn failure(doing: &str, error: &JsValue) -> String {
    if let Some(e) = error.dyn_ref::<DomException>() {
        return describe(doing, e);
    }
    let text = error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.to_string()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| format!("{error:?}"));
    format!("IndexedDB: {doing} failed: {text}")
}

fn describe(doing: &str, e: &DomException) -> String {
    format!("IndexedDB: {doing} failed: {}: {}", e.name(), e.message())
}
