//! Hosts manage workshops from the browser, without JavaScript: create one
//! (`/new`: a form, empty or from a pasted page), archive one (`/w/{id}/archive`:
//! a confirmation page, then a form POST) and restore one (`/w/{id}/restore`,
//! from the list's "Archived" section or the workshop's page).
//!
//! Every rule is the API's: who may create ([`crate::api::Creator`]), what a
//! new workshop may hold ([`crate::api::create_workshop`], the same code as
//! `POST /api/workshops`), who may archive ([`crate::api::set_archived`]).
//! This module only reads forms and shows the answers. A POST with the
//! session cookie from another site is refused (403) by the API guard's
//! rule ([`crate::api::guard::forged`]); a refused form is shown again with
//! what was typed and the reason (400), a body over [`MAX_FORM_BYTES`] is a
//! 413 page.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use model::summary::MeetingType;

use super::{
    Head, Lang, Page, Text, Viewer, error_page, layout, non_empty, respond, start,
    url_decoded_field,
};
use crate::AppState;
use crate::api::{ApiError, Created, Creator, MAX_PASTED_TEXT, NewWorkshop, NewWorkshopError};
use crate::auth::Role;
use crate::input::{TITLE, TITLE_MAX, TextError};
use crate::workshops::WorkshopRecord;

/// The largest body `POST /new` reads: a pasted page of the API's largest
/// size, form-encoded at its worst (a character is at most 4 bytes of
/// UTF-8, each sent as `%XX`), and room for the other fields. Read only
/// after the caller proved they may create workshops.
pub(crate) const MAX_FORM_BYTES: usize = 12 * MAX_PASTED_TEXT + 64 * 1024;

/// The strings of these pages, in one language: a part of the pages'
/// string table ([`Text::manage`]).
pub(super) struct Strings {
    new_workshop: &'static str,
    new_intro: &'static str,
    title_label: &'static str,
    title_hint: &'static str,
    starts_label: &'static str,
    starts_hint: &'static str,
    open_hint: &'static str,
    invite_only_hint: &'static str,
    choices_hint: &'static str,
    text_label: &'static str,
    text_hint: &'static str,
    create_button: &'static str,
    cancel: &'static str,
    title_missing: &'static str,
    /// "The title may be at most" N "characters."
    title_too_long: (&'static str, &'static str),
    title_chars: &'static str,
    starts_bad: &'static str,
    meeting_bad: &'static str,
    language_bad: &'static str,
    /// "The pasted text may be at most" N "characters."
    text_too_long: (&'static str, &'static str),
    /// Followed by the rule the page broke (in English, as the API says it).
    text_bad: &'static str,
    not_created: &'static str,
    /// "The form is too large to send: a pasted page may have at most" N
    /// "characters."
    too_large: (&'static str, &'static str),
    unreadable: &'static str,
    sign_in_title: &'static str,
    sign_in_body: &'static str,
    not_allowed_title: &'static str,
    create_not_allowed: &'static str,
    host_only: &'static str,
    refused_title: &'static str,
    manage_heading: &'static str,
    archive_workshop: &'static str,
    archive_question: &'static str,
    archive_explain: &'static str,
    is_archived: &'static str,
    restore: &'static str,
    restore_workshop: &'static str,
    archived_hint: &'static str,
}

