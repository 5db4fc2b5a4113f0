//! Slow bodies (API.md §3a): a body trickling in a byte at a time is cut at its deadline with
//! 408 and the connection closed, on the API and on forms; held streams are not timed.

use crate::helpers::{Options, spawn_with};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends the head, then one byte of the body a second; returns what came back and how long
/// the server held the connection.
async fn trickle(port: u16, head: &str, tick: &[u8]) -> (String, Duration) {
    let mut socket = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connected");
    socket.write_all(head.as_bytes()).await.expect("head sent");
    let began = Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if began.elapsed() > Duration::from_secs(20) {
            panic!(
                "the server held a trickling body for 20 s: {}",
                String::from_utf8_lossy(&answer)
            );
        }
        // A byte, then a second of listening.
        let _ = socket.write_all(tick).await;
        match tokio::time::timeout(Duration::from_secs(1), socket.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    (
        String::from_utf8_lossy(&answer).into_owned(),
        began.elapsed(),
    )
}

#[actix_web::test]
async fn a_trickling_body_gets_408_and_its_connection_closed_while_streams_live_on() {
    let app = spawn_with(Options {
        body_timeout_secs: 3,
        ..Options::default()
    })
    .await;
    let (admin, seller, bea) = app.cast().await;
    let lot = app.open_lot(&seller, &admin, 1000, None, 3600).await;
    // A watcher whose stream outlives every body deadline below.
    let mut stream = app
        .api
        .get(app.url(&format!("/lots/{lot}/events")))
        .header("accept", "text/event-stream")
        .send()
        .await
        .expect("stream");

    let api = "POST /api/v1/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n";
    let (answer, held) = trickle(app.port(), api, b"x").await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"request_timeout\""), "{answer}");
    assert!(held < Duration::from_secs(8), "held {held:?}");

    let form = "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n";
    let (answer, held) = trickle(app.port(), form, b"1\r\nx\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("text/html"), "{answer}");
    assert!(held < Duration::from_secs(8), "held {held:?}");

    // The stream, open all along (well past the deadline), still carries a bid.
    assert_eq!(
        app.bid(&bea, &lot, 1500).await.status(),
        reqwest::StatusCode::CREATED
    );
    let mut seen = String::new();
    let until = Instant::now() + Duration::from_secs(5);
    while !seen.contains("event: bid") && Instant::now() < until {
        match tokio::time::timeout(Duration::from_secs(5), stream.chunk()).await {
            Ok(Ok(Some(chunk))) => seen.push_str(&String::from_utf8_lossy(&chunk)),
            _ => break,
        }
    }
    assert!(seen.contains("event: bid"), "{seen}");
}

/// A photograph from a slow uplink: an upload may take longer in all than a form (never a longer
/// silence), so one arriving steadily past the form deadline is taken.
#[actix_web::test]
async fn a_slow_but_steady_upload_outlasts_the_form_deadline() {
    let app = spawn_with(Options {
        body_timeout_secs: 2,
        ..Options::default()
    })
    .await;
    let (_, seller, _) = app.cast().await;
    let lot = app.offer(&seller, 1_000, None, 600).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let mut png = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image::RgbImage::new(64, 48))
        .write_to(&mut png, image::ImageFormat::Png)
        .expect("png");
    let boundary = "slowly";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"p.png\"\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&png.into_inner());
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let head = format!(
        "POST /api/v1/lots/{lot}/images HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {seller}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut socket = TcpStream::connect(("127.0.0.1", app.port()))
        .await
        .expect("connected");
    socket.write_all(head.as_bytes()).await.expect("head");
    // Four pieces a second apart: 3 s in all, past the 2 s a form gets, never 2 s silent.
    let began = Instant::now();
    for piece in body.chunks(body.len().div_ceil(4)) {
        socket.write_all(piece).await.expect("piece");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut answer))
        .await
        .expect("answered")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(began.elapsed() > Duration::from_secs(3));
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
}
