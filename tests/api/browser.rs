//! Browser tests in real headless Chromium, driven over WebDriver (Debian's chromium and
//! chromium-driver). Missing browsers fail under CI=true and are skipped, with a note, elsewhere.

use crate::helpers::{Options, TestApp, spawn_with};
use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt;
use serde_json::{Value, json};
use std::net::TcpListener;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Chromium is heavy on two cores: one browser test at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// What "at once" means for a watching browser.
pub(crate) const LIVE: Duration = Duration::from_secs(1);

fn browsers_available() -> bool {
    let present =
        std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists();
    if !present {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "browser tests need chromium and chromedriver: apt-get install -y chromium chromium-driver"
            );
        }
        eprintln!(
            "skipped browser tests: no Chromium here (install with: apt-get install -y chromium chromium-driver)"
        );
    }
    present
}

struct Driver {
    process: Child,
    url: String,
    profiles: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

async fn driver() -> Driver {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let process = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Driver {
        process,
        url,
        profiles: tempfile::tempdir().expect("profile dir"),
    }
}

async fn browser(driver: &Driver, name: &str) -> Client {
    let profile = driver.profiles.path().join(name);
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-quic", "--no-first-run", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

/// Runs a browser test; on failure saves each browser's screenshot under target/.
pub(crate) async fn with_browsers<F>(name: &str, test: impl FnOnce(Vec<Client>) -> F, count: usize)
where
    F: std::future::Future<Output = ()>,
{
    if !browsers_available() {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().await;
    let driver = driver().await;
    let mut clients = Vec::new();
    for i in 0..count {
        clients.push(browser(&driver, &format!("{name}-{i}")).await);
    }
    let result = AssertUnwindSafe(test(clients.clone())).catch_unwind().await;
    if result.is_err() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-failures");
        let _ = std::fs::create_dir_all(&dir);
        for (i, c) in clients.iter().enumerate() {
            if let Ok(png) = c.screenshot().await {
                let path = dir.join(format!("{name}-{i}.png"));
                let _ = std::fs::write(&path, png);
                eprintln!("screenshot saved: {}", path.display());
            }
        }
    }
    for c in clients {
        let _ = c.close().await;
    }
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

pub(crate) async fn login(app: &TestApp, b: &Client, name: &str) {
    b.goto(&app.url("/login")).await.expect("login page");
    b.find(Locator::Id("username"))
        .await
        .expect("username")
        .send_keys(name)
        .await
        .expect("type");
    b.find(Locator::Id("password"))
        .await
        .expect("password")
        .send_keys("correct horse")
        .await
        .expect("type");
    b.find(Locator::Css("form.stack button[type=submit]"))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");
    b.wait()
        .for_element(Locator::Css(".notice"))
        .await
        .expect("logged in");
}

/// Waits until `css`'s attribute (or text, with `None`) satisfies `ok`, up to `within`.
pub(crate) async fn wait_until(
    b: &Client,
    css: &str,
    attr: Option<&str>,
    within: Duration,
    ok: impl Fn(&str) -> bool,
) -> String {
    let deadline = tokio::time::Instant::now() + within;
    let mut last = String::new();
    loop {
        if let Ok(el) = b.find(Locator::Css(css)).await {
            last = match attr {
                Some(a) => el.attr(a).await.ok().flatten().unwrap_or_default(),
                None => el.text().await.unwrap_or_default(),
            };
            if ok(&last) {
                return last;
            }
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("{css} {attr:?} never became right within {within:?}; last seen: {last:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits for `#live-status` to read `state`.
pub(crate) async fn live_state(b: &Client, state: &str, within: Duration) {
    wait_until(b, "#live-status", Some("data-state"), within, |s| {
        s == state
    })
    .await;
}

pub(crate) async fn place_bid_in_form(b: &Client, amount: &str) {
    let input = b.find(Locator::Id("amount")).await.expect("amount field");
    input.clear().await.expect("clear");
    input.send_keys(amount).await.expect("type");
    b.find(Locator::Css("#bid-form button[type=submit]"))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");
}

async fn lot_app(soft_close: u64, duration: i64) -> (TestApp, String) {
    let app = spawn_with(Options {
        soft_close_secs: soft_close,
        ..Options::default()
    })
    .await;
    let admin = app.admin().await;
    let seller = app.user("sam", "seller").await;
    app.user("amy", "bidder").await;
    app.user("ben", "bidder").await;
    let lot = app.open_lot(&seller, &admin, 1_000, None, duration).await;
    (app, lot)
}

async fn two_watchers_see_a_form_bid(transport: &str) {
    let (app, lot) = lot_app(120, 3_600).await;
    let path = format!("/lots/{lot}?transport={transport}");
    with_browsers(
        &format!("bid-{transport}"),
        |b| async move {
            let (a, bb) = (&b[0], &b[1]);
            login(&app, a, "amy").await;
            login(&app, bb, "ben").await;
            a.goto(&app.url(&path)).await.expect("A opens the lot");
            bb.goto(&app.url(&path)).await.expect("B opens the lot");
            live_state(a, "live", Duration::from_secs(5)).await;
            live_state(bb, "live", Duration::from_secs(5)).await;
            let a_url = a.current_url().await.expect("url");

            place_bid_in_form(bb, "12.50").await;
            wait_until(a, "#current-price", Some("data-cents"), LIVE, |c| {
                c == "1250"
            })
            .await;
            wait_until(a, "#current-price", None, LIVE, |t| t == "€12.50").await;
            wait_until(a, "#bid-count", None, LIVE, |t| t == "1").await;
            wait_until(a, "#min-next-bid", None, LIVE, |t| t == "€13.00").await;
            wait_until(a, "#bid-history li:first-child .who", None, LIVE, |t| {
                t == "ben"
            })
            .await;
            assert_eq!(a.current_url().await.expect("url"), a_url, "no reload");

            // Too low: said inline, without a reload, and nothing placed.
            place_bid_in_form(a, "12.60").await;
            let msg = wait_until(a, "#bid-error", None, LIVE, |t| !t.is_empty()).await;
            assert_eq!(msg, "Too low: bid at least €13.00.");
            place_bid_in_form(a, "13").await;
            wait_until(bb, "#current-price", Some("data-cents"), LIVE, |c| {
                c == "1300"
            })
            .await;
            wait_until(bb, "#bid-history li:first-child .who", None, LIVE, |t| {
                t == "amy"
            })
            .await;
            if transport == "sse" {
                wait_until(a, "#watchers", None, Duration::from_secs(3), |t| t == "2").await;
            }
        },
        2,
    )
    .await;
}

#[actix_web::test]
async fn a_bid_shows_in_the_other_browser_over_sse() {
    two_watchers_see_a_form_bid("sse").await;
}

#[actix_web::test]
async fn a_bid_shows_in_the_other_browser_over_long_polling() {
    two_watchers_see_a_form_bid("longpoll").await;
}

#[actix_web::test]
async fn the_lot_list_soft_close_and_closing_update_live() {
    let (app, lot) = lot_app(60, 30).await;
    let ben = app.token("ben", "correct horse").await;
    let admin = app.token("root", "correct horse").await;
    with_browsers(
        "list-and-close",
        |b| async move {
            let (list, page) = (&b[0], &b[1]);
            login(&app, page, "amy").await;
            list.goto(&app.url("/")).await.expect("list");
            page.goto(&app.url(&format!("/lots/{lot}")))
                .await
                .expect("lot");
            live_state(page, "live", Duration::from_secs(5)).await;
            tokio::time::sleep(Duration::from_millis(300)).await; // the list's stream attaches
            let ends_before = wait_until(page, "#countdown", Some("data-ends-at"), LIVE, |v| {
                !v.is_empty()
            })
            .await;

            // A bid in the last 60 s (the lot runs 30 s): soft close moves the end.
            let placed: Value = app.bid(&ben, &lot, 1_000).await.json().await.expect("json");
            let new_end = placed["lot"]["ends_at"]
                .as_str()
                .expect("ends_at")
                .to_owned();
            assert_ne!(new_end, ends_before);
            wait_until(page, "#countdown", Some("data-ends-at"), LIVE, |v| {
                v == new_end
            })
            .await;
            let card = format!("[data-lot-id=\"{lot}\"] [data-role=price]");
            wait_until(list, &card, Some("data-cents"), LIVE, |c| c == "1000").await;
            wait_until(list, &card, None, LIVE, |t| t == "€10.00").await;

            // The admin closes it: the winner shows and the form is disabled.
            let res = app
                .post_json(
                    &format!("/api/v1/lots/{lot}/close"),
                    Some(&admin),
                    json!({}),
                )
                .await;
            assert_eq!(res.status(), reqwest::StatusCode::OK);
            wait_until(page, "#winner", None, LIVE, |t| t == "ben").await;
            let button = page
                .find(Locator::Css("#bid-form button"))
                .await
                .expect("button");
            assert!(
                !button.is_enabled().await.expect("enabled?"),
                "form disabled"
            );
            let amount = page.find(Locator::Id("amount")).await.expect("input");
            assert!(!amount.is_enabled().await.expect("enabled?"));
        },
        2,
    )
    .await;
}

#[actix_web::test]
async fn a_restarted_server_is_reconnected_to_and_missed_bids_are_filled_in() {
    let (app, lot) = lot_app(120, 3_600).await;
    let port = app.port();
    let ben = app.token("ben", "correct horse").await;
    let app = std::sync::Arc::new(tokio::sync::Mutex::new(Some(app)));
    with_browsers(
        "restart",
        |b| {
            let app = app.clone();
            async move {
                let a = &b[0];
                let url = app
                    .lock()
                    .await
                    .as_ref()
                    .expect("app")
                    .url(&format!("/lots/{lot}"));
                a.goto(&url).await.expect("lot");
                live_state(a, "live", Duration::from_secs(5)).await;

                let running = app.lock().await.take().expect("app");
                let restarted = running
                    .restart_with(
                        || {},
                        Options {
                            port,
                            ..Options::default()
                        },
                    )
                    .await;
                // The browser noticed the stop before the new server came up (retry is 2 s).
                live_state(a, "reconnecting", Duration::from_secs(3)).await;
                assert_eq!(
                    restarted.bid(&ben, &lot, 1_000).await.status(),
                    reqwest::StatusCode::CREATED
                );
                assert_eq!(
                    restarted.bid(&ben, &lot, 1_100).await.status(),
                    reqwest::StatusCode::CREATED
                );
                live_state(a, "live", Duration::from_secs(10)).await;
                wait_until(
                    a,
                    "#current-price",
                    Some("data-cents"),
                    Duration::from_secs(3),
                    |c| c == "1100",
                )
                .await;
                let items = a
                    .find_all(Locator::Css("#bid-history li"))
                    .await
                    .expect("history");
                assert_eq!(items.len(), 2, "both bids placed meanwhile are filled in");
                *app.lock().await = Some(restarted);
            }
        },
        1,
    )
    .await;
}

/// Live streams the server holds now (SSE, NDJSON and waiting polls).
async fn streams_held(app: &TestApp) -> i64 {
    app.metrics()
        .await
        .lines()
        .filter(|l| l.starts_with("gavel_streams_held{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<i64>().ok())
        .sum()
}

/// The streams held once at most `most` remain, or after 5 s: a closed tab's or a replaced
/// leader's connection is counted out only when the server notices it has gone.
async fn streams_held_within(app: &TestApp, most: i64) -> i64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let held = streams_held(app).await;
        if held <= most || tokio::time::Instant::now() >= deadline {
            return held;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One browser, ten tabs (eight lot pages, the list and /me): one live connection between them
/// (two at most while the lead changes hands), every bid in its tab at once, and none missed
/// when the leading tab closes while bids are placed.
#[actix_web::test]
async fn many_tabs_of_one_browser_share_one_live_connection() {
    let app = spawn_with(Options::default()).await;
    let admin = app.admin().await;
    let seller = app.user("sam", "seller").await;
    let bea = app.user("bea", "bidder").await;
    app.user("amy", "bidder").await;
    let mut lots = Vec::new();
    for _ in 0..8 {
        lots.push(app.open_lot(&seller, &admin, 1_000, None, 3_600).await);
    }
    with_browsers(
        "tabs",
        |b| async move {
            let c = &b[0];
            login(&app, c, "amy").await;
            let mut tabs = Vec::new();
            for (i, path) in lots
                .iter()
                .map(|l| format!("/lots/{l}"))
                .chain(["/".to_owned(), "/me".to_owned()])
                .enumerate()
            {
                if i > 0 {
                    let tab = c.new_window(true).await.expect("a new tab");
                    c.switch_to_window(tab.handle).await.expect("switch");
                }
                c.goto(&app.url(&path)).await.expect("the tab loads");
                tabs.push(c.window().await.expect("handle"));
            }
            for tab in &tabs {
                c.switch_to_window(tab.clone()).await.expect("switch");
                live_state(c, "live", Duration::from_secs(10)).await;
            }
            let held = streams_held_within(&app, 2).await;
            assert!(held <= 2, "ten tabs hold {held} streams");

            for (i, lot) in lots.iter().enumerate() {
                let cents = 2_000 + 100 * i as i64;
                assert_eq!(app.bid(&bea, lot, cents).await.status(), 201);
                c.switch_to_window(tabs[i].clone()).await.expect("switch");
                let want = cents.to_string();
                wait_until(c, "#current-price", Some("data-cents"), LIVE, |v| v == want).await;
            }
            c.switch_to_window(tabs[8].clone()).await.expect("the list");
            let card = format!("[data-lot-id=\"{}\"] [data-role=price]", lots[7]);
            wait_until(c, &card, Some("data-cents"), LIVE, |v| v == "2700").await;

            // The leading tab (the first) closes; bids go on meanwhile; the others miss none.
            c.switch_to_window(tabs[0].clone()).await.expect("switch");
            c.close_window().await.expect("closed");
            for (i, lot) in lots.iter().enumerate().skip(1) {
                assert_eq!(
                    app.bid(&bea, lot, 5_000 + 100 * i as i64).await.status(),
                    201
                );
            }
            for (i, lot) in lots.iter().enumerate().skip(1) {
                c.switch_to_window(tabs[i].clone()).await.expect("switch");
                let want = (5_000 + 100 * i as i64).to_string();
                wait_until(
                    c,
                    "#current-price",
                    Some("data-cents"),
                    Duration::from_secs(10),
                    |v| v == want,
                )
                .await;
                let count = wait_until(c, "#bid-count", None, LIVE, |t| t == "2").await;
                assert_eq!(count, "2", "lot {i}: both bids, once each");
                let items = c
                    .find_all(Locator::Css("#bid-history li"))
                    .await
                    .expect("history");
                assert_eq!(items.len(), 2, "lot {i} {lot}: no bid twice");
            }
            let held = streams_held_within(&app, 2).await;
            assert!(held <= 2, "after the handover: {held} streams");
        },
        1,
    )
    .await;
}
