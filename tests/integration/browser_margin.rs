//! The comments beside the text, in real headless Chromium: on a wide
//! window each thread's card sits beside its highlight (cards on
//! neighbouring lines stacked without overlapping), a highlight focuses
//! its card and a card its highlight, the toolbar by a selection makes a
//! thread that another reader sees, a reply is written inside its card;
//! on a phone a tapped highlight opens its thread in a bottom sheet; a
//! signed-out reader is told the page is read-only. Positions are read
//! from the page with `getBoundingClientRect`.

use serde_json::{Value, json};
use testkit::{Browser, Key, http};

use crate::browser_steps::{count, fill, open_in, select, utf16_at};
use crate::common::{World, api, join, world};

/// Two lines of one section, and a registration (the page invites the
/// public to join the dialogue).
const LINE_1: &str = "Regionerna vill se nya betalningsmodeller för avancerade terapier.";
const LINE_2: &str = "Uppföljningen av data behöver en gemensam struktur.";
const REGISTRATION: &str = "Anmälan via e-post till Hanna";

/// An open workshop whose section has two lines, and Alice in it.
async fn two_lines(w: &World) -> (String, String) {
    let admin = w.server.admin_token().to_owned();
    let summary = json!({
        "workshop": { "title": "Marginalen", "meetingType": "open", "hosts": ["Värd"],
                      "registration": REGISTRATION },
        "sections": [{ "id": "issue", "heading": "Frågan", "body": format!("{LINE_1}\n{LINE_2}") }],
    });
    let (status, reply) = api(
        &w.server,
        "POST",
        "/api/workshops",
        Some(json!({ "summary": summary })),
        Some(&admin),
    )
    .await;
    assert_eq!(status, 201, "{reply}");
    let id = reply["id"].as_str().expect("id").to_owned();
    let alice = join(
        &w.server,
        &admin,
        id.parse().expect("id"),
        "participant",
        "Alice",
    )
    .await;
    (id, alice)
}

async fn sized(width: u32, height: u32) -> Browser {
    let b = Browser::start().await.expect("chromium starts");
    b.client()
        .set_window_size(width, height)
        .await
        .expect("window size");
    b
}

/// The section's text as the selection helper counts it: the paragraphs'
/// text nodes, no line breaks between them.
fn drawn() -> String {
    format!("{LINE_1}{LINE_2}")
}

