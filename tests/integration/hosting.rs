//! What a host needs to run a workshop from the browser alone, on the
//! server's side: a fresh admin sign-in link from the machine while the
//! server runs; users' own sessions; a workshop's members and personal
//! sign-in links for them; invite pages that name the workshop and the
//! role and refuse unusable links at once; workshops created from pasted
//! text or empty but ready to write; archiving.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use serde_json::{Value, json};
use server::Clock;
use testkit::{Client, ServerProcess, TestServer, http, http_with, synpunkt_bin};

use crate::common::{api, create_workshop, invite, world};

fn seed_path() -> String {
    let near = testkit::repo_root().join("../shared/seed/000_9a3fe46c59b222e3.txt");
    std::env::var("SYNPUNKT_SEED").unwrap_or_else(|_| {
        if near.exists() {
            near.display().to_string()
        } else {
            "/work/shared/seed/000_9a3fe46c59b222e3.txt".into()
        }
    })
}

/// Runs `synpunkt admin-link --data DIR`; returns the invite token it
/// printed.
async fn admin_link(data: &std::path::Path) -> String {
    let data = data.to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(synpunkt_bin())
            .args(["admin-link", "--listen", "127.0.0.1:9", "--data"])
            .arg(&data)
            .output()
            .expect("run synpunkt admin-link")
    })
    .await
    .expect("join");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, token) = printed.trim().split_once("/invite/").expect("a link");
    token.to_owned()
}

async fn accept(base: &str, token: &str, name: &str) -> (u16, Value) {
    let body = json!({ "name": name }).to_string();
    let (status, _, reply) = http(
        "POST",
        &format!("{base}/api/invites/{token}/accept"),
        Some(&body),
        None,
    )
    .await;
    (status, serde_json::from_str(&reply).unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_admin_link_command_works_while_the_server_runs_and_while_it_is_stopped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = ServerProcess::start(&data).await;
    let base = server.base_url();
    // Only the data directory's owner can reach the control socket.
    let socket = data.join("control").join("admin.sock");
    let mode = |p: &std::path::Path| std::fs::metadata(p).expect("exists").permissions().mode();
    assert_eq!(mode(&socket) & 0o777, 0o600);
    assert_eq!(mode(socket.parent().expect("dir")) & 0o777, 0o700);

    // While the server runs: the link names its address and signs in an
    // admin, once.
    let token = admin_link(&data).await;
    let (status, reply) = accept(&base, &token, "Ny admin").await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["user"]["admin"], true, "{reply}");
    let (status, _) = accept(&base, &token, "Igen").await;
    assert_eq!(status, 400, "one-time");
    // A second link is another, also good.
    let second = admin_link(&data).await;
    assert_ne!(second, token);

    server.signal("TERM");
    assert!(server.wait().await.success());
    assert!(!socket.exists(), "the socket goes with the server");

    // Stopped: the command opens the store itself; the link works once
    // the server is back.
    let offline = admin_link(&data).await;
    let server = ServerProcess::start(&data).await;
    let (status, reply) = accept(&server.base_url(), &offline, "Tredje").await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["user"]["admin"], true);
    let (status, _) = accept(&server.base_url(), &second, "Fjärde").await;
    assert_eq!(status, 200, "the link made while running still works");
    server.signal("TERM");
    assert!(server.wait().await.success());
}

