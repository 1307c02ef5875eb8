//! Accessibility in real headless Chromium: a participant and a host who
//! use only the keyboard (real key presses through WebDriver), an automated
//! WCAG 2 A/AA audit of every kind of page with axe-core, and the interface
//! in Swedish and English, following the browser's language and then the
//! reader's choice. Screenshots of the views go to the folder
//! `testkit::screenshots_dir` names.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use testkit::{Browser, Key};

use crate::browser_steps::{count, fill, open, open_in};
use crate::common::{World, api, world};

const SECTION_TEXT: &str = "Läkemedelsverket 😀 — ATMP";
const COMMENT_SECTION: &str = "[data-action=\"comment-section\"][data-section=\"issue\"]";
const PROPOSE_SECTION: &str = "[data-action=\"propose-section\"][data-section=\"issue\"]";
const SECTION_MENU: &str = "[data-action=\"section-menu\"][data-section=\"issue\"]";
const EDIT_SECTION: &str = "[data-action=\"edit-section\"][data-section=\"issue\"]";
const COMPOSER_TEXT: &str = "#composer [data-key=\"composer-text\"]";
const COMPOSER_REASON: &str = "#composer [data-key=\"composer-reason\"]";
const SEND: &str = "#composer [data-action=\"submit\"]";
const REPLY: &str = ".thread [data-action=\"reply\"]";
const EDITOR: &str = "textarea[data-key=\"section-editor\"][data-section=\"issue\"]";

fn tab(name: &str) -> String {
    format!("#sidebar [data-action=\"tab\"][data-tab=\"{name}\"]")
}

// ------------------------------------------------------------- keyboard

/// A short description of the focused element, for failure messages.
const FOCUSED_JS: &str = r#"
const el = document.activeElement;
if (!el || el === document.body) return "<body>";
const data = [...el.attributes]
  .filter(a => a.name.startsWith("data-"))
  .map(a => `[${a.name}="${a.value}"]`)
  .join("");
return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + data;
"#;

