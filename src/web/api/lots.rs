//! Lots and bids.

use super::{Body, OptionalBody};
use crate::auction::AuctionHouse;
use crate::config::Settings;
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::json::{BidJson, LotJson, NameJson};
use crate::domain::visibility;
use crate::domain::{BidRequest, Cents, Lot, LotStatus, NewLot, Role};
use crate::store::Store;
use crate::store::search::{LotPage, LotQuery, Sort};
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
    q: Option<String>,
    category: Option<String>,
    status: Option<String>,
    sort: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

pub const DEFAULT_PER_PAGE: i64 = 24;
pub const MAX_PER_PAGE: i64 = 100;
/// Deep pages cost a scan each; nobody reads a thousand pages of lots.
pub const MAX_PAGE: i64 = 1_000;

/// A search as asked for (API.md §8), checked; the visibility of offers is the caller's.
pub fn lot_query(
    q: Option<&str>,
    category: Option<&str>,
    status: Option<&str>,
    sort: Option<&str>,
    page: Option<i64>,
    per_page: Option<i64>,
) -> Result<LotQuery, AppError> {
    let status: LotStatus = status.unwrap_or("open").parse().map_err(|_| {
        AppError::field(
            "status",
            "invalid_status",
            "status is one of pending, scheduled, open, closed, cancelled, rejected",
        )
    })?;
    let sort = Sort::parse(sort.unwrap_or("ending")).ok_or_else(|| {
        AppError::field(
            "sort",
            "invalid_sort",
            "sort is one of ending, newest, price_asc, price_desc, bids",
        )
    })?;
    let page = page.unwrap_or(1);
    if !(1..=MAX_PAGE).contains(&page) {
        return Err(AppError::field(
            "page",
            "invalid_page",
            "page is 1 to 1,000",
        ));
    }
    let per_page = per_page.unwrap_or(DEFAULT_PER_PAGE);
    if !(1..=MAX_PER_PAGE).contains(&per_page) {
        return Err(AppError::field(
            "per_page",
            "invalid_per_page",
            "per_page is 1 to 100",
        ));
    }
    let q = q.unwrap_or_default();
    if q.chars().count() > 200 {
        return Err(AppError::field(
            "q",
            "invalid_q",
            "a search is at most 200 characters",
        ));
    }
    Ok(LotQuery {
        q: q.to_owned(),
        category: category.filter(|c| !c.is_empty()).map(str::to_owned),
        status: Some(status),
        sort,
        page,
        per_page,
        seller: None,
        sale: None,
    })
}

/// Offers that are not public are listed to their seller alone, and all of them to admins;
/// `None` when the viewer may see none of them.
pub fn restrict_to_viewer(mut query: LotQuery, user: Option<&User>) -> Option<LotQuery> {
    if query.status.is_some_and(|s| !s.is_public()) {
        match user {
            Some(u) if u.role == Role::Admin => {}
            Some(u) => query.seller = Some(u.id),
            None => return None,
        }
    }
    Some(query)
}

#[tracing::instrument(skip_all)]
pub(crate) async fn list(
    cache: web::Data<crate::web::search_cache::SearchCache>,
    caller: ApiCaller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let asked = lot_query(
        query.q.as_deref(),
        query.category.as_deref(),
        query.status.as_deref(),
        query.sort.as_deref(),
        query.page,
        query.per_page,
    )?;
    let (page, per_page) = (asked.page, asked.per_page);
    let user = caller.0;
    let found = match restrict_to_viewer(asked, user.as_ref()) {
        Some(q) => cache.search(&q).await?.1,
        None => std::sync::Arc::new(LotPage {
            lots: vec![],
            total: 0,
        }),
    };
    let lots: Vec<LotJson> = found
        .lots
        .iter()
        .filter(|lot| visible(lot, user.as_ref()))
        .map(|lot| lot_json(lot, user.as_ref()))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "lots": lots,
        "total": found.total,
        "page": page,
        "per_page": per_page,
    })))
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
    category: Option<String>,
}

/// The category an offer names, which must exist.
pub async fn category_of(
    store: &Store,
    slug: Option<&str>,
) -> Result<Option<crate::domain::catalogue::CategoryRef>, AppError> {
    let Some(slug) = slug.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    match store.category(slug).await? {
        Some(c) => Ok(Some(c)),
        None => Err(AppError::field(
            "category",
            "invalid_category",
            "there is no such category (GET /api/v1/categories lists them)",
        )),
    }
}

#[tracing::instrument(skip_all)]
pub(crate) async fn create(
    store: web::Data<Store>,
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
    .map_err(AppError::Field)?
    .in_category(category_of(&store, body.category.as_deref()).await?);
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

#[derive(Deserialize)]
pub(crate) struct ApproveBody {
    sale_id: Option<String>,
}

/// Approves now, or into a sale that has not started (API.md §8).
pub(crate) async fn approve(
    house: web::Data<AuctionHouse>,
    caller: ApiCaller,
    path: web::Path<String>,
    OptionalBody(body): OptionalBody<ApproveBody>,
) -> Result<HttpResponse, AppError> {
    let sale =
        match body.and_then(|b| b.sale_id) {
            Some(raw) => Some(Uuid::parse_str(raw.trim()).map_err(|_| {
                AppError::field("sale_id", "invalid_sale", "sale_id is a sale's id")
            })?),
            None => None,
        };
    admin_action(caller, &path, async |id| match sale {
        Some(sale) => house.approve_into(id, sale).await,
        None => house.approve(id).await,
    })
    .await
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
