//! The sidebar region: who is reading, the selection's tools, the
//! composer, and the tabs (comments, proposals, history, and for hosts the
//! Share panel).

use automerge::Automerge;
use model::contributions::{self, Status};
use model::diff::Part;
use model::threads::{self, Anchor, ThreadView};

use super::{date_text, input, labelled, textarea};
use crate::state::{Composer, Filter, Model, Tab};
use crate::update::EXPIRY_CHOICES;
use crate::web::dom::{El, button, by_id, el};
use crate::web::focus;

pub fn draw(a: &Model) {
    let Some(aside) = by_id("sidebar") else {
        return;
    };
    if !a.page.doc.is_some_and(|d| a.session.has_content(d)) {
        return;
    }
    let f = focus::save();
    let mut children = Vec::new();
    if let Some(text) = a.ui.notice.clone().or_else(|| a.ui.refused.clone()) {
        children.push(
            el("div")
                .attr("id", "notice")
                .attr("role", "alert")
                .child(el("p").text(&text))
                .child(button("dismiss", a.t("close"))),
        );
    }
    children.extend(readers(a));
    // Composers open where they were asked for: a reply in its thread's
    // card, a review's reason on its proposal, a new comment beside its
    // passage (`threads_view`); the rest atop the proposals.
    if let Some(c @ (Composer::Replace(_) | Composer::Paragraph { .. } | Composer::Action)) =
        &a.ui.composer
    {
        children.push(composer(a, c));
    }
    let tab = a.ui.tab.unwrap_or(Tab::Comments);
    let mut tabs = vec![
        (Tab::Comments, "comments", a.t("comments")),
        (Tab::Proposals, "proposals", a.t("proposals")),
        (Tab::History, "history", a.t("history")),
    ];
    if a.is_host() {
        tabs.push((Tab::Share, "share", a.t("share")));
    }
    let margin = tab == Tab::Comments && a.ui.filter.unwrap_or(Filter::Open) == Filter::Open;
    // The stylesheet lets the margin's cards line up with the text only
    // while the open comments are shown.
    let _ = aside.set_attribute("data-mode", if margin { "margin" } else { "panel" });
    children.push(
        el("div")
            .class("tabs")
            .attr("role", "tablist")
            .children(tabs.into_iter().map(|(t, name, label)| {
                button("tab", label)
                    .attr("data-tab", name)
                    .attr("role", "tab")
                    .attr("aria-selected", if t == tab { "true" } else { "false" })
            })),
    );
    let Some(doc) = a.summary_doc() else { return };
    children.push(match tab {
        Tab::Comments => threads_view(a, doc),
        Tab::Proposals => proposals_view(a, doc),
        Tab::History => super::history::view(a, doc),
        Tab::Share => share_view(a),
    });
    super::keep::replace_changed(&aside, children);
    focus::restore(f);
}

/// Who is reading; nothing at all when nobody is listed (a public
/// reader is not).
fn readers(a: &Model) -> Option<El> {
    if !a.can_take_part() && a.ui.readers.is_empty() {
        return None;
    }
    let mut list = el("ul").attr("id", "readers");
    if a.can_take_part() {
        list = list.child(
            el("li")
                .class("reader")
                .child(el("span").class("dot").style(
                    "background",
                    model::presence::color_for(a.session.peer_id().as_str()),
                ))
                // One flex item: the name and "(you)" on one line.
                .child(
                    el("span")
                        .user_text(&a.page.user_name)
                        .text(&format!(" ({})", a.t("you"))),
                ),
        );
    }
    let mut others: Vec<_> = a.ui.readers.values().collect();
    model::sort::by(&mut others, |x, y| x.0.name.cmp(&y.0.name));
    for (p, _) in others {
        list = list.child(
            el("li")
                .class("reader")
                .attr("data-name", &p.name)
                .child(el("span").class("dot").style("background", &p.color))
                .user_text(&p.name),
        );
    }
    Some(
        el("section")
            .attr("id", "presence")
            .attr("aria-label", a.t("readers"))
            .child(el("h2").text(a.t("readers")))
            .child(list),
    )
}

