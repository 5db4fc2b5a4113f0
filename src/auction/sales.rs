//! Sales in the house: creating them, numbering the lots approved into them, and opening every
//! lot of a sale at its start, each to close at its own time (API.md §8).

use super::commands::{HouseError, NewSale, Reply};
use super::house::{House, Pending};
use super::plan::Batch;
use super::schedule::Due;
use crate::domain::catalogue::{SaleRef, SaleTimes};
use crate::domain::notice::Before;
use crate::domain::{Lot, Time};
use crate::store::sales::{StoredSale, write};
use uuid::Uuid;

/// What the house keeps of a sale until it opens.
pub(super) struct SaleState {
    pub(super) title: String,
    pub(super) times: SaleTimes,
    pub(super) lot_count: i64,
}

impl From<StoredSale> for SaleState {
    fn from(s: StoredSale) -> Self {
        SaleState {
            title: s.title,
            times: s.times,
            lot_count: s.lot_count,
        }
    }
}

impl House {
    pub(super) fn create_sale(
        &mut self,
        batch: &mut Batch,
        sale: NewSale,
        reply: Reply<()>,
    ) -> Pending {
        self.schedule
            .set(Due::OpenSale(sale.id), Some(sale.times.starts_at));
        self.sales.insert(
            sale.id,
            SaleState {
                title: sale.title.clone(),
                times: sale.times,
                lot_count: 0,
            },
        );
        batch.catalogue.new_sales.push(sale);
        Pending::Done(reply)
    }

    /// The sale a lot is approved into, and the lot's number there; refused once the sale has
    /// started, even if the house has not opened it yet.
    pub(super) async fn place_in_sale(
        &mut self,
        batch: &mut Batch,
        sale: Uuid,
        now: Time,
    ) -> Result<(SaleRef, i64), HouseError> {
        if let Some(state) = self.sales.get_mut(&sale) {
            if now >= state.times.starts_at {
                return Err(HouseError::SaleStarted);
            }
            state.lot_count += 1;
            batch.catalogue.sale_counts.insert(sale, state.lot_count);
            let at = SaleRef {
                id: sale,
                title: state.title.clone(),
            };
            return Ok((at, state.lot_count));
        }
        let conn = self.conn.as_mut().ok_or(HouseError::Store)?;
        match write::exists(conn, sale).await {
            Ok(true) => Err(HouseError::SaleStarted),
            Ok(false) => Err(HouseError::NoSuchSale),
            Err(e) => {
                tracing::error!(error = %e, "reading a sale failed");
                Err(HouseError::Store)
            }
        }
    }

    /// Undoes `place_in_sale` when the lot refused (it was not pending).
    pub(super) fn unplace(&mut self, batch: &mut Batch, sale: Uuid) {
        if let Some(state) = self.sales.get_mut(&sale) {
            state.lot_count -= 1;
            batch.catalogue.sale_counts.insert(sale, state.lot_count);
        }
    }

    /// Opens every lot of the sale, lot k to close at first close + (k − 1) × stagger. Called
    /// with every earlier batch written, so the lots scheduled into it are all in the database.
    pub(super) async fn open_sale(&mut self, batch: &mut Batch, sale: Uuid, now: Time) {
        let Some(state) = self.sales.get(&sale) else {
            self.schedule.set(Due::OpenSale(sale), None);
            return;
        };
        let times = state.times;
        let lots = match self.conn.as_mut() {
            Some(conn) => write::scheduled_lots(conn, sale).await,
            None => return,
        };
        let lots = match lots {
            Ok(lots) => lots,
            Err(e) => {
                tracing::error!(error = %e, "reading a sale's lots failed; trying again");
                let again = now + chrono::Duration::seconds(5);
                self.schedule.set(Due::OpenSale(sale), Some(again));
                return;
            }
        };
        self.schedule.set(Due::OpenSale(sale), None);
        self.sales.remove(&sale);
        batch.catalogue.opened_sales.push(sale);
        for lot_id in lots {
            let Ok(lot) = self.working(batch, lot_id).await else {
                continue;
            };
            let before = Before::of(lot);
            let Some(number) = lot.lot_number() else {
                continue;
            };
            if let Ok(changes) = lot.open_in_sale(times.close_of(number)) {
                self.record(batch, lot_id, &before, changes, now);
            }
        }
    }

    /// A category's new name, in every open lot filed under it.
    pub(super) fn rename_category(
        &mut self,
        batch: &mut Batch,
        slug: String,
        name: String,
        reply: Reply<()>,
    ) -> Pending {
        let ids: Vec<Uuid> = self
            .lots
            .values()
            .filter(|l| l.category().is_some_and(|c| c.slug == slug))
            .map(Lot::id)
            .collect();
        for id in ids {
            if let Some(lot) = self.lots.get(&id) {
                let lot = batch.work.entry(id).or_insert_with(|| lot.clone());
                lot.rename_category(&slug, &name);
                batch.dirty.insert(id);
            }
        }
        batch.catalogue.renames.push((slug, name));
        Pending::Done(reply)
    }
}
