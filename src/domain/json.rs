//! The JSON shapes of API.md §3 and §4: a lot, a bid and an event.

use super::catalogue::ImageRef;
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
    /// The viewer's own live maximum (API.md §6), for them alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub my_max_cents: Option<i64>,
    pub last_event_id: i64,
    pub category: Option<CategoryJson>,
    /// The first is the cover.
    pub images: Vec<ImageJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sale: Option<SaleRefJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lot_number: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CategoryJson {
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SaleRefJson {
    pub id: Uuid,
    pub title: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImageJson {
    pub id: Uuid,
    pub url: String,
    pub thumb_url: String,
    pub width: u32,
    pub height: u32,
}

impl ImageJson {
    pub fn new(i: &ImageRef) -> Self {
        ImageJson {
            id: i.id,
            url: i.url(),
            thumb_url: i.thumb_url(),
            width: i.width,
            height: i.height,
        }
    }
}

impl LotJson {
    /// What anyone may see of a lot.
    pub fn public(lot: &Lot) -> Self {
        LotJson {
            id: lot.id(),
            title: lot.title().to_owned(),
            description: lot.description().to_owned(),
            seller: SellerJson {
                id: lot.seller().id,
                username: lot.seller().username.clone(),
            },
            status: lot.status().as_str(),
            starting_price_cents: lot.starting_price().get(),
            current_price_cents: lot.current_price().map(|c| c.get()),
            min_next_bid_cents: lot.min_next_bid().get(),
            bid_count: lot.bid_count(),
            leader: lot.leader().as_ref().map(|u| NameJson {
                username: u.username.clone(),
            }),
            reserve_met: lot.reserve_met(),
            reserve_cents: None,
            ends_at: lot.ends_at(),
            closed_at: lot.closed_at(),
            winner: lot.winner().as_ref().map(|u| NameJson {
                username: u.username.clone(),
            }),
            final_price_cents: lot.final_price().map(|c| c.get()),
            reject_reason: None,
            my_max_cents: None,
            last_event_id: lot.last_event_id(),
            category: lot.category().map(|c| CategoryJson {
                slug: c.slug.clone(),
                name: c.name.clone(),
            }),
            images: lot.images().iter().map(ImageJson::new).collect(),
            sale: lot.sale().map(|s| SaleRefJson {
                id: s.id,
                title: s.title.clone(),
            }),
            lot_number: lot.lot_number(),
        }
    }

    /// The public view with the viewer's own maximum, if they have one.
    pub fn for_bidder(lot: &Lot, viewer: Uuid) -> Self {
        LotJson {
            my_max_cents: lot.max_of(viewer).map(|c| c.get()),
            ..LotJson::public(lot)
        }
    }

    /// What the seller and admins see: the public view plus reserve and reject reason.
    pub fn privileged(lot: &Lot) -> Self {
        LotJson {
            reserve_cents: lot.reserve().map(|c| c.get()),
            reject_reason: lot.reject_reason().cloned(),
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
    /// Placed by the site from the bidder's maximum (API.md §6).
    pub proxy: bool,
}

/// The answer to a bid (API.md §3, §6 rule 5), serialized straight from its typed parts. A
/// bidder is never the lot's seller, so the lot is the public view with the bidder's own
/// maximum: the same body for the first answer and for every replay of it.
#[derive(Serialize)]
pub struct ReceiptJson {
    /// None when the request showed no bid of the requester's (a maximum raised alone).
    pub bid: Option<BidJson>,
    pub lot: LotJson,
}

impl ReceiptJson {
    pub fn new(bid: Option<&(AcceptedBid, i64)>, lot: &super::Lot, bidder: Uuid) -> Self {
        ReceiptJson {
            bid: bid.map(|(bid, event_id)| BidJson::new(bid, *event_id)),
            lot: LotJson::for_bidder(lot, bidder),
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
            proxy: bid.proxy,
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

impl EventJson {
    /// One change to a lot as its event's JSON, the text stored in the log and sent to every
    /// watcher.
    pub fn serialize_one(
        id: i64,
        kind: super::lot::EventKind,
        at: Time,
        lot: &Lot,
        bid: Option<&AcceptedBid>,
    ) -> String {
        let json = EventJson {
            id,
            kind: kind.as_str(),
            lot_id: lot.id(),
            seq: lot.last_seq(),
            at,
            lot: LotJson::public(lot),
            bid: bid.map(|b| BidJson::new(b, id)),
        };
        // Sized for a whole event at once (~800 bytes), not grown from empty.
        let mut data = Vec::with_capacity(1024);
        match serde_json::to_writer(&mut data, &json) {
            Ok(()) => String::from_utf8(data).unwrap_or_else(|_| String::from("{}")),
            Err(_) => String::from("{}"),
        }
    }
}
