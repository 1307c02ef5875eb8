//! The History tab: published versions, every version newest first (by
//! when it was written, not when it arrived), what each changed with the
//! sections named by their headings, times relative and localised with the
//! absolute time on hover, and a past version or its comparison with now
//! under a header saying which version it is.

use automerge::Automerge;
use model::diff::Part;
use model::history::{self, Version};
use model::when;

use crate::state::{Model, Shown};
use crate::web::dom::{El, button, el};

/// The reader's UTC offset at `ms` (local minus UTC, in minutes).
fn offset_at(ms: i64) -> i32 {
    let date = js_sys::Date::new(&(ms as f64).into());
    // JavaScript's offset is UTC minus local; whole minutes.
    -(date.get_timezone_offset() as i32)
}

/// `<time>`: relative text, ISO `datetime`, the absolute time on hover.
pub fn time_el(a: &Model, ms: i64) -> El {
    if ms <= 0 {
        return el("time");
    }
    let lang = a.page.lang.when();
    let offset = offset_at(ms);
    let now = js_sys::Date::now() as i64;
    el("time")
        .attr("datetime", &when::iso(ms))
        .attr("title", &when::absolute(lang, ms, offset))
        .text(&when::relative(lang, now, ms, offset))
}

/// A short absolute time ("3 Dec 14:05") for labels.
pub fn short_time(a: &Model, ms: i64) -> String {
    when::short(
        a.page.lang.when(),
        js_sys::Date::now() as i64,
        ms,
        offset_at(ms),
    )
}

/// A section's heading as a name in running text (bidi-isolated, quoted).
fn section_name(a: &Model, heading: &str) -> El {
    let heading = if heading.trim().is_empty() {
        a.t("untitled-section")
    } else {
        heading
    };
    // Quotes as text (not `<q>`'s generated ones): copied and read aloud
    // with the name.
    el("span")
        .class("section-name")
        .text(a.t("quote-open"))
        .child(el("span").user().text(heading))
        .text(a.t("quote-close"))
}

/// What a version changed, in words.
fn what_view(a: &Model, v: &Version) -> El {
    let mut p = el("p").class("what");
    let mut first = true;
    let mut sep = |p: El| {
        let p = if first { p } else { p.text(" · ") };
        first = false;
        p
    };
    if !v.what.sections.is_empty() {
        p = sep(p);
        for (i, heading) in v.what.headings.iter().enumerate() {
            if i > 0 {
                p = p.text(", ");
            }
            p = p.child(section_name(a, heading));
        }
        p = p.text(&format!(
            " {} (+{} −{})",
            a.t("sections-changed"),
            v.what.inserted,
            v.what.deleted
        ));
    }
    for (on, key) in [
        (v.what.comments > 0, "comments-changed"),
        (v.what.contributions > 0, "contributions-changed"),
        (v.what.metadata, "meta-changed"),
        (v.what.actions, "actions-changed"),
        (v.what.named_versions, "version-published"),
    ] {
        if on {
            p = sep(p).text(a.t(key));
        }
    }
    p
}

/// "Version “Före mötet” (3 Dec 14:05)" or "Version by Alice (…)".
fn version_label(a: &Model, doc: &Automerge, versions: &[Version], heads: &str) -> String {
    if let Some(n) = history::named(doc)
        .into_iter()
        .find(|n| n.heads.join(",") == heads)
    {
        return a
            .t("version-named")
            .replace("{name}", &n.name)
            .replace("{time}", &short_time(a, n.at));
    }
    match versions.iter().find(|v| v.heads.join(",") == heads) {
        Some(v) => a
            .t("version-by")
            .replace("{author}", &a.author_name(&v.actor))
            .replace("{time}", &short_time(a, v.time * 1000)),
        None => a.t("version-other").to_owned(),
    }
}

fn diff_view(parts: &[Part]) -> El {
    super::sidebar::diff_view(parts)
}

