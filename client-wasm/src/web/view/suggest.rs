//! Suggestion mode: open proposals shown in the summary's text, each the
//! words it removes struck (`<del>`) and the words it adds marked
//! (`<ins>`), its proposer named on hover and to screen readers, with
//! Accept, "Edit then accept" and Reject right there for hosts. A toggle
//! above the summary turns it on (comment highlights show when it is off).

use automerge::Automerge;
use model::diff::Part;
use model::suggest::{self, Piece};

use crate::state::Model;
use crate::web::dom::{El, button, el};

/// "Show suggestions" (pressed while on), when the summary has any.
pub fn toggle(a: &Model, doc: &Automerge) -> Option<El> {
    let any = model::contributions::contributions(doc)
        .iter()
        .any(|c| c.status == model::contributions::Status::Open && c.kind == "replace");
    (any || a.ui.suggestions).then(|| {
        el("div").class("toolbar suggestions-toggle").child(
            button("toggle-suggestions", a.t("show-suggestions")).attr(
                "aria-pressed",
                if a.ui.suggestions { "true" } else { "false" },
            ),
        )
    })
}

/// A section's text with its open proposals in it.
pub fn body(a: &Model, doc: &Automerge, section: &str, text: &str) -> El {
    let pieces = suggest::pieces(text, &suggest::open_in(doc, section));
    // Paragraphs as in the plain view: a new `<p>` at each line break of
    // the text outside suggestions.
    let mut paragraphs: Vec<El> = Vec::new();
    let mut current = el("p").user();
    for piece in pieces {
        match piece {
            Piece::Text(t) => {
                let mut lines = t.split('\n');
                if let Some(first) = lines.next() {
                    current = current.child(el("span").text(first));
                }
                for line in lines {
                    paragraphs.push(std::mem::replace(&mut current, el("p").user()));
                    current = current.child(el("span").text(line));
                }
            }
            Piece::Suggestion(s, parts) => {
                current = current.child(suggestion(a, &s, &parts));
            }
        }
    }
    paragraphs.push(current);
    el("div")
        .class("body suggesting")
        .attr("data-section", section)
        .children(paragraphs)
}

fn suggestion(a: &Model, s: &suggest::Suggestion, parts: &[Part]) -> El {
    let who = a.author_name(&s.author);
    let label = a.t("suggestion-by").replace("{name}", &who);
    let mut e = el("span")
        .class("suggestion")
        .attr("data-contribution", &s.id)
        .attr("tabindex", "0")
        .attr("role", "group")
        .attr("title", &label)
        .attr("aria-label", &label)
        .children(parts.iter().map(|p| match p {
            Part::Equal(t) => el("span").text(t),
            Part::Insert(t) => el("ins").text(t),
            Part::Delete(t) => el("del").text(t),
        }));
    if a.is_host() {
        e = e.child(
            el("span")
                .class("suggestion-tools")
                .child(
                    button("accept", a.t("accept"))
                        .attr("data-contribution", &s.id)
                        .attr("aria-label", &format!("{} ({label})", a.t("accept"))),
                )
                .child(
                    button("edit-accept", a.t("edit-accept"))
                        .attr("data-contribution", &s.id)
                        .attr("aria-label", &format!("{} ({label})", a.t("edit-accept"))),
                )
                .child(
                    button("reject", a.t("reject"))
                        .attr("data-contribution", &s.id)
                        .attr("aria-label", &format!("{} ({label})", a.t("reject"))),
                ),
        );
    }
    e
}