#[tokio::test]
async fn users_see_and_end_their_own_sessions_only() {
    let w = world().await;
    let s = &w.server;
    let (_, before) = api(s, "GET", "/api/sessions", None, Some(&w.alice)).await;
    let before = before.as_array().expect("array").len();
    // Alice signs in on another device through a new invite.
    let (_, inv) = invite(s, &w.host, w.open, json!({ "role": "participant" })).await;
    let body = json!({}).to_string();
    let (status, _, reply) = http(
        "POST",
        &format!(
            "{}/api/invites/{}/accept",
            s.base_url(),
            inv["token"].as_str().expect("token")
        ),
        Some(&body),
        Some(&w.alice),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    let phone: Value = serde_json::from_str(&reply).expect("json");
    let phone_token = phone["token"].as_str().expect("token").to_owned();
    let phone_id = phone["sessionId"].as_str().expect("id").to_owned();
    let (_, me) = api(s, "GET", "/api/session", None, Some(&w.alice)).await;
    let alice_id = me["sessionId"].as_str().expect("id").to_owned();

    let (status, list) = api(s, "GET", "/api/sessions", None, Some(&w.alice)).await;
    assert_eq!(status, 200, "{list}");
    let list = list.as_array().expect("array").clone();
    assert_eq!(list.len(), before + 1, "{list:?}");
    let current: Vec<&str> = list
        .iter()
        .filter(|x| x["current"] == true)
        .map(|x| x["id"].as_str().expect("id"))
        .collect();
    assert_eq!(current, [alice_id.as_str()], "{list:?}");
    assert!(list.iter().any(|x| x["id"] == phone_id.as_str()));
    assert!(list[0]["createdAt"].is_u64() && list[0]["lastSeenAt"].is_u64());
    let (status, _) = api(s, "GET", "/api/sessions", None, None).await;
    assert_eq!(status, 401);

    // Bob can neither see nor end Alice's sessions.
    let (_, bobs) = api(s, "GET", "/api/sessions", None, Some(&w.bob)).await;
    assert!(
        !bobs
            .as_array()
            .expect("array")
            .iter()
            .any(|x| x["id"] == phone_id.as_str())
    );
    let path = format!("/api/sessions/{phone_id}");
    let (status, _) = api(s, "DELETE", &path, None, Some(&w.bob)).await;
    assert_eq!(status, 404);

    // Alice ends the phone's session: its socket closes, its token is dead.
    let phone_peer = Client::connect(&s.sync_url_for(&phone_token)).await;
    phone_peer.find(w.open).await.expect("the phone reads");
    let (status, _) = api(s, "DELETE", &path, None, Some(&w.alice)).await;
    assert_eq!(status, 204);
    phone_peer
        .wait_closed()
        .await
        .expect("its connection closes");
    let (status, _) = api(s, "GET", "/api/session", None, Some(&phone_token)).await;
    assert_eq!(status, 401);
    let (_, list) = api(s, "GET", "/api/sessions", None, Some(&w.alice)).await;
    assert_eq!(list.as_array().map(Vec::len), Some(before));
    let (status, _) = api(s, "DELETE", &path, None, Some(&w.alice)).await;
    assert_eq!(status, 404, "ended already");
}

#[tokio::test]
async fn hosts_list_members_and_issue_personal_sign_in_links() {
    let w = world().await;
    let s = &w.server;
    let admin = s.admin_token().to_owned();
    let members_path = format!("/api/workshops/{}/members", w.open);
    let (status, members) = api(s, "GET", &members_path, None, Some(&w.host)).await;
    assert_eq!(status, 200, "{members}");
    let names: Vec<(&str, &str)> = members
        .as_array()
        .expect("array")
        .iter()
        .map(|m| {
            (
                m["name"].as_str().expect("name"),
                m["role"].as_str().expect("role"),
            )
        })
        .collect();
    assert!(names.contains(&("Hanna Host", "host")), "{names:?}");
    assert!(names.contains(&("Alice", "participant")), "{names:?}");
    assert!(names.contains(&("Bob", "participant")), "{names:?}");
    let (status, _) = api(s, "GET", &members_path, None, Some(&w.alice)).await;
    assert_eq!(status, 403);
    let id_of = |name: &str| {
        members
            .as_array()
            .expect("array")
            .iter()
            .find(|m| m["name"] == name)
            .and_then(|m| m["userId"].as_str())
            .expect("member")
            .to_owned()
    };
    let (alice_id, host_id) = (id_of("Alice"), id_of("Hanna Host"));
    let link_path = |user: &str| format!("/api/workshops/{}/members/{user}/sign-in-link", w.open);

    // A participant may not; a host may not for another host; nobody for
    // a non-member.
    let (status, _) = api(s, "POST", &link_path(&alice_id), None, Some(&w.bob)).await;
    assert_eq!(status, 403);
    let (status, _) = api(s, "POST", &link_path(&host_id), None, Some(&w.host)).await;
    assert_eq!(status, 403);
    let (status, _) = api(s, "POST", &link_path("nobody"), None, Some(&w.host)).await;
    assert_eq!(status, 404);
    let (status, reply) = api(s, "POST", &link_path(&host_id), None, Some(&admin)).await;
    assert_eq!(status, 201, "an admin may: {reply}");

    // The host's link for Alice: the page says whom it signs in, and it
    // signs into Alice's own user, once.
    let (status, reply) = api(s, "POST", &link_path(&alice_id), None, Some(&w.host)).await;
    assert_eq!(status, 201, "{reply}");
    let token = reply["token"].as_str().expect("token").to_owned();
    assert!(reply["expiresAt"].as_u64().is_some(), "{reply}");
    let (status, _, page) =
        http_with("GET", &s.http_url(&format!("/invite/{token}")), &[], None).await;
    assert_eq!(status, 200);
    assert!(page.contains("<bdi>Alice</bdi>"), "{page}");
    assert!(page.contains("<bdi>Öppen workshop</bdi>"), "{page}");
    assert!(!page.contains("id=\"name\""), "no name to type: {page}");
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let (status, head, _) = http_with(
        "POST",
        &s.http_url(&format!("/invite/{token}")),
        &form,
        Some(""),
    )
    .await;
    assert_eq!(status, 303, "{head}");
    let cookie = testkit::header_value(&head, "set-cookie").expect("cookie");
    let session = cookie
        .split(';')
        .next()
        .and_then(|c| c.strip_prefix("synpunkt_session="))
        .expect("session")
        .to_owned();
    let (_, me) = api(s, "GET", "/api/session", None, Some(&session)).await;
    assert_eq!(me["user"]["id"], alice_id.as_str(), "the same user: {me}");
    assert_eq!(me["user"]["name"], "Alice");
    let (status, _, page) =
        http_with("GET", &s.http_url(&format!("/invite/{token}")), &[], None).await;
    assert_eq!(status, 410, "used: {page}");
}

#[tokio::test]
async fn the_invite_page_names_the_workshop_and_role_and_refuses_unusable_links_at_once() {
    let clock = Clock::manual();
    let server = TestServer::start_with({
        let clock = clock.clone();
        move |c| c.clock = clock
    })
    .await;
    let admin = server.admin_token().to_owned();
    let doc = create_workshop(
        &server,
        &admin,
        "Betalningsmodeller för ATMP",
        "invite-only",
    )
    .await;
    let make = |body: Value| invite(&server, &admin, doc, body);
    let (_, host) = make(json!({ "role": "host" })).await;
    let (_, once) = make(json!({ "role": "participant", "maxUses": 1 })).await;
    let (_, soon) = make(json!({ "role": "participant", "expiresInSeconds": 60 })).await;
    let (_, revoked) = make(json!({ "role": "participant" })).await;
    let token = |v: &Value| v["token"].as_str().expect("token").to_owned();
    let page = |token: String, lang: &'static str| {
        let url = server.http_url(&format!("/invite/{token}?lang={lang}"));
        async move { http_with("GET", &url, &[], None).await }
    };

    let (status, _, html) = page(token(&host), "en").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("You are invited to <strong id=\"invite-workshop\"><bdi>Betalningsmodeller för ATMP</bdi></strong> as <strong id=\"invite-role\">Host</strong>"),
        "{html}"
    );
    let (_, _, html) = page(token(&once), "sv").await;
    assert!(
        html.contains("Du är inbjuden till") && html.contains(">Deltagare</strong>"),
        "{html}"
    );

    // Used up, expired, revoked: 410 with the reason; unknown: 404.
    accept(&server.base_url(), &token(&once), "Ett").await;
    clock.advance(Duration::from_secs(60));
    let revoke = format!(
        "/api/workshops/{doc}/invites/{}",
        revoked["invite"]["id"].as_str().expect("id")
    );
    let (status, _) = api(&server, "DELETE", &revoke, None, Some(&admin)).await;
    assert_eq!(status, 204);
    for (t, reason, skäl) in [
        (token(&once), "already been used", "redan använts"),
        (token(&soon), "has expired", "har gått ut"),
        (token(&revoked), "revoked by a host", "återkallats"),
    ] {
        let (status, _, html) = page(t.clone(), "en").await;
        assert_eq!(status, 410, "{html}");
        assert!(html.contains(reason), "{html}");
        assert!(!html.contains("<form"), "no form: {html}");
        let (status, _, html) = page(t.clone(), "sv").await;
        assert_eq!(status, 410);
        assert!(html.contains(skäl), "{html}");
        // Sending the form anyway says the same.
        let (status, _, html) = http_with(
            "POST",
            &server.http_url(&format!("/invite/{t}")),
            &[("Content-Type", "application/x-www-form-urlencoded")],
            Some("name=Eve"),
        )
        .await;
        assert_eq!(status, 410);
        assert!(html.contains("id=\"link-state\""), "{html}");
    }
    let (status, _, html) = page("ab".repeat(32), "en").await;
    assert_eq!(status, 404);
    assert!(html.contains("Unknown link"), "{html}");

    // The list of invites shows what a Share panel needs.
    let (_, list) = api(
        &server,
        "GET",
        &format!("/api/workshops/{doc}/invites"),
        None,
        Some(&admin),
    )
    .await;
    let list = list.as_array().expect("array");
    assert_eq!(list.len(), 4);
    let by_id = |id: &Value| list.iter().find(|i| i["id"] == *id).expect("listed");
    let once_listed = by_id(&once["invite"]["id"]);
    assert_eq!(
        (
            &once_listed["role"],
            &once_listed["uses"],
            &once_listed["maxUses"],
            &once_listed["state"]
        ),
        (
            &json!("participant"),
            &json!(1),
            &json!(1),
            &json!("used-up")
        )
    );
    assert!(once_listed["createdAt"].is_u64());
    let soon_listed = by_id(&soon["invite"]["id"]);
    assert!(soon_listed["expiresAt"].is_u64());
    assert_eq!(soon_listed["state"], "expired");
    assert_eq!(by_id(&revoked["invite"]["id"])["revoked"], true);
    assert_eq!(by_id(&host["invite"]["id"])["role"], "host");
    server.shutdown().await;
}

