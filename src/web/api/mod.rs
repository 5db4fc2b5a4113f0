//! The JSON API under /api/v1 (API.md §2, §3).

mod body;
pub mod lots;
pub(crate) mod users;

pub use body::{Body, OptionalBody};

use super::error::AppError;
use actix_web::error::JsonPayloadError;
use actix_web::{Route, web};

pub const MAX_BODY: usize = 64 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            // What the API answers depends on who asks (a seller sees the reserve): no cache
            // may keep it.
            .wrap(actix_web::middleware::DefaultHeaders::new().add(("Cache-Control", "no-store")))
            .app_data(json_config())
            .app_data(web::QueryConfig::default().error_handler(|err, _req| {
                AppError::field("query", "invalid_query", err.to_string()).into()
            }))
            .configure(super::routes::register_api)
            .default_service(web::to(|| async { Err::<String, _>(AppError::NotFound) })),
    );
}

fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_BODY)
        .error_handler(|err, _req| {
            let mapped = match &err {
                JsonPayloadError::Overflow { .. }
                | JsonPayloadError::OverflowKnownLength { .. } => AppError::TooLarge,
                JsonPayloadError::Payload(p) if super::body_deadline::is_timeout(p) => {
                    AppError::BodyTimeout
                }
                JsonPayloadError::ContentType => {
                    AppError::InvalidJson("send Content-Type: application/json".into())
                }
                other => AppError::InvalidJson(other.to_string()),
            };
            mapped.into()
        })
}

/// The answer for a method a resource does not serve: 405 in the §3 shape, with `Allow`.
pub fn refuse_method(allow: &str) -> Route {
    let allow = allow.to_owned();
    web::to(move || {
        let allow = allow.clone();
        async move { Err::<String, _>(AppError::MethodNotAllowed(allow)) }
    })
}
