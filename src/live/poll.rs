//! Long polling: answer at once when the client is behind, otherwise hold the request until
//! the next event (woken by the hub, not a timer) or the timeout.

use super::hub::{Filter, Hub, Push, Source};
use super::limits::Transport;
use super::stream::{cursor, public_lot};
use crate::store::Store;
use crate::web::error::AppError;
use actix_web::dev::ServiceRequest;
use actix_web::http::header::{self, HeaderMap, HeaderName};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::time::{Instant, Sleep};

/// The request headers a poll reads: the cursor, and what kind of error page to send.
const KEPT_HEADERS: [HeaderName; 3] = [
    header::ACCEPT,
    header::IF_NONE_MATCH,
    HeaderName::from_static("last-event-id"),
];

const DEFAULT_WAIT: u64 = 25;
const MAX_WAIT: u64 = 55;

#[derive(Deserialize)]
pub struct PollQuery {
    pub(crate) after: Option<String>,
    pub(crate) timeout: Option<u64>,
    pub(crate) lots: Option<String>,
    pub(crate) sale: Option<String>,
}

/// A waiting poll holds its request for up to 55 s, and actix sizes every request's header map
/// for 16 headers: 6.7 KB of the 20 KB a waiting poller cost (measured with DHAT). Only the
/// headers a poll reads are kept, in a map their size.
pub fn shed_headers(req: &mut ServiceRequest) {
    let head = req.head_mut();
    let mut kept = HeaderMap::new();
    for name in KEPT_HEADERS {
        if let Some(value) = head.headers.get(&name) {
            kept.insert(name, value.clone());
        }
    }
    head.headers = kept;
}

pub async fn lot_poll(
    req: HttpRequest,
    hub: web::Data<Arc<Hub>>,
    store: web::Data<Store>,
    path: web::Path<String>,
    query: web::Query<PollQuery>,
) -> Result<HttpResponse, AppError> {
    let lot = public_lot(&hub, &store, &path).await?;
    poll(
        &req,
        hub.get_ref(),
        Source::Events(Filter::Lot(lot)),
        &query,
    )
    .await
}

pub async fn site_poll(
    req: HttpRequest,
    hub: web::Data<Arc<Hub>>,
    store: web::Data<crate::store::Store>,
    query: web::Query<PollQuery>,
) -> Result<HttpResponse, AppError> {
    let filter =
        super::stream::site_filter(&store, query.lots.as_deref(), query.sale.as_deref()).await?;
    poll(&req, hub.get_ref(), Source::Events(filter), &query).await
}

/// The signed-in user's notices by long polling (API.md §7).
pub async fn notice_poll(
    req: HttpRequest,
    hub: web::Data<Arc<Hub>>,
    caller: crate::web::auth::ApiCaller,
    query: web::Query<PollQuery>,
) -> Result<HttpResponse, AppError> {
    let user = caller.0.ok_or(AppError::Unauthenticated)?;
    poll(&req, hub.get_ref(), Source::Notices(user.id), &query).await
}

/// What a poll answers: the events after its cursor (maybe none) and the cursor to send next.
pub struct Answer {
    pub events: Vec<Arc<super::LiveEvent>>,
    pub cursor: i64,
}

impl Answer {
    pub fn empty(cursor: i64) -> Answer {
        Answer {
            events: Vec::new(),
            cursor,
        }
    }

    /// The JSON body (API.md §4): the events' stored JSON, copied, not re-encoded.
    pub fn body(&self) -> Vec<u8> {
        let size: usize = self.events.iter().map(|e| e.line.len()).sum();
        let mut body = Vec::with_capacity(size + 32);
        body.extend_from_slice(b"{\"events\":[");
        for (i, e) in self.events.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(e.json());
        }
        body.extend_from_slice(format!("],\"cursor\":{}}}", self.cursor).as_bytes());
        body
    }

    /// The answer in Nchan's long-poll protocol (`next`): the first event, its id the ETag, or
    /// 304 with the cursor as the ETag when none came.
    pub fn next_response(&self) -> HttpResponse {
        match self.events.first() {
            Some(event) => HttpResponse::Ok()
                .content_type("application/json")
                .insert_header(("Cache-Control", "no-cache"))
                .insert_header(("ETag", etag(event.id)))
                .body(event.json().to_vec()),
            None => HttpResponse::NotModified()
                .insert_header(("Cache-Control", "no-cache"))
                .insert_header(("ETag", etag(self.cursor)))
                .finish(),
        }
    }

    fn response(&self) -> HttpResponse {
        HttpResponse::Ok()
            .content_type("application/json")
            .insert_header(("Cache-Control", "no-cache"))
            .body(self.body())
    }
}

/// An event id as an ETag.
pub fn etag(id: i64) -> String {
    format!("\"{id}\"")
}

