//! The lot list, a lot's page and its bid form.

use super::{Layout, PageError, check_csrf, render, see_other};
use crate::auction::AuctionHouse;
use crate::config::Settings;
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::{BidRequest, Cents, LotStatus, Role};
use crate::store::Store;
use crate::store::users::User;
use crate::web::api::lots::{is_privileged, remove_bid_of, visible};
use crate::web::auth::Viewer;
use crate::web::bids::{BidAnswer, place_bid};
use crate::web::error::AppError;
use crate::web::limits::RateLimits;
use crate::web::search_cache::SearchCache;
use crate::web::view::{BidView, CardView, LotView};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;
use serde::Deserialize;
use std::sync::Arc;
use uuid::Uuid;

/// How many bids a lot page lists.
const HISTORY_LEN: i64 = 100;

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage {
    layout: Layout,
    lots: Vec<CardView>,
    /// The site's latest event id, read before the lots: the list's live stream resumes here.
    cursor: i64,
    q: String,
    category: String,
    sort: &'static str,
    status: &'static str,
    categories: Arc<Vec<crate::store::categories::CategoryCount>>,
    sorts: [(&'static str, &'static str); 5],
    statuses: [(&'static str, &'static str); 3],
    /// "Showing 25–48 of 120"
    range: String,
    prev_url: String,
    next_url: String,
    heading: String,
}

#[derive(Deserialize, Default)]
pub(crate) struct IndexQuery {
    q: Option<String>,
    category: Option<String>,
    sort: Option<String>,
    status: Option<String>,
    page: Option<i64>,
}

const SORTS: [(&str, &str); 5] = [
    ("ending", "Ending soonest"),
    ("newest", "Newly listed"),
    ("price_asc", "Price: low to high"),
    ("price_desc", "Price: high to low"),
    ("bids", "Most bids"),
];
/// The states a visitor may browse.
const STATUSES: [(&str, &str); 3] = [
    ("open", "Live now"),
    ("scheduled", "Coming up"),
    ("closed", "Ended"),
];

/// The link to the same search on another page (or with another filter), only non-default
/// parts spelled out.
fn search_url(q: &str, category: &str, sort: &str, status: &str, page: i64) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if !q.is_empty() {
        pairs.push(("q", q.to_owned()));
    }
    if !category.is_empty() {
        pairs.push(("category", category.to_owned()));
    }
    if sort != "ending" {
        pairs.push(("sort", sort.to_owned()));
    }
    if status != "open" {
        pairs.push(("status", status.to_owned()));
    }
    if page > 1 {
        pairs.push(("page", page.to_string()));
    }
    match serde_urlencoded::to_string(&pairs) {
        Ok(query) if !query.is_empty() => format!("/?{query}"),
        _ => "/".to_owned(),
    }
}

