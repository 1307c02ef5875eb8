//! Sessions end: after their idle lifetime without use, and after their
//! absolute lifetime however often used. An ended session is refused on
//! every path that reads one (the API, the pages, the sync handshake)
//! exactly like a token that never existed. The server runs on a manual
//! clock that the tests move on: nothing sleeps.
//!
//! Sign-in attempts (accepting invites, presenting tokens that are not live
//! sessions) are limited per client address.

use std::time::Duration;

use docsync::DocumentId;
use serde_json::{Value, json};
use server::Clock;
use testkit::{Client, TestServer, accept_invite, header_value, http_from, http_with};

use crate::common::{api, create_workshop, invite, join};

const DAY: u64 = 24 * 3600;

/// What each path answers a token: (the API's `/api/session`, the summary
/// of an invite-only workshop over the API, the workshop's page with the
/// token as a cookie, the sync handshake).
async fn answers(server: &TestServer, doc: DocumentId, token: &str) -> Vec<(u16, String)> {
    let (session, _) = api(server, "GET", "/api/session", None, Some(token)).await;
    let (summary, body) = api(
        server,
        "GET",
        &format!("/api/workshops/{doc}/summary"),
        None,
        Some(token),
    )
    .await;
    let cookie = format!("synpunkt_session={token}");
    let (page, _, html) = http_with(
        "GET",
        &server.http_url(&format!("/w/{doc}")),
        &[("Cookie", &cookie)],
        None,
    )
    .await;
    let sync = match tokio_tungstenite::connect_async(server.sync_url_for(token)).await {
        Ok(_) => 101,
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("sync handshake: {e}"),
    };
    vec![
        (session, String::new()),
        (summary, body.to_string()),
        (page, html),
        (sync, String::new()),
    ]
}

/// A server on a manual clock with an invite-only workshop, and a
/// participant's session token.
async fn setup(
    adjust: impl FnOnce(&mut server::Config),
) -> (TestServer, Clock, DocumentId, String) {
    let clock = Clock::manual();
    let server = TestServer::start_with(|c| {
        c.clock = clock.clone();
        adjust(c);
    })
    .await;
    let admin = server.admin_token().to_owned();
    let doc = create_workshop(&server, &admin, "Stängd workshop", "invite-only").await;
    let alice = join(&server, &admin, doc, "participant", "Alice").await;
    (server, clock, doc, alice)
}

fn assert_signed_in(answers: &[(u16, String)]) {
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses, [200, 200, 200, 101], "{answers:?}");
    assert!(answers[2].1.contains("data-user-name=\"Alice\""));
}

#[tokio::test]
async fn an_unused_session_ends_after_its_idle_lifetime_and_reads_as_unknown_everywhere() {
    let (server, clock, doc, alice) =
        setup(|c| c.housekeeping_every = Duration::from_millis(20)).await;
    assert_signed_in(&answers(&server, doc, &alice).await);
    let live = Client::connect(&server.sync_url_for(&alice)).await;
    live.find(doc)
        .await
        .expect("a participant reads the workshop");

    // Used every 29 days, it lives on: idle time counts from the last use.
    for _ in 0..2 {
        clock.advance(Duration::from_secs(29 * DAY));
        let (status, _) = api(&server, "GET", "/api/session", None, Some(&alice)).await;
        assert_eq!(status, 200);
    }
    assert!(!live.is_closed(), "a live session's connection stays open");
    // 30 days without use (the default idle lifetime): ended. Its open
    // connection closes (the housekeeping task looks every 20 ms here).
    clock.advance(Duration::from_secs(30 * DAY));
    live.wait_closed()
        .await
        .expect("the connection of an ended session closes");
    let expired = answers(&server, doc, &alice).await;
    let statuses: Vec<u16> = expired.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses, [401, 404, 404, 401], "{expired:?}");
    // Exactly what a token that never existed gets.
    let unknown = answers(&server, doc, &"00".repeat(32)).await;
    assert_eq!(expired, unknown);
    server.shutdown().await;
}

#[tokio::test]
async fn a_session_used_all_the_time_ends_at_its_absolute_lifetime() {
    let (server, clock, doc, alice) = setup(|c| {
        c.session_idle = Duration::from_secs(600);
        c.session_lifetime = Duration::from_secs(3600);
    })
    .await;
    // Used every 5 minutes for just under an hour: never idle for 10.
    for _ in 0..11 {
        clock.advance(Duration::from_secs(300));
        let (status, _) = api(&server, "GET", "/api/session", None, Some(&alice)).await;
        assert_eq!(status, 200);
    }
    clock.advance(Duration::from_secs(299));
    assert_signed_in(&answers(&server, doc, &alice).await);
    clock.advance(Duration::from_secs(1));
    let statuses: Vec<u16> = answers(&server, doc, &alice)
        .await
        .iter()
        .map(|(s, _)| *s)
        .collect();
    assert_eq!(statuses, [401, 404, 404, 401]);
    server.shutdown().await;
}

