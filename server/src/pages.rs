//! Server-rendered HTML pages: the workshop list (`/`), one workshop's
//! summary (`/w/{id}`), the invite page (`/invite/{token}`) and the 404
//! page; and the two static files that style the pages and load the web
//! client (`/client/app.css`, `/client/boot.js`). Hosts' pages that
//! create, archive and restore workshops are in [`manage`]; the account
//! page and signing out in [`account`].
//!
//! Every page works without JavaScript: a public reader gets the summary as
//! a plain, shareable, indexable page, and the wasm client then brings it to
//! life. The client relies on a DOM contract, kept here:
//!
//! - `<body data-page="list|workshop|not-found" data-doc-id data-role
//!   data-user-name data-lang>` (`data-doc-id`/`data-role` on workshop
//!   pages only); the header's `#lang-toggle` and `#status`;
//! - `<main id="summary">` with `h1#title`, `dl.meta`, one
//!   `section.section[data-section]` per section (`h2.heading`, then
//!   `div.body[data-section]` with one `<p>` per line of the body, empty
//!   lines included, so that line *n* is paragraph *n*) and
//!   `section#actions`; `<aside id="sidebar">` with `section#threads`.
//!
//! Text safety: all HTML is built with `maud`, which escapes every
//! interpolation; nothing here uses `PreEscaped` or builds markup from
//! strings. Every piece of user text is bidi-isolated: inline (names,
//! titles in the list, section headings in threads) in a `<bdi>`, blocks
//! (title, headings, paragraphs, quotes, comments, cells, metadata) with
//! `dir="auto"`, so that direction controls in it (written over sync,
//! which the API's checks never see) cannot reorder anything around it. Visibility is the API's: an invite-only workshop is the same 404
//! page as a missing one to whoever has no role in it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use docsync::DocumentId;
use maud::{DOCTYPE, Markup, html};
use model::summary::{Action, MeetingType, Section, Summary, Workshop};
use model::threads::{Anchor, ThreadView};

use crate::AppState;
use crate::api::{ApiError, cross_site, identity};
use crate::auth::{AuthError, Grant, InviteState, Role, User};
use crate::workshops::{WorkshopError, WorkshopRecord};

pub(crate) mod account;
mod edition;
pub(crate) mod manage;

/// The cookie that remembers a reader's explicit language choice.
pub const LANG_COOKIE: &str = "synpunkt_lang";

/// Sent with every response (see `http::router`): no inline script or
/// style, no framing, nothing from other origins; wasm may compile.
pub const SECURITY_HEADERS: [(HeaderName, &str); 3] = [
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'",
    ),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "same-origin"),
];

/// Adds [`SECURITY_HEADERS`] to a response that does not set them itself.
pub(crate) async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    response
}

const SITE: &str = "Synpunkt";
pub(crate) const APP_CSS: &str = include_str!("../assets/app.css");
/// The site's icon (a speech bubble over lines of text).
const FAVICON: &str = include_str!("../assets/favicon.svg");
pub(crate) const BOOT_JS: &str = include_str!("../assets/boot.js");

// ---------------------------------------------------------------------------
// Language

/// The language of the page chrome (the summary itself is as written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    Sv,
    En,
}

impl Lang {
    fn code(self) -> &'static str {
        match self {
            Lang::Sv => "sv",
            Lang::En => "en",
        }
    }

    fn parse(code: &str) -> Option<Lang> {
        match code {
            "sv" => Some(Lang::Sv),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    fn other(self) -> Lang {
        match self {
            Lang::Sv => Lang::En,
            Lang::En => Lang::Sv,
        }
    }

    fn text(self) -> &'static Text {
        match self {
            Lang::Sv => &SV,
            Lang::En => &EN,
        }
    }
}

/// The reader's language, and whether it was chosen just now (`?lang=`),
/// in which case the response remembers it in a cookie.
#[derive(Debug, Clone, Copy)]
struct LangChoice {
    lang: Lang,
    chosen: bool,
}

/// `?lang=sv|en` wins; else the cookie; else `Accept-Language`; else English.
fn choose_lang(uri: &Uri, headers: &HeaderMap) -> LangChoice {
    if let Some(lang) = query_param(uri, "lang").and_then(Lang::parse) {
        return LangChoice { lang, chosen: true };
    }
    let lang = cookie(headers, LANG_COOKIE)
        .and_then(Lang::parse)
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .map(accept_language)
        })
        .unwrap_or(Lang::En);
    LangChoice {
        lang,
        chosen: false,
    }
}

/// Swedish if the reader ranks Swedish at least as high as English (ties
/// go to whichever is listed first), else English.
fn accept_language(value: &str) -> Lang {
    let mut best: Option<(f32, Lang)> = None;
    for item in value.split(',') {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or_default().trim();
        let primary = tag.split('-').next().unwrap_or_default();
        let Some(lang) = Lang::parse(&primary.to_ascii_lowercase()) else {
            continue;
        };
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok());
        if let Some(q) = q
            && q > 0.0
            && best.is_none_or(|(b, _)| q > b)
        {
            best = Some((q, lang));
        }
    }
    best.map_or(Lang::En, |(_, lang)| lang)
}

/// A query parameter's raw value (only plain ASCII values are looked for).
fn query_param<'a>(uri: &'a Uri, name: &str) -> Option<&'a str> {
    uri.query()?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Every piece of page chrome, in one language.
