//! The open lots as the house last committed them: pages and lists read these instead of the
//! database. Updated by the house after each commit and before its events are published, so a
//! page that reads the hub's cursor first and then this view never misses a change.

use crate::domain::{Lot, LotStatus};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use uuid::Uuid;

#[derive(Clone, Default)]
pub struct OpenLots(Arc<RwLock<HashMap<Uuid, Arc<Lot>>>>);

impl OpenLots {
    pub fn get(&self, id: Uuid) -> Option<Arc<Lot>> {
        self.0.read().ok()?.get(&id).cloned()
    }

    /// Ending soonest first, as the database list orders them.
    pub fn list(&self) -> Vec<Arc<Lot>> {
        let mut lots: Vec<Arc<Lot>> = self
            .0
            .read()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        lots.sort_by_key(|l| (l.ends_at, l.id));
        lots
    }

    pub(super) fn update(&self, lot: &Lot) {
        if let Ok(mut map) = self.0.write() {
            if lot.status == LotStatus::Open {
                map.insert(lot.id, Arc::new(lot.clone()));
            } else {
                map.remove(&lot.id);
            }
        }
    }

    pub(super) fn replace_all<'a>(&self, lots: impl Iterator<Item = &'a Lot>) {
        if let Ok(mut map) = self.0.write() {
            map.clear();
            for lot in lots.filter(|l| l.status == LotStatus::Open) {
                map.insert(lot.id, Arc::new(lot.clone()));
            }
        }
    }
}
