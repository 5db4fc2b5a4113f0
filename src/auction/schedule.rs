//! The house's time-driven work, soonest first: each open lot's end, and the moment its
//! ending-soon notices go out. One plan, so whatever fell due while the server was down is
//! found, and done once, at start.

use crate::domain::{Lot, LotStatus, Time};
use std::collections::{BTreeSet, HashMap};
use uuid::Uuid;

/// What is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Due {
    /// A lot's end: close it.
    Close(Uuid),
    /// `GAVEL_ENDING_SOON_SECS` before a lot's end: tell its bidders and watchers.
    EndingSoon(Uuid),
}

#[derive(Default)]
pub struct Schedule {
    by_time: BTreeSet<(Time, Due)>,
    by_lot: HashMap<Due, Time>,
}

impl Schedule {
    /// Plans a lot's work as it now stands: its end while it is open, its ending-soon notices
    /// until they are sent.
    pub fn plan(&mut self, lot: &Lot, ending_soon: chrono::Duration) {
        let open = lot.status == LotStatus::Open;
        self.set(Due::Close(lot.id), lot.ends_at.filter(|_| open));
        let notify = lot.ends_at.filter(|_| open && !lot.ending_soon_sent);
        self.set(Due::EndingSoon(lot.id), notify.map(|end| end - ending_soon));
    }

    /// Plans (or re-plans) one piece of work; `None` takes it off the plan.
    pub fn set(&mut self, lot: Due, ends_at: Option<Time>) {
        if let Some(old) = self.by_lot.remove(&lot) {
            self.by_time.remove(&(old, lot));
        }
        if let Some(t) = ends_at {
            self.by_lot.insert(lot, t);
            self.by_time.insert((t, lot));
        }
    }

    pub fn next(&self) -> Option<Time> {
        self.by_time.first().map(|(t, _)| *t)
    }

    pub fn due(&self, now: Time) -> Vec<Due> {
        self.by_time
            .iter()
            .take_while(|(t, _)| *t <= now)
            .map(|(_, id)| *id)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};

    #[test]
    fn replanning_moves_a_lot() {
        let now = Utc::now();
        let (a, b) = (Due::Close(Uuid::now_v7()), Due::Close(Uuid::now_v7()));
        let mut s = Schedule::default();
        s.set(a, Some(now + Duration::seconds(10)));
        s.set(b, Some(now + Duration::seconds(20)));
        assert_eq!(s.next(), Some(now + Duration::seconds(10)));
        s.set(a, Some(now + Duration::seconds(30)));
        assert_eq!(s.next(), Some(now + Duration::seconds(20)));
        assert_eq!(s.due(now + Duration::seconds(25)), vec![b]);
        s.set(b, None);
        assert_eq!(s.due(now + Duration::seconds(100)), vec![a]);
    }
}
