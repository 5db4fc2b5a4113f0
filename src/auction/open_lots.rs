//! The open lots as the house last committed them, with each one's latest bids: pages and lists
//! read these instead of the database. Updated by the house after each commit and before its
//! events are published, so a page that reads the hub's cursor first and then this view never
//! misses a change.

use crate::domain::{AcceptedBid, Lot, LotStatus};
use crate::store::lots::BidRecord;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use uuid::Uuid;

/// How many of a lot's latest bids the view keeps (a lot page lists this many).
pub const RECENT_BIDS: usize = 100;

pub struct OpenLot {
    pub lot: Lot,
    /// Newest first.
    pub recent_bids: Vec<Arc<BidRecord>>,
}

#[derive(Clone, Default)]
pub struct OpenLots(Arc<RwLock<HashMap<Uuid, Arc<OpenLot>>>>);

impl OpenLots {
    pub fn get(&self, id: Uuid) -> Option<Arc<OpenLot>> {
        self.0.read().ok()?.get(&id).cloned()
    }

    /// Ending soonest first, as the database list orders them.
    pub fn list(&self) -> Vec<Arc<OpenLot>> {
        let mut lots: Vec<Arc<OpenLot>> = self
            .0
            .read()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        lots.sort_by_key(|l| (l.lot.ends_at, l.lot.id));
        lots
    }

    /// A lot's new state, with the bids this batch accepted on it (oldest first).
    pub(super) fn update(&self, lot: Lot, new_bids: &[(AcceptedBid, i64)]) {
        let Ok(mut map) = self.0.write() else { return };
        if lot.status != LotStatus::Open {
            map.remove(&lot.id);
            return;
        }
        let mut recent: Vec<Arc<BidRecord>> = new_bids
            .iter()
            .rev()
            .map(|(bid, event_id)| {
                Arc::new(BidRecord {
                    id: bid.id,
                    lot_id: lot.id,
                    lot_title: lot.title.clone(),
                    bidder: bid.bidder.username.clone(),
                    amount: bid.amount,
                    placed_at: bid.placed_at,
                    event_id: *event_id,
                })
            })
            .collect();
        if let Some(before) = map.get(&lot.id) {
            let room = RECENT_BIDS.saturating_sub(recent.len());
            recent.extend(before.recent_bids.iter().take(room).cloned());
        }
        recent.truncate(RECENT_BIDS);
        map.insert(
            lot.id,
            Arc::new(OpenLot {
                lot,
                recent_bids: recent,
            }),
        );
    }

    /// Everything at once (at start, or after a failed commit), with bids read from the database.
    pub(super) fn replace_all(&self, lots: Vec<(Lot, Vec<BidRecord>)>) {
        if let Ok(mut map) = self.0.write() {
            map.clear();
            for (lot, bids) in lots
                .into_iter()
                .filter(|(l, _)| l.status == LotStatus::Open)
            {
                let recent_bids = bids.into_iter().map(Arc::new).collect();
                map.insert(lot.id, Arc::new(OpenLot { lot, recent_bids }));
            }
        }
    }
}