pub(super) const EN: Strings = Strings {
    new_workshop: "New workshop",
    new_intro: "Create an empty workshop and write its summary, or paste the text of a workshop page to have it filled in. You will be its host.",
    title_label: "Title",
    title_hint: "Required, unless you paste a page below: left empty, the page's own title is used.",
    starts_label: "Date and time",
    starts_hint: "Optional. With a pasted page, it replaces the page's own day and time.",
    open_hint: "anyone can read it",
    invite_only_hint: "only the people you invite",
    choices_hint: "The meeting type and language chosen here apply, also to a pasted page.",
    text_label: "Or paste the workshop page's text",
    text_hint: "Optional. The page's first workshop is created: its title, day and time, hosts, stakeholders and sections. The text before it becomes the series' description; further workshops on the page are left out.",
    create_button: "Create workshop",
    cancel: "Cancel",
    title_missing: "Give the workshop a title, or paste a page that has one.",
    title_too_long: ("The title may be at most", "characters."),
    title_chars: "The title may not contain line breaks, control characters or text-direction characters.",
    starts_bad: "Give a date and a time, such as 2026-03-02T14:30 (year-month-day, T, hours:minutes).",
    meeting_bad: "Choose whether the workshop is open or invite only.",
    language_bad: "Choose Swedish or English.",
    text_too_long: ("The pasted text may be at most", "characters."),
    text_bad: "The pasted page could not be used:",
    not_created: "The workshop was not created.",
    too_large: (
        "The form is too large to send: a pasted page may have at most",
        "characters.",
    ),
    unreadable: "The form could not be read. Please send it again.",
    sign_in_title: "Sign in first",
    sign_in_body: "Open your personal sign-in link or an invite link first, then come back here.",
    not_allowed_title: "Not allowed",
    create_not_allowed: "Only administrators and the hosts of a workshop can create workshops.",
    host_only: "Only the workshop's hosts can do this.",
    refused_title: "Request refused",
    manage_heading: "Manage the workshop",
    archive_workshop: "Archive workshop",
    archive_question: "Archive this workshop?",
    archive_explain: "Archiving hides it from every list but its hosts' and administrators': it then appears under “Archived” on the list of workshops, where it can be restored. Nothing is deleted: its summary, comments, members and links stay as they are, and its page still opens from a link.",
    is_archived: "This workshop is archived: it is hidden from every list but its hosts' and administrators'.",
    restore: "Restore",
    restore_workshop: "Restore workshop",
    archived_hint: "Hidden from every list but their hosts' and administrators'; nothing in them is deleted.",
};

pub(super) const SV: Strings = Strings {
    new_workshop: "Ny workshop",
    new_intro: "Skapa en tom workshop och skriv dess sammanfattning, eller klistra in texten från en workshopsida så fylls den i. Du blir dess värd.",
    title_label: "Titel",
    title_hint: "Krävs, om du inte klistrar in en sida nedan: lämnas fältet tomt används sidans egen titel.",
    starts_label: "Datum och tid",
    starts_hint: "Valfritt. Med en inklistrad sida ersätter det sidans egen dag och tid.",
    open_hint: "alla kan läsa den",
    invite_only_hint: "bara de du bjuder in",
    choices_hint: "Mötestypen och språket som väljs här gäller, även för en inklistrad sida.",
    text_label: "Eller klistra in texten från workshopsidan",
    text_hint: "Valfritt. Sidans första workshop skapas: titel, dag och tid, värdar, intressenter och avsnitt. Texten före den blir seriens beskrivning; fler workshoppar på sidan tas inte med.",
    create_button: "Skapa workshop",
    cancel: "Avbryt",
    title_missing: "Ge workshoppen en titel, eller klistra in en sida som har en.",
    title_too_long: ("Titeln får vara högst", "tecken."),
    title_chars: "Titeln får inte innehålla radbrytningar, styrtecken eller tecken som styr textriktningen.",
    starts_bad: "Ange datum och tid, till exempel 2026-03-02T14:30 (år-månad-dag, T, timmar:minuter).",
    meeting_bad: "Välj om workshoppen är öppen eller bara för inbjudna.",
    language_bad: "Välj svenska eller engelska.",
    text_too_long: ("Den inklistrade texten får vara högst", "tecken."),
    text_bad: "Den inklistrade sidan kunde inte användas:",
    not_created: "Workshoppen skapades inte.",
    too_large: (
        "Formuläret är för stort för att skickas: en inklistrad sida får ha högst",
        "tecken.",
    ),
    unreadable: "Formuläret kunde inte läsas. Skicka det igen.",
    sign_in_title: "Logga in först",
    sign_in_body: "Öppna din personliga inloggningslänk eller en inbjudningslänk först, och kom sedan tillbaka hit.",
    not_allowed_title: "Inte tillåtet",
    create_not_allowed: "Bara administratörer och värdar för en workshop kan skapa workshoppar.",
    host_only: "Bara workshoppens värdar kan göra det här.",
    refused_title: "Begäran nekades",
    manage_heading: "Hantera workshoppen",
    archive_workshop: "Arkivera workshoppen",
    archive_question: "Arkivera workshoppen?",
    archive_explain: "Arkivering döljer den i alla listor utom värdarnas och administratörernas: den visas då under ”Arkiverade” i listan över workshoppar, där den kan återställas. Inget tas bort: sammanfattningen, kommentarerna, medlemmarna och länkarna finns kvar som de är, och sidan öppnas fortfarande från en länk.",
    is_archived: "Workshoppen är arkiverad: den är dold i alla listor utom värdarnas och administratörernas.",
    restore: "Återställ",
    restore_workshop: "Återställ workshoppen",
    archived_hint: "Dolda i alla listor utom värdarnas och administratörernas; inget i dem är borttaget.",
};

