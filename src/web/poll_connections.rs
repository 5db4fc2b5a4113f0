//! Connections that only long-poll, served without actix-http. Why (measured, BENCHMARKS.md):
//! 10,000 pollers send a poll each after every event, and actix-http gives every connection two
//! 8 KiB buffers and a dispatcher, and every poll a request head, a response and their encoding:
//! a bare actix-web poller cost 20–22 µs of CPU per delivery and 19 KB per waiting poller,
//! against Nchan's 15–17 µs and 10 KB.
//!
//! Every plain-HTTP connection starts here. While its requests are plain polls of what the hub
//! knows (`fast_polls::plain_poll_target`: GET, no body, the canonical path and query), this loop
//! parses them with httparse, waits with the hub as the routed handler does (`poll::wait_after`)
//! and writes the same answer, headers included. A waiting poller holds its socket, its request's
//! few hundred bytes and a small task. The first request that is anything else (or a poll the
//! hub cannot answer: the routed handler then answers, with its error page if need be) goes to
//! actix-http with the bytes read so far, and the connection stays there.

use super::fast_polls::{plain_filter, plain_poll_target};
use crate::live::poll::{self, Answer, wait_after, wait_of};
use crate::live::{Filter, Hub, Source};
use actix_server::GracefulShutdownSignal;
use std::future::Future;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use uuid::Uuid;

/// A head longer than this, or with more headers than `MAX_HEADERS`, is left to actix-http.
const HEAD_LIMIT: usize = 8 * 1024;
const MAX_HEADERS: usize = 32;
/// How long a connection may sit without a request, as actix-http's keep-alive and first
/// request timeout allow.
const IDLE: Duration = Duration::from_secs(5);

pub struct Polls {
    hub: Arc<Hub>,
    /// The site's headers (`add_site_headers`), as written.
    site: Vec<u8>,
    stalled_after: Duration,
    shutdown: GracefulShutdownSignal,
}

impl Polls {
    pub fn new(
        hub: Arc<Hub>,
        secure: bool,
        stalled_after: Duration,
        shutdown: GracefulShutdownSignal,
    ) -> Polls {
        let mut headers = actix_web::http::header::HeaderMap::new();
        super::add_site_headers(&mut headers, secure);
        let mut site = Vec::new();
        for (name, value) in &headers {
            site.extend_from_slice(name.as_str().as_bytes());
            site.extend_from_slice(b": ");
            site.extend_from_slice(value.as_bytes());
            site.extend_from_slice(b"\r\n");
        }
        Polls {
            hub,
            site,
            stalled_after,
            shutdown,
        }
    }
}

/// The two long-poll protocols (API.md §4 and docs/API.md).
#[derive(Clone, Copy, PartialEq)]
enum Protocol {
    /// `/poll`: `{"events":[…],"cursor":N}`, the cursor in the query.
    Json,
    /// `/lots/{id}/next`: Nchan's, one event per answer, the cursor in `ETag`/`If-None-Match`.
    Next,
}

/// A poll read off the connection: what it follows and how, and how the connection goes on.
struct PlainPoll {
    protocol: Protocol,
    source: Source,
    after: i64,
    wait: Duration,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1: the answer's version, as actix-http answers.
    minor: u8,
    keep_alive: bool,
    /// The bytes of the request head, consumed once answered.
    len: usize,
}

enum Read {
    Poll(PlainPoll),
    /// Not (yet) a complete head.
    Partial,
    /// Anything else: actix-http's.
    Other,
}

