//! Drawing the page from the documents and the interface state.
//!
//! Rendering rebuilds the summary and the sidebar from scratch (documents
//! are small); what the user is in the middle of survives it: typed text
//! lives in `Ui::inputs`, the focused field or control gets the focus back
//! (see `focus`), and the section editor keeps its caret on the same characters
//! through remote changes (automerge cursors).

use std::cell::RefCell;
use std::rc::Rc;

use automerge::{Automerge, ReadDoc};
use model::contributions::{self, Status};
use model::diff::Part;
use model::history;
use model::summary::Summary;
use model::threads::{self, Anchor, ThreadView};
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlInputElement, HtmlTextAreaElement};

use crate::app::{App, Composer, Conn, Filter, Sel, Tab};
use crate::dom::{El, button, by_id, data, document, el, replace_children, window};
use crate::{api, focus};

pub fn all(app: &Rc<RefCell<App>>) {
    status(&app.borrow());
    summary(app);
    sidebar(app);
}

/// The connection and sync state, always visible.
pub fn status(a: &App) {
    let Some(s) = by_id("status") else { return };
    let (state, text) = if a.ui.unavailable {
        ("unavailable", a.t("unavailable"))
    } else {
        match a.conn {
            Conn::Connecting => ("connecting", a.t("connecting")),
            Conn::Offline => ("offline", a.t("offline")),
            Conn::Online => match a.shown() {
                Some(id) if !a.session.is_synced(id) => ("syncing", a.t("syncing")),
                _ => ("online", a.t("online")),
            },
        }
    };
    let synced = a.shown().is_some_and(|id| a.session.is_synced(id));
    s.set_text_content(Some(text));
    let _ = s.set_attribute("data-state", state);
    let _ = s.set_attribute("data-synced", if synced { "true" } else { "false" });
}

pub fn value_of(el: &Element) -> String {
    if let Some(t) = el.dyn_ref::<HtmlTextAreaElement>() {
        t.value()
    } else if let Some(i) = el.dyn_ref::<HtmlInputElement>() {
        i.value()
    } else if let Some(s) = el.dyn_ref::<web_sys::HtmlSelectElement>() {
        s.value()
    } else {
        String::new()
    }
}

fn textarea(key: &str, label: &str, value: &str) -> El {
    let t = el("textarea")
        .attr("data-key", key)
        .attr("aria-label", label)
        .attr("rows", "3");
    if let Some(area) = t.0.dyn_ref::<HtmlTextAreaElement>() {
        area.set_value(value);
    }
    t
}

fn input(key: &str, label: &str, value: &str) -> El {
    let i = el("input")
        .attr("type", "text")
        .attr("data-key", key)
        .attr("aria-label", label);
    if let Some(field) = i.0.dyn_ref::<HtmlInputElement>() {
        field.set_value(value);
    }
    i
}

/// A field inside its visible label.
fn labelled(label: &str, field: El) -> El {
    el("label")
        .class("field")
        .child(el("span").text(label))
        .child(field)
}

fn time_text(ms: i64, a: &App) -> String {
    if ms <= 0 {
        return String::new();
    }
    let date = js_sys::Date::new(&(ms as f64).into());
    date.to_locale_string(a.page.lang.code(), &wasm_bindgen::JsValue::UNDEFINED)
        .as_string()
        .unwrap_or_default()
}

// ---------------------------------------------------------------- summary

