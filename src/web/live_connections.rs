//! Connections that only long-poll or stream, served without actix-http. Why (measured,
//! BENCHMARKS.md): 10,000 pollers send a poll each after every event, and actix-http gives every
//! connection two 8 KiB buffers and a dispatcher, and every poll a request head, a response and
//! their encoding: a bare actix-web poller cost 20–22 µs of CPU per delivery and 19 KB per
//! waiting poller, against Nchan's 15–17 µs and 10 KB. A held stream paid the same buffers.
//!
//! Every plain-HTTP connection starts here. While its requests are plain polls or streams of what
//! the hub knows (GET, no body, the canonical path and query: `fast_polls::plain_poll_target` for
//! `/poll`, `plain_next_target` for Nchan's protocol on `/lots/{id}/next`, `plain_stream_target`
//! for `/events`), this loop parses them with httparse, waits with the hub as the routed handlers
//! do (`poll::wait_after`, `stream::Watch`) and writes the same answer, headers included (tests
//! compare them). A waiting poller holds its socket, its request's few hundred bytes and a small
//! task; a stream its `Watch`. The first request that is anything else (or one the hub refuses:
//! the routed handler then answers, with its error page) goes to actix-http with the bytes read
//! so far, and the connection stays there.

use super::fast_polls::{lot_in_path, plain_filter, plain_pairs, plain_poll_target};
use super::parked_poll::{Conn, Outcome, Parking};
use crate::live::poll::{self, Answer, wait_after_on, wait_of};
use crate::live::stream::Watch;
use crate::live::{Filter, Hub, Source};
use actix_server::GracefulShutdownSignal;
use std::future::Future;
use std::future::poll_fn;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, Interest, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use uuid::Uuid;

/// Bytes a client may send ahead while its poll waits; more and it is let go.
pub(super) const HEAD_LIMIT: usize = 8 * 1024;
/// A head with more headers than this is left to actix-http.
const MAX_HEADERS: usize = 32;
/// How long a connection may sit without a request, as actix-http's keep-alive and first
/// request timeout allow.
pub(super) const IDLE: Duration = Duration::from_secs(5);

/// Polls answered here, for `/metrics`: how much of the long-poll traffic skips actix-http.
#[derive(Default)]
pub struct Answered(AtomicU64);