/// Serves one connection: its plain polls here, then, from its first other request, `http`.
pub async fn serve<F, Fut>(io: TcpStream, polls: &Polls, http: F)
where
    F: FnOnce(Replayed, Option<SocketAddr>) -> Fut,
    Fut: Future,
{
    super::connections::drop_when_stalled(&io, polls.stalled_after);
    let peer = io.peer_addr().ok();
    let mut io = io;
    let mut buf = Vec::new();
    loop {
        let poll = loop {
            match read_poll(&buf, &polls.hub) {
                Read::Poll(poll) => break Some(poll),
                Read::Partial if buf.len() < HEAD_LIMIT => {}
                _ => break None,
            }
            let idle = buf.is_empty();
            let read = tokio::select! {
                read = tokio::time::timeout(IDLE, read_some(&io, &mut buf)) => read,
                () = polls.shutdown.notified(), if idle => return,
            };
            match read {
                Ok(Ok(0) | Err(_)) => return,
                Ok(Ok(_)) => {}
                // Idle: closed, as actix-http does. Part of a head: its timeout answers.
                Err(_) if idle => return,
                Err(_) => break None,
            }
        };
        let Some(poll) = poll else {
            http(Replayed::new(buf, io), peer).await;
            return;
        };
        let mut pipelined = Vec::new();
        let answer = tokio::select! {
            answer = wait_after(&polls.hub, &poll.source, poll.after, poll.wait) => answer,
            () = hung_up(&io, &mut pipelined) => return,
        };
        let Ok(answer) = answer else {
            // Refused or failed: the routed handler answers it, as it would have.
            http(Replayed::new(buf, io), peer).await;
            return;
        };
        let keep_alive = poll.keep_alive && !polls.hub.is_stopping();
        let out = response(polls, &poll, keep_alive, &answer);
        if io.write_all(&out).await.is_err() || !keep_alive {
            let _ = io.shutdown().await;
            return;
        }
        buf.drain(..poll.len);
        buf.extend_from_slice(&pipelined);
    }
}

