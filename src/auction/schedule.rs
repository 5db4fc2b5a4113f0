//! When each open lot ends, soonest first.

use crate::domain::Time;
use std::collections::{BTreeSet, HashMap};
use uuid::Uuid;

#[derive(Default)]
pub struct Schedule {
    by_time: BTreeSet<(Time, Uuid)>,
    by_lot: HashMap<Uuid, Time>,
}

impl Schedule {
    /// Plans (or re-plans) a lot's end; `None` takes it off the plan.
    pub fn set(&mut self, lot: Uuid, ends_at: Option<Time>) {
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

    pub fn due(&self, now: Time) -> Vec<Uuid> {
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
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
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
