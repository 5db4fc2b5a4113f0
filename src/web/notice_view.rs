//! A notice as a person reads it: one sentence with the lot, prices in the site's currency.
//! `static/live.js` words the toasts the same way.

use crate::domain::json::rfc3339;
use crate::domain::{Cents, Currency};
use crate::store::notices::NoticeRecord;
use crate::web::view::time_text;
use serde_json::Value;

pub struct NoticeView {
    pub id: i64,
    pub kind: String,
    pub lot_id: String,
    pub lot_title: String,
    /// The sentence after the lot's title.
    pub text: String,
    pub at_iso: String,
    pub at_text: String,
    pub unread: bool,
}

impl NoticeView {
    pub fn new(n: &NoticeRecord, currency: &Currency, read_up_to: i64) -> NoticeView {
        let data: Value = serde_json::from_str(&n.data).unwrap_or(Value::Null);
        let money = |field: &str| {
            data[field]
                .as_i64()
                .map(|c| currency.format(Cents::from_stored(c)))
                .unwrap_or_default()
        };
        let text = match n.kind.as_str() {
            "outbid" => format!(
                "You were outbid: now {}. Bid {} or more to lead again.",
                money("price_cents"),
                money("min_next_bid_cents")
            ),
            "won" => format!("You won it for {}.", money("price_cents")),
            "lost" => "It closed and you did not win it.".to_owned(),
            "ending_soon" => "It ends soon: last chance to bid.".to_owned(),
            "offer_approved" => "Your offer was approved: bidding is open.".to_owned(),
            "offer_rejected" => format!(
                "Your offer was rejected: {}",
                data["reason"].as_str().unwrap_or("no reason given.")
            ),
            "sold" => format!(
                "Sold to {} for {}.",
                data["winner"]["username"].as_str().unwrap_or("the winner"),
                money("price_cents")
            ),
            "unsold" => "It closed unsold.".to_owned(),
            "bid_removed" => format!("An admin removed your bid of {}.", money("amount_cents")),
            other => other.replace('_', " "),
        };
        NoticeView {
            id: n.id,
            kind: n.kind.clone(),
            lot_id: n.lot_id.to_string(),
            lot_title: data["lot"]["title"].as_str().unwrap_or("A lot").to_owned(),
            text,
            at_iso: rfc3339(n.at),
            at_text: time_text(n.at),
            unread: n.id > read_up_to,
        }
    }
}
