//! The JSON API under /api/v1 (API.md §2, §3).

mod body;
pub(crate) mod catalogue;
pub mod lots;
pub(crate) mod me;
pub(crate) mod users;

pub use body::{Body, OptionalBody};

use super::error::AppError;
use actix_web::web;

pub const MAX_BODY: usize = 64 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            // What the API answers depends on who asks (a seller sees the reserve): no cache
            // may keep it.
            .wrap(actix_web::middleware::DefaultHeaders::new().add(("Cache-Control", "no-store")))
            .app_data(web::QueryConfig::default().error_handler(|err, _req| {
                AppError::field("query", "invalid_query", err.to_string()).into()
            }))
            .configure(super::routes::register_api)
            .default_service(web::to(|| async { Err::<String, _>(AppError::NotFound) })),
    );
}
