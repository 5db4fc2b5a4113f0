//! CSRF: every browser gets a random token in an HttpOnly cookie; every form repeats it in a
//! hidden field and a post is accepted only when the two match (together with SameSite=Lax).

use crate::store::tokens::random_secret;
use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest};

pub const CSRF_COOKIE: &str = "gavel_csrf";
pub const CSRF_FIELD: &str = "csrf";

/// The token this request's pages should embed.
#[derive(Clone)]
pub struct CsrfToken(pub String);

fn issued(req: &HttpRequest) -> Option<String> {
    if let Some(t) = req.extensions().get::<CsrfToken>() {
        return Some(t.0.clone());
    }
    req.cookie(CSRF_COOKIE).map(|c| c.value().to_owned())
}

pub fn token(req: &HttpRequest) -> String {
    issued(req).unwrap_or_default()
}

/// Constant-time comparison with the browser's cookie.
pub fn matches_cookie(req: &HttpRequest, submitted: &str) -> bool {
    let Some(cookie) = req.cookie(CSRF_COOKIE) else {
        return false;
    };
    let expected = cookie.value().as_bytes();
    let given = submitted.as_bytes();
    if expected.is_empty() || expected.len() != given.len() {
        return false;
    }
    expected
        .iter()
        .zip(given)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

/// Gives a browser its CSRF cookie on its first visit.
pub async fn ensure_cookie(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let fresh = if req.cookie(CSRF_COOKIE).is_none() {
        let token = random_secret().map_err(actix_web::error::ErrorInternalServerError)?;
        req.extensions_mut().insert(CsrfToken(token.clone()));
        Some(token)
    } else {
        None
    };
    let mut res = next.call(req).await?;
    if let Some(token) = fresh {
        let cookie = Cookie::build(CSRF_COOKIE, token)
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .finish();
        res.response_mut().add_cookie(&cookie)?;
    }
    Ok(res)
}
