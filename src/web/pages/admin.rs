//! The admins' desk: review offers, close or cancel auctions, see results.

use super::{Layout, PageError, check_csrf, render, require_role, see_other};
use crate::auction::AuctionHouse;
use crate::config::Settings;
use crate::domain::{LotStatus, Role};
use crate::store::Store;
use crate::web::api::lots::MAX_REASON_CHARS;
use crate::web::auth::Viewer;
use crate::web::error::AppError;
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
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub(crate) struct ActionForm {
    #[serde(default)]
    csrf: String,
    reason: Option<String>,
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
