//! Sales for people: the list of sales and a sale's catalogue, its lots in order with live
//! prices and the lot closing next marked (API.md §9).

use super::{Layout, PageError, render};
use crate::config::Settings;
use crate::live::Hub;
use crate::store::Store;
use crate::store::sales::StoredSale;
use crate::web::auth::Viewer;
use crate::web::error::AppError;
use crate::web::view::{CardView, time_text};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use std::sync::Arc;
use uuid::Uuid;

pub struct SaleView {
    pub id: String,
    pub title: String,
    pub description: String,
    pub status: &'static str,
    pub starts_at_iso: String,
    pub starts_at_text: String,
    pub first_close_iso: String,
    pub first_close_text: String,
    pub stagger: String,
    pub lot_count: i64,
}

impl SaleView {
    fn new(s: &StoredSale) -> Self {
        let stagger = match s.times.stagger_secs {
            0 => "all at once".to_owned(),
            n if n % 60 == 0 => format!("one every {} min", n / 60),
            n => format!("one every {n} s"),
        };
        SaleView {
            id: s.id.to_string(),
            title: s.title.clone(),
            description: s.description.clone(),
            status: s.status().as_str(),
            starts_at_iso: crate::domain::json::rfc3339(s.times.starts_at),
            starts_at_text: time_text(s.times.starts_at),
            first_close_iso: crate::domain::json::rfc3339(s.times.first_close_at),
            first_close_text: time_text(s.times.first_close_at),
            stagger,
            lot_count: s.lot_count,
        }
    }
}

#[derive(Template)]
#[template(path = "sales.html")]
struct SalesPage {
    layout: Layout,
    sales: Vec<SaleView>,
}

pub(crate) async fn sales_page(
    req: HttpRequest,
    viewer: Viewer,
    store: web::Data<Store>,
) -> Result<HttpResponse, PageError> {
    let sales = store.current_sales().await?;
    let page = SalesPage {
        layout: Layout::new(&req, viewer.0.as_ref(), "Sales"),
        sales: sales.iter().map(SaleView::new).collect(),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "sale.html")]
struct SalePage {
    layout: Layout,
    sale: SaleView,
    lots: Vec<CardView>,
    /// The open lot that closes next, marked on the page (and moved live by the script).
    next: String,
    cursor: i64,
}

pub(crate) async fn sale_page(
    req: HttpRequest,
    viewer: Viewer,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    hub: web::Data<Arc<Hub>>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = Uuid::parse_str(&path).map_err(|_| AppError::NotFound)?;
    // The cursor first: whatever the database shows after it, the live stream brings.
    let cursor = hub.latest_id();
    let sale = store.sale(id).await?.ok_or(AppError::NotFound)?;
    let lots = store.lots_of_sale(id).await?;
    let now = settings.clock.now();
    let next = lots
        .iter()
        .filter(|l| l.status() == crate::domain::LotStatus::Open)
        .min_by_key(|l| (l.ends_at(), l.lot_number()))
        .map(|l| l.id().to_string())
        .unwrap_or_default();
    let page = SalePage {
        layout: Layout::new(&req, viewer.0.as_ref(), sale.title.clone()),
        sale: SaleView::new(&sale),
        lots: lots
            .iter()
            .map(|l| CardView::new(l, &settings.currency, now))
            .collect(),
        next,
        cursor,
    };
    Ok(render(StatusCode::OK, &page))
}
