//! The comments beside the text: which thread the reader is looking at
//! (its card focused, its highlight active, on phones its bottom sheet
//! open), the floating toolbar by a selection, and the sections' "⋯"
//! menus. Only decisions live here; where things sit on the page is the
//! web layer's (`web/view/margin.rs`, `web/view/toolbar.rs`).

use model::threads::{self, Anchor};

use super::Fx;
use crate::effect::{Effect, Focus, Region, Spot};
use crate::state::{Filter, Model, Tab};

/// The card of a thread, as a focus target.
pub fn card(thread: &str) -> Spot {
    Spot(vec![
        ("data-action", "focus-thread".to_owned()),
        ("data-thread", thread.to_owned()),
    ])
}

/// A thread's highlight in the text, as a focus target.
pub fn highlight(thread: &str) -> Spot {
    Spot(vec![
        ("data-action", "show-thread".to_owned()),
        ("data-thread", thread.to_owned()),
    ])
}

/// The reader looks at a thread (clicked its highlight or its card): its
/// card is shown in the list that holds it, focused, its highlight
/// marked. Looking at the thread already focused changes nothing (a
/// click into its reply field must not move the focus away).
pub(super) fn focus_thread(m: &mut Model, fx: &mut Fx, thread: String) {
    if m.ui.focused_thread.as_deref() == Some(thread.as_str()) {
        return;
    }
    let Some(view) = m
        .summary_doc()
        .map(threads::threads)
        .unwrap_or_default()
        .into_iter()
        .find(|t| t.id == thread)
    else {
        return;
    };
    m.ui.filter = Some(if view.resolved {
        Filter::Resolved
    } else if view.anchor == Anchor::Orphaned {
        Filter::Orphaned
    } else {
        Filter::Open
    });
    m.ui.tab = Some(Tab::Comments);
    m.ui.focused_thread = Some(thread.clone());
    m.ui.toolbar = false;
    fx.render(Region::Summary);
    fx.render(Region::Sidebar);
    fx.push(Effect::Focus(Focus::Spot(card(&thread))));
}

/// Closes the focused thread (the phone's sheet); the focus goes back to
/// its highlight.
pub(super) fn close_thread(m: &mut Model, fx: &mut Fx) {
    if let Some(thread) = m.ui.focused_thread.take() {
        fx.render(Region::Summary);
        fx.render(Region::Sidebar);
        fx.push(Effect::Focus(Focus::Spot(highlight(&thread))));
    }
}

/// Opens a section's "⋯" menu, or closes it if it is open.
pub(super) fn toggle_menu(m: &mut Model, fx: &mut Fx, section: String) {
    m.ui.section_menu = if m.ui.section_menu.as_deref() == Some(section.as_str()) {
        None
    } else {
        Some(section)
    };
    fx.render(Region::Summary);
}

/// Escape: closes the toolbar, else an open menu, else the focused
/// thread. Whether it closed something.
pub(super) fn escape(m: &mut Model, fx: &mut Fx) -> bool {
    if m.ui.toolbar {
        m.ui.toolbar = false;
        fx.render(Region::Toolbar);
    } else if let Some(section) = m.ui.section_menu.take() {
        fx.render(Region::Summary);
        fx.push(Effect::Focus(Focus::Spot(Spot::section_control(
            "section-menu",
            &section,
        ))));
    } else if m.ui.focused_thread.is_some() {
        close_thread(m, fx);
    } else {
        return false;
    }
    true
}

/// Whether Escape has something of this module's to close.
pub fn something_to_close(m: &Model) -> bool {
    m.ui.toolbar || m.ui.section_menu.is_some() || m.ui.focused_thread.is_some()
}
