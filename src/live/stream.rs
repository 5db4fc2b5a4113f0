//! SSE and NDJSON streams: subscribe, send the backlog after the client's cursor, then live
//! events above the last id sent. That order is what makes "no gap, no duplicate" true.

use super::hub::{Filter, Hub, Push, Source};
use super::limits::{StreamGuard, Transport};
use super::presence;
use crate::store::Store;
use crate::web::error::AppError;
use actix_web::http::{ConnectionType, Method, Version};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use serde::Deserialize;
use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::broadcast;
use uuid::Uuid;

/// How long a browser waits before reconnecting.
const RETRY: &[u8] = b"retry: 2000\n\n";

#[derive(Deserialize)]
pub struct StreamQuery {
    after: Option<String>,
    lots: Option<String>,
    sale: Option<String>,
}

fn wants_ndjson(req: &HttpRequest) -> bool {
    req.headers()
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/x-ndjson"))
}

/// The client's cursor: `Last-Event-ID`, else `?after=`, else none (new events only).
pub fn cursor(req: &HttpRequest, after: Option<&str>) -> Result<Option<i64>, AppError> {
    let header = req
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty());
    match header.or(after) {
        None => Ok(None),
        Some(raw) => super::cursor::parse_cursor(raw).map(Some).ok_or_else(|| {
            AppError::field(
                "after",
                "invalid_cursor",
                "the cursor is an event id (a whole number)",
            )
        }),
    }
}

pub fn parse_lot_filter(lots: Option<&str>) -> Result<Filter, AppError> {
    match lots.filter(|l| !l.trim().is_empty()) {
        None => Ok(Filter::All),
        Some(list) => {
            let ids: Result<HashSet<Uuid>, _> =
                list.split(',').map(|s| Uuid::parse_str(s.trim())).collect();
            ids.map(|ids| Filter::Lots(Arc::new(ids))).map_err(|_| {
                AppError::field(
                    "lots",
                    "invalid_lots",
                    "lots is a comma-separated list of lot ids",
                )
            })
        }
    }
}

/// `?sale=ID` follows the sale's lots (those in it when the stream opens); else `?lots=`.
pub async fn site_filter(
    store: &Store,
    lots: Option<&str>,
    sale: Option<&str>,
) -> Result<Filter, AppError> {
    let Some(sale) = sale.filter(|s| !s.trim().is_empty()) else {
        return parse_lot_filter(lots);
    };
    let sale = Uuid::parse_str(sale.trim()).map_err(|_| AppError::NotFound)?;
    store.sale(sale).await?.ok_or(AppError::NotFound)?;
    let ids = store.sale_lot_ids(sale).await?;
    Ok(Filter::Lots(Arc::new(ids.into_iter().collect())))
}

/// Events exist only for lots that opened: pending and rejected offers have none.
/// The hub remembers lots it has seen events for, so most attaches skip the database.
pub async fn public_lot(hub: &Hub, store: &Store, raw: &str) -> Result<Uuid, AppError> {
    let id = Uuid::parse_str(raw).map_err(|_| AppError::NotFound)?;
    if hub.is_known_open(id) {
        return Ok(id);
    }
    match store.lot(id).await? {
        Some(lot) if crate::domain::visibility::is_visible(&lot, None) => {
            hub.mark_opened(id);
            Ok(id)
        }
        _ => Err(AppError::NotFound),
    }
}

pub async fn lot_events(
    req: HttpRequest,
    hub: web::Data<Arc<Hub>>,
    store: web::Data<Store>,
    path: web::Path<String>,
    query: web::Query<StreamQuery>,
) -> Result<HttpResponse, AppError> {
    let lot = public_lot(&hub, &store, &path).await?;
    let after = cursor(&req, query.after.as_deref())?;
    open(
        &req,
        hub.get_ref().clone(),
        Source::Events(Filter::Lot(lot)),
        after,
    )
    .await
}

pub async fn site_events(
    req: HttpRequest,
    hub: web::Data<Arc<Hub>>,
    store: web::Data<Store>,
    query: web::Query<StreamQuery>,
) -> Result<HttpResponse, AppError> {
    let filter = site_filter(&store, query.lots.as_deref(), query.sale.as_deref()).await?;
    let after = cursor(&req, query.after.as_deref())?;
    open(&req, hub.get_ref().clone(), Source::Events(filter), after).await
}

/// The signed-in user's notices (API.md §7), as SSE or NDJSON, with the same resume as events.
pub async fn notice_events(
    req: HttpRequest,
    hub: web::Data<Arc<Hub>>,
    caller: crate::web::auth::ApiCaller,
    query: web::Query<StreamQuery>,
) -> Result<HttpResponse, AppError> {
    let user = caller.0.ok_or(AppError::Unauthenticated)?;
    let after = cursor(&req, query.after.as_deref())?;
    open(&req, hub.get_ref().clone(), Source::Notices(user.id), after).await
}

async fn open(
    req: &HttpRequest,
    hub: Arc<Hub>,
    source: Source,
    after: Option<i64>,
) -> Result<HttpResponse, AppError> {
    let ndjson = wants_ndjson(req);
    if req.method() == Method::HEAD {
        // The headers a stream would have, and no stream behind them.
        let empty = futures_util::stream::empty::<Result<Bytes, Infallible>>();
        return Ok(stream_response(req, ndjson, empty));
    }
    let watch = Watch::open(hub, source, after, ndjson).await?;
    let body = futures_util::stream::unfold(watch, |mut w| async move {
        w.next().await.map(|bytes| (Ok::<_, Infallible>(bytes), w))
    });
    Ok(stream_response(req, ndjson, body))
}

