//! Typed JSON bodies: read once, each field checked for its type, a wrong one named (API.md §3a).

use crate::web::error::AppError;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A JSON object body read into `T`. A wrong type is a 422 naming its field, never a default;
/// a body that is not a JSON object is 400 `invalid_json`.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move { Ok(Body(typed(json.await?.into_inner())?)) })
    }
}

/// A body that may be left out entirely (no bytes at all); one that is sent must be valid.
pub struct OptionalBody<T>(pub Option<T>);

impl<T: DeserializeOwned + 'static> FromRequest for OptionalBody<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if is_empty(req) {
            return Box::pin(async { Ok(OptionalBody(None)) });
        }
        let body = Body::<T>::from_request(req, payload);
        Box::pin(async move { Ok(OptionalBody(Some(body.await?.0))) })
    }
}

fn is_empty(req: &HttpRequest) -> bool {
    let headers = req.headers();
    let length = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    !headers.contains_key("transfer-encoding") && matches!(length, None | Some("0"))
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

pub fn typed<T: DeserializeOwned>(value: Value) -> Result<T, AppError> {
    if !value.is_object() {
        return Err(AppError::InvalidJson(
            "the body must be a JSON object".into(),
        ));
    }
    serde_path_to_error::deserialize(value).map_err(|err| {
        let field = err.path().to_string();
        let why = err.into_inner().to_string();
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
    })
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
        typed::<Sample>(value).err()
    }

    #[test]
    fn a_wrong_type_names_its_field() {
        let err = refusal(json!({"name": 5}));
        assert_eq!(err.as_ref().map(AppError::code), Some("invalid_field"));
        let err = typed::<Sample2>(json!({"role": 5})).err();
        assert_eq!(err.as_ref().map(AppError::code), Some("invalid_role"));
        assert!(matches!(err, Some(AppError::WrongType { ref field, .. }) if field == "role"));
    }

    #[test]
    fn money_keeps_its_code_and_other_shapes_are_not_objects() {
        let code = |v| refusal(v).map(|e| e.code());
        assert_eq!(code(json!({"amount_cents": 12.5})), Some("invalid_amount"));
        assert_eq!(code(json!([1, 2])), Some("invalid_json"));
        assert_eq!(code(json!({"name": null})), None);
    }
}
