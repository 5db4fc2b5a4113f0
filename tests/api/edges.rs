//! Trust at the edges (issue: every input, every repeat, every attacker): typed amounts,
//! the amount range, redirects after login.

use crate::helpers::{error_code, spawn_app};
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
