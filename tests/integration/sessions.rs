//! Sessions end: after their idle lifetime without use, and after their
//! absolute lifetime however often used. An ended session is refused on
//! every path that reads one (the API, the pages, the sync handshake)
//! exactly like a token that never existed. The server runs on a manual
//! clock that the tests move on: nothing sleeps.

use std::time::Duration;

use protocol::DocumentId;
use server::Clock;
use testkit::{Client, TestServer, http_with};

use crate::common::{api, create_workshop, join};

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
    let (server, clock, doc, alice) = setup(|_| {}).await;
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
    // 30 days without use (the default idle lifetime): ended.
    clock.advance(Duration::from_secs(30 * DAY));
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
    let (_, invite) = crate::common::invite(
        &server,
        server.admin_token(),
        doc,
        serde_json::json!({ "role": "participant" }),
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
