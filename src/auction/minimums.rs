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
    /// Runs `f` on the lot's minimum, if the house holds the lot open.
    fn with_entry<R>(&self, lot: Uuid, f: impl FnOnce(&AtomicI64) -> R) -> Option<R> {
        self.0.read().ok()?.get(&lot).map(f)
    }

    /// The lot's minimum, if the house holds it open.
    pub(super) fn get(&self, lot: Uuid) -> Option<Cents> {
        self.with_entry(lot, |e| Cents::from_stored(e.load(Ordering::Acquire)))
    }

    /// The lot's minimum, if the bid is below it: refused without claiming anything.
    pub(super) fn below(&self, lot: Uuid, amount: Cents) -> Option<Cents> {
        self.get(lot).filter(|&min| amount < min)
    }

    /// Refuses a bid below the lot's minimum, or moves the minimum to what it will be once the
    /// bid is applied. `None` when the house does not hold the lot open (the house decides).
    pub(super) fn claim(&self, lot: Uuid, amount: Cents) -> Option<Claim> {
        let after = min_next_bid(amount).get();
        self.with_entry(lot, |entry| {
            let mut current = entry.load(Ordering::Acquire);
            loop {
                if amount.get() < current {
                    return Claim::Below(Cents::from_stored(current));
                }
                match entry.compare_exchange_weak(
                    current,
                    after,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => return Claim::Claimed,
                    Err(now) => current = now,
                }
            }
        })
    }

    /// The house applied a change to the open lot: its minimum is at least this.
    pub(super) fn raise(&self, lot: Uuid, min: Cents) {
        let raised = |e: &AtomicI64| {
            e.fetch_max(min.get(), Ordering::AcqRel);
        };
        if self.with_entry(lot, raised).is_none()
            && let Ok(mut map) = self.0.write()
        {
            raised(map.entry(lot).or_insert_with(|| AtomicI64::new(0)));
        }
    }

    /// The house refused a bid on the open lot: the minimum is the house's own again, dropping
    /// any claim that ran ahead of it (a bid still on its way after this one merely reaches the
    /// house, which decides it).
    pub(super) fn reset(&self, lot: Uuid, min: Cents) {
        self.with_entry(lot, |e| e.store(min.get(), Ordering::Release));
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
