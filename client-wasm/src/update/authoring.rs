//! A host writing the summary: sections (add, rename, move, delete), the
//! workshop's details, and actions, written straight into the summary
//! document (the server checks the role of every change). Participants
//! keep proposing (`contributions`).

use model::authoring;
use model::summary::{Action as ActionItem, MeetingType, Summary, Workshop};

use super::{Fx, change_summary};
use crate::effect::{Effect, Focus, Region, Spot};
use crate::msg::Reply;
use crate::state::{ActionEdit, Model};

/// The fields of the details form (`data-key`), with what they edit.
pub const META_FIELDS: [&str; 9] = [
    "meta-title",
    "meta-when",
    "meta-hosts",
    "meta-stakeholders",
    "meta-ambassadors",
    "meta-meeting-type",
    "meta-registration",
    "meta-format",
    "meta-language",
];

/// The fields of the action editor.
pub const ACTION_FIELDS: [&str; 4] = ["action-text", "action-owner", "action-due", "action-status"];

/// Whether the summary itself may be written here: a host, on the
/// summary (not a draft).
fn may_author(m: &Model) -> bool {
    m.is_host() && m.ui.draft.is_none()
}

fn summary(m: &Model) -> Option<Summary> {
    Summary::read(m.summary_doc()?).ok()
}

/// The heading field of a section's editor.
pub fn heading_spot(section: &str) -> Spot {
    Spot(vec![
        ("data-key", "heading-editor".to_owned()),
        ("data-section", section.to_owned()),
    ])
}