/// The summary (or the open draft), with comment anchors and others'
/// selections marked.
pub fn summary(app: &Rc<RefCell<App>>) {
    let a = app.borrow();
    let Some(main) = by_id("summary") else { return };
    let Some(doc) = a.shown_doc() else { return };
    if !a.session.has_content(a.shown().expect("shown")) {
        return;
    }
    let Ok(s) = Summary::read(doc) else { return };
    let f = focus::save();
    // The reader's own selection in the text, to put back after the redraw
    // (another reader's presence redraws it every few seconds).
    let selected = selection_in_summary().map(|sel| {
        let text = section_body_el(&sel.section).and_then(|b| b.text_content());
        (sel, text)
    });
    let threads = if a.ui.draft.is_some() {
        Vec::new()
    } else {
        threads::threads(doc)
    };
    let mut children = Vec::new();
    if a.ui.draft.is_some() {
        children.push(
            el("div")
                .class("banner")
                .attr("role", "note")
                .child(el("p").text(a.t("draft-banner")))
                .child(input(
                    "draft-reason",
                    a.t("reason"),
                    &a.input_value("draft-reason"),
                ))
                .child(button("submit-draft", a.t("submit-draft")))
                .child(button("close-draft", a.t("back"))),
        );
    }
    children.push(el("h1").attr("id", "title").user().text(&s.workshop.title));
    children.push(meta(&s, &a));
    for section in &s.sections {
        children.push(section_view(&a, doc, section, &threads));
    }
    children.push(actions_view(&a, &s));
    replace_children(&main, children);
    if let Some((sel, text)) = selected {
        reselect(&sel, text);
    }
    if let Some(body) = document().body() {
        let _ = body.set_attribute("data-summary", "live");
    }
    drop(a);
    focus::restore(f);
}

impl App {
    pub fn input_value(&self, key: &str) -> String {
        self.ui.inputs.get(key).cloned().unwrap_or_default()
    }
}

/// The workshop's metadata as the server draws it (`pages.rs`): one
/// `div[data-field]` of a `dt` and a `dd` per value for each non-empty
/// field, labels and the meeting type in the reader's language.
fn meta(s: &Summary, a: &App) -> El {
    let w = &s.workshop;
    let meeting = match w.meeting_type {
        model::summary::MeetingType::Open => a.t("meeting-open"),
        model::summary::MeetingType::InviteOnly => a.t("meeting-invite-only"),
    };
    let one = std::slice::from_ref;
    let rows: [(&str, &str, &[String]); 8] = [
        ("when", "when", one(&w.when)),
        ("hosts", "hosts", &w.hosts),
        ("stakeholders", "stakeholders", &w.stakeholders),
        ("ambassadors", "ambassadors", &w.ambassadors),
        ("meetingType", "meeting-type", &[]),
        ("format", "format", one(&w.format)),
        ("language", "language", one(&w.language)),
        ("registration", "registration", one(&w.registration)),
    ];
    el("dl")
        .class("meta")
        .children(rows.into_iter().filter_map(|(field, label, values)| {
            let row = el("div")
                .attr("data-field", field)
                .child(el("dt").text(a.t(label)));
            if field == "meetingType" {
                return Some(
                    row.child(
                        el("dd")
                            .attr("data-meeting-type", w.meeting_type.as_str())
                            .text(meeting),
                    ),
                );
            }
            let values: Vec<&String> = values.iter().filter(|v| !v.trim().is_empty()).collect();
            (!values.is_empty())
                .then(|| row.children(values.into_iter().map(|v| el("dd").user().text(v))))
        }))
}

fn section_view(
    a: &App,
    doc: &Automerge,
    section: &model::summary::Section,
    all: &[ThreadView],
) -> El {
    let id = section.id.as_str();
    let mut head = el("div").class("section-head").child(
        el("h2")
            .class("heading")
            .attr("id", &format!("h-{id}"))
            .user()
            .text(&section.heading),
    );
    let editing = a.ui.editing.as_deref() == Some(id);
    let mut tools = el("div").class("toolbar");
    if a.can_edit_text() {
        tools = if editing {
            tools.child(button("done-editing", a.t("done")).attr("data-section", id))
        } else {
            tools.child(button("edit-section", a.t("edit-section")).attr("data-section", id))
        };
    }
    if a.can_take_part() && a.ui.draft.is_none() {
        tools = tools
            .child(button("comment-section", a.t("comment-section")).attr("data-section", id))
            .child(button("propose-section", a.t("propose-section")).attr("data-section", id))
            .child(button("propose-paragraph", a.t("add-paragraph")).attr("data-section", id));
    }
    head = head.child(tools);
    let body = if editing {
        textarea("section-editor", a.t("edit-section"), &section.body)
            .class("editor")
            .attr("data-section", id)
            .attr("rows", "8")
    } else {
        body_view(a, doc, id, &section.body, all)
    };
    el("section")
        .class("section")
        .attr("data-section", id)
        .attr("aria-labelledby", &format!("h-{id}"))
        .child(head)
        .child(body)
}

