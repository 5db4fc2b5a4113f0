//! Long polls and streams on connections that only poll or stream are served without actix-http
//! (`web::live_connections`): the same bytes as the routed handlers, both poll protocols (the
//! JSON `/poll` and Nchan's `/lots/{id}/next`), SSE and NDJSON, keep-alive and close as HTTP/1.0
//! and 1.1 ask, a watcher that hangs up let go at once, and anything else handed to actix-http
//! mid-connection.

use crate::helpers::{TestApp, spawn_app};
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One answer read off a connection: status line, headers (lower-cased, no `date`), body.
#[derive(Debug, PartialEq)]
struct Answer {
    status: String,
    headers: BTreeSet<String>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find_map(|h| h.strip_prefix(name)?.strip_prefix(": "))
    }
}

struct Conn {
    socket: TcpStream,
    read: Vec<u8>,
}

impl Conn {
    async fn open(app: &TestApp) -> Conn {
        let socket = TcpStream::connect(("127.0.0.1", app.port()))
            .await
            .expect("connected");
        Conn {
            socket,
            read: Vec::new(),
        }
    }

    /// A connection actix-http serves: its first request was not a poll.
    async fn routed(app: &TestApp) -> Conn {
        let mut conn = Conn::open(app).await;
        let health = conn.ask("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n").await;
        assert!(health.status.contains("200"), "{health:?}");
        conn
    }

    async fn send(&mut self, request: &str) {
        self.socket
            .write_all(request.as_bytes())
            .await
            .expect("sent");
    }

    async fn ask(&mut self, request: &str) -> Answer {
        self.send(request).await;
        self.answer().await
    }

    /// The next answer, within 10 s (a 304 and a 200 with `content-length` are complete).
    async fn answer(&mut self) -> Answer {
        let end = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(answer) = self.complete() {
                return answer;
            }
            let mut buf = [0u8; 8192];
            match tokio::time::timeout_at(end, self.socket.read(&mut buf)).await {
                Ok(Ok(0)) => panic!("closed before a whole answer: {:?}", self.text()),
                Ok(Ok(n)) => self.read.extend_from_slice(&buf[..n]),
                Ok(Err(e)) => panic!("read: {e}"),
                Err(_) => panic!("no whole answer in 10 s: {:?}", self.text()),
            }
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.read).into_owned()
    }

    fn complete(&mut self) -> Option<Answer> {
        let text = self.text();
        let (head, rest) = text.split_once("\r\n\r\n")?;
        let mut lines = head.lines();
        let status = lines.next()?.to_owned();
        let headers: BTreeSet<String> = lines
            .map(str::to_ascii_lowercase)
            .filter(|l| !l.starts_with("date: "))
            .collect();
        let length = headers
            .iter()
            .find_map(|h| h.strip_prefix("content-length: ")?.parse::<usize>().ok())
            .unwrap_or(0);
        if rest.len() < length {
            return None;
        }
        let body = rest[..length].to_owned();
        self.read.drain(..head.len() + 4 + length);
        Some(Answer {
            status,
            headers,
            body,
        })
    }

    /// Whether the server closes the connection within `secs`, reading what else comes.
    async fn closed_within(&mut self, secs: u64) -> bool {
        let end = tokio::time::Instant::now() + Duration::from_secs(secs);
        let mut buf = [0u8; 1024];
        loop {
            match tokio::time::timeout_at(end, self.socket.read(&mut buf)).await {
                Ok(Ok(0) | Err(_)) => return true,
                Ok(Ok(n)) => self.read.extend_from_slice(&buf[..n]),
                Err(_) => return false,
            }
        }
    }
}

async fn direct_live(app: &TestApp) -> u64 {
    metric(app, "gavel_direct_live_total ").await
}

async fn metric(app: &TestApp, prefix: &str) -> u64 {
    app.metrics()
        .await
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{prefix} is listed"))
}

