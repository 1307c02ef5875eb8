//! Shared set-up for the integration tests: a server with an open and an
//! invite-only workshop, a host and two participants, and a JSON API helper.

use docsync::DocumentId;
use serde_json::{Value, json};
use testkit::{TestServer, accept_invite, http};

pub struct World {
    pub server: TestServer,
    pub open: DocumentId,
    pub private: DocumentId,
    pub host: String,
    pub alice: String,
    pub bob: String,
}

pub async fn api(
    server: &TestServer,
    method: &str,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> (u16, Value) {
    let body = body.map(|b| b.to_string());
    let (status, _, reply) = http(
        method,
        &format!("{}{path}", server.base_url()),
        body.as_deref(),
        token,
    )
    .await;
    (status, serde_json::from_str(&reply).unwrap_or(Value::Null))
}

pub async fn create_workshop(
    server: &TestServer,
    token: &str,
    title: &str,
    meeting: &str,
) -> DocumentId {
    let summary = json!({
        "workshop": { "title": title, "meetingType": meeting, "hosts": ["Värd"] },
        "sections": [{ "id": "issue", "heading": "The issue at hand", "body": "Läkemedelsverket 😀 — ATMP" }],
    });
    let (status, reply) = api(
        server,
        "POST",
        "/api/workshops",
        Some(json!({ "summary": summary })),
        Some(token),
    )
    .await;
    assert_eq!(status, 201, "{reply}");
    reply["id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("document id")
}

pub async fn invite(
    server: &TestServer,
    token: &str,
    workshop: DocumentId,
    body: Value,
) -> (u16, Value) {
    api(
        server,
        "POST",
        &format!("/api/workshops/{workshop}/invites"),
        Some(body),
        Some(token),
    )
    .await
}

pub async fn join(
    server: &TestServer,
    host: &str,
    workshop: DocumentId,
    role: &str,
    name: &str,
) -> String {
    let (status, reply) = invite(server, host, workshop, json!({ "role": role })).await;
    assert_eq!(status, 201, "{reply}");
    accept_invite(
        &server.base_url(),
        reply["token"].as_str().expect("token"),
        name,
    )
    .await
}

/// An open and an invite-only workshop; a host of both; Alice and Bob
/// participate in both.
pub async fn world() -> World {
    let server = TestServer::start().await;
    let admin = server.admin_token().to_owned();
    let open = create_workshop(&server, &admin, "Öppen workshop", "open").await;
    let private = create_workshop(&server, &admin, "Stängd workshop", "invite-only").await;
    let host = join(&server, &admin, open, "host", "Hanna Host").await;
    // The same person becomes host of the second workshop too.
    let (_, second) = invite(&server, &admin, private, json!({ "role": "host" })).await;
    let body = json!({ "name": "ignored" }).to_string();
    let (status, _, _) = http(
        "POST",
        &format!(
            "{}/api/invites/{}/accept",
            server.base_url(),
            second["token"].as_str().expect("token")
        ),
        Some(&body),
        Some(&host),
    )
    .await;
    assert_eq!(status, 200);
    let alice = join(&server, &host, open, "participant", "Alice").await;
    let bob = join(&server, &host, open, "participant", "Bob").await;
    for who in [&alice, &bob] {
        let (_, inv) = invite(&server, &host, private, json!({ "role": "participant" })).await;
        let (status, _, _) = http(
            "POST",
            &format!(
                "{}/api/invites/{}/accept",
                server.base_url(),
                inv["token"].as_str().expect("token")
            ),
            Some("{}"),
            Some(who),
        )
        .await;
        assert_eq!(status, 200);
    }
    World {
        server,
        open,
        private,
        host,
        alice,
        bob,
    }
}
