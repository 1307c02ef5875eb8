//! Signing in and out from the browser alone, in real headless Chromium:
//! the admin link that `synpunkt admin-link` prints while the server runs,
//! invite pages that say what a link does (or why it cannot be used)
//! before anything is typed, a host's personal sign-in link for a
//! participant, the account page (sessions, ending another one, signing
//! out everywhere else) and signing out from the header, which also clears
//! what the browser kept. And cross-site requests to those forms, which
//! are refused.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use testkit::{Browser, ServerProcess, TIMEOUT, header_value, http_with, synpunkt_bin};

use crate::common::{World, api, invite, world};

/// Runs `synpunkt admin-link --data DIR` beside a running server; returns
/// the link it printed.
async fn admin_link(data: &std::path::Path) -> String {
    let data = data.to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(synpunkt_bin())
            .args(["admin-link", "--data"])
            .arg(&data)
            .output()
            .expect("run synpunkt admin-link")
    })
    .await
    .expect("join");
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    printed
        .split_whitespace()
        .find(|word| word.starts_with("http://") && word.contains("/invite/"))
        .unwrap_or_else(|| panic!("no link in {printed:?}"))
        .to_owned()
}

/// The HTTP status of the page the browser shows (Navigation Timing).
async fn page_status(b: &Browser) -> u64 {
    b.execute(
        "return performance.getEntriesByType('navigation')[0].responseStatus;",
        vec![],
    )
    .await
    .expect("navigation timing")
    .as_u64()
    .expect("a status")
}

/// `GET /api/session` from inside the page, with whatever cookie the
/// browser holds: (status, body).
async fn session_in(b: &Browser) -> (u64, Value) {
    let reply = b
        .execute(
            "return fetch('/api/session').then(async (r) => [r.status, await r.json()]);",
            vec![],
        )
        .await
        .expect("fetch /api/session");
    (reply[0].as_u64().expect("status"), reply[1].clone())
}

/// Waits until `js` (a function body) returns true in the page.
async fn wait_until_true(b: &Browser, what: &str, js: &str) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if b.execute(js, vec![]).await.expect(what) == json!(true) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The session rows of the account page.
async fn session_rows(b: &Browser) -> u64 {
    b.execute(
        "return document.querySelectorAll('table.sessions tr[data-session]').length;",
        vec![],
    )
    .await
    .expect("count rows")
    .as_u64()
    .unwrap_or(0)
}

/// The browser's session cookie (WebDriver sees `HttpOnly` cookies).
async fn session_cookie(b: &Browser) -> Option<String> {
    b.client()
        .get_named_cookie("synpunkt_session")
        .await
        .ok()
        .map(|c| c.value().to_owned())
}

/// The user id of a workshop member, by name (the host's member list).
async fn member_id(w: &World, name: &str) -> String {
    let (status, members) = api(
        &w.server,
        "GET",
        &format!("/api/workshops/{}/members", w.open),
        None,
        Some(&w.host),
    )
    .await;
    assert_eq!(status, 200, "{members}");
    members
        .as_array()
        .expect("array")
        .iter()
        .find(|m| m["name"] == name)
        .and_then(|m| m["userId"].as_str())
        .unwrap_or_else(|| panic!("{name} is no member: {members}"))
        .to_owned()
}

/// A personal sign-in link for a member, issued by the workshop's host.
async fn sign_in_link(w: &World, user_id: &str) -> Value {
    let (status, reply) = api(
        &w.server,
        "POST",
        &format!("/api/workshops/{}/members/{user_id}/sign-in-link", w.open),
        None,
        Some(&w.host),
    )
    .await;
    assert_eq!(status, 201, "{reply}");
    reply
}

