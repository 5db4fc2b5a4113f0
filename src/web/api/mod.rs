//! The JSON API under /api/v1 (API.md §2, §3).

pub mod lots;
mod users;

use super::error::AppError;
use actix_web::error::JsonPayloadError;
use actix_web::web;
use serde_json::Value;

pub const MAX_BODY: usize = 64 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .app_data(json_config())
            .app_data(web::QueryConfig::default().error_handler(|err, _req| {
                AppError::field("query", "invalid_query", err.to_string()).into()
            }))
            .configure(users::routes)
            .configure(lots::routes)
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
                JsonPayloadError::ContentType => {
                    AppError::InvalidJson("send Content-Type: application/json".into())
                }
                other => AppError::InvalidJson(other.to_string()),
            };
            mapped.into()
        })
}

/// A body field that must be a string if present.
fn opt_str<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body.get(name).and_then(Value::as_str)
}

/// A body field that, if present and not null, must be a whole number.
fn opt_int(body: &Value, name: &str) -> Result<Option<i64>, ()> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or(()),
    }
}

fn require_object(body: &Value) -> Result<(), AppError> {
    if body.is_object() {
        Ok(())
    } else {
        Err(AppError::InvalidJson(
            "the body must be a JSON object".into(),
        ))
    }
}