/// Every kind of poll, asked on a fresh connection and on one actix-http serves, gets the same
/// status, headers and body; only the fresh connections' polls are counted as direct.
#[actix_web::test]
async fn polls_on_fresh_connections_get_the_routed_answer_byte_for_byte() {
    let app = spawn_app().await;
    let (admin, seller, bea) = app.cast().await;
    let lot = app.open_lot(&seller, &admin, 1000, None, 3600).await;
    assert_eq!(app.bid(&bea, &lot, 1000).await.status(), 201);
    let latest = app.lot(&lot, None).await["last_event_id"]
        .as_i64()
        .expect("last event");

    let requests = [
        format!("GET /lots/{lot}/poll?after=0&timeout=5 HTTP/1.1\r\nHost: t\r\n\r\n"),
        format!("GET /poll?after=0&lots={lot} HTTP/1.1\r\nHost: t\r\n\r\n"),
        format!("GET /lots/{lot}/poll HTTP/1.1\r\nHost: t\r\nLast-Event-ID: 1\r\n\r\n"),
        format!("GET /lots/{lot}/poll?after={latest}&timeout=1 HTTP/1.1\r\nHost: t\r\n\r\n"),
        format!("GET /lots/{lot}/poll?after=0 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
        format!("GET /lots/{lot}/poll?after=0 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
        format!("GET /lots/{lot}/next HTTP/1.1\r\nHost: t\r\nIf-None-Match: \"0\"\r\n\r\n"),
        format!(
            "GET /lots/{lot}/next?timeout=1 HTTP/1.1\r\nHost: t\r\nIf-None-Match: W/\"{latest}\"\r\n\r\n"
        ),
        format!("GET /lots/{lot}/next?timeout=1 HTTP/1.0\r\nIf-None-Match: \"1\"\r\n\r\n"),
    ];
    for request in &requests {
        let before = direct_live(&app).await;
        let direct = Conn::open(&app).await.ask(request).await;
        assert_eq!(direct_live(&app).await, before + 1, "{request}");
        let routed = Conn::routed(&app).await.ask(request).await;
        assert_eq!(direct, routed, "{request}");
        assert!(direct.status.contains(" 200 ") || direct.status.contains(" 304 "));
    }
    assert_eq!(direct_live(&app).await, requests.len() as u64);
}

/// Nchan's protocol: one event per answer, its id the ETag; `If-None-Match` the cursor, so a
/// burst arrives whole and in order over successive polls; 304 with the same ETag when nothing
/// came; without an ETag the next event from now on. Its errors are the routed handler's.
#[actix_web::test]
async fn next_hands_out_one_event_per_answer_in_order() {
    let app = spawn_app().await;
    let (admin, seller, bea) = app.cast().await;
    let lot = app.open_lot(&seller, &admin, 1000, None, 3600).await;
    let mut conn = Conn::open(&app).await;
    let mut routed = Conn::routed(&app).await;
    // Without an ETag it waits for the next event; the relay's answer is the routed one.
    for c in [&mut conn, &mut routed] {
        c.send(&format!("GET /lots/{lot}/next HTTP/1.1\r\nHost: t\r\n\r\n"))
            .await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.bid(&bea, &lot, 1000).await.status(), 201);
    let first = conn.answer().await;
    assert_eq!(first, routed.answer().await);
    assert!(first.status.contains(" 200 "), "{first:?}");
    let event: serde_json::Value = serde_json::from_str(&first.body).expect("json");
    assert_eq!(event["type"], "bid");
    assert_eq!(event["bid"]["amount_cents"], 1000);
    let mut etag = first.header("etag").expect("etag").to_owned();
    assert_eq!(etag, format!("\"{}\"", event["id"]));

    // Three bids while nobody polls: three answers, in order, then 304.
    for amount in [1100, 1300, 1500] {
        assert_eq!(app.bid(&bea, &lot, amount).await.status(), 201);
    }
    for amount in [1100, 1300, 1500] {
        let answer = conn
            .ask(&format!(
                "GET /lots/{lot}/next HTTP/1.1\r\nHost: t\r\nIf-None-Match: {etag}\r\n\r\n"
            ))
            .await;
        let event: serde_json::Value = serde_json::from_str(&answer.body).expect("json");
        assert_eq!(event["bid"]["amount_cents"], amount, "{answer:?}");
        etag = answer.header("etag").expect("etag").to_owned();
    }
    let idle = conn
        .ask(&format!(
            "GET /lots/{lot}/next?timeout=1 HTTP/1.1\r\nHost: t\r\nIf-None-Match: {etag}\r\n\r\n"
        ))
        .await;
    assert!(idle.status.contains(" 304 "), "{idle:?}");
    assert_eq!(idle.header("etag"), Some(etag.as_str()));
    assert_eq!(idle.body, "");

    // HEAD: the headers, at once.
    let head = Conn::open(&app)
        .await
        .ask(&format!(
            "HEAD /lots/{lot}/next HTTP/1.1\r\nHost: t\r\nIf-None-Match: {etag}\r\n\r\n"
        ))
        .await;
    assert!(head.status.contains(" 304 "), "{head:?}");
    // Errors as the API has them.
    for (request, status) in [
        (
            format!("GET /lots/{lot}/next HTTP/1.1\r\nHost: t\r\nIf-None-Match: soon\r\n\r\n"),
            " 422 ",
        ),
        (
            "GET /lots/01900000-0000-7000-8000-000000000000/next HTTP/1.1\r\nHost: t\r\n\r\n"
                .to_owned(),
            " 404 ",
        ),
        (
            format!("GET /lots/{lot}/next?timeout=x HTTP/1.1\r\nHost: t\r\n\r\n"),
            " 422 ",
        ),
    ] {
        let answer = Conn::open(&app).await.ask(&request).await;
        assert!(answer.status.contains(status), "{request}: {answer:?}");
    }
}

/// A poller that hangs up while it waits is let go at once; requests sent behind a poll are
/// answered after it in order, a poll's by this path and anything else by actix-http. In both
/// protocols: a `/next` poll waits parked on its worker's relay, which writes its answer.
#[actix_web::test]
async fn hang_ups_are_noticed_and_pipelined_requests_answered_in_order() {
    let app = spawn_app().await;
    let (admin, seller, bea) = app.cast().await;
    let lot = app.open_lot(&seller, &admin, 1000, None, 3600).await;
    let held = "gavel_streams_held{transport=\"longpoll\"} ";
    let mut answered = Vec::new();
    for (protocol, amount) in [("poll", 1000), ("next", 1100)] {
        let latest = app.lot(&lot, None).await["last_event_id"]
            .as_i64()
            .expect("last event");
        let poll = match protocol {
            "poll" => format!(
                "GET /lots/{lot}/poll?after={latest}&timeout=50 HTTP/1.1\r\nHost: t\r\n\r\n"
            ),
            _ => format!(
                "GET /lots/{lot}/next?timeout=50 HTTP/1.1\r\nHost: t\r\nIf-None-Match: \"{latest}\"\r\n\r\n"
            ),
        };
        let mut waiting = Conn::open(&app).await;
        waiting.send(&poll).await;
        wait_for(&app, held, 1).await;
        drop(waiting);
        wait_for(&app, held, 0).await;

        // A poll, then (sent while it waits) another poll and a page: each answered, in order.
        let mut conn = Conn::open(&app).await;
        conn.send(&poll).await;
        wait_for(&app, held, 1).await;
        conn.send(&format!("{poll}GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"))
            .await;
        let mut lone = Conn::open(&app).await;
        lone.send(&poll).await;
        wait_for(&app, held, 2).await;
        let bid_at = std::time::Instant::now();
        assert_eq!(app.bid(&bea, &lot, amount).await.status(), 201);
        for _ in 0..2 {
            let answer = conn.answer().await;
            let body: serde_json::Value = serde_json::from_str(&answer.body).expect("json");
            let event = match protocol {
                "poll" => &body["events"][0],
                _ => &body,
            };
            assert_eq!(
                event["bid"]["amount_cents"], amount,
                "{protocol}: {answer:?}"
            );
        }
        let health = conn.answer().await;
        assert_eq!(health.body, "ok", "{protocol}");
        // At once, not when some timer (the 5 s idle one) next wakes the connection.
        assert!(bid_at.elapsed() < Duration::from_secs(3), "{protocol}");
        assert!(lone.answer().await.status.contains(" 200 "), "{protocol}");
        wait_for(&app, held, 0).await;
        answered.push(lone);
    }
    // Answered and then silent: closed as idle 5 s after the answer, not the poll's 50.
    for conn in &mut answered {
        assert!(conn.closed_within(9).await);
    }
}

/// What is not a whole plain poll in the first read goes to actix-http, which answers it as it
/// answers any client: HTTP/1.1 without a Host, a head cut short, junk, a head too long. A
/// connection that sends nothing is closed after 5 s, and the server serves on.
#[actix_web::test]
async fn odd_clients_get_actix_https_answers_and_idle_ones_are_closed() {
    let app = spawn_app().await;
    let (admin, seller, _) = app.cast().await;
    let lot = app.open_lot(&seller, &admin, 1000, None, 3600).await;
    let no_host = Conn::open(&app)
        .await
        .ask(&format!("GET /lots/{lot}/poll?after=0 HTTP/1.1\r\n\r\n"))
        .await;
    assert!(no_host.status.contains(" 400 "), "{no_host:?}");
    let junk = Conn::open(&app).await.ask("\x16\x03\x01junk\r\n\r\n").await;
    assert!(junk.status.contains(" 400 "), "{junk:?}");
    // A head longer than one read is replayed to actix-http, which answers the poll.
    let before = direct_live(&app).await;
    let long = |pad: usize| {
        format!(
            "GET /lots/{lot}/poll?after=0 HTTP/1.1\r\nHost: t\r\nX-Pad: {}\r\n\r\n",
            "a".repeat(pad)
        )
    };
    let answer = Conn::open(&app).await.ask(&long(20_000)).await;
    assert!(answer.body.contains("\"type\":\"opened\""), "{answer:?}");
    assert_eq!(direct_live(&app).await, before);
    // One far longer than actix-http takes is refused.
    let mut conn = Conn::open(&app).await;
    conn.send(&long(300_000)).await;
    assert!(conn.closed_within(10).await, "a 300 KB head is not held");
    assert!(!conn.text().contains(" 200 "), "{}", conn.text());

    // Half a head, then silence: actix-http's request timeout answers 408 and closes.
    let mut cut = Conn::open(&app).await;
    cut.send(&format!("GET /lots/{lot}/poll?after=0 HTTP/1.1\r\nHo"))
        .await;
    let started = std::time::Instant::now();
    assert!(cut.closed_within(12).await, "a cut head is not held");
    assert!(cut.text().contains(" 408 "), "{}", cut.text());
    assert!(started.elapsed() < Duration::from_secs(8));

    let mut idle = Conn::open(&app).await;
    let started = std::time::Instant::now();
    assert!(idle.closed_within(12).await, "an idle connection is closed");
    assert!(started.elapsed() < Duration::from_secs(8));
    assert_eq!(app.get_json("/healthz", None).await.status(), 200);
}

async fn wait_for(app: &TestApp, prefix: &str, value: u64) {
    let started = std::time::Instant::now();
    while metric(app, prefix).await != value {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{prefix} reaches {value}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Streams on fresh connections are served without actix-http too, with the routed stream's
/// head and body: chunked to HTTP/1.1, close-delimited to HTTP/1.0, SSE or NDJSON by `Accept`,
/// from `Last-Event-ID` or `after`; a bid reaches both; a watcher that leaves is let go.
#[actix_web::test]
async fn streams_on_fresh_connections_are_the_routed_streams() {
    let app = spawn_app().await;
    let (admin, seller, bea) = app.cast().await;
    let lot = app.open_lot(&seller, &admin, 1000, None, 3600).await;
    let held = "gavel_streams_held{transport=\"sse\"} ";
    let requests = [
        format!("GET /lots/{lot}/events?after=0 HTTP/1.1\r\nHost: t\r\n\r\n"),
        format!("GET /events?lots={lot} HTTP/1.1\r\nHost: t\r\nLast-Event-ID: 0\r\n\r\n"),
        format!("GET /lots/{lot}/events?after=0 HTTP/1.0\r\nAccept: application/x-ndjson\r\n\r\n"),
    ];
    let mut open = Vec::new();
    for (i, request) in requests.iter().enumerate() {
        let before = direct_live(&app).await;
        let mut direct = Conn::open(&app).await;
        direct.send(request).await;
        let mut routed = Conn::routed(&app).await;
        routed.send(request).await;
        let direct_head = stream_head(&mut direct).await;
        assert_eq!(direct_head, stream_head(&mut routed).await, "{request}");
        assert_eq!(direct_live(&app).await, before + 1, "{request}");
        // The backlog (the lot opened), then a bid, the same on both.
        assert_eq!(
            app.bid(&bea, &lot, 1000 + 100 * i as i64).await.status(),
            201
        );
        let marker = format!("\"amount_cents\":{}", 1000 + 100 * i);
        let (got_direct, got_routed) = (
            until(&mut direct, &marker).await,
            until(&mut routed, &marker).await,
        );
        assert!(got_direct.contains("\"type\":\"opened\""), "{got_direct}");
        let events = |text: &str| text.matches("\"type\":").count();
        assert_eq!(events(&got_direct), events(&got_routed), "{request}");
        open.push((direct, routed));
    }
    // Two SSE streams each way, then none once their watchers hang up.
    wait_for(&app, held, 4).await;
    drop(open);
    wait_for(&app, held, 0).await;
}

/// The head of a stream, once it is whole (status and headers without `date`).
async fn stream_head(conn: &mut Conn) -> (String, BTreeSet<String>) {
    let text = until(conn, "\r\n\r\n").await;
    let (head, _) = text.split_once("\r\n\r\n").expect("a head");
    let mut lines = head.lines();
    let status = lines.next().unwrap_or_default().to_owned();
    (
        status,
        lines
            .map(str::to_ascii_lowercase)
            .filter(|l| !l.starts_with("date: "))
            .collect(),
    )
}

/// Everything read on `conn` until `marker` shows (within 10 s).
async fn until(conn: &mut Conn, marker: &str) -> String {
    let end = tokio::time::Instant::now() + Duration::from_secs(10);
    while !conn.text().contains(marker) {
        let mut buf = [0u8; 8192];
        match tokio::time::timeout_at(end, conn.socket.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => conn.read.extend_from_slice(&buf[..n]),
            other => panic!("{marker:?} never came ({other:?}): {}", conn.text()),
        }
    }
    conn.text()
}

/// `GAVEL_WORKERS` sets the server's worker threads, and pollers spread over all of them (each
/// worker hears the lot through its own relay, `live::relay`) get every event of a burst of
/// bids, in order, once.
#[actix_web::test]
async fn pollers_on_every_worker_get_every_event_of_a_burst() {
    let server = crate::helpers::Gavel::start(&[("GAVEL_WORKERS", "3")]).await;
    let tasks = std::fs::read_dir(format!("/proc/{}/task", server.child.id())).expect("threads");
    let workers = tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("actix-rt|system"))
        .count();
    assert_eq!(workers, 3);

    let admin = server.token("root").await;
    let seller = server.user("sam", "seller").await;
    let bidders = [
        server.user("bea", "bidder").await,
        server.user("cal", "bidder").await,
    ];
    let lot = server.open_lot(&seller, &admin, 3600).await;
    let start = server.lot(&lot).await["last_event_id"]
        .as_i64()
        .expect("last_event_id");
    let url = server.url(&format!("/lots/{lot}/next?timeout=20"));
    let pollers: Vec<_> = (0..24)
        .map(|_| {
            // A client each: a connection each, handed to the workers in turn.
            let (client, url) = (reqwest::Client::new(), url.clone());
            tokio::spawn(async move {
                let (mut etag, mut ids) = (format!("\"{start}\""), Vec::new());
                while ids.len() < 5 {
                    let res = client
                        .get(&url)
                        .header("If-None-Match", &etag)
                        .send()
                        .await
                        .expect("answered");
                    let status = res.status().as_u16();
                    etag = res.headers()["etag"].to_str().expect("etag").to_owned();
                    if status == 200 {
                        let event: serde_json::Value = res.json().await.expect("json");
                        ids.push(event["id"].as_i64().expect("id"));
                    } else {
                        assert_eq!(status, 304);
                    }
                }
                ids
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    for n in 0..5 {
        let res = server
            .post(
                &format!("/api/v1/lots/{lot}/bids"),
                Some(&bidders[n % 2]),
                serde_json::json!({"amount_cents": 1_000 * (n as i64 + 1)}),
            )
            .await;
        assert_eq!(res.status().as_u16(), 201, "bid {n}");
    }
    let log: serde_json::Value = server
        .client
        .get(server.url(&format!("/lots/{lot}/poll?after={start}&timeout=0")))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("json");
    let all: Vec<i64> = log["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(all.len(), 5, "{log}");
    for poller in pollers {
        let ids = tokio::time::timeout(Duration::from_secs(20), poller)
            .await
            .expect("in time")
            .expect("poller");
        assert_eq!(ids, all);
    }
}

#[test]
fn no_workers_is_refused_at_start() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gavel"))
        .args(["--bind", "127.0.0.1:0", "--workers", "0"])
        .output()
        .expect("gavel runs");
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("--workers"), "{said}");
}
