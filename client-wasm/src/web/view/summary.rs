//! The summary region: the workshop's title, metadata, sections (or a
//! section's editor) and actions, with comment anchors and other readers'
//! selections marked; and the DOM side of selections and the editor's
//! caret.

use automerge::{Automerge, ReadDoc};
use model::summary::Summary;
use model::threads::{self, Anchor, ThreadView};
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlTextAreaElement};

use super::{input, labelled, textarea};
use crate::state::{Model, Sel};
use crate::web::dom::{El, button, by_id, data, document, el, window};
use crate::web::focus;

/// The section editor's selection as automerge cursors (section, start,
/// end), taken before remote changes move the text under it.
pub type Caret = (String, String, String);

/// The summary (or the open draft), with comment anchors and others'
/// selections marked.
pub fn draw(a: &Model) {
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
                // A visible label tied to its field.
                .child(el("label").attr("for", "draft-reason").text(a.t("reason")))
                .child(
                    input("draft-reason", a.t("reason"), &a.input("draft-reason"))
                        .attr("id", "draft-reason"),
                )
                .child(button("submit-draft", a.t("submit-draft")))
                .child(button("close-draft", a.t("back"))),
        );
    }
    if a.ui.draft.is_none()
        && let Some(toggle) = super::suggest::toggle(a, doc)
    {
        children.push(toggle);
    }
    children.push(el("h1").attr("id", "title").user().text(&s.workshop.title));
    let authoring = a.is_host() && a.ui.draft.is_none();
    if authoring && a.ui.meta_editing {
        children.push(meta_form(a));
    } else {
        children.push(meta(&s, a));
        if authoring {
            children.push(button("edit-meta", a.t("edit-details")).class("secondary"));
        }
    }
    let count = s.sections.len();
    for (i, section) in s.sections.iter().enumerate() {
        children.push(section_view(a, doc, section, &threads, (i, count)));
    }
    if authoring {
        children.push(
            el("div")
                .class("toolbar add-section")
                .child(button("add-section", a.t("add-section"))),
        );
    }
    children.push(actions_view(a, &s));
    super::keep::replace_changed(&main, children);
    if let Some((sel, text)) = selected {
        reselect(&sel, text);
    }
    if let Some(body) = document().body() {
        let _ = body.set_attribute("data-summary", "live");
    }
    focus::restore(f);
}

/// The workshop's metadata as the server draws it (`pages.rs`): one
/// `div[data-field]` of a `dt` and a `dd` per value for each non-empty
/// field, labels and the meeting type in the reader's language.
fn meta(s: &Summary, a: &Model) -> El {
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

/// A host's form for the workshop's details (one name per line in the
/// lists).
fn meta_form(a: &Model) -> El {
    let line = |key: &str, label: &'static str| {
        labelled(a.t(label), input(key, a.t(label), &a.input(key)))
    };
    let lines = |key: &str, label: &'static str| {
        labelled(a.t(label), textarea(key, a.t(label), &a.input(key)))
            .child(el("small").class("hint").text(a.t("one-per-line")))
    };
    let meeting = a.input("meta-meeting-type");
    let meeting_select = el("select")
        .attr("data-key", "meta-meeting-type")
        .child(el("option").attr("value", "open").text(a.t("meeting-open")))
        .child(
            el("option")
                .attr("value", "invite-only")
                .flag("selected", meeting == "invite-only")
                .text(a.t("meeting-invite-only")),
        );
    el("div")
        .attr("id", "meta-form")
        .attr("role", "form")
        .attr("aria-label", a.t("edit-details"))
        .child(line("meta-title", "title"))
        .child(line("meta-when", "when"))
        .child(lines("meta-hosts", "hosts"))
        .child(lines("meta-stakeholders", "stakeholders"))
        .child(lines("meta-ambassadors", "ambassadors"))
        .child(labelled(a.t("meeting-type"), meeting_select))
        .child(line("meta-registration", "registration"))
        .child(line("meta-format", "format"))
        .child(line("meta-language", "language"))
        .child(
            el("div")
                .class("toolbar")
                .child(button("save-meta", a.t("save")).class("primary"))
                .child(button("cancel-meta", a.t("cancel"))),
        )
}

