//! One span per request with a request id; answers logged at info, 5xx as error. A 4xx is the
//! client's business (an outbid bid is one), not a warning about the server. Long polls and
//! streams are logged at debug: 10,000 pollers would otherwise write 40,000 lines a second.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use std::time::Instant;
use tracing::Instrument;

pub async fn trace_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let live = is_live(req.path());
    if live {
        // Nothing would be logged: no span, no clock readings (a poll is the most frequent
        // request of all, tens of thousands a second during a bid's fan-out).
        if !tracing::enabled!(tracing::Level::DEBUG) {
            return next.call(req).await;
        }
    }
    // The path only: query strings may carry tokens.
    let span = if live {
        tracing::debug_span!(
            "request",
            method = %req.method(),
            path = %req.path(),
            request_id = %uuid::Uuid::now_v7(),
        )
    } else {
        tracing::info_span!(
            "request",
            method = %req.method(),
            path = %req.path(),
            request_id = %uuid::Uuid::now_v7(),
        )
    };
    let started = Instant::now();
    let result = next.call(req).instrument(span.clone()).await;
    let _entered = span.enter();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    match &result {
        Ok(res) if res.status().is_server_error() => {
            tracing::error!(status = res.status().as_u16(), ms, "served")
        }
        Ok(res) if live => tracing::debug!(status = res.status().as_u16(), ms, "served"),
        Ok(res) => tracing::info!(status = res.status().as_u16(), ms, "served"),
        Err(e) => tracing::error!(error = %e, ms, "failed"),
    }
    result
}

/// The long-poll and stream routes (`live::routes`).
fn is_live(path: &str) -> bool {
    ["/poll", "/events"]
        .iter()
        .any(|end| path.ends_with(end) && (path.len() == end.len() || path.starts_with("/lots/")))
}

#[cfg(test)]
mod tests {
    use super::is_live;

    #[test]
    fn live_routes_are_told_apart_from_pages() {
        for live in ["/poll", "/events", "/lots/abc/poll", "/lots/abc/events"] {
            assert!(is_live(live), "{live}");
        }
        for page in [
            "/",
            "/lots/abc",
            "/api/v1/lots/abc/bids",
            "/me/events",
            "/static/x",
        ] {
            assert!(!is_live(page), "{page}");
        }
    }
}
