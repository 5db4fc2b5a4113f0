//! One error type, mapped once to HTTP: JSON for the API (API.md §3), an HTML page for pages.

use crate::auction::HouseError;
use crate::domain::Currency;
use crate::domain::lot::{FieldError, ImageRefused, StateError};
use crate::domain::{BidRejected, Cents};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::fmt;

#[derive(Debug)]
pub enum AppError {
    Unauthenticated,
    BadCredentials,
    Forbidden(&'static str),
    Csrf,
    NotFound,
    InvalidJson(String),
    InvalidAmount(String),
    TooLarge,
    /// An upload past the image limit (10 MB).
    UploadTooLarge,
    /// The body did not arrive within its deadline: 408, and the connection is closed.
    BodyTimeout,
    /// A field that does not meet its rules: 422 with the field's code.
    Field(FieldError),
    /// A JSON field of the wrong type (its path, e.g. `role`): 422 with the field's code.
    WrongType {
        field: String,
        code: &'static str,
        message: String,
    },
    /// The route exists but not for this method: 405 with `Allow`.
    MethodNotAllowed(String),
    Conflict {
        code: &'static str,
        message: String,
    },
    BidTooLow {
        min_next: Cents,
        /// The site's currency, when the handler knows it, so the message reads "€122.50".
        currency: Option<Currency>,
    },
    Unavailable,
    /// The database cannot be written now (disk full, read-only, no descriptor left): 503.
    StorageUnavailable,
    /// Too many tries: 429 with `Retry-After` of this many seconds.
    RateLimited(u64),
    Internal(anyhow::Error),
}

impl AppError {
    pub fn field(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        AppError::Field(FieldError {
            field,
            code,
            message: message.into(),
        })
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated => "unauthenticated",
            AppError::BadCredentials => "bad_credentials",
            AppError::Forbidden(_) => "forbidden",
            AppError::Csrf => "csrf_failed",
            AppError::NotFound => "not_found",
            AppError::InvalidJson(_) => "invalid_json",
            AppError::InvalidAmount(_) => "invalid_amount",
            AppError::TooLarge | AppError::UploadTooLarge => "too_large",
            AppError::BodyTimeout => "request_timeout",
            AppError::Field(f) => f.code,
            AppError::WrongType { code, .. } => code,
            AppError::MethodNotAllowed(_) => "method_not_allowed",
            AppError::Conflict { code, .. } => code,
            AppError::BidTooLow { .. } => "bid_too_low",
            AppError::Unavailable => "overloaded",
            AppError::StorageUnavailable => "storage_unavailable",
            AppError::RateLimited(_) => "rate_limited",
            AppError::Internal(_) => "internal",
        }
    }

    /// Amounts in the message shown in the site's currency.
    pub fn in_currency(self, site: &Currency) -> AppError {
        match self {
            AppError::BidTooLow { min_next, .. } => AppError::BidTooLow {
                min_next,
                currency: Some(site.clone()),
            },
            other => other,
        }
    }

    /// Seconds a client should wait before trying again, for the answers that say so.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::Unavailable => Some(2),
            AppError::StorageUnavailable => Some(5),
            AppError::RateLimited(secs) => Some(*secs),
            _ => None,
        }
    }

    pub fn message(&self) -> String {
        match self {
            AppError::Unauthenticated => "sign in first".into(),
            AppError::BadCredentials => "wrong username or password".into(),
            AppError::Forbidden(why) => (*why).into(),
            AppError::Csrf => "the form has expired; reload the page and try again".into(),
            AppError::NotFound => "there is nothing here".into(),
            AppError::InvalidJson(why) => format!("the request body is not valid JSON: {why}"),
            AppError::InvalidAmount(why) => why.clone(),
            AppError::TooLarge => "the request body is larger than 64 KiB".into(),
            AppError::UploadTooLarge => "the image is larger than 10 MB".into(),
            AppError::BodyTimeout => "the request body did not arrive in time".into(),
            AppError::Field(f) => f.message.clone(),
            AppError::WrongType { message, .. } => message.clone(),
            AppError::MethodNotAllowed(allow) => format!("this address answers {allow}"),
            AppError::Conflict { message, .. } => message.clone(),
            AppError::BidTooLow { min_next, currency } => {
                let mut message = String::with_capacity(64);
                message.push_str("the bid is too low: at least ");
                match currency {
                    Some(c) => c.write(*min_next, &mut message),
                    None => message.push_str(&min_next.to_units_string()),
                }
                message.push_str(" is needed");
                message
            }
            AppError::Unavailable => "the server is busy; try again shortly".into(),
            AppError::StorageUnavailable => {
                "the site cannot store changes right now; nothing was changed unless the lot \
                 shows it; try again shortly"
                    .into()
            }
            AppError::RateLimited(secs) => {
                format!("too many tries; wait {secs} s and try again")
            }
            AppError::Internal(_) => "something went wrong on our side".into(),
        }
    }

    /// The body of API.md §3, serialized straight from its parts (no `Value` in between: on a
    /// hot lot, most requests are refused bids).
    fn body(&self) -> ErrorBody<'_> {
        let (mut min_next_bid_cents, mut field) = (None, None);
        match self {
            AppError::BidTooLow { min_next, .. } => min_next_bid_cents = Some(min_next.get()),
            AppError::Field(f) => field = Some(f.field),
            AppError::WrongType { field: f, .. } => field = Some(f.as_str()),
            _ => {}
        }
        ErrorBody {
            error: ErrorFields {
                code: self.code(),
                message: self.message(),
                min_next_bid_cents,
                field,
            },
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorFields<'a>,
}

