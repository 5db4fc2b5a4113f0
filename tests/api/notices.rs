//! Personal notices and the watchlist (API.md §7) through the real server: each kind, resume of
//! the user's stream and poll, nothing lost or repeated over a restart.

use crate::helpers::{Options, TestApp, spawn_app, spawn_with};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

async fn notices(app: &TestApp, token: &str) -> Value {
    let res = app.get_json("/api/v1/me/notices", Some(token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.expect("json")
}

/// The user's notice types, oldest first.
async fn kinds(app: &TestApp, token: &str) -> Vec<String> {
    let list = notices(app, token).await;
    let mut kinds: Vec<String> = list["notices"]
        .as_array()
        .expect("notices")
        .iter()
        .map(|n| n["type"].as_str().unwrap_or("").to_owned())
        .collect();
    kinds.reverse();
    kinds
}

async fn poll(app: &TestApp, token: &str, after: i64, timeout: u64) -> Value {
    let res = app
        .get_json(
            &format!("/me/poll?after={after}&timeout={timeout}"),
            Some(token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.expect("json")
}

async fn bid(app: &TestApp, token: &str, lot: &str, body: Value) -> Value {
    let res = app
        .post_json(&format!("/api/v1/lots/{lot}/bids"), Some(token), body)
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    res.json().await.expect("json")
}

#[actix_web::test]
async fn each_change_tells_the_people_it_concerns() {
    let app = spawn_with(Options {
        manual_clock: true,
        soft_close_secs: 0,
        ..Options::default()
    })
    .await;
    let (admin, seller, bea) = app.cast().await;
    let rex = app.user("rex", "bidder").await;
    let lot = app.open_lot(&seller, &admin, 1_000, None, 3_600).await;
    let pending = app.offer(&seller, 500, None, 60).await;
    let pending = pending["id"].as_str().expect("id").to_owned();
    let res = app
        .post_json(
            &format!("/api/v1/lots/{pending}/reject"),
            Some(&admin),
            json!({"reason": "Blurry photo"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    bid(&app, &bea, &lot, json!({"amount_cents": 1_000})).await;
    bid(&app, &rex, &lot, json!({"amount_cents": 2_000})).await;
    let outbid = &notices(&app, &bea).await["notices"][0];
    assert_eq!(outbid["type"], "outbid");
    assert_eq!(outbid["lot"]["id"], lot.as_str());
    assert_eq!(outbid["lot"]["title"], "Brass lamp");
    assert_eq!(outbid["price_cents"], 2_000);
    assert_eq!(outbid["min_next_bid_cents"], 2_050);
    assert!(outbid["id"].as_i64().is_some() && outbid["at"].is_string());
    assert!(
        kinds(&app, &rex).await.is_empty(),
        "the new leader is told nothing"
    );

    // Bea's maximum answers Rex by itself: Rex is outbid at once, but he never led, so he is
    // told by his own answer. When Bea later loses the lead again, she is told again.
    bid(
        &app,
        &bea,
        &lot,
        json!({"amount_cents": 2_050, "max_cents": 3_000}),
    )
    .await;
    bid(
        &app,
        &rex,
        &lot,
        json!({"amount_cents": 2_100, "max_cents": 5_000}),
    )
    .await;
    assert_eq!(kinds(&app, &bea).await, ["outbid", "outbid"]);
    assert_eq!(
        kinds(&app, &rex).await,
        ["outbid"],
        "Rex lost the lead to Bea once"
    );

    // Ten minutes before the end, then past it.
    app.clock.advance(chrono::Duration::seconds(3_001));
    for _ in 0..50 {
        if kinds(&app, &bea).await.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.clock.advance(chrono::Duration::seconds(600));
    let mut closed = app.lot(&lot, None).await;
    for _ in 0..50 {
        if closed["status"] == "closed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        closed = app.lot(&lot, None).await;
    }
    assert_eq!(closed["winner"]["username"], "rex");
    let won = &notices(&app, &rex).await["notices"][0];
    assert_eq!(
        (&won["type"], &won["price_cents"]),
        (&json!("won"), &json!(3_100))
    );
    assert_eq!(
        kinds(&app, &bea).await,
        ["outbid", "outbid", "ending_soon", "lost"],
        "ending soon came 10 minutes before the end"
    );
    assert_eq!(kinds(&app, &rex).await, ["outbid", "ending_soon", "won"]);
    let seller_kinds = kinds(&app, &seller).await;
    assert_eq!(
        seller_kinds,
        ["offer_approved", "offer_rejected", "sold"],
        "the seller hears of each offer"
    );
    let sold = &notices(&app, &seller).await["notices"][0];
    assert_eq!(sold["winner"]["username"], "rex");
    assert_eq!(sold["price_cents"], 3_100);
    let rejected = &notices(&app, &seller).await["notices"][1];
    assert_eq!(rejected["reason"], "Blurry photo");

    // Unread counts, and marking read.
    let listed = notices(&app, &bea).await;
    assert_eq!(listed["unread"], 4);
    let newest = listed["notices"][0]["id"].as_i64().expect("id");
    let res = app
        .post_json(
            "/api/v1/me/notices/read",
            Some(&bea),
            json!({"up_to": newest - 1}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(notices(&app, &bea).await["unread"], 1);
    let res = app
        .post_json("/api/v1/me/notices/read", Some(&bea), json!({"up_to": 0}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        notices(&app, &bea).await["unread"],
        1,
        "the mark never moves back"
    );
    let anonymous = app.get_json("/api/v1/me/notices", None).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get_json("/me/poll?after=0", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[actix_web::test]
async fn an_unsold_lot_and_a_removed_bid_are_told() {
    let app = spawn_app().await;
    let (admin, seller, bea) = app.cast().await;
    let lot = app
        .open_lot(&seller, &admin, 1_000, Some(50_000), 3_600)
        .await;
    let placed = bid(&app, &bea, &lot, json!({"amount_cents": 1_500})).await;
    let bid_id = placed["bid"]["id"].as_str().expect("id");
    let res = app
        .api
        .delete(app.url(&format!("/api/v1/lots/{lot}/bids/{bid_id}")))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("answered");
    assert_eq!(res.status(), StatusCode::OK);
    let removed = &notices(&app, &bea).await["notices"][0];
    assert_eq!(removed["type"], "bid_removed");
    assert_eq!(removed["amount_cents"], 1_500);

    bid(&app, &bea, &lot, json!({"amount_cents": 2_000})).await;
    let res = app
        .post_json(
            &format!("/api/v1/lots/{lot}/close"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(notices(&app, &seller).await["notices"][0]["type"], "unsold");
    assert_eq!(
        notices(&app, &bea).await["notices"][0]["type"],
        "lost",
        "the reserve was not met: nobody won"
    );
}

#[actix_web::test]
async fn the_notice_stream_resumes_exactly_and_survives_a_restart() {
    let app = spawn_app().await;
    let (admin, seller, bea) = app.cast().await;
    let rex = app.user("rex", "bidder").await;
    let lot = app.open_lot(&seller, &admin, 1_000, None, 3_600).await;
    let start = poll(&app, &bea, 0, 0).await;
    assert_eq!(start["events"], json!([]));

    // A poll waiting for Bea's next notice is woken by it.
    bid(&app, &bea, &lot, json!({"amount_cents": 1_000})).await;
    let waiting = {
        let (app_url, bea) = (app.url("/me/poll?after=0&timeout=10"), bea.clone());
        let client = app.api.clone();
        tokio::spawn(async move {
            client
                .get(app_url)
                .bearer_auth(bea)
                .send()
                .await
                .expect("poll")
                .json::<Value>()
                .await
                .expect("json")
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    bid(&app, &rex, &lot, json!({"amount_cents": 1_100})).await;
    let woken = tokio::time::timeout(Duration::from_secs(3), waiting)
        .await
        .expect("woken within 3 s")
        .expect("joined");
    assert_eq!(woken["events"][0]["type"], "outbid");
    let first = woken["cursor"].as_i64().expect("cursor");

    // Three more outbids; resuming after the first gets exactly the rest, once, in order.
    for amount in [1_200, 1_400, 1_600] {
        bid(&app, &bea, &lot, json!({"amount_cents": amount})).await;
        bid(&app, &rex, &lot, json!({"amount_cents": amount + 100})).await;
    }
    let rest = poll(&app, &bea, first, 0).await;
    let ids: Vec<i64> = rest["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|n| n["id"].as_i64())
        .collect();
    assert_eq!(ids.len(), 3, "{rest}");
    assert!(ids.windows(2).all(|w| w[0] < w[1]) && ids[0] > first);

    // The SSE stream with Last-Event-ID gives the same three, then the live ones.
    let mut stream = app
        .api
        .get(app.url("/me/events"))
        .bearer_auth(&bea)
        .header("Last-Event-ID", first.to_string())
        .send()
        .await
        .expect("stream");
    assert_eq!(stream.status(), StatusCode::OK);
    let mut text = String::new();
    while text.matches("event: outbid").count() < 3 {
        let chunk = tokio::time::timeout(Duration::from_secs(5), stream.chunk())
            .await
            .expect("in time")
            .expect("chunk")
            .expect("open");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    for id in &ids {
        assert_eq!(text.matches(&format!("id: {id}\n")).count(), 1, "{text}");
    }
    drop(stream);

    // Over a restart: nothing lost, nothing repeated, ids keep growing.
    let last = *ids.last().expect("ids");
    let app = app.restart_after(|| {}).await;
    assert_eq!(poll(&app, &bea, last, 0).await["events"], json!([]));
    bid(&app, &bea, &lot, json!({"amount_cents": 2_000})).await;
    bid(&app, &rex, &lot, json!({"amount_cents": 2_100})).await;
    let after = poll(&app, &bea, last, 0).await;
    let events = after["events"].as_array().expect("events");
    assert_eq!(events.len(), 1, "{after}");
    assert!(events[0]["id"].as_i64().expect("id") > last);
    // Rex is told nothing of Bea's notices: none of her ids is among his.
    let bea_ids: Vec<i64> = poll(&app, &bea, 0, 0).await["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|n| n["id"].as_i64())
        .collect();
    let rex_ids: Vec<i64> = poll(&app, &rex, 0, 0).await["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|n| n["id"].as_i64())
        .collect();
    assert!(!bea_ids.is_empty() && !rex_ids.is_empty());
    assert!(
        bea_ids.iter().all(|id| !rex_ids.contains(id)),
        "{bea_ids:?} {rex_ids:?}"
    );
}

#[actix_web::test]
async fn ending_soon_goes_once_to_bidders_and_watchers_even_across_a_restart() {
    let app = spawn_with(Options {
        manual_clock: true,
        ending_soon_secs: 600,
        ..Options::default()
    })
    .await;
    let (admin, seller, bea) = app.cast().await;
    let wes = app.user("wes", "bidder").await;
    let lot = app.open_lot(&seller, &admin, 1_000, None, 3_600).await;
    bid(&app, &bea, &lot, json!({"amount_cents": 1_000})).await;
    let res = app
        .api
        .put(app.url(&format!("/api/v1/lots/{lot}/watch")))
        .bearer_auth(&wes)
        .send()
        .await
        .expect("answered");
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    app.clock.advance(chrono::Duration::seconds(2_999));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(kinds(&app, &wes).await.is_empty(), "not yet");

    // The server is down when the moment comes; it sends them at start, once.
    let clock = app.clock.clone();
    let app = app
        .restart_with(
            move || clock.set(crate::helpers::fixed_start() + chrono::Duration::seconds(3_100)),
            Options {
                manual_clock: true,
                ..Options::default()
            },
        )
        .await;
    let mut got = Vec::new();
    for _ in 0..50 {
        got = kinds(&app, &wes).await;
        if !got.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(got, ["ending_soon"]);
    assert_eq!(kinds(&app, &bea).await, ["ending_soon"]);
    let notice = &notices(&app, &bea).await["notices"][0];
    assert!(notice["ends_at"].is_string());
    assert!(
        kinds(&app, &seller)
            .await
            .iter()
            .all(|k| k != "ending_soon")
    );

    let clock = app.clock.clone();
    let app = app
        .restart_with(
            move || clock.set(crate::helpers::fixed_start() + chrono::Duration::seconds(3_200)),
            Options {
                manual_clock: true,
                ..Options::default()
            },
        )
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(kinds(&app, &wes).await, ["ending_soon"], "not repeated");
}

#[actix_web::test]
async fn the_watchlist_follows_watching_and_bidding() {
    let app = spawn_app().await;
    let (admin, seller, bea) = app.cast().await;
    let first = app.open_lot(&seller, &admin, 1_000, None, 7_200).await;
    let second = app.open_lot(&seller, &admin, 1_000, None, 3_600).await;
    let pending = app.offer(&seller, 500, None, 60).await;
    let pending = pending["id"].as_str().expect("id").to_owned();
    let watchlist = |app: &TestApp, token: String| {
        let url = app.url("/api/v1/me/watchlist");
        let client = app.api.clone();
        async move {
            let v: Value = client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("answered")
                .json()
                .await
                .expect("json");
            v["lots"]
                .as_array()
                .expect("lots")
                .iter()
                .map(|l| l["id"].as_str().unwrap_or("").to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert!(watchlist(&app, bea.clone()).await.is_empty());
    let put = |lot: String| {
        app.api
            .put(app.url(&format!("/api/v1/lots/{lot}/watch")))
            .bearer_auth(&bea)
            .send()
    };
    assert_eq!(
        put(first.clone()).await.expect("put").status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        put(first.clone()).await.expect("put").status(),
        StatusCode::NO_CONTENT,
        "again: no change"
    );
    assert_eq!(
        put(pending.clone()).await.expect("put").status(),
        StatusCode::NOT_FOUND,
        "a lot she cannot see"
    );
    bid(&app, &bea, &second, json!({"amount_cents": 1_000})).await;
    assert_eq!(
        watchlist(&app, bea.clone()).await,
        [second.clone(), first.clone()],
        "bidding watches; ending soonest first"
    );
    let listed: Value = app
        .get_json("/api/v1/me/watchlist", Some(&bea))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        listed["lots"][0]["current_price_cents"], 1_000,
        "live prices"
    );
    let res = app
        .api
        .delete(app.url(&format!("/api/v1/lots/{second}/watch")))
        .bearer_auth(&bea)
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(watchlist(&app, bea.clone()).await, [first]);
}

#[actix_web::test]
async fn pages_show_notices_and_the_watchlist_and_the_watch_button_works_without_javascript() {
    let app = spawn_app().await;
    let (admin, seller, bea) = app.cast().await;
    let rex = app.user("rex", "bidder").await;
    let lot = app.open_lot(&seller, &admin, 1_000, None, 3_600).await;
    let other = app.open_lot(&seller, &admin, 2_000, None, 7_200).await;
    bid(&app, &bea, &lot, json!({"amount_cents": 1_000})).await;
    bid(&app, &rex, &lot, json!({"amount_cents": 1_100})).await;

    // Bea comes back later: the count on every page, the notice and the watchlist on /me.
    let browser = app.login_browser("bea").await;
    let (_, home) = app.page(&browser, "/").await;
    assert!(
        home.contains("data-role=\"notice-count\" data-count=\"1\""),
        "the unread count on the front page"
    );
    assert!(home.contains("id=\"toasts\""));
    let (_, me) = app.page(&browser, "/me").await;
    assert!(me.contains("id=\"notices\""));
    assert!(
        me.contains("data-type=\"outbid\""),
        "the outbid notice is listed"
    );
    assert!(
        me.contains("You were outbid: now €11.00"),
        "in the site's currency"
    );
    assert!(me.contains("id=\"watchlist\""));
    assert!(
        me.contains(&format!("data-lot-id=\"{lot}\"")),
        "bidding watched it"
    );
    assert!(!me.contains(&format!("data-lot-id=\"{other}\"")));

    // The watch button: a plain form that redirects back, aria-pressed telling its state.
    let page = format!("/lots/{other}");
    let (_, html) = app.page(&browser, &page).await;
    assert!(html.contains("id=\"watch-button\" class=\"secondary\" aria-pressed=\"false\""));
    let res = app
        .submit(&browser, &page, &format!("{page}/watch"), &[("watch", "1")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = app.page(&browser, &page).await;
    assert!(html.contains("aria-pressed=\"true\""));
    let (_, me) = app.page(&browser, "/me").await;
    assert!(me.contains(&format!("data-lot-id=\"{other}\"")));
    app.submit(&browser, &page, &format!("{page}/watch"), &[("watch", "0")])
        .await;
    let (_, me) = app.page(&browser, "/me").await;
    assert!(!me.contains(&format!("data-lot-id=\"{other}\"")));

    // "Mark all as read" empties the count.
    let latest = notices(&app, &bea).await["notices"][0]["id"]
        .as_i64()
        .expect("id")
        .to_string();
    let res = app
        .submit(
            &browser,
            "/me",
            "/me/notices/read",
            &[("up_to", latest.as_str())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, home) = app.page(&browser, "/").await;
    assert!(home.contains("data-count=\"0\" hidden"), "nothing unread");
}

#[actix_web::test]
async fn the_notice_stream_speaks_ndjson_too() {
    let app = spawn_app().await;
    let (admin, seller, bea) = app.cast().await;
    let rex = app.user("rex", "bidder").await;
    let lot = app.open_lot(&seller, &admin, 1_000, None, 3_600).await;
    bid(&app, &bea, &lot, json!({"amount_cents": 1_000})).await;
    let mut stream = app
        .api
        .get(app.url("/me/events?after=0"))
        .bearer_auth(&bea)
        .header("Accept", "application/x-ndjson")
        .send()
        .await
        .expect("stream");
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(
        stream
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/x-ndjson")
    );
    bid(&app, &rex, &lot, json!({"amount_cents": 1_100})).await;
    let mut text = String::new();
    while !text.contains('\n') || !text.contains("outbid") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), stream.chunk())
            .await
            .expect("in time")
            .expect("chunk")
            .expect("open");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let line = text.lines().find(|l| !l.is_empty()).expect("a line");
    let notice: Value = serde_json::from_str(line).expect("one notice per line");
    assert_eq!(notice["type"], "outbid");
    assert_eq!(notice["price_cents"], 1_100);
}
