use crate::helpers::{Options, TestApp, error_code, spawn_app, spawn_with};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

#[actix_web::test]
async fn bids_follow_the_starting_price_and_increments() {
    let app = spawn_app().await;
    let (admin, seller, bea) = app.cast().await;
    let id = app.open_lot(&seller, &admin, 2_450, None, 3_600).await;

    let low = app.bid(&bea, &id, 2_449).await;
    let (status, code, body) = error_code(low).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "bid_too_low")
    );
    assert_eq!(body["error"]["min_next_bid_cents"], 2_450);
    assert_eq!(
        body["error"]["message"], "the bid is too low: at least €24.50 is needed",
        "in the site's currency, as the page says it"
    );

    let res = app.bid(&bea, &id, 2_450).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let placed: Value = res.json().await.expect("json");
    assert_eq!(placed["bid"]["amount_cents"], 2_450);
    assert_eq!(placed["bid"]["bidder"]["username"], "bea");
    assert_eq!(placed["bid"]["event_id"], 2);
    assert_eq!(placed["lot"]["current_price_cents"], 2_450);
    // 24.50 is under 25.00: the step is 0.50.
    assert_eq!(placed["lot"]["min_next_bid_cents"], 2_500);
    assert_eq!(placed["lot"]["leader"]["username"], "bea");

    // The leader may raise; at 25.00 the step becomes 1.00.
    assert_eq!(
        app.bid(&bea, &id, 2_500).await.status(),
        StatusCode::CREATED
    );
    let res = app.bid(&bea, &id, 2_599).await;
    assert_eq!(
        error_code(res).await.2["error"]["min_next_bid_cents"],
        2_600
    );
    let lot = app.lot(&id, None).await;
    assert_eq!(lot["bid_count"], 2);

    let history: Value = app
        .get_json(&format!("/api/v1/lots/{id}/bids"), None)
        .await
        .json()
        .await
        .expect("json");
    let amounts: Vec<i64> = history["bids"]
        .as_array()
        .expect("bids")
        .iter()
        .filter_map(|b| b["amount_cents"].as_i64())
        .collect();
    assert_eq!(amounts, vec![2_500, 2_450], "newest first");
    let capped: Value = app
        .get_json(&format!("/api/v1/lots/{id}/bids?limit=1"), None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(capped["bids"].as_array().map(Vec::len), Some(1));
}

#[actix_web::test]
async fn who_may_bid_and_what_is_a_valid_amount() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let seller = app.user("sam", "seller").await;
    let other_seller = app.user("sofia", "seller").await;
    let bea = app.user("bea", "bidder").await;
    let id = app.open_lot(&seller, &admin, 1_000, None, 3_600).await;

    let own = app.bid(&seller, &id, 5_000).await;
    assert_eq!(
        error_code(own).await.0,
        StatusCode::FORBIDDEN,
        "no bids on one's own lot"
    );
    let by_admin = app.bid(&admin, &id, 5_000).await;
    assert_eq!(error_code(by_admin).await.0, StatusCode::FORBIDDEN);
    let anonymous = app
        .post_json(
            &format!("/api/v1/lots/{id}/bids"),
            None,
            json!({"amount_cents": 5_000}),
        )
        .await;
    assert_eq!(error_code(anonymous).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.bid(&other_seller, &id, 1_000).await.status(),
        StatusCode::CREATED,
        "sellers bid on others' lots"
    );

    for body in [
        json!({"amount_cents": "12.50"}),
        json!({"amount_cents": 12.5}),
        json!({"amount_cents": -100}),
        json!({"amount_cents": 0}),
        json!({}),
    ] {
        let res = app
            .post_json(&format!("/api/v1/lots/{id}/bids"), Some(&bea), body.clone())
            .await;
        let (status, code, _) = error_code(res).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::BAD_REQUEST, "invalid_amount"),
            "{body}"
        );
    }

    let pending = app.offer(&seller, 100, None, 60).await;
    let res = app
        .bid(&bea, pending["id"].as_str().expect("id"), 100)
        .await;
    let (status, code, _) = error_code(res).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "lot_not_open")
    );
    let res = app
        .bid(&bea, "01900000-0000-7000-8000-000000000000", 100)
        .await;
    assert_eq!(error_code(res).await.0, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn soft_close_moves_the_end_and_logs_an_extended_event() {
    let app = spawn_with(Options {
        manual_clock: true,
        soft_close_secs: 60,
        ..Options::default()
    })
    .await;
    let (admin, seller, bea) = app.cast().await;
    let id = app.open_lot(&seller, &admin, 1_000, None, 300).await;
    let ends = app.lot(&id, None).await["ends_at"].clone();
    assert_eq!(ends, "2026-11-25T12:05:00.000Z");

    app.clock.advance(chrono::Duration::seconds(100));
    let early: Value = app.bid(&bea, &id, 1_000).await.json().await.expect("json");
    assert_eq!(early["lot"]["ends_at"], ends, "far from the end: no change");

    app.clock.advance(chrono::Duration::seconds(170)); // 30 s before the end
    let late: Value = app.bid(&bea, &id, 1_050).await.json().await.expect("json");
    assert_eq!(
        late["lot"]["ends_at"], "2026-11-25T12:05:30.000Z",
        "accept time + 60 s"
    );
    let kinds: Vec<String> = app
        .store
        .events_after(Some(id.parse().expect("uuid")), 0, 100)
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["opened", "bid", "bid", "extended"]);

    // Past the old end but before the new one, bids are still accepted.
    app.clock.advance(chrono::Duration::seconds(45));
    assert_eq!(
        app.bid(&bea, &id, 1_100).await.status(),
        StatusCode::CREATED
    );
}