struct Text {
    /// This language's name in itself (the switch to it says this).
    name: &'static str,
    skip: &'static str,
    home: &'static str,
    status_static: &'static str,
    /// What a public reader is told about the page.
    read_only: &'static str,
    /// Before the workshop's registration (how to take part).
    join_hint: &'static str,
    signed_in_as: &'static str,
    tagline: &'static str,
    list_heading: &'static str,
    yours: &'static str,
    open_workshops: &'static str,
    no_open: &'static str,
    untitled: &'static str,
    when: &'static str,
    hosts: &'static str,
    stakeholders: &'static str,
    ambassadors: &'static str,
    meeting_type: &'static str,
    format: &'static str,
    language: &'static str,
    registration: &'static str,
    open: &'static str,
    invite_only: &'static str,
    role_public: &'static str,
    role_participant: &'static str,
    role_host: &'static str,
    actions: &'static str,
    action: &'static str,
    owner: &'static str,
    due: &'static str,
    status: &'static str,
    no_actions: &'static str,
    status_open: &'static str,
    status_in_progress: &'static str,
    status_done: &'static str,
    comments: &'static str,
    no_comments: &'static str,
    in_section: &'static str,
    resolved: &'static str,
    orphaned: &'static str,
    comment_removed: &'static str,
    edited: &'static str,
    unknown_author: &'static str,
    not_found_title: &'static str,
    not_found_body: &'static str,
    all_workshops: &'static str,
    error_title: &'static str,
    error_body: &'static str,
    join_title: &'static str,
    join_intro: &'static str,
    join_name: &'static str,
    join_button: &'static str,
    invalid_invite: &'static str,
    /// "You are invited to" TITLE "as" ROLE.
    invited_to: (&'static str, &'static str),
    invited_admin: &'static str,
    role_admin: &'static str,
    sign_in_title: &'static str,
    /// "This personal link signs you in as" NAME "in" TITLE.
    sign_in_as: (&'static str, &'static str),
    sign_in_button: &'static str,
    link_unknown_title: &'static str,
    link_unknown_body: &'static str,
    link_gone_title: &'static str,
    link_expired: &'static str,
    link_used_up: &'static str,
    link_revoked: &'static str,
    link_ask_host: &'static str,
    archived: &'static str,
    /// The hosts' pages: a new workshop, archiving (`manage.rs`).
    manage: &'static manage::Strings,
    bad_name: &'static str,
    cross_site: &'static str,
    too_many_title: &'static str,
    too_many_body: &'static str,
    /// "Try again in" N "seconds."
    try_again_in: (&'static str, &'static str),
    /// The account page, signing out, and the header's controls for them.
    account: &'static account::AccountText,
}

const EN: Text = Text {
    name: "English",
    skip: "Skip to content",
    home: "Synpunkt: all workshops",
    status_static: "Static page",
    read_only: "You are reading this summary. Sign in with an invite to comment.",
    join_hint: "Want to join the dialogue? Registration:",
    signed_in_as: "Signed in as",
    tagline: "Real-time dialogue on workshop summaries.",
    list_heading: "Workshops",
    yours: "Your workshops",
    open_workshops: "Open workshops",
    no_open: "There are no open workshops yet.",
    untitled: "Untitled workshop",
    when: "When",
    hosts: "Hosts",
    stakeholders: "Invited stakeholders",
    ambassadors: "Ambassadors",
    meeting_type: "Meeting type",
    format: "Format",
    language: "Language",
    registration: "Registration",
    open: "Open",
    invite_only: "Invite only",
    role_public: "Reader",
    role_participant: "Participant",
    role_host: "Host",
    actions: "Actions",
    action: "Action",
    owner: "Owner",
    due: "Due",
    status: "Status",
    no_actions: "No actions yet.",
    status_open: "Open",
    status_in_progress: "In progress",
    status_done: "Done",
    comments: "Comments",
    no_comments: "No comments yet.",
    in_section: "Section",
    resolved: "Resolved",
    orphaned: "The commented text has been removed",
    comment_removed: "Comment removed.",
    edited: "edited",
    unknown_author: "Unknown",
    not_found_title: "Page not found",
    not_found_body: "There is no page here. The link may be mistyped, or the page may have moved.",
    all_workshops: "All workshops",
    error_title: "Something went wrong",
    error_body: "The page could not be shown. Please try again in a moment.",
    join_title: "Join the dialogue",
    join_intro: "Choose the name others will see beside your comments.",
    join_name: "Your display name",
    join_button: "Join",
    invalid_invite: "This invite link is not valid: it is unknown, expired, used up or revoked.",
    invited_to: ("You are invited to", "as"),
    invited_admin: "This one-time link makes you the administrator of this Synpunkt server.",
    role_admin: "Administrator",
    sign_in_title: "Sign in",
    sign_in_as: ("This personal link signs you in as", "in"),
    sign_in_button: "Sign in",
    link_unknown_title: "Unknown link",
    link_unknown_body: "This link is not known here. Check that it was copied in full.",
    link_gone_title: "This link can no longer be used",
    link_expired: "The link has expired.",
    link_used_up: "The link has already been used as many times as it allows.",
    link_revoked: "The link has been revoked by a host.",
    link_ask_host: "Ask the workshop's host for a new link.",
    archived: "Archived",
    manage: &manage::EN,
    bad_name: "Please give a display name of 1 to 64 characters, without control or text-direction characters.",
    cross_site: "This form can only be sent from this site.",
    too_many_title: "Too many attempts",
    too_many_body: "Too many sign-in attempts came from your address.",
    try_again_in: ("Try again in", "seconds."),
    account: &account::EN,
};

