//! The catalogue's API (API.md §8): categories, lot images and sales.

use super::Body;
use super::lots::{lot_json, visible};
use crate::auction::{AuctionHouse, NewSale};
use crate::config::Settings;
use crate::domain::catalogue::{CategoryName, CategoryRef, SaleTimes};
use crate::domain::json::{ImageJson, rfc3339};
use crate::domain::{Lot, Role, Time};
use crate::images::{Images, UploadError};
use crate::store::Store;
use crate::store::categories::AddCategoryError;
use crate::store::sales::StoredSale;
use crate::store::users::User;
use crate::web::auth::ApiCaller;
use crate::web::error::AppError;
use crate::web::search_cache::SearchCache;
use crate::web::uploads;
use actix_multipart::Multipart;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

fn parse_id(raw: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(raw).map_err(|_| AppError::NotFound)
}

pub(crate) async fn categories(cache: web::Data<SearchCache>) -> Result<HttpResponse, AppError> {
    let all = cache.categories().await?;
    let list: Vec<_> = all
        .iter()
        .map(|c| json!({ "slug": c.slug, "name": c.name, "open_lots": c.open_lots }))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "categories": list })))
}

#[derive(Deserialize)]
pub(crate) struct NameBody {
    name: Option<String>,
}

fn category_name(raw: Option<&str>) -> Result<CategoryName, AppError> {
    CategoryName::parse(raw.unwrap_or("")).map_err(AppError::Field)
}

impl From<AddCategoryError> for AppError {
    fn from(e: AddCategoryError) -> Self {
        match e {
            AddCategoryError::Exists => AppError::Conflict {
                code: "category_exists",
                message: "a category with that name exists".into(),
            },
            AddCategoryError::Db(e) => e.into(),
        }
    }
}

/// A new category, for the API and `/admin` alike.
pub async fn add_category_named(
    store: &Store,
    cache: &SearchCache,
    raw: Option<&str>,
    now: Time,
) -> Result<CategoryRef, AppError> {
    let category = store.add_category(&category_name(raw)?, now).await?;
    cache.edited();
    Ok(category)
}

/// A category's new name (its slug stays), for the API and `/admin` alike.
pub async fn rename_category_to(
    store: &Store,
    house: &AuctionHouse,
    cache: &SearchCache,
    slug: String,
    raw: Option<&str>,
) -> Result<CategoryRef, AppError> {
    let name = category_name(raw)?;
    store.category(&slug).await?.ok_or(AppError::NotFound)?;
    if store.category_name_taken(name.as_str(), &slug).await? {
        return Err(AddCategoryError::Exists.into());
    }
    let name = name.as_str().to_owned();
    house.rename_category(slug.clone(), name.clone()).await?;
    cache.edited();
    Ok(CategoryRef { slug, name })
}

pub(crate) async fn add_category(
    store: web::Data<Store>,
    cache: web::Data<SearchCache>,
    settings: web::Data<Settings>,
    caller: ApiCaller,
    Body(body): Body<NameBody>,
) -> Result<HttpResponse, AppError> {
    caller.require_role(|r| r == Role::Admin)?;
    let c = add_category_named(&store, &cache, body.name.as_deref(), settings.clock.now()).await?;
    Ok(HttpResponse::Created().json(json!({ "slug": c.slug, "name": c.name })))
}

pub(crate) async fn rename_category(
    store: web::Data<Store>,
    cache: web::Data<SearchCache>,
    house: web::Data<AuctionHouse>,
    caller: ApiCaller,
    path: web::Path<String>,
    Body(body): Body<NameBody>,
) -> Result<HttpResponse, AppError> {
    caller.require_role(|r| r == Role::Admin)?;
    let c = rename_category_to(
        &store,
        &house,
        &cache,
        path.into_inner(),
        body.name.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "slug": c.slug, "name": c.name })))
}

/// The lot, for a change to its images by this user: invisible is 404, someone else's 403.
pub(crate) async fn lot_for_images(
    store: &Store,
    lot_id: Uuid,
    user: &User,
) -> Result<Lot, AppError> {
    let lot = store.lot(lot_id).await?.ok_or(AppError::NotFound)?;
    if !visible(&lot, Some(user)) {
        return Err(AppError::NotFound);
    }
    if user.role != Role::Admin && lot.seller().id != user.id {
        return Err(AppError::Forbidden(
            "only the lot's seller and admins change its images",
        ));
    }
    Ok(lot)
}

impl From<UploadError> for AppError {
    fn from(e: UploadError) -> Self {
        match e {
            UploadError::Image(e) => AppError::field("image", "invalid_image", e.to_string()),
            UploadError::Busy => AppError::Unavailable,
            UploadError::Failed(why) => AppError::Internal(anyhow::anyhow!(why)),
            UploadError::Store(e) => e.into(),
        }
    }
}

/// Checks the upload, stores it, and adds it to the lot: the one path for the API and `/sell`.
pub async fn add_image(
    store: &Store,
    house: &AuctionHouse,
    images: &Images,
    cache: &SearchCache,
    lot_id: Uuid,
    user: &User,
    bytes: Option<bytes::Bytes>,
) -> Result<(Lot, crate::domain::catalogue::ImageRef), AppError> {
    let lot = lot_for_images(store, lot_id, user).await?;
    if lot.images().len() >= crate::domain::catalogue::MAX_IMAGES {
        // Refused before the work of decoding; the house checks again.
        return Err(
            crate::auction::HouseError::Image(crate::domain::lot::ImageRefused::TooMany).into(),
        );
    }
    let bytes = bytes.ok_or_else(|| {
        AppError::field(
            "image",
            "invalid_image",
            "send the file in the field `image`",
        )
    })?;
    let image = images.store_upload(bytes).await?;
    let lot = house
        .add_image(lot_id, image.clone(), user.role == Role::Admin)
        .await?;
    cache.edited();
    Ok((lot, image))
}