pub(crate) async fn index(
    req: HttpRequest,
    viewer: Viewer,
    settings: web::Data<Settings>,
    cache: web::Data<SearchCache>,
    query: web::Query<IndexQuery>,
) -> Result<HttpResponse, PageError> {
    let now = settings.clock.now();
    let status = query.status.as_deref().unwrap_or("open");
    let status = STATUSES
        .iter()
        .map(|(s, _)| *s)
        .find(|s| *s == status)
        .ok_or_else(|| {
            AppError::field(
                "status",
                "invalid_status",
                "status is open, scheduled or closed",
            )
        })?;
    let asked = crate::web::api::lots::lot_query(
        query.q.as_deref(),
        query.category.as_deref(),
        Some(status),
        query.sort.as_deref(),
        query.page,
        None,
    )?;
    // The cursor is read before the lots: whatever changed after it, the live stream brings.
    let (cursor, found) = cache.search(&asked).await?;
    let categories = cache.categories().await?;
    let (q, category, sort, page) = (
        asked.q.trim().to_owned(),
        asked.category.clone().unwrap_or_default(),
        asked.sort.as_str(),
        asked.page,
    );
    let per_page = asked.per_page;
    let shown = found.lots.len() as i64;
    let first = (page - 1) * per_page + 1;
    let category_name = categories
        .iter()
        .find(|c| c.slug == category)
        .map(|c| c.name.clone());
    let heading = match (&category_name, q.is_empty()) {
        (Some(name), true) => name.clone(),
        (Some(name), false) => format!("“{q}” in {name}"),
        (None, false) => format!("Results for “{q}”"),
        (None, true) => match status {
            "scheduled" => "Coming up".to_owned(),
            "closed" => "Ended lots".to_owned(),
            _ => "Live auctions".to_owned(),
        },
    };
    let page_view = IndexPage {
        cursor,
        layout: Layout::new(&req, viewer.0.as_ref(), heading.clone()),
        lots: found
            .lots
            .iter()
            .map(|l| CardView::new(l, &settings.currency, now))
            .collect(),
        range: if shown == 0 {
            String::new()
        } else {
            format!("Showing {}–{} of {}", first, first + shown - 1, found.total)
        },
        prev_url: if page > 1 {
            search_url(&q, &category, sort, status, page - 1)
        } else {
            String::new()
        },
        next_url: if page * per_page < found.total {
            search_url(&q, &category, sort, status, page + 1)
        } else {
            String::new()
        },
        q,
        category,
        sort,
        status,
        categories,
        sorts: SORTS,
        statuses: STATUSES,
        heading,
    };
    Ok(render(StatusCode::OK, &page_view))
}

#[derive(Template)]
#[template(path = "lot.html")]
struct LotPage {
    layout: Layout,
    lot: LotView,
    bids: Vec<BidView>,
    can_bid: bool,
    cannot_bid_reason: &'static str,
    bid_error: String,
    amount_value: String,
    max_value: String,
    /// The viewer's own live maximum, formatted; empty when they have none.
    my_max: String,
    my_max_cents: i64,
    /// Someone else leads at or above it.
    my_max_beaten: bool,
    /// Admins get a button to remove each bid (API.md §3a).
    can_remove_bids: bool,
    /// Signed in, and whether they watch this lot (`#watch-button`).
    can_watch: bool,
    watching: bool,
    /// A fresh key per render: a form sent twice (a double click, a retry) places one bid.
    idempotency_key: Uuid,
}

fn lot_id(raw: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(raw).map_err(|_| PageError(AppError::NotFound))
}

/// A bid the lot refused: shown above the form with what was typed.
struct Refusal {
    status: StatusCode,
    message: String,
    amount: String,
    max: String,
}

/// Renders a lot's page, optionally with a refused bid explained above the form.
async fn lot_page(
    req: &HttpRequest,
    house: &AuctionHouse,
    store: &Store,
    settings: &Settings,
    user: Option<&User>,
    id: Uuid,
    refusal: Option<Refusal>,
) -> Result<HttpResponse, PageError> {
    let Refusal {
        status,
        message: bid_error,
        amount: amount_value,
        max: max_value,
    } = refusal.unwrap_or(Refusal {
        status: StatusCode::OK,
        message: String::new(),
        amount: String::new(),
        max: String::new(),
    });
    // An open lot and its latest bids come from the house's committed view; others from the database.
    let (lot, bids) = match house.open_lots().get(id) {
        Some(open) => (open.lot.clone(), open.recent_bids.iter().cloned().collect()),
        None => {
            let lot = store.lot(id).await?.ok_or(AppError::NotFound)?;
            let bids = store.bids_of_lot(id, HISTORY_LEN).await?;
            (lot, bids)
        }
    };
    if !visible(&lot, user) {
        return Err(AppError::NotFound.into());
    }
    let (can_bid, cannot_bid_reason) = match user {
        Some(u) if u.id == lot.seller().id => (false, "This is your lot: you cannot bid on it."),
        Some(u) if u.role == Role::Admin => (false, "Admins run the auctions and do not bid."),
        Some(_) => (true, ""),
        None => (false, ""),
    };
    let my_max = user.and_then(|u| lot.max_of(u.id));
    let watching = match user {
        Some(u) => store.watches(u.id, lot.id()).await?,
        None => false,
    };
    let page = LotPage {
        layout: Layout::new(req, user, lot.title().to_owned()),
        lot: LotView::new(
            &lot,
            &settings.currency,
            settings.clock.now(),
            is_privileged(&lot, user),
        ),
        bids: bids
            .iter()
            .map(|b| BidView::new(b, &settings.currency))
            .collect(),
        can_bid,
        cannot_bid_reason,
        idempotency_key: Uuid::now_v7(),
        bid_error,
        amount_value,
        max_value,
        my_max: my_max
            .map(|m| settings.currency.format(m))
            .unwrap_or_default(),
        my_max_cents: my_max.map_or(0, |m| m.get()),
        my_max_beaten: match (user, my_max, lot.current_price()) {
            (Some(u), Some(max), Some(price)) => {
                lot.leader().is_some_and(|l| l.id != u.id) && price >= max
            }
            _ => false,
        },
        can_remove_bids: user.is_some_and(|u| u.role == Role::Admin)
            && lot.status() == LotStatus::Open,
        can_watch: user.is_some(),
        watching,
    };
    Ok(render(status, &page))
}

