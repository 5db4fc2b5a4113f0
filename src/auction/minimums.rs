//! Each open lot's minimum next bid as the house has applied it: ahead of the durable open-lots
//! view by the bids still being written and synced. The house's handle refuses a bid below it
//! without a trip to the house, as the house itself would (a refusal rests on the house's latest
//! state, see `house::refuse_now`): on a hot lot most bids are such, and each then costs the
//! house's task nothing and reaches its bidder sooner.

use crate::domain::Cents;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use uuid::Uuid;

#[derive(Clone, Default)]
pub(super) struct AppliedMinimums(Arc<RwLock<HashMap<Uuid, Arc<AtomicI64>>>>);

impl AppliedMinimums {
    /// The lot's applied minimum, if the house has applied a change to it since it last loaded.
    pub(super) fn get(&self, lot: Uuid) -> Option<Cents> {
        let min = self.0.read().ok()?.get(&lot)?.load(Ordering::Acquire);
        Cents::new(min).ok()
    }

    /// A change to the open lot was applied: the minimum only grows while it is open.
    pub(super) fn raise(&self, lot: Uuid, min: Cents) {
        if let Some(entry) = self.0.read().ok().and_then(|m| m.get(&lot).cloned()) {
            entry.fetch_max(min.get(), Ordering::AcqRel);
            return;
        }
        if let Ok(mut map) = self.0.write() {
            map.entry(lot)
                .or_default()
                .fetch_max(min.get(), Ordering::AcqRel);
        }
    }

    /// The lot is no longer open (its minimum means nothing now).
    pub(super) fn forget(&self, lot: Uuid) {
        if let Ok(mut map) = self.0.write() {
            map.remove(&lot);
        }
    }

    /// A batch failed to write: what it applied is undone, so are the minimums it raised.
    pub(super) fn clear(&self) {
        if let Ok(mut map) = self.0.write() {
            map.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimum_only_grows_until_forgotten() {
        let (minimums, lot) = (AppliedMinimums::default(), Uuid::now_v7());
        assert_eq!(minimums.get(lot), None);
        let cents = |c| Cents::new(c).expect("cents");
        minimums.raise(lot, cents(1_100));
        minimums.raise(lot, cents(1_050));
        assert_eq!(minimums.get(lot), Some(cents(1_100)));
        minimums.raise(lot, cents(1_200));
        assert_eq!(minimums.get(lot), Some(cents(1_200)));
        minimums.forget(lot);
        assert_eq!(minimums.get(lot), None);
        minimums.raise(lot, cents(1_300));
        minimums.clear();
        assert_eq!(minimums.get(lot), None);
    }
}
