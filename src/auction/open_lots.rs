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
    pub recent_bids: RecentBids,
}

/// A lot's latest bids, newest first. Each version shares the older part of the one before,
/// so a batch puts its bids in front without copying the hundred already there; past twice
/// `RECENT_BIDS` the list is cut back, which costs one copy per hundred bids.
#[derive(Clone, Default)]
pub struct RecentBids {
    head: Option<Arc<Node>>,
    len: usize,
}

struct Node {
    bid: BidRecord,
    next: Option<Arc<Node>>,
}

impl Drop for Node {
    /// One node at a time: a long chain dropped recursively could overflow the stack.
    fn drop(&mut self) {
        let mut next = self.next.take();
        while let Some(node) = next {
            next = match Arc::try_unwrap(node) {
                Ok(mut only_here) => only_here.next.take(),
                Err(_) => None,
            };
        }
    }
}

impl RecentBids {
    /// Newest first, at most `RECENT_BIDS`.
    pub fn iter(&self) -> impl Iterator<Item = &BidRecord> {
        std::iter::successors(self.head.as_deref(), |n| n.next.as_deref())
            .map(|n| &n.bid)
            .take(RECENT_BIDS)
    }

    /// This list with newer bids (oldest first) in front.
    fn with_newer(&self, newer: impl IntoIterator<Item = BidRecord>) -> RecentBids {
        let mut list = self.clone();
        for bid in newer {
            list = RecentBids {
                head: Some(Arc::new(Node {
                    bid,
                    next: list.head.take(),
                })),
                len: list.len + 1,
            };
        }
        if list.len > 2 * RECENT_BIDS {
            let kept: Vec<BidRecord> = list.iter().cloned().collect();
            list = RecentBids::default().with_newer(kept.into_iter().rev());
        }
        list
    }
}

/// A lot as a batch left it: its bids shown (oldest first, with their event ids); `replaced`
/// when a removal rewrote its history, so those bids are all of it.
pub struct LotUpdate {
    pub lot: Lot,
    pub new_bids: Vec<(AcceptedBid, i64)>,
    pub replaced: bool,
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
        lots.sort_by_key(|l| (l.lot.ends_at(), l.lot.id()));
        lots
    }

    /// A lot's new state, with the bids this batch showed on it.
    pub(super) fn update(&self, update: LotUpdate) {
        let LotUpdate {
            lot,
            new_bids,
            replaced,
        } = update;
        let Ok(mut map) = self.0.write() else { return };
        if lot.status() != LotStatus::Open {
            map.remove(&lot.id());
            return;
        }
        let newer = new_bids.iter().map(|(bid, event_id)| BidRecord {
            id: bid.id,
            lot_id: lot.id(),
            lot_title: lot.title().to_owned(),
            bidder: bid.bidder.username.clone(),
            bidder_id: bid.bidder.id,
            amount: bid.amount,
            placed_at: bid.placed_at,
            event_id: *event_id,
            proxy: bid.proxy,
            request_no: bid.request_no,
        });
        let recent_bids = match map.get(&lot.id()) {
            Some(before) if !replaced => before.recent_bids.with_newer(newer),
            _ => RecentBids::default().with_newer(newer),
        };
        map.insert(lot.id(), Arc::new(OpenLot { lot, recent_bids }));
    }

    /// Everything at once (at start, or after a failed commit), with bids read from the database.
    pub(super) fn replace_all(&self, lots: Vec<(Lot, Vec<BidRecord>)>) {
        if let Ok(mut map) = self.0.write() {
            map.clear();
            for (lot, bids) in lots
                .into_iter()
                .filter(|(l, _)| l.status() == LotStatus::Open)
            {
                // The database gives newest first.
                let recent_bids = RecentBids::default().with_newer(bids.into_iter().rev());
                map.insert(lot.id(), Arc::new(OpenLot { lot, recent_bids }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Cents;

    fn record(event_id: i64) -> BidRecord {
        BidRecord {
            id: Uuid::now_v7(),
            lot_id: Uuid::nil(),
            lot_title: "Lamp".into(),
            bidder: "bea".into(),
            bidder_id: Uuid::nil(),
            proxy: false,
            request_no: event_id,
            amount: Cents::new(100 + event_id).unwrap_or_else(|_| unreachable!()),
            placed_at: chrono::Utc::now(),
            event_id,
        }
    }

    fn ids(list: &RecentBids) -> Vec<i64> {
        list.iter().map(|b| b.event_id).collect()
    }

    #[test]
    fn keeps_the_newest_hundred_newest_first_and_stays_bounded() {
        let all: Vec<i64> = (0..1_000).collect();
        let mut list = RecentBids::default();
        for batch in all.chunks(7) {
            list = list.with_newer(batch.iter().map(|&i| record(i)));
            assert!(list.len <= 2 * RECENT_BIDS);
        }
        assert_eq!(ids(&list), (900..1_000).rev().collect::<Vec<_>>());
    }

    #[test]
    fn an_older_version_still_reads_its_own_bids() {
        let old = RecentBids::default().with_newer((0..5).map(record));
        let new = old.with_newer([record(5)]);
        assert_eq!(ids(&old), vec![4, 3, 2, 1, 0]);
        assert_eq!(ids(&new), vec![5, 4, 3, 2, 1, 0]);
        drop(old);
        assert_eq!(ids(&new), vec![5, 4, 3, 2, 1, 0]);
    }
}
