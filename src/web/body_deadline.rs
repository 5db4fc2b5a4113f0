//! A request body must arrive within a deadline, or the request is answered 408 and its
//! connection closed: a client sending a byte every few seconds cannot hold a connection and a
//! worker's buffer for as long as it likes. Only requests with a body are timed, so held
//! streams and polls (GETs) are never touched.

use actix_web::HttpMessage;
use actix_web::body::{BodySize, BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use futures_util::Stream;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep, sleep_until};

/// The message a timed-out body's error carries, so error handlers can tell it apart.
pub const TIMED_OUT: &str = "the request body did not arrive in time";

/// The whole body within `total`, and never `idle` without a byte.
#[derive(Clone, Copy, Debug)]
pub struct BodyDeadline {
    pub total: Duration,
    pub idle: Duration,
}

impl BodyDeadline {
    pub fn new(total: Duration) -> Self {
        BodyDeadline {
            total,
            idle: total.min(Duration::from_secs(5)),
        }
    }
}

pub async fn bound_bodies(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, BoxBody>>, actix_web::Error> {
    let deadline = req
        .app_data::<actix_web::web::Data<BodyDeadline>>()
        .map(|d| *d.get_ref());
    let Some(deadline) = deadline.filter(|_| has_body(req.headers())) else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let now = Instant::now();
    // A photograph (up to 10 MB) from a phone on a slow uplink takes longer than a form: an
    // upload gets a longer whole, never a longer silence.
    let total = if is_upload(req.headers()) {
        deadline.total.max(UPLOAD_TOTAL)
    } else {
        deadline.total
    };
    let unread = Rc::new(Unread {
        payload: RefCell::new(req.take_payload()),
        timed_out: Cell::new(false),
    });
    let timed = TimedPayload {
        unread: unread.clone(),
        end: now + total,
        idle: deadline.idle,
        last_chunk: now,
        timer: None,
    };
    req.set_payload(Payload::Stream {
        payload: Box::pin(timed),
    });
    let res = next.call(req).await?;
    if !unread.timed_out.get() {
        return Ok(res.map_into_left_body());
    }
    // The unread body stays alive until the answer's last byte: actix then closes the
    // connection (within the disconnect timeout) rather than reading a chunked body it thinks
    // nobody wants to its end, however slowly it comes.
    Ok(res.map_body(|_, body| {
        EitherBody::right(BoxBody::new(HoldingUnread {
            body: BoxBody::new(body),
            _unread: unread,
        }))
    }))
}

/// An answer's body that keeps the cut request body alive while it is sent.
struct HoldingUnread {
    body: BoxBody,
    _unread: Rc<Unread>,
}

impl MessageBody for HoldingUnread {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.body).poll_next(cx)
    }
}

/// The connection's body, shared so that it outlives the request when it was cut.
struct Unread {
    payload: RefCell<Payload>,
    timed_out: Cell<bool>,
}

/// Whether a request announces a body (a length above zero, or chunks).
/// How long a multipart upload may take in all (10 MB at about 1 Mbit/s).
const UPLOAD_TOTAL: Duration = Duration::from_secs(90);

fn is_upload(headers: &actix_web::http::header::HeaderMap) -> bool {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

pub fn has_body(headers: &actix_web::http::header::HeaderMap) -> bool {
    headers.contains_key("transfer-encoding")
        || headers
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

pub fn is_timeout(err: &PayloadError) -> bool {
    matches!(err, PayloadError::Io(e) if e.kind() == std::io::ErrorKind::TimedOut)
}

struct TimedPayload {
    unread: Rc<Unread>,
    end: Instant,
    idle: Duration,
    last_chunk: Instant,
    /// Made only when the body has to be waited for: most bodies (a bid's) come with their
    /// head, and a timer for each would cost the hot lot a fifth of its requests per second.
    timer: Option<Pin<Box<Sleep>>>,
}

impl Stream for TimedPayload {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let polled = Pin::new(&mut *this.unread.payload.borrow_mut()).poll_next(cx);
        match polled {
            Poll::Ready(item) => {
                this.last_chunk = Instant::now();
                Poll::Ready(item)
            }
            Poll::Pending => {
                // Each chunk buys `idle` more, never past the overall end.
                let due = (this.last_chunk + this.idle).min(this.end);
                let timer = match &mut this.timer {
                    Some(timer) => {
                        if timer.deadline() != due {
                            timer.as_mut().reset(due);
                        }
                        timer
                    }
                    None => this.timer.insert(Box::pin(sleep_until(due))),
                };
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        this.unread.timed_out.set(true);
                        Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            TIMED_OUT,
                        )))))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}
