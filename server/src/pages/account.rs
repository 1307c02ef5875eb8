//! Signing in and out from the browser, server-rendered (no JavaScript
//! needed): the header's account link and sign-out button, the account
//! page (`/account`: the user's own sessions, each with an End button, and
//! "sign out everywhere else"), and the forms behind them.
//!
//! - `POST /sign-out` ends the session server-side, forgets the cookie and
//!   sends the browser to `/` (303), which then carries the marker
//!   `data-signed-out`: `boot.js` sees it and clears what the browser kept
//!   of the user (the service worker's cache, the IndexedDB store and the
//!   documents in `localStorage`). The marker is shown only once, after a
//!   real sign-out, through a short-lived `SameSite=Strict` cookie that
//!   only this form sets: a link to `/` from elsewhere cannot make a
//!   browser throw away offline changes it has not sent yet.
//! - `POST /account/sessions/{id}/end` and `POST
//!   /account/end-other-sessions` end the user's other sessions, then go
//!   back to the account page (303).
//!
//! Every form here changes state with the session cookie, so a request
//! from another site (per `Sec-Fetch-Site` or `Origin`, decided by
//! [`cross_site`] exactly as for the JSON API, `/sync` and the invite form)
//! is refused with a 403 page and changes nothing: `SameSite=Lax` alone
//! does not cover a sibling subdomain, or a browser that ignores it. What
//! ends sessions is the API's own code (`api/access.rs`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::{Head, LangChoice, Page, Viewer, choose_lang, cookie, error_page, layout, respond};
use crate::AppState;
use crate::api::{ApiError, FORGET_SESSION_COOKIE, OwnSession, cross_site, identity, token_of};
use crate::auth::{Session, User};

/// The cookie that tells `/` the browser has just signed out (so the page
/// carries the marker). `SameSite=Strict`: sent only on navigations that
/// began on this site.
const SIGNED_OUT_COOKIE: &str = "synpunkt_signed_out";

/// How long that cookie lives: the redirect follows at once; a minute
/// leaves room for a slow network and never lingers.
const SIGNED_OUT_SECONDS: u32 = 60;

/// The account's part of the page chrome, in one language (a part of the
/// string table, `Text::account`).
pub(crate) struct AccountText {
    your_account: &'static str,
    sign_out: &'static str,
    title: &'static str,
    sessions_heading: &'static str,
    sessions_intro: &'static str,
    signed_in_at: &'static str,
    last_used: &'static str,
    session_column: &'static str,
    this_device: &'static str,
    end: &'static str,
    /// The End button's accessible name: "End the session signed in" DATE.
    end_label: &'static str,
    end_others: &'static str,
    no_others: &'static str,
    signed_out: &'static str,
    not_signed_in_title: &'static str,
    not_signed_in_body: &'static str,
    /// "The administrator can print ... with the command" `synpunkt admin-link` ".".
    not_signed_in_admin: &'static str,
    session_not_found_title: &'static str,
    session_not_found_body: &'static str,
    refused_title: &'static str,
    refused_nothing_changed: &'static str,
}

pub(crate) const EN: AccountText = AccountText {
    your_account: "Your account",
    sign_out: "Sign out",
    title: "Your account",
    sessions_heading: "Where you are signed in",
    sessions_intro: "Each browser or device you signed in with has a session. End any you do not recognise or no longer use.",
    signed_in_at: "Signed in",
    last_used: "Last used",
    session_column: "Session",
    this_device: "This device",
    end: "End",
    end_label: "End the session signed in",
    end_others: "Sign out everywhere else",
    no_others: "You are signed in on this device only.",
    signed_out: "You are signed out. This browser no longer keeps your pages or documents.",
    not_signed_in_title: "You are not signed in",
    not_signed_in_body: "To sign in, open a sign-in link: the invite link you were given, or a personal sign-in link that a host of your workshop can make for you.",
    not_signed_in_admin: "The administrator can print a new sign-in link on the server's machine with the command",
    session_not_found_title: "Session not found",
    session_not_found_body: "This is not one of your sessions, or it has ended already.",
    refused_title: "Request refused",
    refused_nothing_changed: "Nothing was changed.",
};

