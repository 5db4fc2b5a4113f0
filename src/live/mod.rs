//! Live push (API.md §4): the hub, and SSE, NDJSON and long polling as thin views over it.

mod event;
mod hub;
mod limits;
pub mod metrics;
mod poll;
mod presence;
mod stream;

pub use event::LiveEvent;
pub use hub::{Filter, Hub, Push};
pub use limits::{Transport, default_max_streams, drop_when_stalled};

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/events", web::get().to(stream::site_events))
        .route("/lots/{id}/events", web::get().to(stream::lot_events))
        .route("/poll", web::get().to(poll::site_poll))
        .route("/lots/{id}/poll", web::get().to(poll::lot_poll))
        .route("/metrics", web::get().to(metrics::serve));
}