const SV: Text = Text {
    name: "Svenska",
    skip: "Hoppa till innehållet",
    home: "Synpunkt: alla workshoppar",
    status_static: "Statisk sida",
    read_only: "Du läser den här sammanfattningen. Logga in med en inbjudan för att kommentera.",
    join_hint: "Vill du delta i dialogen? Anmälan:",
    signed_in_as: "Inloggad som",
    tagline: "Dialog i realtid om sammanfattningar från workshoppar.",
    list_heading: "Workshoppar",
    yours: "Dina workshoppar",
    open_workshops: "Öppna workshoppar",
    no_open: "Det finns inga öppna workshoppar än.",
    untitled: "Namnlös workshop",
    when: "När",
    hosts: "Värdar",
    stakeholders: "Inbjudna intressenter",
    ambassadors: "Ambassadörer",
    meeting_type: "Mötestyp",
    format: "Format",
    language: "Språk",
    registration: "Anmälan",
    open: "Öppen",
    invite_only: "Endast inbjudna",
    role_public: "Läsare",
    role_participant: "Deltagare",
    role_host: "Värd",
    actions: "Åtgärder",
    action: "Åtgärd",
    owner: "Ansvarig",
    due: "Klart senast",
    status: "Status",
    no_actions: "Inga åtgärder än.",
    status_open: "Öppen",
    status_in_progress: "Pågår",
    status_done: "Klar",
    comments: "Kommentarer",
    no_comments: "Inga kommentarer än.",
    in_section: "Avsnitt",
    resolved: "Löst",
    orphaned: "Den kommenterade texten har tagits bort",
    comment_removed: "Kommentaren är borttagen.",
    edited: "redigerad",
    unknown_author: "Okänd",
    not_found_title: "Sidan hittades inte",
    not_found_body: "Här finns ingen sida. Länken kan vara felskriven, eller så har sidan flyttats.",
    all_workshops: "Alla workshoppar",
    error_title: "Något gick fel",
    error_body: "Sidan kunde inte visas. Försök igen om en stund.",
    join_title: "Gå med i dialogen",
    join_intro: "Välj namnet som andra ser bredvid dina kommentarer.",
    join_name: "Ditt visningsnamn",
    join_button: "Gå med",
    invalid_invite: "Inbjudningslänken gäller inte: den är okänd, har gått ut, är förbrukad eller återkallad.",
    invited_to: ("Du är inbjuden till", "som"),
    invited_admin: "Den här engångslänken gör dig till administratör för den här Synpunkt-servern.",
    role_admin: "Administratör",
    sign_in_title: "Logga in",
    sign_in_as: ("Den här personliga länken loggar in dig som", "i"),
    sign_in_button: "Logga in",
    link_unknown_title: "Okänd länk",
    link_unknown_body: "Länken är inte känd här. Kontrollera att hela länken kom med.",
    link_gone_title: "Länken kan inte användas längre",
    link_expired: "Länken har gått ut.",
    link_used_up: "Länken har redan använts så många gånger som den får.",
    link_revoked: "Länken har återkallats av en värd.",
    link_ask_host: "Be workshoppens värd om en ny länk.",
    archived: "Arkiverade",
    manage: &manage::SV,
    bad_name: "Ange ett visningsnamn på 1 till 64 tecken, utan styrtecken eller tecken som styr textriktningen.",
    cross_site: "Formuläret kan bara skickas från den här webbplatsen.",
    too_many_title: "För många försök",
    too_many_body: "För många inloggningsförsök har kommit från din adress.",
    try_again_in: ("Försök igen om", "sekunder."),
    account: &account::SV,
};

// ---------------------------------------------------------------------------
// Layout

/// Who is reading, in which language.
struct Viewer {
    lang: Lang,
    user: Option<User>,
}

impl Viewer {
    fn t(&self) -> &'static Text {
        self.lang.text()
    }
}

/// What a page tells the browser, search engines and the client about itself.
struct Head<'a> {
    /// `data-page`: "list", "workshop", "not-found" (the client's pages),
    /// "invite", "error", one of `manage.rs`'s ("new", "archive",
    /// "unauthorized", "forbidden", "refused") or of `account.rs`'s.
    kind: &'static str,
    title: &'a str,
    description: Option<&'a str>,
    canonical: Option<&'a str>,
    /// `data-doc-id` and `data-role` (workshop pages).
    workshop: Option<(&'a str, Role)>,
    /// The id of the page's `<main>`, target of the skip link.
    main_id: &'static str,
    /// Whether the web client runs on this page.
    client: bool,
}

/// The page around `content`: head, body attributes, header.
fn layout(viewer: &Viewer, head: &Head, content: Markup) -> Markup {
    let t = viewer.t();
    let other = viewer.lang.other();
    let title = if head.kind == "list" {
        SITE.to_owned()
    } else {
        format!("{} · {SITE}", head.title)
    };
    html! {
        (DOCTYPE)
        html lang=(viewer.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                @if let Some(description) = head.description {
                    meta name="description" content=(description);
                    meta property="og:description" content=(description);
                }
                meta property="og:title" content=(head.title);
                meta property="og:site_name" content=(SITE);
                @if let Some(canonical) = head.canonical {
                    link rel="canonical" href=(canonical);
                } @else {
                    meta name="robots" content="noindex";
                }
                link rel="icon" href="/favicon.svg" type="image/svg+xml";
                link rel="stylesheet" href="/client/app.css";
                @if head.client {
                    script type="module" src="/client/boot.js" {}
                }
            }
            body data-page=(head.kind)
                data-doc-id=[head.workshop.map(|(id, _)| id)]
                data-role=[head.workshop.map(|(_, role)| role_attr(role))]
                data-user-name=(viewer.user.as_ref().map_or("", |u| u.name.as_str()))
                data-lang=(viewer.lang.code()) {
                a.skip-link href=(format!("#{}", head.main_id)) { (t.skip) }
                header.site {
                    a.home href="/" aria-label=(t.home) { (SITE) }
                    @if let Some(user) = &viewer.user {
                        p.who { (t.signed_in_as) " " strong { bdi { (user.name) } } }
                        (account::header_controls(viewer))
                    }
                    a #lang-toggle href=(format!("?lang={}", other.code()))
                        lang=(other.code()) hreflang=(other.code()) { (other.text().name) }
                    p #status role="status" aria-live="polite" data-state="static" {
                        (t.status_static)
                    }
                }
                (content)
            }
        }
    }
}

/// `data-role`: what the client may offer (a drafter's role exists only in
/// drafts, which have no page; it reads as a participant).
fn role_attr(role: Role) -> &'static str {
    match role {
        Role::Public => "public",
        Role::Participant | Role::Drafter => "participant",
        Role::Host => "host",
    }
}

fn role_name(t: &Text, role: Role) -> &'static str {
    match role {
        Role::Public => t.role_public,
        Role::Participant | Role::Drafter => t.role_participant,
        Role::Host => t.role_host,
    }
}

/// A finished page: its status and markup.
type Page = (StatusCode, Markup);

/// The HTTP response for a page, remembering an explicit language choice.
fn respond(choice: LangChoice, (status, markup): Page) -> Response {
    let mut response = (status, Html(markup.into_string())).into_response();
    let headers = response.headers_mut();
    // The page depends on the session and the language.
    headers.insert(
        header::VARY,
        HeaderValue::from_static("Cookie, Accept-Language"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if choice.chosen {
        let value = format!(
            "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
            choice.lang.code()
        );
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(header::SET_COOKIE, value);
        }
    }
    response
}

/// The signed-in user, from the cookie (or a bearer token); never
/// `?token=`, which is for WebSocket clients only.
fn viewer_of(app: &AppState, headers: &HeaderMap, lang: Lang) -> Result<Viewer, ApiError> {
    let user = identity(app, headers, &HashMap::new())?.map(|(_, user)| user);
    Ok(Viewer { lang, user })
}

/// The page for an error: missing and invisible look the same (404);
/// details of internal errors go to the log only.
fn error_page(viewer: &Viewer, error: ApiError) -> Page {
    match error {
        ApiError::NotFound | ApiError::BadId => (StatusCode::NOT_FOUND, not_found_page(viewer)),
        other => {
            tracing::error!(error = %other, detail = ?other, "page failed");
            let t = viewer.t();
            let head = Head {
                kind: "error",
                title: t.error_title,
                description: None,
                canonical: None,
                workshop: None,
                main_id: "main",
                client: false,
            };
            let content = html! {
                main #main .page {
                    h1 { (t.error_title) }
                    p { (t.error_body) }
                    p { a href="/" { (t.all_workshops) } }
                }
            };
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                layout(viewer, &head, content),
            )
        }
    }
}

