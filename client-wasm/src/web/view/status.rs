//! The connection pill: always visible, always true (see
//! [`Model::status`]).

use crate::state::Model;
use crate::web::dom::by_id;

pub fn draw(m: &Model) {
    let Some(s) = by_id("status") else { return };
    let (state, text) = m.status();
    let synced = m.shown().is_some_and(|id| m.session.is_synced(id));
    s.set_text_content(Some(&text));
    let _ = s.set_attribute("data-state", state);
    let _ = s.set_attribute("data-synced", if synced { "true" } else { "false" });
    let _ = s.set_attribute("data-waiting", &m.waiting().to_string());
}
