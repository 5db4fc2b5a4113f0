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

/// A token made during this request, to be sent as a cookie with the response.
#[derive(Clone)]
struct FreshToken(String);

fn issued(req: &HttpRequest) -> Option<String> {
    if let Some(t) = req.extensions().get::<CsrfToken>() {
        return Some(t.0.clone());
    }
    req.cookie(CSRF_COOKIE).map(|c| c.value().to_owned())
}

/// The token a page embeds; a browser without one gets a fresh one (set as a cookie on the way out).
pub fn token(req: &HttpRequest) -> String {
    if let Some(t) = issued(req) {
        return t;
    }
    match random_secret() {
        Ok(fresh) => {
            req.extensions_mut().insert(FreshToken(fresh.clone()));
            req.extensions_mut().insert(CsrfToken(fresh.clone()));
            fresh
        }
        Err(e) => {
            tracing::error!(error = %e, "no randomness for a CSRF token");
            String::new()
        }
    }
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

/// Gives a browser its CSRF cookie with the first page that needed a token. Streams, the API
/// and assets never make one, so they cost nothing here.
pub async fn ensure_cookie(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    let fresh = res.request().extensions().get::<FreshToken>().cloned();
    if let Some(FreshToken(token)) = fresh {
        let cookie = Cookie::build(CSRF_COOKIE, token)
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .finish();
        res.response_mut().add_cookie(&cookie)?;
    }
    Ok(res)
}