/// The header of a signed-in page: the name, the account link and the
/// sign-out button.
async fn assert_signed_in_header(b: &Browser, name: &str) {
    b.wait_for_text("header.site .who", name)
        .await
        .expect("the header names the user");
    assert_eq!(
        b.attr("header.site a#account-link", "href")
            .await
            .expect("the account link")
            .as_deref(),
        Some("/account")
    );
    assert_eq!(
        b.text("header.site form.sign-out[method=\"post\"][action=\"/sign-out\"] button")
            .await
            .expect("the sign-out button"),
        "Sign out"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_link_printed_while_the_server_runs_signs_a_browser_in_as_admin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let (server, browser) = tokio::join!(ServerProcess::start(&data), Browser::start());
    let browser = browser.expect("chromium starts");
    let link = admin_link(&data).await;
    assert!(
        link.starts_with(&format!("{}/invite/", server.base_url())),
        "the link names the running server: {link}"
    );

    browser.goto(&link).await.expect("the link opens");
    assert_eq!(page_status(&browser).await, 200);
    browser
        .wait_for_text("#invite-for", "administrator")
        .await
        .expect("the page says what the link does");
    browser
        .type_into("#name", "Astrid Admin")
        .await
        .expect("a name");
    browser
        .click("form.join button[type=\"submit\"]")
        .await
        .expect("join");
    assert_signed_in_header(&browser, "Astrid Admin").await;
    let (status, me) = session_in(&browser).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["user"]["admin"], true, "{me}");
    assert_eq!(me["user"]["name"], "Astrid Admin");
    browser
        .screenshot("access-admin-signed-in")
        .await
        .expect("shot");
    drop(browser);
    server.signal("TERM");
    assert!(server.wait().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_page_lists_sessions_ends_another_and_signing_out_ends_this_one() {
    let (w, browser) = tokio::join!(world(), Browser::start());
    let b = browser.expect("chromium starts");
    let base = w.server.base_url();

    // Petra joins in this browser through an invite page...
    let (_, inv) = invite(&w.server, &w.host, w.open, json!({ "role": "participant" })).await;
    b.goto(inv["url"].as_str().expect("url"))
        .await
        .expect("invite");
    b.type_into("#name", "Petra").await.expect("name");
    b.click("form.join button[type=\"submit\"]")
        .await
        .expect("join");
    assert_signed_in_header(&b, "Petra").await;
    let here = session_cookie(&b).await.expect("signed in");
    // ... and on another device, over the API, through a personal link.
    let link = sign_in_link(&w, &member_id(&w, "Petra").await).await;
    let (status, _, reply) = http_with(
        "POST",
        &format!(
            "{base}/api/invites/{}/accept",
            link["token"].as_str().expect("token")
        ),
        &[("Content-Type", "application/json")],
        Some("{}"),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    let phone: Value = serde_json::from_str(&reply).expect("json");
    let phone_token = phone["token"].as_str().expect("token").to_owned();
    let phone_id = phone["sessionId"].as_str().expect("id").to_owned();

    // The account page lists both, this one marked.
    b.click("#account-link").await.expect("account link");
    b.wait_for("table.sessions")
        .await
        .expect("the account page");
    assert_eq!(page_status(&b).await, 200);
    assert_eq!(session_rows(&b).await, 2);
    b.wait_for_text("tr[data-current=\"true\"] .this-device", "This device")
        .await
        .expect("this device");
    let other = format!("tr[data-session=\"{phone_id}\"]:not([data-current])");
    assert!(
        b.text(&format!("{other} td"))
            .await
            .expect("the other session")
            .ends_with(" UTC"),
        "when it signed in"
    );
    b.screenshot("access-account-two-sessions")
        .await
        .expect("shot");

    // Ending the other one: back on the account page without it; its
    // token is refused.
    b.click(&format!("{other} form.end-session button"))
        .await
        .expect("end");
    wait_until_true(
        &b,
        "the ended session leaves the list",
        "return document.querySelectorAll('table.sessions tr[data-session]').length === 1;",
    )
    .await;
    assert!(b.url().await.expect("url").ends_with("/account"));
    b.wait_for("#no-others").await.expect("no other sessions");
    let (status, _) = api(&w.server, "GET", "/api/session", None, Some(&phone_token)).await;
    assert_eq!(status, 401, "the other device is signed out");

    // Something of Petra's kept in this browser: local documents (the
    // client's localStorage keys, an IndexedDB store), and a key of
    // someone else's that must stay.
    b.execute(
        "localStorage.setItem('synpunkt:doc:abc', 'saved'); localStorage.setItem('other:key', 'kept');
         return new Promise((resolve, reject) => {
           const open = indexedDB.open('synpunkt', 1);
           open.onupgradeneeded = () => open.result.createObjectStore('docs');
           open.onsuccess = () => { open.result.close(); resolve(true); };
           open.onerror = () => reject(open.error);
         });",
        vec![],
    )
    .await
    .expect("local data");

    // Signing out from the header: the session ends on the server, the
    // cookie goes, the page says so, and the local data is gone.
    b.click("#sign-out").await.expect("sign out");
    b.wait_for_text("#signed-out", "You are signed out")
        .await
        .expect("the signed-out page");
    assert!(
        b.url().await.expect("url").ends_with(&format!("{base}/")),
        "on the list"
    );
    b.wait_for("[data-signed-out]").await.expect("the marker");
    for gone in [".who", "#account-link", "#sign-out"] {
        assert_eq!(
            b.execute(
                "return document.querySelector(arguments[0]) === null;",
                vec![json!(gone)]
            )
            .await
            .expect("query"),
            json!(true),
            "{gone} is gone from the header"
        );
    }
    assert_eq!(session_cookie(&b).await, None, "the cookie is gone");
    let (status, _) = session_in(&b).await;
    assert_eq!(status, 401);
    let (status, _) = api(&w.server, "GET", "/api/session", None, Some(&here)).await;
    assert_eq!(status, 401, "the session ended on the server");
    b.wait_for("body[data-local-cleared=\"true\"]")
        .await
        .expect("the local data is cleared");
    let left = b
        .execute(
            "return indexedDB.databases().then((dbs) => [
               localStorage.getItem('synpunkt:doc:abc'),
               localStorage.getItem('other:key'),
               dbs.map((d) => d.name),
             ]);",
            vec![],
        )
        .await
        .expect("what is left");
    assert_eq!(left, json!([null, "kept", []]), "{left}");
    b.screenshot("access-signed-out").await.expect("shot");

    // The marker is shown once: a reload is the plain list.
    b.goto(&format!("{base}/")).await.expect("reload");
    b.wait_for("body[data-page=\"list\"]").await.expect("list");
    assert_eq!(
        b.execute(
            "return document.querySelector('[data-signed-out]') === null;",
            vec![]
        )
        .await
        .expect("query"),
        json!(true)
    );

    // Signed out, the account page says how to sign in again (401).
    b.goto(&format!("{base}/account")).await.expect("account");
    b.wait_for_text("#reason", "open a sign-in link")
        .await
        .expect("how to sign in");
    assert_eq!(page_status(&b).await, 401);
    b.screenshot("access-account-signed-out")
        .await
        .expect("shot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_pages_say_what_a_link_does_or_why_it_cannot_be_used() {
    let (w, browser) = tokio::join!(world(), Browser::start());
    let b = browser.expect("chromium starts");
    let base = w.server.base_url();
    let (_, once) = invite(
        &w.server,
        &w.host,
        w.private,
        json!({ "role": "participant", "maxUses": 1 }),
    )
    .await;
    let (_, revoked) = invite(&w.server, &w.host, w.private, json!({ "role": "host" })).await;
    let path = format!(
        "/api/workshops/{}/invites/{}",
        w.private,
        revoked["invite"]["id"].as_str().expect("id")
    );
    let (status, _) = api(&w.server, "DELETE", &path, None, Some(&w.host)).await;
    assert_eq!(status, 204);
    let url = |v: &Value| v["url"].as_str().expect("url").to_owned();

    // A valid link names the workshop and the role before anything is typed.
    b.goto(&url(&once)).await.expect("invite");
    assert_eq!(page_status(&b).await, 200);
    assert_eq!(
        b.text("#invite-workshop").await.expect("workshop"),
        "Stängd workshop"
    );
    assert_eq!(b.text("#invite-role").await.expect("role"), "Participant");
    assert_eq!(
        b.execute("return document.querySelector('#name').value;", vec![])
            .await
            .expect("field"),
        json!(""),
        "nothing typed yet"
    );
    b.screenshot("access-invite-valid").await.expect("shot");
    // Joining lands on the workshop, signed in.
    b.type_into("#name", "Greta").await.expect("name");
    b.click("form.join button[type=\"submit\"]")
        .await
        .expect("join");
    assert_signed_in_header(&b, "Greta").await;
    assert!(
        b.url()
            .await
            .expect("url")
            .ends_with(&format!("/w/{}", w.private))
    );
    b.click("#sign-out").await.expect("sign out");
    b.wait_for("#signed-out").await.expect("signed out");

    // The same link, now used up; a revoked one; one never made.
    for (link, status, title, reason, shot) in [
        (
            url(&once),
            410,
            "This link can no longer be used",
            "already been used",
            "access-invite-used-up",
        ),
        (
            url(&revoked),
            410,
            "This link can no longer be used",
            "revoked by a host",
            "access-invite-revoked",
        ),
        (
            format!("{base}/invite/{}", "ab".repeat(32)),
            404,
            "Unknown link",
            "not known here",
            "access-invite-unknown",
        ),
    ] {
        b.goto(&link).await.expect("invite");
        b.wait_for_text("#link-state", reason)
            .await
            .expect("the reason");
        assert_eq!(page_status(&b).await, status, "{link}");
        assert_eq!(b.text("main h1").await.expect("title"), title);
        assert_eq!(
            b.execute(
                "return document.querySelector('form.join') === null;",
                vec![]
            )
            .await
            .expect("query"),
            json!(true),
            "no form to fill in"
        );
        b.screenshot(shot).await.expect("shot");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_personal_sign_in_link_signs_a_fresh_browser_into_the_same_user() {
    let (w, browser) = tokio::join!(world(), Browser::start());
    let b = browser.expect("chromium starts");
    let alice = member_id(&w, "Alice").await;
    let (_, before) = api(&w.server, "GET", "/api/sessions", None, Some(&w.alice)).await;
    let before = before.as_array().expect("sessions").len() as u64;
    let link = sign_in_link(&w, &alice).await;

    b.goto(link["url"].as_str().expect("url"))
        .await
        .expect("the link opens");
    b.wait_for_text("#invite-for", "Alice")
        .await
        .expect("whom it signs in");
    b.click("form.join button[type=\"submit\"]")
        .await
        .expect("sign in");
    assert_signed_in_header(&b, "Alice").await;
    let (status, me) = session_in(&b).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["user"]["id"], alice.as_str(), "the same user: {me}");
    // Her other sessions (the world's) are listed beside this one.
    b.click("#account-link").await.expect("account");
    b.wait_for("tr[data-current=\"true\"]")
        .await
        .expect("this device");
    assert_eq!(session_rows(&b).await, before + 1);
    let (_, theirs) = api(&w.server, "GET", "/api/session", None, Some(&w.alice)).await;
    let theirs = theirs["sessionId"].as_str().expect("id");
    b.wait_for(&format!(
        "tr[data-session=\"{theirs}\"]:not([data-current])"
    ))
    .await
    .expect("the other session");
    // Signing out everywhere else ends those, not this one.
    b.click("#end-others button").await.expect("end others");
    b.wait_for("#no-others").await.expect("only this one left");
    assert_eq!(session_rows(&b).await, 1);
    let (status, _) = api(&w.server, "GET", "/api/session", None, Some(&w.alice)).await;
    assert_eq!(status, 401, "the other sessions ended");
    let (status, _) = session_in(&b).await;
    assert_eq!(status, 200, "this one goes on");
    crate::browser_a11y::audit(&b, "account", &["button-name"]).await;
}

#[tokio::test]
async fn forms_that_end_sessions_refuse_other_sites_and_unknown_sessions() {
    let w = world().await;
    let s = &w.server;
    let alice_cookie = format!("synpunkt_session={}", w.alice);
    let host = s.base_url().trim_start_matches("http://").to_owned();
    let same_origin = format!("http://{host}");
    let (_, bob) = api(s, "GET", "/api/session", None, Some(&w.bob)).await;
    let bob_session = bob["sessionId"].as_str().expect("id").to_owned();
    let form = ("Content-Type", "application/x-www-form-urlencoded");
    let post = |path: String, headers: Vec<(&'static str, String)>| {
        let url = s.http_url(&path);
        async move {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            http_with("POST", &url, &headers, Some("")).await
        }
    };
    let with = |origin: Option<(&'static str, &str)>| {
        let mut headers = vec![
            (form.0, form.1.to_owned()),
            ("Cookie", alice_cookie.clone()),
        ];
        if let Some((name, value)) = origin {
            headers.push((name, value.to_owned()));
        }
        headers
    };

    // From another site, by Origin or by Sec-Fetch-Site: 403, nothing ends.
    for path in [
        "/sign-out".to_owned(),
        "/account/end-other-sessions".to_owned(),
        format!("/account/sessions/{bob_session}/end"),
    ] {
        for header in [
            ("Origin", "http://evil.example"),
            ("Sec-Fetch-Site", "cross-site"),
            ("Sec-Fetch-Site", "same-site"),
        ] {
            let (status, head, page) = post(path.clone(), with(Some(header))).await;
            assert_eq!(status, 403, "{path} {header:?}: {head}");
            assert!(
                page.contains("This form can only be sent from this site."),
                "{page}"
            );
            assert!(
                header_value(&head, "set-cookie").is_none(),
                "the cookie stays: {head}"
            );
        }
    }
    for token in [&w.alice, &w.bob] {
        let (status, _) = api(s, "GET", "/api/session", None, Some(token)).await;
        assert_eq!(status, 200, "the session still works");
    }

    // Unknown, malformed or someone else's session ids: the 404 page.
    for id in [
        bob_session.as_str(),
        "no-such-session",
        "%FF%FE",
        &"x".repeat(4000),
    ] {
        let path = format!("/account/sessions/{id}/end");
        let (status, _, page) =
            post(path.clone(), with(Some(("Origin", same_origin.as_str())))).await;
        assert_eq!(status, 404, "{path}");
        assert!(page.contains("Session not found"), "{page}");
    }
    let (status, _) = api(s, "GET", "/api/session", None, Some(&w.bob)).await;
    assert_eq!(status, 200, "Bob's session is not Alice's to end");

    // Not signed in: the account page and its forms say how to sign in.
    let (status, _, page) = post("/account/end-other-sessions".into(), vec![]).await;
    assert_eq!(status, 401);
    assert!(page.contains("open a sign-in link"), "{page}");

    // In Swedish, and never cached (a list of the user's sessions).
    let (status, head, page) = http_with(
        "GET",
        &s.http_url("/account?lang=sv"),
        &[("Cookie", &alice_cookie)],
        None,
    )
    .await;
    assert_eq!(status, 200, "{head}");
    assert_eq!(header_value(&head, "cache-control"), Some("no-store"));
    for text in [
        "Där du är inloggad",
        "Den här enheten",
        ">Logga ut</button>",
    ] {
        assert!(page.contains(text), "{text}: {page}");
    }

    // The same form from this site signs out: 303 to the list, the cookie
    // forgotten, the session ended.
    let (status, head, _) = post(
        "/sign-out".into(),
        with(Some(("Sec-Fetch-Site", "same-origin"))),
    )
    .await;
    assert_eq!(status, 303, "{head}");
    assert_eq!(header_value(&head, "location"), Some("/"));
    assert!(
        head.contains("synpunkt_session=;") && head.contains("synpunkt_signed_out=1;"),
        "{head}"
    );
    let (status, _) = api(s, "GET", "/api/session", None, Some(&w.alice)).await;
    assert_eq!(status, 401);
}
