//! Who is asking: session cookies for browsers, bearer tokens for programs, Argon2id passwords.

use super::cookies::CookiePolicy;
use super::csrf;
use super::error::AppError;
use super::limits::RateLimits;
use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::{Password, Role};
use crate::store::Store;
use crate::store::tokens::TokenKind;
use crate::store::users::User;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use futures_util::future::{Either, Ready, ready};
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::Semaphore;

/// Argon2id takes 19 MiB and tens of milliseconds per hash: at most one hash per core runs at
/// once, and at most `HASH_QUEUE` more wait; past that a caller is told to retry (429), so no
/// burst of logins can pile up hashes in memory.
const HASH_QUEUE: usize = 64;

struct Hashing {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
}

fn hashing() -> &'static Hashing {
    static HASHING: OnceLock<Hashing> = OnceLock::new();
    HASHING.get_or_init(|| Hashing {
        permits: Arc::new(Semaphore::new(
            std::thread::available_parallelism().map_or(2, usize::from),
        )),
        waiting: AtomicUsize::new(0),
    })
}

/// Counts a caller in the queue for as long as it waits (also when its request is dropped).
struct InQueue(&'static AtomicUsize);

impl Drop for InQueue {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Runs `work` on a blocking thread once a hashing permit is free. The permit moves into the
/// thread, so a request that goes away cannot free it while its hash still runs.
async fn bounded<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    let h = hashing();
    let queued = InQueue(&h.waiting);
    if h.waiting.fetch_add(1, Ordering::Relaxed) >= HASH_QUEUE {
        return Err(AppError::RateLimited(1));
    }
    let permit = h
        .permits
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("hashing closed: {e}")))?;
    drop(queued);
    tokio::task::spawn_blocking(move || {
        let out = work();
        drop(permit);
        out
    })
    .await
    .map_err(|e| AppError::Internal(anyhow::anyhow!("hashing task failed: {e}")))
}

/// Hashes off the async threads: Argon2id is deliberately slow.
pub async fn hash_password(password: Password) -> Result<String, AppError> {
    bounded(move || {
        Argon2::default()
            .hash_password(password.expose().as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
    })
    .await?
    .map_err(AppError::Internal)
}

/// A hash to check against when the user does not exist, so both answers take as long.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        Argon2::default()
            .hash_password(b"decoy password for timing")
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

pub async fn verify_password(password: String, hash: Option<String>) -> Result<bool, AppError> {
    bounded(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| decoy_hash().to_owned());
        let ok = PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        known && ok
    })
    .await
}

/// Checks a username and password; suspended users cannot log in. A name or address that
/// failed too often is refused before any hash is computed.
pub async fn authenticate(
    store: &Store,
    limits: &RateLimits,
    from: IpAddr,
    username: &str,
    password: String,
) -> Result<User, AppError> {
    limits.may_try_login(username, from)?;
    let name = username.trim().to_lowercase();
    let found = store.user_by_name(&name).await?;
    let (user, hash) = match found {
        Some((u, h)) => (Some(u), Some(h)),
        None => (None, None),
    };
    let ok = verify_password(password, hash).await?;
    match user {
        Some(user) if ok && !user.suspended => Ok(user),
        _ => {
            limits.login_failed(username, from);
            Err(AppError::BadCredentials)
        }
    }
}

pub(crate) fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The store and the clock: all an extractor needs (not a copy of every setting per request).
fn deps(req: &HttpRequest) -> Result<(Store, Clock), AppError> {
    let (store, clock) = deps_ref(req)?;
    Ok((store.clone(), clock.clone()))
}

fn deps_ref(req: &HttpRequest) -> Result<(&Store, &Clock), AppError> {
    let store = req
        .app_data::<web::Data<Store>>()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("store missing")))?;
    let settings = req
        .app_data::<web::Data<Settings>>()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("settings missing")))?;
    Ok((store.get_ref(), &settings.clock))
}

/// The signed-in user's notices as a page shows them: the latest id and how many are unread.
#[derive(Clone, Copy, Default)]
pub struct NoticeState {
    pub latest: i64,
    pub unread: i64,
}

/// The signed-in browser user, if any (pages).
pub struct Viewer(pub Option<User>);

impl Viewer {
    pub fn require(self) -> Result<User, AppError> {
        self.0.ok_or(AppError::Unauthenticated)
    }

    pub fn role(&self) -> Option<Role> {
        self.0.as_ref().map(|u| u.role)
    }
}

impl FromRequest for Viewer {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let (store, clock) = deps(&req)?;
            let Some(session) = CookiePolicy::of(&req).session(&req) else {
                return Ok(Viewer(None));
            };
            let user = store
                .user_for_token(&session, TokenKind::Session, clock.now())
                .await?;
            if let Some(user) = &user {
                // Every page of a signed-in user shows the unread count and streams notices
                // from the latest one (`Layout`).
                let (latest, unread) = store.notice_state(user.id).await?;
                actix_web::HttpMessage::extensions_mut(&req).insert(NoticeState { latest, unread });
            }
            Ok(Viewer(user))
        })
    }
}

/// The API caller: a bearer token, or a browser session whose state-changing requests
/// carry the CSRF token in `X-CSRF-Token`.
pub struct ApiCaller(pub Option<User>);

impl ApiCaller {
    pub fn require(self) -> Result<User, AppError> {
        self.0.ok_or(AppError::Unauthenticated)
    }

    /// The role check comes first on every route (API.md §3).
    pub fn require_role(self, allowed: impl Fn(Role) -> bool) -> Result<User, AppError> {
        let user = self.require()?;
        if allowed(user.role) {
            Ok(user)
        } else {
            Err(AppError::Forbidden("your role may not do this"))
        }
    }
}

impl FromRequest for ApiCaller {
    type Error = AppError;
    type Future = Either<
        Ready<Result<Self, Self::Error>>,
        Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>,
    >;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // A program bidding flat out presents the same token many times a second: answered
        // from the cache here, its request needs no boxed future and no copy of itself.
        if let (Some(token), Ok((store, clock))) = (bearer(req), deps_ref(req))
            && let Some(user) = store.recently_checked_user(token, TokenKind::Api, clock.now())
        {
            return Either::Left(ready(Ok(ApiCaller(Some(user)))));
        }
        let req = req.clone();
        Either::Right(Box::pin(async move {
            let (store, clock) = deps(&req)?;
            let now = clock.now();
            if let Some(token) = bearer(&req) {
                let user = store.user_for_token(token, TokenKind::Api, now).await?;
                return match user {
                    Some(u) => Ok(ApiCaller(Some(u))),
                    None => Err(AppError::Unauthenticated),
                };
            }
            let Some(session) = CookiePolicy::of(&req).session(&req) else {
                return Ok(ApiCaller(None));
            };
            let user = store
                .user_for_token(&session, TokenKind::Session, now)
                .await?;
            if user.is_some() && !req.method().is_safe() {
                let header = req
                    .headers()
                    .get("x-csrf-token")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if !csrf::matches(&req, header) {
                    return Err(AppError::Csrf);
                }
            }
            Ok(ApiCaller(user))
        }))
    }
}
