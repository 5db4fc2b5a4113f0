//! Sales (API.md §8): lots approved into a sale wait, numbered, open together at its start and
//! close one stagger apart, each with its own soft close; starts are kept across restarts.

use crate::helpers::{Options, TestApp, error_code, fixed_start, spawn_with};
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn at(secs: i64) -> String {
    (fixed_start() + Duration::seconds(secs)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

async fn sale(app: &TestApp, admin: &str, start: i64, first_close: i64, stagger: i64) -> String {
    let res = app
        .post_json(
            "/api/v1/sales",
            Some(admin),
            json!({"title": "Winter sale", "description": "Clocks and lamps.",
                "starts_at": at(start), "first_close_at": at(first_close), "stagger_secs": stagger}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["status"], "scheduled");
    assert_eq!(body["lot_count"], 0);
    body["id"].as_str().expect("id").to_owned()
}

async fn approve_into(app: &TestApp, admin: &str, lot: &str, sale: &str) -> reqwest::Response {
    app.post_json(
        &format!("/api/v1/lots/{lot}/approve"),
        Some(admin),
        json!({ "sale_id": sale }),
    )
    .await
}

/// A pending offer approved into the sale; returns its id.
async fn lot_in(app: &TestApp, (seller, admin): (&str, &str), sale: &str, number: i64) -> String {
    let offer = app.offer(seller, 1_000, None, 600).await;
    let id = offer["id"].as_str().expect("id").to_owned();
    let res = approve_into(app, admin, &id, sale).await;
    assert_eq!(res.status(), StatusCode::OK);
    let lot: Value = res.json().await.expect("json");
    assert_eq!(lot["status"], "scheduled");
    assert_eq!(lot["lot_number"], number);
    assert_eq!(lot["sale"]["id"], sale);
    assert_eq!(lot["ends_at"], Value::Null);
    id
}

async fn wait_status(app: &TestApp, lot: &str, status: &str) -> Value {
    for _ in 0..100 {
        let l = app.lot(lot, None).await;
        if l["status"] == status {
            return l;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("{lot} never became {status}: {}", app.lot(lot, None).await);
}

async fn count(app: &TestApp, kind: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE kind = ?")
        .bind(kind)
        .fetch_one(&app.store.pool)
        .await
        .expect("count")
}

#[actix_web::test]
async fn a_sales_lots_open_together_and_close_a_stagger_apart_each_with_its_own_soft_close() {
    let app = spawn_with(Options {
        manual_clock: true,
        soft_close_secs: 120,
        ..Options::default()
    })
    .await;
    let (admin, seller, bea) = app.cast().await;
    let who = (seller.as_str(), admin.as_str());
    let sale = sale(&app, &admin, 60, 600, 60).await;
    let lots = [
        lot_in(&app, who, &sale, 1).await,
        lot_in(&app, who, &sale, 2).await,
        lot_in(&app, who, &sale, 3).await,
    ];
    let (code, error, _) = error_code(app.bid(&bea, &lots[0], 1_000).await).await;
    assert_eq!(
        (code, error.as_str()),
        (StatusCode::CONFLICT, "lot_not_open")
    );
    let listed: Value = app
        .get_json("/api/v1/sales", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed["sales"][0]["lot_count"], 3);

    let other = app.open_lot(&seller, &admin, 500, None, 3_600).await;
    app.clock.advance(Duration::seconds(60));
    let first = wait_status(&app, &lots[0], "open").await;
    assert_eq!(first["ends_at"], at(600));
    assert_eq!(app.lot(&lots[1], None).await["ends_at"], at(660));
    assert_eq!(app.lot(&lots[2], None).await["ends_at"], at(720));
    let shown: Value = app
        .get_json(&format!("/api/v1/sales/{sale}"), None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(shown["status"], "live");
    let numbers: Vec<i64> = shown["lots"]
        .as_array()
        .expect("lots")
        .iter()
        .map(|l| l["lot_number"].as_i64().expect("n"))
        .collect();
    assert_eq!(numbers, [1, 2, 3]);

    // Too late to add a lot.
    let late = app.offer(&seller, 1_000, None, 600).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (code, error, _) = error_code(approve_into(&app, &admin, &late, &sale).await).await;
    assert_eq!(
        (code, error.as_str()),
        (StatusCode::CONFLICT, "sale_started")
    );
    assert_eq!(
        app.lot(&late, Some(&admin)).await["status"],
        "pending",
        "left as it was"
    );

    // The sale's stream carries its lots' events and no other's.
    app.bid(&bea, &other, 500).await;
    let polled: Value = app
        .get_json(&format!("/poll?sale={sale}&after=0"), None)
        .await
        .json()
        .await
        .expect("json");
    let evs = polled["events"].as_array().expect("events");
    assert_eq!(evs.len(), 3);
    assert!(
        evs.iter().all(|e| e["type"] == "opened"
            && lots.contains(&e["lot_id"].as_str().expect("id").to_owned()))
    );

    // Lot 1 closes at its time; a late bid extends lot 2 past lot 3, which keeps its own end.
    app.clock.advance(Duration::seconds(540)); // 12:10:00
    wait_status(&app, &lots[0], "closed").await;
    app.clock.advance(Duration::seconds(30));
    assert_eq!(
        app.bid(&bea, &lots[1], 1_000).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(app.lot(&lots[1], None).await["ends_at"], at(750));
    assert_eq!(app.lot(&lots[2], None).await["ends_at"], at(720));
    app.clock.advance(Duration::seconds(90)); // 12:12:00
    let third = wait_status(&app, &lots[2], "closed").await;
    assert_eq!(third["closed_at"], at(720));
    assert_eq!(app.lot(&lots[1], None).await["status"], "open");
    app.clock.advance(Duration::seconds(30)); // 12:12:30
    let second = wait_status(&app, &lots[1], "closed").await;
    assert_eq!(second["closed_at"], at(750));
    assert_eq!(second["winner"]["username"], "bea");
    assert_eq!(app.lot(&lots[0], None).await["closed_at"], at(600));

    let shown: Value = app
        .get_json(&format!("/api/v1/sales/{sale}"), None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(shown["status"], "closed");
    let listed: Value = app
        .get_json("/api/v1/sales", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        listed["sales"],
        json!([]),
        "a closed sale is no longer listed"
    );
    app.clock.advance(Duration::seconds(3_600));
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(
        count(&app, "opened").await,
        4,
        "three sale lots and the other lot, once each"
    );
    assert_eq!(count(&app, "closed").await, 4, "and each closed once");
}

#[actix_web::test]
async fn a_sale_opens_after_a_restart_and_at_start_up_when_its_start_passed_meanwhile() {
    let app = spawn_with(Options {
        manual_clock: true,
        ..Options::default()
    })
    .await;
    let (admin, seller, _) = app.cast().await;
    let who = (seller.as_str(), admin.as_str());
    let soon = sale(&app, &admin, 60, 3_600, 30).await;
    let a = lot_in(&app, who, &soon, 1).await;
    let b = lot_in(&app, who, &soon, 2).await;
    let later = sale(&app, &admin, 600, 7_200, 30).await;
    let c = lot_in(&app, who, &later, 1).await;

    // Restarted before the start: the new server still knows the sale, and opens it on time.
    let app = app.restart_after(|| {}).await;
    assert_eq!(app.lot(&a, None).await["status"], "scheduled");
    app.clock.advance(Duration::seconds(60));
    assert_eq!(wait_status(&app, &b, "open").await["ends_at"], at(3_630));
    assert_eq!(app.lot(&c, None).await["status"], "scheduled");
    // Numbering goes on where it was.
    let d = lot_in(&app, who, &later, 2).await;

    // Down across the second sale's start: it opens as the server starts.
    let clock = app.clock.clone();
    let app = app
        .restart_after(|| clock.advance(Duration::seconds(1_000)))
        .await;
    let opened = app.lot(&c, None).await;
    assert_eq!(opened["status"], "open", "opened at start-up");
    assert_eq!(opened["ends_at"], at(7_200));
    assert_eq!(app.lot(&d, None).await["ends_at"], at(7_230));
    let app = app.restart_after(|| {}).await;
    assert_eq!(count(&app, "opened").await, 4, "each lot opened once");
    let listed: Value = app
        .get_json("/api/v1/sales", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed["sales"].as_array().expect("sales").len(), 2);
    assert!(
        listed["sales"]
            .as_array()
            .expect("sales")
            .iter()
            .all(|s| s["status"] == "live")
    );
}

#[actix_web::test]
async fn sales_are_checked_and_made_by_admins() {
    let app = spawn_with(Options {
        manual_clock: true,
        ..Options::default()
    })
    .await;
    let (admin, seller, _) = app.cast().await;
    for (body, field) in [
        (
            json!({"title": "S", "starts_at": at(-10), "first_close_at": at(100), "stagger_secs": 60}),
            "starts_at",
        ),
        (
            json!({"title": "S", "starts_at": at(100), "first_close_at": at(100), "stagger_secs": 60}),
            "first_close_at",
        ),
        (
            json!({"title": "S", "starts_at": "tomorrow", "first_close_at": at(100)}),
            "starts_at",
        ),
        (
            json!({"title": "S", "starts_at": at(10), "first_close_at": at(100), "stagger_secs": -5}),
            "stagger_secs",
        ),
        (
            json!({"title": "", "starts_at": at(10), "first_close_at": at(100)}),
            "title",
        ),
    ] {
        let (code, _, error) =
            error_code(app.post_json("/api/v1/sales", Some(&admin), body).await).await;
        assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert_eq!(error["error"]["field"], field);
    }
    let (code, _, _) = error_code(
        app.post_json(
            "/api/v1/sales",
            Some(&seller),
            json!({"title": "S", "starts_at": at(10), "first_close_at": at(100)}),
        )
        .await,
    )
    .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    let offer = app.offer(&seller, 1_000, None, 600).await;
    let id = offer["id"].as_str().expect("id");
    let nil = uuid::Uuid::nil().to_string();
    let (code, error, _) = error_code(approve_into(&app, &admin, id, &nil).await).await;
    assert_eq!(
        (code, error.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_sale")
    );
    let missing = app.get_json(&format!("/api/v1/sales/{nil}"), None).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}