#[actix_web::test]
async fn bids_after_the_end_are_refused() {
    let app = spawn_with(Options {
        manual_clock: true,
        soft_close_secs: 0,
        ..Options::default()
    })
    .await;
    let (admin, seller, bea) = app.cast().await;
    let id = app.open_lot(&seller, &admin, 1_000, None, 60).await;
    app.clock.advance(chrono::Duration::seconds(59));
    let last: Value = app.bid(&bea, &id, 1_000).await.json().await.expect("json");
    assert_eq!(
        last["lot"]["ends_at"], "2026-11-25T12:01:00.000Z",
        "soft close off"
    );
    app.clock.advance(chrono::Duration::seconds(1));
    let res = app.bid(&bea, &id, 5_000).await;
    let (status, code, _) = error_code(res).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "auction_ended")
    );
}

/// The house answers a bid only after it has synced the WAL itself: when the sync cannot
/// happen, the bid is not confirmed and nobody sees it.
#[actix_web::test]
async fn a_bid_is_not_confirmed_until_the_wal_is_synced() {
    let app = spawn_app().await;
    // The file the house syncs is taken away: the next sync cannot happen.
    let (id, bea, wal) = lot_with_a_synced_bid(&app).await;
    // A directory where the WAL was: the house cannot open it to sync, and no connection
    // can recreate the file there.
    replace_wal(&wal, |path| std::fs::create_dir(path).is_ok());
    let refused = app.bid(&bea, &id, 1_100).await;
    assert!(
        refused.status().is_server_error(),
        "an unsynced bid is not confirmed: {}",
        refused.status()
    );
    let lot = app.lot(&id, None).await;
    assert_eq!(lot["bid_count"], 1, "readers never saw the unsynced bid");
    assert_eq!(lot["current_price_cents"], 1_000);
    let (_, html) = app.page(&app.browser(), &format!("/lots/{id}")).await;
    assert_eq!(html.matches("data-bid-id=").count(), 1);
    // The house stopped rather than answer on a disk it cannot trust.
    let after = app.bid(&bea, &id, 1_200).await;
    assert_eq!(after.status(), StatusCode::SERVICE_UNAVAILABLE);
}

/// A refusal changes nothing, so it does not wait for the disk: while an accepted bid's sync
/// hangs (the WAL's path is a FIFO nobody reads), another bidder is refused at once, with the
/// minimum the house decided by; the accepted bid is still confirmed only by its sync.
#[actix_web::test]
async fn a_refusal_does_not_wait_for_the_disk() {
    let app = spawn_app().await;
    let bruno = app.user("bruno", "bidder").await;
    let (id, bea, wal) = lot_with_a_synced_bid(&app).await;
    replace_wal(&wal, |path| {
        std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .is_ok_and(|s| s.success())
    });
    let unblock = OpenOnDrop(wal);

    let accepted = bid_handed_to_the_writer(&app, &bea, &id, 1_100).await;
    let told = refused_at_once(&app, &bruno, &id, 1_100).await;
    assert!(
        told > 1_100,
        "refused by the house's state, bea's bid included: {told}"
    );
    assert!(
        !accepted.is_finished(),
        "the accepted bid waits for its sync"
    );

    // Let the sync through: it fails on a FIFO, so bea's bid is never confirmed.
    drop(unblock);
    let (status, _) = accepted.await.expect("task");
    assert!(
        status.is_server_error(),
        "an unsynced bid is not confirmed: {status}"
    );
}

