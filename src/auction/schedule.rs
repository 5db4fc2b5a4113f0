//! The house's time-driven work, soonest first: each open lot's end, the moment its
//! ending-soon notices go out, and each sale's start. One plan, so whatever fell due while the server was down is
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
    /// A sale's start: open its lots.
    OpenSale(Uuid),
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
        let open = lot.status() == LotStatus::Open;
        self.set(Due::Close(lot.id()), lot.ends_at().filter(|_| open));
        let notify = lot.ends_at().filter(|_| open && !lot.ending_soon_sent());
        // A lot shorter than the window is told halfway, not at once when nobody bids yet.
        let lead = ending_soon.min(chrono::Duration::seconds(lot.duration_secs() / 2));
        self.set(Due::EndingSoon(lot.id()), notify.map(|end| end - lead));
    }

    /// Plans (or re-plans) one piece of work; `None` takes it off the plan.
    pub fn set(&mut self, lot: Due, ends_at: Option<Time>) {
        // Most changes (a bid without an extension) leave the plan as it was.
        if self.by_lot.get(&lot).copied() == ends_at {
            return;
        }
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

    fn open_lot(minutes: i64, now: crate::domain::Time) -> Lot {
        let new = crate::domain::NewLot::parse(
            "Lamp",
            "",
            crate::domain::Cents::new(100),
            None,
            minutes * 60,
        )
        .expect("valid");
        let seller = crate::domain::UserRef {
            id: Uuid::now_v7(),
            username: "sam".into(),
        };
        let mut lot = Lot::new_pending(Uuid::now_v7(), seller, new, now);
        lot.approve(now).expect("opens");
        lot
    }

    #[test]
    fn ending_soon_is_planned_once_and_halfway_for_short_lots() {
        let now = Utc::now();
        let window = Duration::minutes(10);
        let mut s = Schedule::default();
        let long = open_lot(60, now);
        s.plan(&long, window);
        let due = |s: &Schedule, at: Duration| s.due(now + at);
        assert!(!due(&s, Duration::minutes(49)).contains(&Due::EndingSoon(long.id())));
        assert!(due(&s, Duration::minutes(50)).contains(&Due::EndingSoon(long.id())));

        let short = open_lot(6, now);
        s.plan(&short, window);
        assert!(!due(&s, Duration::seconds(179)).contains(&Due::EndingSoon(short.id())));
        assert!(due(&s, Duration::minutes(3)).contains(&Due::EndingSoon(short.id())));

        let mut sent = long.clone();
        sent.mark_ending_soon_sent();
        s.plan(&sent, window);
        assert!(!due(&s, Duration::minutes(59)).contains(&Due::EndingSoon(long.id())));
        assert!(due(&s, Duration::minutes(60)).contains(&Due::Close(long.id())));
    }
}
