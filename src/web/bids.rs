//! Placing a bid, shared by the form and the API: the house decides, metrics count, and a
//! repeated idempotency key gets its first answer.

use crate::auction::{AuctionHouse, BidReceipt, HouseError};
use crate::domain::idempotency::{IdempotencyKey, bid_fingerprint};
use crate::domain::json::ReceiptJson;
use crate::domain::{BidRejected, BidRequest, Time};
use crate::store::Store;
use crate::web::error::{AppError, key_reused};
use actix_web::HttpResponse;
use uuid::Uuid;

/// How a bid was answered: placed now, or the first answer to the same idempotency key again.
pub enum BidAnswer {
    Placed(Box<BidReceipt>),
    Replayed(std::sync::Arc<str>),
}

impl BidAnswer {
    /// The 201 answer of API.md §3; a replay carries `Idempotent-Replayed: true` (§3a).
    pub fn response(&self) -> HttpResponse {
        match self {
            BidAnswer::Placed(receipt) => {
                let json = ReceiptJson::new(receipt.bid.as_ref(), &receipt.lot, receipt.bidder);
                // 200 when the request showed no bid of the requester's (§6 rule 5).
                match json.bid {
                    Some(_) => HttpResponse::Created().json(json),
                    None => HttpResponse::Ok().json(json),
                }
            }
            BidAnswer::Replayed(body) => {
                let shown_none = body.starts_with("{\"bid\":null");
                let mut answer = if shown_none {
                    HttpResponse::Ok()
                } else {
                    HttpResponse::Created()
                };
                answer
                    .content_type("application/json")
                    .insert_header(("Idempotent-Replayed", "true"))
                    .body(body.to_string())
            }
        }
    }
}

/// A bid with an optional idempotency key: a key already answered within 24 hours gets that
/// answer again (or 422 when the request differs); otherwise the house decides, and its answer
/// is stored with the bid.
pub async fn place_bid(
    house: &AuctionHouse,
    store: &Store,
    now: Time,
    lot: Uuid,
    request: BidRequest,
    key: Option<IdempotencyKey>,
) -> Result<BidAnswer, AppError> {
    if let Some(key) = &key
        && let Some(stored) = store.idempotent_answer(request.bidder.id, key, now).await?
    {
        return if stored.request == bid_fingerprint(lot, request.amount, request.max) {
            Ok(BidAnswer::Replayed(stored.body.into()))
        } else {
            Err(key_reused())
        };
    }
    let result = house.bid_once(lot, request, key).await;
    count(house, &result);
    let receipt = result?;
    Ok(match receipt.replayed {
        Some(body) => BidAnswer::Replayed(body),
        None => BidAnswer::Placed(Box::new(receipt)),
    })
}

/// The house's counts of accepted and refused bids (`/metrics`); a replay is neither.
fn count(house: &AuctionHouse, result: &Result<BidReceipt, HouseError>) {
    let stats = house.stats();
    match result {
        Ok(receipt) if receipt.replayed.is_some() => {}
        Ok(_) => {
            stats.bid_accepted();
        }
        Err(HouseError::Bid(BidRejected::TooLow { .. })) => stats.bid_rejected("too_low"),
        Err(HouseError::Bid(BidRejected::LotNotOpen)) => stats.bid_rejected("lot_not_open"),
        Err(HouseError::Bid(BidRejected::AuctionEnded)) => stats.bid_rejected("auction_ended"),
        Err(HouseError::Bid(BidRejected::OwnLot)) => stats.bid_rejected("forbidden"),
        Err(_) => stats.bid_rejected("other"),
    }
}
