//! Every client served right (API.md §4), spoken as raw HTTP over sockets: streams to HTTP/1.0
//! clients are close-delimited with no `Transfer-Encoding`, HTTP/1.0 keep-alive polls keep
//! their connection, every GET route answers HEAD and every route answers OPTIONS.

use crate::helpers::{TestApp, spawn_app};
use gavel::web::routes::all;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(("127.0.0.1", app.port()))
        .await
        .expect("connected")
}

/// Reads until `done` says the text is complete, the peer closes, or `secs` pass.
async fn read_until(
    socket: &mut TcpStream,
    secs: u64,
    done: impl Fn(&str) -> bool,
) -> (String, bool) {
    let mut text = Vec::new();
    let mut buf = [0u8; 8192];
    let end = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if done(&String::from_utf8_lossy(&text)) {
            return (String::from_utf8_lossy(&text).into_owned(), false);
        }
        match tokio::time::timeout_at(end, socket.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&text).into_owned(), true),
            Ok(Ok(n)) => text.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&text).into_owned(), false),
        }
    }
}

fn head_of(text: &str) -> (String, String) {
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
    (head.to_ascii_lowercase(), body.to_owned())
}

#[actix_web::test]
async fn streams_to_http_1_0_are_close_delimited_and_carry_events_raw() {
    let app = spawn_app().await;
    let (admin, seller, bea) = app.cast().await;
    let lot = app.open_lot(&seller, &admin, 1000, None, 3600).await;
    for (amount, accept, marker) in [
        (2000, "text/event-stream", "event: bid"),
        (5000, "application/x-ndjson", "\"type\":\"bid\""),
    ] {
        let mut socket = connect(&app).await;
        let request = format!("GET /lots/{lot}/events HTTP/1.0\r\nAccept: {accept}\r\n\r\n");
        socket.write_all(request.as_bytes()).await.expect("sent");
        let (text, _) = read_until(&mut socket, 5, |t| t.contains("\r\n\r\n")).await;
        let (head, _) = head_of(&text);
        assert!(
            head.starts_with("http/1.0 200") || head.starts_with("http/1.1 200"),
            "{head}"
        );
        assert!(!head.contains("transfer-encoding"), "{accept}: {head}");
        assert!(!head.contains("content-length"), "{head}");
        // HTTP/1.0 closes by default; the stream must not promise otherwise.
        assert!(!head.contains("keep-alive"), "{head}");

        assert_eq!(app.bid(&bea, &lot, amount).await.status(), 201);
        let (more, _) = read_until(&mut socket, 5, |t| t.contains(marker)).await;
        let (_, body) = head_of(&format!("{text}{more}"));
        assert!(body.contains(marker), "{accept}: {body}");
        // No chunk-size lines: the first line of the body is data, not hex.
        let first = body.lines().next().unwrap_or("");
        assert!(
            first.starts_with("retry:") || first.starts_with('{') || first.starts_with(':'),
            "{accept}: {first:?}"
        );
    }
}

#[actix_web::test]
async fn http_1_0_keep_alive_polls_keep_their_connection() {
    let app = spawn_app().await;
    let (admin, seller, bea) = app.cast().await;
    let lot = app.open_lot(&seller, &admin, 1000, None, 3600).await;
    let mut socket = connect(&app).await;
    let mut cursor = 0;
    for round in 0..3 {
        if round > 0 {
            assert_eq!(app.bid(&bea, &lot, 2000 + round * 500).await.status(), 201);
        }
        let request = format!(
            "GET /lots/{lot}/poll?after={cursor}&timeout=5 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
        );
        socket.write_all(request.as_bytes()).await.expect("sent");
        let (text, closed) = read_until(&mut socket, 8, |t| {
            let (head, body) = head_of(t);
            head.lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|n| n.trim().parse::<usize>().ok())
                .is_some_and(|n| t.contains("\r\n\r\n") && body.len() >= n)
        })
        .await;
        assert!(!closed, "round {round}: the connection was kept");
        let (head, body) = head_of(&text);
        assert!(head.contains("connection: keep-alive"), "{head}");
        let answer: serde_json::Value = serde_json::from_str(&body).expect("json");
        cursor = answer["cursor"].as_i64().expect("cursor");
        if round > 0 {
            assert_eq!(answer["events"][0]["type"], "bid", "round {round}: {body}");
        }
    }
}

#[actix_web::test]
async fn every_get_route_answers_head_and_every_route_answers_options() {
    let app = spawn_app().await;
    let (admin, seller, _) = app.cast().await;
    let lot = app.open_lot(&seller, &admin, 1000, None, 3600).await;
    // A sale and a stored image, so their GET routes have something to answer with.
    let starts = chrono::Utc::now() + chrono::Duration::hours(1);
    let sale: serde_json::Value = app
        .post_json(
            "/api/v1/sales",
            Some(&admin),
            serde_json::json!({"title": "S", "starts_at": starts.to_rfc3339(),
                "first_close_at": (starts + chrono::Duration::hours(1)).to_rfc3339()}),
        )
        .await
        .json()
        .await
        .expect("sale");
    let sale = sale["id"].as_str().expect("id").to_owned();
    let image = gavel::images::draw::still_life(1).expect("drawn");
    app.store
        .put_image_blob(&image.thumb.hash, &image.thumb.bytes)
        .await
        .expect("stored");
    let file = format!("{}.jpg", image.thumb.hash);
    let concrete = |path: &str| {
        let id = if path.contains("/sales/") {
            &sale
        } else {
            &lot
        };
        path.replace("{id}", id)
            .replace("{name}", "gavel.css")
            .replace("{action}", "approve")
            .replace("{file}", &file)
    };
    let mut heads = 0;
    for endpoint in all() {
        let path = concrete(endpoint.path);
        let mut socket = connect(&app).await;
        let request = format!("OPTIONS {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        socket.write_all(request.as_bytes()).await.expect("sent");
        let (text, _) = read_until(&mut socket, 5, |_| false).await;
        let (head, _) = head_of(&text);
        assert!(head.starts_with("http/1.1 204"), "OPTIONS {path}: {head}");
        let allow = head
            .lines()
            .find_map(|l| l.strip_prefix("allow: "))
            .unwrap_or_default()
            .to_uppercase();
        for e in all().filter(|e| e.path == endpoint.path) {
            assert!(allow.contains(e.method), "OPTIONS {path}: {allow}");
        }

        if endpoint.method != "GET" {
            continue;
        }
        assert!(allow.contains("HEAD"), "{path}: {allow}");
        let mut socket = connect(&app).await;
        let request = format!("HEAD {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        socket.write_all(request.as_bytes()).await.expect("sent");
        let began = std::time::Instant::now();
        let (text, closed) = read_until(&mut socket, 5, |_| false).await;
        assert!(closed, "HEAD {path} answered and closed");
        assert!(
            began.elapsed() < Duration::from_secs(3),
            "HEAD {path} waited"
        );
        let (head, body) = head_of(&text);
        assert!(
            !head.starts_with("http/1.1 404") && !head.starts_with("http/1.1 405"),
            "HEAD {path}: {head}"
        );
        if head.starts_with("http/1.1 200") {
            assert!(head.contains("content-type"), "HEAD {path}: {head}");
        }
        assert_eq!(body, "", "HEAD {path} has no body");
        heads += 1;
    }
    assert!(heads >= 10, "{heads} GET routes");
}
