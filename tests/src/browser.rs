//! A real headless Chromium, for the browser tests and the client bench.
//!
//! Each [`Browser`] runs its own `chromedriver` child process and drives it
//! over WebDriver with fantoccini; Chromium gets a fresh temporary profile.
//! So several browsers (a host and a participant) run side by side without
//! sharing cookies, storage or cache, and every load starts cold.
//!
//! Dropping a `Browser` asks its ChromeDriver to shut down (which closes
//! Chromium), then makes sure the driver process is gone; a watchdog ends
//! both if the test process dies without dropping it (see [`Driver`]). No
//! test leaves a browser running, even when it fails or is killed.
//!
//! Every wait polls the page's state and is bounded by [`TIMEOUT`]; a
//! timeout names what it waited for. Nothing sleeps to synchronise.
//!
//! Chromium and ChromeDriver come from Debian's `chromium` and
//! `chromium-driver` packages (`cargo xtask setup` installs them).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::TIMEOUT;

/// Special keys for [`Browser::press_key`].
pub use fantoccini::key::Key;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The session cookie the server sets when an invite is accepted.
const SESSION_COOKIE: &str = "synpunkt_session";

/// Chromium flags that work headless as root on CI machines (see the
/// toolchain notes): no sandbox as root, no GPU, `/tmp` instead of a small
/// `/dev/shm`, and no background traffic that could disturb timings. The
/// window size is fixed so that layouts and screenshots are reproducible.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--window-size=1280,900",
];

/// Bound on starting ChromeDriver and a Chromium session: process start-up,
/// slower than any page condition when the machine is busy (CI builds, two
/// browsers per test, tests in parallel).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How often a wait looks at the page again.
const POLL: Duration = Duration::from_millis(20);