/// The house applies bids while the batch before them is written: with the database's write
/// lock held elsewhere, bea's accepted bid cannot be written, yet bruno is refused at once by
/// it, and of carl and dave bidding the next minimum one is accepted (applied, waiting for the
/// write like bea) and the other refused at once by that bid. Both bids are confirmed once the
/// lock goes, in order.
#[actix_web::test]
async fn bids_are_applied_while_the_batch_before_is_written() {
    let app = spawn_app().await;
    let (admin, seller, bea) = app.cast().await;
    let id = app.open_lot(&seller, &admin, 1_000, None, 3_600).await;
    let (bruno, carl, dave) = (
        app.user("bruno", "bidder").await,
        app.user("carl", "bidder").await,
        app.user("dave", "bidder").await,
    );
    let mut lock = hold_the_write_lock(&app).await;

    // Its write now waits for the lock.
    let first = bid_handed_to_the_writer(&app, &bea, &id, 1_000).await;
    let next = refused_at_once(&app, &bruno, &id, 1_000).await;
    assert!(next > 1_000, "bea's bid counts: {next}");

    let (c, d) = (
        spawn_bid(&app, &carl, &id, next),
        spawn_bid(&app, &dave, &id, next),
    );
    let waited = std::time::Instant::now();
    let (loser, winner) = loop {
        match (c.is_finished(), d.is_finished()) {
            (true, false) => break (c, d),
            (false, true) => break (d, c),
            (true, true) => panic!("both of carl and dave were answered while the lock is held"),
            (false, false) => {}
        }
        assert!(
            waited.elapsed() < Duration::from_secs(5),
            "one of carl and dave is refused while bea's batch waits"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let (status, body) = loser.await.expect("task");
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["min_next_bid_cents"].as_i64() > Some(next),
        "refused by the other's bid, applied while bea's was still being written: {body}"
    );
    assert!(
        !first.is_finished(),
        "bea's bid waits for its write and sync"
    );

    sqlx::raw_sql("ROLLBACK")
        .execute(&mut lock)
        .await
        .expect("the lock released");
    let (status, body) = first.await.expect("task");
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = winner.await.expect("task");
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let lot = app.lot(&id, None).await;
    assert_eq!(lot["bid_count"], 2, "{lot}");
    assert_eq!(lot["current_price_cents"], next, "{lot}");
}

/// A soft-close extension applied while the batch before it is still being written moves the
/// lot's end at once: the old end passing meanwhile does not close the lot.
#[actix_web::test]
async fn an_extension_applied_during_a_write_moves_the_end_at_once() {
    let app = spawn_with(Options {
        manual_clock: true,
        soft_close_secs: 60,
        ..Options::default()
    })
    .await;
    let (admin, seller, bea) = app.cast().await;
    let (bruno, carl) = (
        app.user("bruno", "bidder").await,
        app.user("carl", "bidder").await,
    );
    let id = app.open_lot(&seller, &admin, 1_000, None, 600).await;
    let mut lock = hold_the_write_lock(&app).await;
    let before = house_commands(&app).await;
    let first = bid_handed_to_the_writer(&app, &bea, &id, 1_000).await;

    // Ten seconds before the end: bruno's bid extends it to 60 s from now, in the open batch.
    app.clock.advance(chrono::Duration::seconds(590));
    let second = spawn_bid(&app, &bruno, &id, 1_050);
    let waited = std::time::Instant::now();
    loop {
        let (_, _, body) = error_code(app.bid(&carl, &id, 1_000).await).await;
        if body["error"]["min_next_bid_cents"] == 1_100 {
            break;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(5),
            "bruno's bid was applied: {body}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    app.clock.advance(chrono::Duration::seconds(11)); // past the old end, before the new one
    tokio::time::sleep(Duration::from_millis(300)).await;

    sqlx::raw_sql("ROLLBACK")
        .execute(&mut lock)
        .await
        .expect("the lock released");
    for bid in [first, second] {
        let (status, body) = bid.await.expect("task");
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let lot = app.lot(&id, None).await;
    assert_eq!(lot["status"], "open", "{lot}");
    assert_eq!(lot["bid_count"], 2, "{lot}");
    assert_eq!(
        house_commands(&app).await,
        before + 2,
        "carl's probes were refused at the handle by the applied minimum, never durable before"
    );
}

/// Another connection holding the database's write lock (`BEGIN IMMEDIATE`) until it rolls
/// back or is dropped: the house's next write waits for it.
async fn hold_the_write_lock(app: &TestApp) -> sqlx::SqliteConnection {
    use sqlx::Connection;
    let mut lock = sqlx::SqliteConnection::connect(&app.db_url)
        .await
        .expect("a second connection");
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut lock)
        .await
        .expect("the write lock");
    lock
}

/// A bid below the minimum is refused by the house's handle, without a trip to the house's
/// task: the house applies only the bids that can win.
#[actix_web::test]
async fn bids_below_the_minimum_never_reach_the_house() {
    let app = spawn_app().await;
    let (admin, seller, bea) = app.cast().await;
    let id = app.open_lot(&seller, &admin, 1_000, None, 3_600).await;
    let bruno = app.user("bruno", "bidder").await;
    assert_eq!(
        app.bid(&bea, &id, 1_000).await.status(),
        StatusCode::CREATED
    );
    let applied = house_commands(&app).await;
    for amount in [900, 1_000, 1_049] {
        let (status, code, body) = error_code(app.bid(&bruno, &id, amount).await).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "bid_too_low")
        );
        assert_eq!(body["error"]["min_next_bid_cents"], 1_050, "{body}");
    }
    assert_eq!(
        app.bid(&bruno, &id, 1_050).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        house_commands(&app).await,
        applied + 1,
        "only the bid that could win reached the house"
    );
}

/// Bids at one amount sent at once: the first to claim the minimum goes on to the house, the
/// others are refused at the handle with the minimum after it. The house is kept busy (it waits
/// for a held write to load a lot it does not hold), so every copy that reached it would wait.
#[actix_web::test]
async fn of_bids_at_one_amount_sent_at_once_one_reaches_the_house() {
    let app = spawn_app().await;
    let (admin, seller, bea) = app.cast().await;
    let id = app.open_lot(&seller, &admin, 1_000, None, 3_600).await;
    let (bruno, carl) = (
        app.user("bruno", "bidder").await,
        app.user("carl", "bidder").await,
    );
    let mut lock = hold_the_write_lock(&app).await;
    let first = bid_handed_to_the_writer(&app, &bea, &id, 1_000).await;
    let elsewhere = spawn_bid(&app, &carl, &uuid::Uuid::now_v7().to_string(), 1_000);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let copies: Vec<_> = (0..16)
        .map(|n| spawn_bid(&app, if n % 2 == 0 { &bruno } else { &carl }, &id, 1_050))
        .collect();
    let mut waiting = Vec::new();
    for mut copy in copies {
        match tokio::time::timeout(Duration::from_secs(1), &mut copy).await {
            Ok(answer) => {
                let (status, body) = answer.expect("task");
                assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
                assert_eq!(body["error"]["min_next_bid_cents"], 1_100, "{body}");
            }
            Err(_) => waiting.push(copy),
        }
    }
    assert_eq!(
        waiting.len(),
        1,
        "all copies but the one that claimed 1,050 were refused at once"
    );
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut lock)
        .await
        .expect("the lock released");
    assert_eq!(first.await.expect("task").0, StatusCode::CREATED);
    for copy in waiting {
        assert_eq!(copy.await.expect("task").0, StatusCode::CREATED);
    }
    assert_eq!(elsewhere.await.expect("task").0, StatusCode::NOT_FOUND);
    let lot = app.lot(&id, None).await;
    assert_eq!(lot["bid_count"], 2, "{lot}");
    assert_eq!(lot["current_price_cents"], 1_050, "{lot}");
}