pub(crate) const SV: AccountText = AccountText {
    your_account: "Ditt konto",
    sign_out: "Logga ut",
    title: "Ditt konto",
    sessions_heading: "Där du är inloggad",
    sessions_intro: "Varje webbläsare eller enhet du har loggat in med har en session. Avsluta dem du inte känner igen eller inte längre använder.",
    signed_in_at: "Inloggad",
    last_used: "Senast använd",
    session_column: "Session",
    this_device: "Den här enheten",
    end: "Avsluta",
    end_label: "Avsluta sessionen inloggad",
    end_others: "Logga ut på alla andra enheter",
    no_others: "Du är bara inloggad på den här enheten.",
    signed_out: "Du är utloggad. Webbläsaren sparar inte längre dina sidor eller dokument.",
    not_signed_in_title: "Du är inte inloggad",
    not_signed_in_body: "Logga in genom att öppna en inloggningslänk: inbjudningslänken du fick, eller en personlig inloggningslänk som en värd för din workshop kan skapa åt dig.",
    not_signed_in_admin: "Administratören kan skriva ut en ny inloggningslänk på serverns dator med kommandot",
    session_not_found_title: "Sessionen hittades inte",
    session_not_found_body: "Det här är inte en av dina sessioner, eller så har den redan avslutats.",
    refused_title: "Begäran nekad",
    refused_nothing_changed: "Ingenting ändrades.",
};

// ---------------------------------------------------------------------------
// The header

/// The signed-in header's account link and sign-out button (a plain form:
/// signing out works without JavaScript).
pub(super) fn header_controls(viewer: &Viewer) -> Markup {
    let a = viewer.t().account;
    html! {
        a #account-link href="/account" { (a.your_account) }
        form.sign-out method="post" action="/sign-out" {
            button.secondary #sign-out type="submit" { (a.sign_out) }
        }
    }
}

// ---------------------------------------------------------------------------
// After signing out

/// Whether `/` should carry the signed-out marker: the browser has just
/// signed out through the form, and nobody is signed in now (a signed-in
/// user's local documents are never thrown away).
pub(super) fn just_signed_out(headers: &HeaderMap, viewer: &Viewer) -> bool {
    viewer.user.is_none() && cookie(headers, SIGNED_OUT_COOKIE).is_some()
}

/// The notice on `/` after signing out; `data-signed-out` is the marker
/// `boot.js` looks for.
pub(super) fn signed_out_notice(viewer: &Viewer) -> Markup {
    html! {
        p #signed-out .notice role="status" data-signed-out { (viewer.t().account.signed_out) }
    }
}