/// A headless Chromium with its own ChromeDriver and profile.
#[derive(Debug)]
pub struct Browser {
    // Fields drop in this order: the WebDriver client, then the driver
    // (which closes Chromium), then the profile directory Chromium used.
    client: Client,
    driver: Driver,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts ChromeDriver and a Chromium session with a fresh profile.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(json!({})).await
    }

    /// Like [`Browser::start`], with extra WebDriver capabilities merged in
    /// (for example `{"pageLoadStrategy": "none"}`, so that `goto` returns
    /// as soon as navigation starts: the client bench times the load itself).
    /// Keys of `goog:chromeOptions` are merged into the harness's own (its
    /// `args` appended), so that flags and `prefs` can be added; for
    /// example `{"goog:chromeOptions": {"prefs": {"intl":
    /// {"accept_languages": "sv-SE,sv"}}}}` for a browser that asks for
    /// Swedish (headless Chromium ignores `--lang`).
    pub async fn start_with(extra_capabilities: Value) -> anyhow::Result<Self> {
        for path in [CHROMIUM, CHROMEDRIVER] {
            if !Path::new(path).exists() {
                bail!(
                    "{path} is missing: run `cargo xtask setup` (installs chromium and chromium-driver)"
                );
            }
        }
        let profile = tempfile::Builder::new()
            .prefix("synpunkt-chromium-")
            .tempdir()
            .context("temporary Chromium profile")?;
        let driver = Driver::start().await?;
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let Value::Object(mut capabilities) = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
            // Console errors are read back through ChromeDriver's log.
            "goog:loggingPrefs": { "browser": "SEVERE" },
            // Bounds for navigation and scripts (the defaults are minutes).
            "timeouts": { "pageLoad": TIMEOUT.as_millis(), "script": TIMEOUT.as_millis() },
        }) else {
            unreachable!("an object literal")
        };
        let Value::Object(mut extra) = extra_capabilities else {
            bail!("extra capabilities must be a JSON object, not {extra_capabilities}");
        };
        if let Some(Value::Object(extra_options)) = extra.remove("goog:chromeOptions")
            && let Some(Value::Object(options)) = capabilities.get_mut("goog:chromeOptions")
        {
            for (key, value) in extra_options {
                if key != "args" {
                    options.insert(key, value);
                    continue;
                }
                let Value::Array(more) = value else {
                    bail!("goog:chromeOptions.args must be an array");
                };
                if let Some(Value::Array(args)) = options.get_mut("args") {
                    args.extend(more);
                }
            }
        }
        capabilities.extend(extra);
        // Plain HTTP to the driver on loopback: no TLS stack needed.
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = tokio::time::timeout(
            START_TIMEOUT,
            ClientBuilder::new(connector)
                .capabilities(capabilities)
                .connect(&driver.url()),
        )
        .await
        .context("timed out starting a Chromium session")?
        .context("starting a Chromium session through ChromeDriver")?;
        Ok(Self {
            client,
            driver,
            _profile: profile,
        })
    }

    /// The fantoccini client, for what the helpers here do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Navigates to `url` (waits for the load event, unless the session was
    /// started with another page-load strategy).
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.client
            .goto(url)
            .await
            .with_context(|| format!("navigating to {url}"))
    }

    /// The current page's URL.
    pub async fn url(&self) -> anyhow::Result<String> {
        Ok(self.client.current_url().await?.to_string())
    }

    /// Waits until an element matches `css`; returns the first match.
    pub async fn wait_for(&self, css: &str) -> anyhow::Result<Element> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match self.client.find(Locator::Css(css)).await {
                Ok(element) => return Ok(element),
                Err(e) if e.is_no_such_element() => {}
                Err(e) => return Err(e).with_context(|| format!("looking for `{css}`")),
            }
            if Instant::now() >= deadline {
                bail!(
                    "timed out after {TIMEOUT:?} waiting for `{css}` on {}",
                    self.url().await.unwrap_or_default()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the element matching `css` exists and its text contains
    /// `text`; returns its whole text.
    pub async fn wait_for_text(&self, css: &str, text: &str) -> anyhow::Result<String> {
        let deadline = Instant::now() + TIMEOUT;
        let mut seen = None;
        loop {
            match self.client.find(Locator::Css(css)).await {
                Ok(element) => match element.text().await {
                    Ok(now) if now.contains(text) => return Ok(now),
                    Ok(now) => seen = Some(now),
                    // Replaced between finding and reading it: look again.
                    Err(e) if e.is_stale_element_reference() => {}
                    Err(e) => return Err(e).with_context(|| format!("reading `{css}`")),
                },
                Err(e) if e.is_no_such_element() => {}
                Err(e) => return Err(e).with_context(|| format!("looking for `{css}`")),
            }
            if Instant::now() >= deadline {
                bail!(
                    "timed out after {TIMEOUT:?} waiting for `{css}` to contain {text:?}; {}",
                    match seen {
                        Some(seen) => format!("its text is {seen:?}"),
                        None => "no element matched".to_owned(),
                    }
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The rendered text of the element matching `css` (waits for it).
    pub async fn text(&self, css: &str) -> anyhow::Result<String> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let element = self.wait_for(css).await?;
            match element.text().await {
                Ok(text) => return Ok(text),
                // Replaced by a redraw between finding and reading it.
                Err(e) if e.is_stale_element_reference() && Instant::now() < deadline => {}
                Err(e) => return Err(e).with_context(|| format!("reading the text of `{css}`")),
            }
        }
    }

    /// An attribute of the element matching `css` (waits for the element).
    pub async fn attr(&self, css: &str, name: &str) -> anyhow::Result<Option<String>> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let element = self.wait_for(css).await?;
            match element.attr(name).await {
                Ok(value) => return Ok(value),
                // Replaced by a redraw between finding and reading it.
                Err(e) if e.is_stale_element_reference() && Instant::now() < deadline => {}
                Err(e) => return Err(e).with_context(|| format!("reading `{name}` of `{css}`")),
            }
        }
    }

    /// Clicks the element matching `css` (waits for it).
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        // A live page redraws itself: an element found a moment ago may have
        // been replaced by an identical one. Find it again and retry.
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let element = self.wait_for(css).await?;
            match element.click().await {
                Ok(()) => return Ok(()),
                Err(e) if e.is_stale_element_reference() && Instant::now() < deadline => {}
                Err(e) => return Err(e).with_context(|| format!("clicking `{css}`")),
            }
        }
    }

    /// Focuses the element matching `css` and types `text` into it, key by
    /// key (WebDriver's Element Send Keys).
    pub async fn type_into(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let element = self.wait_for(css).await?;
        element
            .send_keys(text)
            .await
            .with_context(|| format!("typing into `{css}`"))
    }

    /// Types `text` key by key wherever the focus is, as a user would.
    /// Unlike [`Browser::type_into`] it holds on to no element, so the page
    /// may redraw the focused field between keys.
    pub async fn type_keys(&self, text: &str) -> anyhow::Result<()> {
        let mut keys = KeyActions::new("keyboard".into());
        for value in text.chars() {
            keys = keys
                .then(KeyAction::Down { value })
                .then(KeyAction::Up { value });
        }
        self.client
            .perform_actions(keys)
            .await
            .with_context(|| format!("typing {text:?}"))
    }

    /// Presses and releases one key (e.g. `Key::Enter`) wherever the focus is.
    pub async fn press_key(&self, key: Key) -> anyhow::Result<()> {
        let value = char::from(key);
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value })
            .then(KeyAction::Up { value });
        self.client
            .perform_actions(keys)
            .await
            .with_context(|| format!("pressing {key:?}"))
    }

    /// Presses `keys` together and releases them in reverse order (e.g.
    /// `[Key::Shift, Key::Tab]`), wherever the focus is.
    pub async fn press_chord(&self, keys: &[Key]) -> anyhow::Result<()> {
        let mut actions = KeyActions::new("keyboard".into());
        for key in keys {
            actions = actions.then(KeyAction::Down {
                value: char::from(*key),
            });
        }
        for key in keys.iter().rev() {
            actions = actions.then(KeyAction::Up {
                value: char::from(*key),
            });
        }
        self.client
            .perform_actions(actions)
            .await
            .with_context(|| format!("pressing {keys:?}"))
    }

    /// Selects `start..end` (UTF-16 code units, as the documents count) of
    /// the text inside the element matching `css`, across its text nodes,
    /// as a user's mouse selection would. Returns the selected text.
    pub async fn select_text(&self, css: &str, start: usize, end: usize) -> anyhow::Result<String> {
        self.wait_for(css).await?;
        let selected = self
            .execute(SELECT_TEXT_JS, vec![json!(css), json!(start), json!(end)])
            .await
            .with_context(|| format!("selecting {start}..{end} in `{css}`"))?;
        Ok(selected.as_str().unwrap_or_default().to_owned())
    }

    /// Runs `js` as the body of a function in the page (`arguments` holds
    /// `args`); returns what it returns.
    pub async fn execute(&self, js: &str, args: Vec<Value>) -> anyhow::Result<Value> {
        self.client
            .execute(js, args)
            .await
            .context("running JavaScript in the page")
    }

    /// Signs this browser in: sets the `synpunkt_session` cookie for the
    /// server at `base_url`. WebDriver sets cookies only for the current
    /// page's origin, so this loads `/healthz` there first if needed.
    pub async fn set_session_cookie(&self, base_url: &str, token: &str) -> anyhow::Result<()> {
        let base = base_url.trim_end_matches('/');
        let here = self.client.current_url().await?;
        if here.origin().ascii_serialization() != base {
            self.goto(&format!("{base}/healthz")).await?;
        }
        // Straight to the driver: fantoccini sends an unset domain as null
        // (ChromeDriver refuses it) and an unset SameSite as None (Chromium
        // refuses that without Secure). As the server sets it, on the host.
        let cookie = json!({ "cookie": {
            "name": SESSION_COOKIE, "value": token, "path": "/",
            "httpOnly": true, "sameSite": "Lax",
        }});
        self.driver
            .post(
                &format!("/session/{}/cookie", self.session_id().await?),
                &cookie.to_string(),
            )
            .await
            .context("setting the session cookie")?;
        Ok(())
    }

    /// Takes this browser's page offline (`true`) or back online, through
    /// ChromeDriver's network conditions (Chromium's DevTools emulation).
    ///
    /// What it does, as checked in `browser_offline.rs`: the page gets an
    /// `offline` event and `navigator.onLine` is false; the page's new
    /// requests and WebSockets fail (`net::ERR_INTERNET_DISCONNECTED`), also
    /// after a reload; but a WebSocket already open stays open and keeps
    /// delivering both ways, and the service worker's own `fetch`es still
    /// reach the network. So a test of real offline behaviour also stops
    /// the server (`TestServer::stop`).
    pub async fn set_offline(&self, offline: bool) -> anyhow::Result<()> {
        // Throughputs of 0 mean "not throttled".
        let conditions = json!({ "network_conditions": {
            "offline": offline, "latency": 0, "download_throughput": 0, "upload_throughput": 0,
        }});
        self.driver
            .post(
                &format!(
                    "/session/{}/chromium/network_conditions",
                    self.session_id().await?
                ),
                &conditions.to_string(),
            )
            .await
            .with_context(|| {
                format!(
                    "setting the network {}",
                    if offline { "offline" } else { "online" }
                )
            })?;
        Ok(())
    }

    /// Runs `js` in every document this browser loads from now on, before
    /// the page's own scripts (Chromium's
    /// `Page.addScriptToEvaluateOnNewDocument`, through ChromeDriver's CDP
    /// passthrough): for instruments that must be in place before the
    /// client starts (the client bench wraps the WebSocket's handler).
    pub async fn on_every_document(&self, js: &str) -> anyhow::Result<()> {
        let command = json!({
            "cmd": "Page.addScriptToEvaluateOnNewDocument",
            "params": { "source": js },
        });
        self.driver
            .post(
                &format!("/session/{}/goog/cdp/execute", self.session_id().await?),
                &command.to_string(),
            )
            .await
            .context("adding a script to every new document")?;
        Ok(())
    }

    async fn session_id(&self) -> anyhow::Result<String> {
        self.client
            .session_id()
            .await?
            .context("no WebDriver session")
    }

    /// Writes a PNG of the viewport to `target/screenshots/<name>.png` and
    /// returns its path.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<PathBuf> {
        let png = self
            .client
            .screenshot()
            .await
            .context("taking a screenshot")?;
        let file = if name.ends_with(".png") {
            name.to_owned()
        } else {
            format!("{name}.png")
        };
        let path = screenshots_dir().join(file);
        std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// The console errors (and failed loads) logged since the last call.
    pub async fn console_errors(&self) -> anyhow::Result<Vec<String>> {
        // ChromeDriver's log endpoint is not W3C WebDriver, so fantoccini
        // has no call for it: ask the driver directly.
        let log = self
            .driver
            .post(
                &format!("/session/{}/se/log", self.session_id().await?),
                r#"{"type":"browser"}"#,
            )
            .await?;
        Ok(log
            .as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .collect())
    }
}