/// A new section after the last, with its editor open on the heading.
pub fn add_section(m: &mut Model, fx: &mut Fx) {
    if !may_author(m) {
        return;
    }
    let after = summary(m).and_then(|s| s.sections.last().map(|x| x.id.clone()));
    let id = format!("s-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let heading = m.t("new-section").to_owned();
    if let Err(e) = change_summary(m, fx, |tx| {
        authoring::add_section(tx, &id, &heading, after.as_deref())
    }) {
        fx.notice(m, e);
        return;
    }
    m.ui.editing = Some(id.clone());
    fx.push(Effect::Focus(Focus::Spot(heading_spot(&id))));
}

/// The host typed in a section's heading: one splice.
pub fn rename_section(m: &mut Model, fx: &mut Fx, section: &str, heading: &str) {
    if !may_author(m) {
        return;
    }
    let Some(doc) = m.page.doc else { return };
    let now = m.now;
    let ((), out) = m.session.change(doc, |d| {
        let mut tx = d.transaction();
        let _ = authoring::rename_section(&mut tx, section, heading);
        super::commit(tx, now);
    });
    super::store(m, fx, doc);
    super::send(m, fx, out);
    fx.render(Region::Status);
}

/// Moves a section one place up (`by` = -1) or down (+1).
pub fn move_section(m: &mut Model, fx: &mut Fx, section: &str, by: isize) {
    if !may_author(m) {
        return;
    }
    let Some(s) = summary(m) else { return };
    let Some(at) = s.sections.iter().position(|x| x.id == section) else {
        return;
    };
    let Some(to) = at
        .checked_add_signed(by)
        .filter(|to| *to < s.sections.len())
    else {
        return;
    };
    let r = change_summary(m, fx, |tx| authoring::move_section(tx, section, to));
    super::report(m, fx, r);
    // The focus stays on the button pressed, unless the section is now at
    // the end it moved to (that button is disabled there).
    let action = match (by < 0, to) {
        (true, 0) => "move-down",
        (true, _) => "move-up",
        (false, to) if to + 1 == s.sections.len() => "move-up",
        (false, _) => "move-down",
    };
    fx.push(Effect::Focus(Focus::Spot(Spot::section_control(
        action, section,
    ))));
}

/// Deletes a section once confirmed (its comments then read as orphaned).
pub fn delete_section(m: &mut Model, fx: &mut Fx, section: &str) {
    m.ui.confirm_delete = None;
    if !may_author(m) {
        return;
    }
    let r = change_summary(m, fx, |tx| authoring::delete_section(tx, section));
    super::report(m, fx, r);
    if m.ui.editing.as_deref() == Some(section) {
        m.ui.editing = None;
    }
    fx.push(Effect::Focus(Focus::Spot(Spot(vec![(
        "data-action",
        "add-section".to_owned(),
    )]))));
}

/// Opens the details form, filled with the workshop's details.
pub fn edit_meta(m: &mut Model, fx: &mut Fx) {
    if !may_author(m) {
        return;
    }
    let Some(s) = summary(m) else { return };
    let w = s.workshop;
    let values = [
        w.title,
        w.when,
        w.hosts.join("\n"),
        w.stakeholders.join("\n"),
        w.ambassadors.join("\n"),
        w.meeting_type.as_str().to_owned(),
        w.registration,
        w.format,
        w.language,
    ];
    for (key, value) in META_FIELDS.iter().zip(values) {
        m.ui.inputs.insert((*key).to_owned(), value);
    }
    m.ui.meta_editing = true;
    fx.render(Region::Summary);
    fx.push(Effect::Focus(Focus::Spot(Spot::field("meta-title"))));
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Writes the details form into the summary.
pub fn save_meta(m: &mut Model, fx: &mut Fx) {
    if !may_author(m) {
        return;
    }
    let title = m.input("meta-title").trim().to_owned();
    if title.is_empty() {
        let text = m.t("title-required").to_owned();
        fx.notice(m, text);
        return;
    }
    let w = Workshop {
        title,
        when: m.input("meta-when").trim().to_owned(),
        hosts: lines(&m.input("meta-hosts")),
        stakeholders: lines(&m.input("meta-stakeholders")),
        ambassadors: lines(&m.input("meta-ambassadors")),
        meeting_type: if m.input("meta-meeting-type") == "invite-only" {
            MeetingType::InviteOnly
        } else {
            MeetingType::Open
        },
        registration: m.input("meta-registration").trim().to_owned(),
        format: m.input("meta-format").trim().to_owned(),
        language: m.input("meta-language").trim().to_owned(),
    };
    // The title and the meeting type also live in the workshop's record
    // (the list, and who may see the workshop): the server changes both
    // there and in the document (the same values, so nothing twice).
    if let Some(doc) = m.page.doc
        && summary(m).is_some_and(|s| {
            s.workshop.title != w.title || s.workshop.meeting_type != w.meeting_type
        })
    {
        fx.push(super::fetch(
            "PATCH",
            format!("/api/workshops/{doc}"),
            Some(
                serde_json::json!({ "title": w.title, "meetingType": w.meeting_type.as_str() })
                    .to_string(),
            ),
            Reply::Details,
        ));
    }
    if let Err(e) = change_summary(m, fx, |tx| authoring::set_workshop(tx, &w)) {
        fx.notice(m, e);
        return;
    }
    close_meta(m, fx);
}

pub fn close_meta(m: &mut Model, fx: &mut Fx) {
    m.ui.meta_editing = false;
    for key in META_FIELDS {
        m.ui.inputs.remove(key);
    }
    fx.render(Region::Summary);
    fx.push(Effect::Focus(Focus::Spot(Spot(vec![(
        "data-action",
        "edit-meta".to_owned(),
    )]))));
}

/// Opens the action editor on an action, or on a new one (`None`).
pub fn edit_action(m: &mut Model, fx: &mut Fx, id: Option<String>) {
    if !may_author(m) {
        return;
    }
    let existing = id
        .as_ref()
        .and_then(|id| summary(m)?.actions.into_iter().find(|a| a.id == *id));
    let (edit, values) = match existing {
        Some(a) => (
            ActionEdit {
                id: a.id,
                new: false,
            },
            [a.text, a.owner, a.due, a.status],
        ),
        None => (
            ActionEdit {
                id: uuid::Uuid::new_v4().to_string(),
                new: true,
            },
            [String::new(), String::new(), String::new(), "open".into()],
        ),
    };
    for (key, value) in ACTION_FIELDS.iter().zip(values) {
        m.ui.inputs.insert((*key).to_owned(), value);
    }
    m.ui.action_editing = Some(edit);
    fx.render(Region::Summary);
    fx.push(Effect::Focus(Focus::Spot(Spot::field("action-text"))));
}

/// Writes the action editor's values (a new action, or the edited one).
pub fn save_action(m: &mut Model, fx: &mut Fx) {
    if !may_author(m) {
        return;
    }
    let Some(edit) = m.ui.action_editing.clone() else {
        return;
    };
    let text = m.input("action-text").trim().to_owned();
    if text.is_empty() {
        let note = m.t("action-text-required").to_owned();
        fx.notice(m, note);
        return;
    }
    let status = m.input("action-status");
    let action = ActionItem {
        id: edit.id,
        text,
        owner: m.input("action-owner").trim().to_owned(),
        due: m.input("action-due").trim().to_owned(),
        status: if authoring::ACTION_STATUSES.contains(&status.as_str()) {
            status
        } else {
            "open".into()
        },
    };
    if let Err(e) = change_summary(m, fx, |tx| {
        if edit.new {
            authoring::add_action(tx, &action).map(|()| true)
        } else {
            authoring::set_action(tx, &action)
        }
    }) {
        fx.notice(m, e);
        return;
    }
    close_action(m, fx);
}

pub fn close_action(m: &mut Model, fx: &mut Fx) {
    m.ui.action_editing = None;
    for key in ACTION_FIELDS {
        m.ui.inputs.remove(key);
    }
    fx.render(Region::Summary);
    fx.push(Effect::Focus(Focus::Spot(Spot(vec![(
        "data-action",
        "add-action".to_owned(),
    )]))));
}

pub fn delete_action(m: &mut Model, fx: &mut Fx, id: &str) {
    if !may_author(m) {
        return;
    }
    let r = change_summary(m, fx, |tx| authoring::delete_action(tx, id));
    super::report(m, fx, r);
    close_action(m, fx);
}
