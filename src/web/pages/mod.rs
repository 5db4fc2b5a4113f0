//! Server-rendered pages (API.md §5): every action is a form that posts and redirects.

pub(crate) mod accounts;
pub(crate) mod admin;
pub(crate) mod lots;
pub(crate) mod me;
pub(crate) mod sales;
pub(crate) mod sell;

use super::auth::Viewer;
use super::csrf;
use super::error::AppError;
use crate::config::Settings;
use crate::store::users::User;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;
use std::fmt;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::FormConfig::default()
            .limit(super::api::MAX_BODY)
            .error_handler(|err, _req| {
                let mapped = match err {
                    actix_web::error::UrlencodedError::Overflow { .. } => AppError::TooLarge,
                    actix_web::error::UrlencodedError::Payload(p)
                        if super::body_deadline::is_timeout(&p) =>
                    {
                        AppError::BodyTimeout
                    }
                    other => AppError::field("form", "invalid_form", other.to_string()),
                };
                PageError(mapped).into()
            }),
    )
    .app_data(web::QueryConfig::default().error_handler(|err, req| {
        let error = AppError::field("query", "invalid_query", err.to_string());
        // Streams and polls beside the pages are read by scripts: they get the JSON shape.
        if wants_html(req) {
            PageError(error).into()
        } else {
            error.into()
        }
    }))
    .configure(super::routes::register_site);
}

fn wants_html(req: &HttpRequest) -> bool {
    req.headers()
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

pub struct NavUser {
    pub username: String,
    pub role: &'static str,
    pub is_admin: bool,
    pub can_sell: bool,
    pub can_bid: bool,
}

/// A form that carries nothing but its CSRF token: a button that does one thing.
#[derive(serde::Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// What every page's frame shows.
pub struct Layout {
    pub title: String,
    pub user: Option<NavUser>,
    pub csrf: String,
    pub currency: String,
    pub notice: String,
    /// The server's clock at render time, so countdowns follow it rather than the device's.
    pub server_now: String,
    /// The signed-in user's unread notices, and the latest id their live stream starts after.
    pub unread: i64,
    pub notice_cursor: i64,
}

impl Layout {
    pub fn new(req: &HttpRequest, user: Option<&User>, title: impl Into<String>) -> Self {
        let settings = req.app_data::<web::Data<Settings>>();
        let currency = settings
            .map(|s| s.currency.code().to_owned())
            .unwrap_or_default();
        let server_now = settings
            .map(|s| crate::domain::json::rfc3339(s.clock.now()))
            .unwrap_or_default();
        let notices = actix_web::HttpMessage::extensions(req)
            .get::<crate::web::auth::NoticeState>()
            .copied()
            .unwrap_or_default();
        Layout {
            title: title.into(),
            user: user.map(|u| NavUser {
                username: u.username.clone(),
                role: u.role.as_str(),
                is_admin: u.role == crate::domain::Role::Admin,
                can_sell: u.role.can_sell(),
                can_bid: u.role.can_bid(),
            }),
            csrf: csrf::token(req),
            currency,
            notice: notice(req),
            server_now,
            unread: notices.unread,
            notice_cursor: notices.latest,
        }
    }
}

/// Notices after a redirect come from a fixed list, so a link cannot put words on our pages.
fn notice(req: &HttpRequest) -> String {
    let key =
        web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .ok()
            .and_then(|q| q.get("notice").cloned())
            .unwrap_or_default();
    match key.as_str() {
        "bid" => "Your bid is in.",
        "leading" => "Your bid is in: you lead.",
        "outbid" => "Your bid is in, but another bidder's maximum is higher: you are outbid.",
        "max" => "Your maximum is raised. The price stays until someone bids against you.",
        "bid_removed" => "Bid removed: the lot is recomputed from the other bids.",
        "watching" => "Added to your watchlist: you will hear when it ends soon.",
        "unwatched" => "Removed from your watchlist.",
        "offer" => "Offer submitted. Add photographs while an admin reviews it.",
        "image" => "Photograph added.",
        "image_removed" => "Photograph removed.",
        "category" => "Category saved.",
        "sale" => "Sale created: approve offers into it until it starts.",
        "scheduled" => "Lot approved into the sale: it opens when the sale starts.",
        "registered" => "Welcome to Gavel! Your account is ready.",
        "welcome" => "You are logged in.",
        "bye" => "You are logged out.",
        "approved" => "Lot approved: the auction is open.",
        "rejected" => "Offer rejected.",
        "closed" => "Lot closed.",
        "cancelled" => "Lot cancelled.",
        "ended" => "Ended. That session or token no longer works.",
        _ => "",
    }
    .to_owned()
}

/// Renders a page with the headers every page gets.
pub fn render<T: Template>(status: StatusCode, page: &T) -> HttpResponse {
    match page.render() {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header(("Cache-Control", "no-store"))
            .insert_header(("X-Content-Type-Options", "nosniff"))
            .insert_header((
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' blob:; frame-ancestors 'none'",
            ))
            .body(html),
        Err(e) => {
            tracing::error!(error = %e, "page failed to render");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("Something went wrong on our side.")
        }
    }
}

pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", location))
        .finish()
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    heading: String,
    message: String,
}

/// The same errors as the API, shown as a page.
#[derive(Debug)]
pub struct PageError(pub AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl fmt::Display for PageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.0.status_code()
    }

    fn error_response(&self) -> HttpResponse {
        if matches!(self.0, AppError::Unauthenticated) {
            return see_other("/login");
        }
        if let AppError::Internal(e) = &self.0 {
            tracing::error!(error = ?e, "page request failed");
        }
        let heading = match self.status_code() {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::METHOD_NOT_ALLOWED => "Not available this way",
            StatusCode::PAYLOAD_TOO_LARGE => "Too much to send",
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::CONFLICT => "That cannot be done now",
            StatusCode::TOO_MANY_REQUESTS => "Slow down",
            s if s.is_server_error() => "Something went wrong",
            _ => "Please check your input",
        };
        let page = ErrorPage {
            layout: Layout {
                title: heading.into(),
                user: None,
                csrf: String::new(),
                currency: String::new(),
                notice: String::new(),
                server_now: String::new(),
                unread: 0,
                notice_cursor: 0,
            },
            heading: heading.into(),
            message: self.0.message(),
        };
        let mut res = render(self.status_code(), &page);
        self.0.add_headers(&mut res);
        res
    }
}

/// Refuses a form post whose CSRF field does not match the browser's cookie.
pub fn check_csrf(req: &HttpRequest, submitted: &str) -> Result<(), PageError> {
    if csrf::matches(req, submitted) {
        Ok(())
    } else {
        Err(PageError(AppError::Csrf))
    }
}

/// Pages behind a role: anonymous visitors go to log in, others get 403.
pub fn require_role(
    viewer: Viewer,
    allowed: impl Fn(crate::domain::Role) -> bool,
) -> Result<User, PageError> {
    let user = viewer.require()?;
    if allowed(user.role) {
        Ok(user)
    } else {
        Err(PageError(AppError::Forbidden(
            "your account's role may not use this page",
        )))
    }
}

/// The 404 page for any path nobody serves.
pub async fn not_found() -> Result<HttpResponse, PageError> {
    Err(PageError(AppError::NotFound))
}
