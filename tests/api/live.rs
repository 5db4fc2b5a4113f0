use crate::helpers::{Options, TestApp, error_code, spawn_with};
use crate::sse::SseClient;
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);

async fn setup(options: Options) -> (TestApp, String, String) {
    let app = spawn_with(options).await;
    let admin = app.admin().await;
    let seller = app.user("sam", "seller").await;
    let lot = app.open_lot(&seller, &admin, 100, None, 3_600).await;
    let bidder = app.user("bea", "bidder").await;
    (app, lot, bidder)
}

async fn stream(app: &TestApp, path: &str, last_event_id: Option<i64>) -> SseClient {
    let mut req = app.api.get(app.url(path));
    if let Some(id) = last_event_id {
        req = req.header("Last-Event-ID", id.to_string());
    }
    SseClient::new(req.send().await.expect("stream opens"))
}

/// Bids `n` times at the minimum; returns the amounts.
async fn bids(app: &TestApp, bidder: &str, lot: &str, n: usize) -> Vec<i64> {
    let mut amounts = Vec::new();
    for _ in 0..n {
        let min = app.lot(lot, None).await["min_next_bid_cents"]
            .as_i64()
            .expect("min");
        let res = app.bid(bidder, lot, min).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        amounts.push(min);
    }
    amounts
}

#[actix_web::test]
async fn sse_headers_retry_and_live_events() {
    let (app, lot, bea) = setup(Options::default()).await;
    let mut sse = stream(&app, &format!("/lots/{lot}/events"), None).await;
    let headers = sse.response().headers();
    assert_eq!(headers["content-type"], "text/event-stream");
    assert_eq!(headers["cache-control"], "no-cache");
    assert_eq!(headers["x-accel-buffering"], "no");
    let first = sse.next(WAIT).await.expect("a first frame");
    assert_eq!(first.retry, Some(2000), "retry comes first");

    bids(&app, &bea, &lot, 1).await;
    let ev = sse.next_event(WAIT).await.expect("the bid arrives live");
    assert_eq!(ev.event.as_deref(), Some("bid"));
    let data = ev.json();
    assert_eq!(data["id"].as_i64(), ev.id);
    assert_eq!(data["lot_id"], lot.as_str());
    assert_eq!(data["seq"], 2);
    assert_eq!(data["lot"]["current_price_cents"], 100);
    assert_eq!(data["bid"]["bidder"]["username"], "bea");
}

