//! A real browser for tests: headless Chromium driven over WebDriver (ChromeDriver). Screenshots
//! are kept under `target/browser-artifacts/`.

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How long to wait for something to appear on a page.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A ChromeDriver process; each [`Browser::session`] is a separate browser with its own cookies.
pub struct Browser {
    driver: Child,
    url: String,
}

impl Browser {
    /// Starts ChromeDriver (`PARLEY_CHROMEDRIVER`, default `chromedriver`) on a free port.
    pub async fn start() -> Browser {
        // Two TLS backends are linked in; WebDriver on loopback needs none, but rustls wants one chosen.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
        let program = std::env::var("PARLEY_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let mut driver = Command::new(&program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {program} (install chromium-driver): {e}"));
        let url = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..100 {
            if client.get(format!("{url}/status")).send().await.is_ok() {
                return Browser { driver, url };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = driver.kill();
        let _ = driver.wait();
        panic!("chromedriver did not start");
    }

    /// A fresh headless browser (its own profile: cookies are not shared between sessions).
    pub async fn session(&self) -> Page {
        let binary = std::env::var("PARLEY_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": binary,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                         "--disable-component-update", "--disable-dev-shm-usage", "--window-size=1280,900",
                         "--autoplay-policy=no-user-gesture-required"]
            }),
        );
        let client =
            ClientBuilder::rustls().expect("tls").capabilities(caps).connect(&self.url).await.expect("browser");
        Page { client }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// One browser window.
pub struct Page {
    pub client: Client,
}

