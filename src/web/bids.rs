//! Placing a bid, shared by the form and the API: the house decides, metrics count.

use crate::auction::{AuctionHouse, BidReceipt, HouseError};
use crate::domain::json::{BidJson, LotJson};
use crate::domain::{BidRejected, BidRequest};
use crate::live::Hub;
use crate::store::users::User;
use crate::web::api::lots::lot_json;
use serde::Serialize;
use std::sync::atomic::Ordering;
use uuid::Uuid;

pub async fn place_bid(
    house: &AuctionHouse,
    hub: &Hub,
    lot: Uuid,
    request: BidRequest,
) -> Result<BidReceipt, HouseError> {
    let result = house.bid(lot, request).await;
    let metrics = &hub.metrics;
    match &result {
        Ok(_) => {
            metrics.bids_accepted.fetch_add(1, Ordering::Relaxed);
        }
        Err(HouseError::Bid(BidRejected::TooLow { .. })) => metrics.reject("too_low"),
        Err(HouseError::Bid(BidRejected::LotNotOpen)) => metrics.reject("lot_not_open"),
        Err(HouseError::Bid(BidRejected::AuctionEnded)) => metrics.reject("auction_ended"),
        Err(HouseError::Bid(BidRejected::OwnLot)) => metrics.reject("forbidden"),
        Err(_) => metrics.reject("other"),
    }
    result
}

/// The 201 body of API.md §3, serialized straight from the typed parts (no `Value` in between:
/// this is on every accepted bid's path).
#[derive(Serialize)]
pub struct ReceiptJson {
    bid: BidJson,
    lot: LotJson,
}

pub fn receipt_json(receipt: &BidReceipt, viewer: Option<&User>) -> ReceiptJson {
    ReceiptJson {
        bid: BidJson::new(&receipt.bid, receipt.event_id),
        lot: lot_json(&receipt.lot, viewer),
    }
}