fn not_found_page(viewer: &Viewer) -> Markup {
    let t = viewer.t();
    let head = Head {
        kind: "not-found",
        title: t.not_found_title,
        description: None,
        canonical: None,
        workshop: None,
        main_id: "main",
        client: true,
    };
    let content = html! {
        main #main .page {
            h1 { (t.not_found_title) }
            p { (t.not_found_body) }
            p { a href="/" { (t.all_workshops) } }
        }
    };
    layout(viewer, &head, content)
}

/// The caller's language choice and identity (or the error page, if the
/// session could not be read).
fn start(app: &AppState, uri: &Uri, headers: &HeaderMap) -> (LangChoice, Result<Viewer, Page>) {
    let choice = choose_lang(uri, headers);
    let viewer = viewer_of(app, headers, choice.lang).map_err(|e| {
        let anonymous = Viewer {
            lang: choice.lang,
            user: None,
        };
        error_page(&anonymous, e)
    });
    (choice, viewer)
}

/// The response for a rendered page, or for the page of its error.
fn finish(choice: LangChoice, viewer: &Viewer, page: Result<Page, ApiError>) -> Response {
    respond(choice, page.unwrap_or_else(|e| error_page(viewer, e)))
}

// ---------------------------------------------------------------------------
// The workshop list

/// `GET /`: the open workshops; for a signed-in caller also their own.
pub(crate) async fn list(
    State(app): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let (choice, viewer) = start(&app, &uri, &headers);
    let viewer = match viewer {
        Ok(viewer) => viewer,
        Err(page) => return respond(choice, page),
    };
    let signed_out = account::just_signed_out(&headers, &viewer);
    let page = list_page(&app, &viewer, signed_out);
    account::forget_signed_out(&headers, finish(choice, &viewer, page))
}

/// The list; `signed_out`: the browser has just signed out (the page says
/// so and carries the marker that clears what the browser kept).
fn list_page(app: &AppState, viewer: &Viewer, signed_out: bool) -> Result<Page, ApiError> {
    let t = viewer.t();
    let mut yours = Vec::new();
    let mut open = Vec::new();
    let mut archived = Vec::new();
    for record in app.workshops.list()? {
        let doc = DocumentId::parse(&record.id)
            .map_err(|_| ApiError::Internal(format!("bad workshop id {}", record.id)))?;
        let role = app
            .auth
            .role(viewer.user.as_ref(), &doc, record.is_open())?;
        // An archived workshop is listed to its hosts (and admins) only,
        // apart, where they may restore it.
        if record.archived {
            if role == Some(Role::Host) {
                archived.push(record);
            }
            continue;
        }
        if let Some(role) = role.filter(|r| *r != Role::Public) {
            yours.push((record.clone(), Some(role)));
        }
        if record.is_open() {
            open.push((record, None));
        }
    }
    let may_create = match &viewer.user {
        Some(user) => crate::api::may_create(app, user)?,
        None => false,
    };
    let head = Head {
        kind: "list",
        title: SITE,
        description: Some(t.tagline),
        canonical: Some("/"),
        workshop: None,
        main_id: "main",
        client: true,
    };
    let content = html! {
        main #main .page {
            @if signed_out {
                (account::signed_out_notice(viewer))
            }
            h1 { (t.list_heading) }
            p.tagline { (t.tagline) }
            @if may_create {
                (manage::new_workshop_link(t))
            }
            @if !yours.is_empty() {
                section #yours aria-labelledby="yours-heading" {
                    h2 #yours-heading { (t.yours) }
                    (workshop_list(t, &yours))
                }
            }
            section #open aria-labelledby="open-heading" {
                h2 #open-heading { (t.open_workshops) }
                @if open.is_empty() {
                    p.empty { (t.no_open) }
                } @else {
                    (workshop_list(t, &open))
                }
            }
            @if !archived.is_empty() {
                (manage::archived_section(t, &archived))
            }
        }
    };
    Ok((StatusCode::OK, layout(viewer, &head, content)))
}

fn workshop_list(t: &Text, items: &[(WorkshopRecord, Option<Role>)]) -> Markup {
    html! {
        ul.workshops {
            @for (record, role) in items {
                li.workshop {
                    a href=(format!("/w/{}", record.id)) {
                        bdi { (non_empty(&record.title, t.untitled)) }
                    }
                    @if !record.when.is_empty() {
                        " " span.when dir="auto" { (record.when) }
                    }
                    @if let Some(role) = role {
                        " " span.badge data-role=(role_attr(*role)) { (role_name(t, *role)) }
                    }
                    @if !record.is_open() {
                        " " span.badge.invite-only { (t.invite_only) }
                    }
                }
            }
        }
    }
}

fn non_empty<'a>(text: &'a str, fallback: &'a str) -> &'a str {
    if text.trim().is_empty() {
        fallback
    } else {
        text
    }
}

// ---------------------------------------------------------------------------
// One workshop

/// A comment thread with the verified names of its comments' authors.
struct NamedThread {
    view: ThreadView,
    /// Per comment, the name its actor is bound to (if any).
    names: Vec<Option<String>>,
}

/// `GET /w/{id}`: one workshop's summary, metadata, actions and threads.
pub(crate) async fn workshop(
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
    let page = match id {
        Ok(Path(id)) => workshop_page(&app, &viewer, &id).await,
        Err(_) => Err(ApiError::NotFound),
    };
    finish(choice, &viewer, page)
}

