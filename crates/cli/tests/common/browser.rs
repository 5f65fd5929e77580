//! Helpers for the browser tests (`browser*.rs`): chromedriver + headless
//! Chromium started per test (required in CI, skipped with a message elsewhere), screenshots into
//! `test-artifacts/browser/`, and page helpers that wait, click and check every page for
//! untranslated keys and template errors.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const WAIT: Duration = Duration::from_secs(15);
pub const DESKTOP: (u32, u32) = (1366, 768);
pub const PHONE: (u32, u32) = (390, 844);

// ---------------------------------------------------------------- browser lifecycle

pub fn browser_required() -> bool {
    std::env::var("DANGAN_REQUIRE_BROWSER").map(|v| v == "1").unwrap_or(false) || std::env::var("CI").map(|v| !v.is_empty() && v != "false").unwrap_or(false)
}

/// No usable browser: a loud failure where browsers are required, a visible skip elsewhere.
pub fn unavailable<T>(why: String) -> Option<T> {
    if browser_required() {
        panic!("browser tests are required here (CI or DANGAN_REQUIRE_BROWSER=1) but {why}");
    }
    eprintln!("SKIPPED (browser): {why}. Install chromium and chromedriver, or set DANGAN_CHROMEDRIVER / DANGAN_CHROMIUM.");
    None
}

/// The chromedriver process; dropping it (also while unwinding from a failed assertion) ends the
/// browser session and kills the driver.
pub struct Driver {
    pub child: Child,
    pub port: u16,
    pub session: Option<String>,
    pub profile: tempfile::TempDir,
}

impl Driver {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(id) = self.session.take() {
            // Ends the session so chromedriver closes Chromium; a plain blocking request, as this
            // may run while a panic unwinds through the async test.
            delete_session(self.port, &id);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn delete_session(port: u16, id: &str) {
    use std::io::{Read, Write};
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else { return };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(2)));
    let _ = write!(s, "DELETE /session/{id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port").local_addr().expect("local addr").port()
}

/// Starts chromedriver on a free port and opens a headless Chromium session.
pub async fn start_browser() -> Option<(Driver, Client)> {
    let driver_bin = std::env::var("DANGAN_CHROMEDRIVER").unwrap_or_else(|_| CHROMEDRIVER.into());
    let chrome_bin = std::env::var("DANGAN_CHROMIUM").unwrap_or_else(|_| CHROMIUM.into());
    for (what, path) in [("chromedriver", &driver_bin), ("chromium", &chrome_bin)] {
        if !Path::new(path).exists() {
            return unavailable(format!("{what} not found at {path}"));
        }
    }
    let profile = tempfile::tempdir().expect("browser profile dir");
    let port = free_port();
    let child = match Command::new(&driver_bin).arg(format!("--port={port}")).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::inherit()).spawn() {
        Ok(c) => c,
        Err(e) => return unavailable(format!("cannot run {driver_bin}: {e}")),
    };
    let mut driver = Driver { child, port, session: None, profile };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(status)) = driver.child.try_wait() {
            return unavailable(format!("chromedriver exited right after start ({status})"));
        }
        if let Ok(r) = reqwest::get(format!("{}/status", driver.url())).await {
            if r.status().is_success() {
                break;
            }
        }
        if Instant::now() > deadline {
            return unavailable(format!("chromedriver did not answer on port {port} within 20 s"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let user_data_dir = driver.profile.path().display().to_string();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chrome_bin,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
                format!("--user-data-dir={user_data_dir}"),
                // A Chinese user's browser: without this headless Chromium sends
                // `Accept-Language: en-US` and the UI (rightly) answers in English.
                "--lang=zh-CN",
            ],
            "prefs": { "intl.accept_languages": "zh-CN,zh" },
        }),
    );
    let builder = ClientBuilder::rustls().map(|mut b| {
        b.capabilities(caps);
        b
    });
    let client = match builder {
        Ok(b) => match b.connect(&driver.url()).await {
            Ok(c) => c,
            Err(e) => return unavailable(format!("chromedriver could not start {chrome_bin}: {e}")),
        },
        Err(e) => panic!("rustls initialisation failed: {e}"),
    };
    driver.session = client.session_id().await.ok().flatten();
    Some((driver, client))
}

// ---------------------------------------------------------------- page helpers

pub fn artifacts_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../test-artifacts/browser");
    std::fs::create_dir_all(&dir).expect("create test-artifacts/browser");
    dir.canonicalize().unwrap_or(dir)
}

pub struct Shots {
    pub dir: PathBuf,
    pub tag: &'static str,
}