#[actix_web::test]
async fn resume_with_last_event_id_gets_exactly_the_missed_events() {
    let (app, lot, bea) = setup(Options::default()).await;
    let mut sse = stream(&app, &format!("/lots/{lot}/events?after=0"), None).await;
    let opened = sse.next_event(WAIT).await.expect("opened");
    assert_eq!(opened.event.as_deref(), Some("opened"));
    let last_seen = opened.id.expect("id");
    drop(sse);

    let amounts = bids(&app, &bea, &lot, 20).await;
    let mut sse = stream(&app, &format!("/lots/{lot}/events"), Some(last_seen)).await;
    let events = sse.drain_events(Duration::from_millis(500)).await;
    let got: Vec<i64> = events
        .iter()
        .map(|e| e.json()["bid"]["amount_cents"].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(got, amounts, "exactly the 20 bids, in order, once each");
    let seqs: Vec<i64> = events
        .iter()
        .map(|e| e.json()["seq"].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(seqs, (2..=21).collect::<Vec<_>>());

    // `?after=` works the same; and the stream then goes on live.
    let mut again = stream(
        &app,
        &format!("/lots/{lot}/events?after={}", events[9].id.unwrap_or(0)),
        None,
    )
    .await;
    assert_eq!(
        again.drain_events(Duration::from_millis(500)).await.len(),
        10
    );
    bids(&app, &bea, &lot, 1).await;
    assert!(again.next_event(WAIT).await.is_some());
}

#[actix_web::test]
async fn bids_during_attach_arrive_once_each() {
    let (app, lot, bea) = setup(Options::default()).await;
    let app = std::sync::Arc::new(app);
    let bidding = {
        let (app, lot, bea) = (app.clone(), lot.clone(), bea.clone());
        tokio::spawn(async move { bids(&app, &bea, &lot, 30).await })
    };
    // Attach repeatedly while bids land: each stream, from its cursor, must see a gapless run.
    let mut streams = Vec::new();
    for i in 0..6 {
        tokio::time::sleep(Duration::from_millis(30)).await;
        streams.push(stream(&app, &format!("/lots/{lot}/events?after={}", i), None).await);
    }
    let amounts = bidding.await.expect("bids");
    for (i, mut s) in streams.into_iter().enumerate() {
        let events = s.drain_events(Duration::from_millis(700)).await;
        let ids: Vec<i64> = events.iter().filter_map(|e| e.id).collect();
        let first = ids.first().copied().unwrap_or(0);
        assert!(first > i as i64);
        assert_eq!(
            ids,
            (first..first + ids.len() as i64).collect::<Vec<_>>(),
            "no gap, no duplicate"
        );
        assert_eq!(ids.last().copied(), Some(31), "ends at the last bid");
        let got: Vec<i64> = events
            .iter()
            .filter_map(|e| e.json()["bid"]["amount_cents"].as_i64())
            .collect();
        assert!(amounts.ends_with(&got));
    }
}

#[actix_web::test]
async fn long_polling_at_once_held_timed_out_and_woken() {
    let (app, lot, bea) = setup(Options::default()).await;
    let path = format!("/lots/{lot}/poll");

    // Answered by the layer in front of the router (web::fast_polls): the same headers as the
    // routed answer.
    let res = app.get_json(&path, None).await;
    assert_eq!(res.headers()["referrer-policy"], "same-origin");
    assert_eq!(res.headers()["cache-control"], "no-cache");
    let fresh: Value = res.json().await.expect("json");
    assert_eq!(fresh["events"].as_array().map(Vec::len), Some(0));
    assert_eq!(fresh["cursor"], 1, "without after: the latest id");

    let behind: Value = app
        .get_json(&format!("{path}?after=0"), None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        behind["events"][0]["type"], "opened",
        "answers at once when behind"
    );
    assert_eq!(behind["cursor"], 1);

    let started = std::time::Instant::now();
    let timed_out: Value = app
        .get_json(&format!("{path}?after=1&timeout=1"), None)
        .await
        .json()
        .await
        .expect("json");
    assert!(started.elapsed() >= Duration::from_millis(900), "held");
    assert_eq!(timed_out, serde_json::json!({"events": [], "cursor": 1}));

    let waiter = {
        let (client, url) = (
            app.api.clone(),
            app.url(&format!("{path}?after=1&timeout=30")),
        );
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let body: Value = client
                .get(url)
                .send()
                .await
                .expect("poll")
                .json()
                .await
                .expect("json");
            (started.elapsed(), body)
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    bids(&app, &bea, &lot, 1).await;
    let (took, woken) = waiter.await.expect("poll answered");
    assert!(
        took < Duration::from_secs(5),
        "woken by the event, not the timeout"
    );
    assert_eq!(woken["events"][0]["type"], "bid");
    assert_eq!(woken["cursor"], 2);

    // Site-wide polling with a lot filter.
    let site: Value = app
        .get_json("/poll?after=0", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(site["events"].as_array().map(Vec::len), Some(2));
    let other: Value = app
        .get_json(
            "/poll?after=0&lots=01900000-0000-7000-8000-000000000000&timeout=1",
            None,
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(other["events"].as_array().map(Vec::len), Some(0));
    let res = app.get_json(&format!("{path}?after=abc"), None).await;
    assert_eq!(error_code(res).await.0, StatusCode::UNPROCESSABLE_ENTITY);

    // A waiting poll keeps only the headers it reads (memory): the cursor in Last-Event-ID
    // still counts, and a browser asking for HTML still gets the error as a page.
    let resumed: Value = app
        .get_with(&path, ("Last-Event-ID", "1"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(resumed["events"][0]["type"], "bid", "resumed after id 1");
    assert_eq!(resumed["cursor"], 2);
    let page = app
        .get_with(&format!("{path}?timeout=soon"), ("Accept", "text/html"))
        .await;
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let content_type = page.headers()[reqwest::header::CONTENT_TYPE].clone();
    assert!(
        content_type
            .to_str()
            .is_ok_and(|t| t.starts_with("text/html")),
        "{content_type:?}"
    );
}

#[actix_web::test]
async fn the_site_stream_filters_by_lot_and_ndjson_works() {
    let (app, lot, bea) = setup(Options::default()).await;
    let admin = app.token("root", "correct horse").await;
    let seller = app.token("sam", "correct horse").await;
    let other = app.open_lot(&seller, &admin, 100, None, 3_600).await;

    let mut all = stream(&app, "/events?after=0", None).await;
    let mut only = stream(&app, &format!("/events?after=0&lots={other}"), None).await;
    bids(&app, &bea, &lot, 1).await;
    bids(&app, &bea, &other, 1).await;
    let all_events = all.drain_events(Duration::from_millis(500)).await;
    assert_eq!(
        all_events.iter().filter_map(|e| e.id).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    let only_events = only.drain_events(Duration::from_millis(500)).await;
    assert!(
        only_events
            .iter()
            .all(|e| e.json()["lot_id"] == other.as_str())
    );
    assert_eq!(only_events.len(), 2);

    let res = app
        .get_with(
            &format!("/lots/{lot}/events?after=0"),
            ("Accept", "application/x-ndjson"),
        )
        .await;
    assert_eq!(res.headers()["content-type"], "application/x-ndjson");
    let mut res = res;
    let mut text = String::new();
    while text.lines().filter(|l| !l.is_empty()).count() < 2 {
        let chunk = tokio::time::timeout(WAIT, res.chunk())
            .await
            .expect("in time")
            .expect("chunk")
            .expect("data");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let lines: Vec<Value> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines[0]["type"], "opened");
    assert_eq!(lines[1]["type"], "bid");
}

#[actix_web::test]
async fn heartbeats_and_presence() {
    let (app, lot, _) = setup(Options {
        heartbeat_secs: 1,
        ..Options::default()
    })
    .await;
    let mut a = stream(&app, &format!("/lots/{lot}/events"), None).await;
    let mut saw_heartbeat = false;
    let mut watchers = Vec::new();
    let _b = stream(&app, &format!("/lots/{lot}/events"), None).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(4);
    while tokio::time::Instant::now() < deadline {
        let Some(frame) = a.next(Duration::from_secs(2)).await else {
            break;
        };
        saw_heartbeat |= frame.comment;
        if frame.event.as_deref() == Some("presence") {
            assert_eq!(frame.id, None, "presence has no id");
            watchers.push(frame.json()["watchers"].as_i64().unwrap_or(-1));
        }
    }
    assert!(
        saw_heartbeat,
        "a heartbeat comment within the heartbeat interval"
    );
    assert_eq!(watchers.last(), Some(&2), "two watching: {watchers:?}");
}

/// A stream that carries events gets no heartbeats (writing one to every stream at once would
/// hold up the events behind them); a silent one still hears something every interval.
#[actix_web::test]
async fn heartbeats_go_only_to_silent_streams() {
    let (app, lot, bea) = setup(Options {
        heartbeat_secs: 2,
        ..Options::default()
    })
    .await;
    let admin = app.token("root", "correct horse").await;
    let idle_lot = app
        .open_lot(&app.user("sid", "seller").await, &admin, 100, None, 3_600)
        .await;
    let mut busy = stream(&app, &format!("/lots/{lot}/events"), None).await;
    let mut idle = stream(&app, &format!("/lots/{idle_lot}/events"), None).await;
    let bidding = async {
        // A bid every 100 ms for 5 s: every tick (each second) finds the busy stream has spoken.
        let mut amount = 100;
        for _ in 0..50 {
            app.bid(&bea, &lot, amount).await;
            amount += 5;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let watching_busy = async {
        let mut comments = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while let Some(frame) = busy
            .next(deadline.saturating_duration_since(tokio::time::Instant::now()))
            .await
        {
            comments += usize::from(frame.comment);
        }
        comments
    };
    let watching_idle = async {
        let (mut longest, mut heartbeats) = (Duration::ZERO, 0);
        let mut last = tokio::time::Instant::now();
        let deadline = last + Duration::from_secs(5);
        while let Some(frame) = idle
            .next(deadline.saturating_duration_since(tokio::time::Instant::now()))
            .await
        {
            longest = longest.max(last.elapsed());
            last = tokio::time::Instant::now();
            heartbeats += usize::from(frame.comment);
        }
        (longest, heartbeats)
    };
    let ((), busy_comments, (longest_silence, idle_heartbeats)) =
        tokio::join!(bidding, watching_busy, watching_idle);
    // A heartbeat on every tick would be two or three in 5 s; one is allowed in case a loaded
    // machine held a bid back for a whole tick.
    assert!(
        busy_comments <= 1,
        "{busy_comments} heartbeats on a stream that carries events"
    );
    assert!(
        idle_heartbeats >= 2,
        "the idle stream heard {idle_heartbeats} heartbeats in 5 s"
    );
    assert!(
        longest_silence < Duration::from_millis(2_800),
        "the idle stream was silent for {longest_silence:?} (interval 2 s)"
    );
}

#[actix_web::test]
async fn past_the_stream_limit_new_streams_get_503_and_held_ones_keep_working() {
    let (app, lot, bea) = setup(Options {
        max_streams: Some(3),
        ..Options::default()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(stream(&app, &format!("/lots/{lot}/events"), None).await);
    }
    let refused = app
        .api
        .get(app.url(&format!("/lots/{lot}/events")))
        .send()
        .await
        .expect("answer");
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(error_code(refused).await.1, "overloaded");
    let poll = app
        .get_json(&format!("/lots/{lot}/poll?after=1&timeout=1"), None)
        .await;
    assert_eq!(
        poll.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "waiting polls count too"
    );
    assert_eq!(
        app.get_json("/", None).await.status(),
        StatusCode::OK,
        "pages still served"
    );

    bids(&app, &bea, &lot, 1).await;
    for s in &mut held {
        assert!(
            s.next_event(WAIT).await.is_some(),
            "held streams still get events"
        );
    }
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let admitted = app
        .api
        .get(app.url(&format!("/lots/{lot}/events")))
        .send()
        .await
        .expect("answer");
    assert_eq!(
        admitted.status(),
        StatusCode::OK,
        "admitted again once one leaves"
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("gavel_streams_held{transport=\"sse\"} 3"),
        "{metrics}"
    );
    assert!(metrics.contains("gavel_bids_accepted_total 1"));
}

#[actix_web::test]
async fn shutdown_ends_streams_cleanly() {
    let (mut app, lot, _) = setup(Options::default()).await;
    let mut sse = stream(&app, &format!("/lots/{lot}/events"), None).await;
    sse.next(WAIT).await.expect("retry frame");
    let stopping = tokio::time::timeout(Duration::from_secs(5), app.stop());
    let (stopped, ended) = tokio::join!(stopping, async {
        let mut ended = false;
        for _ in 0..10 {
            if sse.next(Duration::from_secs(1)).await.is_none() {
                ended = true;
                break;
            }
        }
        ended
    });
    assert!(stopped.is_ok(), "server stopped promptly");
    assert!(ended, "the stream ended");
}

#[actix_web::test]
async fn pending_lots_have_no_stream() {
    let (app, _, _) = setup(Options::default()).await;
    let seller = app.token("sam", "correct horse").await;
    let pending = app.offer(&seller, 100, None, 60).await;
    let res = app
        .api
        .get(app.url(&format!(
            "/lots/{}/events",
            pending["id"].as_str().unwrap_or("")
        )))
        .send()
        .await
        .expect("answer");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn a_client_that_never_reads_is_dropped() {
    let app = spawn_with(Options {
        stalled_after_secs: 2,
        ..Options::default()
    })
    .await;
    let admin = app.admin().await;
    let seller = app.user("sam", "seller").await;
    // A long description makes every event about 10 KB, so the socket buffers fill quickly.
    let body = serde_json::json!({
        "title": "Heavy", "description": "x".repeat(9_000),
        "starting_price_cents": 100, "duration_secs": 3_600
    });
    let lot: Value = app
        .post_json("/api/v1/lots", Some(&seller), body)
        .await
        .json()
        .await
        .expect("json");
    let lot = lot["id"].as_str().expect("id").to_owned();
    app.post_json(
        &format!("/api/v1/lots/{lot}/approve"),
        Some(&admin),
        serde_json::json!({}),
    )
    .await;

    // A raw socket with a tiny receive buffer that sends its request and never reads.
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket.set_recv_buffer_size(4096).expect("rcvbuf");
    let addr: std::net::SocketAddr = app
        .address
        .trim_start_matches("http://")
        .parse()
        .expect("addr");
    socket.connect(&addr.into()).expect("connect");
    let mut stalled: std::net::TcpStream = socket.into();
    use std::io::Write;
    write!(
        stalled,
        "GET /lots/{lot}/events HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    .expect("request");
    let held = || {
        app.hub
            .metrics
            .sse
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    for _ in 0..50 {
        if held() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(held(), 1, "the stalled client is held at first");

    // Several megabytes of events: far more than the client takes.
    let bidders: Vec<String> = futures_util::future::join_all((0..4).map(|i| {
        let app = &app;
        async move { app.user(&format!("bidder{i}"), "bidder").await }
    }))
    .await;
    let mut price = 100;
    for round in 0..150 {
        let res = app.bid(&bidders[round % 4], &lot, price).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.expect("json");
        price = body["lot"]["min_next_bid_cents"].as_i64().expect("min");
    }
    // A reading watcher still gets everything at once meanwhile.
    let mut reader = stream(&app, &format!("/lots/{lot}/events?after=0"), None).await;
    assert_eq!(
        reader.drain_events(Duration::from_millis(500)).await.len(),
        151
    );

    for _ in 0..200 {
        if held() == 1 {
            break; // only the reader is left
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(held(), 1, "the client that never read was dropped");
    drop(stalled);
}

/// `/metrics` shows the group commit at work: the batches, the commands in them, the time spent
/// applying and writing them, and the WAL syncs covering those batches.
#[actix_web::test]
async fn metrics_show_the_group_commit() {
    let (app, lot, bea) = setup(Options::default()).await;
    bids(&app, &bea, &lot, 3).await;
    let metrics = app.metrics().await;
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing: {metrics}"))
    };
    // Creating, approving and the three bids: each a command, and each batch holds at least one
    // (but the one at start, which closes overdue lots).
    let (batches, commands) = (
        value("gavel_house_batches_total"),
        value("gavel_house_commands_total"),
    );
    assert!(commands >= 5.0, "{metrics}");
    assert!(batches >= 1.0 && batches <= commands + 1.0, "{metrics}");
    assert!(
        value("gavel_house_applying_seconds_total") > 0.0,
        "{metrics}"
    );
    assert!(
        value("gavel_house_writing_seconds_total") > 0.0,
        "{metrics}"
    );
    // Every bid was answered, so every batch that wrote was covered by a sync.
    let (syncs, synced) = (
        value("gavel_wal_syncs_total"),
        value("gavel_wal_synced_batches_total"),
    );
    assert!(
        syncs >= 1.0 && synced >= syncs && synced <= batches,
        "{metrics}"
    );
    assert!(value("gavel_wal_sync_seconds_total") > 0.0, "{metrics}");
}