/// `target/screenshots/` in the workspace, created on first use; its path
/// is printed once so that test output says where to look.
pub fn screenshots_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = crate::repo_root().join("target").join("screenshots");
        std::fs::create_dir_all(&dir).expect("create target/screenshots");
        eprintln!("browser screenshots go to {}", dir.display());
        dir
    })
}

/// Selects a UTF-16 range of an element's text: walks its text nodes to
/// find the node and offset of each end (DOM offsets are UTF-16 too).
const SELECT_TEXT_JS: &str = r#"
const [css, start, end] = arguments;
const root = document.querySelector(css);
if (!root) throw new Error(`no element matches ${css}`);
if (start > end) throw new Error(`empty range ${start}..${end}`);
const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
let offset = 0, from = null, to = null, node;
while (!to && (node = walker.nextNode())) {
  const length = node.data.length;
  if (!from && start <= offset + length) from = [node, start - offset];
  if (from && end <= offset + length) to = [node, end - offset];
  offset += length;
}
if (!to) throw new Error(`${start}..${end} is outside the ${offset} UTF-16 units of ${css}`);
const range = document.createRange();
range.setStart(from[0], from[1]);
range.setEnd(to[0], to[1]);
const selection = window.getSelection();
selection.removeAllRanges();
selection.addRange(range);
return selection.toString();
"#;