/// A number as people read it: 500,000 (English), 500 000 (Swedish).
fn thousands(lang: Lang, n: usize) -> String {
    let separator = match lang {
        Lang::En => ',',
        // A no-break space, so that the number never breaks across lines.
        Lang::Sv => '\u{a0}',
    };
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------
// Pieces of the list and the workshop page

/// The list's "New workshop" link (for those who may create workshops).
pub(super) fn new_workshop_link(t: &Text) -> Markup {
    html! {
        p.page-actions {
            a #new-workshop .button href="/new" { (t.manage.new_workshop) }
        }
    }
}

/// The list's "Archived" section: the archived workshops the reader hosts,
/// collapsed, each with a "Restore" button.
pub(super) fn archived_section(t: &Text, archived: &[WorkshopRecord]) -> Markup {
    let m = t.manage;
    html! {
        details #archived {
            summary { (t.archived) " (" (archived.len()) ")" }
            p.hint { (m.archived_hint) }
            ul.workshops {
                @for record in archived {
                    @let link = format!("archived-{}", record.id);
                    li.workshop data-workshop=(record.id) {
                        div {
                            a #(link) href=(format!("/w/{}", record.id)) {
                                bdi { (non_empty(&record.title, t.untitled)) }
                            }
                            @if !record.when.is_empty() {
                                " " span.when dir="auto" { (record.when) }
                            }
                        }
                        form.inline method="post" action=(format!("/w/{}/restore", record.id)) {
                            button.secondary type="submit" aria-describedby=(link) { (m.restore) }
                        }
                    }
                }
            }
        }
    }
}