/// Reads what the socket has into `buf`: the count, 0 when the peer has closed.
async fn read_some(io: &TcpStream, buf: &mut Vec<u8>) -> io::Result<usize> {
    loop {
        io.readable().await?;
        // On the stack, not in the connection's task: a waiting poller holds no buffer.
        let mut chunk = [0u8; 4096];
        match io.try_read(&mut chunk) {
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                return Ok(n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
}

/// Ends when the peer hangs up while its poll waits, or sends more than a head's worth: a
/// watcher that leaves is dropped at once. Requests sent meanwhile are kept in `pipelined`.
async fn hung_up(io: &TcpStream, pipelined: &mut Vec<u8>) {
    while matches!(read_some(io, pipelined).await, Ok(n) if n > 0) {
        if pipelined.len() > HEAD_LIMIT {
            return;
        }
    }
}

/// The request at the start of `buf`, if it is a plain poll this loop answers.
fn read_poll(buf: &[u8], hub: &Hub) -> Read {
    if buf.is_empty() {
        return Read::Partial;
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Read::Partial,
        Err(_) => return Read::Other,
    };
    if req.method != Some("GET") || tracing::enabled!(tracing::Level::DEBUG) {
        return Read::Other;
    }
    let (Some(target), Some(minor)) = (req.path, req.version) else {
        return Read::Other;
    };
    let (mut close, mut keep_alive_asked) = (false, false);
    let (mut last_event_id, mut if_none_match) = (None, None);
    // HTTP/1.1 without a Host is refused by actix-http (400): let it say so.
    let mut host = minor == 0;
    for header in req.headers.iter() {
        let name = header.name;
        host |= name.eq_ignore_ascii_case("host");
        if name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding")
            || name.eq_ignore_ascii_case("upgrade")
            || name.eq_ignore_ascii_case("expect")
        {
            return Read::Other;
        }
        if name.eq_ignore_ascii_case("connection") {
            let Ok(value) = std::str::from_utf8(header.value) else {
                return Read::Other;
            };
            for token in value.split(',').map(str::trim) {
                close |= token.eq_ignore_ascii_case("close");
                keep_alive_asked |= token.eq_ignore_ascii_case("keep-alive");
            }
        } else if name.eq_ignore_ascii_case("last-event-id") {
            match std::str::from_utf8(header.value) {
                Ok(v) if !v.trim().is_empty() => last_event_id = Some(v),
                Ok(_) => {}
                Err(_) => return Read::Other,
            }
        } else if name.eq_ignore_ascii_case("if-none-match") {
            if_none_match = std::str::from_utf8(header.value)
                .ok()
                .and_then(poll::if_none_match);
            if if_none_match.is_none() {
                return Read::Other;
            }
        }
    }
    if !host {
        return Read::Other;
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if let Some((lot, timeout)) = plain_next_target(path, query) {
        if !hub.is_known_open(lot) {
            return Read::Other;
        }
        return Read::Poll(PlainPoll {
            protocol: Protocol::Next,
            source: Source::Events(Filter::Lot(lot)),
            // Without an ETag, the next event from now on (`poll::lot_next`).
            after: if_none_match.unwrap_or_else(|| hub.latest_id()),
            wait: wait_of(timeout),
            minor,
            keep_alive: keeps_alive(minor, keep_alive_asked, close),
            len,
        });
    }
    let Some((lot, query)) = plain_poll_target(path, query) else {
        return Read::Other;
    };
    // Without a cursor a poll answers from the database at once: the routed handler's.
    let Some(after) = last_event_id
        .or(query.after.as_deref())
        .and_then(crate::live::cursor::parse_cursor)
    else {
        return Read::Other;
    };
    let Some(filter) = plain_filter(hub, lot, &query) else {
        return Read::Other;
    };
    Read::Poll(PlainPoll {
        protocol: Protocol::Json,
        source: Source::Events(filter),
        after,
        wait: wait_of(query.timeout),
        minor,
        keep_alive: keeps_alive(minor, keep_alive_asked, close),
        len,
    })
}

/// Whether the connection stays open after the answer, as actix-http decides: HTTP/1.0 only
/// when asked, HTTP/1.1 unless told to close.
fn keeps_alive(minor: u8, keep_alive_asked: bool, close: bool) -> bool {
    if minor == 0 {
        keep_alive_asked && !close
    } else {
        !close
    }
}

/// The lot and `timeout` of `/lots/{id}/next` in the plain form (as `plain_poll_target`).
fn plain_next_target(path: &str, query: &str) -> Option<(Uuid, Option<u64>)> {
    let id = path.strip_prefix("/lots/")?.strip_suffix("/next")?;
    (id.len() == 36).then_some(())?;
    let lot = Uuid::parse_str(id).ok()?;
    let mut timeout = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=')? {
            ("timeout", value) if timeout.is_none() => timeout = Some(value.parse().ok()?),
            _ => return None,
        }
    }
    Some((lot, timeout))
}

/// The answer as actix-http would write the routed handler's.
fn response(polls: &Polls, poll: &PlainPoll, keep_alive: bool, answer: &Answer) -> Vec<u8> {
    let (body, etag) = match poll.protocol {
        Protocol::Json => (Some(answer.body()), None),
        Protocol::Next => match answer.events.first() {
            Some(event) => (Some(event.json().to_vec()), Some(event.id)),
            None => (None, Some(answer.cursor)),
        },
    };
    let mut out = Vec::with_capacity(body.as_ref().map_or(0, Vec::len) + 256);
    let _ = match &body {
        Some(body) => write!(
            out,
            "HTTP/1.{} 200 OK\r\ncontent-length: {}\r\n",
            poll.minor,
            body.len()
        ),
        None => write!(out, "HTTP/1.{} 304 Not Modified\r\n", poll.minor),
    };
    match (poll.minor, keep_alive) {
        (0, true) => out.extend_from_slice(b"connection: keep-alive\r\n"),
        (1, false) => out.extend_from_slice(b"connection: close\r\n"),
        _ => {}
    }
    if body.is_some() {
        out.extend_from_slice(b"content-type: application/json\r\n");
    }
    out.extend_from_slice(b"cache-control: no-cache\r\n");
    if let Some(id) = etag {
        let _ = write!(out, "etag: \"{id}\"\r\n");
    }
    out.extend_from_slice(&polls.site);
    date::write(&mut out);
    out.extend_from_slice(b"\r\n");
    if let Some(body) = body {
        out.extend_from_slice(&body);
    }
    out
}

mod date {
    use std::cell::RefCell;
    use std::time::{SystemTime, UNIX_EPOCH};

    thread_local! {
        /// The `date` header of the current second, made once a second per thread.
        static LINE: RefCell<(u64, Vec<u8>)> = const { RefCell::new((u64::MAX, Vec::new())) };
    }

    pub fn write(out: &mut Vec<u8>) {
        let now = SystemTime::now();
        let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        LINE.with_borrow_mut(|(at, line)| {
            if *at != second {
                *at = second;
                *line = format!("date: {}\r\n", httpdate::fmt_http_date(now)).into_bytes();
            }
            out.extend_from_slice(line);
        });
    }
}

/// A connection handed to actix-http: the bytes already read from it, then the socket.
pub struct Replayed {
    read: Vec<u8>,
    at: usize,
    io: TcpStream,
}

impl Replayed {
    fn new(read: Vec<u8>, io: TcpStream) -> Replayed {
        Replayed { read, at: 0, io }
    }
}

impl AsyncRead for Replayed {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.at < this.read.len() {
            let n = buf.remaining().min(this.read.len() - this.at);
            buf.put_slice(&this.read[this.at..this.at + n]);
            this.at += n;
            if this.at == this.read.len() {
                this.read = Vec::new();
                this.at = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Replayed {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