#[tokio::test]
async fn hosts_create_workshops_from_pasted_text_or_empty_and_archive_them() {
    let w = world().await;
    let s = &w.server;
    let page = std::fs::read_to_string(seed_path()).expect("seed page");
    let (status, made) = api(
        s,
        "POST",
        "/api/workshops",
        Some(json!({ "text": page, "meetingType": "open" })),
        Some(&w.host),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(
        made["title"],
        "Payment models for ATMP – what is happening?"
    );
    assert_eq!(made["skipped"], 2, "the page's other workshops: {made}");
    let id = made["id"].as_str().expect("id").to_owned();
    let (_, record) = api(s, "GET", &format!("/api/workshops/{id}"), None, None).await;
    assert!(
        record["seriesDescription"]
            .as_str()
            .is_some_and(|d| d.starts_with("Become a partner")),
        "{record}"
    );
    let (_, summary) = api(
        s,
        "GET",
        &format!("/api/workshops/{id}/summary"),
        None,
        None,
    )
    .await;
    assert_eq!(summary["workshop"]["hosts"][0], "Sofie Alverlind, SKR");
    assert_eq!(summary["sections"][0]["id"], "issue", "{summary}");
    let (_, _, html) = http_with("GET", &s.http_url(&format!("/w/{id}")), &[], None).await;
    assert!(
        html.contains("<meta name=\"description\" content=\"TLV is commissioned"),
        "{html}"
    );
    assert!(!html.contains("Become a partner"), "{html}");

    // Empty, but ready to write in.
    let (status, empty) = api(
        s,
        "POST",
        "/api/workshops",
        Some(json!({
            "title": "Vårens möte",
            "meetingType": "invite-only",
            "language": "sv",
            "startsAt": "2026-03-02T14:30",
        })),
        Some(&w.host),
    )
    .await;
    assert_eq!(status, 201, "{empty}");
    assert_eq!(empty["startsAt"], "2026-03-02T14:30");
    let empty_id = empty["id"].as_str().expect("id").to_owned();
    let (_, summary) = api(
        s,
        "GET",
        &format!("/api/workshops/{empty_id}/summary"),
        None,
        Some(&w.host),
    )
    .await;
    assert_eq!(summary["workshop"]["when"], "2026-03-02 14:30");
    assert_eq!(summary["workshop"]["language"], "sv");
    assert_eq!(
        summary["sections"],
        json!([{ "id": "summary", "heading": "Sammanfattning", "body": "" }])
    );
    for bad in [
        json!({ "title": "x", "startsAt": "imorgon" }),
        json!({ "title": "x", "startsAt": "2026-13-02T14:30" }),
        json!({ "title": "x", "language": "<b>" }),
        json!({ "text": "x", "summary": {} }),
    ] {
        let (status, _) = api(
            s,
            "POST",
            "/api/workshops",
            Some(bad.clone()),
            Some(&w.host),
        )
        .await;
        assert_eq!(status, 400, "{bad}");
    }

    // Archiving: hosts only; then listed to hosts and admins only, still
    // readable by link, and restorable.
    let archive = format!("/api/workshops/{}/archive", w.open);
    let (status, _) = api(s, "POST", &archive, None, Some(&w.alice)).await;
    assert_eq!(status, 403);
    let (status, record) = api(s, "POST", &archive, None, Some(&w.host)).await;
    assert_eq!(status, 200);
    assert_eq!(record["archived"], true);
    let listed = |token: Option<String>| async move {
        let (_, list) = api(s, "GET", "/api/workshops", None, token.as_deref()).await;
        list.as_array()
            .expect("array")
            .iter()
            .any(|x| x["id"] == w.open.to_string())
    };
    assert!(!listed(None).await);
    assert!(!listed(Some(w.alice.clone())).await);
    assert!(listed(Some(w.host.clone())).await);
    assert!(listed(Some(s.admin_token().to_owned())).await);
    let on_page = |cookie: Option<String>| async move {
        let cookie = cookie.map(|t| format!("synpunkt_session={t}"));
        let headers: Vec<(&str, &str)> = cookie.iter().map(|c| ("Cookie", c.as_str())).collect();
        let (_, _, html) = http_with("GET", &s.http_url("/"), &headers, None).await;
        html.contains(&format!("/w/{}", w.open))
    };
    assert!(!on_page(None).await);
    assert!(!on_page(Some(w.alice.clone())).await);
    assert!(on_page(Some(w.host.clone())).await);
    let (status, _) = api(
        s,
        "GET",
        &format!("/api/workshops/{}/summary", w.open),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "kept, and readable by its link");
    let restore = format!("/api/workshops/{}/restore", w.open);
    let (status, _) = api(s, "POST", &restore, None, Some(&w.host)).await;
    assert_eq!(status, 200);
    assert!(listed(None).await);
    assert!(on_page(None).await);
}