/// The event id in an `If-None-Match` (one entity tag, weak or strong), Nchan's cursor.
pub fn if_none_match(value: &str) -> Option<i64> {
    let tag = value.trim();
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    super::cursor::parse_cursor(tag.strip_prefix('"')?.strip_suffix('"')?)
}

#[derive(Deserialize)]
pub struct NextQuery {
    pub(crate) timeout: Option<u64>,
}

/// A lot's events in Nchan's long-poll protocol (docs/API.md): one event per answer, its id
/// the ETag; the client sends the last ETag back as `If-None-Match`. Without one, the next
/// event from now on.
pub async fn lot_next(
    req: HttpRequest,
    hub: web::Data<Arc<Hub>>,
    store: web::Data<Store>,
    path: web::Path<String>,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    let lot = public_lot(&hub, &store, &path).await?;
    let source = Source::Events(Filter::Lot(lot));
    let after = match req.headers().get(header::IF_NONE_MATCH) {
        Some(value) => value.to_str().ok().and_then(if_none_match).ok_or_else(|| {
            AppError::field(
                "If-None-Match",
                "invalid_cursor",
                "If-None-Match is the ETag of the last answer: an event id in quotes",
            )
        })?,
        None => hub.latest_of(&source).await?,
    };
    if req.method() == actix_web::http::Method::HEAD {
        return Ok(Answer::empty(after).next_response());
    }
    let answer = wait_after(hub.get_ref(), &source, after, wait_of(query.timeout)).await?;
    Ok(answer.next_response())
}

/// How long a poll may wait: its `timeout`, at most `MAX_WAIT`.
pub fn wait_of(timeout: Option<u64>) -> Duration {
    Duration::from_secs(timeout.unwrap_or(DEFAULT_WAIT).min(MAX_WAIT))
}

pub(crate) async fn poll(
    req: &HttpRequest,
    hub: &Arc<Hub>,
    source: Source,
    query: &PollQuery,
) -> Result<HttpResponse, AppError> {
    let Some(after) = cursor(req, query.after.as_deref())? else {
        return Ok(Answer::empty(hub.latest_of(&source).await?).response());
    };
    if req.method() == actix_web::http::Method::HEAD {
        // The headers of an answer, without waiting for one.
        return Ok(Answer::empty(after).response());
    }
    Ok(wait_after(hub, &source, after, wait_of(query.timeout))
        .await?
        .response())
}

/// A poll from `after`: the backlog at once if there is one, otherwise the next events, or none
/// after `wait` or when the server stops.
pub(crate) async fn wait_after(
    hub: &Arc<Hub>,
    source: &Source,
    after: i64,
    wait: Duration,
) -> Result<Answer, AppError> {
    let timer = std::pin::pin!(tokio::time::sleep(Duration::ZERO));
    wait_after_on(hub, source, after, wait, timer).await
}

/// `wait_after` on `timer`, which a connection keeps for its next poll: moving a tokio timer
/// later is one atomic store, where a new one takes the timer wheel's lock to go in and again
/// to come out (~2% of a poll's CPU, measured).
pub(crate) async fn wait_after_on(
    hub: &Arc<Hub>,
    source: &Source,
    after: i64,
    wait: Duration,
    mut timer: Pin<&mut Sleep>,
) -> Result<Answer, AppError> {
    let (mut rx, channel) = hub.subscribe_to(source);
    let (backlog, scanned, _) = hub.page(source, after).await?;
    if !backlog.is_empty() {
        return Ok(Answer {
            events: backlog,
            cursor: scanned,
        });
    }
    let after = scanned;
    if hub.is_stopping() {
        return Ok(Answer::empty(after));
    }
    let _guard = hub.admit(Transport::LongPoll, channel)?;
    timer.as_mut().reset(Instant::now() + wait);
    let first = tokio::select! {
        biased;
        first = next_match(&mut rx, source, after) => first,
        () = timer => None,
    };
    let Some(first) = first else {
        return Ok(Answer::empty(after));
    };
    // The event that woke us, and any that committed with it.
    let mut events = vec![first];
    while let Ok(Push::Event(e)) = rx.try_recv() {
        if source.matches(&e) && e.id > events.last().map_or(after, |l| l.id) {
            events.push(e);
        }
    }
    for e in &events {
        hub.metrics.observe_delivery(e.published.elapsed());
    }
    let cursor = events.last().map_or(after, |e| e.id);
    Ok(Answer { events, cursor })
}

async fn next_match(
    rx: &mut broadcast::Receiver<Push>,
    source: &Source,
    after: i64,
) -> Option<Arc<super::LiveEvent>> {
    loop {
        match rx.recv().await {
            Ok(Push::Event(e)) if e.id > after && source.matches(&e) => return Some(e),
            Ok(Push::Shutdown | Push::Missed) => return None,
            Ok(_) => {}
            // Lagged while waiting: the client is behind now, so answer empty-handed at once
            // and let the next poll fetch the backlog.
            Err(broadcast::error::RecvError::Lagged(_)) => return None,
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    }
}
