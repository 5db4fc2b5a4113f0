//! Personal notices (API.md §7): who is told what when a lot changes. Pure: the house gives
//! each one its id and writes it in the same transaction as its cause.

use super::json::rfc3339;
use super::lot::{Change, Lot, LotStatus, Time};
use super::money::Cents;
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    Outbid,
    Won,
    Lost,
    EndingSoon,
    OfferApproved,
    OfferRejected,
    Sold,
    Unsold,
    BidRemoved,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Outbid => "outbid",
            NoticeKind::Won => "won",
            NoticeKind::Lost => "lost",
            NoticeKind::EndingSoon => "ending_soon",
            NoticeKind::OfferApproved => "offer_approved",
            NoticeKind::OfferRejected => "offer_rejected",
            NoticeKind::Sold => "sold",
            NoticeKind::Unsold => "unsold",
            NoticeKind::BidRemoved => "bid_removed",
        }
    }
}

/// One notice for one user, before it has an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub user: Uuid,
    pub kind: NoticeKind,
    pub lot_id: Uuid,
    pub lot_title: String,
    pub price: Option<Cents>,
    pub min_next_bid: Option<Cents>,
    pub ends_at: Option<Time>,
    pub reason: Option<String>,
    pub winner: Option<String>,
    pub amount: Option<Cents>,
}

impl Notice {
    fn new(user: Uuid, kind: NoticeKind, lot: &Lot) -> Notice {
        Notice {
            user,
            kind,
            lot_id: lot.id(),
            lot_title: lot.title().to_owned(),
            price: None,
            min_next_bid: None,
            ends_at: None,
            reason: None,
            winner: None,
            amount: None,
        }
    }

    /// Its JSON, as stored and sent: `{"id","type","at","lot":{"id","title"},…}`.
    pub fn to_json(&self, id: i64, at: Time) -> String {
        let json = NoticeJson {
            id,
            kind: self.kind.as_str(),
            at: rfc3339(at),
            lot: LotRefJson {
                id: self.lot_id,
                title: &self.lot_title,
            },
            price_cents: self.price.map(Cents::get),
            min_next_bid_cents: self.min_next_bid.map(Cents::get),
            ends_at: self.ends_at.map(rfc3339),
            reason: self.reason.as_deref(),
            winner: self
                .winner
                .as_deref()
                .map(|username| WinnerJson { username }),
            amount_cents: self.amount.map(Cents::get),
        };
        serde_json::to_string(&json).unwrap_or_else(|_| String::from("{}"))
    }
}

#[derive(Serialize)]
struct NoticeJson<'a> {
    id: i64,
    #[serde(rename = "type")]
    kind: &'static str,
    at: String,
    lot: LotRefJson<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    price_cents: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_next_bid_cents: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ends_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    winner: Option<WinnerJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    amount_cents: Option<i64>,
}

#[derive(Serialize)]
struct LotRefJson<'a> {
    id: Uuid,
    title: &'a str,
}

#[derive(Serialize)]
struct WinnerJson<'a> {
    username: &'a str,
}

/// What a lot was before a change, as far as notices care.
#[derive(Debug, Clone, Copy)]
pub struct Before {
    pub status: LotStatus,
    pub leader: Option<Uuid>,
}

impl Before {
    pub fn of(lot: &Lot) -> Before {
        Before {
            status: lot.status(),
            leader: lot.leader().map(|l| l.id),
        }
    }
}

/// The notices a change to a lot sends, in order.
pub fn from_change(before: &Before, lot: &Lot, changes: &[Change]) -> Vec<Notice> {
    let mut out = Vec::new();
    match (before.status, lot.status()) {
        (LotStatus::Pending, LotStatus::Open) => {
            out.push(Notice::new(lot.seller().id, NoticeKind::OfferApproved, lot));
        }
        (LotStatus::Pending, LotStatus::Rejected) => out.push(Notice {
            reason: lot.reject_reason().cloned(),
            ..Notice::new(lot.seller().id, NoticeKind::OfferRejected, lot)
        }),
        (LotStatus::Open, LotStatus::Closed) => {
            let price = lot.final_price();
            for m in lot.maxima().iter() {
                let won = lot.winner().as_ref().is_some_and(|w| w.id == m.bidder.id);
                let kind = if won {
                    NoticeKind::Won
                } else {
                    NoticeKind::Lost
                };
                out.push(Notice {
                    price: price.or(lot.current_price()),
                    ..Notice::new(m.bidder.id, kind, lot)
                });
            }
            out.push(match &lot.winner() {
                Some(w) => Notice {
                    price,
                    winner: Some(w.username.clone()),
                    ..Notice::new(lot.seller().id, NoticeKind::Sold, lot)
                },
                None => Notice {
                    price: lot.current_price(),
                    ..Notice::new(lot.seller().id, NoticeKind::Unsold, lot)
                },
            });
        }
        _ => {}
    }
    let bid_shown = changes.iter().any(|c| matches!(c, Change::Bid(_)));
    if let (true, Some(old)) = (bid_shown, before.leader)
        && lot.leader().is_some_and(|new| new.id != old)
        && lot.status() == LotStatus::Open
    {
        out.push(Notice {
            price: lot.current_price(),
            min_next_bid: Some(lot.min_next_bid()),
            ..Notice::new(old, NoticeKind::Outbid, lot)
        });
    }
    for change in changes {
        if let Change::BidRemoved {
            bidder: Some(bidder),
            amount,
            ..
        } = change
        {
            out.push(Notice {
                amount: Some(*amount),
                ..Notice::new(bidder.id, NoticeKind::BidRemoved, lot)
            });
        }
    }
    out
}

/// A lot about to end: one notice to each of these users (its bidders and watchers).
pub fn ending_soon(lot: &Lot, users: impl IntoIterator<Item = Uuid>) -> Vec<Notice> {
    users
        .into_iter()
        .map(|user| Notice {
            ends_at: lot.ends_at(),
            ..Notice::new(user, NoticeKind::EndingSoon, lot)
        })
        .collect()
}
