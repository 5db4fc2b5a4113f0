//! A worker process: holds its share of watchers, records when each event arrives, then checks
//! every watcher against the list of bids the coordinator placed.

use super::http::{self, now_us};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Sse,
    LongPoll,
    /// A user's notices stream (`/me/events`); its plan entry names the user's token.
    Notices,
}

/// What one watcher saw: (event id, received at µs).
type Seen = Arc<Mutex<Vec<(i64, u64)>>>;

pub struct WorkerArgs {
    pub server: SocketAddr,
    pub source: Option<IpAddr>,
    /// (lot id, cursor, watchers on it, transport)
    pub watchers: Vec<(String, i64, usize, Kind)>,
    /// Zero: the event loop sleeps until a socket is readable.
    pub read_every: std::time::Duration,
}

/// Connections a worker has opening at once. Past the server's listen queue (somaxconn, 4,096
/// by default) the kernel drops SYNs and the client retries a second later, so an unbounded
/// rush measures the retry timer rather than the server.
const OPENING_AT_ONCE: usize = 1_024;

pub async fn run(args: WorkerArgs) -> anyhow::Result<()> {
    super::pace::read_in_rounds(args.read_every);
    let gate = Arc::new(tokio::sync::Semaphore::new(OPENING_AT_ONCE));
    let mut all: Vec<(String, Kind, Seen)> = Vec::new();
    let mut pending = Vec::new();
    for (lot, cursor, n, kind) in &args.watchers {
        for _ in 0..*n {
            let seen: Seen = Arc::new(Mutex::new(Vec::new()));
            all.push((lot.clone(), *kind, seen.clone()));
            pending.push(match kind {
                Kind::Sse => {
                    let path = format!("/lots/{lot}/events");
                    sse(args.server, args.source, path, None, seen, gate.clone()).await
                }
                Kind::Notices => {
                    let token = Some(lot.clone());
                    sse(
                        args.server,
                        args.source,
                        "/me/events".into(),
                        token,
                        seen,
                        gate.clone(),
                    )
                    .await
                }
                Kind::LongPoll => {
                    long_poll(
                        args.server,
                        args.source,
                        lot.clone(),
                        *cursor,
                        seen,
                        gate.clone(),
                    )
                    .await
                }
            });
        }
    }
    let mut opened = Vec::with_capacity(pending.len());
    for p in pending {
        opened.push(p.await.unwrap_or(Opened::Failed));
    }
    let count = |kind| opened.iter().filter(|o| **o == kind).count();
    println!(
        "ready {} {} {}",
        count(Opened::Held),
        count(Opened::Refused),
        count(Opened::Failed)
    );
    // Watchers not held are counted apart above, not as missing events.
    let all: Vec<_> = all
        .into_iter()
        .zip(opened)
        .filter_map(|(w, o)| (o == Opened::Held).then_some(w))
        .collect();

    // The coordinator then sends the bids it placed: "event_id lot_id start_us", then "end".
    let mut expected: HashMap<String, Vec<(i64, u64)>> = HashMap::new();
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        if line == "end" {
            break;
        }
        let mut parts = line.split(' ');
        if let (Some(id), Some(lot), Some(start)) = (parts.next(), parts.next(), parts.next()) {
            expected
                .entry(lot.to_owned())
                .or_default()
                .push((id.parse()?, start.parse()?));
        }
    }

    let (mut missing, mut duplicated, mut reordered, mut delivered) = (0u64, 0u64, 0u64, 0u64);
    let mut latencies: Vec<u64> = Vec::new();
    for (lot, kind, seen) in &all {
        let Some(want) = expected.get(lot) else {
            continue;
        };
        let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
        if *kind == Kind::Notices {
            // The coordinator cannot know a notice's id, only that the user was outbid: the
            // n-th notice answers the n-th expectation; one id twice is a duplicate.
            let mut ids: Vec<i64> = seen.iter().map(|(id, _)| *id).collect();
            ids.sort_unstable();
            ids.dedup();
            duplicated += (seen.len() - ids.len()) as u64;
            reordered += seen.windows(2).filter(|w| w[1].0 < w[0].0).count() as u64;
            let mut firsts: Vec<(i64, u64)> = Vec::new();
            for (id, at) in &seen {
                if !firsts.iter().any(|(i, _)| i == id) {
                    firsts.push((*id, *at));
                }
            }
            for (i, (_, start)) in want.iter().enumerate() {
                match firsts.get(i) {
                    Some((_, at)) => {
                        delivered += 1;
                        latencies.push(at.saturating_sub(*start));
                    }
                    None => missing += 1,
                }
            }
            continue;
        }
        let starts: HashMap<i64, u64> = want.iter().copied().collect();
        let mut got: HashMap<i64, u64> = HashMap::new();
        let mut last = 0;
        for (id, at) in seen {
            let Some(start) = starts.get(&id) else {
                continue;
            };
            if got.insert(id, at).is_some() {
                duplicated += 1;
                continue;
            }
            if id < last {
                reordered += 1;
            }
            last = id;
            delivered += 1;
            latencies.push(at.saturating_sub(*start));
        }
        missing += want.iter().filter(|(id, _)| !got.contains_key(id)).count() as u64;
    }
    let joined: Vec<String> = latencies.iter().map(u64::to_string).collect();
    println!(
        "result {delivered} {missing} {duplicated} {reordered} {}",
        joined.join(",")
    );
    Ok(())
}