impl Page {
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    /// The element matching `css`, waiting for it to appear. A look-up cut short because the page
    /// was navigating ("aborted by navigation", e.g. right after a logout) is simply tried again.
    pub async fn find(&self, css: &str) -> Element {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            match self.client.find(Locator::Css(css)).await {
                Ok(element) => return element,
                Err(e) if tokio::time::Instant::now() > deadline => panic!("no element '{css}': {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("text")
    }

    /// Waits until `check` holds for the page's visible text.
    pub async fn wait_for_text(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let body = self.text("body").await;
            if check(&body) {
                return body;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("waited for {what}; the page says:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the element matching `css` exists and `check` holds for its text.
    pub async fn wait_for(&self, css: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Ok(el) = self.client.find(Locator::Css(css)).await {
                if let Ok(text) = el.text().await {
                    if check(&text) {
                        return text;
                    }
                }
            }
            if tokio::time::Instant::now() > deadline {
                let body = self.text("body").await;
                panic!("waited for '{css}'; the page says:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The `textContent` of the element matching `css` (text hidden from sight but read to
    /// screen readers included), or `None` while there is no such element.
    pub async fn content(&self, css: &str) -> Option<String> {
        let script = "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;";
        let found = self.client.execute(script, vec![json!(css)]).await.expect("textContent");
        found.as_str().map(str::to_string)
    }

    /// Waits until the `textContent` of the element matching `css` satisfies `check`.
    pub async fn wait_for_content(&self, css: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let content = self.content(css).await;
            if let Some(content) = content.as_deref().filter(|c| check(c)) {
                return content.to_string();
            }
            if tokio::time::Instant::now() > deadline {
                panic!("waited for the content of '{css}'; it is {content:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Types `value` into the field matching `css`, retrying while it cannot take input yet (a
    /// dialog still opening, say).
    pub async fn fill(&self, css: &str, value: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let field = self.find(css).await;
            match field.clear().await {
                Ok(()) => {
                    field.send_keys(value).await.expect("type");
                    return;
                }
                Err(e) if tokio::time::Instant::now() > deadline => panic!("fill '{css}': {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Clicks the element matching `css`, retrying while the page re-renders it.
    pub async fn click(&self, css: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let result = match self.client.find(Locator::Css(css)).await {
                Ok(el) => el.click().await,
                Err(e) => Err(e),
            };
            match result {
                Ok(()) => return,
                Err(e) if tokio::time::Instant::now() > deadline => panic!("click '{css}': {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Logs in through the login page.
    pub async fn login(&self, base: &str, email: &str, password: &str) {
        self.goto(&format!("{base}/")).await;
        self.fill("#email", email).await;
        self.fill("#password", password).await;
        self.click("#login-form button[type=submit]").await;
        self.find("#sidebar .view").await;
    }

    /// Logs a customer in through the portal's password form and waits for their requests.
    pub async fn portal_login(&self, base: &str, email: &str, password: &str) {
        self.goto(&format!("{base}/portal")).await;
        self.fill("#email", email).await;
        self.fill("#password", password).await;
        self.click("#password-form button[type=submit]").await;
        self.find("#portal:not([hidden])").await;
    }

    /// Opens the chat on a page embedding the widget (`shop`) and enters its frame.
    pub async fn open_chat(&self, shop: &str) {
        self.goto(shop).await;
        self.click("#parley-chat-button").await;
        self.find("#parley-chat-frame").await.enter_frame().await.expect("enter the chat frame");
    }

    /// Saves a screenshot as `target/browser-artifacts/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-artifacts");
        std::fs::create_dir_all(&dir).expect("artifacts dir");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    /// Presses and releases one key on whatever has the focus (a character, or a
    /// `fantoccini::key::Key` as char).
    pub async fn press(&self, key: char) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let keys =
            KeyActions::new("keyboard".into()).then(KeyAction::Down { value: key }).then(KeyAction::Up { value: key });
        self.client.perform_actions(keys).await.expect("press a key");
    }

    /// The focused element, as `tag#id.classes` (e.g. `h1#subject`).
    pub async fn focused(&self) -> String {
        let script = "const e = document.activeElement; \
                      return e ? e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + \
                      [...e.classList].map((c) => '.' + c).join('') : '';";
        self.client.execute(script, vec![]).await.expect("focused element").as_str().unwrap_or_default().to_string()
    }

    /// Waits until the focused element's description (see [`Page::focused`]) satisfies `check`.
    pub async fn wait_for_focus(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let focused = self.focused().await;
            if check(&focused) {
                return focused;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("waited for the focus on {what}; it is on '{focused}'");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sets the window's size (a phone is 390 × 844).
    pub async fn resize(&self, width: u32, height: u32) {
        self.client.set_window_size(width, height).await.expect("window size");
    }

    /// Runs axe-core (from the npm registry: `npm ci --prefix crates/parley-testkit/a11y`) on the
    /// page as it is now and answers its violations, each as "rule: help (the elements' selectors)".
    /// The script is passed over WebDriver, so the page's own CSP does not stand in its way.
    pub async fn accessibility_violations(&self) -> Vec<String> {
        let source = std::fs::read_to_string(axe_script()).unwrap_or_else(|e| {
            panic!("axe-core is missing ({e}): run `npm ci --prefix crates/parley-testkit/a11y` first")
        });
        self.client.execute(&source, vec![]).await.expect("load axe-core");
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                   .then((r) => done(r.violations.map((v) =>
                     `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`)))
                   .catch((e) => done([`axe failed: ${e}`]));",
                vec![],
            )
            .await
            .expect("run axe-core");
        serde_json::from_value(found).expect("violations")
    }

    /// Fails, naming each violation, unless axe-core finds none on the page; `name` says which
    /// page it was and names the screenshot kept of it.
    pub async fn assert_accessible(&self, name: &str) {
        let violations = self.accessibility_violations().await;
        self.screenshot(&format!("a11y-{name}")).await;
        assert!(
            violations.is_empty(),
            "{name}: {} accessibility violation(s):\n{}",
            violations.len(),
            violations.join("\n")
        );
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// axe-core's script, as `npm ci` puts it (`PARLEY_AXE` names another copy).
fn axe_script() -> PathBuf {
    std::env::var_os("PARLEY_AXE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("a11y/node_modules/axe-core/axe.min.js"))
}

/// A shop's page on another origin (`localhost` rather than `127.0.0.1`) embedding Parley's
/// widget, served by a small listener of its own; answers its URL.
pub async fn shop_page(parley: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let html = format!(
        "<!doctype html><html><head><title>ACME shop</title></head><body><h1>ACME shop</h1>\
         <p>Our products.</p><script src=\"{parley}/widget.js\" async></script></body></html>"
    );
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0_u8; 4096];
            let _ = stream.read(&mut buf).await;
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{html}",
                html.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        }
    });
    format!("http://localhost:{port}/")
}
