//! The web client in a real headless Chromium: it loads and runs, alone and
//! in two browsers at once (a host and a participant, each signed in with
//! their own session cookie). Screenshots land in `target/screenshots/`.

use testkit::{Browser, Key, TestServer};

use crate::common::world;

/// The client sets this on `<body>` once the wasm module runs.
const READY: &str = r#"body[data-client="ready"]"#;

#[tokio::test]
async fn the_wasm_client_starts_in_chromium() -> anyhow::Result<()> {
    let server = TestServer::start().await;
    let browser = Browser::start().await?;
    browser.goto(&server.http_url("/")).await?;
    browser.wait_for(READY).await?;
    // The home page lists the demo-free test server's workshops (none) in
    // the server-rendered list the client leaves as it is.
    assert_eq!(
        browser.attr("body", "data-page").await?.as_deref(),
        Some("list")
    );
    // Chromium asks for /favicon.ico by itself; the server has none.
    let errors: Vec<String> = browser
        .console_errors()
        .await?
        .into_iter()
        .filter(|e| !e.contains("favicon.ico"))
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    let shot = browser.screenshot("home").await?;
    assert!(std::fs::metadata(&shot)?.len() > 0, "{}", shot.display());
    drop(browser);
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_host_and_a_participant_each_have_their_own_browser() -> anyhow::Result<()> {
    // Chromium starts while the server is set up.
    let (world, host, alice) = tokio::join!(world(), Browser::start(), Browser::start());
    let (host, alice) = (host?, alice?);
    let base = world.server.base_url();
    for (browser, token) in [(&host, &world.host), (&alice, &world.alice)] {
        browser.set_session_cookie(&base, token).await?;
        browser.goto(&format!("{base}/")).await?;
        browser.wait_for(READY).await?;
    }
    // Each profile holds only its own session: the server sees two users.
    let mut names = Vec::new();
    for browser in [&host, &alice] {
        let session = browser
            .execute(
                "return fetch('/api/session').then((r) => r.json());",
                vec![],
            )
            .await?;
        names.push(
            session["user"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    assert_eq!(names, ["Hanna Host", "Alice"]);
    host.screenshot("two-browsers-host").await?;
    alice.screenshot("two-browsers-participant").await?;
    drop((host, alice));
    world.server.shutdown().await;
    Ok(())
}

/// The helpers the client's tests build on, on a page of our own: text
/// selection by UTF-16 range across elements and a surrogate pair, typing,
/// keys and clicks.
#[tokio::test]
async fn the_browser_helpers_select_type_press_and_click() -> anyhow::Result<()> {
    let browser = Browser::start().await?;
    browser.goto("about:blank").await?;
    browser
        .execute(
            "document.body.innerHTML = arguments[0];",
            vec![
                r#"<p id="text">Läk<b>emedels</b>verket 😀 — ATMP</p>
                <input id="field" onkeydown="if (event.key === 'Enter') document.body.dataset.entered = this.value">
                <button id="button" onclick="this.textContent = 'clicked'">click me</button>"#
                    .into(),
            ],
        )
        .await?;
    assert_eq!(browser.select_text("#text", 1, 5).await?, "äkem");
    assert_eq!(browser.select_text("#text", 3, 10).await?, "emedels");
    // 😀 is two UTF-16 units, at 17..19.
    assert_eq!(browser.select_text("#text", 17, 19).await?, "😀");
    let outside = browser.select_text("#text", 20, 99).await;
    assert!(outside.is_err(), "{outside:?}");
    browser.type_into("#field", "hej").await?;
    browser.press_key(Key::Enter).await?;
    browser.wait_for(r#"body[data-entered="hej"]"#).await?;
    browser.click("#button").await?;
    browser.wait_for_text("#button", "clicked").await?;
    Ok(())
}