/// A lot the house has closed is never said to want a higher bid, not even while the close is
/// still being written and readers still see the lot open: such bids reach the house, which
/// says why they are refused.
#[actix_web::test]
async fn bids_on_a_lot_whose_close_is_being_written_are_refused_as_ended() {
    let app = spawn_app().await;
    let (admin, seller, bea) = app.cast().await;
    let id = app.open_lot(&seller, &admin, 1_000, None, 3_600).await;
    let mut lock = hold_the_write_lock(&app).await;
    let sealed = house_commands(&app).await + 1;
    let (api, url) = (
        app.api.clone(),
        app.url(&format!("/api/v1/lots/{id}/close")),
    );
    let close = tokio::spawn(async move {
        let res = api
            .post(url)
            .bearer_auth(admin)
            .json(&json!({}))
            .send()
            .await;
        res.map(|r| r.status()).ok()
    });
    let waited = std::time::Instant::now();
    while house_commands(&app).await < sealed {
        assert!(
            waited.elapsed() < Duration::from_secs(10),
            "the house took the close"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        app.lot(&id, None).await["status"],
        "open",
        "not durable yet"
    );
    // The house no longer holds the lot: it reads it back once the close is written.
    let bids: Vec<_> = [1_000, 1_000, 5_000]
        .into_iter()
        .map(|amount| spawn_bid(&app, &bea, &id, amount))
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        bids.iter().all(|b| !b.is_finished()),
        "none was refused at the handle"
    );
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut lock)
        .await
        .expect("the lock released");
    for bid in bids {
        let (status, body) = bid.await.expect("task");
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["error"]["code"], "auction_ended", "{body}");
    }
    assert_eq!(close.await.expect("task"), Some(StatusCode::OK));
}