/// Below a workshop's page, for its hosts: archive it (through the
/// confirmation page), or restore it when archived. Outside `main#summary`
/// and the sidebar, which the web client redraws.
pub(super) fn host_tools(t: &Text, id: &str, archived: bool) -> Markup {
    let m = t.manage;
    html! {
        section #manage aria-labelledby="manage-heading" {
            h2 #manage-heading { (m.manage_heading) }
            @if archived {
                p #archived-state { (m.is_archived) }
                form method="post" action=(format!("/w/{id}/restore")) {
                    button #restore-workshop type="submit" { (m.restore_workshop) }
                }
            } @else {
                p {
                    a #archive-workshop href=(format!("/w/{id}/archive")) { (m.archive_workshop) }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Answers

/// A page of `kind` with a heading and one message (refusals and the like).
fn message_page(
    viewer: &Viewer,
    status: StatusCode,
    kind: &'static str,
    title: &str,
    message: &str,
) -> Page {
    let t = viewer.t();
    let head = Head {
        kind,
        title,
        description: None,
        canonical: None,
        workshop: None,
        main_id: "main",
        client: false,
    };
    let content = html! {
        main #main .page.narrow {
            h1 { (title) }
            p #reason role="alert" { (message) }
            p { a href="/" { (t.all_workshops) } }
        }
    };
    (status, layout(viewer, &head, content))
}

/// What a caller was not allowed to do.
#[derive(Clone, Copy)]
enum Action {
    Create,
    /// Archive or restore a workshop.
    Host,
}

/// The page for a refusal from the API's rules: 401 (sign in first), 403
/// (not allowed), 404 (missing or invisible), else the error page.
fn refusal(viewer: &Viewer, error: ApiError, action: Action) -> Page {
    let m = viewer.t().manage;
    match error {
        ApiError::Unauthorized => message_page(
            viewer,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            m.sign_in_title,
            m.sign_in_body,
        ),
        ApiError::Forbidden => message_page(
            viewer,
            StatusCode::FORBIDDEN,
            "forbidden",
            m.not_allowed_title,
            match action {
                Action::Create => m.create_not_allowed,
                Action::Host => m.host_only,
            },
        ),
        other => error_page(viewer, other),
    }
}

/// The 403 page of a form sent from another site with the session cookie.
fn forged_page(viewer: &Viewer) -> Page {
    let t = viewer.t();
    message_page(
        viewer,
        StatusCode::FORBIDDEN,
        "refused",
        t.manage.refused_title,
        t.cross_site,
    )
}

/// `303 See Other` to a page of this site.
fn see_other(target: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    response.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(target).unwrap_or(HeaderValue::from_static("/")),
    );
    response
}

// ---------------------------------------------------------------------------
// A new workshop

/// The new-workshop form as typed (kept when it is shown again).
#[derive(Debug, Default)]
struct Form {
    title: String,
    starts_at: String,
    meeting_type: Option<String>,
    language: Option<String>,
    text: String,
}

/// The field a refusal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Title,
    StartsAt,
    MeetingType,
    Language,
    Text,
    /// The form as a whole.
    None,
}

impl Form {
    fn read(body: &[u8]) -> Form {
        let field = |name: &str| url_decoded_field(body, name).unwrap_or_default();
        let choice = |name: &str| Some(field(name)).filter(|v| !v.is_empty());
        Form {
            title: field("title"),
            starts_at: field("startsAt"),
            meeting_type: choice("meetingType"),
            language: choice("language"),
            text: field("text"),
        }
    }

    /// What the API is asked for: a field left empty is not given (a
    /// pasted page's own value then stands).
    fn request(&self) -> Result<NewWorkshop, Field> {
        let given = |v: &str| (!v.trim().is_empty()).then(|| v.to_owned());
        let meeting_type = match self.meeting_type.as_deref() {
            None => None,
            Some("open") => Some(MeetingType::Open),
            Some("invite-only") => Some(MeetingType::InviteOnly),
            Some(_) => return Err(Field::MeetingType),
        };
        Ok(NewWorkshop {
            summary: None,
            text: given(&self.text),
            title: given(&self.title),
            meeting_type,
            language: self.language.clone(),
            starts_at: given(&self.starts_at),
        })
    }
}

/// The field and the reader's message for a refused form; `None` for
/// refusals that are not about what was typed.
fn invalid(lang: Lang, t: &Text, form: &Form, error: &ApiError) -> Option<(Field, String)> {
    let m = t.manage;
    Some(match error {
        ApiError::Text(e) if text_field(e) == TITLE.field => {
            let message = match e {
                TextError::TooLong { .. } => format!(
                    "{} {} {}",
                    m.title_too_long.0,
                    thousands(lang, TITLE_MAX),
                    m.title_too_long.1
                ),
                TextError::Control(_) | TextError::Bidi(_) => m.title_chars.to_owned(),
                TextError::Missing(_) | TextError::Invisible(_) | TextError::TooMany { .. } => {
                    m.title_missing.to_owned()
                }
            };
            (Field::Title, message)
        }
        // Only a pasted page brings other texts.
        ApiError::Text(e) if !form.text.trim().is_empty() => {
            (Field::Text, format!("{} {e}", m.text_bad))
        }
        ApiError::Text(e) => (Field::None, e.to_string()),
        ApiError::NewWorkshop(e) => match e {
            NewWorkshopError::StartsAt => (Field::StartsAt, m.starts_bad.to_owned()),
            NewWorkshopError::Language => (Field::Language, m.language_bad.to_owned()),
            NewWorkshopError::TextTooLong => (
                Field::Text,
                format!(
                    "{} {} {}",
                    m.text_too_long.0,
                    thousands(lang, MAX_PASTED_TEXT),
                    m.text_too_long.1
                ),
            ),
            NewWorkshopError::SummaryAndText => (Field::None, e.to_string()),
        },
        _ => return None,
    })
}

/// The field a text rule names.
fn text_field(e: &TextError) -> &'static str {
    match e {
        TextError::Missing(f)
        | TextError::Invisible(f)
        | TextError::Control(f)
        | TextError::Bidi(f)
        | TextError::TooLong { field: f, .. }
        | TextError::TooMany { field: f, .. } => f,
    }
}