fn section_view(
    a: &Model,
    doc: &Automerge,
    section: &model::summary::Section,
    all: &[ThreadView],
    (index, count): (usize, usize),
) -> El {
    let id = section.id.as_str();
    let editing = a.ui.editing.as_deref() == Some(id);
    let authoring = a.is_host() && a.ui.draft.is_none();
    let heading = el("h2")
        .class("heading")
        .attr("id", &format!("h-{id}"))
        .user()
        .text(&section.heading);
    let mut head = el("div").class("section-head");
    head = if editing && authoring {
        // The host renames the section by typing in its heading.
        head.child(heading.class("visually-hidden")).child(labelled(
            a.t("heading"),
            input("heading-editor", a.t("heading"), &section.heading)
                .attr("data-section", id)
                .class("heading-editor"),
        ))
    } else {
        head.child(heading)
    };
    let mut tools = el("div").class("toolbar");
    if a.can_edit_text() {
        tools = if editing {
            tools.child(button("done-editing", a.t("done")).attr("data-section", id))
        } else {
            tools.child(button("edit-section", a.t("edit-section")).attr("data-section", id))
        };
    }
    if editing && authoring {
        tools = tools
            .child(
                button("move-up", a.t("move-up"))
                    .attr("data-section", id)
                    .flag("disabled", index == 0),
            )
            .child(
                button("move-down", a.t("move-down"))
                    .attr("data-section", id)
                    .flag("disabled", index + 1 >= count),
            );
        tools = if a.ui.confirm_delete.as_deref() == Some(id) {
            tools
                .child(
                    el("span")
                        .attr("role", "alert")
                        .text(a.t("confirm-delete-note")),
                )
                .child(
                    button("confirm-delete-section", a.t("confirm-delete"))
                        .class("danger")
                        .attr("data-section", id),
                )
                .child(button("cancel-delete", a.t("cancel")))
        } else {
            tools.child(button("delete-section", a.t("delete-section")).attr("data-section", id))
        };
    }
    let mut menu = None;
    if a.can_take_part() && a.ui.draft.is_none() {
        // One compact control instead of a row of buttons per section:
        // selecting text is the usual way (the toolbar by the selection);
        // this menu is the keyboard's way, and for whole sections.
        let open = a.ui.section_menu.as_deref() == Some(id);
        // Its name is its (hidden) text, not an aria-label that the
        // visible "⋯" would not match.
        tools = tools.child(
            el("button")
                .attr("type", "button")
                .attr("data-action", "section-menu")
                .class("quiet icon")
                .attr("data-section", id)
                .attr("aria-expanded", if open { "true" } else { "false" })
                .child(el("span").attr("aria-hidden", "true").text("⋯"))
                .child(
                    el("span")
                        .class("visually-hidden")
                        .text(&format!("{}: ", a.t("section-menu")))
                        .user_text(&section.heading),
                ),
        );
        if open {
            menu = Some(
                el("div")
                    .class("section-menu")
                    .attr("role", "group")
                    .attr("aria-label", a.t("section-menu"))
                    .child(
                        button("comment-section", a.t("comment-section")).attr("data-section", id),
                    )
                    .child(
                        button("propose-section", a.t("propose-section")).attr("data-section", id),
                    )
                    .child(
                        button("propose-paragraph", a.t("add-paragraph")).attr("data-section", id),
                    ),
            );
        }
    }
    head = head.child(tools);
    let body = if editing {
        textarea("section-editor", a.t("edit-section"), &section.body)
            .class("editor")
            .attr("data-section", id)
            .attr("rows", "8")
    } else if a.ui.suggestions && a.ui.draft.is_none() {
        super::suggest::body(a, doc, id, &section.body)
    } else {
        body_view(a, doc, id, &section.body, all)
    };
    el("section")
        .class("section")
        .attr("data-section", id)
        .attr("aria-labelledby", &format!("h-{id}"))
        .child(head)
        .children(menu)
        .child(body)
}