/// A bid placed from its own task, so the test can go on while it waits: its status and body.
fn spawn_bid(
    app: &TestApp,
    token: &str,
    lot: &str,
    amount: i64,
) -> tokio::task::JoinHandle<(StatusCode, Value)> {
    let (api, url, token) = (
        app.api.clone(),
        app.url(&format!("/api/v1/lots/{lot}/bids")),
        token.to_owned(),
    );
    tokio::spawn(async move {
        let res = api
            .post(url)
            .bearer_auth(token)
            .json(&json!({ "amount_cents": amount }))
            .send()
            .await
            .expect("answered");
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    })
}

/// A bid the house has accepted and sealed into a batch for the writer (counted in `/metrics`
/// then), still waiting for its answer.
async fn bid_handed_to_the_writer(
    app: &TestApp,
    token: &str,
    lot: &str,
    amount: i64,
) -> tokio::task::JoinHandle<(StatusCode, Value)> {
    let sealed = house_commands(app).await + 1;
    let bid = spawn_bid(app, token, lot, amount);
    let waited = std::time::Instant::now();
    while house_commands(app).await < sealed {
        assert!(
            waited.elapsed() < Duration::from_secs(10),
            "the house took the bid"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    bid
}

/// A bid refused as too low within 5 s, whatever the writer and the disk are doing: the
/// minimum it was told.
async fn refused_at_once(app: &TestApp, token: &str, lot: &str, amount: i64) -> i64 {
    let refused = tokio::time::timeout(Duration::from_secs(5), app.bid(token, lot, amount))
        .await
        .expect("refused at once");
    let (status, code, body) = error_code(refused).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "bid_too_low"),
        "{body}"
    );
    body["error"]["min_next_bid_cents"].as_i64().unwrap_or(0)
}

/// Opens the FIFO for reading when dropped, even by a failed assertion, so the house's
/// blocked sync ends and the test's runtime can shut down.
struct OpenOnDrop(std::path::PathBuf);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        let path = self.0.clone();
        std::thread::spawn(move || drop(std::fs::File::open(path)));
    }
}

/// How many commands the house has applied, from `/metrics`.
async fn house_commands(app: &TestApp) -> u64 {
    app.metrics()
        .await
        .lines()
        .find_map(|l| l.strip_prefix("gavel_house_commands_total "))
        .and_then(|n| n.trim().parse().ok())
        .expect("gavel_house_commands_total is listed")
}

/// An open lot with bea's first bid confirmed: the lot's id, bea's token and the path of the
/// WAL file the house syncs (SQLite keeps its own handle when the file is replaced).
async fn lot_with_a_synced_bid(app: &TestApp) -> (String, String, std::path::PathBuf) {
    let (admin, seller, bea) = app.cast().await;
    let id = app.open_lot(&seller, &admin, 1_000, None, 3_600).await;
    assert_eq!(
        app.bid(&bea, &id, 1_000).await.status(),
        StatusCode::CREATED
    );
    let wal = gavel::store::Store::wal_path(&app.db_url).expect("wal path");
    (id, bea, wal)
}

/// Puts `make`'s thing where the WAL file was. A pool connection opening meanwhile recreates
/// the WAL, so the file is removed and `make` tried again until `make` wins the path.
fn replace_wal(wal: &std::path::Path, make: impl Fn(&std::path::Path) -> bool) {
    for _ in 0..100 {
        match std::fs::remove_file(wal) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => panic!("cannot remove the WAL: {e}"),
        }
        if make(wal) {
            return;
        }
    }
    panic!("the WAL's path could not be taken");
}
