//! The API's guard: state-changing requests signed in by cookie from
//! another site are refused, and every error answer is `{"error": ...}`
//! with its status, also those made before a handler runs (405, 413, 414).

use serde_json::Value;
use testkit::{TestServer, header_value, http_with};

/// A request with the admin's session cookie and `extra` headers.
async fn with_cookie(
    server: &TestServer,
    method: &str,
    path: &str,
    extra: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, String, String) {
    let cookie = format!("synpunkt_session={}", server.admin_token());
    let mut headers = vec![("Cookie", cookie.as_str())];
    if body.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    headers.extend_from_slice(extra);
    http_with(method, &server.http_url(path), &headers, body).await
}

/// The `error` of a JSON error answer; fails on anything else.
fn error_of(head: &str, body: &str) -> String {
    assert_eq!(
        header_value(head, "content-type"),
        Some("application/json"),
        "{head}"
    );
    let json: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("JSON: {body}"));
    json["error"].as_str().expect("an error text").to_owned()
}

async fn workshop_count(server: &TestServer) -> usize {
    let (status, _, body) = with_cookie(server, "GET", "/api/workshops", &[], None).await;
    assert_eq!(status, 200);
    serde_json::from_str::<Vec<Value>>(&body)
        .expect("a list")
        .len()
}

#[tokio::test]
async fn cookie_requests_from_another_site_may_not_change_anything() {
    let server = TestServer::start().await;
    let before = workshop_count(&server).await;
    let new = Some(r#"{"title": "Forged", "meetingType": "open"}"#);

    for from_elsewhere in [
        ("Sec-Fetch-Site", "cross-site"),
        ("Sec-Fetch-Site", "same-site"),
        ("Origin", "http://evil.example"),
    ] {
        let (status, head, body) =
            with_cookie(&server, "POST", "/api/workshops", &[from_elsewhere], new).await;
        assert_eq!(status, 403, "{from_elsewhere:?}: {body}");
        assert!(
            error_of(&head, &body).contains("another site"),
            "{from_elsewhere:?}: {body}"
        );
    }
    // Signing out is a change too.
    let cross = [("Sec-Fetch-Site", "cross-site")];
    let (status, _, _) = with_cookie(&server, "DELETE", "/api/session", &cross, None).await;
    assert_eq!(status, 403);
    assert_eq!(workshop_count(&server).await, before);

    // Reading from another site is not refused (the browser keeps the
    // answer from the other page); nor is a change from our own pages.
    let (status, _, _) = with_cookie(&server, "GET", "/api/workshops", &cross, None).await;
    assert_eq!(status, 200);
    let same = [("Sec-Fetch-Site", "same-origin")];
    let (status, _, body) = with_cookie(&server, "POST", "/api/workshops", &same, new).await;
    assert_eq!(status, 201, "{body}");
    let host = server.base_url().trim_start_matches("http://").to_owned();
    let origin = format!("http://{host}");
    let ours = [("Origin", origin.as_str())];
    let (status, _, body) = with_cookie(&server, "POST", "/api/workshops", &ours, new).await;
    assert_eq!(status, 201, "{body}");

    // A bearer token is never sent by a browser on its own: no forgery.
    let bearer = format!("Bearer {}", server.admin_token());
    let headers = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json"),
        ("Sec-Fetch-Site", "cross-site"),
    ];
    let (status, _, body) =
        http_with("POST", &server.http_url("/api/workshops"), &headers, new).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(workshop_count(&server).await, before + 3);
    server.shutdown().await;
}

#[tokio::test]
async fn errors_made_before_any_handler_are_json_too() {
    let server = TestServer::start().await;

    // 405: a method the route does not have; `Allow` says which it has.
    let (status, head, body) = with_cookie(&server, "PUT", "/api/workshops", &[], None).await;
    assert_eq!(status, 405);
    assert_eq!(error_of(&head, &body), "method not allowed");
    let allow = header_value(&head, "allow").expect("Allow");
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");

    // 413: a body over the limit.
    let big = format!(r#"{{"title": "{}"}}"#, "x".repeat(3 * 1024 * 1024));
    let (status, head, body) =
        with_cookie(&server, "POST", "/api/workshops", &[], Some(&big)).await;
    assert_eq!(status, 413);
    assert!(error_of(&head, &body).contains("limit"), "{body}");

    // 414: a URI over 8 KiB, with the security headers like every answer.
    let long = format!("/api/workshops?q={}", "x".repeat(9 * 1024));
    let (status, head, body) = with_cookie(&server, "GET", &long, &[], None).await;
    assert_eq!(status, 414);
    assert!(error_of(&head, &body).contains("URI too long"), "{body}");
    assert!(header_value(&head, "content-security-policy").is_some());

    // A path that is not UTF-8: axum's plain-text rejection, made JSON.
    let (status, head, body) =
        with_cookie(&server, "GET", "/api/workshops/%FF/summary", &[], None).await;
    assert!((400..500).contains(&status), "{status}");
    error_of(&head, &body);

    // The sync endpoint without an upgrade.
    let (status, head, body) = with_cookie(&server, "GET", "/sync", &[], None).await;
    assert!((400..500).contains(&status), "{status}");
    error_of(&head, &body);

    // A request head over 64 KiB is refused by hyper itself before any
    // route runs (documented: 431, empty body).
    let huge = "x".repeat(70 * 1024);
    let headers = [("X-Huge", huge.as_str())];
    let (status, _, _) = http_with("GET", &server.http_url("/healthz"), &headers, None).await;
    assert_eq!(status, 431);
    server.shutdown().await;
}