fn composer(a: &Model, c: &Composer) -> El {
    let text = a.input("composer-text");
    let mut form = el("div").attr("id", "composer").attr("role", "form");
    // Every field with its label in sight (not only for screen readers).
    let area = |key: &str, label: &str, value: &str| labelled(label, textarea(key, label, value));
    let line = |key: &str, label: &str, value: &str| labelled(label, input(key, label, value));
    form = match c {
        Composer::Comment(sel) => form
            .child(el("blockquote").user().text(&sel.quote))
            .child(area("composer-text", a.t("your-comment"), &text)),
        Composer::Replace(sel) => form
            .child(el("blockquote").user().text(&sel.quote))
            .child(area("composer-text", a.t("new-text"), &text))
            .child(line(
                "composer-reason",
                a.t("reason"),
                &a.input("composer-reason"),
            )),
        Composer::Paragraph { .. } => form
            .child(area("composer-text", a.t("paragraph"), &text))
            .child(line(
                "composer-reason",
                a.t("reason"),
                &a.input("composer-reason"),
            )),
        Composer::Action => form
            .child(line("composer-text", a.t("action-text"), &text))
            .child(line(
                "composer-owner",
                a.t("owner"),
                &a.input("composer-owner"),
            ))
            .child(line("composer-due", a.t("due"), &a.input("composer-due")))
            .child(line(
                "composer-reason",
                a.t("reason"),
                &a.input("composer-reason"),
            )),
        Composer::Reply { .. } => form.child(area("composer-text", a.t("reply"), &text)),
        Composer::EditComment { .. } => form.child(area("composer-text", a.t("edit"), &text)),
        Composer::EditAccept { .. } => form.child(area("composer-text", a.t("edit-accept"), &text)),
        Composer::Reject { .. } => form.child(area("composer-text", a.t("reject-reply"), &text)),
    };
    form.child(
        el("div")
            .class("toolbar")
            .child(button("submit", a.t("send")).class("primary"))
            .child(button("cancel", a.t("cancel"))),
    )
}

fn threads_view(a: &Model, doc: &Automerge) -> El {
    let filter = a.ui.filter.unwrap_or(Filter::Open);
    let all = threads::threads(doc);
    let count = |f: Filter| all.iter().filter(|t| matches_filter(t, f)).count();
    let filters = el("div").class("filters").attr("role", "group").children(
        [
            (Filter::Open, "open", a.t("open")),
            (Filter::Resolved, "resolved", a.t("resolved")),
            (Filter::Orphaned, "orphaned", a.t("orphaned")),
        ]
        .into_iter()
        .map(|(f, name, label)| {
            button("filter", &format!("{label} ({})", count(f)))
                .attr("data-filter", name)
                .attr("aria-pressed", if f == filter { "true" } else { "false" })
        }),
    );
    let mut shown: Vec<&ThreadView> = all.iter().filter(|t| matches_filter(t, filter)).collect();
    // By start time; `all` is in id order, which breaks ties (the sort is
    // stable).
    model::sort::by_key(&mut shown, |t| {
        t.comments.first().map_or(0, |c| c.created_at)
    });
    let mut list = el("div").attr("id", "threads");
    if filter == Filter::Open {
        list = list.attr("data-layout", "margin");
    }
    if let Some(Composer::Comment(sel)) = &a.ui.composer {
        // The new thread's card, beside the words it is about.
        list = list.child(
            composer(a, a.ui.composer.as_ref().expect("a comment composer"))
                .class("card")
                .attr("data-section", &sel.section)
                .attr("data-start", &sel.start.to_string()),
        );
    }
    if shown.is_empty() && !matches!(a.ui.composer, Some(Composer::Comment(_))) {
        list = list.child(el("p").class("empty").text(a.t(if a.can_take_part() {
            "no-threads-hint"
        } else {
            "no-threads"
        })));
    }
    for t in shown {
        list = list.child(thread_view(a, t));
    }
    let mut out = el("section").child(filters).child(list);
    let detached: Vec<&ThreadView> = all
        .iter()
        .filter(|t| filter == Filter::Open && matches_filter(t, Filter::Orphaned))
        .collect();
    if !detached.is_empty() {
        // Comments whose words are gone stay in sight, with their quote.
        out = out.child(
            el("section")
                .attr("id", "detached")
                .attr("aria-labelledby", "detached-heading")
                .child(
                    el("h3")
                        .attr("id", "detached-heading")
                        .text(a.t("detached")),
                )
                .children(detached.into_iter().map(|t| thread_view(a, t))),
        );
    }
    out
}

