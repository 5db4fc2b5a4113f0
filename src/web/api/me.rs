//! The signed-in user's notices and watchlist in the API (API.md §7).

use super::Body;
use super::lots::{lot_json, visible};
use crate::config::Settings;
use crate::store::Store;
use crate::web::auth::ApiCaller;
use crate::web::error::AppError;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use uuid::Uuid;

/// Most notices one request lists.
const MAX_LIST: i64 = 200;

#[derive(Deserialize)]
pub(crate) struct NoticesQuery {
    after: Option<i64>,
    limit: Option<i64>,
}

/// `{"notices":[...],"unread":n}`, newest first; `after` lists only later ones.
#[tracing::instrument(skip_all)]
pub(crate) async fn notices(
    store: web::Data<Store>,
    caller: ApiCaller,
    query: web::Query<NoticesQuery>,
) -> Result<HttpResponse, AppError> {
    let user = caller.require()?;
    let limit = query.limit.unwrap_or(50).clamp(1, MAX_LIST);
    let after = query.after.unwrap_or(0).max(0);
    let list = store.notices_after(user.id, after, limit, true).await?;
    let unread = store.unread_notices(user.id).await?;
    // Each notice as stored: byte for byte what its stream sent.
    let mut body = String::with_capacity(list.iter().map(|n| n.data.len() + 1).sum::<usize>() + 32);
    body.push_str("{\"notices\":[");
    for (i, n) in list.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&n.data);
    }
    body.push_str(&format!("],\"unread\":{unread}}}"));
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

#[derive(Deserialize)]
pub(crate) struct ReadBody {
    up_to: Option<i64>,
}

/// Marks notices up to `up_to` read: 204.
#[tracing::instrument(skip_all)]
pub(crate) async fn read(
    store: web::Data<Store>,
    caller: ApiCaller,
    Body(body): Body<ReadBody>,
) -> Result<HttpResponse, AppError> {
    let user = caller.require()?;
    let up_to = body.up_to.filter(|n| *n >= 0).ok_or_else(|| {
        AppError::field(
            "up_to",
            "invalid_up_to",
            "up_to is a notice id (a whole number)",
        )
    })?;
    store.mark_notices_read(user.id, up_to).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `PUT`: watch a lot; `DELETE`: stop. 204 either way, also when nothing changed.
#[tracing::instrument(skip_all)]
pub(crate) async fn watch(
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    caller: ApiCaller,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let user = caller.require()?;
    let lot = watchable(&store, &path, &user).await?;
    store.watch(user.id, lot, settings.clock.now()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[tracing::instrument(skip_all)]
pub(crate) async fn unwatch(
    store: web::Data<Store>,
    caller: ApiCaller,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let user = caller.require()?;
    let lot = watchable(&store, &path, &user).await?;
    store.unwatch(user.id, lot).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A lot the user may see: 404 otherwise, as for reading it.
pub async fn watchable(
    store: &Store,
    raw: &str,
    user: &crate::store::users::User,
) -> Result<Uuid, AppError> {
    let id = Uuid::parse_str(raw).map_err(|_| AppError::NotFound)?;
    match store.lot(id).await? {
        Some(lot) if visible(&lot, Some(user)) => Ok(id),
        _ => Err(AppError::NotFound),
    }
}

/// `{"lots":[...]}`, open ones ending soonest first, then the ended ones.
#[tracing::instrument(skip_all)]
pub(crate) async fn watchlist(
    store: web::Data<Store>,
    house: web::Data<crate::auction::AuctionHouse>,
    caller: ApiCaller,
) -> Result<HttpResponse, AppError> {
    let user = caller.require()?;
    let lots = store.watchlist(user.id).await?;
    let lots: Vec<_> = lots
        .into_iter()
        // An open lot as the house last committed it (with the user's own maximum).
        .map(|lot| match house.open_lots().get(lot.id()) {
            Some(open) => lot_json(&open.lot, Some(&user)),
            None => lot_json(&lot, Some(&user)),
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "lots": lots })))
}
