//! Lots and bids formatted for people: prices in the site's currency, times as text.

use crate::domain::json::rfc3339;
use crate::domain::{Currency, Lot, LotStatus, Time};
use crate::store::lots::BidRecord;

/// Everything a page shows of a lot, already formatted.
pub struct LotView {
    pub id: String,
    pub title: String,
    pub description: String,
    pub seller: String,
    pub status: &'static str,
    pub is_open: bool,
    pub price_cents: i64,
    pub price: String,
    pub has_bids: bool,
    pub starting_price: String,
    pub min_next: String,
    pub min_next_units: String,
    pub bid_count: i64,
    pub leader: String,
    pub reserve: String,
    pub reserve_note: &'static str,
    /// "Reserve met" / "Reserve not met" (API.md §9); empty without a reserve.
    pub reserve_status: &'static str,
    pub ends_at_iso: String,
    pub ends_at_text: String,
    pub time_left: String,
    pub closed_at_iso: String,
    pub closed_at_text: String,
    pub winner: String,
    pub final_price: String,
    pub reject_reason: String,
    pub created_at_text: String,
    pub last_event_id: i64,
    pub images: Vec<ImageView>,
    /// (slug, name), empty when the lot has no category.
    pub category: (String, String),
    /// (sale id, title, lot number) for a lot in a sale.
    pub sale: Option<(String, String, i64)>,
}

pub struct ImageView {
    pub id: String,
    pub url: String,
    pub thumb_url: String,
    pub width: u32,
    pub height: u32,
    pub thumb_width: u32,
    pub thumb_height: u32,
    pub alt: String,
}

/// What a card on the front page shows: a small subset of `LotView`, built for 100s per page.
pub struct CardView {
    pub id: String,
    pub title: String,
    pub seller: String,
    pub price_cents: i64,
    pub price: String,
    pub has_bids: bool,
    pub bid_count: i64,
    pub ends_at_iso: String,
    pub time_left: String,
    pub status: &'static str,
    /// The cover's thumbnail and its size, so the page does not jump as it loads.
    pub thumb: Option<(String, u32, u32)>,
    pub category: String,
    /// "Lot 3 · Winter sale" for a lot in a sale.
    pub sale_note: String,
    pub lot_number: i64,
}

impl CardView {
    pub fn new(lot: &Lot, currency: &Currency, now: Time) -> Self {
        let price = lot.current_price().unwrap_or(lot.starting_price());
        CardView {
            id: lot.id().to_string(),
            title: lot.title().to_owned(),
            seller: lot.seller().username.clone(),
            price_cents: price.get(),
            price: currency.format(price),
            has_bids: lot.current_price().is_some(),
            bid_count: lot.bid_count(),
            ends_at_iso: lot.ends_at().map(rfc3339).unwrap_or_default(),
            time_left: lot.ends_at().map(|e| time_left(e, now)).unwrap_or_default(),
            status: lot.status().as_str(),
            thumb: lot
                .images()
                .first()
                .map(|i| (i.thumb_url(), i.thumb_width, i.thumb_height)),
            category: lot.category().map(|c| c.name.clone()).unwrap_or_default(),
            sale_note: match (lot.lot_number(), lot.sale()) {
                (Some(n), Some(s)) => format!("Lot {n} · {}", s.title),
                _ => String::new(),
            },
            lot_number: lot.lot_number().unwrap_or(0),
        }
    }
}

pub struct BidView {
    pub id: String,
    pub lot_id: String,
    pub lot_title: String,
    pub bidder: String,
    pub amount: String,
    pub amount_cents: i64,
    pub placed_at_iso: String,
    pub placed_at_text: String,
    /// Placed by the site from the bidder's maximum.
    pub proxy: bool,
}

/// `25 Nov 2026, 14:05 UTC`: the no-JavaScript fallback; the browser shows local time.
pub fn time_text(t: Time) -> String {
    t.format("%-d %b %Y, %H:%M UTC").to_string()
}