/// Forgets the signed-out cookie once a page has been shown with it (the
/// marker is shown once).
pub(super) fn forget_signed_out(headers: &HeaderMap, mut response: Response) -> Response {
    if cookie(headers, SIGNED_OUT_COOKIE).is_some() {
        let value = format!("{SIGNED_OUT_COOKIE}=; Path=/; SameSite=Strict; HttpOnly; Max-Age=0");
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

// ---------------------------------------------------------------------------
// The forms

/// `POST /sign-out`: ends this browser's session (if it has a live one),
/// forgets its cookie and goes to `/`, marked as just signed out.
pub(crate) async fn sign_out(
    State(app): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let choice = choose_lang(&uri, &headers);
    if cross_site(&headers) {
        return refused(&app, &uri, choice, &headers);
    }
    // The session the request presents (a form sends the cookie); none,
    // or one that ended already: the browser is signed out all the same.
    if let Some(token) = token_of(&headers, &HashMap::new())
        && let Err(e) = crate::api::end_token_session(&app, &token).await
    {
        return respond(choice, error_page(&anonymous(choice), e));
    }
    let mut response = see_other("/");
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        HeaderValue::from_static(FORGET_SESSION_COOKIE),
    );
    let flag = format!(
        "{SIGNED_OUT_COOKIE}=1; Path=/; SameSite=Strict; HttpOnly; Max-Age={SIGNED_OUT_SECONDS}"
    );
    if let Ok(flag) = HeaderValue::from_str(&flag) {
        headers.append(header::SET_COOKIE, flag);
    }
    response
}

/// `POST /account/sessions/{id}/end`: ends one of the caller's own
/// sessions, then back to the account page. Anyone else's session, an
/// unknown or malformed id is the "session not found" page (404).
pub(crate) async fn end_session(
    State(app): State<Arc<AppState>>,
    id: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let choice = choose_lang(&uri, &headers);
    if cross_site(&headers) {
        return refused(&app, &uri, choice, &headers);
    }
    let (viewer, _, user) = match signed_in(&app, choice, &headers) {
        Ok(signed_in) => signed_in,
        Err(page) => return respond(choice, page),
    };
    let Ok(Path(id)) = id else {
        return respond(choice, session_not_found(&viewer));
    };
    match crate::api::end_own_session(&app, &user, &id).await {
        Ok(()) => see_other("/account"),
        Err(ApiError::NotFound) => respond(choice, session_not_found(&viewer)),
        Err(e) => respond(choice, error_page(&viewer, e)),
    }
}

/// `POST /account/end-other-sessions`: ends every session of the caller
/// but this one, then back to the account page.
pub(crate) async fn end_other_sessions(
    State(app): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let choice = choose_lang(&uri, &headers);
    if cross_site(&headers) {
        return refused(&app, &uri, choice, &headers);
    }
    let (viewer, session, user) = match signed_in(&app, choice, &headers) {
        Ok(signed_in) => signed_in,
        Err(page) => return respond(choice, page),
    };
    match crate::api::end_other_sessions(&app, &user, &session).await {
        Ok(_) => see_other("/account"),
        Err(e) => respond(choice, error_page(&viewer, e)),
    }
}

/// `GET /sign-out` (a typed address, a bookmark): signing out is a form on
/// the account page and in the header, never a GET.
pub(crate) async fn sign_out_get() -> Response {
    see_other("/account")
}

// ---------------------------------------------------------------------------
// The account page

/// `GET /account`: the caller's own sessions; signed out, a page saying
/// how to sign in (401).
pub(crate) async fn account(
    State(app): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let choice = choose_lang(&uri, &headers);
    let (viewer, session, user) = match signed_in(&app, choice, &headers) {
        Ok(signed_in) => signed_in,
        Err(page) => return respond(choice, page),
    };
    let page = crate::api::own_sessions(&app, &session, &user)
        .map(|sessions| account_page(&viewer, &user, &sessions))
        .unwrap_or_else(|e| error_page(&viewer, e));
    let mut response = respond(choice, page);
    // A list of the user's sessions: never kept by any cache, nor shown
    // again from the back button after signing out.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn account_page(viewer: &Viewer, user: &User, sessions: &[OwnSession]) -> Page {
    let t = viewer.t();
    let a = t.account;
    let head = Head {
        kind: "account",
        title: a.title,
        description: None,
        canonical: None,
        workshop: None,
        main_id: "main",
        client: false,
    };
    let others = sessions.iter().filter(|s| !s.current).count();
    let content = html! {
        main #main .page {
            h1 { (a.title) }
            p.who { (t.signed_in_as) " " strong #account-name { bdi { (user.name) } } }
            section #sessions aria-labelledby="sessions-heading" {
                h2 #sessions-heading { (a.sessions_heading) }
                p { (a.sessions_intro) }
                table.sessions {
                    thead {
                        tr {
                            th scope="col" { (a.signed_in_at) }
                            th scope="col" { (a.last_used) }
                            th scope="col" { (a.session_column) }
                        }
                    }
                    tbody {
                        @for s in sessions {
                            (session_row(a, s))
                        }
                    }
                }
                @if others == 0 {
                    p #no-others { (a.no_others) }
                } @else {
                    form #end-others method="post" action="/account/end-other-sessions" {
                        button type="submit" { (a.end_others) }
                    }
                }
            }
        }
    };
    (StatusCode::OK, layout(viewer, &head, content))
}

