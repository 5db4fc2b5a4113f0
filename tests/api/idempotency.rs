//! Idempotent bids (API.md §3a): a retried request is answered with its first answer and
//! places nothing, also when the copies arrive at once and after a restart.

use crate::helpers::{Options, TestApp, csrf_of, error_code, spawn_app, spawn_with};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

async fn keyed_bid(app: &TestApp, token: &str, lot: &str, amount: i64, key: &str) -> Response {
    app.api
        .post(app.url(&format!("/api/v1/lots/{lot}/bids")))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&json!({ "amount_cents": amount }))
        .send()
        .await
        .expect("answered")
}

/// Status, whether it says it is a replay, and the body as text.
async fn read(res: Response) -> (StatusCode, bool, String) {
    let replayed = res
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true");
    (res.status(), replayed, res.text().await.expect("body"))
}

async fn bid_count(app: &TestApp, lot: &str) -> i64 {
    app.lot(lot, None).await["bid_count"]
        .as_i64()
        .expect("count")
}

#[actix_web::test]
async fn a_retry_gets_the_first_answer_and_another_request_under_the_key_is_refused() {
    let app = spawn_app().await;
    let (admin, seller, bea) = app.cast().await;
    let bob = app.user("bob", "bidder").await;
    let lot = app.open_lot(&seller, &admin, 1000, None, 3600).await;

    let first = read(keyed_bid(&app, &bea, &lot, 1500, "order-1").await).await;
    assert_eq!((first.0, first.1), (StatusCode::CREATED, false));
    // Someone else bids meanwhile: the replay is still the first answer, word for word.
    assert_eq!(
        app.bid(&bob, &lot, 2000).await.status(),
        StatusCode::CREATED
    );
    let again = read(keyed_bid(&app, &bea, &lot, 1500, "order-1").await).await;
    assert_eq!(again, (StatusCode::CREATED, true, first.2.clone()));
    assert_eq!(bid_count(&app, &lot).await, 2);

    let res = keyed_bid(&app, &bea, &lot, 2500, "order-1").await;
    let (status, code, _) = error_code(res).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused")
    );
    // Keys of different users never collide.
    let bobs = read(keyed_bid(&app, &bob, &lot, 2500, "order-1").await).await;
    assert_eq!((bobs.0, bobs.1), (StatusCode::CREATED, false));
    assert_eq!(bid_count(&app, &lot).await, 3);

    for bad in ["", "has space", &"k".repeat(256)] {
        let res = keyed_bid(&app, &bea, &lot, 9000, bad).await;
        let (status, code, _) = error_code(res).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_idempotency_key"),
            "{bad:?}"
        );
    }
    assert_eq!(bid_count(&app, &lot).await, 3);
}

/// Twenty copies of one request sent at once, while another bidder bids: one bid, one first
/// answer, nineteen replays of it.
#[actix_web::test]
async fn copies_arriving_at_once_place_one_bid() {
    let app = spawn_app().await;
    let (admin, seller, bea) = app.cast().await;
    let bob = app.user("bob", "bidder").await;
    let lot = app.open_lot(&seller, &admin, 1000, None, 3600).await;
    let other_lot = app.open_lot(&seller, &admin, 1000, None, 3600).await;
    for round in 0..5 {
        let key = format!("burst-{round}");
        let amount = 10_000 * (round + 1);
        let copies = (0..20).map(|_| keyed_bid(&app, &bea, &lot, amount, &key));
        let (answers, other) = tokio::join!(
            futures_util::future::join_all(copies),
            app.bid(&bob, &other_lot, amount)
        );
        let mut bodies = Vec::new();
        for res in answers {
            bodies.push(read(res).await);
        }
        let firsts: Vec<_> = bodies.iter().filter(|(_, replayed, _)| !replayed).collect();
        assert_eq!(firsts.len(), 1, "round {round}: exactly one first answer");
        for (status, _, body) in &bodies {
            assert_eq!(*status, StatusCode::CREATED, "{body}");
            assert_eq!(body, &firsts[0].2, "every copy gets the first answer");
        }
        assert_eq!(other.status(), StatusCode::CREATED);
    }
    let bids: Value = app
        .get_json(&format!("/api/v1/lots/{lot}/bids"), None)
        .await
        .json()
        .await
        .expect("bids");
    let beas = bids["bids"]
        .as_array()
        .expect("list")
        .iter()
        .filter(|b| b["bidder"]["username"] == "bea")
        .count();
    assert_eq!(beas, 5, "one bid per key");
}

/// The first answer is stored with the bid: a retry after a restart still finds it, and the
/// bid form's hidden key makes a form sent twice one bid.
#[actix_web::test]
async fn the_first_answer_survives_a_restart_and_the_form_sends_its_key() {
    let app = spawn_with(Options {
        manual_clock: true,
        ..Options::default()
    })
    .await;
    let (admin, seller, bea) = app.cast().await;
    let lot = app.open_lot(&seller, &admin, 1000, None, 3 * 86_400).await;
    let first = read(keyed_bid(&app, &bea, &lot, 1500, "before-restart").await).await;
    assert_eq!(first.0, StatusCode::CREATED);

    let app = app.restart_after(|| {}).await;
    let bea = app.token("bea", "correct horse").await;
    let again = read(keyed_bid(&app, &bea, &lot, 1500, "before-restart").await).await;
    assert_eq!(again, (StatusCode::CREATED, true, first.2));
    assert_eq!(bid_count(&app, &lot).await, 1);

    // The form: the same rendered page sent twice is one bid.
    let browser = app.login_browser("bea").await;
    let (_, html) = app.page(&browser, &format!("/lots/{lot}")).await;
    let marker = "name=\"idempotency_key\" value=\"";
    let start = html.find(marker).expect("the form has a key") + marker.len();
    let key = html[start..start + html[start..].find('"').expect("end")].to_owned();
    let csrf = csrf_of(&html);
    for _ in 0..2 {
        let res = browser
            .post(app.url(&format!("/lots/{lot}/bid")))
            .form(&[
                ("csrf", csrf.as_str()),
                ("amount", "20"),
                ("idempotency_key", &key),
            ])
            .send()
            .await
            .expect("posted");
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
    }
    assert_eq!(bid_count(&app, &lot).await, 2);
    let (_, html2) = app.page(&browser, &format!("/lots/{lot}")).await;
    assert!(!html2.contains(&key), "each render has a fresh key");

    // Kept 24 hours: a day later the key is free again, in this run as after a restart.
    let same_run = read(keyed_bid(&app, &bea, &lot, 3000, "same-run").await).await;
    assert_eq!(same_run.0, StatusCode::CREATED);
    app.clock.advance(chrono::Duration::hours(25));
    let later = read(keyed_bid(&app, &bea, &lot, 5000, "before-restart").await).await;
    assert_eq!((later.0, later.1), (StatusCode::CREATED, false));
    let same_run = read(keyed_bid(&app, &bea, &lot, 6000, "same-run").await).await;
    assert_eq!((same_run.0, same_run.1), (StatusCode::CREATED, false));
    assert_eq!(bid_count(&app, &lot).await, 5);
}
