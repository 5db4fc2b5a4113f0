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
pub mod limits;
mod metrics;
pub mod pages;
pub mod routes;
mod telemetry;
pub mod tls;
pub mod view;

use crate::store::Store;
use actix_web::{HttpResponse, web};

/// Every route of the site.
pub fn routes(cfg: &mut web::ServiceConfig) {
    // The API first: bids are the hot path, and the router tries patterns in order.
    cfg.configure(api::routes).configure(pages::routes);
}

pub use telemetry::trace_requests;

/// Headers every answer carries: no referrer leaves the site, and behind https the browser is
/// told to come back only over https (a year).
pub fn site_headers(secure: bool) -> actix_web::middleware::DefaultHeaders {
    let headers =
        actix_web::middleware::DefaultHeaders::new().add(("Referrer-Policy", "same-origin"));
    if secure {
        headers.add(("Strict-Transport-Security", "max-age=31536000"))
    } else {
        headers
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
