//! Proxy bidding (API.md §6) and an admin's removal of a bid (§3a), through the real server.

use crate::helpers::{TestApp, error_code, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn ask(app: &TestApp, token: &str, lot: &str, body: Value) -> (StatusCode, Value) {
    let res = app
        .post_json(&format!("/api/v1/lots/{lot}/bids"), Some(token), body)
        .await;
    let status = res.status();
    (status, res.json().await.expect("json"))
}

/// A server with an admin, a seller `sam`, bidders `bea` and `rex` (their tokens), and an open
/// lot starting at 10.00.
async fn two_bidders(reserve: Option<i64>) -> (TestApp, String, String, String, String, String) {
    let app = spawn_app().await;
    let (admin, seller, bea) = app.cast().await;
    let rex = app.user("rex", "bidder").await;
    let lot = app.open_lot(&seller, &admin, 1_000, reserve, 3_600).await;
    (app, admin, seller, bea, rex, lot)
}

/// (bidder, amount, proxy), newest first.
async fn history(app: &TestApp, lot: &str) -> Vec<(String, i64, bool)> {
    let body: Value = app
        .get_json(&format!("/api/v1/lots/{lot}/bids"), None)
        .await
        .json()
        .await
        .expect("json");
    body["bids"]
        .as_array()
        .expect("bids")
        .iter()
        .map(|b| {
            (
                b["bidder"]["username"].as_str().unwrap_or("").to_owned(),
                b["amount_cents"].as_i64().unwrap_or(0),
                b["proxy"].as_bool().expect("proxy flag"),
            )
        })
        .collect()
}

fn shown(list: &[(&str, i64, bool)]) -> Vec<(String, i64, bool)> {
    list.iter()
        .map(|(w, a, p)| ((*w).to_owned(), *a, *p))
        .collect()
}

/// Every event of the lot so far, from a long poll.
async fn events(app: &TestApp, lot: &str) -> Vec<Value> {
    let body: Value = app
        .get_json(&format!("/lots/{lot}/poll?after=0&timeout=1"), None)
        .await
        .json()
        .await
        .expect("json");
    body["events"].as_array().cloned().unwrap_or_default()
}

#[actix_web::test]
async fn the_example_of_section_6_through_the_api() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let seller = app.user("sam", "seller").await;
    let (ann, ben, cat) = (
        app.user("ann", "bidder").await,
        app.user("ben", "bidder").await,
        app.user("cat", "bidder").await,
    );
    let lot = app.open_lot(&seller, &admin, 1_000, None, 3_600).await;

    let (status, answer) = ask(
        &app,
        &ann,
        &lot,
        json!({"amount_cents": 1_000, "max_cents": 10_000}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(answer["bid"]["proxy"], false);
    assert_eq!(
        answer["lot"]["my_max_cents"], 10_000,
        "the bidder sees their maximum"
    );

    let (status, answer) = ask(&app, &ben, &lot, json!({"amount_cents": 5_000})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(answer["bid"]["amount_cents"], 5_000);
    assert_eq!(answer["lot"]["current_price_cents"], 5_100);
    assert_eq!(answer["lot"]["leader"]["username"], "ann");

    let (status, answer) = ask(
        &app,
        &ben,
        &lot,
        json!({"amount_cents": 5_200, "max_cents": 20_000}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        (&answer["bid"]["amount_cents"], &answer["bid"]["proxy"]),
        (&json!(10_250), &json!(true)),
        "Ben's own bid is the one the site placed for him"
    );

    let (status, answer) = ask(
        &app,
        &cat,
        &lot,
        json!({"amount_cents": 10_500, "max_cents": 20_000}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        answer["bid"]["amount_cents"], 20_000,
        "outbid at once: her bid at her maximum"
    );
    assert_eq!(answer["lot"]["leader"]["username"], "ben");
    assert_eq!(answer["lot"]["current_price_cents"], 20_000);

    assert_eq!(
        history(&app, &lot).await,
        shown(&[
            ("ben", 20_000, true),
            ("cat", 20_000, true),
            ("ben", 10_250, true),
            ("ann", 10_000, true),
            ("ann", 5_100, true),
            ("ben", 5_000, false),
            ("ann", 1_000, false),
        ])
    );
    let lot_json = app.lot(&lot, None).await;
    assert_eq!(lot_json["bid_count"], 7);
    // Each bid shown is its own event, in order, each carrying its bid.
    let bids: Vec<i64> = events(&app, &lot)
        .await
        .iter()
        .filter(|e| e["type"] == "bid")
        .filter_map(|e| e["bid"]["amount_cents"].as_i64())
        .collect();
    assert_eq!(
        bids,
        vec![1_000, 5_000, 5_100, 10_000, 10_250, 20_000, 20_000]
    );
}

#[actix_web::test]
async fn a_maximum_is_shown_to_its_bidder_alone() {
    let (app, admin, seller, bea, rex, lot) = two_bidders(None).await;
    let (status, _) = ask(
        &app,
        &bea,
        &lot,
        json!({"amount_cents": 1_000, "max_cents": 77_700}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    assert_eq!(app.lot(&lot, Some(&bea)).await["my_max_cents"], 77_700);
    for (who, token) in [
        ("anyone", None),
        ("another bidder", Some(rex.as_str())),
        ("the seller", Some(seller.as_str())),
        ("an admin", Some(admin.as_str())),
    ] {
        let seen = app.lot(&lot, token).await;
        assert!(seen.get("my_max_cents").is_none(), "{who}: {seen}");
        let text = seen.to_string();
        assert!(!text.contains("77700"), "{who} sees the maximum: {text}");
    }
    for list in ["/api/v1/lots", "/api/v1/lots?status=open"] {
        let text = app
            .get_json(list, Some(&rex))
            .await
            .text()
            .await
            .expect("text");
        assert!(!text.contains("77700"), "{list}: {text}");
    }
    let poll = app
        .get_json(&format!("/lots/{lot}/poll?after=0&timeout=1"), Some(&bea))
        .await
        .text()
        .await
        .expect("text");
    assert!(!poll.contains("77700"), "events are public: {poll}");
    let history = app
        .get_json(&format!("/api/v1/lots/{lot}/bids"), None)
        .await
        .text()
        .await
        .expect("text");
    assert!(!history.contains("77700"), "{history}");

    // Pages: the owner sees #my-max; another bidder's page does not hold the figure.
    let own = app.login_browser("bea").await;
    let (_, html) = app.page(&own, &format!("/lots/{lot}")).await;
    assert!(html.contains("id=\"my-max\""), "the owner's page shows it");
    assert!(html.contains("777.00"), "{html}");
    let other = app.login_browser("rex").await;
    let (_, html) = app.page(&other, &format!("/lots/{lot}")).await;
    assert!(!html.contains("id=\"my-max\"") && !html.contains("777.00"));
}

#[actix_web::test]
async fn the_leader_raises_a_maximum_alone_and_bad_maxima_are_refused() {
    let (app, _, _, bea, rex, lot) = two_bidders(None).await;
    let (status, body) = ask(
        &app,
        &bea,
        &lot,
        json!({"amount_cents": 2_000, "max_cents": 1_999}),
    )
    .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("invalid_max"))
    );
    ask(
        &app,
        &bea,
        &lot,
        json!({"amount_cents": 1_000, "max_cents": 3_000}),
    )
    .await;
    ask(&app, &rex, &lot, json!({"amount_cents": 1_500})).await;
    assert_eq!(app.lot(&lot, None).await["current_price_cents"], 1_550);

    let (status, body) = ask(&app, &bea, &lot, json!({"max_cents": 9_000})).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a maximum alone shows no bid: {body}"
    );
    assert_eq!(body["bid"], Value::Null);
    assert_eq!(body["lot"]["my_max_cents"], 9_000);
    assert_eq!(body["lot"]["current_price_cents"], 1_550, "the price stays");
    assert_eq!(body["lot"]["bid_count"], 3);

    for (token, body, why) in [
        (&bea, json!({"max_cents": 9_000}), "not above her maximum"),
        (&rex, json!({"max_cents": 99_000}), "not the leader"),
        (&bea, json!({"max_cents": 0}), "not an amount"),
    ] {
        let (status, answer) = ask(&app, token, &lot, body).await;
        assert_eq!(
            (status, &answer["error"]["code"]),
            (StatusCode::UNPROCESSABLE_ENTITY, &json!("invalid_max")),
            "{why}: {answer}"
        );
    }
    // Rex needs more than 90.00 now; the site answers for Bea at once.
    let (status, answer) = ask(&app, &rex, &lot, json!({"amount_cents": 5_000})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(answer["lot"]["leader"]["username"], "bea");
    assert_eq!(answer["lot"]["current_price_cents"], 5_100);
}

#[actix_web::test]
async fn maxima_survive_a_restart() {
    let (app, _, _, bea, rex, lot) = two_bidders(None).await;
    ask(
        &app,
        &bea,
        &lot,
        json!({"amount_cents": 1_000, "max_cents": 8_000}),
    )
    .await;

    let app = app.restart_after(|| {}).await;
    assert_eq!(app.lot(&lot, Some(&bea)).await["my_max_cents"], 8_000);
    let (status, answer) = ask(&app, &rex, &lot, json!({"amount_cents": 4_000})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        (
            &answer["lot"]["leader"]["username"],
            &answer["lot"]["current_price_cents"]
        ),
        (&json!("bea"), &json!(4_100)),
        "the maximum still answers after a restart"
    );
}

#[actix_web::test]
async fn an_admin_removes_a_bid_and_the_lot_is_replayed() {
    let (app, admin, seller, bea, rex, lot) = two_bidders(None).await;
    ask(&app, &bea, &lot, json!({"amount_cents": 1_000})).await;
    let (_, fraud) = ask(
        &app,
        &rex,
        &lot,
        json!({"amount_cents": 1_100, "max_cents": 900_000}),
    )
    .await;
    ask(&app, &bea, &lot, json!({"amount_cents": 5_000})).await;
    assert_eq!(app.lot(&lot, None).await["current_price_cents"], 5_100);
    let fraud_bid = fraud["bid"]["id"].as_str().expect("bid id").to_owned();
    let last_event = app.lot(&lot, None).await["last_event_id"]
        .as_i64()
        .unwrap_or(0);

    let path = format!("/api/v1/lots/{lot}/bids/{fraud_bid}");
    for (token, status) in [(None, 401), (Some(&bea), 403), (Some(&seller), 403)] {
        let mut req = app.api.delete(app.url(&path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("answered");
        assert_eq!(res.status().as_u16(), status);
    }
    let res = app
        .api
        .delete(app.url(&path))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("answered");
    assert_eq!(res.status(), StatusCode::OK);
    let after: Value = res.json().await.expect("json");
    assert_eq!(after["current_price_cents"], 5_000, "as if Rex never bid");
    assert_eq!(after["leader"]["username"], "bea");
    assert_eq!(after["bid_count"], 2);
    assert_eq!(
        history(&app, &lot).await,
        shown(&[("bea", 5_000, false), ("bea", 1_000, false)])
    );
    assert!(
        app.lot(&lot, Some(&rex))
            .await
            .get("my_max_cents")
            .is_none()
    );

    // Watchers learn it from one event carrying the new lot.
    let tail: Vec<Value> = events(&app, &lot)
        .await
        .into_iter()
        .filter(|e| e["id"].as_i64().unwrap_or(0) > last_event)
        .collect();
    assert_eq!(tail.len(), 1, "{tail:?}");
    assert_eq!(tail[0]["type"], "bid_removed");
    assert_eq!(tail[0]["lot"]["current_price_cents"], 5_000);

    // The removed bid is gone: removing it again is 404, as is a bid of another lot.
    let again = app
        .api
        .delete(app.url(&path))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("answered");
    assert_eq!(error_code(again).await.0, StatusCode::NOT_FOUND);

    // Durable: a restart shows the replayed lot, and bidding goes on from it.
    let app = app.restart_after(|| {}).await;
    assert_eq!(app.lot(&lot, None).await["current_price_cents"], 5_000);
    assert_eq!(history(&app, &lot).await.len(), 2);
    let (status, answer) = ask(&app, &rex, &lot, json!({"amount_cents": 5_100})).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["lot"]["leader"]["username"], "rex");
    assert_eq!(history(&app, &lot).await.len(), 3);
}

#[actix_web::test]
async fn the_page_takes_a_maximum_and_shows_the_reserve() {
    let app = spawn_app().await;
    let (admin, seller, _) = app.cast().await;
    let rex = app.user("rex", "bidder").await;
    let lot = app
        .open_lot(&seller, &admin, 1_000, Some(4_000), 3_600)
        .await;
    let bea = app.login_browser("bea").await;
    let page = format!("/lots/{lot}");
    let (_, html) = app.page(&bea, &page).await;
    assert!(html.contains("id=\"reserve-status\""));
    assert!(html.contains("Reserve not met"));
    assert!(
        html.contains("name=\"max\""),
        "the form has a \"bid up to\" field"
    );

    let bid = |amount: &'static str, max: &'static str| {
        let (app, bea, page) = (&app, &bea, page.clone());
        async move {
            let res = app
                .submit(
                    bea,
                    &page,
                    &format!("{page}/bid"),
                    &[("amount", amount), ("max", max)],
                )
                .await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
            res.headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        }
    };
    assert_eq!(
        bid("10,00", "30.00").await,
        format!("{page}?notice=leading")
    );
    let (_, html) = app.page(&bea, &page).await;
    assert!(html.contains("id=\"my-max\""));
    assert!(html.contains("Reserve not met"));

    // Rex is answered from Bea's maximum at once.
    ask(&app, &rex, &lot, json!({"amount_cents": 2_000})).await;
    assert_eq!(app.lot(&lot, None).await["current_price_cents"], 2_050);
    let (_, html) = app.page(&bea, &page).await;
    assert!(
        html.contains("data-proxy=\"true\""),
        "proxy bids are marked"
    );

    // Her maximum raised alone past the reserve: the price jumps to the reserve (§6 rule 2).
    assert_eq!(bid("", "90").await, format!("{page}?notice=leading"));
    let lot_json = app.lot(&lot, None).await;
    assert_eq!(lot_json["current_price_cents"], 4_000);
    assert_eq!(lot_json["reserve_met"], true);
    let (_, html) = app.page(&bea, &page).await;
    assert!(html.contains("Reserve met"));
    // Raised again: nothing shows, the price stays.
    assert_eq!(bid("", "95").await, format!("{page}?notice=max"));
    assert_eq!(app.lot(&lot, None).await["current_price_cents"], 4_000);
    assert_eq!(
        app.lot(&lot, Some(&rex)).await["my_max_cents"],
        2_000,
        "Rex sees his own maximum, never hers"
    );
    let rex_page = app.login_browser("rex").await;
    let (_, html) = app.page(&rex_page, &page).await;
    assert!(
        html.contains("class=\"beaten\">€20.00 (outbid)"),
        "a beaten maximum says so"
    );
    // A typo in the maximum is refused with the form kept.
    let res = app
        .submit(
            &bea,
            &page,
            &format!("/lots/{lot}/bid"),
            &[("amount", "60"), ("max", "1e3")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let html = res.text().await.expect("text");
    assert!(html.contains("value=\"1e3\""), "what was typed stays");
}

#[actix_web::test]
async fn an_admin_removes_a_bid_from_the_lot_page() {
    let app = spawn_app().await;
    let (admin, seller, bea) = app.cast().await;
    let lot = app.open_lot(&seller, &admin, 1_000, None, 3_600).await;
    let _ = admin;
    let (_, placed) = ask(&app, &bea, &lot, json!({"amount_cents": 1_000})).await;
    let bid = placed["bid"]["id"].as_str().expect("id").to_owned();
    let page = format!("/lots/{lot}");

    let bidder_page = app.login_browser("bea").await;
    let (_, html) = app.page(&bidder_page, &page).await;
    assert!(
        !html.contains("data-role=\"remove-bid\""),
        "bidders get no button"
    );
    let root = app.login_browser("root").await;
    let (_, html) = app.page(&root, &page).await;
    assert!(html.contains("data-role=\"remove-bid\""));
    let res = app
        .submit(&root, &page, &format!("/lots/{lot}/bids/{bid}/remove"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let lot_json = app.lot(&lot, None).await;
    assert_eq!(lot_json["bid_count"], 0);
    assert_eq!(lot_json["current_price_cents"], Value::Null);
    assert_eq!(lot_json["leader"], Value::Null);
}