/// A section's text as paragraphs, with comment anchors as `<mark>` and
/// other readers' selections underlined in their colour (on the characters
/// they selected, wherever edits have moved them since).
fn body_view(a: &App, doc: &Automerge, section: &str, text: &str, all: &[ThreadView]) -> El {
    let mut ranges = Vec::new();
    let mut owners: Vec<Mark> = Vec::new();
    for t in all.iter().filter(|t| t.section == section && !t.resolved) {
        if let Anchor::Anchored { start, end } | Anchor::Moved { start, end } = t.anchor {
            ranges.push((start, end));
            owners.push(Mark::Thread(t.id.clone()));
        }
    }
    let body = threads::section_body(doc, section);
    for (p, _) in a.ui.readers.values() {
        if p.section.as_deref() == Some(section)
            && let Some(body) = &body
            && let Some(range) = p.range_in(doc, body)
        {
            ranges.push(range);
            owners.push(Mark::Reader(p.name.clone(), p.color.clone()));
        }
    }
    let paragraphs = model::view::paragraphs(text, &ranges);
    el("div")
        .class("body")
        .attr("data-section", section)
        .children(paragraphs.into_iter().map(|runs| {
            el("p").user().children(runs.into_iter().map(|run| {
                let threads: Vec<&str> = run
                    .marks
                    .iter()
                    .filter_map(|&i| match &owners[i] {
                        Mark::Thread(id) => Some(id.as_str()),
                        Mark::Reader(..) => None,
                    })
                    .collect();
                let reader = run.marks.iter().find_map(|&i| match &owners[i] {
                    Mark::Reader(name, color) => Some((name, color)),
                    Mark::Thread(_) => None,
                });
                let mut node = if threads.is_empty() {
                    el("span")
                } else {
                    el("mark")
                        .class("anchor")
                        .attr("data-threads", &threads.join(" "))
                };
                if let Some((name, color)) = reader {
                    node = node
                        .class("remote-sel")
                        .attr("title", name)
                        .style("border-bottom-color", color);
                }
                node.text(&run.text)
            }))
        }))
}

enum Mark {
    Thread(String),
    Reader(String, String),
}

fn actions_view(a: &App, s: &Summary) -> El {
    let mut section = el("section")
        .attr("id", "actions")
        .child(el("h2").text(a.t("actions")));
    if !s.actions.is_empty() {
        let head = el("tr").children(
            [a.t("action-text"), a.t("owner"), a.t("due"), a.t("status")]
                .into_iter()
                .map(|h| el("th").attr("scope", "col").text(h)),
        );
        let rows = s.actions.iter().map(|x| {
            // Known statuses in the reader's language; others as written.
            let status = match x.status.as_str() {
                "open" => a.t("status-open"),
                "in-progress" => a.t("status-in-progress"),
                "done" => a.t("status-done"),
                other => other,
            };
            el("tr")
                .children(
                    [&x.text, &x.owner, &x.due]
                        .into_iter()
                        .map(|v| el("td").user().text(v)),
                )
                .child(
                    el("td").child(
                        el("span")
                            .class("badge")
                            .attr("data-status", &x.status)
                            .user()
                            .text(status),
                    ),
                )
        });
        section = section.child(
            el("table")
                .child(el("thead").child(head))
                .child(el("tbody").children(rows)),
        );
    }
    if a.can_take_part() && a.ui.draft.is_none() {
        section = section.child(button("propose-action", a.t("add-action")));
    }
    section
}