fn session_row(a: &AccountText, s: &OwnSession) -> Markup {
    let (created_iso, created) = utc(s.created_at);
    let (seen_iso, seen) = utc(s.last_seen_at);
    html! {
        tr data-session=(s.id) data-current=[s.current.then_some("true")] {
            td { time datetime=(created_iso) { (created) } }
            td { time datetime=(seen_iso) { (seen) } }
            td {
                @if s.current {
                    span.badge.this-device { (a.this_device) }
                } @else {
                    form.end-session method="post" action=(format!("/account/sessions/{}/end", s.id)) {
                        button.secondary type="submit" aria-label=(format!("{} {created}", a.end_label)) {
                            (a.end)
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Shared

/// The caller's live session and user, or the "not signed in" page (401),
/// or the error page.
fn signed_in(
    app: &AppState,
    choice: LangChoice,
    headers: &HeaderMap,
) -> Result<(Viewer, Session, User), Page> {
    match identity(app, headers, &HashMap::new()) {
        Ok(Some((session, user))) => Ok((
            Viewer {
                lang: choice.lang,
                user: Some(user.clone()),
            },
            session,
            user,
        )),
        Ok(None) => Err(not_signed_in(&anonymous(choice))),
        Err(e) => Err(error_page(&anonymous(choice), e)),
    }
}

fn anonymous(choice: LangChoice) -> Viewer {
    Viewer {
        lang: choice.lang,
        user: None,
    }
}

/// A plain page: a title, the reason, more, and a way back.
fn message_page(
    viewer: &Viewer,
    kind: &'static str,
    status: StatusCode,
    title: &str,
    reason: &str,
    more: Markup,
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
            p #reason role="alert" { (reason) }
            (more)
            p {
                @if viewer.user.is_some() {
                    a href="/account" { (t.account.your_account) } " · "
                }
                a href="/" { (t.all_workshops) }
            }
        }
    };
    (status, layout(viewer, &head, content))
}

/// 401: how to sign in (there is no password; links are the way in).
fn not_signed_in(viewer: &Viewer) -> Page {
    let a = viewer.t().account;
    message_page(
        viewer,
        "not-signed-in",
        StatusCode::UNAUTHORIZED,
        a.not_signed_in_title,
        a.not_signed_in_body,
        html! { p { (a.not_signed_in_admin) " " code { "synpunkt admin-link" } "." } },
    )
}

/// 404 for a session that is not the caller's to end.
fn session_not_found(viewer: &Viewer) -> Page {
    let a = viewer.t().account;
    message_page(
        viewer,
        "session-not-found",
        StatusCode::NOT_FOUND,
        a.session_not_found_title,
        a.session_not_found_body,
        html! {},
    )
}

/// 403 for a form sent from another site: nothing changes.
fn refused(app: &AppState, uri: &Uri, choice: LangChoice, headers: &HeaderMap) -> Response {
    tracing::warn!(path = %uri.path(), "refused a form sent from another site");
    let viewer = match identity(app, headers, &HashMap::new()) {
        Ok(Some((_, user))) => Viewer {
            lang: choice.lang,
            user: Some(user),
        },
        _ => anonymous(choice),
    };
    let t = viewer.t();
    let page = message_page(
        &viewer,
        "refused",
        StatusCode::FORBIDDEN,
        t.account.refused_title,
        t.cross_site,
        html! { p { (t.account.refused_nothing_changed) } },
    );
    respond(choice, page)
}

/// A `303 See Other` to a path of ours.
fn see_other(path: &'static str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, HeaderValue::from_static(path))],
    )
        .into_response()
}

/// A moment as `<time datetime>` wants it and as the page shows it, in
/// UTC (the server does not know the reader's time zone):
/// ("2026-11-28T14:05:00Z", "2026-11-28 14:05 UTC").
fn utc(seconds: u64) -> (String, String) {
    let days = seconds / 86_400;
    let rest = seconds % 86_400;
    let (hour, minute, second) = (rest / 3600, rest % 3600 / 60, rest % 60);
    let (year, month, day) = civil_from_days(days);
    (
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z"),
        format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02} UTC"),
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`, for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_are_shown_in_utc() {
        assert_eq!(
            utc(0),
            ("1970-01-01T00:00:00Z".into(), "1970-01-01 00:00 UTC".into())
        );
        // 2024-02-29 (a leap day) 13:45:30.
        assert_eq!(utc(1_709_214_330).1, "2024-02-29 13:45 UTC");
        assert_eq!(utc(1_709_214_330).0, "2024-02-29T13:45:30Z");
        // The last second of 1999 and the first of 2000.
        assert_eq!(utc(946_684_799).1, "1999-12-31 23:59 UTC");
        assert_eq!(utc(946_684_800).1, "2000-01-01 00:00 UTC");
        assert_eq!(utc(4_102_444_800).1, "2100-01-01 00:00 UTC");
    }
}