/// `2d 3h`, `4h 05m`, `3m 20s`, `ended`.
pub fn time_left(ends_at: Time, now: Time) -> String {
    let secs = (ends_at - now).num_seconds();
    if secs <= 0 {
        return "ended".into();
    }
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else {
        format!("{m}m {s:02}s")
    }
}

impl LotView {
    pub fn new(lot: &Lot, currency: &Currency, now: Time, privileged: bool) -> Self {
        let price = lot.current_price().unwrap_or(lot.starting_price());
        let reserve_note = match lot.reserve_met() {
            None => "",
            Some(true) => "Reserve met",
            Some(false) => "Reserve not met",
        };
        LotView {
            id: lot.id().to_string(),
            title: lot.title().to_owned(),
            description: lot.description().to_owned(),
            seller: lot.seller().username.clone(),
            status: lot.status().as_str(),
            is_open: lot.status() == LotStatus::Open && lot.ends_at().is_some_and(|e| e > now),
            price_cents: price.get(),
            price: currency.format(price),
            has_bids: lot.current_price().is_some(),
            starting_price: currency.format(lot.starting_price()),
            min_next: currency.format(lot.min_next_bid()),
            min_next_units: lot.min_next_bid().to_units_string(),
            bid_count: lot.bid_count(),
            leader: lot
                .leader()
                .as_ref()
                .map(|u| u.username.clone())
                .unwrap_or_default(),
            reserve: match (privileged, lot.reserve()) {
                (true, Some(r)) => currency.format(r),
                _ => String::new(),
            },
            reserve_note,
            reserve_status: reserve_note,
            ends_at_iso: lot.ends_at().map(rfc3339).unwrap_or_default(),
            ends_at_text: lot.ends_at().map(time_text).unwrap_or_default(),
            time_left: lot.ends_at().map(|e| time_left(e, now)).unwrap_or_default(),
            closed_at_iso: lot.closed_at().map(rfc3339).unwrap_or_default(),
            closed_at_text: lot.closed_at().map(time_text).unwrap_or_default(),
            winner: lot
                .winner()
                .as_ref()
                .map(|u| u.username.clone())
                .unwrap_or_default(),
            final_price: lot
                .final_price()
                .map(|c| currency.format(c))
                .unwrap_or_default(),
            reject_reason: if privileged {
                lot.reject_reason().cloned().unwrap_or_default()
            } else {
                String::new()
            },
            created_at_text: time_text(lot.created_at()),
            last_event_id: lot.last_event_id(),
            images: lot
                .images()
                .iter()
                .enumerate()
                .map(|(n, i)| ImageView {
                    id: i.id.to_string(),
                    url: i.url(),
                    thumb_url: i.thumb_url(),
                    width: i.width,
                    height: i.height,
                    thumb_width: i.thumb_width,
                    thumb_height: i.thumb_height,
                    alt: format!("{}, photo {} of {}", lot.title(), n + 1, lot.images().len()),
                })
                .collect(),
            category: lot
                .category()
                .map(|c| (c.slug.clone(), c.name.clone()))
                .unwrap_or_default(),
            sale: lot
                .sale()
                .zip(lot.lot_number())
                .map(|(s, n)| (s.id.to_string(), s.title.clone(), n)),
        }
    }
}

impl BidView {
    pub fn new(bid: &BidRecord, currency: &Currency) -> Self {
        BidView {
            id: bid.id.to_string(),
            lot_id: bid.lot_id.to_string(),
            lot_title: bid.lot_title.clone(),
            bidder: bid.bidder.clone(),
            amount: currency.format(bid.amount),
            amount_cents: bid.amount.get(),
            placed_at_iso: rfc3339(bid.placed_at),
            placed_at_text: time_text(bid.placed_at),
            proxy: bid.proxy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};

    #[test]
    fn time_left_reads_naturally() {
        let now = Utc::now();
        assert_eq!(time_left(now, now), "ended");
        assert_eq!(time_left(now + Duration::seconds(75), now), "1m 15s");
        assert_eq!(
            time_left(now + Duration::seconds(3 * 3600 + 300), now),
            "3h 05m"
        );
        assert_eq!(
            time_left(now + Duration::seconds(2 * 86_400 + 7200), now),
            "2d 2h"
        );
    }
}