impl Shots {
    pub async fn take(&self, c: &Client, name: &str) {
        let png = c.screenshot().await.unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        let path = self.dir.join(format!("{}-{name}.png", self.tag));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
}

pub async fn here(c: &Client) -> String {
    c.current_url().await.map(|u| u.to_string()).unwrap_or_else(|e| format!("<no url: {e}>"))
}

pub async fn path(c: &Client) -> String {
    c.current_url().await.expect("current url").path().to_string()
}

/// Waits for an element; panics naming the selector and the page.
pub async fn find(c: &Client, css: &str) -> Element {
    match c.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
        Ok(e) => e,
        Err(e) => panic!("element `{css}` not found on {}: {e}", here(c).await),
    }
}

pub async fn find_all(c: &Client, css: &str) -> Vec<Element> {
    c.find_all(Locator::Css(css)).await.unwrap_or_else(|e| panic!("find_all `{css}`: {e}"))
}

/// Present right now (no waiting).
pub async fn exists(c: &Client, css: &str) -> bool {
    c.find(Locator::Css(css)).await.is_ok()
}

pub async fn text(c: &Client, css: &str) -> String {
    find(c, css).await.text().await.unwrap_or_else(|e| panic!("text of `{css}`: {e}"))
}

pub async fn texts(c: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in find_all(c, css).await {
        out.push(e.text().await.unwrap_or_else(|e| panic!("text of `{css}`: {e}")));
    }
    out
}

pub async fn value(c: &Client, css: &str) -> String {
    find(c, css).await.prop("value").await.unwrap_or_else(|e| panic!("value of `{css}`: {e}")).unwrap_or_default()
}

pub async fn body_text(c: &Client) -> String {
    text(c, "body").await
}

pub async fn type_into(c: &Client, css: &str, s: &str) {
    let e = find(c, css).await;
    e.clear().await.unwrap_or_else(|e| panic!("clear `{css}`: {e}"));
    e.send_keys(s).await.unwrap_or_else(|e| panic!("type into `{css}`: {e}"));
    let got = e.prop("value").await.ok().flatten().unwrap_or_default();
    assert_eq!(got, s, "typing into `{css}` on {}", here(c).await);
}

pub async fn click(c: &Client, css: &str) {
    find(c, css).await.click().await.unwrap_or_else(|e| panic!("click `{css}`: {e}"));
}

/// Checks every page the flow lands on: no raw translation keys in text, titles, placeholders
/// or labels, and no template failure.
pub async fn check_page(c: &Client) {
    const SCRIPT: &str = r#"
        const parts = [document.title, document.body ? document.body.innerText : ''];
        for (const el of document.querySelectorAll('[placeholder],[title],[aria-label]')) {
            for (const a of ['placeholder', 'title', 'aria-label']) parts.push(el.getAttribute(a) || '');
        }
        const m = parts.join('\n').match(/(?:^|[^A-Za-z0-9_.])((?:app|menu|top|login|list|sort|f|sec|act|form|view|err|audit|diff|imp|exp|admin|policy|rem|pool|handover|lc|ret|cl|access|dedup|loans|backup|search|review)\.[a-z][a-z_]*)/);
        return m ? m[1] : null;"#;
    let found = c.execute(SCRIPT, vec![]).await.unwrap_or_else(|e| panic!("page check script: {e}"));
    assert_eq!(found, Value::Null, "untranslated key {found} shown on {}", here(c).await);
    let body = body_text(c).await;
    assert!(!body.starts_with("template error"), "template error on {}: {body}", here(c).await);
}

/// Clicks something that loads a new document and waits until that document has loaded.
pub async fn click_nav(c: &Client, css: &str) {
    let el = find(c, css).await;
    c.execute("window.__danganOldPage = true; return null;", vec![]).await.expect("mark page");
    if let Err(e) = el.click().await {
        panic!("click `{css}` on {}: {e}", here(c).await);
    }
    let deadline = Instant::now() + WAIT;
    loop {
        let done = c.execute("return window.__danganOldPage !== true && document.readyState === 'complete';", vec![]).await;
        if matches!(done, Ok(Value::Bool(true))) {
            break;
        }
        assert!(Instant::now() < deadline, "clicking `{css}` did not load a new page (still on {})", here(c).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    check_page(c).await;
}

/// Sizes the window so the page itself (the viewport, what screenshots show) is `w`×`h`:
/// headless Chromium still reserves room for browser chrome inside the window size.
pub async fn set_viewport(c: &Client, (w, h): (u32, u32)) {
    c.set_window_size(w, h).await.expect("set window size");
    let inner = c.execute("return [window.innerWidth, window.innerHeight];", vec![]).await.expect("viewport size");
    let (iw, ih) = (inner[0].as_i64().unwrap_or(w as i64), inner[1].as_i64().unwrap_or(h as i64));
    if (iw, ih) != (w as i64, h as i64) {
        let (ow, oh) = (2 * w as i64 - iw, 2 * h as i64 - ih);
        c.set_window_size(ow as u32, oh as u32).await.expect("set window size");
    }
}

/// The page must not scroll sideways (wide tables scroll inside their own box); names the
/// elements that stick out when it does.
pub async fn assert_no_sideways_scroll(c: &Client, what: &str) {
    const SCRIPT: &str = r#"
        const root = document.documentElement, limit = root.clientWidth;
        const wide = [];
        for (const el of document.body.querySelectorAll('*')) {
            const r = el.getBoundingClientRect();
            if (r.right > limit + 0.5 && !el.closest('.table-wrap')) {
                wide.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '') + ' right=' + Math.round(r.right));
            }
        }
        return [root.scrollWidth - limit, wide.slice(0, 8).join(', ')];"#;
    let r = c.execute(SCRIPT, vec![]).await.expect("overflow script");
    let by = r[0].as_i64().unwrap_or(0);
    assert!(by <= 0, "{what} scrolls sideways by {by} px; sticking out: {}", r[1].as_str().unwrap_or(""));
}

