//! What the public sees of the workshop, a host's choice: the live text or
//! only the latest published version (`publicView` on the workshop's
//! record; the server enforces it). Read when a host opens the History
//! tab, changed with the record's PATCH.

use serde_json::{Value, json};

use super::{Fx, error_text, fetch};
use crate::effect::Region;
use crate::msg::Reply;
use crate::state::Model;

/// The two choices, as the record spells them.
pub const VIEWS: [&str; 2] = ["live", "published"];

/// Asks for the record (hosts only: nobody else may change it).
pub(super) fn load(m: &mut Model, fx: &mut Fx) {
    let Some(doc) = m.page.doc.filter(|_| m.is_host()) else {
        return;
    };
    fx.push(fetch(
        "GET",
        format!("/api/workshops/{doc}"),
        None,
        Reply::Workshop,
    ));
}

pub(super) fn set(m: &mut Model, fx: &mut Fx, view: &str) {
    let Some(doc) = m.page.doc.filter(|_| m.is_host()) else {
        return;
    };
    if !VIEWS.contains(&view) {
        return;
    }
    fx.push(fetch(
        "PATCH",
        format!("/api/workshops/{doc}"),
        Some(json!({ "publicView": view }).to_string()),
        Reply::Workshop,
    ));
}

/// The record (after a GET or the PATCH).
pub(super) fn fetched(m: &mut Model, fx: &mut Fx, status: u16, body: &Value) {
    if status == 200 {
        m.ui.public_view = body["publicView"].as_str().map(str::to_owned);
        fx.render(Region::Sidebar);
    } else {
        fx.notice(m, error_text(body));
    }
}