/// A section's text as paragraphs, with comment anchors as `<mark>` and
/// other readers' selections underlined in their colour (on the characters
/// they selected, wherever edits have moved them since).
fn body_view(a: &Model, doc: &Automerge, section: &str, text: &str, all: &[ThreadView]) -> El {
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
                    // A highlight opens its (first) thread: by click, tap,
                    // or Enter (`web/mod.rs`).
                    let mark = el("mark")
                        .class("anchor")
                        .attr("data-threads", &threads.join(" "))
                        .attr("data-action", "show-thread")
                        .attr("data-thread", threads[0])
                        .attr("tabindex", "0")
                        .attr("role", "button");
                    if threads
                        .iter()
                        .any(|t| a.ui.focused_thread.as_deref() == Some(*t))
                    {
                        mark.class("active")
                    } else {
                        mark
                    }
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

/// The actions table. Hosts edit a row in place and add actions; the
/// others propose them.
fn actions_view(a: &Model, s: &Summary) -> El {
    let authoring = a.is_host() && a.ui.draft.is_none();
    let editing = a.ui.action_editing.as_ref().filter(|_| authoring);
    let mut section = el("section")
        .attr("id", "actions")
        .child(el("h2").text(a.t("actions")));
    let new_row = editing.filter(|e| e.new).map(|_| action_editor(a, None));
    if s.actions.is_empty() && new_row.is_none() {
        // An empty state says so, rather than a bare heading.
        section = section.child(el("p").class("empty").text(a.t("no-actions")));
    }
    if !s.actions.is_empty() || new_row.is_some() {
        let mut columns = vec![a.t("action-text"), a.t("owner"), a.t("due"), a.t("status")];
        if authoring {
            columns.push("");
        }
        let head = el("tr").children(
            columns
                .into_iter()
                .map(|h| el("th").attr("scope", "col").text(h)),
        );
        let rows = s.actions.iter().map(|x| {
            if editing.is_some_and(|e| !e.new && e.id == x.id) {
                return action_editor(a, Some(&x.id));
            }
            // Known statuses in the reader's language; others as written.
            let status = match x.status.as_str() {
                "open" => a.t("status-open"),
                "in-progress" => a.t("status-in-progress"),
                "done" => a.t("status-done"),
                other => other,
            };
            let mut row = el("tr")
                .attr("data-item", &x.id)
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
                );
            if authoring {
                row = row.child(
                    el("td").child(
                        button("edit-action", a.t("edit"))
                            .attr("data-item", &x.id)
                            .attr("aria-label", &format!("{}: {}", a.t("edit"), x.text)),
                    ),
                );
            }
            row
        });
        section = section.child(
            el("table")
                .child(el("thead").child(head))
                .child(el("tbody").children(rows).children(new_row)),
        );
    }
    if authoring {
        if editing.is_none() {
            section = section.child(button("add-action", a.t("add-action")).class("secondary"));
        }
    } else if a.can_take_part() && a.ui.draft.is_none() {
        section = section.child(button("propose-action", a.t("propose-action")).class("secondary"));
    }
    section
}

/// A row of fields editing an action (`id`: an existing one).
fn action_editor(a: &Model, id: Option<&str>) -> El {
    let field =
        |key: &str, label: &'static str| el("td").child(input(key, a.t(label), &a.input(key)));
    let status = a.input("action-status");
    let select = el("select")
        .attr("data-key", "action-status")
        .attr("aria-label", a.t("status"))
        .children(
            [
                ("open", "status-open"),
                ("in-progress", "status-in-progress"),
                ("done", "status-done"),
            ]
            .into_iter()
            .map(|(value, label)| {
                el("option")
                    .attr("value", value)
                    .flag("selected", status == value)
                    .text(a.t(label))
            }),
        );
    let mut tools = el("td")
        .class("toolbar")
        .child(button("save-action", a.t("save")).class("primary"))
        .child(button("cancel-action", a.t("cancel")));
    if let Some(id) = id {
        tools = tools.child(button("delete-action", a.t("delete")).attr("data-item", id));
    }
    el("tr")
        .attr("id", "action-editor")
        .child(field("action-text", "action-text"))
        .child(field("action-owner", "owner"))
        .child(field("action-due", "due"))
        .child(el("td").child(select))
        .child(tools)
}

/// The section editor's selection as automerge cursors, before remote
/// changes move the text under it.
pub fn editor_cursors(a: &Model) -> Option<Caret> {
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
pub fn restore_editor(a: &Model, saved: Option<Caret>) {
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

pub fn focus_editor() -> bool {
    if let Ok(Some(editor)) = document().query_selector("textarea[data-key=\"section-editor\"]")
        && let Some(t) = editor.dyn_ref::<HtmlTextAreaElement>()
    {
        return t.focus().is_ok();
    }
    false
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

/// The top (in the viewport) of the character at a UTF-16 offset of a
/// section's drawn body: where a new thread's composer belongs.
pub fn offset_top(section: &str, offset: usize) -> Option<f64> {
    let body = section_body_el(section)?;
    let (node, at) = dom_position(&body, offset)?;
    let range = document().create_range().ok()?;
    range.set_start(&node, at).ok()?;
    range.set_end(&node, at).ok()?;
    let rect = range.get_bounding_client_rect();
    // A collapsed range at a paragraph's start may have no box: the body's.
    Some(if rect.height() > 0.0 {
        rect.top()
    } else {
        body.get_bounding_client_rect().top()
    })
}

/// The drawn body of a section.
pub fn section_body_el(section: &str) -> Option<Element> {
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