/// `GET /new`: the form, for those who may create workshops.
pub(crate) async fn new_form(
    State(app): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let (choice, viewer) = start(&app, &uri, &headers);
    let viewer = match viewer {
        Ok(viewer) => viewer,
        Err(page) => return respond(choice, page),
    };
    let page = match Creator::check(&app, viewer.user.as_ref()) {
        Ok(_) => form_page(&viewer, &Form::default(), None),
        Err(e) => refusal(&viewer, e, Action::Create),
    };
    respond(choice, page)
}

/// `POST /new`: creates the workshop as `POST /api/workshops` does and goes
/// to its page (303), where the creator is host; a refusal shows the form
/// again, as typed, with the reason.
pub(crate) async fn create(State(app): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let (choice, viewer) = start(&app, &parts.uri, &parts.headers);
    let viewer = match viewer {
        Ok(viewer) => viewer,
        Err(page) => return respond(choice, page),
    };
    if crate::api::guard::forged(&parts.method, &parts.headers) {
        return respond(choice, forged_page(&viewer));
    }
    // Who may, before the body is read.
    let creator = match Creator::check(&app, viewer.user.as_ref()) {
        Ok(creator) => creator,
        Err(e) => return respond(choice, refusal(&viewer, e, Action::Create)),
    };
    // The route's `DefaultBodyLimit` (MAX_FORM_BYTES) holds for this read.
    let body = match Bytes::from_request(Request::from_parts(parts, body), &()).await {
        Ok(body) => body,
        Err(rejection) => return respond(choice, unreadable_page(&viewer, rejection.status())),
    };
    let form = Form::read(&body);
    let t = viewer.t();
    let request = match form.request() {
        Ok(request) => request,
        Err(field) => {
            let error = (field, t.manage.meeting_bad.to_owned());
            return respond(choice, form_page(&viewer, &form, Some(error)));
        }
    };
    match crate::api::create_workshop(&app, creator, request).await {
        Ok(Created { record, .. }) => see_other(&format!("/w/{}", record.id)),
        Err(e) => {
            let page = match invalid(viewer.lang, t, &form, &e) {
                Some(error) => form_page(&viewer, &form, Some(error)),
                None => refusal(&viewer, e, Action::Create),
            };
            respond(choice, page)
        }
    }
}

/// The page for a form body that could not be read: over the limit (413)
/// or broken off (400).
fn unreadable_page(viewer: &Viewer, status: StatusCode) -> Page {
    let m = viewer.t().manage;
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        format!(
            "{} {} {}",
            m.too_large.0,
            thousands(viewer.lang, MAX_PASTED_TEXT),
            m.too_large.1
        )
    } else {
        m.unreadable.to_owned()
    };
    let status = if status.is_client_error() {
        status
    } else {
        StatusCode::BAD_REQUEST
    };
    message_page(viewer, status, "new", m.not_created, &message)
}