async fn focused(b: &Browser) -> String {
    b.execute(FOCUSED_JS, vec![])
        .await
        .expect("the focused element")
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn focus_is_on(b: &Browser, css: &str) -> bool {
    b.execute(
        "const el = document.activeElement; return !!el && el.matches(arguments[0]);",
        vec![json!(css)],
    )
    .await
    .expect("matching the focused element")
    .as_bool()
    .unwrap_or(false)
}

/// Asserts that the focus is on the element matching `css` and that it
/// shows: `:focus-visible` applies and draws an outline of at least 2px.
async fn assert_focus(b: &Browser, css: &str, step: &str) {
    let seen = b
        .execute(
            "const el = document.activeElement;
             const style = getComputedStyle(el);
             return { matches: el.matches(arguments[0]), visible: el.matches(':focus-visible'),
                      outline: style.outlineStyle, width: parseFloat(style.outlineWidth) };",
            vec![json!(css)],
        )
        .await
        .expect("the focused element's style");
    assert!(
        seen["matches"] == true,
        "{step}: the focus should be on `{css}`, it is on {}",
        focused(b).await
    );
    assert!(
        seen["visible"] == true && seen["outline"] != "none" && seen["width"].as_f64() >= Some(2.0),
        "{step}: the focus on `{css}` is not visible: {seen}"
    );
}

/// Presses Tab (or Shift+Tab) until the focus is on `css`; fails after as
/// many presses as the page could possibly need.
async fn tab_to(b: &Browser, css: &str, backwards: bool) {
    for _ in 0..60 {
        if backwards {
            b.press_chord(&[Key::Shift, Key::Tab])
                .await
                .expect("Shift+Tab");
        } else {
            b.press_key(Key::Tab).await.expect("Tab");
        }
        if focus_is_on(b, css).await {
            return;
        }
    }
    panic!(
        "{} never reached `{css}`; the focus is on {}",
        if backwards { "Shift+Tab" } else { "Tab" },
        focused(b).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_comments_replies_and_proposes_with_the_keyboard_only() {
    let w = world().await;
    let ws = w.open.to_string();
    let alice = open(&w, Some(&w.alice), &ws).await;
    let bob = open(&w, Some(&w.bob), &ws).await;
    alice
        .wait_for("#status[data-state=\"saved\"]")
        .await
        .expect("live");

    // From the top of the page, Tab reaches the section's "⋯" menu; Enter
    // opens it (the focus stays on its button), Tab reaches "Comment on
    // section"; Enter opens the composer with the focus in its text field.
    tab_to(&alice, SECTION_MENU, false).await;
    alice.press_key(Key::Enter).await.expect("Enter");
    alice
        .wait_for(COMMENT_SECTION)
        .await
        .expect("the menu opens");
    assert_focus(&alice, SECTION_MENU, "the menu's button keeps the focus").await;
    alice.press_key(Key::Tab).await.expect("Tab");
    assert_focus(&alice, COMMENT_SECTION, "Tab to Comment on section").await;
    alice
        .screenshot("keyboard-focus-comment-section")
        .await
        .expect("shot");
    alice.press_key(Key::Enter).await.expect("Enter");
    assert_focus(&alice, COMPOSER_TEXT, "the composer opens").await;
    alice
        .type_keys("Vilken myndighet avses?")
        .await
        .expect("type");
    alice.press_key(Key::Tab).await.expect("Tab");
    assert_focus(&alice, SEND, "Tab to Send").await;
    alice.screenshot("keyboard-composer").await.expect("shot");
    alice.press_key(Key::Enter).await.expect("send");
    bob.wait_for_text(".thread .comment .body", "Vilken myndighet avses?")
        .await
        .expect("the comment arrives at Bob");
    assert_eq!(count(&alice, "#composer").await, 0, "the composer closes");
    assert_focus(
        &alice,
        SECTION_MENU,
        "after sending, the focus goes back to the menu that opened the composer",
    )
    .await;

    // Reply to the thread: Tab on to Reply, write, send with Space.
    tab_to(&alice, REPLY, false).await;
    alice.press_key(Key::Enter).await.expect("Enter");
    assert_focus(&alice, COMPOSER_TEXT, "the reply composer opens").await;
    alice
        .type_keys("Läkemedelsverket, tror jag.")
        .await
        .expect("type");
    alice.press_key(Key::Tab).await.expect("Tab");
    assert_focus(&alice, SEND, "Tab to Send").await;
    alice.press_key(Key::Space).await.expect("send");
    bob.wait_for_text(".thread", "Läkemedelsverket, tror jag.")
        .await
        .expect("the reply arrives at Bob");
    assert_focus(&alice, REPLY, "after replying, back on Reply").await;

    // Escape closes a composer without sending and gives the focus back.
    alice.press_key(Key::Enter).await.expect("Enter");
    assert_focus(&alice, COMPOSER_TEXT, "the reply composer opens again").await;
    alice.type_keys("Glöm det").await.expect("type");
    alice.press_key(Key::Escape).await.expect("Escape");
    assert_eq!(count(&alice, "#composer").await, 0, "Escape closes it");
    assert_focus(&alice, REPLY, "after Escape, back on Reply").await;

    // Sidebar tabs: Shift+Tab back to them, Enter and Space switch.
    tab_to(&alice, &tab("proposals"), true).await;
    alice.press_key(Key::Enter).await.expect("Enter");
    alice
        .wait_for("#sidebar [data-tab=\"proposals\"][aria-selected=\"true\"]")
        .await
        .expect("the proposals tab is selected");
    alice.wait_for("#contributions").await.expect("proposals");
    assert_focus(&alice, &tab("proposals"), "the tab keeps the focus").await;
    alice
        .press_chord(&[Key::Shift, Key::Tab])
        .await
        .expect("Shift+Tab");
    assert_focus(&alice, &tab("comments"), "Shift+Tab to Comments").await;
    alice.press_key(Key::Space).await.expect("Space");
    alice
        .wait_for("#sidebar [data-tab=\"comments\"][aria-selected=\"true\"]")
        .await
        .expect("the comments tab is selected");
    alice.wait_for("#threads .thread").await.expect("threads");
    assert_focus(&alice, &tab("comments"), "the tab keeps the focus").await;
    tab_to(&alice, &tab("history"), false).await;
    alice.press_key(Key::Enter).await.expect("Enter");
    alice.wait_for("#versions .version").await.expect("history");
    assert_focus(&alice, &tab("history"), "the tab keeps the focus").await;
    alice
        .screenshot("keyboard-history-tab")
        .await
        .expect("shot");

    // Propose new wording for the section: the composer starts from its
    // text; the caret goes to the end, then Tab to the reason and Send.
    tab_to(&alice, SECTION_MENU, true).await;
    alice.press_key(Key::Enter).await.expect("Enter");
    tab_to(&alice, PROPOSE_SECTION, false).await;
    alice.press_key(Key::Enter).await.expect("Enter");
    assert_focus(&alice, COMPOSER_TEXT, "the proposal composer opens").await;
    assert_eq!(
        alice
            .execute("return document.activeElement.value;", vec![])
            .await
            .expect("value"),
        json!(SECTION_TEXT),
        "the proposal starts from the section's text"
    );
    alice
        .press_chord(&[Key::Control, Key::End])
        .await
        .expect("Ctrl+End");
    alice
        .type_keys(" (avancerade terapier)")
        .await
        .expect("type");
    alice.press_key(Key::Tab).await.expect("Tab");
    assert_focus(&alice, COMPOSER_REASON, "Tab to the reason").await;
    alice.type_keys("Tydligare").await.expect("type");
    alice.press_key(Key::Tab).await.expect("Tab");
    assert_focus(&alice, SEND, "Tab to Send").await;
    alice.screenshot("keyboard-proposal").await.expect("shot");
    alice.press_key(Key::Enter).await.expect("send");
    assert_focus(
        &alice,
        SECTION_MENU,
        "after proposing, back on the menu's button",
    )
    .await;
    bob.click(&tab("proposals"))
        .await
        .expect("Bob's proposals tab");
    bob.wait_for_text(".contribution ins", "(avancerade terapier)")
        .await
        .expect("the proposal arrives at Bob");

    // What the server stored, as the JSON API shows it.
    let (status, threads) = api(
        &w.server,
        "GET",
        &format!("/api/workshops/{ws}/threads"),
        None,
        Some(&w.host),
    )
    .await;
    assert_eq!(status, 200);
    let thread = &threads[0];
    assert_eq!(threads.as_array().map(Vec::len), Some(1), "{threads}");
    assert_eq!(thread["quote"], SECTION_TEXT);
    let comments: Vec<(&Value, &Value)> = thread["comments"]
        .as_array()
        .expect("comments")
        .iter()
        .map(|c| (&c["body"], &c["authorName"]))
        .collect();
    assert_eq!(
        comments,
        vec![
            (&json!("Vilken myndighet avses?"), &json!("Alice")),
            (&json!("Läkemedelsverket, tror jag."), &json!("Alice")),
        ],
        "the comment and the reply, nothing from the cancelled composer"
    );
    let (status, proposals) = api(
        &w.server,
        "GET",
        &format!("/api/workshops/{ws}/contributions"),
        None,
        Some(&w.host),
    )
    .await;
    assert_eq!(status, 200);
    let p = &proposals[0];
    assert_eq!(
        (&p["kind"], &p["text"], &p["reason"], &p["authorName"]),
        (
            &json!("replace"),
            &json!(format!("{SECTION_TEXT} (avancerade terapier)")),
            &json!("Tydligare"),
            &json!("Alice")
        ),
        "{proposals}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_edits_a_section_with_the_keyboard_only() {
    let w = world().await;
    let ws = w.open.to_string();
    let host = open(&w, Some(&w.host), &ws).await;
    let alice = open(&w, Some(&w.alice), &ws).await;

    tab_to(&host, EDIT_SECTION, false).await;
    assert_focus(&host, EDIT_SECTION, "Tab to Edit section").await;
    host.press_key(Key::Enter).await.expect("Enter");
    assert_focus(&host, EDITOR, "the editor opens with the focus").await;
    host.press_chord(&[Key::Control, Key::Home])
        .await
        .expect("Ctrl+Home");
    host.type_keys("Om: ").await.expect("type");
    alice
        .wait_for_text(
            ".body[data-section=\"issue\"]",
            &format!("Om: {SECTION_TEXT}"),
        )
        .await
        .expect("the edit arrives live");
    assert_focus(&host, EDITOR, "the editor keeps the focus while typing").await;
    host.screenshot("keyboard-host-editor").await.expect("shot");

    // Escape leaves the editor; the focus is back on "Edit section".
    host.press_key(Key::Escape).await.expect("Escape");
    assert_eq!(count(&host, EDITOR).await, 0, "Escape closes the editor");
    assert_focus(&host, EDIT_SECTION, "after Escape, back on Edit section").await;

    // Or "Done", reached with Shift+Tab from the editor.
    host.press_key(Key::Enter).await.expect("Enter");
    assert_focus(&host, EDITOR, "the editor opens again").await;
    let done = "[data-action=\"done-editing\"][data-section=\"issue\"]";
    tab_to(&host, done, true).await;
    host.press_key(Key::Space).await.expect("Space");
    assert_eq!(count(&host, EDITOR).await, 0, "Done closes the editor");
    assert_focus(&host, EDIT_SECTION, "after Done, back on Edit section").await;

    let (status, summary) = api(
        &w.server,
        "GET",
        &format!("/api/workshops/{ws}/summary"),
        None,
        Some(&w.host),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        summary["sections"][0]["body"],
        format!("Om: {SECTION_TEXT}")
    );
}

// ---------------------------------------------------------------- audit

/// The WCAG 2.0, 2.1 and 2.2 level A and AA rules of axe-core.
const WCAG_TAGS: [&str; 5] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

/// Rules every audited page must pass (each page has a title, a language,
/// text and links).
const ALWAYS: [&str; 4] = [
    "document-title",
    "html-has-lang",
    "color-contrast",
    "link-name",
];

/// Runs axe-core's WCAG A/AA rules on the page; fails with every violation
/// and its targets. `passes` names rules that must have run and passed
/// (beyond [`ALWAYS`]). Also used by the tests of other pages.
pub(crate) async fn audit(b: &Browser, page: &str, passes: &[&str]) {
    // The installed axe-core (tests/js, pinned), injected through
    // WebDriver: script execution bypasses the page's CSP, which allows no
    // inline or foreign script.
    let path = testkit::repo_root().join("tests/js/node_modules/axe-core/axe.min.js");
    let source = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run `cargo xtask setup`)", path.display()));
    let injected = b
        .execute(
            &format!("if (!window.axe) {{ {source}\n }} return typeof window.axe.run;"),
            vec![],
        )
        .await
        .expect("inject axe-core");
    assert_eq!(
        injected,
        json!("function"),
        "{page}: axe-core is in the page"
    );
    let result = b
        .execute(
            "return axe.run(document, { runOnly: { type: 'tag', values: arguments[0] },
                 resultTypes: ['violations', 'incomplete'] })
               .then(r => ({
                 ran: [...r.passes, ...r.violations, ...r.incomplete, ...r.inapplicable].map(x => x.id),
                 passed: r.passes.map(x => x.id),
                 violations: r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
                   nodes: v.nodes.map(n => ({ target: n.target.join(' '), summary: n.failureSummary })) })),
                 incomplete: r.incomplete.map(v => ({ id: v.id,
                   nodes: v.nodes.map(n => n.target.join(' ')) })),
               }));",
            vec![json!(WCAG_TAGS)],
        )
        .await
        .expect("axe.run");
    let shot = format!("audit-{}", page.replace(", ", "-").replace(' ', "-"));
    b.screenshot(&shot).await.expect("shot");
    let violations = result["violations"].as_array().expect("violations");
    let mut report = String::new();
    for v in violations {
        report.push_str(&format!(
            "\n- {} ({}): {}",
            v["id"].as_str().unwrap_or_default(),
            v["impact"].as_str().unwrap_or_default(),
            v["help"].as_str().unwrap_or_default()
        ));
        for n in v["nodes"].as_array().into_iter().flatten() {
            report.push_str(&format!(
                "\n    {}\n      {}",
                n["target"].as_str().unwrap_or_default(),
                n["summary"]
                    .as_str()
                    .unwrap_or_default()
                    .replace('\n', "\n      ")
            ));
        }
    }
    if !report.is_empty() {
        eprintln!("axe-core on {page}:{report}");
    }
    let incomplete = &result["incomplete"];
    if incomplete.as_array().is_some_and(|i| !i.is_empty()) {
        eprintln!("axe-core on {page}, to review by hand: {incomplete}");
    }
    assert!(violations.is_empty(), "axe-core on {page}:{report}");
    let names = |key: &str| -> BTreeSet<String> {
        result[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|id| id.as_str().map(str::to_owned))
            .collect()
    };
    let (ran, passed) = (names("ran"), names("passed"));
    for rule in ALWAYS.iter().chain(passes) {
        assert!(ran.contains(*rule), "{page}: axe-core did not run {rule}");
        assert!(passed.contains(*rule), "{page}: {rule} did not pass");
    }
    // Nothing axe-core did was refused (by the CSP, say). Chromium asks
    // for /favicon.ico by itself; the server has none.
    let console: Vec<String> = b
        .console_errors()
        .await
        .expect("console")
        .into_iter()
        .filter(|e| !e.contains("favicon.ico"))
        .collect();
    assert!(console.is_empty(), "{page}: console errors {console:?}");
}