fn matches_filter(t: &ThreadView, f: Filter) -> bool {
    let orphaned = t.anchor == Anchor::Orphaned;
    match f {
        Filter::Open => !t.resolved && !orphaned,
        Filter::Resolved => t.resolved,
        Filter::Orphaned => orphaned && !t.resolved,
    }
}

fn thread_view(a: &Model, t: &ThreadView) -> El {
    let state = match t.anchor {
        Anchor::Anchored { .. } => "anchored",
        Anchor::Moved { .. } => "moved",
        Anchor::Orphaned => "orphaned",
    };
    let focused = a.ui.focused_thread.as_deref() == Some(t.id.as_str());
    // A click on the card (not on its controls) looks at the thread.
    let mut article = el("article")
        .class("thread")
        .attr("data-thread", &t.id)
        .attr("data-action", "focus-thread")
        .attr("tabindex", "-1")
        .attr("data-state", state)
        .attr("data-resolved", if t.resolved { "true" } else { "false" });
    if focused {
        // On phones the focused card is a bottom sheet: it can be closed.
        article = article.class("focused").child(
            el("button")
                .attr("type", "button")
                .attr("data-action", "close-thread")
                .class("quiet icon sheet-close")
                .child(el("span").attr("aria-hidden", "true").text("×"))
                .child(el("span").class("visually-hidden").text(a.t("close"))),
        );
    }
    article = article.child(el("blockquote").class("quote").user().text(&t.quote));
    if t.resolved {
        article = article.class("resolved");
    }
    if state == "orphaned" {
        article = article
            .class("orphaned")
            .child(el("p").class("badge").text(a.t("orphaned-note")));
    } else if state == "moved" {
        article = article.child(el("p").class("badge").text(a.t("moved-note")));
    }
    for c in &t.comments {
        let likes = c.reactions.iter().filter(|(e, _)| e == "👍").count();
        let mut comment = el("div")
            .class("comment")
            .attr("data-comment", &c.id)
            .child(
                el("p")
                    .class("byline")
                    .child(
                        el("span")
                            .class("author")
                            .user()
                            .text(&a.author_name(&c.author)),
                    )
                    .child(super::history::time_el(a, c.created_at).class("time"))
                    .text(if c.edited && !c.deleted {
                        a.t("edited")
                    } else {
                        ""
                    }),
            );
        comment = if c.deleted {
            comment.child(el("p").class("body deleted").text(a.t("deleted")))
        } else {
            comment.child(el("p").class("body").user().text(&c.body))
        };
        if a.can_take_part() && !c.deleted {
            let mut tools = el("div").class("toolbar").child(
                button("react", &format!("👍 {likes}"))
                    .attr("data-thread", &t.id)
                    .attr("data-comment", &c.id)
                    // The visible count is part of the name (WCAG 2.5.3).
                    .attr("aria-label", &format!("{} {likes}", a.t("react"))),
            );
            if a.is_mine(&c.author) {
                tools = tools
                    .child(
                        button("edit-comment", a.t("edit"))
                            .attr("data-thread", &t.id)
                            .attr("data-comment", &c.id),
                    )
                    .child(
                        button("delete-comment", a.t("delete"))
                            .attr("data-thread", &t.id)
                            .attr("data-comment", &c.id),
                    );
            }
            comment = comment.child(tools);
        }
        article = article.child(comment);
    }
    if a.can_take_part() {
        let mut tools = el("div")
            .class("toolbar")
            .child(button("reply", a.t("reply")).attr("data-thread", &t.id));
        if a.is_host() || a.is_mine(&t.author) {
            tools = if t.resolved {
                tools.child(button("reopen", a.t("reopen")).attr("data-thread", &t.id))
            } else {
                tools.child(button("resolve", a.t("resolve")).attr("data-thread", &t.id))
            };
        }
        article = article.child(tools);
    }
    match &a.ui.composer {
        Some(c @ (Composer::Reply { thread } | Composer::EditComment { thread, .. }))
            if *thread == t.id =>
        {
            article.child(composer(a, c))
        }
        _ => article,
    }
}

pub(super) fn diff_view(parts: &[Part]) -> El {
    el("p")
        .class("diff")
        .user()
        .children(parts.iter().map(|p| match p {
            Part::Equal(t) => el("span").text(t),
            Part::Insert(t) => el("ins").text(t),
            Part::Delete(t) => el("del").text(t),
        }))
}

