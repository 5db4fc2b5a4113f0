//! The seller's offers and the offer form.

use super::{Layout, PageError, check_csrf, render, require_role, see_other};
use crate::auction::AuctionHouse;
use crate::config::Settings;
use crate::domain::money::MoneyError;
use crate::domain::{Cents, NewLot, Role};
use crate::store::Store;
use crate::store::users::User;
use crate::web::auth::Viewer;
use crate::web::error::AppError;
use crate::web::view::LotView;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

const DURATIONS: [(i64, &str); 8] = [
    (120, "2 minutes"),
    (600, "10 minutes"),
    (3600, "1 hour"),
    (6 * 3600, "6 hours"),
    (86_400, "1 day"),
    (3 * 86_400, "3 days"),
    (7 * 86_400, "7 days"),
    (30 * 86_400, "30 days"),
];

#[derive(Deserialize, Default)]
pub(crate) struct OfferForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    starting_price: String,
    #[serde(default)]
    reserve: String,
    #[serde(default)]
    duration_secs: i64,
    #[serde(default)]
    category: String,
}

#[derive(Template)]
#[template(path = "sell.html")]
struct SellPage {
    layout: Layout,
    lots: Vec<LotView>,
    form: OfferForm,
    error: String,
    durations: Vec<(i64, &'static str)>,
    categories: Vec<crate::store::categories::CategoryCount>,
    max_images: usize,
}

async fn page(
    req: &HttpRequest,
    store: &Store,
    settings: &Settings,
    user: &User,
    form: OfferForm,
    error: String,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let now = settings.clock.now();
    let lots = store.lots_of_seller(user.id).await?;
    let page = SellPage {
        layout: Layout::new(req, Some(user), "Sell"),
        lots: lots
            .iter()
            .map(|l| LotView::new(l, &settings.currency, now, true))
            .collect(),
        form,
        error,
        durations: DURATIONS.to_vec(),
        categories: store.categories().await?,
        max_images: crate::domain::catalogue::MAX_IMAGES,
    };
    Ok(render(status, &page))
}

pub(crate) async fn sell_page(
    req: HttpRequest,
    viewer: Viewer,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, PageError> {
    let user = require_role(viewer, Role::can_sell)?;
    let form = OfferForm {
        duration_secs: 86_400,
        ..OfferForm::default()
    };
    page(
        &req,
        &store,
        &settings,
        &user,
        form,
        String::new(),
        StatusCode::OK,
    )
    .await
}

pub(crate) async fn submit(
    req: HttpRequest,
    viewer: Viewer,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    house: web::Data<AuctionHouse>,
    form: web::Form<OfferForm>,
) -> Result<HttpResponse, PageError> {
    let user = require_role(viewer, Role::can_sell)?;
    check_csrf(&req, &form.csrf)?;
    let form = form.into_inner();
    let reserve = (!form.reserve.trim().is_empty()).then(|| Cents::parse_units(&form.reserve));
    let starting = Cents::parse_units(&form.starting_price);
    // An amount that cannot be read is a 400 (API.md §3a); one out of range a 422.
    let unreadable = [Some(&starting), reserve.as_ref()]
        .into_iter()
        .flatten()
        .any(|a| matches!(a, Err(MoneyError::Malformed | MoneyError::Ambiguous)));
    let category = crate::web::api::lots::category_of(&store, Some(&form.category)).await;
    let offer = NewLot::parse(
        &form.title,
        &form.description,
        starting,
        reserve,
        form.duration_secs,
    )
    .and_then(|offer| match category {
        Ok(c) => Ok(offer.in_category(c)),
        Err(_) => Err(crate::domain::lot::FieldError::new(
            "category",
            "invalid_category",
            "pick a category from the list",
        )),
    });
    match offer {
        Ok(offer) => {
            house.create(user.as_ref(), offer).await?;
            Ok(see_other("/sell?notice=offer"))
        }
        Err(e) => {
            let msg = e.message.clone();
            page(
                &req,
                &store,
                &settings,
                &user,
                form,
                msg,
                if unreadable {
                    StatusCode::BAD_REQUEST
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                },
            )
            .await
        }
    }
}

/// The page's script asks for JSON, so it can show progress and the reason for a refusal in
/// place; a plain form gets a redirect or the error page.
fn wants_json(req: &HttpRequest) -> bool {
    req.headers()
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.starts_with("application/json"))
}

/// A photograph for a pending offer, from the form on `/sell` (multipart, works without
/// JavaScript).
#[expect(
    clippy::too_many_arguments,
    reason = "an actix handler takes each extractor as an argument"
)]
pub(crate) async fn add_image(
    req: HttpRequest,
    viewer: Viewer,
    store: web::Data<Store>,
    house: web::Data<AuctionHouse>,
    images: web::Data<crate::images::Images>,
    cache: web::Data<crate::web::search_cache::SearchCache>,
    path: web::Path<String>,
    form: actix_multipart::Multipart,
) -> Result<HttpResponse, actix_web::Error> {
    let json = wants_json(&req);
    let done = async {
        let user = require_role(viewer, Role::can_sell).map_err(|e| e.0)?;
        let lot_id = uuid::Uuid::parse_str(&path).map_err(|_| AppError::NotFound)?;
        crate::web::api::catalogue::lot_for_images(&store, lot_id, &user).await?;
        let upload = crate::web::uploads::read(form).await?;
        check_csrf(&req, upload.fields.get("csrf").map_or("", String::as_str)).map_err(|e| e.0)?;
        crate::web::api::catalogue::add_image(
            &store,
            &house,
            &images,
            &cache,
            lot_id,
            &user,
            upload.image,
        )
        .await?;
        Ok::<_, AppError>(())
    }
    .await;
    match (done, json) {
        (Ok(()), true) => {
            Ok(HttpResponse::Ok().json(serde_json::json!({ "location": "/sell?notice=image" })))
        }
        (Ok(()), false) => Ok(see_other("/sell?notice=image")),
        (Err(e), true) => Err(e.into()),
        (Err(e), false) => Err(PageError(e).into()),
    }
}

pub(crate) async fn remove_image(
    req: HttpRequest,
    viewer: Viewer,
    store: web::Data<Store>,
    house: web::Data<AuctionHouse>,
    cache: web::Data<crate::web::search_cache::SearchCache>,
    path: web::Path<(String, String)>,
    form: web::Form<super::CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let user = require_role(viewer, Role::can_sell)?;
    check_csrf(&req, &form.csrf)?;
    let parse = |raw: &str| uuid::Uuid::parse_str(raw).map_err(|_| AppError::NotFound);
    let (lot_id, image) = (parse(&path.0)?, parse(&path.1)?);
    crate::web::api::catalogue::lot_for_images(&store, lot_id, &user).await?;
    house
        .remove_image(lot_id, image, user.role == Role::Admin)
        .await?;
    cache.edited();
    Ok(see_other("/sell?notice=image_removed"))
}
