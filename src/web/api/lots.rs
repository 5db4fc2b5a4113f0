//! Lots and bids.

use super::{Body, OptionalBody};
use crate::auction::AuctionHouse;
use crate::config::Settings;
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::json::{BidJson, LotJson, NameJson};
use crate::domain::visibility;
use crate::domain::{BidRequest, Cents, Lot, LotStatus, NewLot, Role};
use crate::store::Store;
use crate::store::users::User;
use crate::web::auth::ApiCaller;
use crate::web::bids as bidding;
use crate::web::error::AppError;
use crate::web::limits::RateLimits;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

/// `domain::visibility` for a signed-in user (or nobody).
pub fn is_privileged(lot: &Lot, user: Option<&User>) -> bool {
    visibility::is_privileged(lot, user.map(|u| (u.id, u.role)))
}

/// `domain::visibility` for a signed-in user (or nobody).
pub fn visible(lot: &Lot, user: Option<&User>) -> bool {
    visibility::is_visible(lot, user.map(|u| (u.id, u.role)))
}

/// A lot as this viewer may see it: the seller and admins see the reserve, a bidder their
/// own live maximum (API.md §6), nobody anyone else's.
pub fn lot_json(lot: &Lot, user: Option<&User>) -> LotJson {
    let json = if is_privileged(lot, user) {
        LotJson::privileged(lot)
    } else {
        LotJson::public(lot)
    };
    LotJson {
        my_max_cents: user.and_then(|u| lot.max_of(u.id)).map(|c| c.get()),
        ..json
    }
}

pub const MAX_REASON_CHARS: usize = 2000;

fn parse_id(raw: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(raw).map_err(|_| AppError::NotFound)
}

#[derive(Deserialize)]
pub(crate) struct ListQuery {
    status: Option<String>,
}

#[tracing::instrument(skip_all)]
pub(crate) async fn list(
    store: web::Data<Store>,
    caller: ApiCaller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let status: LotStatus = query
        .status
        .as_deref()
        .unwrap_or("open")
        .parse()
        .map_err(|_| {
            AppError::field(
                "status",
                "invalid_status",
                "status is one of pending, open, closed, cancelled, rejected",
            )
        })?;
    let user = caller.0;
    let lots = store.lots_by_status(status, 1000).await?;
    let lots: Vec<LotJson> = lots
        .iter()
        .filter(|lot| visible(lot, user.as_ref()))
        .map(|lot| lot_json(lot, user.as_ref()))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "lots": lots })))
}

async fn load_visible(store: &Store, id: &str, user: Option<&User>) -> Result<Lot, AppError> {
    let lot = store.lot(parse_id(id)?).await?.ok_or(AppError::NotFound)?;
    if visible(&lot, user) {
        Ok(lot)
    } else {
        Err(AppError::NotFound)
    }
}

/// An open lot comes from the house's view, like its page: it shows only what is durable.
#[tracing::instrument(skip_all)]
pub(crate) async fn show(
    store: web::Data<Store>,
    house: web::Data<AuctionHouse>,
    caller: ApiCaller,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let user = caller.0;
    let open = house.open_lots().get(parse_id(&path)?);
    let lot = match open {
        Some(open) => open.lot.clone(),
        None => load_visible(&store, &path, user.as_ref()).await?,
    };
    Ok(HttpResponse::Ok().json(lot_json(&lot, user.as_ref())))
}

/// An offer as the API takes it: amounts in whole cents, the duration in seconds.
#[derive(Deserialize)]
pub(crate) struct OfferBody {
    title: Option<String>,
    description: Option<String>,
    starting_price_cents: Option<i64>,
    reserve_cents: Option<i64>,
    duration_secs: Option<i64>,
}

#[tracing::instrument(skip_all)]
pub(crate) async fn create(
    house: web::Data<AuctionHouse>,
    caller: ApiCaller,
    Body(body): Body<OfferBody>,
) -> Result<HttpResponse, AppError> {
    let user = caller.require_role(Role::can_sell)?;
    let starting = body.starting_price_cents.ok_or_else(|| {
        AppError::field(
            "starting_price_cents",
            "invalid_starting_price",
            "starting_price_cents is required",
        )
    })?;
    let duration = body.duration_secs.ok_or_else(|| {
        AppError::field(
            "duration_secs",
            "invalid_duration",
            "duration_secs must be a whole number of seconds",
        )
    })?;
    let offer = NewLot::parse(
        body.title.as_deref().unwrap_or(""),
        body.description.as_deref().unwrap_or(""),
        Cents::new(starting),
        body.reserve_cents.map(Cents::new),
        duration,
    )
    .map_err(AppError::Field)?;
    let lot = house.create(user.as_ref(), offer).await?;
    Ok(HttpResponse::Created().json(lot_json(&lot, Some(&user))))
}

async fn admin_action(
    caller: ApiCaller,
    path: &str,
    run: impl AsyncFnOnce(Uuid) -> Result<Lot, crate::auction::HouseError>,
) -> Result<HttpResponse, AppError> {
    let user = caller.require_role(|r| r == Role::Admin)?;
    let lot = run(parse_id(path)?).await?;
    Ok(HttpResponse::Ok().json(lot_json(&lot, Some(&user))))
}

pub(crate) async fn approve(
    house: web::Data<AuctionHouse>,
    caller: ApiCaller,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    admin_action(caller, &path, async |id| house.approve(id).await).await
}

pub(crate) async fn close(
    house: web::Data<AuctionHouse>,
    caller: ApiCaller,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    admin_action(caller, &path, async |id| house.close(id).await).await
}

