//! The admins' desk: review offers, close or cancel auctions, see results.

use super::{Layout, PageError, check_csrf, render, require_role, see_other};
use crate::auction::AuctionHouse;
use crate::config::Settings;
use crate::domain::catalogue::SaleTimes;
use crate::domain::{LotStatus, Role};
use crate::store::Store;
use crate::web::api::catalogue;
use crate::web::api::lots::MAX_REASON_CHARS;
use crate::web::auth::Viewer;
use crate::web::error::AppError;
use crate::web::search_cache::SearchCache;
use crate::web::view::LotView;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    layout: Layout,
    pending: Vec<LotView>,
    open: Vec<LotView>,
    closed: Vec<LotView>,
    categories: Vec<crate::store::categories::CategoryCount>,
    /// Sales that still take lots: (id, title, starts).
    upcoming: Vec<(String, String, String)>,
}

pub(crate) async fn admin_page(
    req: HttpRequest,
    viewer: Viewer,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, PageError> {
    let user = require_role(viewer, |r| r == Role::Admin)?;
    let now = settings.clock.now();
    let view = |lots: Vec<crate::domain::Lot>| {
        lots.iter()
            .map(|l| LotView::new(l, &settings.currency, now, true))
            .collect::<Vec<_>>()
    };
    let page = AdminPage {
        layout: Layout::new(&req, Some(&user), "Admin"),
        pending: view(store.lots_by_status(LotStatus::Pending, 500).await?),
        open: view(store.lots_by_status(LotStatus::Open, 500).await?),
        closed: view(store.lots_by_status(LotStatus::Closed, 100).await?),
        categories: store.categories().await?,
        upcoming: store
            .current_sales()
            .await?
            .into_iter()
            .filter(|s| !s.opened && s.times.starts_at > now)
            .map(|s| {
                let starts = crate::web::view::time_text(s.times.starts_at);
                (s.id.to_string(), s.title, starts)
            })
            .collect(),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub(crate) struct ActionForm {
    #[serde(default)]
    csrf: String,
    reason: Option<String>,
    sale_id: Option<String>,
}

pub(crate) async fn act(
    req: HttpRequest,
    viewer: Viewer,
    house: web::Data<AuctionHouse>,
    path: web::Path<(String, String)>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, PageError> {
    require_role(viewer, |r| r == Role::Admin)?;
    check_csrf(&req, &form.csrf)?;
    let (id, action) = path.into_inner();
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let notice = match action.as_str() {
        "approve" => house.approve(id).await.map(|_| "approved")?,
        "schedule" => {
            let sale = form
                .sale_id
                .as_deref()
                .and_then(|s| Uuid::parse_str(s).ok())
                .ok_or_else(|| AppError::field("sale_id", "invalid_sale", "pick a sale"))?;
            house.approve_into(id, sale).await.map(|_| "scheduled")?
        }
        "reject" => {
            let reason = form.reason.clone().unwrap_or_default();
            if reason.trim().is_empty()
                || reason.chars().count() > MAX_REASON_CHARS
                || !crate::domain::text::is_clean_lines(&reason)
            {
                return Err(AppError::field(
                    "reason",
                    "invalid_reason",
                    "give a reason of up to 2,000 characters",
                )
                .into());
            }
            house.reject(id, reason).await.map(|_| "rejected")?
        }
        "close" => house.close(id).await.map(|_| "closed")?,
        "cancel" => house.cancel(id).await.map(|_| "cancelled")?,
        _ => return Err(AppError::NotFound.into()),
    };
    Ok(see_other(&format!("/admin?notice={notice}")))
}

#[derive(Deserialize)]
pub(crate) struct CategoryForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

pub(crate) async fn add_category(
    req: HttpRequest,
    viewer: Viewer,
    store: web::Data<Store>,
    cache: web::Data<SearchCache>,
    settings: web::Data<Settings>,
    form: web::Form<CategoryForm>,
) -> Result<HttpResponse, PageError> {
    require_role(viewer, |r| r == Role::Admin)?;
    check_csrf(&req, &form.csrf)?;
    catalogue::add_category_named(&store, &cache, Some(&form.name), settings.clock.now()).await?;
    Ok(see_other("/admin?notice=category#categories"))
}

pub(crate) async fn rename_category(
    req: HttpRequest,
    viewer: Viewer,
    store: web::Data<Store>,
    cache: web::Data<SearchCache>,
    house: web::Data<AuctionHouse>,
    path: web::Path<String>,
    form: web::Form<CategoryForm>,
) -> Result<HttpResponse, PageError> {
    require_role(viewer, |r| r == Role::Admin)?;
    check_csrf(&req, &form.csrf)?;
    catalogue::rename_category_to(&store, &house, &cache, path.into_inner(), Some(&form.name))
        .await?;
    Ok(see_other("/admin?notice=category#categories"))
}

#[derive(Deserialize)]
pub(crate) struct SaleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    /// `datetime-local` values, in the zone `tz_offset_mins` names (UTC without it).
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    first_close_at: String,
    #[serde(default)]
    stagger_secs: i64,
    /// As JavaScript's `getTimezoneOffset()`: minutes to add to local time to get UTC.
    #[serde(default)]
    tz_offset_mins: i64,
}

/// A `datetime-local` value (`2026-12-24T18:00`, seconds optional) in the browser's zone.
fn local_time(
    raw: &str,
    offset_mins: i64,
    field: &'static str,
) -> Result<crate::domain::Time, AppError> {
    let parsed = chrono::NaiveDateTime::parse_from_str(raw.trim(), "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(raw.trim(), "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| AppError::field(field, "invalid_time", "enter a date and time"))?;
    if offset_mins.abs() > 18 * 60 {
        return Err(AppError::field(
            field,
            "invalid_time",
            "that time zone does not exist",
        ));
    }
    Ok(parsed.and_utc() + chrono::Duration::minutes(offset_mins))
}

pub(crate) async fn create_sale(
    req: HttpRequest,
    viewer: Viewer,
    house: web::Data<AuctionHouse>,
    settings: web::Data<Settings>,
    form: web::Form<SaleForm>,
) -> Result<HttpResponse, PageError> {
    require_role(viewer, |r| r == Role::Admin)?;
    check_csrf(&req, &form.csrf)?;
    let times = local_time(&form.starts_at, form.tz_offset_mins, "starts_at").and_then(|start| {
        let first = local_time(&form.first_close_at, form.tz_offset_mins, "first_close_at")?;
        SaleTimes::parse(start, first, form.stagger_secs, settings.clock.now())
            .map_err(AppError::Field)
    });
    let sale = crate::web::api::catalogue::new_sale(&form.title, &form.description, times)?;
    let id = sale.id;
    house.create_sale(sale).await?;
    Ok(see_other(&format!("/sales/{id}?notice=sale")))
}