/// How a watcher's first answer went.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Opened {
    Held,
    /// 503 with `Retry-After`: the server's stream limit, answered as API.md says.
    Refused,
    /// Anything else: no connection, another status, or a 503 without `Retry-After`.
    Failed,
}

impl Opened {
    fn from_head(head: &[u8]) -> Opened {
        if head.starts_with(b"HTTP/1.1 200") {
            Opened::Held
        } else if head.starts_with(b"HTTP/1.1 503")
            && http::header(head, "retry-after").is_some_and(|v| v.parse::<u32>().is_ok())
        {
            Opened::Refused
        } else {
            Opened::Failed
        }
    }
}

type Connected = tokio::sync::oneshot::Receiver<Opened>;

/// A connection, and the gate's permit to hold until its first answer arrives.
async fn open(
    gate: &Arc<tokio::sync::Semaphore>,
    server: SocketAddr,
    source: Option<IpAddr>,
) -> Option<(tokio::sync::OwnedSemaphorePermit, tokio::net::TcpStream)> {
    let permit = gate.clone().acquire_owned().await.ok()?;
    let conn = http::connect(server, source).await.ok()?;
    Some((permit, conn))
}

/// Opens an SSE stream; the returned receiver fires once the response head is in.
async fn sse(
    server: SocketAddr,
    source: Option<IpAddr>,
    path: String,
    token: Option<String>,
    seen: Seen,
    gate: Arc<tokio::sync::Semaphore>,
) -> Connected {
    let (ready, connected) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let Some((opening, mut conn)) = open(&gate, server, source).await else {
            return;
        };
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: gavel\r\nAccept: text/event-stream\r\n{auth}\r\n"
        );
        if conn.write_all(req.as_bytes()).await.is_err() {
            return;
        }
        let mut buf: Vec<u8> = Vec::with_capacity(8192);
        // The whole head first: a refusal's Retry-After may come in a later read.
        let head_end = loop {
            if !read_some(&mut conn, &mut buf).await {
                return;
            }
            if let Some(end) = http::find(&buf, b"\r\n\r\n") {
                break end;
            }
        };
        drop(opening);
        let opened = Opened::from_head(&buf[..head_end]);
        let _ = ready.send(opened);
        if opened != Opened::Held {
            return;
        }
        // Events that came with the head arrived when it did.
        let mut at = now_us();
        loop {
            take_ids(&mut buf, at, &seen);
            if !read_some(&mut conn, &mut buf).await {
                return;
            }
            at = now_us();
        }
    });
    connected
}

/// Reads what the socket has into `buf`; false once it is closed or broken.
async fn read_some(conn: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> bool {
    buf.reserve(4096);
    matches!(conn.read_buf(buf).await, Ok(n) if n > 0)
}

/// Records every complete "id: N" line in `buf` as seen at `at`; keeps the unfinished tail.
fn take_ids(buf: &mut Vec<u8>, at: u64, seen: &Seen) {
    let mut consumed = 0;
    while let Some(pos) = http::find(&buf[consumed..], b"\nid: ") {
        let start = consumed + pos + 5;
        let Some(end) = buf[start..].iter().position(|b| *b == b'\n') else {
            break;
        };
        if let Ok(id) = std::str::from_utf8(&buf[start..start + end])
            .unwrap_or("")
            .trim()
            .parse::<i64>()
            && let Ok(mut s) = seen.lock()
        {
            s.push((id, at));
        }
        consumed = start + end;
    }
    buf.drain(..consumed);
    if buf.len() > 1 << 20 {
        buf.clear();
    }
}

async fn long_poll(
    server: SocketAddr,
    source: Option<IpAddr>,
    lot: String,
    mut cursor: i64,
    seen: Seen,
    gate: Arc<tokio::sync::Semaphore>,
) -> Connected {
    let (ready, connected) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let Some((opening, mut conn)) = open(&gate, server, source).await else {
            return;
        };
        let mut opening = Some(opening);
        let mut ready = Some(ready);
        // Kept from poll to poll, like a bidder's: the tool shares the cores with the server.
        let (mut request, mut buf) = (Vec::with_capacity(256), Vec::with_capacity(4096));
        loop {
            // The first poll answers at once: that is "connected".
            let wait = if ready.is_some() { 0 } else { 50 };
            let path = format!("/lots/{lot}/poll?after={cursor}&timeout={wait}");
            http::write_request(&mut request, "GET", &path, None, None);
            let Ok((status, body)) = http::exchange(&mut conn, &request, &mut buf).await else {
                return;
            };
            let at = now_us();
            opening.take();
            if let Some(r) = ready.take() {
                let _ = r.send(Opened::from_head(&buf[..body.start]));
            }
            if status != 200 {
                return;
            }
            let Ok(polled) = serde_json::from_slice::<Polled>(&buf[body]) else {
                return;
            };
            if let Ok(mut s) = seen.lock() {
                s.extend(polled.events.iter().map(|e| (e.id, at)));
            }
            cursor = polled.cursor.unwrap_or(cursor);
        }
    });
    connected
}

/// A long poll's answer: only the ids are read, the rest of each event is skipped unparsed.
#[derive(serde::Deserialize)]
struct Polled {
    events: Vec<PolledEvent>,
    cursor: Option<i64>,
}

#[derive(serde::Deserialize)]
struct PolledEvent {
    id: i64,
}
