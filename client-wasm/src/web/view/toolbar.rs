//! The floating toolbar by a selection in the summary: "Comment" and
//! "Propose wording", next to the selected words. It is put right after
//! the section's text in the page, so that Tab from a selection reaches it
//! first; Escape closes it (`update/margin.rs`).

use wasm_bindgen::JsCast;
use web_sys::Element;

use crate::state::Model;
use crate::web::dom::{button, by_id, el, window};
use crate::web::view::margin::px;
use crate::web::view::summary::section_body_el;

pub fn draw(a: &Model) {
    if let Some(old) = by_id("selection-tools") {
        old.remove();
    }
    let Some(sel) = &a.ui.selection else { return };
    if !a.ui.toolbar || !a.can_take_part() || a.ui.composer.is_some() || a.ui.draft.is_some() {
        return;
    }
    let Some(body) = section_body_el(&sel.section) else {
        return;
    };
    let Some(section) = body.parent_element() else {
        return;
    };
    let bar = el("div")
        .attr("id", "selection-tools")
        .attr("role", "toolbar")
        .attr("aria-label", a.t("selection-tools"))
        .class("selection-toolbar")
        .child(
            el("p")
                .class("quote")
                .text(&format!("{}: “", a.t("selected")))
                .user_text(&sel.quote)
                .text("”"),
        )
        .child(button("comment", a.t("comment")).class("primary"))
        .child(button("propose", a.t("propose")));
    let _ = body.after_with_node_1(&bar.0);
    place(&bar.0, &section, &body);
}

/// Puts the toolbar just under the selection (or the section's text, when
/// the selection is not on the page), within the section.
fn place(bar: &Element, section: &Element, body: &Element) {
    let range = window()
        .get_selection()
        .ok()
        .flatten()
        .filter(|s| !s.is_collapsed() && s.range_count() > 0)
        .and_then(|s| s.get_range_at(0).ok());
    let rect = match range {
        Some(r) => r.get_bounding_client_rect(),
        None => body.get_bounding_client_rect(),
    };
    let frame = section.get_bounding_client_rect();
    let width = bar.get_bounding_client_rect().width();
    let left = (rect.left() - frame.left())
        .min(frame.width() - width)
        .max(0.0);
    let top = rect.bottom() - frame.top() + 6.0;
    if let Some(h) = bar.dyn_ref::<web_sys::HtmlElement>() {
        let _ = h.style().set_property("left", &px(left));
        let _ = h.style().set_property("top", &px(top));
    }
}
