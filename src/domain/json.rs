//! The JSON shapes of API.md §3 and §4: a lot, a bid and an event.

use super::lot::{AcceptedBid, Lot, Time};
use serde::Serialize;
use uuid::Uuid;

/// RFC 3339 in UTC with milliseconds, as every time in the API.
pub fn rfc3339(t: Time) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

mod time_format {
    use super::{Time, rfc3339};
    use serde::Serializer;

    pub fn serialize<S: Serializer>(t: &Time, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&rfc3339(*t))
    }

    pub mod option {
        use super::{Time, rfc3339};
        use serde::Serializer;

        pub fn serialize<S: Serializer>(t: &Option<Time>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_str(&rfc3339(*t)),
                None => s.serialize_none(),
            }
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct NameJson {
    pub username: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SellerJson {
    pub id: Uuid,
    pub username: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LotJson {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub seller: SellerJson,
    pub status: &'static str,
    pub starting_price_cents: i64,
    pub current_price_cents: Option<i64>,
    pub min_next_bid_cents: i64,
    pub bid_count: i64,
    pub leader: Option<NameJson>,
    pub reserve_met: Option<bool>,
    /// Only for the lot's seller and admins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserve_cents: Option<i64>,
    #[serde(with = "time_format::option")]
    pub ends_at: Option<Time>,
    #[serde(with = "time_format::option")]
    pub closed_at: Option<Time>,
    pub winner: Option<NameJson>,
    pub final_price_cents: Option<i64>,
    /// Only for the lot's seller and admins, once rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject_reason: Option<String>,
    pub last_event_id: i64,
}

impl LotJson {
    /// What anyone may see of a lot.
    pub fn public(lot: &Lot) -> Self {
        LotJson {
            id: lot.id,
            title: lot.title.clone(),
            description: lot.description.clone(),
            seller: SellerJson {
                id: lot.seller.id,
                username: lot.seller.username.clone(),
            },
            status: lot.status.as_str(),
            starting_price_cents: lot.starting_price.get(),
            current_price_cents: lot.current_price.map(|c| c.get()),
            min_next_bid_cents: lot.min_next_bid().get(),
            bid_count: lot.bid_count,
            leader: lot.leader.as_ref().map(|u| NameJson {
                username: u.username.clone(),
            }),
            reserve_met: lot.reserve_met(),
            reserve_cents: None,
            ends_at: lot.ends_at,
            closed_at: lot.closed_at,
            winner: lot.winner.as_ref().map(|u| NameJson {
                username: u.username.clone(),
            }),
            final_price_cents: lot.final_price.map(|c| c.get()),
            reject_reason: None,
            last_event_id: lot.last_event_id,
        }
    }

    /// What the seller and admins see: the public view plus reserve and reject reason.
    pub fn privileged(lot: &Lot) -> Self {
        LotJson {
            reserve_cents: lot.reserve.map(|c| c.get()),
            reject_reason: lot.reject_reason.clone(),
            ..LotJson::public(lot)
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BidJson {
    pub id: Uuid,
    pub amount_cents: i64,
    pub bidder: NameJson,
    #[serde(with = "time_format")]
    pub placed_at: Time,
    pub event_id: i64,
}

/// The 201 answer to a bid (API.md §3), serialized straight from its typed parts. A bidder is
/// never the lot's seller or an admin, so the lot is the public view: the same body for the
/// first answer and for every replay of it.
#[derive(Serialize)]
pub struct ReceiptJson {
    pub bid: BidJson,
    pub lot: LotJson,
}

impl ReceiptJson {
    pub fn new(bid: &AcceptedBid, event_id: i64, lot: &super::Lot) -> Self {
        ReceiptJson {
            bid: BidJson::new(bid, event_id),
            lot: LotJson::public(lot),
        }
    }
}

impl BidJson {
    pub fn new(bid: &AcceptedBid, event_id: i64) -> Self {
        BidJson {
            id: bid.id,
            amount_cents: bid.amount.get(),
            bidder: NameJson {
                username: bid.bidder.username.clone(),
            },
            placed_at: bid.placed_at,
            event_id,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct EventJson {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub lot_id: Uuid,
    pub seq: i64,
    #[serde(with = "time_format")]
    pub at: Time,
    pub lot: LotJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bid: Option<BidJson>,
}
