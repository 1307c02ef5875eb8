//! The web client under concurrent events, in real headless Chromium: a
//! host types in a section while a participant selects and comments, many
//! times. Every DOM event, socket frame and timer goes through the client's
//! one runtime, which queues what arrives during an update; before, a frame
//! that redrew the page while an input handler held the state panicked
//! (`RefCell already borrowed`) and the host's client stopped.

use testkit::Browser;

use crate::browser_steps::{count, fill, open};
use crate::common::{api, world};

/// Rounds of typing against selecting and commenting.
const ROUNDS: usize = 12;

/// The client's panic hook logs "synpunkt client: …" as a console error.
async fn panics(b: &Browser) -> Vec<String> {
    b.console_errors()
        .await
        .expect("console log")
        .into_iter()
        .filter(|e| e.contains("synpunkt client") || e.contains("already borrowed"))
        .collect()
}

/// Selects the section's first word as a user would, again if the host's
/// typing redrew the text under the selection before the client read it
/// (as a person would select again).
async fn select_while_typed(b: &Browser) {
    let deadline = tokio::time::Instant::now() + testkit::TIMEOUT;
    loop {
        b.select_text(".body[data-section=\"issue\"]", 0, 4)
            .await
            .expect("select");
        b.execute(
            "document.body.dispatchEvent(new MouseEvent('mouseup', {bubbles: true}))",
            vec![],
        )
        .await
        .expect("mouseup");
        if count(b, "#selection-tools").await == 1 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the selection tools never appeared"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_typing_while_a_participant_selects_and_comments_never_panics() {
    let w = world().await;
    let ws = w.open.to_string();
    let (host, alice) = tokio::join!(open(&w, Some(&w.host), &ws), open(&w, Some(&w.alice), &ws));
    host.click("[data-action=\"edit-section\"][data-section=\"issue\"]")
        .await
        .expect("edit");
    host.wait_for("textarea[data-key=\"section-editor\"]")
        .await
        .expect("editor");
    host.execute(
        "const t = document.querySelector('textarea[data-key=\"section-editor\"]');
         t.focus(); t.setSelectionRange(t.value.length, t.value.length);",
        vec![],
    )
    .await
    .expect("caret at the end");

    let mut typed = Vec::new();
    for round in 0..ROUNDS {
        let word = format!(" k{round}");
        let typing = async {
            // Real key events, one by one, into the focused editor.
            host.type_keys(&word).await.expect("type");
        };
        let commenting = async {
            let before = count(&alice, "#threads .thread").await;
            select_while_typed(&alice).await;
            alice
                .click("#selection-tools [data-action=\"comment\"]")
                .await
                .expect("comment");
            fill(&alice, "[data-key=\"composer-text\"]", &format!("c{round}")).await;
            alice
                .click("#composer [data-action=\"submit\"]")
                .await
                .expect("send");
            alice
                .wait_for(&format!("#threads .thread:nth-of-type({})", before + 1))
                .await
                .expect("the comment is listed");
        };
        tokio::join!(typing, commenting);
        typed.push(word);
    }

    // The host's client is alive: it lists every comment, and everything
    // typed reached the server in order.
    host.wait_for(&format!("#threads .thread:nth-of-type({ROUNDS})"))
        .await
        .expect("the host sees every comment");
    let all: String = typed.concat();
    let deadline = tokio::time::Instant::now() + testkit::TIMEOUT;
    loop {
        let (status, summary) = api(
            &w.server,
            "GET",
            &format!("/api/workshops/{ws}/summary"),
            None,
            Some(&w.host),
        )
        .await;
        assert_eq!(status, 200);
        let body = summary["sections"][0]["body"].as_str().unwrap_or_default();
        if body.ends_with(&all) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the host's typing never fully arrived: {body:?}, expected it to end with {all:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    host.screenshot("client-typing-while-commenting-host")
        .await
        .expect("shot");
    assert_eq!(panics(&host).await, Vec::<String>::new(), "host panicked");
    assert_eq!(
        panics(&alice).await,
        Vec::<String>::new(),
        "participant panicked"
    );
}