pub(crate) async fn upload_image(
    store: web::Data<Store>,
    house: web::Data<AuctionHouse>,
    images: web::Data<Images>,
    cache: web::Data<SearchCache>,
    caller: ApiCaller,
    path: web::Path<String>,
    form: Multipart,
) -> Result<HttpResponse, AppError> {
    let user = caller.require_role(Role::can_sell)?;
    let lot_id = parse_id(&path)?;
    // Who may is checked before the body is read.
    lot_for_images(&store, lot_id, &user).await?;
    let upload = uploads::read(form).await?;
    let (_, image) =
        add_image(&store, &house, &images, &cache, lot_id, &user, upload.image).await?;
    Ok(HttpResponse::Created().json(json!({ "image": ImageJson::new(&image) })))
}

pub(crate) async fn delete_image(
    store: web::Data<Store>,
    house: web::Data<AuctionHouse>,
    cache: web::Data<SearchCache>,
    caller: ApiCaller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let user = caller.require_role(Role::can_sell)?;
    let (lot_id, image) = (parse_id(&path.0)?, parse_id(&path.1)?);
    lot_for_images(&store, lot_id, &user).await?;
    house
        .remove_image(lot_id, image, user.role == Role::Admin)
        .await?;
    cache.edited();
    Ok(HttpResponse::NoContent().finish())
}

pub fn sale_json(s: &StoredSale) -> serde_json::Value {
    json!({
        "id": s.id,
        "title": s.title,
        "description": s.description,
        "status": s.status().as_str(),
        "starts_at": rfc3339(s.times.starts_at),
        "first_close_at": rfc3339(s.times.first_close_at),
        "stagger_secs": s.times.stagger_secs,
        "lot_count": s.lot_count,
    })
}

#[derive(Deserialize)]
pub(crate) struct SaleBody {
    title: Option<String>,
    description: Option<String>,
    starts_at: Option<String>,
    first_close_at: Option<String>,
    stagger_secs: Option<i64>,
}

fn time_field(raw: Option<&str>, field: &'static str) -> Result<Time, AppError> {
    raw.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok_or_else(|| {
            AppError::field(
                field,
                "invalid_time",
                format!("{field} must be an RFC 3339 time, e.g. 2026-12-24T18:00:00Z"),
            )
        })
}

/// A sale as an admin describes it, checked.
pub fn new_sale(
    title: &str,
    description: &str,
    times: Result<SaleTimes, AppError>,
) -> Result<NewSale, AppError> {
    let title = title.trim();
    let n = title.chars().count();
    if n == 0 || n > 200 || !crate::domain::text::is_clean_line(title) {
        return Err(AppError::field(
            "title",
            "invalid_title",
            "the title must be 1 to 200 characters on one line",
        ));
    }
    if description.chars().count() > 10_000 || !crate::domain::text::is_clean_lines(description) {
        return Err(AppError::field(
            "description",
            "invalid_description",
            "the description may be at most 10,000 characters, without control characters",
        ));
    }
    Ok(NewSale {
        id: Uuid::now_v7(),
        title: title.to_owned(),
        description: description.trim().to_owned(),
        times: times?,
    })
}

pub(crate) async fn create_sale(
    store: web::Data<Store>,
    house: web::Data<AuctionHouse>,
    settings: web::Data<Settings>,
    caller: ApiCaller,
    Body(body): Body<SaleBody>,
) -> Result<HttpResponse, AppError> {
    caller.require_role(|r| r == Role::Admin)?;
    let times = time_field(body.starts_at.as_deref(), "starts_at").and_then(|start| {
        let first = time_field(body.first_close_at.as_deref(), "first_close_at")?;
        let stagger = body.stagger_secs.unwrap_or(60);
        SaleTimes::parse(start, first, stagger, settings.clock.now()).map_err(AppError::Field)
    });
    let sale = new_sale(
        body.title.as_deref().unwrap_or(""),
        body.description.as_deref().unwrap_or(""),
        times,
    )?;
    let id = sale.id;
    house.create_sale(sale).await?;
    let sale = store.sale(id).await?.ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Created().json(sale_json(&sale)))
}

pub(crate) async fn sales(store: web::Data<Store>) -> Result<HttpResponse, AppError> {
    let list: Vec<_> = store.current_sales().await?.iter().map(sale_json).collect();
    Ok(HttpResponse::Ok().json(json!({ "sales": list })))
}

pub(crate) async fn sale(
    store: web::Data<Store>,
    caller: ApiCaller,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let sale = store.sale(id).await?.ok_or(AppError::NotFound)?;
    let user = caller.0;
    let lots: Vec<_> = store
        .lots_of_sale(id)
        .await?
        .iter()
        .map(|l| lot_json(l, user.as_ref()))
        .collect();
    let mut json = sale_json(&sale);
    json["lots"] = json!(lots);
    Ok(HttpResponse::Ok().json(json))
}