#[tokio::test]
async fn the_session_cookie_lasts_as_long_as_the_session_can() {
    let (server, _, doc, _) = setup(|c| c.session_lifetime = Duration::from_secs(7200)).await;
    let (_, invite) = invite(
        &server,
        server.admin_token(),
        doc,
        json!({ "role": "participant" }),
    )
    .await;
    let token = invite["token"].as_str().expect("token");
    let (status, head, _) = http_with(
        "POST",
        &server.http_url(&format!("/api/invites/{token}/accept")),
        &[("Content-Type", "application/json")],
        Some(r#"{"name": "Bo"}"#),
    )
    .await;
    assert_eq!(status, 200);
    let cookie = testkit::header_value(&head, "set-cookie").expect("cookie");
    assert!(cookie.contains("Max-Age=7200"), "{cookie}");
    server.shutdown().await;
}

/// A GET with a bearer token: (status, head, body).
async fn get_as(server: &TestServer, path: &str, token: &str) -> (u16, String, String) {
    let bearer = format!("Bearer {token}");
    http_with(
        "GET",
        &server.http_url(path),
        &[("Authorization", &bearer)],
        None,
    )
    .await
}

/// The status of a sync handshake with `?token=`.
async fn sync_status(server: &TestServer, token: &str) -> u16 {
    match tokio_tungstenite::connect_async(server.sync_url_for(token)).await {
        Ok(_) => 101,
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("sync handshake: {e}"),
    }
}

fn retry_after(head: &str) -> u64 {
    header_value(head, "retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("a Retry-After in {head}"))
}

#[tokio::test]
async fn wrong_tokens_and_invite_acceptances_from_one_address_are_limited() {
    let server = TestServer::start_with(|c| {
        c.sign_in_attempts_per_minute = 1;
        c.sign_in_attempt_burst = 6;
    })
    .await;
    // Attempt 1: the test kit signed the admin in.
    let admin = server.admin_token().to_owned();
    let doc = create_workshop(&server, &admin, "Öppen workshop", "open").await;
    let (_, reply) = invite(&server, &admin, doc, json!({ "role": "participant" })).await;
    let invite_token = reply["token"].as_str().expect("token").to_owned();
    // Live sessions never count, nor do requests without a token.
    for _ in 0..20 {
        assert_eq!(get_as(&server, "/api/session", &admin).await.0, 200);
        assert_eq!(
            api(&server, "GET", "/api/workshops", None, None).await.0,
            200
        );
    }
    // Attempt 2: accepting an invite.
    let alice = accept_invite(&server.base_url(), &invite_token, "Alice").await;
    // Attempts 3 to 6: tokens that are no sessions, each way one is shown.
    let wrong = "ab".repeat(32);
    assert_eq!(get_as(&server, "/api/session", &wrong).await.0, 401);
    let (status, head, _) = http_with(
        "GET",
        &server.http_url("/"),
        &[("Cookie", &format!("synpunkt_session={wrong}"))],
        None,
    )
    .await;
    assert_eq!(status, 200, "a dead cookie reads as the public");
    let forget = header_value(&head, "set-cookie").expect("the dead cookie is cleared");
    assert!(
        forget.starts_with("synpunkt_session=;") && forget.contains("Max-Age=0"),
        "{forget}"
    );
    assert_eq!(sync_status(&server, &wrong).await, 401);
    assert_eq!(get_as(&server, "/api/workshops", &wrong).await.0, 200);

    // Attempt 7: over the limit.
    let (status, head, body) = get_as(&server, "/api/session", &wrong).await;
    assert_eq!(status, 429, "{body}");
    let error: Value = serde_json::from_str(&body).expect("JSON");
    assert!(
        error["error"]
            .as_str()
            .is_some_and(|e| e.contains("too many sign-in attempts")),
        "{error}"
    );
    let wait = retry_after(&head);
    assert!((1..=60).contains(&wait), "{wait}");

    // Until then every token from this address waits, right ones too (so
    // the limit tells a guesser nothing), on every path.
    assert_eq!(get_as(&server, "/api/session", &admin).await.0, 429);
    assert_eq!(sync_status(&server, &admin).await, 429);
    let (status, head, page) = http_with(
        "GET",
        &server.http_url("/"),
        &[("Cookie", &format!("synpunkt_session={alice}"))],
        None,
    )
    .await;
    assert_eq!(status, 429);
    assert!(retry_after(&head) >= 1);
    assert!(
        page.contains("<h1>Too many attempts</h1>") && page.contains("Try again in"),
        "{page}"
    );
    let (status, _, body) = http_with(
        "POST",
        &server.http_url(&format!("/api/invites/{invite_token}/accept")),
        &[("Content-Type", "application/json")],
        Some(r#"{"name": "Bo"}"#),
    )
    .await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("\"error\""), "{body}");
    let (status, head, page) = http_with(
        "POST",
        &server.http_url(&format!("/invite/{invite_token}")),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some("name=Bo"),
    )
    .await;
    assert_eq!(status, 429);
    assert!(retry_after(&head) >= 1);
    assert!(
        page.contains("role=\"alert\"") && page.contains("Too many sign-in attempts"),
        "the form again, with the reason: {page}"
    );
    assert!(
        page.contains(&format!("action=\"/invite/{invite_token}\"")),
        "{page}"
    );

    // Without a token everything is served; another address is another
    // client.
    assert_eq!(
        api(&server, "GET", "/api/workshops", None, None).await.0,
        200
    );
    assert_eq!(
        http_with("GET", &server.http_url("/"), &[], None).await.0,
        200
    );
    let bearer = format!("Bearer {admin}");
    let (status, _, _) = http_from(
        Some([127, 0, 0, 2].into()),
        "GET",
        &server.http_url("/api/session"),
        &[("Authorization", &bearer)],
        None,
    )
    .await;
    assert_eq!(status, 200);
    server.shutdown().await;
}