/// Selects `needle` in the section's drawn text, comments on it from the
/// toolbar, and returns the new thread's id.
async fn comment_on(b: &Browser, text: &str, needle: &str, comment: &str) -> String {
    let start = utf16_at(text, needle);
    let before = count(b, "#threads .thread").await;
    select(b, "issue", start, start + needle.encode_utf16().count()).await;
    b.click("#selection-tools [data-action=\"comment\"]")
        .await
        .expect("Comment in the toolbar");
    fill(b, "#composer [data-key=\"composer-text\"]", comment).await;
    b.click("#composer [data-action=\"submit\"]")
        .await
        .expect("send");
    let deadline = tokio::time::Instant::now() + testkit::TIMEOUT;
    while count(b, "#threads .thread").await <= before {
        assert!(tokio::time::Instant::now() < deadline, "no new thread");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    b.execute(
        "const t = [...document.querySelectorAll('#threads .thread')]
           .find((t) => t.querySelector('.comment .body')?.textContent === arguments[0]);
         return t ? t.dataset.thread : null;",
        vec![json!(comment)],
    )
    .await
    .expect("thread id")
    .as_str()
    .expect("the new thread is listed")
    .to_owned()
}

/// Where a thread's highlight and card are: `{mark, card}` rects
/// (`top`, `bottom`, `left`, `right`), `null` for what is missing.
const RECTS_JS: &str = r#"
const id = arguments[0];
const rect = (el) => { if (!el) return null; const r = el.getBoundingClientRect();
  return { top: r.top, bottom: r.bottom, left: r.left, right: r.right }; };
const mark = [...document.querySelectorAll('mark.anchor[data-threads]')]
  .find((m) => m.dataset.threads.split(' ').includes(id));
const card = document.querySelector(`.thread[data-thread="${id}"]`);
return { mark: rect(mark), card: rect(card) };
"#;

async fn rects(b: &Browser, thread: &str) -> Value {
    b.execute(RECTS_JS, vec![json!(thread)])
        .await
        .expect("rects")
}

/// Waits until `js` (a function body) returns true.
async fn until(b: &Browser, what: &str, js: &str, args: Vec<Value>) {
    let deadline = tokio::time::Instant::now() + testkit::TIMEOUT;
    loop {
        if b.execute(js, args.clone()).await.expect("script") == json!(true) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn f(v: &Value, path: &[&str]) -> f64 {
    let mut v = v;
    for p in path {
        v = &v[*p];
    }
    v.as_f64()
        .unwrap_or_else(|| panic!("{path:?} is no number in {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_wide_window_comments_sit_beside_their_passages_and_focus_goes_both_ways() {
    let w = world().await;
    let (ws, alice_token) = two_lines(&w).await;
    let text = drawn();
    let alice = open_in(sized(1400, 1000).await, &w, Some(&alice_token), &ws).await;
    // A signed-out reader of the same (open) workshop.
    let reader = open_in(sized(1400, 1000).await, &w, None, &ws).await;

    // Selecting shows the toolbar beside the selection, in the section.
    let start = utf16_at(&text, "betalningsmodeller");
    select(&alice, "issue", start, start + 18).await;
    let placed = alice
        .execute(
            "const bar = document.querySelector('#selection-tools');
             const sel = window.getSelection().getRangeAt(0).getBoundingClientRect();
             const r = bar.getBoundingClientRect();
             return { inSection: !!bar.closest('section.section[data-section=\"issue\"]'),
                      gap: r.top - sel.bottom, left: r.left - sel.left,
                      buttons: [...bar.querySelectorAll('button')].map((b) => b.textContent) };",
            vec![],
        )
        .await
        .expect("toolbar");
    assert_eq!(placed["inSection"], json!(true), "{placed}");
    assert!(
        (0.0..40.0).contains(&f(&placed, &["gap"])),
        "just under the selection: {placed}"
    );
    assert!(f(&placed, &["left"]).abs() < 60.0, "{placed}");
    assert_eq!(placed["buttons"], json!(["Comment", "Propose wording"]));
    alice.screenshot("margin-wide-toolbar").await.expect("shot");
    // Escape closes it.
    alice.press_key(Key::Escape).await.expect("Escape");
    until(
        &alice,
        "Escape closes the toolbar",
        "return !document.querySelector('#selection-tools');",
        vec![],
    )
    .await;

    // "Comment" from the toolbar makes a thread on those words; the other
    // reader sees it.
    let first = comment_on(&alice, &text, "betalningsmodeller", "Vilka modeller?").await;
    let second = comment_on(&alice, &text, "Uppföljningen", "Vem följer upp?").await;
    reader
        .wait_for_text(
            &format!(".thread[data-thread=\"{first}\"] .quote"),
            "betalningsmodeller",
        )
        .await
        .expect("the reader sees the thread, with its quote");
    reader
        .wait_for(&format!(
            "mark.anchor[data-thread=\"{first}\"], mark.anchor[data-threads~=\"{first}\"]"
        ))
        .await
        .expect("and its highlight");

    // Each card beside its highlight; neighbouring lines' cards stacked.
    until(
        &alice,
        "both cards are placed",
        "return document.querySelectorAll('#threads[data-layout=\"margin\"] > .thread[style*=\"top\"]').length === 2;",
        vec![],
    )
    .await;
    assert_eq!(
        alice
            .text(&format!(".thread[data-thread=\"{second}\"] .quote"))
            .await
            .expect("quote"),
        "Uppföljningen",
        "anchored on exactly the selected words"
    );
    let a = rects(&alice, &first).await;
    let b = rects(&alice, &second).await;
    assert!(
        (f(&a, &["card", "top"]) - f(&a, &["mark", "top"])).abs() <= 40.0,
        "the first card is beside its highlight: {a}"
    );
    assert!(
        f(&b, &["mark", "top"]) - f(&a, &["mark", "top"]) < 60.0,
        "the passages are on neighbouring lines: {a} {b}"
    );
    assert!(
        f(&b, &["card", "top"]) >= f(&a, &["card", "bottom"]),
        "the cards do not overlap: {a} {b}"
    );
    assert!(
        f(&b, &["card", "top"]) - f(&a, &["card", "bottom"]) < 40.0,
        "the second is pushed just below the first: {a} {b}"
    );
    assert!(
        f(&a, &["card", "left"]) > f(&a, &["mark", "right"]),
        "in a margin to the right of the text: {a}"
    );
    alice
        .screenshot("margin-wide-participant")
        .await
        .expect("shot");

    // A highlight focuses its card; a card marks its highlight.
    alice
        .click(&format!("mark.anchor[data-thread=\"{second}\"]"))
        .await
        .expect("click the second highlight");
    alice
        .wait_for(&format!(".thread.focused[data-thread=\"{second}\"]"))
        .await
        .expect("its card is focused");
    assert_eq!(
        alice
            .execute(
                "return document.activeElement.dataset.thread || null;",
                vec![]
            )
            .await
            .expect("focus"),
        json!(second),
        "and has the keyboard focus"
    );
    assert_eq!(count(&alice, "mark.anchor.active").await, 1);
    assert_eq!(
        count(
            &alice,
            &format!("mark.anchor.active[data-thread=\"{second}\"]")
        )
        .await,
        1,
        "its highlight is the active one"
    );
    alice
        .click(&format!(".thread[data-thread=\"{first}\"] .quote"))
        .await
        .expect("click the first card");
    alice
        .wait_for(&format!("mark.anchor.active[data-thread=\"{first}\"]"))
        .await
        .expect("its highlight is marked");
    assert_eq!(count(&alice, ".thread.focused").await, 1);
    assert_eq!(count(&alice, "mark.anchor.active").await, 1);
    alice.screenshot("margin-wide-focused").await.expect("shot");

    // The reply composer opens inside its thread's card.
    alice
        .click(&format!(
            ".thread[data-thread=\"{first}\"] [data-action=\"reply\"]"
        ))
        .await
        .expect("reply");
    alice
        .wait_for(&format!(
            ".thread[data-thread=\"{first}\"] #composer [data-key=\"composer-text\"]"
        ))
        .await
        .expect("the reply composer is in the thread's card");
    assert_eq!(count(&alice, "#composer").await, 1);
    fill(
        &alice,
        "#composer [data-key=\"composer-text\"]",
        "Till exempel.",
    )
    .await;
    alice
        .click("#composer [data-action=\"submit\"]")
        .await
        .expect("send");
    reader
        .wait_for_text(
            &format!(".thread[data-thread=\"{first}\"]"),
            "Till exempel.",
        )
        .await
        .expect("the reply arrives");

    // One compact control per section instead of a row of buttons: "⋯"
    // for a participant, "⋯" and "Edit section" for a host, none for
    // the public.
    let section_controls = ".section[data-section=\"issue\"] .section-head button";
    assert_eq!(count(&alice, section_controls).await, 1);
    assert_eq!(count(&reader, section_controls).await, 0);
    let host = open_in(
        sized(1400, 1000).await,
        &w,
        Some(w.server.admin_token()),
        &ws,
    )
    .await;
    host.wait_for(&format!(".thread[data-thread=\"{first}\"]"))
        .await
        .expect("the host sees the threads");
    assert_eq!(count(&host, section_controls).await, 2);
    host.click("[data-action=\"section-menu\"][data-section=\"issue\"]")
        .await
        .expect("the host's section menu");
    host.wait_for("[data-action=\"propose-section\"][data-section=\"issue\"]")
        .await
        .expect("the menu opens");
    host.screenshot("margin-wide-host").await.expect("shot");
    drop(host);

    // The signed-out reader: told it is read-only and how to join, no
    // empty "Reading now", no "Saved".
    reader
        .wait_for_text("#read-only-note", "You are reading this summary.")
        .await
        .expect("the read-only note");
    reader
        .wait_for_text("#read-only-note .join-hint", REGISTRATION)
        .await
        .expect("the way to join");
    assert_eq!(
        count(&reader, "#presence .reader[data-name=\"Alice\"]").await,
        1,
        "who else is reading is still shown"
    );
    let status = reader.text("#status").await.expect("status");
    assert!(!status.contains("Saved"), "{status}");
    reader.screenshot("margin-wide-reader").await.expect("shot");
    // Alone on a page: no "Reading now" heading over an empty list.
    reader
        .goto(&format!("{}/w/{}", w.server.base_url(), w.open))
        .await
        .expect("another workshop");
    reader
        .wait_for("body[data-summary=\"live\"] #status[data-state=\"saved\"]")
        .await
        .expect("live");
    reader
        .wait_for("#sidebar .tabs")
        .await
        .expect("the sidebar is drawn");
    assert_eq!(count(&reader, "#presence").await, 0, "no empty presence");
    assert_eq!(count(&reader, "#read-only-note .join-hint").await, 0);
    // A workshop that takes no registrations has no hint (the server page).
    let (code, _, page) = http(
        "GET",
        &format!("{}/w/{}", w.server.base_url(), w.open),
        None,
        None,
    )
    .await;
    assert_eq!(code, 200);
    assert!(
        page.contains("id=\"read-only-note\""),
        "the note, also without JavaScript"
    );
    assert!(!page.contains("join-hint"), "no registration, no hint");
    // Participants get no such note.
    let (_, _, page) = http(
        "GET",
        &format!("{}/w/{ws}", w.server.base_url()),
        None,
        Some(&alice_token),
    )
    .await;
    assert!(!page.contains("read-only-note"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_phone_a_tapped_highlight_opens_its_thread_in_a_bottom_sheet() {
    let w = world().await;
    let (ws, alice_token) = two_lines(&w).await;
    let text = drawn();
    let alice = open_in(sized(390, 844).await, &w, Some(&alice_token), &ws).await;
    assert_eq!(
        alice
            .execute("return window.innerWidth;", vec![])
            .await
            .expect("width"),
        json!(390)
    );
    let thread = comment_on(&alice, &text, "Uppföljningen", "Vem följer upp?").await;
    alice
        .execute("window.scrollTo(0, 0);", vec![])
        .await
        .expect("scroll to the top");
    alice.screenshot("margin-phone-text").await.expect("shot");
    alice
        .click(&format!("mark.anchor[data-thread=\"{thread}\"]"))
        .await
        .expect("tap the highlight");
    let sheet = format!(".thread.focused[data-thread=\"{thread}\"]");
    alice.wait_for(&sheet).await.expect("the thread opens");
    let geometry = alice
        .execute(
            "const s = document.querySelector(arguments[0]); const r = s.getBoundingClientRect();
             const close = s.querySelector('[data-action=\"close-thread\"]').getBoundingClientRect();
             return { position: getComputedStyle(s).position, top: r.top, bottom: r.bottom,
                      width: r.width, inner: document.documentElement.clientWidth,
                      height: window.innerHeight, scroll: window.scrollY,
                      closeShown: close.width > 0 && close.height > 0 };",
            vec![json!(sheet)],
        )
        .await
        .expect("the sheet's place");
    assert_eq!(geometry["position"], json!("fixed"), "{geometry}");
    assert!(
        (f(&geometry, &["bottom"]) - f(&geometry, &["height"])).abs() < 2.0,
        "at the bottom of the screen: {geometry}"
    );
    assert!(
        f(&geometry, &["top"]) > 0.0 && f(&geometry, &["width"]) >= f(&geometry, &["inner"]) - 1.0,
        "on the screen, full width: {geometry}"
    );
    assert_eq!(geometry["closeShown"], json!(true), "{geometry}");
    assert!(
        f(&geometry, &["scroll"]) < 400.0,
        "the text stays where it was: {geometry}"
    );
    alice
        .wait_for_text(&sheet, "Vem följer upp?")
        .await
        .expect("the sheet holds the thread");
    alice.screenshot("margin-phone-sheet").await.expect("shot");
    // A signed-out reader on a phone: the note, and the same sheet.
    let reader = open_in(sized(390, 844).await, &w, None, &ws).await;
    reader
        .wait_for("#read-only-note")
        .await
        .expect("the read-only note");
    reader
        .screenshot("margin-phone-reader")
        .await
        .expect("shot");
    reader
        .click(&format!("mark.anchor[data-thread=\"{thread}\"]"))
        .await
        .expect("tap the highlight");
    reader
        .wait_for_text(&sheet, "Vem följer upp?")
        .await
        .expect("the reader's sheet holds the thread");
    reader
        .screenshot("margin-phone-reader-sheet")
        .await
        .expect("shot");
    drop(reader);
    alice
        .click(&format!("{sheet} [data-action=\"close-thread\"]"))
        .await
        .expect("close");
    until(
        &alice,
        "the sheet closes",
        "return !document.querySelector('.thread.focused');",
        vec![],
    )
    .await;
}
