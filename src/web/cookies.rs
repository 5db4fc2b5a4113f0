//! Our cookies' names and flags. Behind `https://` (GAVEL_PUBLIC_URL) they are `Secure` and
//! carry the `__Host-` prefix, so no other host (a sibling subdomain, a plain-HTTP attacker)
//! can set them for us.

use crate::config::Settings;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::{HttpRequest, web};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CookiePolicy {
    pub secure: bool,
}

impl CookiePolicy {
    pub fn for_public_url(url: Option<&str>) -> Self {
        CookiePolicy {
            secure: url.is_some_and(|u| u.to_ascii_lowercase().starts_with("https://")),
        }
    }

    /// The policy of the site serving this request.
    pub fn of(req: &HttpRequest) -> Self {
        req.app_data::<web::Data<Settings>>()
            .map(|s| s.cookies)
            .unwrap_or_default()
    }

    pub fn session_name(self) -> &'static str {
        if self.secure {
            "__Host-gavel_session"
        } else {
            "gavel_session"
        }
    }

    pub fn csrf_name(self) -> &'static str {
        if self.secure {
            "__Host-gavel_csrf"
        } else {
            "gavel_csrf"
        }
    }

    /// The session secret the browser sent, if any.
    pub fn session(self, req: &HttpRequest) -> Option<String> {
        req.cookie(self.session_name())
            .map(|c| c.value().to_owned())
    }

    /// A cookie for the whole site, hidden from scripts.
    pub fn build(self, name: &'static str, value: String) -> Cookie<'static> {
        Cookie::build(name, value)
            .path("/")
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .finish()
    }
}
