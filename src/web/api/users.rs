//! Registration and tokens.

use super::{opt_str, require_object};
use crate::config::Settings;
use crate::domain::{Password, Role, Username};
use crate::store::Store;
use crate::store::tokens::TokenKind;
use crate::web::auth::{authenticate, hash_password};
use crate::web::client::ClientAddr;
use crate::web::error::AppError;
use crate::web::limits::RateLimits;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::post().to(register))
        .route("/tokens", web::post().to(issue_token));
}

fn user_json(user: &crate::store::users::User) -> Value {
    json!({"id": user.id, "username": user.username, "role": user.role.as_str()})
}

#[tracing::instrument(skip_all)]
async fn register(
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    limits: web::Data<RateLimits>,
    client: ClientAddr,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    require_object(&body)?;
    limits.may_register(client.0)?;
    let username = Username::parse(opt_str(&body, "username").unwrap_or(""))
        .map_err(|e| AppError::field("username", "invalid_username", e.to_string()))?;
    let password = Password::parse(opt_str(&body, "password").unwrap_or(""))
        .map_err(|e| AppError::field("password", "invalid_password", e.to_string()))?;
    let role = Role::parse_self_service(opt_str(&body, "role").unwrap_or("bidder"))
        .map_err(|e| AppError::field("role", "invalid_role", e.to_string()))?;
    let hash = hash_password(password).await?;
    let user = store
        .create_user(&username, &hash, role, settings.clock.now())
        .await?;
    Ok(HttpResponse::Created().json(user_json(&user)))
}

#[tracing::instrument(skip_all)]
async fn issue_token(
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    limits: web::Data<RateLimits>,
    client: ClientAddr,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    require_object(&body)?;
    let username = opt_str(&body, "username").unwrap_or("");
    let password = opt_str(&body, "password").unwrap_or("").to_owned();
    let user = authenticate(&store, &limits, client.0, username, password).await?;
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
