//! A user's own page: their bids, the lots they lead and won, their sessions and tokens.

use super::{Layout, PageError, render};
use crate::config::Settings;
use crate::store::Store;
use crate::web::auth::Viewer;
use crate::web::view::{BidView, LotView};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

#[derive(Template)]
#[template(path = "me.html")]
struct MePage {
    layout: Layout,
    bids: Vec<BidView>,
    leading: Vec<LotView>,
    won: Vec<LotView>,
}

pub(crate) async fn me_page(
    req: HttpRequest,
    viewer: Viewer,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, PageError> {
    let user = viewer.require()?;
    let now = settings.clock.now();
    let view = |lots: Vec<crate::domain::Lot>| {
        lots.iter()
            .map(|l| LotView::new(l, &settings.currency, now, false))
            .collect::<Vec<_>>()
    };
    let page = MePage {
        layout: Layout::new(&req, Some(&user), "My bids"),
        bids: store
            .bids_of_bidder(user.id, 200)
            .await?
            .iter()
            .map(|b| BidView::new(b, &settings.currency))
            .collect(),
        leading: view(store.lots_led_by(user.id).await?),
        won: view(store.lots_won_by(user.id).await?),
    };
    Ok(render(StatusCode::OK, &page))
}
