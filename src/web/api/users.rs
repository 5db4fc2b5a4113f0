//! Registration and tokens.

use super::Body;
use crate::config::Settings;
use crate::domain::{Password, Role, Username};
use crate::store::Store;
use crate::store::tokens::TokenKind;
use crate::web::auth::{ApiCaller, authenticate, bearer, hash_password};
use crate::web::client::ClientAddr;
use crate::web::cookies::CookiePolicy;
use crate::web::error::AppError;
use crate::web::limits::RateLimits;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

fn user_json(user: &crate::store::users::User) -> Value {
    json!({"id": user.id, "username": user.username, "role": user.role.as_str()})
}

#[derive(Deserialize)]
pub(crate) struct Registration {
    username: Option<String>,
    password: Option<String>,
    role: Option<String>,
}

#[tracing::instrument(skip_all)]
pub(crate) async fn register(
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    limits: web::Data<RateLimits>,
    client: ClientAddr,
    Body(body): Body<Registration>,
) -> Result<HttpResponse, AppError> {
    limits.may_register(client.0)?;
    let username = Username::parse(body.username.as_deref().unwrap_or(""))
        .map_err(|e| AppError::field("username", "invalid_username", e.to_string()))?;
    let password = Password::parse(body.password.as_deref().unwrap_or(""))
        .map_err(|e| AppError::field("password", "invalid_password", e.to_string()))?;
    let role = Role::parse_self_service(body.role.as_deref().unwrap_or("bidder"))
        .map_err(|e| AppError::field("role", "invalid_role", e.to_string()))?;
    let hash = hash_password(password).await?;
    let user = store
        .create_user(&username, &hash, role, settings.clock.now())
        .await?;
    Ok(HttpResponse::Created().json(user_json(&user)))
}

#[derive(Deserialize)]
pub(crate) struct Credentials {
    username: Option<String>,
    password: Option<String>,
}

#[tracing::instrument(skip_all)]
pub(crate) async fn issue_token(
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    limits: web::Data<RateLimits>,
    client: ClientAddr,
    Body(body): Body<Credentials>,
) -> Result<HttpResponse, AppError> {
    let username = body.username.unwrap_or_default();
    let password = body.password.unwrap_or_default();
    let user = authenticate(&store, &limits, client.0, &username, password).await?;
    let token = store
        .issue_token(
            &user,
            TokenKind::Api,
            settings.clock.now(),
            settings.session_ttl,
        )
        .await?;
    Ok(HttpResponse::Created().json(json!({"token": token, "user": user_json(&user)})))
}

/// Ends the credential the request came with: its bearer token, or else its session.
#[tracing::instrument(skip_all)]
pub(crate) async fn revoke_token(
    req: HttpRequest,
    store: web::Data<Store>,
    caller: ApiCaller,
) -> Result<HttpResponse, AppError> {
    caller.require()?;
    let secret = match bearer(&req) {
        Some(token) => token.to_owned(),
        None => CookiePolicy::of(&req)
            .session(&req)
            .ok_or(AppError::Unauthenticated)?,
    };
    store.revoke_token(&secret).await?;
    Ok(HttpResponse::NoContent().finish())
}