/// The form, empty or as typed with the reason it was refused (400).
fn form_page(viewer: &Viewer, form: &Form, error: Option<(Field, String)>) -> Page {
    let t = viewer.t();
    let m = t.manage;
    let head = Head {
        kind: "new",
        title: m.new_workshop,
        description: None,
        canonical: None,
        workshop: None,
        main_id: "main",
        client: false,
    };
    let wrong = error.as_ref().map_or(Field::None, |(field, _)| *field);
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    // A field in error is described by the message too.
    let described = |field: Field, hint: &'static str| -> String {
        if wrong == field {
            format!("form-error {hint}")
        } else {
            hint.to_owned()
        }
    };
    let invalid = |field: Field| (wrong == field).then_some("true");
    let meeting = form.meeting_type.as_deref().unwrap_or("invite-only");
    let lang_code = viewer.lang.code();
    let language = form.language.as_deref().unwrap_or(lang_code);
    let content = html! {
        main #main .page {
            h1 { (m.new_workshop) }
            p { (m.new_intro) }
            @if let Some((_, message)) = &error {
                div #form-error .error role="alert" {
                    p { strong { (m.not_created) } }
                    p dir="auto" { (message) }
                }
            }
            form #new-workshop .stacked method="post" action="/new" {
                div.field {
                    label for="title" { (m.title_label) }
                    input #title type="text" name="title" value=(form.title)
                        maxlength=(TITLE_MAX) autocomplete="off" dir="auto"
                        aria-invalid=[invalid(Field::Title)]
                        aria-describedby=(described(Field::Title, "title-hint"));
                    p #title-hint .hint { (m.title_hint) }
                }
                div.field {
                    label for="starts-at" { (m.starts_label) }
                    input #starts-at type="datetime-local" name="startsAt" value=(form.starts_at)
                        aria-invalid=[invalid(Field::StartsAt)]
                        aria-describedby=(described(Field::StartsAt, "starts-hint"));
                    p #starts-hint .hint { (m.starts_hint) }
                }
                fieldset aria-describedby=(described(Field::MeetingType, "choices-hint")) {
                    legend { (t.meeting_type) }
                    div.choice {
                        input #meeting-open type="radio" name="meetingType" value="open"
                            checked[meeting == "open"];
                        label for="meeting-open" { strong { (t.open) } ": " (m.open_hint) }
                    }
                    div.choice {
                        input #meeting-invite-only type="radio" name="meetingType" value="invite-only"
                            checked[meeting != "open"];
                        label for="meeting-invite-only" {
                            strong { (t.invite_only) } ": " (m.invite_only_hint)
                        }
                    }
                }
                fieldset aria-describedby=(described(Field::Language, "choices-hint")) {
                    legend { (t.language) }
                    @for lang in [Lang::Sv, Lang::En] {
                        @let id = format!("language-{}", lang.code());
                        div.choice {
                            input #(id) type="radio" name="language" value=(lang.code())
                                checked[language == lang.code()];
                            label for=(id) lang=(lang.code()) { (lang.text().name) }
                        }
                    }
                }
                p #choices-hint .hint { (m.choices_hint) }
                div.field {
                    label for="text" { (m.text_label) }
                    textarea #text name="text" rows="12" dir="auto"
                        aria-invalid=[invalid(Field::Text)]
                        aria-describedby=(described(Field::Text, "text-hint")) { (form.text) }
                    p #text-hint .hint { (m.text_hint) }
                }
                p.form-actions {
                    button #create-workshop type="submit" { (m.create_button) }
                    " "
                    a href="/" { (m.cancel) }
                }
            }
        }
    };
    (status, layout(viewer, &head, content))
}

// ---------------------------------------------------------------------------
// Archive and restore

/// `GET /w/{id}/archive`: the confirmation step, for the workshop's hosts.
pub(crate) async fn archive_page(
    State(app): State<Arc<AppState>>,
    id: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let (choice, viewer) = start(&app, &uri, &headers);
    let viewer = match viewer {
        Ok(viewer) => viewer,
        Err(page) => return respond(choice, page),
    };
    let id = id.map(|Path(id)| id).unwrap_or_default();
    let page = match crate::api::workshop_for(&app, viewer.user.as_ref(), &id) {
        Ok((_, record, Role::Host)) => confirm_page(&viewer, &record),
        Ok(_) if viewer.user.is_none() => refusal(&viewer, ApiError::Unauthorized, Action::Host),
        Ok(_) => refusal(&viewer, ApiError::Forbidden, Action::Host),
        Err(e) => refusal(&viewer, e, Action::Host),
    };
    respond(choice, page)
}

