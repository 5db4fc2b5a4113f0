//! SIGTERM to the real binary under bidding and streaming load (API.md §3a): it stops taking
//! connections, answers every request in flight, ends every stream cleanly, exits 0 in 10 s,
//! and every acknowledged bid is in the database, and no other.

use crate::helpers::Gavel;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn post(client: &Client, url: String, token: Option<&str>, body: Value) -> Value {
    let mut req = client.post(&url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("answered");
    assert!(res.status().is_success(), "{url}: {}", res.status());
    res.json().await.expect("json")
}

async fn token(client: &Client, base: &str, name: &str, role: Option<&str>) -> String {
    if let Some(role) = role {
        let user = json!({"username": name, "password": "correct horse", "role": role});
        post(client, format!("{base}/api/v1/users"), None, user).await;
    }
    let login = json!({"username": name, "password": "correct horse"});
    let body = post(client, format!("{base}/api/v1/tokens"), None, login).await;
    body["token"].as_str().expect("token").to_owned()
}

#[actix_web::test]
async fn sigterm_under_load_finishes_requests_ends_streams_and_exits_cleanly() {
    let mut server = Gavel::start(&[
        ("GAVEL_ADMIN", "root:correct horse"),
        ("GAVEL_LIMIT_BIDS_PER_USER", "off"),
    ])
    .await;
    let base = server.base.clone();
    let client = Client::new();
    let admin = token(&client, &base, "root", None).await;
    let seller = token(&client, &base, "sam", Some("seller")).await;
    let offer = json!({"title": "Lamp", "description": "", "starting_price_cents": 100, "duration_secs": 3600});
    let lot = post(&client, format!("{base}/api/v1/lots"), Some(&seller), offer).await;
    let lot = lot["id"].as_str().expect("id").to_owned();
    post(
        &client,
        format!("{base}/api/v1/lots/{lot}/approve"),
        Some(&admin),
        json!({}),
    )
    .await;

    // Watchers: SSE streams and long polls waiting for the next event that never comes.
    let mut streams = Vec::new();
    for n in 0..40 {
        let accept = if n % 2 == 0 {
            "text/event-stream"
        } else {
            "application/x-ndjson"
        };
        let res = client
            .get(format!("{base}/lots/{lot}/events"))
            .header("accept", accept)
            .send()
            .await
            .expect("stream");
        assert_eq!(res.status(), StatusCode::OK);
        streams.push(tokio::spawn(async move {
            let mut res = res;
            while res.chunk().await?.is_some() {}
            Ok::<(), reqwest::Error>(())
        }));
    }

    // Bidders bid flat out, each bid on a connection of its own, so an error is a refused
    // connection (after the listener closed) or a request cut in flight, never a race on an
    // idle kept-alive connection.
    let mut bidders = Vec::new();
    for n in 0..8 {
        let name = format!("bidder{n}");
        let bidder = token(&client, &base, &name, Some("bidder")).await;
        let (base, lot) = (base.clone(), lot.clone());
        bidders.push(tokio::spawn(async move {
            let client = Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .expect("client");
            let (mut accepted, mut cut) = (0u64, 0u64);
            let mut amount = 100 + n;
            loop {
                let res = client
                    .post(format!("{base}/api/v1/lots/{lot}/bids"))
                    .bearer_auth(&bidder)
                    .json(&json!({"amount_cents": amount}))
                    .send()
                    .await;
                match res {
                    Ok(res) => {
                        let status = res.status();
                        let body: Value = res.json().await.unwrap_or(Value::Null);
                        if status == StatusCode::CREATED {
                            accepted += 1;
                        }
                        if let Some(min) = body["lot"]["min_next_bid_cents"]
                            .as_i64()
                            .or(body["error"]["min_next_bid_cents"].as_i64())
                        {
                            amount = min;
                        }
                    }
                    Err(e) if e.is_connect() => return (accepted, cut),
                    Err(_) => cut += 1,
                }
            }
        }));
    }
    let mut polls = Vec::new();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let latest: Value = client
        .get(format!("{base}/lots/{lot}/poll"))
        .send()
        .await
        .expect("poll")
        .json()
        .await
        .expect("json");
    let cursor = latest["cursor"].as_i64().expect("cursor") + 1_000_000;
    for _ in 0..10 {
        let url = format!("{base}/lots/{lot}/poll?after={cursor}&timeout=50");
        let client = client.clone();
        polls.push(tokio::spawn(async move {
            let res = client.get(url).send().await?;
            Ok::<_, reqwest::Error>((res.status(), res.json::<Value>().await?))
        }));
    }
    // And in Nchan's protocol, parked on the worker's relay.
    let mut nexts = Vec::new();
    for _ in 0..5 {
        let request = client
            .get(format!("{base}/lots/{lot}/next?timeout=50"))
            .header("If-None-Match", format!("\"{cursor}\""));
        nexts.push(tokio::spawn(async move {
            let res = request.send().await?;
            let etag = res.headers().get("etag").cloned();
            Ok::<_, reqwest::Error>((res.status(), etag, res.text().await?))
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let signalled = Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(10),
            "exits within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit status {status:?}");

    for s in streams {
        assert!(
            s.await.expect("task").is_ok(),
            "a stream was cut, not ended"
        );
    }
    for p in polls {
        let (status, body) = p.await.expect("task").expect("a waiting poll is answered");
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["events"], json!([]));
    }
    for n in nexts {
        let (status, etag, body) = n.await.expect("task").expect("a parked poll is answered");
        assert_eq!(status, StatusCode::NOT_MODIFIED);
        assert_eq!(etag.expect("etag"), format!("\"{cursor}\"").as_str());
        assert_eq!(body, "");
    }
    // A connection still in the kernel's listen queue when the listener closes is reset
    // before the server ever read it: its bid was not placed (checked below), and the client
    // can tell, as its request got no answer at all.
    let (mut acknowledged, mut closed_unanswered) = (0, 0);
    for b in bidders {
        let (accepted, cut) = b.await.expect("task");
        acknowledged += accepted;
        closed_unanswered += cut;
    }
    assert!(acknowledged > 0, "bids were placed under load");
    let store = gavel::store::Store::open(&server.db_url())
        .await
        .expect("db");
    let lot_id = uuid::Uuid::parse_str(&lot).expect("uuid");
    let stored = store.bids_of_lot(lot_id, i64::MAX).await.expect("bids");
    assert_eq!(
        stored.len() as u64,
        acknowledged,
        "every 201 is stored, and no bid left unanswered was placed ({closed_unanswered} unanswered)"
    );
}