pub(crate) async fn cancel(
    house: web::Data<AuctionHouse>,
    caller: ApiCaller,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    admin_action(caller, &path, async |id| house.cancel(id).await).await
}

#[derive(Deserialize)]
pub(crate) struct RejectBody {
    reason: Option<String>,
}

pub(crate) async fn reject(
    house: web::Data<AuctionHouse>,
    caller: ApiCaller,
    path: web::Path<String>,
    OptionalBody(body): OptionalBody<RejectBody>,
) -> Result<HttpResponse, AppError> {
    let user = caller.require_role(|r| r == Role::Admin)?;
    let reason = body
        .and_then(|b| b.reason)
        .unwrap_or_default()
        .trim()
        .to_owned();
    if !crate::domain::text::is_clean_lines(&reason) {
        return Err(AppError::field(
            "reason",
            "invalid_reason",
            "the reason may not hold control or text-direction characters",
        ));
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(AppError::field(
            "reason",
            "invalid_reason",
            "the reason may be at most 2,000 characters",
        ));
    }
    let lot = house.reject(parse_id(&path)?, reason).await?;
    Ok(HttpResponse::Ok().json(lot_json(&lot, Some(&user))))
}

#[derive(Deserialize)]
pub(crate) struct BidBody {
    amount_cents: Option<i64>,
    max_cents: Option<i64>,
}

/// A bid's amounts: positive whole numbers of cents. A maximum alone raises the leader's
/// maximum (API.md §6).
fn bid_amounts(body: &BidBody) -> Result<(Option<Cents>, Option<Cents>), AppError> {
    let amount = body
        .amount_cents
        .map(|a| Cents::new(a).map_err(|e| AppError::InvalidAmount(format!("amount_cents: {e}"))))
        .transpose()?;
    let max = body
        .max_cents
        .map(|m| {
            Cents::new(m)
                .map_err(|e| AppError::field("max_cents", "invalid_max", format!("max_cents: {e}")))
        })
        .transpose()?;
    if amount.is_none() && max.is_none() {
        return Err(AppError::InvalidAmount(
            "amount_cents is required (or max_cents alone, to raise your maximum)".into(),
        ));
    }
    Ok((amount, max))
}

/// The `Idempotency-Key` header, if sent (API.md §3a).
fn idempotency_key(req: &HttpRequest) -> Result<Option<IdempotencyKey>, AppError> {
    let Some(value) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    // A value that is not visible ASCII reads as empty, which the parser refuses.
    IdempotencyKey::parse(value.to_str().unwrap_or_default())
        .map(Some)
        .map_err(AppError::Field)
}

#[tracing::instrument(skip_all)]
#[expect(clippy::too_many_arguments, reason = "one extractor each")]
pub(crate) async fn place_bid(
    req: HttpRequest,
    store: web::Data<Store>,
    house: web::Data<AuctionHouse>,
    settings: web::Data<Settings>,
    limits: web::Data<RateLimits>,
    caller: ApiCaller,
    path: web::Path<String>,
    Body(body): Body<BidBody>,
) -> Result<HttpResponse, AppError> {
    let user = caller.require_role(Role::can_bid)?;
    let lot_id = parse_id(&path)?;
    let (amount, max) = bid_amounts(&body)?;
    limits.may_bid(user.id)?;
    let key = idempotency_key(&req)?;
    let request = BidRequest {
        bidder: user.as_ref(),
        amount,
        max,
    };
    let answer = bidding::place_bid(&house, &store, settings.clock.now(), lot_id, request, key)
        .await
        .map_err(|e| e.in_currency(&settings.currency))?;
    Ok(answer.response())
}

/// An admin takes a bid out of an open lot (API.md §3a): the request behind it is removed and
/// the lot recomputed from the rest.
#[tracing::instrument(skip_all)]
pub(crate) async fn remove_bid(
    store: web::Data<Store>,
    house: web::Data<AuctionHouse>,
    caller: ApiCaller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let user = caller.require_role(|r| r == Role::Admin)?;
    let (lot_id, bid_id) = (parse_id(&path.0)?, parse_id(&path.1)?);
    let lot = remove_bid_of(&store, &house, lot_id, bid_id).await?;
    Ok(HttpResponse::Ok().json(lot_json(&lot, Some(&user))))
}

/// The removal shared by the API and the admin's button on the lot page.
pub async fn remove_bid_of(
    store: &Store,
    house: &AuctionHouse,
    lot_id: Uuid,
    bid_id: Uuid,
) -> Result<Lot, AppError> {
    let bid = store
        .bid_of_lot(lot_id, bid_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(house.remove_bid(lot_id, bid.request_no, bid.amount).await?)
}

#[derive(Deserialize)]
pub(crate) struct BidsQuery {
    limit: Option<i64>,
}

#[tracing::instrument(skip_all)]
pub(crate) async fn bids(
    store: web::Data<Store>,
    caller: ApiCaller,
    path: web::Path<String>,
    query: web::Query<BidsQuery>,
) -> Result<HttpResponse, AppError> {
    let user = caller.0;
    let lot = load_visible(&store, &path, user.as_ref()).await?;
    let limit = query.limit.unwrap_or(i64::MAX).max(0);
    let bids = store.bids_of_lot(lot.id(), limit).await?;
    let bids: Vec<BidJson> = bids
        .into_iter()
        .map(|b| BidJson {
            id: b.id,
            amount_cents: b.amount.get(),
            bidder: NameJson { username: b.bidder },
            placed_at: b.placed_at,
            event_id: b.event_id,
            proxy: b.proxy,
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "bids": bids })))
}