pub async fn goto(c: &Client, url: &str) {
    c.goto(url).await.unwrap_or_else(|e| panic!("goto {url}: {e}"));
    check_page(c).await;
}

/// Logs in through the login page as one of the demo staff (the admin's password) and checks
/// that the list opens.
pub async fn login_as(c: &Client, s: &super::TestServer, username: &str, display_name: &str) {
    goto(c, &s.url("/login")).await;
    type_into(c, "#username", username).await;
    type_into(c, "#password", super::ADMIN_PASSWORD).await;
    click_nav(c, "form[action='/login'] button[type=submit]").await;
    assert_eq!(path(c).await, "/archives", "{username} logs in and lands on the list");
    let who = text(c, ".topbar .who").await;
    assert!(who.contains(display_name), "the top bar names {display_name}: {who:?}");
}

/// Clicks a submit button whose form asks `confirm(...)`, checks the dialog's text, accepts it and
/// waits for the next page (then checks it like `click_nav`).
pub async fn submit_confirmed(c: &Client, css: &str, dialog_has: &str) {
    c.execute("window.__danganOldPage = true; return null;", vec![]).await.expect("mark page");
    find(c, css).await.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    let dialog = c.get_alert_text().await.expect("a confirmation dialog");
    assert!(dialog.contains(dialog_has), "the dialog says {dialog_has:?}: {dialog:?}");
    c.accept_alert().await.expect("confirm");
    let deadline = Instant::now() + WAIT;
    loop {
        let done = c.execute("return window.__danganOldPage !== true && document.readyState === 'complete';", vec![]).await;
        if matches!(done, Ok(Value::Bool(true))) {
            break;
        }
        assert!(Instant::now() < deadline, "submitting {css} did not load a new page");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    check_page(c).await;
}

// ---------------------------------------------------------------- one flow on both engines

/// Runs `flow` in one headless Chromium against a server per engine (SQLite, then PostgreSQL where
/// reachable or required), each with `demo` demo archives. Screenshots are tagged
/// `<name>-sqlite` / `<name>-postgres`; a failing flow leaves `<tag>-FAILED.png` and names the page.
/// `viewport`, if given, sizes the window once before the first flow.
pub async fn on_both_engines<F>(name: &str, demo: u64, viewport: Option<(u32, u32)>, flow: F)
where
    F: for<'a> Fn(&'a Client, &'a super::TestServer, &'a Shots) -> futures::future::BoxFuture<'a, ()>,
{
    use futures::FutureExt;
    let Some((mut driver, client)) = start_browser().await else { return };
    if let Some(size) = viewport {
        set_viewport(&client, size).await;
    }
    let dir = artifacts_dir();
    let mut engines = vec![super::TestServer::start(super::Engine::Sqlite, demo).await.expect("sqlite server")];
    if let Some(pg) = super::TestServer::start(super::Engine::Postgres, demo).await {
        engines.push(pg);
    }
    for s in &engines {
        let engine = if s.engine == super::Engine::Sqlite { "sqlite" } else { "postgres" };
        // Shots carry a &'static tag (the flows print it); one small leak per engine per test.
        let tag: &'static str = Box::leak(format!("{name}-{engine}").into_boxed_str());
        let shots = Shots { dir: dir.clone(), tag };
        if let Err(panic) = std::panic::AssertUnwindSafe(flow(&client, s, &shots)).catch_unwind().await {
            if let Ok(png) = client.screenshot().await {
                let _ = std::fs::write(dir.join(format!("{tag}-FAILED.png")), png);
            }
            eprintln!("[{tag}] FAILED on {}", here(&client).await);
            std::panic::resume_unwind(panic);
        }
        client.delete_all_cookies().await.expect("clear cookies");
    }
    client.close().await.expect("close the browser session");
    driver.session = None;
    drop(driver);
}