async fn workshop_page(app: &Arc<AppState>, viewer: &Viewer, id: &str) -> Result<Page, ApiError> {
    let (doc, record, role) = crate::api::workshop_for(app, viewer.user.as_ref(), id)?;
    if record.edition_only(role) {
        return edition_page(app, viewer, doc, &record).await;
    }
    let (summary, threads) = read_document(app, doc).await?.ok_or(ApiError::NotFound)?;
    let t = viewer.t();
    let title = non_empty(&summary.workshop.title, t.untitled);
    let description = description(&summary);
    let canonical = format!("/w/{doc}");
    let doc_id = doc.to_string();
    let head = Head {
        kind: "workshop",
        title,
        description: Some(&description),
        canonical: Some(&canonical),
        workshop: Some((&doc_id, role)),
        main_id: "summary",
        client: true,
    };
    let registration = summary.workshop.registration.trim();
    let content = html! {
        @if role == Role::Public {
            // Nothing here can be changed by this reader: say so, and how
            // to take part when the workshop takes registrations.
            div.read-only-note {
                div #read-only-note role="note" {
                    p { (t.read_only) }
                    @if !registration.is_empty() {
                        p.join-hint { (t.join_hint) " " bdi { (registration) } }
                    }
                }
            }
        }
        div.layout.with-sidebar {
            main #summary {
                h1 #title dir="auto" { (title) }
                (metadata(t, &summary.workshop))
                @for section in &summary.sections {
                    (section_markup(section))
                }
                (actions(t, &summary.actions))
            }
            aside #sidebar aria-label=(t.comments) {
                (threads_markup(t, &summary.sections, threads))
            }
        }
        @if role == Role::Host {
            (manage::host_tools(t, &doc_id, record.archived))
        }
    };
    Ok((StatusCode::OK, layout(viewer, &head, content)))
}

/// A workshop page for a public shown only the published edition
/// (`pages/edition.rs`): no live document, no threads, no client.
async fn edition_page(
    app: &Arc<AppState>,
    viewer: &Viewer,
    doc: DocumentId,
    record: &crate::workshops::WorkshopRecord,
) -> Result<Page, ApiError> {
    let edition = match crate::api::edition_of(app, doc).await {
        Ok(e) => Some(e),
        Err(ApiError::NotPublished) => None,
        Err(e) => return Err(e),
    };
    let t = viewer.t();
    let title = non_empty(
        edition
            .as_ref()
            .map_or(&record.title, |e| &e.summary.workshop.title),
        t.untitled,
    );
    let description = edition.as_ref().map(|e| description(&e.summary));
    let canonical = format!("/w/{doc}");
    let head = Head {
        kind: "edition",
        title,
        description: description.as_deref(),
        canonical: Some(&canonical),
        workshop: None,
        main_id: "summary",
        client: false,
    };
    let content = html! {
        div.layout {
            (edition::main(viewer.lang, t, record, edition.as_ref()))
        }
    };
    Ok((StatusCode::OK, layout(viewer, &head, content)))
}