pub(crate) async fn show(
    req: HttpRequest,
    viewer: Viewer,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    house: web::Data<AuctionHouse>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = lot_id(&path)?;
    lot_page(&req, &house, &store, &settings, viewer.0.as_ref(), id, None).await
}

#[derive(Deserialize)]
pub(crate) struct BidForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    amount: String,
    /// "Bid up to": the bidder's maximum for proxy bidding (API.md §6), optional.
    #[serde(default)]
    max: String,
    /// Filled with a fresh value each time the form is rendered (API.md §3a).
    idempotency_key: Option<String>,
}

/// Scripts ask for JSON (`Accept: application/json`) and get the API's answers.
fn wants_json(req: &HttpRequest) -> bool {
    req.headers()
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

#[expect(clippy::too_many_arguments, reason = "one extractor each")]
pub(crate) async fn bid(
    req: HttpRequest,
    viewer: Viewer,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    house: web::Data<AuctionHouse>,
    limits: web::Data<RateLimits>,
    path: web::Path<String>,
    form: web::Form<BidForm>,
) -> Result<HttpResponse, PageError> {
    let id = lot_id(&path)?;
    let json = wants_json(&req);
    let Some(user) = viewer.0 else {
        if json {
            return Ok(AppError::Unauthenticated.error_response());
        }
        return Ok(see_other(&format!("/login?next=/lots/{id}")));
    };
    // A script (Accept: application/json) gets the API's error; a browser gets the page.
    let refuse = |err: AppError| {
        if json {
            Ok(err.error_response())
        } else {
            Err(PageError(err))
        }
    };
    if let Err(e) = check_csrf(&req, &form.csrf) {
        return refuse(e.0);
    }
    if !user.role.can_bid() {
        return refuse(AppError::Forbidden("admins do not bid"));
    }
    if let Err(limited) = limits.may_bid(user.id) {
        return refuse(limited.into());
    }
    let refused = |status: StatusCode, message: String| {
        lot_page(
            &req,
            &house,
            &store,
            &settings,
            Some(&user),
            id,
            Some(Refusal {
                status,
                message,
                amount: form.amount.clone(),
                max: form.max.clone(),
            }),
        )
    };
    let amount = match parse_optional_units(&form.amount, "amount") {
        Ok(a) => a,
        Err(e) if json => return Ok(e.error_response()),
        Err(e) => {
            return refused(StatusCode::BAD_REQUEST, format!("{}.", e.message())).await;
        }
    };
    let max = match parse_optional_units(&form.max, "maximum") {
        Ok(m) => m,
        Err(e) if json => return Ok(e.error_response()),
        Err(e) => {
            return refused(StatusCode::BAD_REQUEST, format!("{}.", e.message())).await;
        }
    };
    if amount.is_none() && max.is_none() {
        let e = AppError::InvalidAmount("enter an amount to bid".into());
        if json {
            return Ok(e.error_response());
        }
        return refused(StatusCode::BAD_REQUEST, "Enter an amount to bid.".into()).await;
    }
    let key = match form.idempotency_key.as_deref().map(IdempotencyKey::parse) {
        None => None,
        Some(Ok(key)) => Some(key),
        Some(Err(e)) => return refuse(AppError::Field(e)),
    };
    let request = BidRequest {
        bidder: user.as_ref(),
        amount,
        max,
    };
    let now = settings.clock.now();
    let result = place_bid(&house, &store, now, id, request, key).await;
    if json {
        return Ok(match result {
            Ok(answer) => answer.response(),
            Err(e) => e.in_currency(&settings.currency).error_response(),
        });
    }
    match result {
        Ok(answer) => {
            let notice = match &answer {
                BidAnswer::Placed(r) if r.bid.is_none() => "max",
                BidAnswer::Placed(r)
                    if r.lot.leader().as_ref().is_some_and(|l| l.id == user.id) =>
                {
                    "leading"
                }
                BidAnswer::Placed(_) => "outbid",
                BidAnswer::Replayed(_) => "bid",
            };
            Ok(see_other(&format!("/lots/{id}?notice={notice}")))
        }
        Err(AppError::BidTooLow { min_next, .. }) => {
            let msg = format!(
                "Too low: bid at least {}.",
                settings.currency.format(min_next)
            );
            refused(StatusCode::UNPROCESSABLE_ENTITY, msg).await
        }
        Err(
            err @ (AppError::Conflict { .. }
            | AppError::Forbidden(_)
            | AppError::Field(_)
            | AppError::InvalidAmount(_)),
        ) => {
            let status = err.status_code();
            refused(status, format!("{}.", capitalize_first(&err.message()))).await
        }
        Err(e) => Err(e.into()),
    }
}

/// An amount typed in currency units, or none when the field was left empty.
fn parse_optional_units(raw: &str, what: &str) -> Result<Option<Cents>, AppError> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    Cents::parse_units(raw)
        .map(Some)
        .map_err(|e| AppError::InvalidAmount(format!("that {what} does not work: {e}")))
}

