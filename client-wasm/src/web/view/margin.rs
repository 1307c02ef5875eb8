//! The comment margin: on wide screens each thread's card sits beside its
//! highlight in the text (top of the card at the top of the highlight),
//! cards stacked without overlapping when passages are close. A layout
//! pass after every drawing measures the highlights and moves the cards
//! (`style.top`, set through the CSSOM: the CSP forbids style
//! attributes); the stylesheet decides from the width whether the cards
//! are positioned at all. Narrower, the cards are a plain list, and on
//! phones the focused one is a bottom sheet (CSS only).

use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement, ScrollIntoViewOptions, ScrollLogicalPosition};

use crate::web::dom::{by_id, document, window};
use crate::web::view::summary;

/// From this width the cards sit in the margin (as `app.css` says).
const WIDE_PX: f64 = 1100.0;
/// Space between stacked cards.
const GAP_PX: f64 = 8.0;

fn elements(root: &Element, css: &str) -> Vec<Element> {
    let Ok(list) = root.query_selector_all(css) else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i)?.dyn_into::<Element>().ok())
        .collect()
}

fn set_style(el: &Element, property: &str, value: Option<&str>) {
    if let Some(h) = el.dyn_ref::<HtmlElement>() {
        let style = h.style();
        let _ = match value {
            Some(v) => style.set_property(property, v),
            None => style.remove_property(property).map(|_| ()),
        };
    }
}

/// Places the cards of `#threads` beside their passages (or takes the
/// places away when the window is narrow).
pub fn layout() {
    let Some(list) = by_id("threads") else { return };
    let cards = elements(&list, ":scope > .thread, :scope > #composer");
    let width = window()
        .inner_width()
        .ok()
        .and_then(|w| w.as_f64())
        .unwrap_or(0.0);
    if width < WIDE_PX || list.get_attribute("data-layout").as_deref() != Some("margin") {
        for card in &cards {
            set_style(card, "top", None);
        }
        set_style(&list, "min-height", None);
        return;
    }
    let origin = list.get_bounding_client_rect().top();
    // Each highlight's threads and top, read once.
    let marks: Vec<(Vec<String>, f64)> = elements(
        &document().document_element().expect("a page has a root"),
        "mark.anchor[data-threads]",
    )
    .iter()
    .map(|m| {
        let ids = m.get_attribute("data-threads").unwrap_or_default();
        let ids = ids.split_whitespace().map(str::to_owned).collect();
        (ids, m.get_bounding_client_rect().top())
    })
    .collect();
    let mut wanted: Vec<(f64, usize, &Element)> = Vec::new();
    let mut last = 0.0;
    for (i, card) in cards.iter().enumerate() {
        let top = if card.id() == "composer" {
            let section = card.get_attribute("data-section").unwrap_or_default();
            let start = card
                .get_attribute("data-start")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            summary::offset_top(&section, start)
        } else {
            let id = card.get_attribute("data-thread").unwrap_or_default();
            marks
                .iter()
                .find(|(ids, _)| ids.contains(&id))
                .map(|(_, top)| *top)
        };
        // A card without a highlight stays after the one before it.
        let want = top.map_or(last, |t| (t - origin).max(0.0));
        last = want;
        wanted.push((want, i, card));
    }
    model::sort::by(&mut wanted, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut bottom: f64 = 0.0;
    for (want, _, card) in wanted {
        let top = want.max(bottom);
        set_style(card, "top", Some(&px(top)));
        bottom = top + card.get_bounding_client_rect().height() + GAP_PX;
    }
    set_style(&list, "min-height", Some(&px(bottom)));
}

/// A length in whole pixels: formatting an `f64` would bring Rust's float
/// formatting into the module (some kilobytes of the budget).
pub fn px(value: f64) -> String {
    format!("{}px", value.round() as i64)
}

/// Scrolls the element matching `css` into view, as little as needed.
pub fn reveal(css: &str) {
    let Ok(Some(el)) = document().query_selector(css) else {
        return;
    };
    let options = ScrollIntoViewOptions::new();
    options.set_block(ScrollLogicalPosition::Nearest);
    el.scroll_into_view_with_scroll_into_view_options(&options);
}
