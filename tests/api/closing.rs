use crate::helpers::{Options, spawn_app, spawn_with};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::time::Duration;

/// Polls the lot until it reaches `status` (or gives up after `tries` × `every`).
async fn wait_for_status(
    app: &crate::helpers::TestApp,
    id: &str,
    status: &str,
    tries: u32,
    every: Duration,
) -> Value {
    let mut lot = app.lot(id, None).await;
    for _ in 0..tries {
        if lot["status"] == status {
            break;
        }
        tokio::time::sleep(every).await;
        lot = app.lot(id, None).await;
    }
    lot
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().and_then(|s| s.parse().ok()).expect("a time")
}

#[actix_web::test]
async fn a_two_second_lot_closes_by_itself_on_time() {
    // Soft close off, or the bid below would extend this short lot.
    let app = spawn_with(Options {
        soft_close_secs: 0,
        ..Options::default()
    })
    .await;
    let (admin, seller, bea) = app.cast().await;
    let id = app.open_lot(&seller, &admin, 500, None, 2).await;
    assert_eq!(
        app.bid(&bea, &id, 500).await.status(),
        reqwest::StatusCode::CREATED
    );

    let lot = wait_for_status(&app, &id, "closed", 40, Duration::from_millis(100)).await;
    assert_eq!(lot["status"], "closed");
    assert_eq!(lot["winner"]["username"], "bea");
    assert_eq!(lot["final_price_cents"], 500);
    let late = time(&lot["closed_at"]) - time(&lot["ends_at"]);
    assert!(late >= chrono::Duration::zero(), "not early");
    assert!(
        late < chrono::Duration::seconds(1),
        "closed {late} after the end"
    );
}

#[actix_web::test]
async fn the_clock_closes_after_a_soft_close_extension_and_only_once() {
    let app = spawn_with(Options {
        manual_clock: true,
        soft_close_secs: 120,
        ..Options::default()
    })
    .await;
    let (admin, seller, bea) = app.cast().await;
    let id = app.open_lot(&seller, &admin, 1_000, Some(900), 600).await;
    app.clock.advance(chrono::Duration::seconds(590));
    app.bid(&bea, &id, 1_000).await;
    app.clock.advance(chrono::Duration::seconds(20)); // past the first end, before the new one
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.lot(&id, None).await["status"], "open");
    app.clock.advance(chrono::Duration::seconds(100)); // exactly the new end
    let lot = wait_for_status(&app, &id, "closed", 20, Duration::from_millis(50)).await;
    assert_eq!(lot["status"], "closed");
    assert_eq!(lot["closed_at"], "2026-11-25T12:11:50.000Z");
    assert_eq!(lot["winner"]["username"], "bea");
    app.clock.advance(chrono::Duration::seconds(1000));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let closed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE kind = 'closed'")
        .fetch_one(&app.store.pool)
        .await
        .expect("count");
    assert_eq!(closed, 1, "closed once");
}

#[actix_web::test]
async fn reserve_not_met_closes_without_a_winner() {
    let app = spawn_with(Options {
        manual_clock: true,
        ..Options::default()
    })
    .await;
    let (admin, seller, bea) = app.cast().await;
    let id = app
        .open_lot(&seller, &admin, 1_000, Some(50_000), 600)
        .await;
    app.bid(&bea, &id, 1_000).await;
    app.clock.advance(chrono::Duration::seconds(600));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let lot = app.lot(&id, None).await;
    assert_eq!(lot["status"], "closed");
    assert_eq!(lot["winner"], Value::Null);
    assert_eq!(lot["final_price_cents"], Value::Null);
    assert_eq!(lot["reserve_met"], false);
}

#[actix_web::test]
async fn a_restarted_server_closes_lots_that_fell_due_while_it_was_down() {
    let app = spawn_with(Options {
        manual_clock: true,
        ..Options::default()
    })
    .await;
    let (admin, seller, bea) = app.cast().await;
    let due = app.open_lot(&seller, &admin, 1_000, None, 60).await;
    let later = app.open_lot(&seller, &admin, 1_000, None, 7_200).await;
    app.bid(&bea, &due, 1_200).await;
    app.bid(&bea, &later, 1_000).await;
    // The bid came within the soft-close window, so it moved the end: a change beyond bidding.
    let extended_end = app.lot(&due, None).await["ends_at"].clone();

    let clock = app.clock.clone();
    // Stop first, then move time: nothing runs while the server is down.
    let app = app
        .restart_after(|| clock.advance(chrono::Duration::seconds(3_600)))
        .await;
    let lot = app.lot(&due, None).await;
    assert_eq!(lot["status"], "closed", "closed at start");
    assert_eq!(
        lot["ends_at"], extended_end,
        "the extension was written, not only the bid"
    );
    assert_eq!(lot["winner"]["username"], "bea");
    assert_eq!(lot["closed_at"], "2026-11-25T13:00:00.000Z");
    // The bidding state written by the batch's one UPDATE for all bid-only lots survived.
    let open = app.lot(&later, None).await;
    assert_eq!(open["status"], "open");
    assert_eq!(open["current_price_cents"], 1_000);
    assert_eq!(open["bid_count"], 1);
    assert_eq!(open["leader"]["username"], "bea");
    // The open lot's page, served from the house's view, still lists the bid from before.
    let (_, html) = app.page(&app.browser(), &format!("/lots/{later}")).await;
    assert_eq!(html.matches("data-bid-id=").count(), 1);

    let events = app
        .store
        .events_after(Some(due.parse().expect("uuid")), 0, 100)
        .await
        .expect("events");
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    // The bid came within the soft-close window of a 60 s lot, so it extended the end.
    assert_eq!(
        kinds,
        ["opened", "bid", "extended", "closed"],
        "closed exactly once"
    );
    let last = &events[3];
    let data: Value = serde_json::from_str(&last.data).expect("stored JSON");
    assert_eq!(data["type"], "closed");
    assert_eq!(data["lot"]["winner"]["username"], "bea");
    assert_eq!(data["lot"]["last_event_id"], last.id);
    assert_eq!(data["seq"], 4);
}

#[actix_web::test]
async fn event_ids_increase_across_the_site_and_seq_per_lot() {
    let app = spawn_app().await;
    let (admin, seller, bea) = app.cast().await;
    let a = app.open_lot(&seller, &admin, 100, None, 600).await;
    let b = app.open_lot(&seller, &admin, 100, None, 600).await;
    app.bid(&bea, &a, 100).await;
    app.bid(&bea, &b, 100).await;
    app.bid(&bea, &a, 125).await;
    let all = app.store.events_after(None, 0, 100).await.expect("events");
    let ids: Vec<i64> = all.iter().map(|e| e.id).collect();
    assert_eq!(ids, [1, 2, 3, 4, 5]);
    let seq_a: Vec<i64> = all
        .iter()
        .filter(|e| e.lot_id.to_string() == a)
        .map(|e| e.seq)
        .collect();
    assert_eq!(seq_a, [1, 2, 3]);
    let bid: Value = serde_json::from_str(&all[4].data).expect("json");
    assert_eq!(bid["type"], "bid");
    assert_eq!(bid["bid"]["amount_cents"], 125);
    assert_eq!(bid["lot"]["current_price_cents"], 125);
    assert!(bid["at"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert_eq!(bid["lot"].get("reserve_cents"), None, "events are public");
}