fn proposals_view(a: &Model, doc: &Automerge) -> El {
    let mut section = el("section").attr("id", "contributions");
    if a.can_take_part() && a.ui.draft.is_none() {
        let mut tools = el("div")
            .class("toolbar")
            .child(button("start-draft", a.t("start-draft")));
        for d in &a.ui.my_drafts {
            tools = tools.child(button("open-draft", a.t("open-draft")).attr("data-draft", d));
        }
        section = section.child(tools);
    }
    let all = contributions::contributions(doc);
    if all.is_empty() {
        section = section.child(el("p").class("empty").text(a.t("no-proposals")));
    }
    for c in all.iter().rev() {
        let status = match c.status {
            Status::Open => "open",
            Status::Accepted => "accepted",
            Status::Rejected => "rejected",
            Status::Withdrawn => "withdrawn",
        };
        let label = match c.status {
            Status::Open => a.t("pending"),
            Status::Accepted => a.t("accepted"),
            Status::Rejected => a.t("rejected"),
            Status::Withdrawn => a.t("withdrawn"),
        };
        let mut article = el("article")
            .class("contribution")
            .attr("data-contribution", &c.id)
            .attr("data-status", status)
            .child(
                el("p")
                    .class("byline")
                    .child(el("span").class("badge").text(label))
                    .text(" ")
                    .child(
                        el("span")
                            .class("author")
                            .user()
                            .text(&a.author_name(&c.author)),
                    ),
            );
        if !c.reason.is_empty() {
            article = article.child(el("p").class("reason").user().text(&c.reason));
        }
        article = match c.kind.as_str() {
            "draft" => article.child(super::review::draft_card(
                a,
                &c.id,
                &a.author_name(&c.author),
            )),
            _ => article.child(diff_view(&c.diff)),
        };
        if let Some(conflict) = &c.conflict {
            article = article.child(el("p").class("badge conflict").text(conflict));
        }
        if let Some(r) = &c.review {
            let reviewer =
                a.ui.authors
                    .values()
                    .find(|(id, _)| *id == r.by)
                    .map(|(_, n)| n.clone())
                    .unwrap_or_default();
            let mut line = el("p")
                .class("review")
                .text(&format!("{label} {} ", a.t("by")))
                .user_text(&reviewer);
            if !r.reply.is_empty() {
                line = line.text(": ").user_text(&r.reply);
            }
            article = article.child(line);
            if c.status == Status::Accepted && !r.applied.is_empty() && r.applied != c.text {
                // The host edited it before accepting: what went in.
                article = article.child(
                    el("p")
                        .class("applied")
                        .child(el("span").class("label").text(a.t("applied-as")))
                        .text(" ")
                        .child(el("ins").user().text(&r.applied)),
                );
            }
        }
        if c.status == Status::Open {
            let mut tools = el("div").class("toolbar");
            if a.is_host() {
                if c.kind == "draft" {
                    tools = tools
                        .child(button("preview", a.t("preview")).attr("data-contribution", &c.id));
                }
                tools = tools.child(
                    button(
                        "accept",
                        if c.kind == "draft" {
                            a.t("merge")
                        } else {
                            a.t("accept")
                        },
                    )
                    .class("primary")
                    .attr("data-contribution", &c.id),
                );
                if c.kind != "draft" {
                    tools = tools.child(
                        button("edit-accept", a.t("edit-accept")).attr("data-contribution", &c.id),
                    );
                }
                tools =
                    tools.child(button("reject", a.t("reject")).attr("data-contribution", &c.id));
            } else if a.is_mine(&c.author) {
                tools = tools
                    .child(button("withdraw", a.t("withdraw")).attr("data-contribution", &c.id));
            }
            article = article.child(tools);
        }
        if let Some(
            composing @ (Composer::Reject { contribution } | Composer::EditAccept { contribution }),
        ) = &a.ui.composer
            && *contribution == c.id
        {
            article = article.child(composer(a, composing));
        }
        if let Some((id, preview)) = &a.ui.preview
            && *id == c.id
        {
            article = article.child(super::review::draft_review(a, &c.id, preview));
        }
        section = section.child(article);
    }
    section
}

