//! HTTP: pages, the JSON API, auth, CSRF, errors and request logging, registered in one place.

pub mod api;
mod assets;
pub mod auth;
pub mod bids;
pub mod body_deadline;
pub mod client;
pub mod connections;
pub mod cookies;
pub mod csrf;
pub mod error;
pub mod fast_polls;
mod image_files;
pub mod limits;
pub mod live_connections;
mod metrics;
pub mod notice_view;
pub mod pages;
mod parked_poll;
pub mod routes;
pub mod search_cache;
pub mod server;
mod telemetry;
pub mod tls;
pub mod uploads;
pub mod view;

use crate::store::Store;
use actix_web::{HttpResponse, web};

/// Every route of the site.
pub fn routes(cfg: &mut web::ServiceConfig) {
    // The API first: bids are the hot path, and the router tries patterns in order.
    cfg.configure(api::routes).configure(pages::routes);
}

pub use telemetry::trace_requests;

const REFERRER_POLICY: (&str, &str) = ("referrer-policy", "same-origin");
const HSTS: (&str, &str) = ("strict-transport-security", "max-age=31536000");

/// Headers every answer carries: no referrer leaves the site, and behind https the browser is
/// told to come back only over https (a year).
pub fn site_headers(secure: bool) -> actix_web::middleware::DefaultHeaders {
    let headers = actix_web::middleware::DefaultHeaders::new().add(REFERRER_POLICY);
    if secure { headers.add(HSTS) } else { headers }
}

/// The same headers, for answers that do not pass `site_headers` (`fast_polls`).
pub fn add_site_headers(headers: &mut actix_web::http::header::HeaderMap, secure: bool) {
    use actix_web::http::header::{HeaderName, HeaderValue};
    let mut add = |(name, value): (&'static str, &'static str)| {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    };
    add(REFERRER_POLICY);
    if secure {
        add(HSTS);
    }
}

/// Readiness: 200 only while the database answers and takes writes (API.md §3a).
pub(crate) async fn healthz(
    store: web::Data<Store>,
    house: web::Data<crate::auction::AuctionHouse>,
) -> HttpResponse {
    let unready = |why: &'static str| {
        HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .insert_header(("Retry-After", "5"))
            .body(why)
    };
    if house.health().is_failing() {
        unready("storage cannot be written")
    } else if !store.ping().await {
        unready("database unavailable")
    } else {
        HttpResponse::Ok().content_type("text/plain").body("ok")
    }
}