/// A held stream's answer. To an HTTP/1.0 request it is delimited by closing the connection:
/// such a client cannot read `Transfer-Encoding: chunked` (RFC 9112).
fn stream_response(
    req: &HttpRequest,
    ndjson: bool,
    body: impl futures_util::Stream<Item = Result<Bytes, Infallible>> + 'static,
) -> HttpResponse {
    let content_type = if ndjson {
        "application/x-ndjson"
    } else {
        "text/event-stream"
    };
    let mut res = HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body);
    if req.version() == Version::HTTP_10 {
        let head = res.head_mut();
        head.no_chunking(true);
        head.set_connection_type(ConnectionType::Close);
    }
    res
}

/// One watcher's whole state: a receiver and what is queued for it.
pub(crate) struct Watch {
    hub: Arc<Hub>,
    source: Source,
    rx: broadcast::Receiver<Push>,
    pending: VecDeque<Bytes>,
    /// Every event up to here was sent or did not match.
    last_id: i64,
    /// Reading the backlog a page at a time, so a far-behind client never holds it all.
    catching_up: bool,
    ndjson: bool,
    /// Whether anything was sent since the last heartbeat tick.
    spoke: bool,
    _guard: StreamGuard,
}

impl Watch {
    /// Admits a watcher of `source` from `after` (none: new events only), with what it is sent
    /// first: `retry` and the lot's watchers (SSE), and the first page of the backlog.
    pub(crate) async fn open(
        hub: Arc<Hub>,
        source: Source,
        after: Option<i64>,
        ndjson: bool,
    ) -> Result<Watch, AppError> {
        let transport = if ndjson {
            Transport::Ndjson
        } else {
            Transport::Sse
        };
        // Subscribe first, then read the backlog: an event committed in between is in both,
        // and the id check in `next` sends it once.
        let (rx, channel) = hub.subscribe_to(&source);
        let guard = hub.admit(transport, channel.clone())?;
        let last_id = match after {
            Some(after) => after,
            None => hub.latest_of(&source).await?,
        };
        // The first page now, so a bad database answers with an error rather than a dead
        // stream; the rest is read page by page as the client takes it.
        let (backlog, scanned, caught_up) = hub.page(&source, last_id).await?;

        let mut pending: VecDeque<Bytes> = VecDeque::with_capacity(backlog.len() + 2);
        if !ndjson {
            pending.push_back(Bytes::from_static(RETRY));
            if let (Source::Events(Filter::Lot(id)), Some(channel)) = (&source, &channel) {
                let watchers = channel.watchers.load(std::sync::atomic::Ordering::Relaxed);
                pending.push_back(presence::frame(*id, watchers));
            }
        }
        for e in backlog {
            pending.push_back(if ndjson {
                e.line.clone()
            } else {
                e.sse.clone()
            });
        }
        Ok(Watch {
            hub,
            source,
            rx,
            pending,
            last_id: scanned,
            catching_up: !caught_up,
            ndjson,
            spoke: true,
            _guard: guard,
        })
    }

    /// The next bytes to send: None when the stream ends (the server stops).
    pub(crate) async fn next(&mut self) -> Option<Bytes> {
        let bytes = self.produce().await;
        self.spoke |= bytes.is_some();
        bytes
    }

    /// Bytes already queued (a backlog page), to go out with the ones `next` gave.
    pub(crate) fn ready(&mut self) -> Option<Bytes> {
        let bytes = self.pending.pop_front();
        self.spoke |= bytes.is_some();
        bytes
    }

    async fn produce(&mut self) -> Option<Bytes> {
        loop {
            if let Some(bytes) = self.pending.pop_front() {
                return Some(bytes);
            }
            if self.hub.is_stopping() {
                return None;
            }
            if self.catching_up {
                // Boxed: a database read's future is kilobytes, and inlined it would make every
                // idle watcher's state that large.
                let (events, scanned, done) = Box::pin(self.hub.page(&self.source, self.last_id))
                    .await
                    .ok()?;
                self.last_id = scanned;
                self.catching_up = !done;
                self.pending.extend(events.iter().map(|e| {
                    if self.ndjson {
                        e.line.clone()
                    } else {
                        e.sse.clone()
                    }
                }));
                continue;
            }
            match self.rx.recv().await {
                Ok(Push::Event(e)) => {
                    if e.id > self.last_id && self.source.matches(&e) {
                        self.last_id = e.id;
                        self.hub.metrics.observe_delivery(e.published.elapsed());
                        return Some(if self.ndjson {
                            e.line.clone()
                        } else {
                            e.sse.clone()
                        });
                    }
                }
                Ok(Push::Presence(frame)) => {
                    if !self.ndjson {
                        return Some(frame);
                    }
                }
                Ok(Push::Heartbeat) => {
                    // Ticks come twice per interval (`presence::spawn_heartbeats`). A stream that
                    // sent anything since the last one is not silent; writing to every stream at
                    // once would hold up the events queued behind the writes.
                    if std::mem::replace(&mut self.spoke, false) {
                        continue;
                    }
                    return Some(Bytes::from_static(if self.ndjson {
                        b"\n"
                    } else {
                        b":\n\n"
                    }));
                }
                // Fell behind the channel: catch up from the backlog; publishing never waits.
                Err(broadcast::error::RecvError::Lagged(_)) | Ok(Push::Missed) => {
                    self.catching_up = true
                }
                Ok(Push::Shutdown) | Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}
