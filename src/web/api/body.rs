//! Typed JSON bodies: read once, each field checked for its type, a wrong one named (API.md §3a).

use crate::web::error::AppError;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

/// A JSON object body read into `T`. A wrong type is a 422 naming its field, never a default;
/// a body that is not a JSON object is 400 `invalid_json`.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let checked = check_head(req);
        let mut payload = payload.take();
        Box::pin(async move {
            checked?;
            let bytes = read_limited(&mut payload).await?;
            Ok(Body(typed_from_slice(&bytes)?))
        })
    }
}

/// The content type and the announced length, before any byte is read.
fn check_head(req: &HttpRequest) -> Result<(), AppError> {
    let json = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .is_some_and(is_json_type);
    if !json {
        return Err(AppError::InvalidJson(
            "send Content-Type: application/json".into(),
        ));
    }
    let announced = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok());
    if announced.is_some_and(|n| n > super::MAX_BODY) {
        return Err(AppError::TooLarge);
    }
    Ok(())
}

/// `application/json` or `application/…+json`, in any case, without allocating.
fn is_json_type(media: &str) -> bool {
    let bytes = media.as_bytes();
    let starts =
        |p: &str| bytes.len() >= p.len() && bytes[..p.len()].eq_ignore_ascii_case(p.as_bytes());
    let ends = |p: &str| {
        bytes.len() >= p.len() && bytes[bytes.len() - p.len()..].eq_ignore_ascii_case(p.as_bytes())
    };
    media.eq_ignore_ascii_case("application/json") || (starts("application/") && ends("+json"))
}

/// The body, at most `MAX_BODY` bytes, read once (its deadline is `body_deadline`'s).
async fn read_limited(payload: &mut Payload) -> Result<web::BytesMut, AppError> {
    use futures_util::StreamExt;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            if crate::web::body_deadline::is_timeout(&e) {
                AppError::BodyTimeout
            } else {
                AppError::InvalidJson(e.to_string())
            }
        })?;
        if body.len() + chunk.len() > super::MAX_BODY {
            return Err(AppError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Straight from the bytes into `T` (no `Value` in between: a bid's body is on the hot path).
/// Bad syntax is 400 `invalid_json`; a wrong type is a field error (`field_error`).
pub fn typed_from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    // A struct would also take a JSON array (its fields in order): only an object is a body.
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') {
        return Err(AppError::InvalidJson(
            "the body must be a JSON object".into(),
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data if path != "." && !path.is_empty() => {
                field_error(path, inner.to_string())
            }
            serde_json::error::Category::Data => {
                AppError::InvalidJson("the body must be a JSON object".into())
            }
            _ => AppError::InvalidJson(inner.to_string()),
        }
    })?;
    de.end().map_err(|e| AppError::InvalidJson(e.to_string()))?;
    Ok(value)
}

/// A body that may be left out entirely (no bytes at all); one that is sent must be valid.
pub struct OptionalBody<T>(pub Option<T>);

impl<T: DeserializeOwned + 'static> FromRequest for OptionalBody<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if !crate::web::body_deadline::has_body(req.headers()) {
            return Box::pin(async { Ok(OptionalBody(None)) });
        }
        let body = Body::<T>::from_request(req, payload);
        Box::pin(async move { Ok(OptionalBody(Some(body.await?.0))) })
    }
}

/// Money fields keep their documented 400 `invalid_amount` (API.md §3) whatever is wrong with them.
const AMOUNT_FIELDS: [&str; 2] = ["amount_cents", "max_cents"];

/// A field of the wrong type gets the code its rules give it when its value is wrong.
const FIELD_CODES: [(&str, &str); 9] = [
    ("username", "invalid_username"),
    ("password", "invalid_password"),
    ("role", "invalid_role"),
    ("title", "invalid_title"),
    ("description", "invalid_description"),
    ("starting_price_cents", "invalid_starting_price"),
    ("reserve_cents", "invalid_reserve"),
    ("duration_secs", "invalid_duration"),
    ("reason", "invalid_reason"),
];

fn field_error(field: String, why: String) -> AppError {
    if AMOUNT_FIELDS.contains(&field.as_str()) {
        AppError::InvalidAmount(format!("{field} must be a whole number of cents ({why})"))
    } else {
        let code = FIELD_CODES
            .iter()
            .find(|(name, _)| *name == field)
            .map_or("invalid_field", |(_, code)| code);
        AppError::WrongType {
            message: format!("{field}: {why}"),
            field,
            code,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Deserialize, Debug)]
    struct Sample {
        #[allow(dead_code)]
        name: Option<String>,
        #[allow(dead_code)]
        amount_cents: Option<i64>,
    }

    #[derive(Deserialize, Debug)]
    struct Sample2 {
        #[allow(dead_code)]
        role: Option<String>,
    }

    fn refusal(value: serde_json::Value) -> Option<AppError> {
        typed_from_slice::<Sample>(value.to_string().as_bytes()).err()
    }

    #[test]
    fn a_wrong_type_names_its_field() {
        let err = refusal(json!({"name": 5}));
        assert_eq!(err.as_ref().map(AppError::code), Some("invalid_field"));
        let err = typed_from_slice::<Sample2>(br#"{"role": 5}"#).err();
        assert_eq!(err.as_ref().map(AppError::code), Some("invalid_role"));
        assert!(matches!(err, Some(AppError::WrongType { ref field, .. }) if field == "role"));
    }

    #[test]
    fn money_keeps_its_code_and_other_shapes_are_not_objects() {
        let code = |v| refusal(v).map(|e| e.code());
        assert_eq!(code(json!({"amount_cents": 12.5})), Some("invalid_amount"));
        assert_eq!(code(json!([1, 2])), Some("invalid_json"));
        assert_eq!(code(json!({"name": null})), None);
        let bad = |b: &[u8]| typed_from_slice::<Sample>(b).err().map(|e| e.code());
        assert_eq!(bad(b"{\"name\":"), Some("invalid_json"));
        assert_eq!(bad(b"{} {}"), Some("invalid_json"));
        assert_eq!(bad(b""), Some("invalid_json"));
    }
}