/// Loads the document once, off the async workers, and reads the summary
/// and the threads with their authors' names.
async fn read_document(
    app: &Arc<AppState>,
    doc: DocumentId,
) -> Result<Option<(Summary, Vec<NamedThread>)>, ApiError> {
    let app = app.clone();
    tokio::task::spawn_blocking(move || {
        let Some(document) = app.workshops.load(&doc)? else {
            return Ok(None);
        };
        let summary = Summary::read(&document).map_err(WorkshopError::from)?;
        let threads = name_threads(&app, model::threads::threads(&document))?;
        Ok(Some((summary, threads)))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}

/// Attaches verified author names (the actor binding, as the threads API
/// does), looking each actor up once.
fn name_threads(app: &AppState, threads: Vec<ThreadView>) -> Result<Vec<NamedThread>, ApiError> {
    let mut known: HashMap<String, Option<String>> = HashMap::new();
    let mut out = Vec::with_capacity(threads.len());
    for view in threads {
        let mut names = Vec::with_capacity(view.comments.len());
        for comment in &view.comments {
            if !known.contains_key(&comment.author) {
                let name = crate::api::author_json(app, &comment.author)?["name"]
                    .as_str()
                    .map(str::to_owned);
                known.insert(comment.author.clone(), name);
            }
            names.push(known.get(&comment.author).cloned().flatten());
        }
        out.push(NamedThread { view, names });
    }
    Ok(out)
}

/// For sharing and search engines: the first paragraph of the summary, or
/// when and by whom, at most 160 characters.
fn description(summary: &Summary) -> String {
    // Workshops imported before the preamble became the series'
    // description carry it as an "About the series" section: never that.
    let first = summary
        .sections
        .iter()
        .filter(|s| !(s.id == "about" && s.heading == "About the series"))
        .flat_map(|s| s.body.split('\n'))
        .map(str::trim)
        .find(|line| !line.is_empty());
    let text = match first {
        Some(line) => line.to_owned(),
        None => {
            let w = &summary.workshop;
            let mut parts = vec![w.when.clone()];
            parts.extend(w.hosts.iter().cloned());
            parts.retain(|p| !p.trim().is_empty());
            parts.join(" · ")
        }
    };
    shorten(&text, 160)
}

/// At most `max` characters, cut at a word boundary with an ellipsis.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max - 1).collect();
    let cut = match cut.rfind(char::is_whitespace) {
        Some(i) if i > 0 => &cut[..i],
        _ => &cut,
    };
    format!("{}…", cut.trim_end())
}

/// The workshop's metadata; empty fields are left out. `data-field` names
/// the schema field each entry shows.
fn metadata(t: &Text, w: &Workshop) -> Markup {
    let meeting = match w.meeting_type {
        MeetingType::Open => t.open,
        MeetingType::InviteOnly => t.invite_only,
    };
    let one = std::slice::from_ref;
    html! {
        dl.meta {
            (meta_entry("when", t.when, one(&w.when)))
            (meta_entry("hosts", t.hosts, &w.hosts))
            (meta_entry("stakeholders", t.stakeholders, &w.stakeholders))
            (meta_entry("ambassadors", t.ambassadors, &w.ambassadors))
            div data-field="meetingType" {
                dt { (t.meeting_type) }
                dd data-meeting-type=(w.meeting_type.as_str()) { (meeting) }
            }
            (meta_entry("format", t.format, one(&w.format)))
            (meta_entry("language", t.language, one(&w.language)))
            (meta_entry("registration", t.registration, one(&w.registration)))
        }
    }
}

/// One `dt` and a `dd` per non-empty value; nothing if all are empty.
fn meta_entry(field: &str, label: &str, values: &[String]) -> Markup {
    let values: Vec<&String> = values.iter().filter(|v| !v.trim().is_empty()).collect();
    html! {
        @if !values.is_empty() {
            div data-field=(field) {
                dt { (label) }
                @for value in values {
                    dd dir="auto" { (value) }
                }
            }
        }
    }
}

/// A section, exactly as the client expects it: one `<p>` per line.
fn section_markup(section: &Section) -> Markup {
    html! {
        section.section data-section=(section.id) {
            h2.heading dir="auto" { (section.heading) }
            div.body data-section=(section.id) {
                @for line in section.body.split('\n') {
                    p dir="auto" { (line) }
                }
            }
        }
    }
}

fn actions(t: &Text, actions: &[Action]) -> Markup {
    html! {
        section #actions aria-labelledby="actions-heading" {
            h2 #actions-heading { (t.actions) }
            @if actions.is_empty() {
                p.empty { (t.no_actions) }
            } @else {
                table {
                    thead {
                        tr {
                            th scope="col" { (t.action) }
                            th scope="col" { (t.owner) }
                            th scope="col" { (t.due) }
                            th scope="col" { (t.status) }
                        }
                    }
                    tbody {
                        @for action in actions {
                            tr data-action=(action.id) {
                                td dir="auto" { (action.text) }
                                td dir="auto" { (action.owner) }
                                td dir="auto" { (action.due) }
                                td {
                                    span.badge data-status=(action.status) dir="auto" {
                                        (action_status(t, &action.status))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Known statuses in the reader's language; anything else as written.
fn action_status<'a>(t: &'a Text, status: &'a str) -> &'a str {
    match status {
        "open" => t.status_open,
        "in-progress" => t.status_in_progress,
        "done" => t.status_done,
        other => other,
    }
}

/// The read-only thread list: in section order, then by place; threads
/// whose text is gone come last in their section.
fn threads_markup(t: &Text, sections: &[Section], mut threads: Vec<NamedThread>) -> Markup {
    let section_index = |id: &str| {
        sections
            .iter()
            .position(|s| s.id == id)
            .unwrap_or(usize::MAX)
    };
    threads.sort_by_key(|th| {
        let place = match th.view.anchor {
            Anchor::Anchored { start, .. } | Anchor::Moved { start, .. } => start,
            Anchor::Orphaned => usize::MAX,
        };
        (section_index(&th.view.section), place)
    });
    let heading_of = |id: &str| sections.iter().find(|s| s.id == id).map(|s| &s.heading);
    html! {
        section #threads aria-labelledby="threads-heading" {
            h2 #threads-heading { (t.comments) }
            @if threads.is_empty() {
                p.empty { (t.no_comments) }
            }
            @for thread in &threads {
                (thread_markup(t, thread, heading_of(&thread.view.section)))
            }
        }
    }
}

fn thread_markup(t: &Text, thread: &NamedThread, section: Option<&String>) -> Markup {
    let view = &thread.view;
    let orphaned = view.anchor == Anchor::Orphaned;
    html! {
        article.thread.resolved[view.resolved].orphaned[orphaned]
            data-thread=(view.id) data-section=(view.section) {
            @if let Some(heading) = section {
                p.where { (t.in_section) ": " bdi { (heading) } }
            }
            @if !view.quote.is_empty() {
                blockquote.quote dir="auto" { (view.quote) }
            }
            @if view.resolved || orphaned {
                p.thread-state {
                    @if view.resolved { span.badge.resolved { (t.resolved) } " " }
                    @if orphaned { span.badge.orphaned { (t.orphaned) } }
                }
            }
            ol.comments {
                @for (comment, name) in view.comments.iter().zip(&thread.names) {
                    li.comment data-comment=(comment.id) {
                        p.author {
                            strong { bdi { (name.as_deref().unwrap_or(t.unknown_author)) } }
                            @if comment.edited && !comment.deleted {
                                " " span.edited { "(" (t.edited) ")" }
                            }
                        }
                        @if comment.deleted {
                            p.text.removed { (t.comment_removed) }
                        } @else {
                            p.text dir="auto" { (comment.body) }
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// 404

/// Any path no route serves: the 404 page in the reader's language.
pub(crate) async fn not_found(
    State(app): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let (choice, viewer) = start(&app, &uri, &headers);
    let page = match viewer {
        Ok(viewer) => error_page(&viewer, ApiError::NotFound),
        Err(page) => page,
    };
    respond(choice, page)
}

// ---------------------------------------------------------------------------
// The invite page

/// `GET /invite/{token}`: choose a display name (a plain form).
pub(crate) async fn invite_page(
    State(app): State<Arc<AppState>>,
    token: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let token = token.map(|Path(t)| t).unwrap_or_default();
    let (choice, viewer) = start(&app, &uri, &headers);
    let page = match viewer {
        Ok(viewer) => match invite_context(&app, &token) {
            Ok(Ok(context)) => {
                invite_form_page(&viewer, &token, Some(&context), StatusCode::OK, None)
            }
            Ok(Err(unusable)) => link_unusable_page(&viewer, unusable),
            Err(e) => error_page(&viewer, e),
        },
        Err(page) => page,
    };
    respond(choice, page)
}

/// `POST /invite/{token}`: accept, set the session cookie, and go to the
/// workshop the invite is for (the list, for the admin sign-in link). A
/// refusal shows the form again with the reason.
pub(crate) async fn invite_form(
    State(app): State<Arc<AppState>>,
    token: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = token.map(|Path(t)| t).unwrap_or_default();
    let (choice, viewer) = start(&app, &uri, &headers);
    let viewer = match viewer {
        Ok(viewer) => viewer,
        Err(page) => return respond(choice, page),
    };
    let t = viewer.t();
    if cross_site(&headers) {
        let page = invite_form_page(
            &viewer,
            &token,
            None,
            StatusCode::FORBIDDEN,
            Some(t.cross_site),
        );
        return respond(choice, page);
    }
    let context = match invite_context(&app, &token) {
        Ok(Ok(context)) => context,
        Ok(Err(unusable)) => return respond(choice, link_unusable_page(&viewer, unusable)),
        Err(e) => return respond(choice, error_page(&viewer, e)),
    };
    let name = url_decoded_field(&body, "name").unwrap_or_default();
    match accept(&app, &token, &name, viewer.user.as_ref()).await {
        Ok((session_token, target)) => see_other(&app, &target, &session_token),
        Err(ApiError::Auth(AuthError::BadName(_))) => respond(
            choice,
            invite_form_page(
                &viewer,
                &token,
                Some(&context),
                StatusCode::BAD_REQUEST,
                Some(t.bad_name),
            ),
        ),
        // Used up or revoked in the meantime.
        Err(ApiError::Auth(_)) => respond(
            choice,
            match invite_context(&app, &token) {
                Ok(Err(unusable)) => link_unusable_page(&viewer, unusable),
                _ => invite_form_page(
                    &viewer,
                    &token,
                    Some(&context),
                    StatusCode::GONE,
                    Some(t.invalid_invite),
                ),
            },
        ),
        Err(e) => respond(choice, error_page(&viewer, e)),
    }
}

/// The answer (429) to a client over the sign-in limit (see `guard`): the
/// invite form with the reason, or a page saying when to try again. The
/// caller is not looked up: it is anonymous here.
pub(crate) fn too_many_attempts(uri: &Uri, headers: &HeaderMap, seconds: u64) -> Response {
    let choice = choose_lang(uri, headers);
    let viewer = Viewer {
        lang: choice.lang,
        user: None,
    };
    let t = viewer.t();
    let (before, after) = t.try_again_in;
    let reason = format!("{} {before} {seconds} {after}", t.too_many_body);
    let status = StatusCode::TOO_MANY_REQUESTS;
    if let Some(token) = uri.path().strip_prefix("/invite/") {
        return respond(
            choice,
            invite_form_page(&viewer, token, None, status, Some(&reason)),
        );
    }
    let head = Head {
        kind: "error",
        title: t.too_many_title,
        description: None,
        canonical: None,
        workshop: None,
        main_id: "main",
        client: false,
    };
    let content = html! {
        main #main .page {
            h1 { (t.too_many_title) }
            p role="alert" { (reason) }
            p { a href="/" { (t.all_workshops) } }
        }
    };
    respond(choice, (status, layout(&viewer, &head, content)))
}

/// Accepts an invite durably; returns the session token and where to go.
async fn accept(
    app: &AppState,
    token: &str,
    name: &str,
    existing: Option<&User>,
) -> Result<(String, String), ApiError> {
    let workshop = app
        .auth
        .invite(token)?
        .and_then(|invite| invite.workshop_id)
        .and_then(|id| DocumentId::parse(&id).ok());
    let (session_token, _, _) = app.auth.accept_invite(token, name, existing)?;
    app.shared
        .commit
        .durable()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let target = workshop.map_or_else(|| "/".to_owned(), |doc| format!("/w/{doc}"));
    Ok((session_token, target))
}

/// A `303 See Other` to `target` that signs the browser in.
fn see_other(app: &AppState, target: &str, session_token: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::LOCATION,
        HeaderValue::from_str(target).unwrap_or(HeaderValue::from_static("/")),
    );
    headers.insert(
        header::SET_COOKIE,
        crate::api::session_cookie(app, session_token),
    );
    response
}

/// What a usable invite leads to, shown before anything is typed.
struct InviteContext {
    grant: Grant,
    /// The workshop's title (none for the admin's link).
    workshop: Option<String>,
    /// For a personal sign-in link: the name of the user it signs into.
    user_name: Option<String>,
}

/// Why a link cannot be used.
#[derive(Debug, Clone, Copy)]
enum Unusable {
    /// No such link (404).
    Unknown,
    /// Known, but no longer usable (410).
    Gone(InviteState),
}

/// The invite behind a token and what it leads to, or why it cannot be
/// used. An invite whose workshop or user is gone is no longer usable.
fn invite_context(
    app: &AppState,
    token: &str,
) -> Result<Result<InviteContext, Unusable>, ApiError> {
    let Some(invite) = app.auth.invite(token)? else {
        return Ok(Err(Unusable::Unknown));
    };
    let state = app.auth.invite_state(&invite);
    if state != InviteState::Valid {
        return Ok(Err(Unusable::Gone(state)));
    }
    let workshop = match invite.workshop_id.as_deref().map(DocumentId::parse) {
        None => None,
        Some(Ok(doc)) => match app.workshops.get(&doc)? {
            Some(record) => Some(record.title),
            None => return Ok(Err(Unusable::Gone(InviteState::Revoked))),
        },
        Some(Err(_)) => return Ok(Err(Unusable::Gone(InviteState::Revoked))),
    };
    let user_name = match (&invite.grant, &invite.user_id) {
        (Grant::SignIn, Some(id)) => match app.auth.user(id)? {
            Some(user) => Some(user.name),
            None => return Ok(Err(Unusable::Gone(InviteState::Revoked))),
        },
        _ => None,
    };
    Ok(Ok(InviteContext {
        grant: invite.grant,
        workshop,
        user_name,
    }))
}

/// The page of a link that cannot be used: 404 for an unknown one, 410
/// (with the reason) for one that is expired, used up or revoked.
fn link_unusable_page(viewer: &Viewer, unusable: Unusable) -> Page {
    let t = viewer.t();
    let (status, title, reason) = match unusable {
        Unusable::Unknown => (
            StatusCode::NOT_FOUND,
            t.link_unknown_title,
            t.link_unknown_body,
        ),
        Unusable::Gone(state) => (
            StatusCode::GONE,
            t.link_gone_title,
            match state {
                InviteState::Expired => t.link_expired,
                InviteState::UsedUp => t.link_used_up,
                InviteState::Revoked | InviteState::Valid => t.link_revoked,
            },
        ),
    };
    let kind = match unusable {
        Unusable::Unknown => "link-unknown",
        Unusable::Gone(_) => "link-gone",
    };
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
            p #link-state role="alert" { (reason) }
            p { (t.link_ask_host) }
            p { a href="/" { (t.all_workshops) } }
        }
    };
    (status, layout(viewer, &head, content))
}

fn invite_form_page(
    viewer: &Viewer,
    token: &str,
    context: Option<&InviteContext>,
    status: StatusCode,
    error: Option<&str>,
) -> Page {
    let t = viewer.t();
    // Only a token's own characters go into the form's address.
    let token: String = token
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(64)
        .collect();
    let sign_in = context.and_then(|c| c.user_name.as_deref());
    let title = if sign_in.is_some() {
        t.sign_in_title
    } else {
        t.join_title
    };
    let head = Head {
        kind: "invite",
        title,
        description: None,
        canonical: None,
        workshop: None,
        main_id: "main",
        client: false,
    };
    let role = context.map(|c| match c.grant {
        Grant::Host => t.role_host,
        Grant::Admin => t.role_admin,
        Grant::Participant | Grant::SignIn => t.role_participant,
    });
    let role_attr = context.map(|c| match c.grant {
        Grant::Host => "host",
        Grant::Admin => "admin",
        Grant::Participant => "participant",
        Grant::SignIn => "sign-in",
    });
    let workshop = context.and_then(|c| c.workshop.as_deref());
    let content = html! {
        main #main .page.narrow data-grant=[role_attr] {
            h1 { (title) }
            @if let Some(name) = sign_in {
                p #invite-for {
                    (t.sign_in_as.0) " " strong { bdi { (name) } }
                    @if let Some(workshop) = workshop {
                        " " (t.sign_in_as.1) " " strong #invite-workshop { bdi { (workshop) } }
                    }
                    "."
                }
            } @else if let Some(c) = context {
                @if c.grant == Grant::Admin {
                    p #invite-for { (t.invited_admin) }
                } @else if let (Some(workshop), Some(role)) = (workshop, role) {
                    p #invite-for {
                        (t.invited_to.0) " " strong #invite-workshop { bdi { (workshop) } }
                        " " (t.invited_to.1) " " strong #invite-role { (role) } "."
                    }
                }
            }
            @if sign_in.is_none() {
                p { (t.join_intro) }
            }
            @if let Some(error) = error {
                p #name-error .error role="alert" { (error) }
            }
            form.join method="post" action=(format!("/invite/{token}")) {
                @if sign_in.is_none() {
                    label for="name" { (t.join_name) }
                    input #name name="name" required maxlength=(crate::input::NAME_MAX) autocomplete="name"
                        aria-describedby=[error.map(|_| "name-error")];
                }
                button type="submit" {
                    @if sign_in.is_some() { (t.sign_in_button) } @else { (t.join_button) }
                }
            }
        }
    };
    (status, layout(viewer, &head, content))
}

/// A field of an `application/x-www-form-urlencoded` body.
fn url_decoded_field(body: &[u8], field: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == field).then(|| percent_decode(&v.replace('+', " ")))
    })
}

fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(hi * 16 + lo);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------
// Static files

/// `GET /client/app.css`: the pages' (and the client's) stylesheet.
/// `GET /favicon.svg`: the icon every page links to.
pub(crate) async fn favicon() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        FAVICON,
    )
}

pub(crate) async fn app_css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        APP_CSS,
    )
}

/// `GET /client/boot.js`: loads the web client; a script file, since the
/// pages allow no inline script.
pub(crate) async fn boot_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        BOOT_JS,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_prefers_the_higher_ranked_of_swedish_and_english() {
        assert_eq!(accept_language("sv-SE"), Lang::Sv);
        assert_eq!(accept_language("sv-SE,sv;q=0.9,en;q=0.8"), Lang::Sv);
        assert_eq!(accept_language("de, SV;q=0.9, en;q=0.5"), Lang::Sv);
        assert_eq!(accept_language("en-GB,en;q=0.9,sv;q=0.8"), Lang::En);
        assert_eq!(accept_language("sv;q=0.5, en"), Lang::En);
        assert_eq!(accept_language("en, sv"), Lang::En);
        assert_eq!(accept_language("sv;q=0, en;q=0.1"), Lang::En);
        assert_eq!(accept_language("de, fr"), Lang::En);
        assert_eq!(accept_language(""), Lang::En);
        assert_eq!(accept_language("sv;q=bad"), Lang::En);
    }

    #[test]
    fn the_query_wins_over_the_cookie_which_wins_over_the_header() {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("sv"));
        let plain: Uri = "/".parse().expect("uri");
        let choice = choose_lang(&plain, &headers);
        assert_eq!((choice.lang, choice.chosen), (Lang::Sv, false));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; synpunkt_lang=en"),
        );
        assert_eq!(choose_lang(&plain, &headers).lang, Lang::En);
        let query: Uri = "/w/x?x=1&lang=sv".parse().expect("uri");
        let choice = choose_lang(&query, &headers);
        assert_eq!((choice.lang, choice.chosen), (Lang::Sv, true));
        let bad: Uri = "/?lang=de".parse().expect("uri");
        assert!(!choose_lang(&bad, &headers).chosen);
    }

    #[test]
    fn descriptions_are_short_and_cut_between_words() {
        assert_eq!(shorten("kort", 160), "kort");
        let long = "ord ".repeat(60);
        let short = shorten(&long, 160);
        assert!(short.chars().count() <= 160, "{short}");
        assert!(short.ends_with("ord…"), "{short}");
        let mut summary = Summary::default();
        summary.workshop.when = "Tisdag".into();
        summary.workshop.hosts = vec!["Maria".into()];
        assert_eq!(description(&summary), "Tisdag · Maria");
        summary.sections.push(Section {
            id: "s".into(),
            heading: "H".into(),
            body: "\n  Första stycket.\nAndra.".into(),
        });
        assert_eq!(description(&summary), "Första stycket.");
    }

    #[test]
    fn every_line_of_a_body_is_one_paragraph() {
        let markup = section_markup(&Section {
            id: "issue".into(),
            heading: "<b>Rubrik</b>".into(),
            body: "Ett\n\nTre <i>".into(),
        })
        .into_string();
        assert_eq!(
            markup,
            "<section class=\"section\" data-section=\"issue\"><h2 class=\"heading\" dir=\"auto\">&lt;b&gt;Rubrik&lt;/b&gt;</h2>\
             <div class=\"body\" data-section=\"issue\"><p dir=\"auto\">Ett</p><p dir=\"auto\"></p>\
             <p dir=\"auto\">Tre &lt;i&gt;</p></div></section>"
        );
    }

    #[test]
    fn form_fields_are_decoded() {
        assert_eq!(
            url_decoded_field(b"x=1&name=%C3%85sa+B%26", "name").as_deref(),
            Some("Åsa B&")
        );
        assert_eq!(url_decoded_field(b"x=1", "name"), None);
    }
}