fn confirm_page(viewer: &Viewer, record: &WorkshopRecord) -> Page {
    let t = viewer.t();
    let m = t.manage;
    let head = Head {
        kind: "archive",
        title: m.archive_question,
        description: None,
        canonical: None,
        workshop: None,
        main_id: "main",
        client: false,
    };
    let page = format!("/w/{}", record.id);
    let content = html! {
        main #main .page.narrow {
            h1 { (m.archive_question) }
            p #archive-title { strong { bdi { (non_empty(&record.title, t.untitled)) } } }
            @if record.archived {
                p #archived-state { (m.is_archived) }
                form method="post" action=(format!("{page}/restore")) {
                    button #restore-workshop type="submit" { (m.restore_workshop) }
                }
            } @else {
                p { (m.archive_explain) }
                form #archive-form method="post" action=(format!("{page}/archive")) {
                    p.form-actions {
                        button #confirm-archive type="submit" { (m.archive_workshop) }
                        " "
                        a href=(page) { (m.cancel) }
                    }
                }
            }
        }
    };
    (StatusCode::OK, layout(viewer, &head, content))
}

/// `POST /w/{id}/archive`: archives, then the list (303), which no longer
/// shows it but under "Archived".
pub(crate) async fn archive(
    State(app): State<Arc<AppState>>,
    id: Result<Path<String>, PathRejection>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    set_archived(&app, id, &method, &uri, &headers, true).await
}

/// `POST /w/{id}/restore`: restores, then the list (303), which shows it
/// again.
pub(crate) async fn restore(
    State(app): State<Arc<AppState>>,
    id: Result<Path<String>, PathRejection>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    set_archived(&app, id, &method, &uri, &headers, false).await
}

async fn set_archived(
    app: &AppState,
    id: Result<Path<String>, PathRejection>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    archived: bool,
) -> Response {
    let (choice, viewer) = start(app, uri, headers);
    let viewer = match viewer {
        Ok(viewer) => viewer,
        Err(page) => return respond(choice, page),
    };
    if crate::api::guard::forged(method, headers) {
        return respond(choice, forged_page(&viewer));
    }
    let id = id.map(|Path(id)| id).unwrap_or_default();
    match crate::api::set_archived(app, viewer.user.as_ref(), &id, archived).await {
        Ok(_) => see_other("/"),
        Err(ApiError::Forbidden) if viewer.user.is_none() => respond(
            choice,
            refusal(&viewer, ApiError::Unauthorized, Action::Host),
        ),
        Err(e) => respond(choice, refusal(&viewer, e, Action::Host)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_as_each_language_writes_them() {
        assert_eq!(thousands(Lang::En, 500_000), "500,000");
        assert_eq!(thousands(Lang::Sv, 500_000), "500\u{a0}000");
        assert_eq!(thousands(Lang::En, 200), "200");
        assert_eq!(thousands(Lang::En, 1_234_567), "1,234,567");
    }

    #[test]
    fn a_form_is_read_leniently_and_empty_fields_are_not_given() {
        let form = Form::read(
            b"title=+&startsAt=&meetingType=open&language=sv&text=Host%3A+%C3%85sa%0D%0A",
        );
        let request = form.request().expect("valid");
        assert_eq!(request.title, None);
        assert_eq!(request.starts_at, None);
        assert_eq!(request.meeting_type, Some(MeetingType::Open));
        assert_eq!(request.language.as_deref(), Some("sv"));
        assert_eq!(request.text.as_deref(), Some("Host: Åsa\r\n"));
        // Broken encodings and bytes are kept as text, never a panic.
        let form = Form::read(b"title=%&text=%FF%FE&meetingType=%");
        assert_eq!(form.title, "%");
        assert_eq!(form.request().err(), Some(Field::MeetingType));
        assert!(Form::read(&[0xff, 0xfe]).request().is_ok());
    }
}
