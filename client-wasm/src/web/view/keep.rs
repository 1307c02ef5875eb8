//! Drawing a region without replacing what did not change. The views
//! build a region's children afresh from the model; an old child equal to
//! its new version (`isEqualNode`: the same attributes and descendants) is
//! kept in place, so a remote keystroke in one section replaces that
//! section, not the whole summary (`bench --scenarios browser-large`
//! counts the mutations). The client's listeners are on the document,
//! never on elements, so a kept element behaves as its new copy would.
//! A child holding a form field is always replaced: a field's value is a
//! property, which `isEqualNode` does not compare.

use web_sys::Element;

use crate::web::dom::El;

/// Makes `children` the children of `parent`, keeping old ones that equal
/// the new ones in the same place.
pub fn replace_changed(parent: &Element, children: Vec<El>) {
    let old = parent.children();
    let mut i = 0;
    for new in children {
        let new = new.0;
        match old.item(i) {
            Some(current) if current.is_equal_node(Some(&new)) && !has_field(&current) => {}
            Some(current) => {
                let _ = parent.replace_child(&new, &current);
            }
            None => {
                let _ = parent.append_child(&new);
            }
        }
        i += 1;
    }
    // `children` is live: what is left beyond the new ones goes.
    while let Some(extra) = old.item(i) {
        extra.remove();
    }
}

fn has_field(el: &Element) -> bool {
    matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
        || el
            .query_selector("input, textarea, select")
            .ok()
            .flatten()
            .is_some()
}
