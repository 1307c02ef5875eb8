//! Reviewing drafts: which sections a draft changed (from the server's
//! review, `drafts::Preview`), and their count on each open draft's card,
//! read when a host opens the Proposals tab.

use model::contributions::{self, Status};
use serde_json::Value;

use super::{Fx, fetch};
use crate::effect::Region;
use crate::msg::Reply;
use crate::state::Model;

/// The sections a draft changed (those only the hosts changed since the
/// draft was taken are not the draft's to review).
pub fn changed_sections(preview: &Value) -> Vec<&Value> {
    preview["sections"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["changedInDraft"].as_bool().unwrap_or(false))
        .collect()
}

/// Asks for the review of every open draft, for the counts on their
/// cards (hosts only: only they may read it).
pub(super) fn load_counts(m: &mut Model, fx: &mut Fx) {
    let Some(doc) = m.page.doc.filter(|_| m.is_host()) else {
        return;
    };
    let Some(summary) = m.session.doc(doc) else {
        return;
    };
    for c in contributions::contributions(summary) {
        if c.kind == "draft" && c.status == Status::Open {
            fx.push(fetch(
                "GET",
                format!("/api/workshops/{doc}/contributions/{}/preview", c.id),
                None,
                Reply::DraftCount { contribution: c.id },
            ));
        }
    }
}

/// A review read for its count (errors are left to the review itself).
pub(super) fn counted(m: &mut Model, fx: &mut Fx, contribution: String, status: u16, body: &Value) {
    if status == 200 {
        m.ui.draft_sections
            .insert(contribution, changed_sections(body).len());
        fx.render(Region::Sidebar);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_sections_the_draft_changed_are_reviewed() {
        let preview = json!({ "sections": [
            { "id": "issue", "changedInDraft": true, "changedByHosts": true },
            { "id": "outcomes", "changedInDraft": false, "changedByHosts": true },
            { "id": "next", "changedInDraft": true, "changedByHosts": false },
        ]});
        let ids: Vec<&str> = changed_sections(&preview)
            .iter()
            .filter_map(|s| s["id"].as_str())
            .collect();
        assert_eq!(ids, ["issue", "next"]);
        assert!(changed_sections(&json!({})).is_empty(), "bad input: none");
    }
}
