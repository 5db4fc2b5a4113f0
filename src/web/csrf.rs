//! CSRF: every form and every cookie-authenticated API write carries a token that is an HMAC,
//! under the site's own key, of what the browser holds: its session once signed in (so the
//! token changes at every login and ends with the session), or before that a random nonce in a
//! cookie. A cookie planted by someone else does not help them: without the key they cannot
//! make the token that goes with it.

use super::cookies::CookiePolicy;
use crate::store::tokens::random_secret;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, web};
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const CSRF_FIELD: &str = "csrf";

/// The key tokens are signed with (kept in the database, see `Store::site_key`).
pub struct CsrfKey(pub [u8; 32]);

/// A nonce made during this request, to be sent as a cookie with the response.
#[derive(Clone)]
struct FreshNonce(String);

fn mac(req: &HttpRequest, bound_to: &str) -> Option<Hmac<Sha256>> {
    let key = req.app_data::<web::Data<CsrfKey>>()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key.0).ok()?;
    mac.update(bound_to.as_bytes());
    Some(mac)
}

/// What the token is bound to, without making anything.
fn binding(req: &HttpRequest) -> Option<String> {
    let policy = CookiePolicy::of(req);
    if let Some(session) = policy.session(req) {
        return Some(format!("session:{session}"));
    }
    if let Some(FreshNonce(nonce)) = req.extensions().get::<FreshNonce>() {
        return Some(format!("nonce:{nonce}"));
    }
    req.cookie(policy.csrf_name())
        .map(|c| format!("nonce:{}", c.value()))
}

/// The token a page embeds; a browser with neither session nor nonce gets a nonce (set as a
/// cookie on the way out).
pub fn token(req: &HttpRequest) -> String {
    let bound_to = match binding(req) {
        Some(b) => b,
        None => match random_secret() {
            Ok(nonce) => {
                req.extensions_mut().insert(FreshNonce(nonce.clone()));
                format!("nonce:{nonce}")
            }
            Err(e) => {
                tracing::error!(error = %e, "no randomness for a CSRF nonce");
                return String::new();
            }
        },
    };
    mac(req, &bound_to)
        .map(|m| hex::encode(m.finalize().into_bytes()))
        .unwrap_or_default()
}

/// Whether the submitted token is the one for what this browser holds (in constant time).
pub fn matches(req: &HttpRequest, submitted: &str) -> bool {
    let (Some(bound_to), Ok(given)) = (binding(req), hex::decode(submitted)) else {
        return false;
    };
    mac(req, &bound_to).is_some_and(|m| m.verify_slice(&given).is_ok())
}

/// Gives a browser its nonce cookie with the first page that needed a token. Streams, the API
/// and assets never make one, so they cost nothing here.
pub async fn ensure_cookie(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    let fresh = res.request().extensions().get::<FreshNonce>().cloned();
    if let Some(FreshNonce(nonce)) = fresh {
        let policy = CookiePolicy::of(res.request());
        let cookie = policy.build(policy.csrf_name(), nonce);
        res.response_mut().add_cookie(&cookie)?;
    }
    Ok(res)
}
