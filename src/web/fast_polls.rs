//! Long polls past the site's middleware and router. Why (measured, BENCHMARKS.md): 10,000
//! pollers send tens of thousands of polls a second during a bid's fan-out, and the four layers
//! every page passes (headers, CSRF cookie, body deadline, request span) cost a poll more than
//! anything it does itself. None of them has work to do on a plain poll: it has no body, sets no
//! cookie and, with debug logging off, logs nothing. This outermost layer answers such polls
//! itself, with the same function and the same headers as the routed handler; anything
//! unusual (HEAD, a body, an odd query, a lot not yet known to be open, debug logging) takes the
//! ordinary route, which answers it exactly as before.

use crate::config::Settings;
use crate::live::poll::{PollQuery, poll, shed_headers};
use crate::live::stream::parse_lot_filter;
use crate::live::{Filter, Hub, Source};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};
use std::sync::Arc;
use uuid::Uuid;

pub async fn answer_polls(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if !is_bodiless_get_poll(&req) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    // Answered here or routed, a waiting poll holds only the headers it reads.
    shed_headers(&mut req);
    let Some((lot, query)) = plain_poll(&req) else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let (Some(hub), Some(settings)) = (
        req.app_data::<web::Data<Arc<Hub>>>().cloned(),
        req.app_data::<web::Data<Settings>>().cloned(),
    ) else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let Some(filter) = plain_filter(&hub, lot, &query) else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let (http, _) = req.into_parts();
    let mut res = match poll(&http, hub.get_ref(), Source::Events(filter), &query).await {
        Ok(res) => res,
        Err(e) => e.error_response(),
    };
    super::add_site_headers(res.headers_mut(), settings.cookies.secure);
    if res.status().is_server_error() {
        // As `trace_requests` logs the routed path's.
        tracing::error!(status = res.status().as_u16(), path = %http.path(), "served");
    }
    Ok(ServiceResponse::new(http, res).map_into_right_body())
}

/// A GET of a long-poll path with no body: the requests that may wait.
fn is_bodiless_get_poll(req: &ServiceRequest) -> bool {
    let path = req.path();
    (path == "/poll" || (path.starts_with("/lots/") && path.ends_with("/poll")))
        && req.method() == Method::GET
        && !req.headers().contains_key("content-length")
        && !req.headers().contains_key("transfer-encoding")
}

/// The lot (none for `/poll`) and query of a GET poll this layer may answer, or None.
fn plain_poll(req: &ServiceRequest) -> Option<(Option<Uuid>, PollQuery)> {
    if !is_bodiless_get_poll(req) || tracing::enabled!(tracing::Level::DEBUG) {
        return None;
    }
    plain_poll_target(req.path(), req.query_string())
}

/// The lot (none for `/poll`) and query of a poll's path and query string, when both are in the
/// plain form the fast paths take (here and `live_connections`); anything else is routed.
pub(crate) fn plain_poll_target(path: &str, query: &str) -> Option<(Option<Uuid>, PollQuery)> {
    let lot = match path {
        "/poll" => None,
        path => Some(lot_in_path(path, "/poll")?),
    };
    let mut poll = PollQuery {
        after: None,
        timeout: None,
        lots: None,
        // `?sale=` reads the database: it takes the routed path.
        sale: None,
    };
    plain_pairs(query, |key, value| {
        match key {
            "after" if poll.after.is_none() => poll.after = Some(value.to_owned()),
            "timeout" if poll.timeout.is_none() => poll.timeout = Some(value.parse().ok()?),
            "lots" if poll.lots.is_none() => poll.lots = Some(value.to_owned()),
            _ => return None,
        }
        Some(())
    })?;
    Some((lot, poll))
}

/// The lot of `/lots/{id}{suffix}`, the id only in its canonical hyphenated form: other
/// spellings take the routed path.
pub(crate) fn lot_in_path(path: &str, suffix: &str) -> Option<Uuid> {
    let id = path.strip_prefix("/lots/")?.strip_suffix(suffix)?;
    (id.len() == 36).then_some(())?;
    Uuid::parse_str(id).ok()
}

/// Hands each `key=value` pair of `query` to `take`; None if `take` refuses one or a value has
/// escapes (escapes and repeats are left to the routed path's full parser).
pub(crate) fn plain_pairs<'q>(
    query: &'q str,
    mut take: impl FnMut(&'q str, &'q str) -> Option<()>,
) -> Option<()> {
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=')?;
        if value.contains(['%', '+']) {
            return None;
        }
        take(key, value)?;
    }
    Some(())
}

/// What a plain poll follows, as the routed handlers would decide, or None when only they can
/// (a lot the hub does not know to be open, a malformed list).
pub(crate) fn plain_filter(hub: &Hub, lot: Option<Uuid>, query: &PollQuery) -> Option<Filter> {
    match lot {
        Some(id) => hub.is_known_open(id).then_some(Filter::Lot(id)),
        None => parse_lot_filter(query.lots.as_deref()).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::plain_poll;
    use actix_web::test::TestRequest;

    #[test]
    fn only_plain_polls_are_taken() {
        let lot = "01900000-0000-7000-8000-000000000000";
        for uri in [
            format!("/lots/{lot}/poll?after=3&timeout=20"),
            "/poll".to_owned(),
            "/poll?after=1&lots=a,b".to_owned(),
        ] {
            let req = TestRequest::get().uri(&uri).to_srv_request();
            assert!(plain_poll(&req).is_some(), "{uri}");
        }
        for uri in [
            format!("/lots/{lot}/poll?after=3&after=4"),
            format!("/lots/{lot}/poll?timeout=soon"),
            format!("/lots/{lot}/poll?after=%33"),
            format!("/lots/{lot}/poll?other=1"),
            format!("/lots/{lot}/events"),
            "/lots/01900000000070008000000000000000/poll".to_owned(),
            "/lots/x/poll".to_owned(),
            "/poll/".to_owned(),
        ] {
            let req = TestRequest::get().uri(&uri).to_srv_request();
            assert!(plain_poll(&req).is_none(), "{uri}");
        }
        let head = TestRequest::default()
            .method(actix_web::http::Method::HEAD)
            .uri("/poll")
            .to_srv_request();
        assert!(plain_poll(&head).is_none());
        let with_body = TestRequest::get()
            .uri("/poll")
            .insert_header(("Content-Length", "3"))
            .to_srv_request();
        assert!(plain_poll(&with_body).is_none());
    }
}
