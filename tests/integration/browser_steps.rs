//! Shared steps of the browser tests: open a workshop page signed in (or
//! public), select text as a user would, fill a field, read and count.

use serde_json::json;
use testkit::Browser;

use crate::common::World;

/// UTF-16 position of `needle` in `haystack`.
pub fn utf16_at(haystack: &str, needle: &str) -> usize {
    haystack[..haystack.find(needle).expect("needle present")]
        .encode_utf16()
        .count()
}

/// A browser signed in with `token` (or public), on the workshop's page,
/// with the summary drawn from the synced document.
pub async fn open(w: &World, token: Option<&str>, workshop: &str) -> Browser {
    open_in(
        Browser::start().await.expect("chromium starts"),
        w,
        token,
        workshop,
    )
    .await
}

/// Like [`open`], in a browser started by the caller (e.g. in another
/// language).
pub async fn open_in(browser: Browser, w: &World, token: Option<&str>, workshop: &str) -> Browser {
    let base = w.server.base_url();
    if let Some(token) = token {
        browser
            .set_session_cookie(&base, token)
            .await
            .expect("cookie");
    }
    browser
        .goto(&format!("{base}/w/{workshop}"))
        .await
        .expect("page loads");
    browser
        .wait_for("body[data-summary=\"live\"]")
        .await
        .expect("the client draws the summary");
    browser
}

/// Selects `[start, end)` of a section's text as a user would, and lets
/// the client notice (it reads the selection on mouseup).
pub async fn select(b: &Browser, section: &str, start: usize, end: usize) {
    b.select_text(&format!(".body[data-section=\"{section}\"]"), start, end)
        .await
        .expect("select");
    b.execute(
        "document.body.dispatchEvent(new MouseEvent('mouseup', {bubbles: true}))",
        vec![],
    )
    .await
    .expect("mouseup");
    b.wait_for("#selection-tools")
        .await
        .expect("selection tools");
}

/// Replaces a text field's value as typing would (the client listens to
/// `input`).
pub async fn fill(b: &Browser, css: &str, text: &str) {
    b.wait_for(css).await.expect("field");
    b.execute(
        "const f = document.querySelector(arguments[0]); f.focus(); f.value = arguments[1];
         f.dispatchEvent(new Event('input', {bubbles: true}));",
        vec![json!(css), json!(text)],
    )
    .await
    .expect("fill");
}

pub async fn body_text(b: &Browser, section: &str) -> String {
    b.text(&format!(".body[data-section=\"{section}\"]"))
        .await
        .expect("section text")
}

pub async fn count(b: &Browser, css: &str) -> u64 {
    b.execute(
        "return document.querySelectorAll(arguments[0]).length;",
        vec![json!(css)],
    )
    .await
    .expect("count")
    .as_u64()
    .unwrap_or(0)
}

/// Types `text` at the start of the open section editor, as typing would
/// (the client listens to `input`).
pub async fn type_at_editor_start(b: &Browser, text: &str) {
    b.execute(
        "const t = document.querySelector('textarea[data-key=\"section-editor\"]');
         t.focus(); t.setRangeText(arguments[0], 0, 0, 'end');
         t.dispatchEvent(new Event('input', {bubbles: true}));",
        vec![json!(text)],
    )
    .await
    .expect("type");
}

/// Opens the editor of `section` and types `text` at its start.
pub async fn edit_section_start(b: &Browser, section: &str, text: &str) {
    b.click(&format!(
        "[data-action=\"edit-section\"][data-section=\"{section}\"]"
    ))
    .await
    .expect("edit");
    b.wait_for("textarea[data-key=\"section-editor\"]")
        .await
        .expect("editor");
    type_at_editor_start(b, text).await;
}

/// Uses an item of a section's "⋯" menu (`comment-section`,
/// `propose-section`, `propose-paragraph`): opens the menu, then clicks it.
pub async fn section_menu(b: &Browser, section: &str, item: &str) {
    b.click(&format!(
        "[data-action=\"section-menu\"][data-section=\"{section}\"]"
    ))
    .await
    .expect("the section's menu");
    b.click(&format!(
        "[data-action=\"{item}\"][data-section=\"{section}\"]"
    ))
    .await
    .unwrap_or_else(|e| panic!("{item} in the section's menu: {e}"));
}