/// The section editor's selection as automerge cursors, before remote
/// changes move the text under it.
pub fn editor_cursors(a: &App) -> Option<(String, String, String)> {
    let section = a.ui.editing.clone()?;
    let editor = document()
        .query_selector("textarea[data-key=\"section-editor\"]")
        .ok()
        .flatten()?;
    let t = editor.dyn_ref::<HtmlTextAreaElement>()?;
    if document().active_element().as_ref() != Some(&editor) {
        return None;
    }
    let doc = a.shown_doc()?;
    let body = threads::section_body(doc, &section)?;
    let len = doc.length(&body);
    let cursor = |pos: u32| -> String {
        let pos = pos as usize;
        if pos >= len {
            return "end".into();
        }
        doc.get_cursor(&body, pos, None)
            .map(|c| c.to_string())
            .unwrap_or_default()
    };
    Some((
        section,
        cursor(t.selection_start().ok().flatten().unwrap_or(0)),
        cursor(t.selection_end().ok().flatten().unwrap_or(0)),
    ))
}

/// Puts the section editor's selection back on the same characters.
pub fn restore_editor(a: &App, saved: Option<(String, String, String)>) {
    let Some((section, start, end)) = saved else {
        return;
    };
    let Some(doc) = a.shown_doc() else { return };
    let Some(body) = threads::section_body(doc, &section) else {
        return;
    };
    let len = doc.length(&body);
    let position = |c: &str| -> u32 {
        if c == "end" {
            return len as u32;
        }
        automerge::Cursor::try_from(c)
            .ok()
            .and_then(|c| doc.get_cursor_position(&body, &c, None).ok())
            .unwrap_or(len) as u32
    };
    let Ok(Some(editor)) = document().query_selector("textarea[data-key=\"section-editor\"]")
    else {
        return;
    };
    if let Some(t) = editor.dyn_ref::<HtmlTextAreaElement>() {
        let _ = t.focus();
        let _ = t.set_selection_range(position(&start), position(&end));
    }
}

pub fn focus_editor(_a: &App) {
    if let Ok(Some(editor)) = document().query_selector("textarea[data-key=\"section-editor\"]")
        && let Some(t) = editor.dyn_ref::<HtmlTextAreaElement>()
    {
        let _ = t.focus();
    }
}

/// The current text selection, if it lies inside one section's body.
pub fn selection_in_summary() -> Option<Sel> {
    let selection = window().get_selection().ok().flatten()?;
    if selection.is_collapsed() || selection.range_count() == 0 {
        return None;
    }
    let range = selection.get_range_at(0).ok()?;
    let start_node = range.start_container().ok()?;
    let end_node = range.end_container().ok()?;
    let body_of = |n: &web_sys::Node| -> Option<Element> {
        let el = if let Some(e) = n.dyn_ref::<Element>() {
            e.clone()
        } else {
            n.parent_element()?
        };
        el.closest(".body[data-section]").ok().flatten()
    };
    let body = body_of(&start_node)?;
    if body_of(&end_node)? != body {
        return None;
    }
    let start = offset_in(&body, &start_node, range.start_offset().ok()?)?;
    let end = offset_in(&body, &end_node, range.end_offset().ok()?)?;
    if start >= end {
        return None;
    }
    Some(Sel {
        section: data(&body, "section"),
        start,
        end,
        quote: selection.to_string().as_string().unwrap_or_default(),
        anchor: None,
    })
}

/// The drawn body of a section.
fn section_body_el(section: &str) -> Option<Element> {
    let bodies = document().query_selector_all(".body[data-section]").ok()?;
    (0..bodies.length())
        .filter_map(|i| bodies.item(i)?.dyn_into::<Element>().ok())
        .find(|b| data(b, "section") == section)
}

