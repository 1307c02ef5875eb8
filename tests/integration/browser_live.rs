//! Live collaboration in real headless Chromium, several browsers on one
//! summary: thread actions from the sidebar (reply, edit, delete, react,
//! resolve, reopen, the open / resolved / orphaned filters) as the other
//! readers see them; presence (who is reading, and another reader's
//! selection underlined on the same characters, also after the text
//! changed); and two hosts editing one section, each keeping their caret
//! and their typing through the other's edits.

use serde_json::{Value, json};
use testkit::{Browser, TIMEOUT};

use crate::browser_steps::{
    body_text, count, edit_section_start, fill, open, select, type_at_editor_start, utf16_at,
};
use crate::common::{api, join, world};

/// The summary's one section (see `common::create_workshop`).
const TEXT: &str = "Läkemedelsverket 😀 — ATMP";

/// How often [`poll`] looks at the page again.
const POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// Runs `js` (a function body) in the page until `done` holds for what it
/// returns; returns that. Fails after [`TIMEOUT`] with `what` and the last
/// value seen.
async fn poll(
    b: &Browser,
    what: &str,
    js: &str,
    args: Vec<Value>,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let value = b.execute(js, args.clone()).await.expect("script runs");
        if done(&value) {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {TIMEOUT:?} waiting until {what}; last seen {value}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until exactly `n` elements match `css`.
async fn wait_count(b: &Browser, css: &str, n: u64) {
    poll(
        b,
        &format!("{n} elements match `{css}`"),
        "return document.querySelectorAll(arguments[0]).length;",
        vec![json!(css)],
        |v| v.as_u64() == Some(n),
    )
    .await;
}

/// Selects `start..end` of the section and comments on it; returns the new
/// thread's id (the newest thread in the list).
async fn comment_on(b: &Browser, start: usize, end: usize, text: &str) -> String {
    let before = count(b, "#threads .thread").await;
    select(b, "issue", start, end).await;
    b.click("#selection-tools [data-action=\"comment\"]")
        .await
        .expect("comment");
    fill(b, "[data-key=\"composer-text\"]", text).await;
    b.click("#composer [data-action=\"submit\"]")
        .await
        .expect("send");
    wait_count(b, "#threads .thread", before + 1).await;
    let thread = b
        .execute(
            "const all = [...document.querySelectorAll('#threads .thread')];
             const t = all.find((t) => t.querySelector('.comment .body')?.textContent === arguments[0]);
             return t ? t.dataset.thread : null;",
            vec![json!(text)],
        )
        .await
        .expect("thread id");
    thread
        .as_str()
        .expect("the new thread is listed")
        .to_owned()
}

/// The CSS selector of a thread's article.
fn thread(id: &str) -> String {
    format!("#threads .thread[data-thread=\"{id}\"]")
}

/// The ids of a thread's comments, in order.
async fn comment_ids(b: &Browser, thread_id: &str) -> Vec<String> {
    let ids = b
        .execute(
            "return [...document.querySelectorAll(arguments[0] + ' .comment')].map((c) => c.dataset.comment);",
            vec![json!(thread(thread_id))],
        )
        .await
        .expect("comment ids");
    serde_json::from_value(ids).expect("strings")
}

/// Writes a reply to a thread from the sidebar.
async fn reply(b: &Browser, thread_id: &str, text: &str) {
    b.click(&format!("{} [data-action=\"reply\"]", thread(thread_id)))
        .await
        .expect("reply");
    fill(b, "[data-key=\"composer-text\"]", text).await;
    b.click("#composer [data-action=\"submit\"]")
        .await
        .expect("send");
}

/// Edit and delete buttons on a comment.
fn owner_tools(comment: &str) -> String {
    format!(
        ".comment[data-comment=\"{comment}\"] [data-action=\"edit-comment\"], \
         .comment[data-comment=\"{comment}\"] [data-action=\"delete-comment\"]"
    )
}

/// Reloads a page and waits for the summary.
async fn reload(b: &Browser) {
    let url = b.url().await.expect("url");
    b.goto(&url).await.expect("reload");
    b.wait_for("body[data-summary=\"live\"]")
        .await
        .expect("the client draws the summary again");
}

/// The filter button's text ("Open (1)", "Öppna (1)", ...).
async fn filter_label(b: &Browser, filter: &str) -> String {
    b.text(&format!(
        "[data-action=\"filter\"][data-filter=\"{filter}\"]"
    ))
    .await
    .expect("filter")
}

async fn wait_filter_count(b: &Browser, filter: &str, n: usize) {
    let css = format!("[data-action=\"filter\"][data-filter=\"{filter}\"]");
    b.wait_for_text(&css, &format!("({n})"))
        .await
        .unwrap_or_else(|e| panic!("the {filter} filter counts {n}: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_edits_deletions_and_reactions_reach_the_other_browsers() {
    let w = world().await;
    let ws = w.open.to_string();
    let (host, alice, bob) = tokio::join!(
        open(&w, Some(&w.host), &ws),
        open(&w, Some(&w.alice), &ws),
        open(&w, Some(&w.bob), &ws),
    );
    let at = utf16_at(TEXT, "ATMP");
    let t = comment_on(&alice, at, at + 4, "Vad betyder ATMP?").await;

    // The host replies; Bob replies too. Everyone sees both, by name.
    host.wait_for_text(&thread(&t), "Vad betyder ATMP?")
        .await
        .expect("Alice's comment reaches the host");
    reply(&host, &t, "Avancerade terapier.").await;
    bob.wait_for_text(&thread(&t), "Avancerade terapier.")
        .await
        .expect("the host's reply reaches Bob");
    reply(&bob, &t, "Tack, <i>bra</i> fråga").await;
    for b in [&host, &alice, &bob] {
        b.wait_for_text(&thread(&t), "Tack, <i>bra</i> fråga")
            .await
            .expect("Bob's reply arrives everywhere");
    }
    let ids = comment_ids(&alice, &t).await;
    assert_eq!(ids.len(), 3, "{ids:?}");
    let (first, by_host, by_bob) = (&ids[0], &ids[1], &ids[2]);
    assert_eq!(
        comment_ids(&host, &t).await,
        ids,
        "the same order everywhere"
    );
    assert_eq!(count(&alice, &format!("{} i", thread(&t))).await, 0);
    for (id, name) in [(first, "Alice"), (by_host, "Hanna Host"), (by_bob, "Bob")] {
        alice
            .wait_for_text(&format!(".comment[data-comment=\"{id}\"] .author"), name)
            .await
            .expect("each comment with its verified author");
    }

    // 👍 from Bob, then from the host: the count goes up on Alice's page.
    let like = |id: &str| format!(".comment[data-comment=\"{id}\"] [data-action=\"react\"]");
    bob.click(&like(first)).await.expect("react");
    alice
        .wait_for_text(&like(first), "👍 1")
        .await
        .expect("Bob's reaction reaches Alice");
    host.wait_for_text(&like(first), "👍 1")
        .await
        .expect("and the host");
    host.click(&like(first)).await.expect("react");
    alice
        .wait_for_text(&like(first), "👍 2")
        .await
        .expect("the host's reaction reaches Alice");
    bob.wait_for_text(&like(first), "👍 2")
        .await
        .expect("and Bob");
    alice
        .screenshot("live-thread-participant")
        .await
        .expect("shot");

    // Edit and delete only on one's own comments. After a reload the page
    // writes with a new actor: its own comments are known by the verified
    // author (the session's user), and so are the others'.
    reload(&alice).await;
    reload(&bob).await;
    alice
        .wait_for(&owner_tools(first))
        .await
        .expect("Alice may edit her comment (known as hers after a reload)");
    bob.wait_for(&owner_tools(by_bob))
        .await
        .expect("Bob may edit his reply");
    host.wait_for(&owner_tools(by_host))
        .await
        .expect("the host may edit the host's reply");
    for (b, own, others) in [
        (&alice, first, [by_host, by_bob]),
        (&bob, by_bob, [first, by_host]),
        (&host, by_host, [first, by_bob]),
    ] {
        assert_eq!(count(b, &owner_tools(own)).await, 2, "edit and delete");
        for other in others {
            assert_eq!(
                count(b, &owner_tools(other)).await,
                0,
                "no edit or delete on someone else's comment"
            );
            assert_eq!(
                count(b, &like(other)).await,
                1,
                "but a reaction, like everyone"
            );
        }
    }
    bob.screenshot("live-thread-other-participant")
        .await
        .expect("shot");

    // Alice edits her comment: the others see the new text.
    alice
        .click(&format!(
            ".comment[data-comment=\"{first}\"] [data-action=\"edit-comment\"]"
        ))
        .await
        .expect("edit");
    assert_eq!(
        alice
            .execute(
                "return document.querySelector('[data-key=\"composer-text\"]').value;",
                vec![]
            )
            .await
            .expect("composer"),
        json!("Vad betyder ATMP?"),
        "the editor starts from the comment"
    );
    fill(
        &alice,
        "[data-key=\"composer-text\"]",
        "Vad betyder ATMP här?",
    )
    .await;
    alice
        .click("#composer [data-action=\"submit\"]")
        .await
        .expect("save");
    let body = |id: &str| format!(".comment[data-comment=\"{id}\"] .body");
    for b in [&host, &bob] {
        b.wait_for_text(&body(first), "Vad betyder ATMP här?")
            .await
            .expect("the edit arrives");
    }
    host.wait_for_text(&like(first), "👍 2")
        .await
        .expect("reactions stay through an edit");

    // Alice deletes it: shown as deleted everywhere, the thread and its
    // replies stay.
    alice
        .click(&format!(
            ".comment[data-comment=\"{first}\"] [data-action=\"delete-comment\"]"
        ))
        .await
        .expect("delete");
    for b in [&host, &bob, &alice] {
        b.wait_for(&format!(".comment[data-comment=\"{first}\"] .body.deleted"))
            .await
            .expect("shown as deleted");
        assert!(
            !b.text(&thread(&t))
                .await
                .expect("thread")
                .contains("Vad betyder ATMP"),
            "its text is gone"
        );
        assert_eq!(comment_ids(b, &t).await, ids, "the thread keeps its place");
        assert_eq!(
            count(b, &format!(".comment[data-comment=\"{first}\"] button")).await,
            0,
            "nothing to do with a deleted comment"
        );
        assert_eq!(b.text("mark.anchor").await.expect("anchor"), "ATMP");
    }
    host.screenshot("live-thread-deleted-comment")
        .await
        .expect("shot");
    let (status, threads) = api(
        &w.server,
        "GET",
        &format!("/api/workshops/{ws}/threads"),
        None,
        Some(&w.host),
    )
    .await;
    assert_eq!(status, 200);
    let comments = &threads[0]["comments"];
    assert_eq!(comments[0]["deleted"], true);
    assert_eq!(comments[0]["body"], "");
    assert_eq!(comments[1]["body"], "Avancerade terapier.");
    assert_eq!(comments[2]["body"], "Tack, <i>bra</i> fråga");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threads_move_between_open_resolved_and_orphaned() {
    let w = world().await;
    let ws = w.open.to_string();
    let (host, alice) = tokio::join!(open(&w, Some(&w.host), &ws), open(&w, Some(&w.alice), &ws));
    let at = utf16_at(TEXT, "ATMP");
    let agency = comment_on(&alice, 0, 16, "Vilken myndighet?").await;
    let acronym = comment_on(&alice, at, at + 4, "Förkortning?").await;
    host.wait_for(&thread(&acronym))
        .await
        .expect("both threads reach the host");
    wait_filter_count(&host, "open", 2).await;

    // The host resolves one: it leaves Alice's open list for the resolved
    // one, and its passage is no longer marked.
    host.click(&format!("{} [data-action=\"resolve\"]", thread(&acronym)))
        .await
        .expect("resolve");
    wait_count(&alice, &thread(&acronym), 0).await;
    wait_filter_count(&alice, "resolved", 1).await;
    wait_filter_count(&alice, "open", 1).await;
    assert_eq!(count(&alice, "mark.anchor").await, 1);
    assert_eq!(
        alice.text("mark.anchor").await.expect("anchor"),
        "Läkemedelsverket"
    );
    alice
        .click("[data-action=\"filter\"][data-filter=\"resolved\"]")
        .await
        .expect("resolved filter");
    alice
        .wait_for(&format!("{}[data-resolved=\"true\"]", thread(&acronym)))
        .await
        .expect("listed under resolved");
    assert_eq!(count(&alice, "#threads .thread").await, 1);
    alice
        .screenshot("live-filter-resolved")
        .await
        .expect("shot");

    // Alice started that thread: she may reopen it. It is open again on
    // the host's page.
    alice
        .click(&format!("{} [data-action=\"reopen\"]", thread(&acronym)))
        .await
        .expect("reopen");
    host.wait_for(&format!("{}[data-resolved=\"false\"]", thread(&acronym)))
        .await
        .expect("open again for the host");
    wait_filter_count(&host, "open", 2).await;
    wait_filter_count(&host, "resolved", 0).await;
    wait_count(&alice, "#threads .thread", 0).await;

    // The host deletes the whole passage of the other thread in the
    // section editor (select it, Backspace). The thread is orphaned: listed
    // under its filter, never gone.
    alice
        .click("[data-action=\"filter\"][data-filter=\"open\"]")
        .await
        .expect("open filter");
    host.click("[data-action=\"edit-section\"][data-section=\"issue\"]")
        .await
        .expect("edit");
    host.wait_for("textarea[data-key=\"section-editor\"]")
        .await
        .expect("editor");
    host.execute(
        "const t = document.querySelector('textarea[data-key=\"section-editor\"]');
         t.focus(); t.setSelectionRange(0, 16);",
        vec![],
    )
    .await
    .expect("select the passage");
    host.press_key(testkit::Key::Backspace)
        .await
        .expect("delete it");
    let rest = &TEXT[TEXT.find(' ').expect("space")..];
    poll(
        &alice,
        "the host's deletion reaches Alice",
        "return document.querySelector('.body[data-section=\"issue\"]').textContent;",
        vec![],
        |v| v == rest,
    )
    .await;
    wait_filter_count(&alice, "orphaned", 1).await;
    wait_filter_count(&alice, "open", 1).await;
    wait_count(&alice, &thread(&agency), 0).await;
    alice
        .click("[data-action=\"filter\"][data-filter=\"orphaned\"]")
        .await
        .expect("orphaned filter");
    alice
        .wait_for(&format!(
            "{}[data-state=\"orphaned\"] .badge",
            thread(&agency)
        ))
        .await
        .expect("listed as orphaned, with a note");
    assert!(
        alice
            .text(&thread(&agency))
            .await
            .expect("thread")
            .contains("Vilken myndighet?"),
        "with its comments"
    );
    alice
        .screenshot("live-filter-orphaned")
        .await
        .expect("shot");
    host.click("[data-action=\"done-editing\"]")
        .await
        .expect("done");
    assert!(filter_label(&host, "orphaned").await.contains("(1)"));
    assert_eq!(
        host.text("mark.anchor").await.expect("anchor"),
        "ATMP",
        "the other thread is still anchored"
    );
    let (status, threads) = api(
        &w.server,
        "GET",
        &format!("/api/workshops/{ws}/threads"),
        None,
        Some(&w.host),
    )
    .await;
    assert_eq!(status, 200);
    let states: Vec<(&str, &str)> = threads
        .as_array()
        .expect("threads")
        .iter()
        .map(|t| {
            (
                t["id"].as_str().expect("id"),
                t["anchor"]["state"].as_str().expect("state"),
            )
        })
        .collect();
    assert_eq!(states.len(), 2, "{threads}");
    assert!(
        states.contains(&(agency.as_str(), "orphaned")),
        "{states:?}"
    );
    assert!(
        states.contains(&(acronym.as_str(), "anchored")),
        "{states:?}"
    );
}

/// The text of the other readers' underlines in a section, and for each
/// underline its title and computed colour.
const UNDERLINES_JS: &str = r#"
const marks = [...document.querySelectorAll(`.body[data-section="${arguments[0]}"] .remote-sel`)];
return {
  text: marks.map((m) => m.textContent).join(''),
  titles: [...new Set(marks.map((m) => m.getAttribute('title')))],
  colors: [...new Set(marks.map((m) => getComputedStyle(m).borderBottomColor))],
};
"#;

/// The computed colour of a reader's dot in the readers list (`None`: one's
/// own, which has no `data-name`).
async fn dot_color(b: &Browser, name: Option<&str>) -> String {
    let css = match name {
        Some(name) => format!("#readers .reader[data-name=\"{name}\"] .dot"),
        None => "#readers .reader:not([data-name]) .dot".to_owned(),
    };
    b.wait_for(&css).await.expect("reader listed");
    b.execute(
        "return getComputedStyle(document.querySelector(arguments[0])).backgroundColor;",
        vec![json!(css)],
    )
    .await
    .expect("colour")
    .as_str()
    .expect("a colour")
    .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_see_each_other_and_where_the_other_selected() {
    let w = world().await;
    let ws = w.open.to_string();
    let (host, alice) = tokio::join!(open(&w, Some(&w.host), &ws), open(&w, Some(&w.alice), &ws));
    host.wait_for("#readers .reader[data-name=\"Alice\"]")
        .await
        .expect("the host's page lists Alice");
    alice
        .wait_for("#readers .reader[data-name=\"Hanna Host\"]")
        .await
        .expect("Alice's page lists the host");
    assert_eq!(count(&host, "#readers .reader[data-name]").await, 1);
    assert_eq!(count(&alice, "#readers .reader[data-name]").await, 1);
    let alice_color = dot_color(&alice, None).await;
    assert_eq!(
        dot_color(&host, Some("Alice")).await,
        alice_color,
        "the same colour for Alice on both pages"
    );

    // Alice selects "Läkemedelsverket": exactly those characters are
    // underlined on the host's page, in her colour, with her name.
    select(&alice, "issue", 0, 16).await;
    let underlines = poll(
        &host,
        "Alice's selection is underlined on the host's page",
        UNDERLINES_JS,
        vec![json!("issue")],
        |v| v["text"] != "",
    )
    .await;
    assert_eq!(underlines["text"], "Läkemedelsverket");
    assert_eq!(underlines["titles"], json!(["Alice"]));
    assert_eq!(underlines["colors"], json!([alice_color]));
    host.screenshot("live-presence-host").await.expect("shot");

    // The host selects "ATMP": underlined on Alice's page, with the host's
    // name, and Alice's own selection survives that redraw of the text.
    let at = utf16_at(TEXT, "ATMP");
    select(&host, "issue", at, at + 4).await;
    let theirs = poll(
        &alice,
        "the host's selection is underlined on Alice's page",
        UNDERLINES_JS,
        vec![json!("issue")],
        |v| v["text"] == "ATMP",
    )
    .await;
    assert_eq!(theirs["titles"], json!(["Hanna Host"]));
    assert_eq!(
        alice
            .execute("return window.getSelection().toString();", vec![])
            .await
            .expect("selection"),
        json!("Läkemedelsverket"),
        "a redraw for someone's presence keeps the reader's own selection"
    );
    alice
        .screenshot("live-presence-participant")
        .await
        .expect("shot");

    // The host puts text before it. Alice does not move, and her
    // underline is on the same characters as soon as the host's page shows
    // the new text (the selection travels as automerge cursors).
    edit_section_start(&host, "issue", "Om: ").await;
    host.click("[data-action=\"done-editing\"]")
        .await
        .expect("done");
    assert_eq!(body_text(&host, "issue").await, format!("Om: {TEXT}"));
    let underlines = host
        .execute(UNDERLINES_JS, vec![json!("issue")])
        .await
        .expect("underlines");
    assert_eq!(
        underlines["text"], "Läkemedelsverket",
        "still on the characters Alice selected"
    );
    host.screenshot("live-presence-after-edit")
        .await
        .expect("shot");

    // Alice's page follows too: her selection (what she would comment on)
    // is still those characters, and so is what she announces next.
    alice
        .wait_for_text(".body[data-section=\"issue\"]", "Om: ")
        .await
        .expect("the edit reaches Alice");
    alice
        .wait_for_text("#selection-tools", "Läkemedelsverket")
        .await
        .expect("her selection");
    alice
        .click("#selection-tools [data-action=\"comment\"]")
        .await
        .expect("comment");
    fill(&alice, "[data-key=\"composer-text\"]", "Vilken myndighet?").await;
    alice
        .click("#composer [data-action=\"submit\"]")
        .await
        .expect("send");
    host.wait_for_text("mark.anchor", "Läkemedelsverket")
        .await
        .expect("her comment is on the characters she selected");
    assert_eq!(
        host.text("mark.anchor").await.expect("anchor"),
        "Läkemedelsverket"
    );

    // Alice reloads: her old page says it is going, so the host lists her
    // once (her new page), not twice until the old one times out.
    reload(&alice).await;
    alice
        .wait_for("#readers .reader[data-name=\"Hanna Host\"]")
        .await
        .expect("the new page hears of the host at once");
    let new_color = dot_color(&alice, None).await;
    poll(
        &host,
        "the host lists Alice's new page, and only it",
        "return [...document.querySelectorAll('#readers .reader[data-name=\"Alice\"] .dot')]
           .map((d) => getComputedStyle(d).backgroundColor);",
        vec![],
        |v| *v == json!([new_color]),
    )
    .await;
}

/// The section editor's value and selection (UTF-16), and whether it has
/// the focus.
const EDITOR_JS: &str = r#"
const t = document.querySelector('textarea[data-key="section-editor"]');
return t && {
  value: t.value, start: t.selectionStart, end: t.selectionEnd,
  focused: document.activeElement === t,
};
"#;

async fn editor(b: &Browser) -> Value {
    b.execute(EDITOR_JS, vec![]).await.expect("editor state")
}

/// Waits until the section editor shows `text`; returns its state.
async fn wait_editor_text(b: &Browser, text: &str) -> Value {
    poll(
        b,
        &format!("the section editor shows {text:?}"),
        EDITOR_JS,
        vec![],
        |v| v["value"] == text,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hosts_caret_and_typing_survive_another_hosts_edit() {
    let w = world().await;
    let ws = w.open.to_string();
    let second = join(&w.server, &w.host, w.open, "host", "Harald Host").await;
    let (one, two) = tokio::join!(open(&w, Some(&w.host), &ws), open(&w, Some(&second), &ws));
    for b in [&one, &two] {
        b.click("[data-action=\"edit-section\"][data-section=\"issue\"]")
            .await
            .expect("edit");
        b.wait_for("textarea[data-key=\"section-editor\"]")
            .await
            .expect("editor");
    }

    // Host 1's caret selects "ATMP"; host 2 inserts text before it.
    let at = utf16_at(TEXT, "ATMP");
    one.execute(
        "const t = document.querySelector('textarea[data-key=\"section-editor\"]');
         t.focus(); t.setSelectionRange(arguments[0], arguments[1]);",
        vec![json!(at), json!(at + 4)],
    )
    .await
    .expect("place the caret");
    type_at_editor_start(&two, "Om: ").await;
    let state = wait_editor_text(&one, &format!("Om: {TEXT}")).await;
    assert_eq!(
        (&state["start"], &state["end"], &state["focused"]),
        (&json!(at + 4), &json!(at + 8), &json!(true)),
        "the caret moved with its characters: {state}"
    );
    one.screenshot("live-two-hosts-caret").await.expect("shot");

    // Host 1 types over the selection: the keys land there.
    one.type_keys("CAR-T").await.expect("type");
    let edited = format!("Om: {}", TEXT.replace("ATMP", "CAR-T"));
    wait_editor_text(&two, &edited).await;
    let state = editor(&one).await;
    assert_eq!(state["value"], json!(edited));
    assert_eq!(state["start"], json!(at + 4 + 5), "after what was typed");

    // Both type at once: host 2 at the start, host 1 at its caret (the
    // end). Neither loses a key, both pages converge.
    let (typed_two, typed_one) = tokio::join!(
        two.execute(
            "const t = document.querySelector('textarea[data-key=\"section-editor\"]');
             t.setRangeText('Ämne: ', 0, 0, 'end');
             t.dispatchEvent(new Event('input', {bubbles: true}));",
            vec![],
        ),
        one.type_keys(" och mer"),
    );
    typed_two.expect("host 2 types");
    typed_one.expect("host 1 types");
    let both = format!("Ämne: {edited} och mer");
    wait_editor_text(&one, &both).await;
    wait_editor_text(&two, &both).await;
    two.screenshot("live-two-hosts-converged")
        .await
        .expect("shot");
    let (status, summary) = api(
        &w.server,
        "GET",
        &format!("/api/workshops/{ws}/summary"),
        None,
        Some(&w.host),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(summary["sections"][0]["body"], json!(both));
}
