//! `/metrics` in Prometheus text: the hub's streams and deliveries, the house's batches, syncs
//! and bids.

use crate::auction::AuctionHouse;
use crate::live::Hub;
use actix_web::{HttpResponse, web};
use std::sync::Arc;

pub(crate) async fn serve(
    hub: web::Data<Arc<Hub>>,
    house: web::Data<AuctionHouse>,
) -> HttpResponse {
    let mut body = hub.metrics.render();
    house.stats().render(&mut body);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(body)
}