/// The controls of the live client: buttons and labelled fields.
const CONTROLS: [&str; 2] = ["button-name", "label"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_page_passes_an_axe_core_wcag_audit() {
    let w = world().await;
    let ws = w.open.to_string();
    let base = w.server.base_url();

    // Public: the list and a workshop.
    let public = open(&w, None, &ws).await;
    public
        .wait_for("#status[data-state=\"saved\"]")
        .await
        .expect("live");
    audit(&public, "workshop, public", &[]).await;
    public.goto(&format!("{base}/")).await.expect("list");
    public
        .wait_for("body[data-client=\"ready\"]")
        .await
        .expect("client");
    audit(&public, "list, public", &[]).await;
    drop(public);

    // A participant: a thread and a proposal to show, every tab, composers.
    let alice = open(&w, Some(&w.alice), &ws).await;
    alice.click(SECTION_MENU).await.expect("menu");
    alice
        .wait_for(COMMENT_SECTION)
        .await
        .expect("the menu opens");
    audit(
        &alice,
        "workshop, participant, a section's menu",
        &["button-name"],
    )
    .await;
    alice.click(COMMENT_SECTION).await.expect("comment");
    fill(&alice, COMPOSER_TEXT, "Vilken myndighet?").await;
    alice.click(SEND).await.expect("send");
    alice.wait_for(REPLY).await.expect("a thread");
    // The toolbar by a selection, and a thread looked at from its highlight.
    crate::browser_steps::select(&alice, "issue", 0, 5).await;
    audit(
        &alice,
        "workshop, participant, the selection's toolbar",
        &["button-name"],
    )
    .await;
    alice.press_key(Key::Escape).await.expect("Escape");
    alice.click("mark.anchor").await.expect("a highlight");
    alice
        .wait_for(".thread.focused")
        .await
        .expect("its card focused");
    audit(
        &alice,
        "workshop, participant, a focused thread",
        &["button-name"],
    )
    .await;
    crate::browser_steps::section_menu(&alice, "issue", "propose-paragraph").await;
    fill(&alice, COMPOSER_TEXT, "Ett nytt stycke.").await;
    fill(&alice, COMPOSER_REASON, "Saknas").await;
    alice.click(SEND).await.expect("send");
    alice
        .wait_for(".contribution[data-status=\"open\"] ins")
        .await
        .expect("a proposal");
    alice.click(&tab("comments")).await.expect("comments tab");
    alice.click(REPLY).await.expect("reply");
    alice.wait_for(COMPOSER_TEXT).await.expect("composer");
    audit(
        &alice,
        "workshop, participant, comments with a composer",
        &CONTROLS,
    )
    .await;
    alice.click(&tab("proposals")).await.expect("proposals tab");
    alice
        .click("[data-action=\"propose-action\"]")
        .await
        .expect("propose an action");
    alice
        .wait_for("#composer [data-key=\"composer-owner\"]")
        .await
        .expect("action composer");
    audit(
        &alice,
        "workshop, participant, proposals with a composer",
        &CONTROLS,
    )
    .await;
    alice.click(&tab("history")).await.expect("history tab");
    alice
        .wait_for("#versions .version")
        .await
        .expect("versions");
    audit(&alice, "workshop, participant, history", &["button-name"]).await;
    alice.goto(&format!("{base}/")).await.expect("list");
    alice
        .wait_for("#yours .badge")
        .await
        .expect("the list with the participant's workshops");
    audit(&alice, "list, participant", &[]).await;
    drop(alice);

    // A host: the section editor, proposals to review, the share tab.
    let host = open(&w, Some(&w.host), &ws).await;
    host.click(EDIT_SECTION).await.expect("edit");
    host.wait_for(EDITOR).await.expect("editor");
    audit(&host, "workshop, host, section editor", &CONTROLS).await;
    host.click("[data-action=\"done-editing\"]")
        .await
        .expect("done");
    host.click(&tab("proposals")).await.expect("proposals tab");
    host.click(".contribution [data-action=\"reject\"]")
        .await
        .expect("reject");
    host.wait_for(COMPOSER_TEXT).await.expect("reject composer");
    audit(&host, "workshop, host, review", &CONTROLS).await;
    host.click(&tab("share")).await.expect("share tab");
    host.click("[data-action=\"invite\"]")
        .await
        .expect("invite");
    host.wait_for("[data-key=\"invite-url\"]")
        .await
        .expect("invite link");
    audit(&host, "workshop, host, share", &CONTROLS).await;
}

// ------------------------------------------------------------- language

/// A Chromium whose language is Swedish: its `Accept-Language` says so.
/// (Headless Chromium ignores `--lang`; the profile's preference counts.)
async fn swedish_browser() -> Browser {
    Browser::start_with(json!({ "goog:chromeOptions": {
        "prefs": { "intl": { "accept_languages": "sv-SE,sv" } },
    }}))
    .await
    .expect("chromium starts")
}

/// The chrome and the client's own parts in one language.
struct Strings {
    lang: &'static str,
    /// The server's: `<h1>` of the list, skip link, the switch's label.
    list_heading: &'static str,
    skip: &'static str,
    toggle: &'static str,
    /// The client's.
    hosts: &'static str,
    meeting_open: &'static str,
    comment_section: &'static str,
    tabs: [&'static str; 3],
    status: &'static str,
    readers: &'static str,
    you: &'static str,
    no_threads: &'static str,
    send: &'static str,
    cancel: &'static str,
    your_comment: &'static str,
}

const SV: Strings = Strings {
    lang: "sv",
    list_heading: "Workshoppar",
    skip: "Hoppa till innehållet",
    toggle: "English",
    hosts: "Värdar",
    meeting_open: "Öppen",
    comment_section: "Kommentera avsnittet",
    tabs: ["Kommentarer", "Förslag", "Historik"],
    status: "Sparat",
    readers: "Läser nu",
    you: "Alice (du)",
    no_threads: "Inga kommentarer än. Markera text i sammanfattningen för att kommentera.",
    send: "Skicka",
    cancel: "Avbryt",
    your_comment: "Din kommentar",
};

const EN: Strings = Strings {
    lang: "en",
    list_heading: "Workshops",
    skip: "Skip to content",
    toggle: "Svenska",
    hosts: "Hosts",
    meeting_open: "Open",
    comment_section: "Comment on section",
    tabs: ["Comments", "Proposals", "History"],
    status: "Saved",
    readers: "Reading now",
    you: "Alice (you)",
    no_threads: "No comments yet. Select text in the summary to comment.",
    send: "Send",
    cancel: "Cancel",
    your_comment: "Your comment",
};

/// Asserts that the workshop page, server chrome and client alike, is in
/// the language of `s`.
async fn assert_workshop_in(b: &Browser, s: &Strings) {
    b.wait_for(&format!(
        "body[data-lang=\"{}\"][data-summary=\"live\"]",
        s.lang
    ))
    .await
    .expect("the page in the language");
    let text = |css: &'static str| async move { b.text(css).await.expect(css) };
    assert_eq!(
        b.attr("html", "lang").await.expect("lang").as_deref(),
        Some(s.lang)
    );
    assert_eq!(
        b.execute(
            "return document.querySelector('.skip-link').textContent;",
            vec![]
        )
        .await
        .expect("skip link"),
        json!(s.skip)
    );
    assert_eq!(text("#lang-toggle").await, s.toggle);
    b.wait_for_text("#status", s.status).await.expect("status");
    assert_eq!(text("dl.meta [data-field=\"hosts\"] dt").await, s.hosts);
    assert_eq!(text("dl.meta dd[data-meeting-type]").await, s.meeting_open);
    b.click(SECTION_MENU).await.expect("the section's menu");
    assert_eq!(text(COMMENT_SECTION).await, s.comment_section);
    for (name, label) in ["comments", "proposals", "history"].iter().zip(s.tabs) {
        assert_eq!(b.text(&tab(name)).await.expect("tab"), label);
    }
    assert_eq!(text("#presence h2").await, s.readers);
    assert_eq!(text("#readers .reader").await, s.you);
    assert_eq!(text("#threads .empty").await, s.no_threads);
    b.click(COMMENT_SECTION).await.expect("comment");
    assert_eq!(text(SEND).await, s.send);
    assert_eq!(text("#composer [data-action=\"cancel\"]").await, s.cancel);
    assert_eq!(
        b.attr(COMPOSER_TEXT, "aria-label")
            .await
            .expect("label")
            .as_deref(),
        Some(s.your_comment)
    );
    b.click("#composer [data-action=\"cancel\"]")
        .await
        .expect("cancel");
}

async fn assert_list_in(b: &Browser, w: &World, s: &Strings) {
    b.goto(&format!("{}/", w.server.base_url()))
        .await
        .expect("list");
    b.wait_for(&format!("body[data-lang=\"{}\"]", s.lang))
        .await
        .expect("the list in the language");
    assert_eq!(b.text("h1").await.expect("h1"), s.list_heading);
    assert_eq!(b.text("#lang-toggle").await.expect("toggle"), s.toggle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_follows_the_browsers_language_and_then_the_readers_choice() {
    let w = world().await;
    let ws = w.open.to_string();
    let page = format!("{}/w/{ws}", w.server.base_url());

    // A Swedish browser gets Swedish, on the server's pages and the
    // client's parts alike.
    let b = open_in(swedish_browser().await, &w, Some(&w.alice), &ws).await;
    assert_workshop_in(&b, &SV).await;
    b.screenshot("lang-sv").await.expect("shot");

    // The switch: English, everywhere, and still so on reload and on
    // other pages.
    b.click("#lang-toggle").await.expect("to English");
    assert_workshop_in(&b, &EN).await;
    b.screenshot("lang-en").await.expect("shot");
    b.client().refresh().await.expect("reload");
    assert_workshop_in(&b, &EN).await;
    b.goto(&page).await.expect("the page without ?lang");
    assert_workshop_in(&b, &EN).await;
    assert_list_in(&b, &w, &EN).await;

    // And back to Swedish, remembered too.
    b.click("#lang-toggle").await.expect("to Swedish");
    assert_list_in(&b, &w, &SV).await;
    b.goto(&page).await.expect("the page without ?lang");
    assert_workshop_in(&b, &SV).await;
}
