//! Register, log in, log out.

use super::{Layout, PageError, check_csrf, render};
use crate::config::Settings;
use crate::domain::{Password, Role, Username};
use crate::store::Store;
use crate::store::tokens::TokenKind;
use crate::store::users::User;
use crate::web::auth::{Viewer, authenticate, hash_password};
use crate::web::client::ClientAddr;
use crate::web::cookies::CookiePolicy;
use crate::web::error::AppError;
use crate::web::limits::RateLimits;
use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    error: String,
    username: String,
    next: String,
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    layout: Layout,
    error: String,
    username: String,
    role: String,
}

#[derive(Template)]
#[template(path = "logout.html")]
struct LogoutPage {
    layout: Layout,
}

#[derive(Deserialize)]
pub(crate) struct NextQuery {
    next: Option<String>,
}

/// Only paths on this site: never `//elsewhere`, a full URL, or anything a browser would
/// rewrite into one (it drops tabs and newlines, and reads `\\` as `/`). Visible ASCII only, so
/// the `Location` header can always be written.
fn safe_next(next: Option<&str>) -> String {
    let local = |n: &str| {
        n.len() <= 2048
            && n.starts_with('/')
            && !n[1..].starts_with('/')
            && n.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'\\')
    };
    match next {
        Some(n) if local(n) => n.to_owned(),
        _ => "/".to_owned(),
    }
}

pub(crate) async fn login_page(
    req: HttpRequest,
    viewer: Viewer,
    q: web::Query<NextQuery>,
) -> HttpResponse {
    let page = LoginPage {
        layout: Layout::new(&req, viewer.0.as_ref(), "Log in"),
        error: String::new(),
        username: String::new(),
        next: safe_next(q.next.as_deref()),
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    csrf: String,
    username: String,
    password: String,
    next: Option<String>,
}

/// Starts a fresh session (a new id at every login) and sets its cookie.
async fn start_session(
    req: &HttpRequest,
    store: &Store,
    settings: &Settings,
    user: &User,
    location: &str,
) -> Result<HttpResponse, PageError> {
    let policy = CookiePolicy::of(req);
    if let Some(old) = policy.session(req) {
        store.revoke_token(&old).await?;
    }
    let secret = store
        .issue_token(
            user,
            TokenKind::Session,
            settings.clock.now(),
            settings.session_ttl,
        )
        .await?;
    let mut cookie = policy.build(policy.session_name(), secret);
    cookie.set_max_age(CookieDuration::seconds(
        settings.session_ttl.as_secs() as i64
    ));
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", location))
        .cookie(cookie)
        .finish())
}

pub(crate) async fn login(
    req: HttpRequest,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    limits: web::Data<RateLimits>,
    client: ClientAddr,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    check_csrf(&req, &form.csrf)?;
    let next = safe_next(form.next.as_deref());
    match authenticate(
        &store,
        &limits,
        client.0,
        &form.username,
        form.password.clone(),
    )
    .await
    {
        Ok(user) => {
            let sep = if next.contains('?') { '&' } else { '?' };
            let location = if next == "/" {
                "/?notice=welcome".to_owned()
            } else {
                format!("{next}{sep}notice=welcome")
            };
            start_session(&req, &store, &settings, &user, &location).await
        }
        Err(AppError::BadCredentials) => {
            let page = LoginPage {
                layout: Layout::new(&req, None, "Log in"),
                error: "Wrong username or password.".into(),
                username: form.username.clone(),
                next,
            };
            Ok(render(StatusCode::UNAUTHORIZED, &page))
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn register_page(req: HttpRequest, viewer: Viewer) -> HttpResponse {
    let page = RegisterPage {
        layout: Layout::new(&req, viewer.0.as_ref(), "Register"),
        error: String::new(),
        username: String::new(),
        role: "bidder".into(),
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub(crate) struct RegisterForm {
    #[serde(default)]
    csrf: String,
    username: String,
    password: String,
    role: Option<String>,
}

pub(crate) async fn register(
    req: HttpRequest,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    limits: web::Data<RateLimits>,
    client: ClientAddr,
    form: web::Form<RegisterForm>,
) -> Result<HttpResponse, PageError> {
    check_csrf(&req, &form.csrf)?;
    limits.may_register(client.0)?;
    let role_text = form.role.clone().unwrap_or_else(|| "bidder".into());
    let again = |status: StatusCode, error: String| {
        let page = RegisterPage {
            layout: Layout::new(&req, None, "Register"),
            error,
            username: form.username.clone(),
            role: role_text.clone(),
        };
        Ok(render(status, &page))
    };
    let parsed = Username::parse(&form.username).and_then(|u| {
        Ok((
            u,
            Password::parse(&form.password)?,
            Role::parse_self_service(&role_text)?,
        ))
    });
    let (username, password, role) = match parsed {
        Ok(p) => p,
        Err(e) => return again(StatusCode::UNPROCESSABLE_ENTITY, capitalize(&e.to_string())),
    };
    let hash = hash_password(password).await?;
    match store
        .create_user(&username, &hash, role, settings.clock.now())
        .await
    {
        Ok(user) => {
            let to = if role == Role::Seller {
                "/sell?notice=registered"
            } else {
                "/?notice=registered"
            };
            start_session(&req, &store, &settings, &user, to).await
        }
        Err(crate::store::users::CreateUserError::Taken) => again(
            StatusCode::CONFLICT,
            "That username is taken. Try another.".into(),
        ),
        Err(e) => Err(AppError::from(e).into()),
    }
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>() + ".",
        None => String::new(),
    }
}

pub(crate) async fn logout_page(req: HttpRequest, viewer: Viewer) -> HttpResponse {
    let page = LogoutPage {
        layout: Layout::new(&req, viewer.0.as_ref(), "Log out"),
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub(crate) struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub(crate) async fn logout(
    req: HttpRequest,
    store: web::Data<Store>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    check_csrf(&req, &form.csrf)?;
    let policy = CookiePolicy::of(&req);
    if let Some(session) = policy.session(&req) {
        store.revoke_token(&session).await?;
    }
    let mut gone = policy.build(policy.session_name(), String::new());
    gone.make_removal();
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", "/?notice=bye"))
        .cookie(gone)
        .finish())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_is_only_ever_a_path_on_this_site() {
        for kept in ["/", "/lots/1?x=2", "/me", "/%2F%2Fevil.example"] {
            assert_eq!(safe_next(Some(kept)), kept);
        }
        for sent_home in [
            "//evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "https://evil.example",
            "evil.example",
            "/\u{7f}x",
            "/caf\u{e9}",
            "/a b",
            "",
        ] {
            assert_eq!(safe_next(Some(sent_home)), "/", "{sent_home:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
