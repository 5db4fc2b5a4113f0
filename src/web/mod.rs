//! HTTP: pages, the JSON API, auth, CSRF, errors and request logging, registered in one place.

pub mod api;
mod assets;
pub mod auth;
pub mod bids;
pub mod client;
pub mod csrf;
pub mod error;
pub mod limits;
pub mod pages;
pub mod routes;
mod telemetry;
pub mod view;

use crate::store::Store;
use actix_web::{HttpResponse, web};

/// Every route of the site.
pub fn routes(cfg: &mut web::ServiceConfig) {
    // The API first: bids are the hot path, and the router tries patterns in order.
    cfg.configure(api::routes).configure(pages::routes);
}

pub use telemetry::trace_requests;

pub(crate) async fn healthz(store: web::Data<Store>) -> HttpResponse {
    if store.ping().await {
        HttpResponse::Ok().content_type("text/plain").body("ok")
    } else {
        HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("database unavailable")
    }
}