/// Selects `sel` again in its section's freshly drawn body, if the body's
/// text is still `text` (the offsets then name the same characters).
fn reselect(sel: &Sel, text: Option<String>) {
    let Some(body) = section_body_el(&sel.section) else {
        return;
    };
    if body.text_content() != text {
        return;
    }
    let (Some((start_node, start)), Some((end_node, end))) =
        (dom_position(&body, sel.start), dom_position(&body, sel.end))
    else {
        return;
    };
    let Ok(range) = document().create_range() else {
        return;
    };
    if range.set_start(&start_node, start).is_err() || range.set_end(&end_node, end).is_err() {
        return;
    }
    if let Ok(Some(selection)) = window().get_selection() {
        let _ = selection.remove_all_ranges();
        let _ = selection.add_range(&range);
    }
}

/// The DOM position (node, offset) of a UTF-16 offset in a section body:
/// the inverse of [`offset_in`].
fn dom_position(body: &Element, offset: usize) -> Option<(web_sys::Node, u32)> {
    let paragraphs = body.children();
    let mut rest = offset;
    for i in 0..paragraphs.length() {
        let p: web_sys::Node = paragraphs.item(i)?.into();
        let len = text_len(&p);
        if rest <= len {
            return Some(position_within(&p, rest));
        }
        rest -= len + 1;
    }
    None
}

/// The DOM position `offset` UTF-16 units into `node`'s text.
fn position_within(node: &web_sys::Node, offset: usize) -> (web_sys::Node, u32) {
    if node.node_type() == web_sys::Node::TEXT_NODE {
        return (node.clone(), offset as u32);
    }
    let kids = node.child_nodes();
    let mut rest = offset;
    for i in 0..kids.length() {
        let Some(k) = kids.item(i) else { continue };
        let len = text_len(&k);
        if rest <= len {
            return position_within(&k, rest);
        }
        rest -= len;
    }
    (node.clone(), kids.length())
}

/// The UTF-16 offset in a section body of a DOM position: text lengths
/// of the paragraphs before it (each followed by "\n") and of the text
/// before it in its paragraph.
fn offset_in(body: &Element, node: &web_sys::Node, offset: u32) -> Option<usize> {
    let mut total = 0usize;
    let paragraphs = body.children();
    for i in 0..paragraphs.length() {
        let p = paragraphs.item(i)?;
        if p.contains(Some(node)) {
            return Some(total + offset_within(&p, node, offset as usize));
        }
        total += text_len(&p) + 1;
    }
    if node == body.unchecked_ref::<web_sys::Node>() {
        // A boundary between paragraphs.
        let mut total: usize = 0;
        for i in 0..(offset.min(paragraphs.length())) {
            total += paragraphs.item(i).map_or(0, |p| text_len(&p) + 1);
        }
        return Some(total.saturating_sub(usize::from(offset > 0)));
    }
    None
}

fn text_len(node: &web_sys::Node) -> usize {
    node.text_content().map_or(0, |t| t.encode_utf16().count())
}

/// Text before (`node`, `offset`) inside `root`.
fn offset_within(root: &web_sys::Node, node: &web_sys::Node, offset: usize) -> usize {
    if root == node {
        if root.node_type() == web_sys::Node::TEXT_NODE {
            return offset;
        }
        let kids = root.child_nodes();
        return (0..offset as u32)
            .filter_map(|i| kids.item(i))
            .map(|k| text_len(&k))
            .sum();
    }
    let kids = root.child_nodes();
    let mut total = 0;
    for i in 0..kids.length() {
        let Some(k) = kids.item(i) else { continue };
        if k.contains(Some(node)) {
            return total + offset_within(&k, node, offset);
        }
        total += text_len(&k);
    }
    total
}

// ---------------------------------------------------------------- sidebar

