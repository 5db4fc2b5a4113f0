//! Trust at the edges (issue: every input, every repeat, every attacker): typed amounts,
//! the amount range, redirects after login.

use crate::helpers::{Options, error_code, spawn_app, spawn_with};
use gavel::web::limits::RateSettings;
use reqwest::StatusCode;

/// The bid form on a EUR site: people type commas. Nothing is ever guessed.
#[actix_web::test]
async fn the_bid_form_reads_every_separator_style_and_guesses_nothing() {
    let app = spawn_app().await;
    let (admin, seller, _) = app.cast().await;
    let lot = app.open_lot(&seller, &admin, 1000, None, 3600).await;
    let bea = app.login_browser("bea").await;
    let page = format!("/lots/{lot}");
    let action = format!("/lots/{lot}/bid");

    for (typed, cents) in [("12,50", 1250), ("1.234,50", 123450), ("1 300,00", 130000)] {
        let res = app.submit(&bea, &page, &action, &[("amount", typed)]).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{typed}");
        let now = app.lot(&lot, None).await;
        assert_eq!(now["current_price_cents"], cents, "{typed}");
    }
    for typed in ["1,2,3", "1,400", "1.400", "14e4", "١٢"] {
        let res = app.submit(&bea, &page, &action, &[("amount", typed)]).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{typed}");
        let html = res.text().await.expect("page");
        assert!(
            html.contains("1,234.50") || html.contains("1234"),
            "{typed}: shows how to write it"
        );
    }
    let now = app.lot(&lot, None).await;
    assert_eq!(now["bid_count"], 3, "no refused amount placed a bid");
}

/// A bid of 10^11 cents (the largest starting price) used to leave a minimum nobody could bid.
#[actix_web::test]
async fn a_bid_at_the_top_of_the_price_range_leaves_a_biddable_minimum() {
    let app = spawn_app().await;
    let (admin, seller, bea) = app.cast().await;
    let bob = app.user("bob", "bidder").await;
    let lot = app.open_lot(&seller, &admin, 100, None, 3600).await;
    let res = app.bid(&bea, &lot, 100_000_000_000).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let min = app.lot(&lot, None).await["min_next_bid_cents"]
        .as_i64()
        .expect("min");
    let res = app.bid(&bob, &lot, min).await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "the advertised minimum is biddable"
    );

    let res = app.bid(&bea, &lot, 10_000_000_000_000).await;
    let (status, code, body) = error_code(res).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "amount_too_large")
    );
    assert_eq!(body["error"]["field"], "amount_cents");
    let res = app.bid(&bea, &lot, 10_000_000_000_001).await;
    assert_eq!(
        res.status(),
        StatusCode::BAD_REQUEST,
        "beyond 10^13 is not an amount"
    );
}

/// After login, `next` only ever leads to a path on this site, whatever its encoding, and
/// never costs a 500.
#[actix_web::test]
async fn login_redirects_only_to_this_sites_paths() {
    let app = spawn_app().await;
    app.user("bea", "bidder").await;
    for (next, expected) in [
        ("/%09/evil.example/phish", "/?notice=welcome"),
        ("//evil.example", "/?notice=welcome"),
        ("/%5Cevil.example", "/?notice=welcome"),
        ("https://evil.example", "/?notice=welcome"),
        ("/%0D%0ASet-Cookie:x=1", "/?notice=welcome"),
        ("/%01", "/?notice=welcome"),
        ("/me", "/me?notice=welcome"),
    ] {
        let browser = app.browser();
        let page = format!("/login?next={next}");
        let (status, html) = app.page(&browser, &page).await;
        assert_eq!(status, StatusCode::OK, "{next}");
        let csrf = crate::helpers::csrf_of(&html);
        let decoded: String = url_decode(next);
        let res = browser
            .post(app.url("/login"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("username", "bea"),
                ("password", "correct horse"),
                ("next", decoded.as_str()),
            ])
            .send()
            .await
            .expect("login");
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{next}");
        let location = res.headers()["location"].to_str().expect("location");
        assert_eq!(location, expected, "{next}");
    }
}

fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(Ok(b)) = s.get(i + 1..i + 3).map(|h| u8::from_str_radix(h, 16))
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Wrong passwords for one name run out (429 with Retry-After, page and API alike), and then
/// even the right password waits: guessing costs time, not just hashes.
#[actix_web::test]
async fn failed_logins_are_limited_per_username() {
    let app = with_real_limits().await;
    app.user("bea", "bidder").await;
    let wrong = serde_json::json!({"username": "bea", "password": "not her password"});
    for n in 0..10 {
        let res = app.post_json("/api/v1/tokens", None, wrong.clone()).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "failure {n}");
    }
    let res = app.post_json("/api/v1/tokens", None, wrong.clone()).await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "the 11th failure takes the last cell"
    );
    let res = app.post_json("/api/v1/tokens", None, wrong).await;
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .ok()
        .and_then(|s| s.parse().ok())
        .expect("Retry-After in seconds");
    assert!(retry >= 1);
    let (status, code, _) = error_code(res).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );

    let right = serde_json::json!({"username": "BEA", "password": "correct horse"});
    let res = app.post_json("/api/v1/tokens", None, right).await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the name is limited, any case"
    );

    // The login page answers the same, as a page.
    let browser = app.browser();
    let res = app
        .submit(
            &browser,
            "/login",
            "/login",
            &[("username", "bea"), ("password", "correct horse")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
}

/// One user's bids are limited (30 at once by default); other users bid on.
#[actix_web::test]
async fn bids_are_limited_per_user() {
    let app = with_real_limits().await;
    let (admin, seller, bea) = app.cast().await;
    let bob = app.user("bob", "bidder").await;
    let lot = app.open_lot(&seller, &admin, 100, None, 3600).await;
    let mut limited = 0;
    for n in 0..40 {
        let res = app.bid(&bea, &lot, 100 + n * 100).await;
        match res.status() {
            StatusCode::CREATED => {}
            StatusCode::TOO_MANY_REQUESTS => limited += 1,
            other => panic!("bid {n}: {other}"),
        }
    }
    assert!(limited >= 9, "a burst of 40 bids is limited: {limited}");
    let lot_now = app.lot(&lot, None).await;
    assert_eq!(
        lot_now["bid_count"].as_i64(),
        Some(40 - limited),
        "a 429 places nothing"
    );
    let min = lot_now["min_next_bid_cents"].as_i64().expect("min");
    assert_eq!(app.bid(&bob, &lot, min).await.status(), StatusCode::CREATED);
}

async fn with_real_limits() -> crate::helpers::TestApp {
    spawn_with(Options {
        rate_limits: RateSettings::default(),
        ..Options::default()
    })
    .await
}

/// A burst of logins cannot pile up Argon2 hashes (19 MiB each): at most one per core runs,
/// a bounded queue waits, the rest get 429. The real binary's memory is read before and after.
#[actix_web::test]
async fn a_login_burst_keeps_memory_bounded() {
    let server = crate::helpers::Gavel::start(&[]).await;
    let (base, client) = (server.base.clone(), reqwest::Client::new());
    let pid = server.child.id();
    let before = resident_kib(pid);
    let mut tasks = Vec::new();
    for n in 0..150 {
        let client = client.clone();
        let url = format!("{base}/api/v1/tokens");
        // Each name once, so the per-name limit does not answer for the hashing bound.
        let body =
            serde_json::json!({"username": format!("nobody{n}"), "password": "wrong password"});
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .json(&body)
                .send()
                .await
                .map(|r| r.status())
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("task").expect("answered"));
    }
    let after = resident_kib(pid);
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert!(statuses.contains(&StatusCode::UNAUTHORIZED));
    // Unbounded, 120 concurrent hashes took the server from 110 MB to 3.0 GB.
    let grown_mib = after.saturating_sub(before) / 1024;
    assert!(
        grown_mib < 150,
        "memory grew {grown_mib} MiB under a login burst"
    );
}

/// A process's resident memory.
fn resident_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
