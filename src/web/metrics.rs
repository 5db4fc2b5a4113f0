//! `/metrics` in Prometheus text: the hub's streams and deliveries, the house's batches, syncs
//! and bids.

use crate::auction::AuctionHouse;
use crate::live::Hub;
use actix_web::{HttpResponse, web};
use std::sync::Arc;

pub(crate) async fn serve(
    hub: web::Data<Arc<Hub>>,
    house: web::Data<AuctionHouse>,
    direct: web::Data<super::live_connections::Answered>,
) -> HttpResponse {
    use std::fmt::Write;
    let mut body = hub.metrics.render();
    house.stats().render(&mut body);
    let _ = writeln!(
        body,
        "# HELP gavel_direct_live_total Long polls and streams served on connections that \
         only poll or stream, without actix-http.\n# TYPE gavel_direct_live_total counter\n\
         gavel_direct_live_total {}",
        direct.count()
    );
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(body)
}