/// A host's choice of what the public sees: the live text or only the
/// latest published version (two toggle buttons, the current one pressed).
fn public_view(a: &Model) -> El {
    let current = a.ui.public_view.as_deref();
    let choice = |view: &str, label: &str| {
        button("public-view", label).attr("data-view", view).attr(
            "aria-pressed",
            if current == Some(view) {
                "true"
            } else {
                "false"
            },
        )
    };
    el("div")
        .attr("id", "public-view")
        .attr("role", "group")
        .attr("aria-labelledby", "public-view-label")
        .class("toolbar")
        .child(
            el("p")
                .attr("id", "public-view-label")
                .text(a.t("public-sees")),
        )
        .child(choice("live", a.t("public-live")))
        .child(choice("published", a.t("public-published")))
}

pub fn view(a: &Model, doc: &Automerge) -> El {
    let mut section = el("section").attr("id", "history");
    let versions = history::in_time_order(history::versions(doc));
    if let Some(view) = &a.ui.version_view {
        let label = version_label(a, doc, &versions, &view.heads);
        let mut panel = el("div").attr("id", "version-view").class("preview");
        match &view.shown {
            Shown::At(s) => {
                panel = panel
                    .child(
                        el("h3")
                            .class("version-header")
                            .user()
                            .text(&format!("{label} · {}", a.t("read-only"))),
                    )
                    .attr("aria-label", &label);
                for sec in &s.sections {
                    panel = panel
                        .child(el("h4").user().text(&sec.heading))
                        .children(sec.body.split('\n').map(|p| el("p").user().text(p)));
                }
            }
            Shown::Compare(c) => {
                let header = format!("{label} → {}", a.t("now"));
                panel = panel
                    .attr("aria-label", &header)
                    .child(el("h3").class("version-header").user().text(&header));
                if c.sections.is_empty() {
                    panel = panel.child(el("p").class("empty").text(a.t("no-changes")));
                }
                for sec in &c.sections {
                    panel = panel
                        .child(el("h4").user().text(&sec.heading))
                        .child(diff_view(&sec.body_diff));
                }
            }
        }
        section = section.child(
            panel
                .attr("role", "region")
                .child(button("close-version", a.t("close"))),
        );
    }
    if a.is_host() {
        // A visible label tied to its field (not only an aria-label).
        let field = super::input(
            "version-name",
            a.t("version-name"),
            &a.input("version-name"),
        )
        .attr("id", "version-name");
        section = section.child(
            el("div")
                .class("toolbar publish-form")
                .child(
                    el("label")
                        .attr("for", "version-name")
                        .text(a.t("version-name")),
                )
                .child(field)
                .child(button("publish", a.t("publish"))),
        );
        section = section.child(public_view(a));
    }
    let mut named = history::named(doc);
    named.reverse();
    if !named.is_empty() {
        section = section.child(el("h3").text(a.t("named"))).child(
            el("ul").attr("id", "named").children(named.iter().map(|n| {
                el("li")
                    .child(el("span").class("name").user().text(&n.name))
                    .text(" · ")
                    .child(time_el(a, n.at))
                    .child(
                        el("span")
                            .class("toolbar")
                            .child(
                                button("view-version", a.t("view"))
                                    .attr("data-heads", &n.heads.join(",")),
                            )
                            .child(
                                button("compare-version", a.t("compare"))
                                    .attr("data-heads", &n.heads.join(",")),
                            ),
                    )
            })),
        );
    }
    section = section.child(el("h3").text(a.t("versions")));
    let list = el("ol")
        .attr("id", "versions")
        .attr("reversed", "")
        .children(versions.iter().rev().take(100).map(|v| {
            let heads = v.heads.join(",");
            el("li")
                .class("version")
                .attr("data-time", &v.time.to_string())
                .child(
                    el("p")
                        .class("byline")
                        .child(
                            el("span")
                                .class("author")
                                .user()
                                .text(&a.author_name(&v.actor)),
                        )
                        .text(" ")
                        .child(time_el(a, v.time * 1000)),
                )
                .child(what_view(a, v))
                .child(
                    el("div")
                        .class("toolbar")
                        .child(button("view-version", a.t("view")).attr("data-heads", &heads))
                        .child(
                            button("compare-version", a.t("compare")).attr("data-heads", &heads),
                        ),
                )
        }));
    section.child(list)
}
