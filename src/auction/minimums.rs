//! Each open lot's minimum next bid as the house's handle sees it: the house's applied state,
//! raised further by the bids the handle has let through and the house has not applied yet.
//!
//! A bid that could win *claims* the minimum at the handle: one compare-and-swap moves it past
//! the bid's amount before the bid goes to the house, so the other bids at that amount, which
//! arrive in the same instant on a hot lot, are refused at the handle as the house would refuse
//! them once the claimed bid is applied, without a trip to the house's task. The house then
//! sees one bid per price step instead of every bidder's copy of it, and the next step starts
//! as soon as the claim is made, not when the house gets round to the bid.
//!
//! Entries exist only for the lots the house holds open (it adds them when it loads or opens a
//! lot and removes them when it closes one), so a bid on a lot the house has closed is never
//! told "too low" here. A claimed bid the house refuses after all (a higher claim overtook it,
//! or the lot ended first) resets the entry to the house's own minimum: a claim may run ahead
//! of the house only while its bid is on the way.
//!
//! The minimum after a bid is the increment table's step above its amount; when proxy bidding
//! comes (API.md's `max_cents`), a bid's claim must instead take the minimum the competing
//! maximums leave, or claim nothing.

use crate::domain::Cents;
use crate::domain::increment::min_next_bid;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use uuid::Uuid;

#[derive(Clone, Default)]
pub(super) struct AppliedMinimums(Arc<RwLock<HashMap<Uuid, AtomicI64>>>);

/// What the handle makes of a bid on a lot it holds a minimum for.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Claim {
    /// The bid was below the minimum: refused, with the minimum.
    Below(Cents),
    /// The bid took the minimum past its amount and goes to the house.
    Claimed,
}

impl AppliedMinimums {
    /// The lot's minimum, if the house holds it open.
    #[cfg(test)]
    fn get(&self, lot: Uuid) -> Option<Cents> {
        let min = self.0.read().ok()?.get(&lot)?.load(Ordering::Acquire);
        Cents::new(min).ok()
    }

    /// The lot's minimum, if the bid is below it: refused without claiming anything.
    pub(super) fn below(&self, lot: Uuid, amount: Cents) -> Option<Cents> {
        let min = self.0.read().ok()?.get(&lot)?.load(Ordering::Acquire);
        (amount.get() < min).then_some(Cents::from_stored(min))
    }

    /// Refuses a bid below the lot's minimum, or moves the minimum to what it will be once the
    /// bid is applied. `None` when the house does not hold the lot open (the house decides).
    pub(super) fn claim(&self, lot: Uuid, amount: Cents) -> Option<Claim> {
        let map = self.0.read().ok()?;
        let entry = map.get(&lot)?;
        let after = min_next_bid(amount).get();
        let mut current = entry.load(Ordering::Acquire);
        loop {
            if amount.get() < current {
                return Some(Claim::Below(Cents::from_stored(current)));
            }
            match entry.compare_exchange_weak(current, after, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some(Claim::Claimed),
                Err(now) => current = now,
            }
        }
    }

    /// The house applied a change to the open lot: its minimum is at least this.
    pub(super) fn raise(&self, lot: Uuid, min: Cents) {
        if let Some(entry) = self.0.read().ok().as_ref().and_then(|m| m.get(&lot)) {
            entry.fetch_max(min.get(), Ordering::AcqRel);
            return;
        }
        if let Ok(mut map) = self.0.write() {
            map.entry(lot)
                .or_insert_with(|| AtomicI64::new(0))
                .fetch_max(min.get(), Ordering::AcqRel);
        }
    }

    /// The house refused a bid on the open lot: the minimum is the house's own again, dropping
    /// any claim that ran ahead of it (a bid still on its way after this one merely reaches the
    /// house, which decides it).
    pub(super) fn reset(&self, lot: Uuid, min: Cents) {
        if let Some(entry) = self.0.read().ok().as_ref().and_then(|m| m.get(&lot)) {
            entry.store(min.get(), Ordering::Release);
        }
    }

    /// The lot is no longer open (its minimum means nothing now).
    pub(super) fn forget(&self, lot: Uuid) {
        if let Ok(mut map) = self.0.write() {
            map.remove(&lot);
        }
    }

    /// The house reloads every lot (a batch failed to write): it adds the open ones again.
    pub(super) fn clear(&self) {
        if let Ok(mut map) = self.0.write() {
            map.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cents(c: i64) -> Cents {
        Cents::new(c).expect("cents")
    }

    #[test]
    fn a_minimum_only_grows_until_reset_or_forgotten() {
        let (minimums, lot) = (AppliedMinimums::default(), Uuid::now_v7());
        assert_eq!(minimums.get(lot), None);
        minimums.raise(lot, cents(1_100));
        minimums.raise(lot, cents(1_050));
        assert_eq!(minimums.get(lot), Some(cents(1_100)));
        minimums.raise(lot, cents(1_200));
        assert_eq!(minimums.get(lot), Some(cents(1_200)));
        minimums.reset(lot, cents(1_150));
        assert_eq!(minimums.get(lot), Some(cents(1_150)));
        minimums.forget(lot);
        assert_eq!(minimums.get(lot), None);
        minimums.reset(lot, cents(1_150));
        assert_eq!(minimums.get(lot), None, "a reset does not reopen a lot");
        minimums.raise(lot, cents(1_300));
        minimums.clear();
        assert_eq!(minimums.get(lot), None);
    }

    #[test]
    fn a_claim_moves_the_minimum_past_its_bid_and_refuses_the_rest() {
        let (minimums, lot) = (AppliedMinimums::default(), Uuid::now_v7());
        assert_eq!(minimums.claim(lot, cents(1_000)), None, "not held open");
        minimums.raise(lot, cents(1_000));
        assert_eq!(
            minimums.claim(lot, cents(999)),
            Some(Claim::Below(cents(1_000)))
        );
        assert_eq!(minimums.claim(lot, cents(1_000)), Some(Claim::Claimed));
        assert_eq!(
            minimums.get(lot),
            Some(cents(1_050)),
            "1,000 + the 0.50 step"
        );
        assert_eq!(
            minimums.claim(lot, cents(1_000)),
            Some(Claim::Below(cents(1_050)))
        );
        assert_eq!(minimums.claim(lot, cents(3_000)), Some(Claim::Claimed));
        assert_eq!(minimums.get(lot), Some(cents(3_100)));
        // The house applied the first and refused the second: its own minimum stands.
        minimums.reset(lot, cents(1_050));
        assert_eq!(minimums.claim(lot, cents(1_050)), Some(Claim::Claimed));
    }

    #[test]
    fn of_many_claims_at_one_amount_exactly_one_wins() {
        let (minimums, lot) = (AppliedMinimums::default(), Uuid::now_v7());
        minimums.raise(lot, cents(1_000));
        let claims: Vec<Claim> = std::thread::scope(|s| {
            let tries: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        (0..1_000)
                            .filter_map(|_| minimums.claim(lot, cents(1_000)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            tries
                .into_iter()
                .flat_map(|t| t.join().unwrap_or_default())
                .collect()
        });
        assert_eq!(claims.len(), 8_000);
        let won = claims.iter().filter(|c| **c == Claim::Claimed).count();
        assert_eq!(won, 1, "one bid per price step reaches the house");
        let told = Claim::Below(cents(1_050));
        assert!(claims.iter().all(|c| *c == Claim::Claimed || *c == told));
    }
}