/// The Share panel: make an invite (role, lifetime, use limit), copy its
/// link, and the workshop's invites with their uses, expiry and state,
/// each revocable while it is valid.
fn share_view(a: &Model) -> El {
    let role = a.input("invite-role");
    let role_select = el("select")
        .attr("data-key", "invite-role")
        .attr("id", "invite-role")
        .child(
            el("option")
                .attr("value", "participant")
                .text(a.t("participant")),
        )
        .child(
            el("option")
                .attr("value", "host")
                .flag("selected", role == "host")
                .text(a.t("host")),
        );
    let expiry = a.input("invite-expiry");
    let expiry = if expiry.is_empty() {
        "7d".to_owned()
    } else {
        expiry
    };
    let expiry_select =
        el("select")
            .attr("data-key", "invite-expiry")
            .children(EXPIRY_CHOICES.iter().map(|(key, _)| {
                el("option")
                    .attr("value", key)
                    .flag("selected", *key == expiry)
                    .text(a.t(match *key {
                        "1d" => "expires-1d",
                        "7d" => "expires-7d",
                        "30d" => "expires-30d",
                        _ => "expires-never",
                    }))
            }));
    let uses = input("invite-uses", a.t("invite-uses"), &a.input("invite-uses"))
        .attr("inputmode", "numeric")
        .attr("placeholder", a.t("unlimited"));
    let form = el("div")
        .attr("id", "invite-form")
        .attr("role", "group")
        .attr("aria-label", a.t("new-invite"))
        .child(el("h3").text(a.t("new-invite")))
        .child(labelled(a.t("role"), role_select))
        .child(labelled(a.t("invite-expiry"), expiry_select))
        .child(labelled(a.t("invite-uses"), uses))
        .child(button("invite", a.t("invite")).class("primary"));
    let mut section = el("section").attr("id", "share").child(form);
    if let Some(invite) = &a.ui.new_invite
        && let Some(url) = &invite.url
    {
        let copied = a.ui.copied.as_deref() == Some(url.as_str());
        let field = input("invite-url", a.t("invite-link"), url)
            .attr("readonly", "")
            .attr("id", "invite-url");
        section = section.child(
            el("div")
                .attr("id", "new-invite")
                .attr("data-invite", &invite.id)
                .child(labelled(a.t("invite-link"), field))
                .child(
                    button(
                        "copy-link",
                        if copied { a.t("copied") } else { a.t("copy") },
                    )
                    .attr("data-url", url),
                )
                .child(
                    el("p")
                        .attr("role", "status")
                        .class("hint")
                        .text(if copied { a.t("copied-note") } else { "" }),
                ),
        );
    }
    section = section.child(el("h3").text(a.t("invites")));
    let Some(invites) = &a.ui.invites else {
        return section.child(el("p").class("empty").text(a.t("loading")));
    };
    if invites.is_empty() {
        return section.child(el("p").class("empty").text(a.t("no-invites")));
    }
    let items = invites.iter().map(|i| {
        let uses = match i.max_uses {
            Some(max) => format!("{} {} / {max}", a.t("uses"), i.uses),
            None => format!("{} {}", a.t("uses"), i.uses),
        };
        let expires = match i.expires_at {
            Some(ms) => format!("{} {}", a.t("expires"), date_text(ms, a)),
            None => a.t("expires-never").to_owned(),
        };
        let state = match i.state.as_str() {
            "valid" => a.t("invite-valid"),
            "expired" => a.t("invite-expired"),
            "used-up" => a.t("invite-used-up"),
            "revoked" => a.t("invite-revoked"),
            other => other,
        };
        let role = if i.role == "host" {
            a.t("host")
        } else {
            a.t("participant")
        };
        let mut item = el("li")
            .class("invite")
            .attr("data-invite", &i.id)
            .attr("data-state", &i.state)
            .child(
                el("p")
                    .child(el("strong").class("role").text(role))
                    .text(" ")
                    .child(el("span").class("badge").text(state)),
            )
            .child(
                el("p")
                    .class("facts")
                    .child(el("span").class("uses").text(&uses))
                    .text(" · ")
                    .child(el("span").class("expires").text(&expires)),
            );
        if i.state == "valid" {
            item = item.child(
                button("revoke-invite", a.t("revoke"))
                    .attr("data-invite", &i.id)
                    .attr(
                        "aria-label",
                        &format!("{} ({role}, {expires})", a.t("revoke")),
                    ),
            );
        }
        item
    });
    section.child(el("ul").attr("id", "invites").children(items))
}