#[derive(Serialize)]
struct ErrorFields<'a> {
    code: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_next_bid_cents: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::Internal(e) => write!(f, "internal error: {e:#}"),
            other => write!(f, "{}: {}", other.code(), other.message()),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated | AppError::BadCredentials => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::InvalidJson(_) | AppError::InvalidAmount(_) => StatusCode::BAD_REQUEST,
            AppError::TooLarge | AppError::UploadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            AppError::Field(_) | AppError::WrongType { .. } | AppError::BidTooLow { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            AppError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::Unavailable | AppError::StorageUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(e) = self {
            tracing::error!(error = ?e, "request failed");
        }
        let mut res = HttpResponse::build(self.status_code()).json(self.body());
        self.add_headers(&mut res);
        res
    }
}

impl AppError {
    /// What an answer to this error carries beyond its body, JSON or page alike: `Retry-After`,
    /// `Allow`, and a closed connection after a body that did not arrive in time.
    pub fn add_headers(&self, res: &mut HttpResponse) {
        use actix_web::http::header::{ALLOW, HeaderValue, RETRY_AFTER};
        let headers = res.headers_mut();
        if let Some(secs) = self.retry_after() {
            headers.insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        if let AppError::MethodNotAllowed(allow) = self
            && let Ok(value) = HeaderValue::from_str(allow)
        {
            headers.insert(ALLOW, value);
        }
        if matches!(self, AppError::BodyTimeout) {
            res.head_mut()
                .set_connection_type(actix_web::http::ConnectionType::Close);
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        if storage_fault(&e) {
            tracing::warn!(error = %e, "storage refused a request");
            AppError::StorageUnavailable
        } else {
            AppError::Internal(e.into())
        }
    }
}

/// Errors that say the storage cannot be used now, rather than that the request was wrong:
/// SQLite's BUSY, READONLY, IOERR, FULL and CANTOPEN, and no connection to be had.
fn storage_fault(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|code| matches!(code & 0xff, 5 | 8 | 10 | 13 | 14)),
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut => true,
        _ => false,
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        AppError::Internal(e)
    }
}

impl From<BidRejected> for AppError {
    fn from(e: BidRejected) -> Self {
        match e {
            BidRejected::LotNotOpen => AppError::Conflict {
                code: "lot_not_open",
                message: e.to_string(),
            },
            BidRejected::AuctionEnded => AppError::Conflict {
                code: "auction_ended",
                message: e.to_string(),
            },
            BidRejected::OwnLot => AppError::Forbidden("you cannot bid on your own lot"),
            BidRejected::TooLow { min_next } => AppError::BidTooLow {
                min_next,
                currency: None,
            },
            BidRejected::AmountTooLarge { .. } => {
                AppError::field("amount_cents", "amount_too_large", e.to_string())
            }
            BidRejected::MaxBelowAmount
            | BidRejected::MaxAloneNotLeading
            | BidRejected::MaxNotRaised { .. } => {
                AppError::field("max_cents", "invalid_max", e.to_string())
            }
        }
    }
}

/// 422 `idempotency_key_reused` (API.md §3a).
pub fn key_reused() -> AppError {
    AppError::field(
        "idempotency_key",
        "idempotency_key_reused",
        "this idempotency key was already used for a different request",
    )
}

/// The hub holds no more streams: 503 with Retry-After, like any overload.
impl From<crate::live::StreamsFull> for AppError {
    fn from(_: crate::live::StreamsFull) -> Self {
        AppError::Unavailable
    }
}

impl From<HouseError> for AppError {
    fn from(e: HouseError) -> Self {
        match e {
            HouseError::NotFound => AppError::NotFound,
            HouseError::Bid(b) => b.into(),
            HouseError::State(StateError::NotPending) => AppError::Conflict {
                code: "lot_not_pending",
                message: StateError::NotPending.to_string(),
            },
            HouseError::State(StateError::NotOpen) => AppError::Conflict {
                code: "lot_not_open",
                message: StateError::NotOpen.to_string(),
            },
            HouseError::State(StateError::NoSuchBid) => AppError::NotFound,
            HouseError::State(StateError::NotScheduled) => AppError::Conflict {
                code: "lot_not_scheduled",
                message: StateError::NotScheduled.to_string(),
            },
            HouseError::NoSuchSale => AppError::Field(FieldError::new(
                "sale_id",
                "invalid_sale",
                "there is no such sale",
            )),
            HouseError::SaleStarted => AppError::Conflict {
                code: "sale_started",
                message: HouseError::SaleStarted.to_string(),
            },
            HouseError::Image(e @ ImageRefused::TooMany) => {
                AppError::Field(FieldError::new("image", "too_many_images", e.to_string()))
            }
            HouseError::Image(e @ ImageRefused::NotPending) => AppError::Conflict {
                code: "lot_not_pending",
                message: e.to_string(),
            },
            HouseError::Image(ImageRefused::NoSuchImage) => AppError::NotFound,
            HouseError::Unavailable => AppError::Unavailable,
            HouseError::KeyReused => key_reused(),
            HouseError::Store => AppError::StorageUnavailable,
        }
    }
}

impl From<crate::store::users::CreateUserError> for AppError {
    fn from(e: crate::store::users::CreateUserError) -> Self {
        match e {
            crate::store::users::CreateUserError::Taken => AppError::Conflict {
                code: "username_taken",
                message: "that username is taken".into(),
            },
            crate::store::users::CreateUserError::Db(e) => e.into(),
        }
    }
}

impl From<crate::web::limits::Limited> for AppError {
    fn from(l: crate::web::limits::Limited) -> Self {
        AppError::RateLimited(l.0)
    }
}
