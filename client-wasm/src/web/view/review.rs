//! Reviewing a submitted draft: its card says whose draft it is and how
//! many sections it changes; its review shows only those sections, each as
//! a word diff against the text now (`<ins>`/`<del>`), with the runs where
//! the hosts also changed that stretch since the draft was taken marked as
//! conflicts, and merges with one action. (It replaces the merge preview
//! that listed every section four times: at the fork, in the draft, now
//! and merged.)

use model::diff::Part;
use serde_json::Value;

use crate::state::Model;
use crate::update::review::changed_sections;
use crate::web::dom::{El, button, el};

/// The card's line for a draft: "Draft by Alice · 2 sections changed"
/// (the count once the server's review has been read).
pub fn draft_card(a: &Model, contribution: &str, author: &str) -> El {
    let mut p = el("p")
        .class("draft-facts")
        .text(&format!("{} ", a.t("draft-by")))
        .child(el("span").user().text(author));
    if let Some(n) = a.ui.draft_sections.get(contribution) {
        let count = match n {
            1 => a.t("one-section-changed").to_owned(),
            n => a.t("n-sections-changed").replace("{n}", &n.to_string()),
        };
        p = p
            .text(" · ")
            .child(el("span").class("sections-changed").text(&count));
    }
    p
}

/// One run of a section's diff; conflicting runs say so on hover and to
/// screen readers.
fn part_view(a: &Model, part: &Part, conflict: bool) -> El {
    let e = match part {
        Part::Equal(t) => return el("span").text(t),
        Part::Insert(t) => el("ins").text(t),
        Part::Delete(t) => el("del").text(t),
    };
    if conflict {
        e.class("conflict")
            .attr("title", a.t("conflict-stretch"))
            .attr("aria-description", a.t("conflict-stretch"))
    } else {
        e
    }
}

/// The review of a draft (the server's JSON of `drafts::Preview`).
pub fn draft_review(a: &Model, contribution: &str, preview: &Value) -> El {
    let sections = changed_sections(preview);
    let count = sections.len();
    let heading = match count {
        1 => a.t("one-section-changed").to_owned(),
        n => a.t("n-sections-changed").replace("{n}", &n.to_string()),
    };
    let mut out = el("div")
        .class("draft-review")
        .attr("role", "region")
        .attr("aria-label", a.t("review-draft"))
        .child(el("h4").text(&format!("{} · {heading}", a.t("review-draft"))));
    for s in sections {
        let str_of = |key: &str| s[key].as_str().unwrap_or_default().to_owned();
        let conflict = s["conflict"].as_bool().unwrap_or(false);
        let marked: Vec<usize> = s["conflictParts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
            .filter_map(|i| usize::try_from(i).ok())
            .collect();
        let parts: Vec<Part> = s["diff"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                let text = p["text"].as_str().unwrap_or_default().to_owned();
                match p["op"].as_str() {
                    Some("insert") => Part::Insert(text),
                    Some("delete") => Part::Delete(text),
                    _ => Part::Equal(text),
                }
            })
            .collect();
        let mut block = el("div")
            .class("review-section")
            .attr("data-section", &str_of("id"))
            .attr("data-conflict", if conflict { "true" } else { "false" })
            .child(el("h5").user().text(&str_of("heading")));
        if conflict {
            block = block.child(el("p").class("badge conflict").text(a.t("conflict")));
        }
        let diff = el("p").class("diff").user().children(
            parts
                .iter()
                .enumerate()
                .map(|(i, p)| part_view(a, p, marked.contains(&i))),
        );
        out = out.child(block.child(diff));
    }
    out.child(
        el("div")
            .class("toolbar")
            .child(
                button("accept", a.t("merge"))
                    .class("primary")
                    .attr("data-contribution", contribution),
            )
            .child(button("close-preview", a.t("close"))),
    )
}
