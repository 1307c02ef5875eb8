//! The views: functions of the model that draw one region of the page
//! each ([`Region`]). Drawing builds a region afresh and keeps the old
//! elements that came out the same (`keep`); what the user is in the
//! middle of survives it: typed text
//! lives in the model's inputs, the focused field or control gets the
//! focus back (`focus`), and the section editor keeps its caret on the
//! same characters through remote changes (automerge cursors, `summary`).

pub mod history;
pub mod keep;
pub mod margin;
pub mod review;
pub mod sidebar;
pub mod status;
pub mod suggest;
pub mod summary;
pub mod toolbar;

use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlInputElement, HtmlTextAreaElement};

use crate::effect::Region;
use crate::state::Model;
use crate::web::dom::{El, el};

/// Draws one region from the model.
pub fn render(region: Region, m: &Model) {
    match region {
        Region::Status => status::draw(m),
        Region::Summary => summary::draw(m),
        Region::Sidebar => sidebar::draw(m),
        Region::Toolbar => toolbar::draw(m),
    }
}

/// The value of a field (`input`, `textarea` or `select`).
pub fn value_of(el: &Element) -> String {
    if let Some(t) = el.dyn_ref::<HtmlTextAreaElement>() {
        t.value()
    } else if let Some(i) = el.dyn_ref::<HtmlInputElement>() {
        i.value()
    } else if let Some(s) = el.dyn_ref::<web_sys::HtmlSelectElement>() {
        s.value()
    } else {
        String::new()
    }
}

pub fn textarea(key: &str, label: &str, value: &str) -> El {
    let t = el("textarea")
        .attr("data-key", key)
        .attr("aria-label", label)
        .attr("rows", "3");
    if let Some(area) = t.0.dyn_ref::<HtmlTextAreaElement>() {
        area.set_value(value);
    }
    t
}

pub fn input(key: &str, label: &str, value: &str) -> El {
    let i = el("input")
        .attr("type", "text")
        .attr("data-key", key)
        .attr("aria-label", label);
    if let Some(field) = i.0.dyn_ref::<HtmlInputElement>() {
        field.set_value(value);
    }
    i
}

/// A field inside its visible label.
pub fn labelled(label: &str, field: El) -> El {
    el("label")
        .class("field")
        .child(el("span").text(label))
        .child(field)
}

// ---------------------------------------------------------------- summary

/// A day in the reader's language (for expiry dates).
pub fn date_text(ms: i64, a: &Model) -> String {
    if ms <= 0 {
        return String::new();
    }
    let date = js_sys::Date::new(&(ms as f64).into());
    date.to_locale_date_string(a.page.lang.locale(), &wasm_bindgen::JsValue::UNDEFINED)
        .as_string()
        .unwrap_or_default()
}