/// A `chromedriver` on a port of its own choosing, under a watchdog.
///
/// ChromeDriver does not stop its Chromium when it is killed, and nothing
/// stops it when the test process dies without unwinding (a CI timeout's
/// SIGTERM, Ctrl-C). So it runs in a process group of its own, started by a
/// small `sh` that holds the read end of a pipe from this process: when the
/// pipe closes (on drop, or because this process died), the shell kills the
/// whole group, ChromeDriver and Chromium with it. The shell ignores SIGINT,
/// so that Ctrl-C ends the tests but not the watchdog.
#[derive(Debug)]
struct Driver {
    /// The watchdog shell; its pid is the group's id.
    watchdog: Child,
    port: u16,
}

const WATCHDOG_SH: &str = r#"trap '' INT
"$0" --port=0 &
read _
kill -9 0"#;

impl Driver {
    /// Starts ChromeDriver with `--port=0` and reads the port it bound from
    /// its banner: no window in which another process could take a port we
    /// picked. Returns once it listens.
    async fn start() -> anyhow::Result<Self> {
        use std::os::unix::process::CommandExt;
        let mut watchdog = Command::new("sh")
            .args(["-c", WATCHDOG_SH, CHROMEDRIVER])
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {CHROMEDRIVER}"))?;
        let stdout = watchdog.stdout.take().context("chromedriver's stdout")?;
        let (port_tx, port_rx) = tokio::sync::oneshot::channel();
        // A thread reads the banner, then drains stdout until the driver
        // exits, so that it never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut port_tx = Some(port_tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("started successfully on port ").nth(1)
                    && let Some(tx) = port_tx.take()
                {
                    let _ = tx.send(rest.trim_end_matches('.').trim().parse::<u16>());
                }
            }
        });
        let mut driver = Self { watchdog, port: 0 };
        match tokio::time::timeout(START_TIMEOUT, port_rx).await {
            Ok(Ok(Ok(port))) => driver.port = port,
            Ok(Ok(Err(e))) => bail!("chromedriver printed a bad port: {e}"),
            Ok(Err(_)) => bail!("chromedriver exited before listening"),
            Err(_) => bail!("timed out after {START_TIMEOUT:?} waiting for chromedriver to listen"),
        }
        Ok(driver)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// POSTs JSON to the driver; returns the answer's `value`. (ChromeDriver
    /// keeps the connection open after answering: read `Content-Length`.)
    async fn post(&self, path: &str, body: &str) -> anyhow::Result<Value> {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
        let exchange = async {
            let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await?;
            let request = format!(
                "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                self.port,
                body.len()
            );
            stream.write_all(request.as_bytes()).await?;
            let mut reader = tokio::io::BufReader::new(stream);
            let mut length = 0;
            let mut line = String::new();
            while reader.read_line(&mut line).await? > 2 {
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse()?;
                }
                line.clear();
            }
            let mut answer = vec![0; length];
            reader.read_exact(&mut answer).await?;
            anyhow::Ok(serde_json::from_slice::<Value>(&answer)?)
        };
        let answer = tokio::time::timeout(TIMEOUT, exchange)
            .await
            .with_context(|| format!("timed out on chromedriver's {path}"))??;
        if let Some(error) = answer["value"]["error"].as_str() {
            bail!(
                "chromedriver's {path}: {error}: {}",
                answer["value"]["message"]
            );
        }
        Ok(answer["value"].clone())
    }
}

impl Drop for Driver {
    /// ChromeDriver's `/shutdown` ends its sessions (closing Chromium) and
    /// exits; then the watchdog, its pipe closed, kills anything left and
    /// exits too. Blocking is fine here: a request on loopback and bounded
    /// waits.
    fn drop(&mut self) {
        if self.port != 0 {
            let _ = shutdown_request(self.port);
        }
        drop(self.watchdog.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.watchdog.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        // The watchdog did not do its job: kill the group from here.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.watchdog.id())])
            .status();
        let _ = self.watchdog.wait();
    }
}

/// Asks ChromeDriver to shut down; returns once it has answered and closed
/// the connection (it exits right after), or after 10 s.
fn shutdown_request(port: u16) -> std::io::Result<()> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    Ok(())
}
