//! The keyboard focus across re-renders.
//!
//! Rendering replaces the summary's and the sidebar's elements, which
//! would drop the focus to `<body>`: a keyboard user would start again at
//! the top of the page after every action. So the focused field or control
//! is remembered before a re-render by what tells it apart (a `Spot`: its
//! `data-key`, or its `data-action` with the data attributes naming what it
//! acts on) and focused again afterwards, a field with its selection. When
//! it is gone (a resolved thread, a reviewed proposal), the focus goes to a
//! control about the same section, thread or proposal, else to the sidebar's
//! selected tab.

use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement, HtmlInputElement, HtmlTextAreaElement};

use crate::effect::Spot;
use crate::web::dom::document;

/// The spot of a field (`data-key`) or control (`data-action`).
pub fn spot_of(el: &Element) -> Option<Spot> {
    Spot::from_attrs(|name| el.get_attribute(name))
}

/// The element on the page with exactly these identifying attributes.
fn find(spot: &Spot) -> Option<Element> {
    let (first, _) = spot.0.first()?;
    let candidates = document().query_selector_all(&format!("[{first}]")).ok()?;
    (0..candidates.length())
        .filter_map(|i| candidates.item(i)?.dyn_into::<Element>().ok())
        .find(|el| spot_of(el).as_ref() == Some(spot))
}

/// Focuses the spot; false if it is not on the page.
pub fn focus_spot(spot: &Spot) -> bool {
    find(spot).is_some_and(|el| focus_element(&el))
}

fn focus_element(el: &Element) -> bool {
    el.dyn_ref::<HtmlElement>()
        .is_some_and(|h| h.focus().is_ok())
}

/// The focused field or control, and a field's selection.
pub struct Saved {
    spot: Spot,
    range: Option<(u32, u32)>,
}

/// What has the focus now, if it is one of the client's fields or controls.
pub fn save() -> Option<Saved> {
    let active = document().active_element()?;
    let spot = spot_of(&active)?;
    let range = if let Some(t) = active.dyn_ref::<HtmlTextAreaElement>() {
        Some((
            t.selection_start().ok().flatten().unwrap_or(0),
            t.selection_end().ok().flatten().unwrap_or(0),
        ))
    } else {
        active.dyn_ref::<HtmlInputElement>().map(|i| {
            (
                i.selection_start().ok().flatten().unwrap_or(0),
                i.selection_end().ok().flatten().unwrap_or(0),
            )
        })
    };
    Some(Saved { spot, range })
}

/// Whether the focus has fallen to `<body>` (or nowhere).
fn lost() -> bool {
    let doc = document();
    match doc.active_element() {
        None => true,
        Some(active) => doc
            .body()
            .is_some_and(|b| *b.unchecked_ref::<Element>() == active),
    }
}

/// After a re-render: if the saved focus was lost, puts it back on the
/// same field (with its selection) or control, else on a control about the
/// same thing, else on the sidebar's selected tab.
pub fn restore(saved: Option<Saved>) {
    let Some(saved) = saved else { return };
    if !lost() {
        return;
    }
    if let Some(el) = find(&saved.spot) {
        focus_element(&el);
        if let Some((start, end)) = saved.range {
            if let Some(t) = el.dyn_ref::<HtmlTextAreaElement>() {
                let _ = t.set_selection_range(start, end);
            } else if let Some(i) = el.dyn_ref::<HtmlInputElement>() {
                let _ = i.set_selection_range(start, end);
            }
        }
        return;
    }
    let related = saved.spot.0.iter().skip(1).find_map(|(name, value)| {
        // Controls, not highlights in the text (which name threads too).
        let all = document()
            .query_selector_all("[data-action]:not(mark)")
            .ok()?;
        (0..all.length())
            .filter_map(|i| all.item(i)?.dyn_into::<Element>().ok())
            .find(|el| el.get_attribute(name).as_deref() == Some(value.as_str()))
    });
    if !related.is_some_and(|el| focus_element(&el)) {
        selected_tab();
    }
}

/// Focuses the sidebar's selected tab (the place to go on from when the
/// focused control went away).
pub fn selected_tab() {
    if let Ok(Some(tab)) =
        document().query_selector("#sidebar [role=\"tab\"][aria-selected=\"true\"]")
    {
        focus_element(&tab);
    }
}