pub fn sidebar(app: &Rc<RefCell<App>>) {
    let a = app.borrow();
    let Some(aside) = by_id("sidebar") else {
        return;
    };
    if a.page.doc.is_none() || !a.session.has_content(a.page.doc.expect("doc")) {
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
    children.push(readers(&a));
    if let Some(sel) = &a.ui.selection
        && a.can_take_part()
        && a.ui.composer.is_none()
        && a.ui.draft.is_none()
    {
        children.push(
            el("div")
                .attr("id", "selection-tools")
                .class("toolbar")
                .child(el("p").text(&format!("{}: “{}”", a.t("selected"), sel.quote)))
                .child(button("comment", a.t("comment")))
                .child(button("propose", a.t("propose"))),
        );
    }
    if let Some(c) = &a.ui.composer {
        children.push(composer(&a, c));
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
    let doc = a.summary_doc().expect("has content");
    children.push(match tab {
        Tab::Comments => threads_view(&a, doc),
        Tab::Proposals => proposals_view(&a, doc),
        Tab::History => history_view(&a, doc),
        Tab::Share => share_view(&a),
    });
    replace_children(&aside, children);
    drop(a);
    focus::restore(f);
}

fn readers(a: &App) -> El {
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
    others.sort_unstable_by(|x, y| x.0.name.cmp(&y.0.name));
    for (p, _) in others {
        list = list.child(
            el("li")
                .class("reader")
                .attr("data-name", &p.name)
                .child(el("span").class("dot").style("background", &p.color))
                .user_text(&p.name),
        );
    }
    el("section")
        .attr("id", "presence")
        .attr("aria-label", a.t("readers"))
        .child(el("h2").text(a.t("readers")))
        .child(list)
}

fn composer(a: &App, c: &Composer) -> El {
    let text = a.input_value("composer-text");
    let mut form = el("div").attr("id", "composer").attr("role", "form");
    // Every field with its label in sight (not only for screen readers).
    let area = |key: &str, label: &str, value: &str| labelled(label, textarea(key, label, value));
    let line = |key: &str, label: &str, value: &str| labelled(label, input(key, label, value));
    let prefill = |quote: &str| {
        if text.is_empty() {
            quote.to_owned()
        } else {
            text.clone()
        }
    };
    form = match c {
        Composer::Comment(sel) => form
            .child(el("blockquote").user().text(&sel.quote))
            .child(area("composer-text", a.t("your-comment"), &text)),
        Composer::Replace(sel) => form
            .child(el("blockquote").user().text(&sel.quote))
            .child(area("composer-text", a.t("new-text"), &prefill(&sel.quote)))
            .child(line(
                "composer-reason",
                a.t("reason"),
                &a.input_value("composer-reason"),
            )),
        Composer::Paragraph { .. } => form
            .child(area("composer-text", a.t("paragraph"), &text))
            .child(line(
                "composer-reason",
                a.t("reason"),
                &a.input_value("composer-reason"),
            )),
        Composer::Action => form
            .child(line("composer-text", a.t("action-text"), &text))
            .child(line(
                "composer-owner",
                a.t("owner"),
                &a.input_value("composer-owner"),
            ))
            .child(line(
                "composer-due",
                a.t("due"),
                &a.input_value("composer-due"),
            ))
            .child(line(
                "composer-reason",
                a.t("reason"),
                &a.input_value("composer-reason"),
            )),
        Composer::Reply { .. } => form.child(area("composer-text", a.t("reply"), &text)),
        Composer::EditComment { thread, comment } => {
            let current = a
                .summary_doc()
                .map(threads::threads)
                .unwrap_or_default()
                .into_iter()
                .find(|t| t.id == *thread)
                .and_then(|t| t.comments.into_iter().find(|c| c.id == *comment))
                .map(|c| c.body)
                .unwrap_or_default();
            form.child(area("composer-text", a.t("edit"), &prefill(&current)))
        }
        Composer::EditAccept { contribution } => {
            let current = a
                .summary_doc()
                .and_then(|d| contributions::contribution(d, contribution))
                .map(|c| c.text)
                .unwrap_or_default();
            form.child(area(
                "composer-text",
                a.t("edit-accept"),
                &prefill(&current),
            ))
        }
        Composer::Reject { .. } => form.child(area("composer-text", a.t("reject-reply"), &text)),
    };
    form.child(
        el("div")
            .class("toolbar")
            .child(button("submit", a.t("send")).class("primary"))
            .child(button("cancel", a.t("cancel"))),
    )
}

fn threads_view(a: &App, doc: &Automerge) -> El {
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
    // By start time; `all` is in id order, which breaks ties (as a stable
    // sort by time would, with less code).
    let started = |t: &ThreadView| t.comments.first().map_or(0, |c| c.created_at);
    shown.sort_unstable_by(|x, y| (started(x), &x.id).cmp(&(started(y), &y.id)));
    let mut list = el("div").attr("id", "threads");
    if shown.is_empty() {
        list = list.child(el("p").class("empty").text(a.t("no-threads")));
    }
    for t in shown {
        list = list.child(thread_view(a, t));
    }
    el("section").child(filters).child(list)
}

fn matches_filter(t: &ThreadView, f: Filter) -> bool {
    let orphaned = t.anchor == Anchor::Orphaned;
    match f {
        Filter::Open => !t.resolved && !orphaned,
        Filter::Resolved => t.resolved,
        Filter::Orphaned => orphaned && !t.resolved,
    }
}

fn thread_view(a: &App, t: &ThreadView) -> El {
    let state = match t.anchor {
        Anchor::Anchored { .. } => "anchored",
        Anchor::Moved { .. } => "moved",
        Anchor::Orphaned => "orphaned",
    };
    let mut article = el("article")
        .class("thread")
        .attr("data-thread", &t.id)
        .attr("data-state", state)
        .attr("data-resolved", if t.resolved { "true" } else { "false" })
        .child(el("blockquote").class("quote").user().text(&t.quote));
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
                    .child(el("time").class("time").text(&time_text(c.created_at, a)))
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
    article
}

fn diff_view(parts: &[Part]) -> El {
    el("p")
        .class("diff")
        .user()
        .children(parts.iter().map(|p| match p {
            Part::Equal(t) => el("span").text(t),
            Part::Insert(t) => el("ins").text(t),
            Part::Delete(t) => el("del").text(t),
        }))
}

fn proposals_view(a: &App, doc: &Automerge) -> El {
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
            "draft" => article.child(el("p").text(a.t("draft"))),
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
        if let Some((id, preview)) = &a.ui.preview
            && *id == c.id
        {
            article = article.child(preview_view(a, preview));
        }
        section = section.child(article);
    }
    section
}

fn preview_view(a: &App, preview: &wasm_bindgen::JsValue) -> El {
    let mut out = el("div").class("preview");
    for s in api::items(&api::get(preview, "sections")) {
        let conflict = api::get(&s, "conflict").as_bool().unwrap_or(false);
        let parts: Vec<Part> = api::items(&api::get(&s, "diff"))
            .iter()
            .map(|p| {
                let text = api::str_of(p, "text");
                match api::str_of(p, "op").as_str() {
                    "insert" => Part::Insert(text),
                    "delete" => Part::Delete(text),
                    _ => Part::Equal(text),
                }
            })
            .collect();
        let mut block = el("div")
            .class("preview-section")
            .attr("data-section", &api::str_of(&s, "id"))
            .attr("data-conflict", if conflict { "true" } else { "false" })
            .child(el("h3").user().text(&api::str_of(&s, "heading")));
        if conflict {
            block = block.child(el("p").class("badge conflict").text(a.t("conflict")));
        }
        // The section's text at the fork, in the draft, now and merged:
        // what each side changed, not only the merge's result.
        let texts = el("dl").class("preview-texts").children(
            [
                ("base", a.t("preview-base")),
                ("draft", a.t("draft")),
                ("current", a.t("preview-current")),
                ("merged", a.t("preview-merged")),
            ]
            .into_iter()
            .map(|(part, label)| {
                el("div")
                    .attr("data-part", part)
                    .child(el("dt").text(label))
                    .child(el("dd").class("text").user().text(&api::str_of(&s, part)))
            }),
        );
        out = out.child(block.child(texts).child(diff_view(&parts)));
    }
    out
}

/// A past version, read-only, or its comparison with now.
pub enum VersionView {
    At(Summary),
    Compare(history::Comparison),
}

impl VersionView {
    pub fn of(doc: &Automerge, heads: &str, compare: bool) -> Option<Self> {
        let heads: Vec<String> = heads.split(',').map(str::to_owned).collect();
        let heads = history::parse_heads(&heads).ok()?;
        if compare {
            history::compare(doc, &heads, &doc.get_heads())
                .ok()
                .map(VersionView::Compare)
        } else {
            history::at(doc, &heads).ok().map(VersionView::At)
        }
    }
}

fn history_view(a: &App, doc: &Automerge) -> El {
    let mut section = el("section").attr("id", "history");
    if let Some(view) = &a.ui.version_view {
        let mut panel = el("div").attr("id", "version-view").class("preview");
        match view {
            VersionView::At(s) => {
                for sec in &s.sections {
                    panel = panel
                        .child(el("h3").user().text(&sec.heading))
                        .children(sec.body.split('\n').map(|p| el("p").user().text(p)));
                }
            }
            VersionView::Compare(c) => {
                for sec in &c.sections {
                    panel = panel
                        .child(el("h3").user().text(&sec.heading))
                        .child(diff_view(&sec.body_diff));
                }
            }
        }
        section = section.child(panel.child(button("close-version", a.t("close"))));
    }
    if a.is_host() {
        section = section.child(
            el("div")
                .class("toolbar")
                .child(input(
                    "version-name",
                    a.t("version-name"),
                    &a.input_value("version-name"),
                ))
                .child(button("publish", a.t("publish"))),
        );
    }
    let named = history::named(doc);
    if !named.is_empty() {
        section = section.child(el("h3").text(a.t("named"))).child(
            el("ul").attr("id", "named").children(named.iter().map(|n| {
                el("li")
                    .child(el("span").class("name").user().text(&n.name))
                    .text(&format!(" · {}", time_text(n.at, a)))
                    .child(
                        button("view-version", a.t("view")).attr("data-heads", &n.heads.join(",")),
                    )
            })),
        );
    }
    let versions = history::versions(doc);
    section = section.child(el("h3").text(a.t("versions")));
    let list = el("ol")
        .attr("id", "versions")
        .attr("reversed", "")
        .children(versions.iter().rev().take(100).map(|v| {
            let mut what = Vec::new();
            if !v.what.sections.is_empty() {
                what.push(format!(
                    "{} {} (+{} −{})",
                    v.what.sections.join(", "),
                    a.t("sections-changed"),
                    v.what.inserted,
                    v.what.deleted
                ));
            }
            if v.what.comments > 0 {
                what.push(a.t("comments-changed").to_owned());
            }
            if v.what.contributions > 0 {
                what.push(a.t("contributions-changed").to_owned());
            }
            if v.what.metadata {
                what.push(a.t("meta-changed").to_owned());
            }
            if v.what.actions {
                what.push(a.t("actions-changed").to_owned());
            }
            let heads = v.heads.join(",");
            el("li")
                .class("version")
                .child(
                    el("p")
                        .class("byline")
                        .child(
                            el("span")
                                .class("author")
                                .user()
                                .text(&a.author_name(&v.actor)),
                        )
                        .child(el("time").text(&time_text(v.time * 1000, a))),
                )
                .child(el("p").text(&what.join(" · ")))
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

fn share_view(a: &App) -> El {
    let role = a.input_value("invite-role");
    let select = el("select")
        .attr("data-key", "invite-role")
        .attr("aria-label", a.t("role"))
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
    let mut section = el("section")
        .attr("id", "share")
        .child(el("label").text(a.t("role")).child(select))
        .child(button("invite", a.t("invite")));
    if let Some(url) = &a.ui.invite_url {
        let field = input("invite-url", a.t("invite-link"), url).attr("readonly", "");
        section = section.child(el("label").text(a.t("invite-link")).child(field));
    }
    section
}
