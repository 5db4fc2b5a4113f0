//! Planning a batch: the events its changes become, and the one transaction that writes it.

use super::commands::NewSale;
use crate::domain::catalogue::ImageRef;
use crate::domain::json::EventJson;
use crate::domain::notice::{self, Before, Notice};
use crate::domain::{Change, Lot, LotStatus, TakenRequest, Time};
use crate::store::batch::{BatchWrite, PlannedBid};
use crate::store::events::StoredEvent;
use crate::store::notices::StoredNotice;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

use super::house::House;

/// What one batch will write.
#[derive(Default)]
pub(super) struct Batch {
    pub(super) work: HashMap<Uuid, Lot>,
    pub(super) new_lots: Vec<Uuid>,
    pub(super) dirty: HashSet<Uuid>,
    pub(super) bids: Vec<PlannedBid>,
    /// Each with the event id of the first bid it showed (none for a maximum raised alone).
    pub(super) requests: Vec<(Uuid, TakenRequest, Option<i64>)>,
    /// Lots whose history a removal rewrote, with the requests it took out.
    pub(super) removals: Vec<(Uuid, Vec<i64>)>,
    pub(super) replaced: HashSet<Uuid>,
    pub(super) notices: Vec<StoredNotice>,
    /// Bidders new to a lot, who now watch it: (user, lot, since).
    pub(super) watches: Vec<(Uuid, Uuid, Time)>,
    pub(super) events: Vec<StoredEvent>,
    /// A write of no consequence, to find out whether storage is back.
    pub(super) probe: bool,
    pub(super) catalogue: CatalogueWrites,
}

/// The catalogue's changes in a batch: sales, images and category names.
#[derive(Default)]
pub(super) struct CatalogueWrites {
    pub(super) new_sales: Vec<NewSale>,
    /// Each sale's lot count after the batch.
    pub(super) sale_counts: HashMap<Uuid, i64>,
    pub(super) opened_sales: Vec<Uuid>,
    pub(super) image_adds: Vec<(Uuid, ImageRef)>,
    /// (lot, image)
    pub(super) image_removals: Vec<(Uuid, Uuid)>,
    /// (slug, name)
    pub(super) renames: Vec<(String, String)>,
}

impl CatalogueWrites {
    pub(super) fn is_empty(&self) -> bool {
        self.new_sales.is_empty()
            && self.sale_counts.is_empty()
            && self.opened_sales.is_empty()
            && self.image_adds.is_empty()
            && self.image_removals.is_empty()
            && self.renames.is_empty()
    }
}

impl House {
    /// Turns a lot's changes into events with ids and seqs; returns the event ids.
    /// The notices the changes send (`before` is the lot as it was) are recorded after them.
    pub(super) fn record(
        &mut self,
        batch: &mut Batch,
        lot_id: Uuid,
        before: &Before,
        changes: Vec<Change>,
        now: Time,
    ) -> Vec<i64> {
        batch.dirty.insert(lot_id);
        let mut ids = Vec::with_capacity(changes.len());
        let Some(lot) = batch.work.get_mut(&lot_id) else {
            return ids;
        };
        let notices = notice::from_change(before, lot, &changes);
        // What follows the applied state, not the written one: the closing plan (an end moved
        // or a lot closed in the open batch must not fire at the old time while the batch
        // before it is still being written) and the minimum the handle refuses below.
        self.schedule.plan(lot, self.ending_soon);
        if lot.status() == LotStatus::Open {
            self.minimums.raise(lot_id, lot.min_next_bid());
        } else {
            self.minimums.forget(lot_id);
        }
        for change in changes {
            let id = self.next_event_id;
            self.next_event_id += 1;
            lot.record_event(id);
            let bid = match &change {
                Change::Bid(b) => {
                    batch.bids.push(PlannedBid {
                        lot_id,
                        bid: b.clone(),
                        event_id: id,
                        n: 0,
                    });
                    Some(b)
                }
                Change::BidRemoved { removed, bids, .. } => {
                    batch.bids.retain(|p| p.lot_id != lot_id);
                    batch.removals.push((lot_id, removed.clone()));
                    batch.replaced.insert(lot_id);
                    for (n, b) in bids.iter().enumerate() {
                        batch.bids.push(PlannedBid {
                            lot_id,
                            bid: b.clone(),
                            event_id: id,
                            n: n as i64,
                        });
                    }
                    None
                }
                _ => None,
            };
            let kind = change.kind();
            let data = EventJson::serialize_one(id, kind, now, lot, bid);
            batch.events.push(StoredEvent {
                id,
                lot_id,
                seq: lot.last_seq(),
                kind: kind.as_str().to_owned(),
                at: now,
                data,
            });
            ids.push(id);
        }
        self.record_notices(batch, notices, now);
        ids
    }

    /// Gives each notice the next id and puts it in the batch.
    pub(super) fn record_notices(&mut self, batch: &mut Batch, notices: Vec<Notice>, now: Time) {
        for n in notices {
            let id = self.next_notice_id;
            self.next_notice_id += 1;
            batch.notices.push(StoredNotice {
                id,
                user_id: n.user,
                lot_id: n.lot_id,
                kind: n.kind.as_str(),
                at: now,
                data: n.to_json(id, now),
            });
        }
    }

    /// The batch as one transaction; `self.lots` still holds the state before it.
    pub(super) fn batch_write(&self, batch: &Batch) -> BatchWrite {
        let mut write = BatchWrite::default();
        let c = &batch.catalogue;
        for sale in &c.new_sales {
            write.insert_sale(sale, self.clock.now());
        }
        for (slug, name) in &c.renames {
            write.rename_category(slug, name);
        }
        for id in &batch.new_lots {
            if let Some(lot) = batch.work.get(id) {
                write.insert_lot(lot);
            }
        }
        let mut bid_only = Vec::with_capacity(batch.dirty.len());
        for id in &batch.dirty {
            let Some(lot) = batch.work.get(id) else {
                continue;
            };
            match self.lots.get(id) {
                Some(before) if only_bidding_changed(before, lot) => bid_only.push(lot),
                _ => write.update_lot(lot),
            }
        }
        write.update_bid_state(&bid_only);
        for (sale, count) in &c.sale_counts {
            write.sale_lot_count(*sale, *count);
        }
        for sale in &c.opened_sales {
            write.sale_opened(*sale);
        }
        for (lot, image) in &c.image_adds {
            write.add_image(*lot, image, self.clock.now());
        }
        for (lot, image) in &c.image_removals {
            write.remove_image(*lot, *image);
        }
        write.insert_requests(&batch.requests);
        for (lot_id, numbers) in &batch.removals {
            write.remove_requests(*lot_id, numbers);
        }
        write.insert_bids(&batch.bids);
        write.insert_events(&batch.events);
        write.insert_notices(&batch.notices);
        write.watch(&batch.watches);
        if batch.probe {
            write.probe();
        }
        write
    }
}

/// Whether a batch changed only what bids change (see `BatchWrite::update_bid_state`).
fn only_bidding_changed(before: &Lot, after: &Lot) -> bool {
    before.status() == after.status()
        && before.ends_at() == after.ends_at()
        && before.closed_at() == after.closed_at()
        && before.winner() == after.winner()
        && before.final_price() == after.final_price()
        && before.reject_reason() == after.reject_reason()
        && before.ending_soon_sent() == after.ending_soon_sent()
}