fn capitalize_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// An admin's button on a history item: the bid's request is taken out and the lot replayed.
pub(crate) async fn remove_bid(
    req: HttpRequest,
    viewer: Viewer,
    store: web::Data<Store>,
    house: web::Data<AuctionHouse>,
    path: web::Path<(String, String)>,
    form: web::Form<super::CsrfForm>,
) -> Result<HttpResponse, PageError> {
    super::require_role(viewer, |r| r == Role::Admin)?;
    check_csrf(&req, &form.csrf)?;
    let (id, bid_id) = (lot_id(&path.0)?, lot_id(&path.1)?);
    remove_bid_of(&store, &house, id, bid_id).await?;
    Ok(see_other(&format!("/lots/{id}?notice=bid_removed")))
}

#[derive(Deserialize)]
pub(crate) struct WatchForm {
    #[serde(default)]
    csrf: String,
    /// "1" to watch, anything else to stop.
    #[serde(default)]
    watch: String,
}

/// The lot page's watch button: works without JavaScript (a form that redirects back).
pub(crate) async fn toggle_watch(
    req: HttpRequest,
    viewer: Viewer,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    path: web::Path<String>,
    form: web::Form<WatchForm>,
) -> Result<HttpResponse, PageError> {
    let user = viewer.require()?;
    check_csrf(&req, &form.csrf)?;
    let id = crate::web::api::me::watchable(&store, &path, &user).await?;
    let notice = if form.watch == "1" {
        store.watch(user.id, id, settings.clock.now()).await?;
        "watching"
    } else {
        store.unwatch(user.id, id).await?;
        "unwatched"
    };
    Ok(see_other(&format!("/lots/{id}?notice={notice}")))
}