impl Answered {
    pub fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    pub(super) fn count_one(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

pub struct Polls {
    pub(super) hub: Arc<Hub>,
    pub(super) answered: Arc<Answered>,
    /// The site's headers (`add_site_headers`), as written.
    site: Vec<u8>,
    stalled_after: Duration,
    shutdown: GracefulShutdownSignal,
}

impl Polls {
    pub fn new(
        hub: Arc<Hub>,
        answered: Arc<Answered>,
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
            answered,
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

/// A stream read off the connection (`/lots/{id}/events`, `/events?lots=`).
struct PlainStream {
    source: Source,
    after: Option<i64>,
    ndjson: bool,
    /// HTTP/1.0: close-delimited, not chunked (RFC 9112), as `stream::stream_response`.
    minor: u8,
}

enum Read {
    Poll(PlainPoll),
    Stream(PlainStream),
    /// Not (yet) a complete head.
    Partial,
    /// Anything else: actix-http's.
    Other,
}

/// Serves one connection: its plain polls here, then, from its first other request, `http`.
pub async fn serve<F, Fut>(io: TcpStream, polls: Arc<Polls>, http: F)
where
    F: FnOnce(Replayed, Option<SocketAddr>) -> Fut,
    Fut: Future,
{
    super::connections::drop_when_stalled(&io, polls.stalled_after);
    // Each answer goes out in one write: nothing to gain from Nagle, a delayed ACK to lose.
    let _ = io.set_nodelay(true);
    let peer = io.peer_addr().ok();
    let conn = Conn::new(io, polls.clone());
    // The polls' state ends with `serve_polls`: a stream does not carry it.
    let (next, buf) = serve_polls(&conn).await;
    let Some(mut io) = Conn::into_io(conn) else {
        return;
    };
    match next {
        Next::Closed => {}
        Next::Stream(stream) => {
            if let Err(buf) = serve_stream(&mut io, &polls, stream, buf).await {
                http(Replayed::new(buf, io), peer).await;
            }
        }
        Next::Http => {
            http(Replayed::new(buf, io), peer).await;
        }
    }
}

/// What a connection does once it stops polling, with the bytes read from it.
enum Next {
    Closed,
    Stream(PlainStream),
    /// Anything else, or a poll the routed handler answers (refused, failed): actix-http's.
    Http,
}

/// Answers the connection's plain polls until it closes or asks for something else.
async fn serve_polls(conn: &Rc<Conn>) -> (Next, Vec<u8>) {
    let polls = &conn.polls;
    let mut buf = Vec::new();
    // Kept for the connection's life and moved later at each use (an atomic store): made anew
    // for every poll, a timer and a shutdown waiter each take a lock going in and coming out.
    let mut wait_timer = pin!(tokio::time::sleep(Duration::ZERO));
    let mut shutdown = pin!(polls.shutdown.notified());
    loop {
        let poll = loop {
            match read_poll(&buf, &polls.hub) {
                Read::Poll(poll) => break poll,
                Read::Stream(stream) => return (Next::Stream(stream), buf),
                // A head comes in one read: one that does not (a slow or odd client) is
                // actix-http's, with its request timeout from here.
                Read::Partial if buf.is_empty() => {}
                _ => return (Next::Http, buf),
            }
            let empty = buf.is_empty();
            conn.set_deadline(Instant::now() + IDLE);
            let read = tokio::select! {
                biased;
                read = read_some(&conn.io, &mut buf) => read,
                // Idle: closed, as actix-http does.
                () = conn.deadline() => return (Next::Closed, buf),
                () = &mut shutdown, if empty => return (Next::Closed, buf),
            };
            if !matches!(read, Ok(n) if n > 0) {
                return (Next::Closed, buf);
            }
        };
        let mut pipelined = Vec::new();
        let parked = match poll.source {
            // Nchan's protocol, kept alive: the relay can write the answer itself.
            Source::Events(Filter::Lot(lot))
                if poll.protocol == Protocol::Next && poll.keep_alive =>
            {
                conn.park(lot, poll.after, poll.minor, poll.wait)
            }
            _ => None,
        };
        let answer = match parked {
            Some(Parking::Parked) => match conn.wait_parked(&mut pipelined).await {
                Outcome::Answered => {
                    buf.drain(..poll.len);
                    buf.extend_from_slice(&pipelined);
                    continue;
                }
                Outcome::Close => return (Next::Closed, buf),
                Outcome::Unanswered(cursor) => Answer::empty(cursor),
            },
            Some(Parking::Backlog(answer)) => answer,
            // The routed handler answers it, with its error page.
            Some(Parking::Refused) => return (Next::Http, buf),
            None => tokio::select! {
                biased;
                answer = wait_after_on(&polls.hub, &poll.source, poll.after, poll.wait, wait_timer.as_mut()) => match answer {
                    Ok(answer) => answer,
                    // Refused or failed: the routed handler answers it, as it would have.
                    Err(_) => return (Next::Http, buf),
                },
                () = hung_up(&conn.io, &mut pipelined) => return (Next::Closed, buf),
            },
        };
        polls.answered.count_one();
        let keep_alive = poll.keep_alive && !polls.hub.is_stopping();
        let out = response(polls, &poll, keep_alive, &answer);
        if write_all(&conn.io, &out).await.is_err() || !keep_alive {
            let _ = socket2::SockRef::from(&conn.io).shutdown(std::net::Shutdown::Write);
            return (Next::Closed, buf);
        }
        buf.drain(..poll.len);
        buf.extend_from_slice(&pipelined);
    }
}

/// Serves a stream to its end (the server stops, the client leaves); gives the request back
/// for actix-http when the hub refuses it (its error page says why).
async fn serve_stream(
    io: &mut TcpStream,
    polls: &Polls,
    stream: PlainStream,
    request: Vec<u8>,
) -> Result<(), Vec<u8>> {
    let Ok(mut watch) = Watch::open(
        polls.hub.clone(),
        stream.source,
        stream.after,
        stream.ndjson,
    )
    .await
    else {
        return Err(request);
    };
    polls.answered.0.fetch_add(1, Ordering::Relaxed);
    let chunked = stream.minor == 1;
    let mut out = Vec::with_capacity(512);
    let _ = write!(out, "HTTP/1.{} 200 OK\r\n", stream.minor);
    if chunked {
        out.extend_from_slice(b"transfer-encoding: chunked\r\n");
    }
    out.extend_from_slice(if stream.ndjson {
        b"content-type: application/x-ndjson\r\n"
    } else {
        b"content-type: text/event-stream\r\n"
    });
    out.extend_from_slice(b"cache-control: no-cache\r\nx-accel-buffering: no\r\n");
    out.extend_from_slice(&polls.site);
    date::write(&mut out);
    out.extend_from_slice(b"\r\n");
    // The head at once, with what is queued (`retry`, the backlog's first page).
    while let Some(bytes) = watch.ready() {
        frame(&mut out, &bytes, chunked);
    }
    if io.write_all(&out).await.is_err() {
        return Ok(());
    }
    out = Vec::new();
    let mut ignored = Vec::new();
    loop {
        let bytes = tokio::select! {
            biased;
            bytes = watch.next() => bytes,
            () = hung_up(io, &mut ignored) => return Ok(()),
        };
        let Some(bytes) = bytes else { break };
        // With whatever else is queued (a backlog page), in one write.
        let mut next = Some(bytes);
        while let Some(bytes) = next {
            frame(&mut out, &bytes, chunked);
            next = watch.ready();
        }
        if io.write_all(&out).await.is_err() {
            return Ok(());
        }
        // Not kept between events: a waiting stream holds no buffer.
        out = Vec::new();
        ignored.clear();
    }
    if chunked {
        out.extend_from_slice(b"0\r\n\r\n");
    }
    let _ = io.write_all(&out).await;
    let _ = io.shutdown().await;
    Ok(())
}

/// One body part, as a chunk or (HTTP/1.0) as is.
fn frame(out: &mut Vec<u8>, bytes: &[u8], chunked: bool) {
    if chunked {
        let _ = write!(out, "{:X}\r\n", bytes.len());
        out.extend_from_slice(bytes);
        out.extend_from_slice(b"\r\n");
    } else {
        out.extend_from_slice(bytes);
    }
}

/// Reads what the socket has into `buf`: the count, 0 when the peer has closed. Waits in the
/// socket's one reader slot (a connection has one task), not in a waiter list to leave again.
pub(super) async fn read_some(io: &TcpStream, buf: &mut Vec<u8>) -> io::Result<usize> {
    poll_fn(|cx| {
        loop {
            ready!(io.poll_read_ready(cx))?;
            // On the stack, not in the connection's task: a waiting poller holds no buffer.
            let mut chunk = [0u8; 4096];
            match io.try_read(&mut chunk) {
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    if n > 0 && n < chunk.len() {
                        // A short read emptied the socket: forget its readiness now rather than
                        // learn it from a second read that fails (a syscall per poll, measured).
                        // Data that comes later raises a new edge; an end of stream stays seen.
                        let _ = io.try_io(Interest::READABLE, || {
                            Err::<(), _>(io::ErrorKind::WouldBlock.into())
                        });
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    })
    .await
}

/// Writes all of `bytes` (the connection is shared with the relay, so by `&`).
pub(super) async fn write_all(io: &TcpStream, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        io.writable().await?;
        match io.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
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
    let (mut last_event_id, mut if_none_match, mut accept) = (None, None, None);
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
        } else if name.eq_ignore_ascii_case("accept") {
            match std::str::from_utf8(header.value) {
                Ok(v) => accept = Some(v),
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
    if let Some((lot, after, lots)) = plain_stream_target(path, query) {
        let after = match last_event_id.or(after) {
            Some(raw) => match crate::live::cursor::parse_cursor(raw) {
                Some(after) => Some(after),
                None => return Read::Other,
            },
            None => None,
        };
        let filter = match lot {
            Some(id) if hub.is_known_open(id) => Filter::Lot(id),
            Some(_) => return Read::Other,
            None => match crate::live::stream::parse_lot_filter(lots) {
                Ok(filter) => filter,
                Err(_) => return Read::Other,
            },
        };
        return Read::Stream(PlainStream {
            source: Source::Events(filter),
            after,
            ndjson: accept.is_some_and(|a| a.contains("application/x-ndjson")),
            minor,
        });
    }
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

/// The lot (none for `/events`), `after` and `lots` of a stream's path and query in the plain
/// form (as `plain_poll_target`).
fn plain_stream_target<'a>(
    path: &str,
    query: &'a str,
) -> Option<(Option<Uuid>, Option<&'a str>, Option<&'a str>)> {
    let lot = match path {
        "/events" => None,
        path => Some(lot_in_path(path, "/events")?),
    };
    let (mut after, mut lots) = (None, None);
    plain_pairs(query, |key, value| {
        match key {
            "after" if after.is_none() => after = Some(value),
            "lots" if lots.is_none() && lot.is_none() => lots = Some(value),
            _ => return None,
        }
        Some(())
    })?;
    Some((lot, after, lots))
}

/// The lot and `timeout` of `/lots/{id}/next` in the plain form (as `plain_poll_target`).
fn plain_next_target(path: &str, query: &str) -> Option<(Uuid, Option<u64>)> {
    let lot = lot_in_path(path, "/next")?;
    let mut timeout = None;
    plain_pairs(query, |key, value| {
        match key {
            "timeout" if timeout.is_none() => timeout = Some(value.parse().ok()?),
            _ => return None,
        }
        Some(())
    })?;
    Some((lot, timeout))
}

/// The answer as actix-http would write the routed handler's.
fn response(polls: &Polls, poll: &PlainPoll, keep_alive: bool, answer: &Answer) -> Vec<u8> {
    let body;
    let (body, etag) = match poll.protocol {
        Protocol::Json => {
            body = answer.body();
            (Some(&body[..]), None)
        }
        Protocol::Next => match answer.events.first() {
            Some(event) => (Some(event.json()), Some(event.id)),
            None => (None, Some(answer.cursor)),
        },
    };
    let mut out = Vec::with_capacity(body.map_or(0, <[u8]>::len) + 256);
    write_answer(&mut out, polls, poll.minor, keep_alive, body, etag);
    out
}

/// A poll's answer: 200 with `body`, or 304 without; the cursor as the ETag (`/next`).
pub(super) fn write_answer(
    out: &mut Vec<u8>,
    polls: &Polls,
    minor: u8,
    keep_alive: bool,
    body: Option<&[u8]>,
    etag: Option<i64>,
) {
    let _ = match body {
        Some(body) => write!(
            out,
            "HTTP/1.{minor} 200 OK\r\ncontent-length: {}\r\n",
            body.len()
        ),
        None => write!(out, "HTTP/1.{minor} 304 Not Modified\r\n"),
    };
    match (minor, keep_alive) {
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
    date::write(out);
    out.extend_from_slice(b"\r\n");
    if let Some(body) = body {
        out.extend_from_slice(body);
    }
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
