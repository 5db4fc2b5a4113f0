//! Proxy (maximum) bidding, exactly as API.md §6: each bidder's maximum, the leader, the price
//! rule with the reserve jump, and the bids shown for one request. Pure.

use super::increment::increment_for;
use super::money::Cents;
use super::user::UserRef;

/// A bidder's standing maximum on a lot, and the request that first reached it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Maximum {
    pub bidder: UserRef,
    pub cents: Cents,
    /// The number of the request (1, 2, … on the lot) that set it: of equal maxima the
    /// lower number leads.
    pub since: i64,
}

/// Every bidder's maximum on one lot. Shared between copies of the lot (the house clones a lot
/// into each batch, each answer and the readers' view): a clone is a count, and a change copies
/// the list only when another copy still holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Maxima(std::sync::Arc<Vec<Maximum>>);

impl Maxima {
    pub fn of(&self, bidder: uuid::Uuid) -> Option<&Maximum> {
        self.0.iter().find(|m| m.bidder.id == bidder)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Maximum> {
        self.0.iter()
    }

    /// Rule 1: the larger of the old maximum and `cents`; its moment moves only if it grew.
    pub fn raise(&mut self, bidder: &UserRef, cents: Cents, request_no: i64) {
        match self.0.iter().position(|m| m.bidder.id == bidder.id) {
            Some(i) if cents > self.0[i].cents => {
                let m = &mut std::sync::Arc::make_mut(&mut self.0)[i];
                m.cents = cents;
                m.since = request_no;
            }
            Some(_) => {}
            None => std::sync::Arc::make_mut(&mut self.0).push(Maximum {
                bidder: bidder.clone(),
                cents,
                since: request_no,
            }),
        }
    }

    /// The highest maximum, the earliest of equals.
    pub fn leader(&self) -> Option<&Maximum> {
        self.0
            .iter()
            .min_by_key(|m| (std::cmp::Reverse(m.cents), m.since))
    }

    /// The highest maximum among everyone but the leader.
    fn runner_up(&self, leader: uuid::Uuid) -> Option<Cents> {
        self.0
            .iter()
            .filter(|m| m.bidder.id != leader)
            .map(|m| m.cents)
            .max()
    }
}

/// One bid a request shows, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub bidder: UserRef,
    pub amount: Cents,
    /// False only for the requester's own bid at exactly the amount they sent.
    pub proxy: bool,
}

/// What one request does to a lot's bidding (§6 rules 1–3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    pub price: Cents,
    pub leader: UserRef,
    pub leader_max: Cents,
    pub shown: Vec<Shown>,
}

/// One request, already checked (amount at least the minimum, maximum at least the amount, a
/// maximum alone only from the leader and above their maximum): `amount` is `None` for a
/// maximum raised alone, `max` the request's maximum (its amount when it sent none).
pub struct Request<'a> {
    pub bidder: &'a UserRef,
    pub amount: Option<Cents>,
    pub max: Cents,
    pub number: i64,
}

/// Applies §6 rules 1–3 to `maxima` and returns the new price, leader and the bids shown.
/// `None` only for a maximum alone on a lot with no price, which the checks refuse.
pub fn resolve(
    maxima: &mut Maxima,
    old_price: Option<Cents>,
    old_leader: Option<&UserRef>,
    reserve: Option<Cents>,
    request: Request<'_>,
) -> Option<Resolution> {
    let b = request.bidder;
    maxima.raise(b, request.max, request.number);
    let leader = maxima.leader()?.clone();
    let b_leads = leader.bidder.id == b.id;

    // Rule 2: the largest of the old price, A if b leads, and min(ML, R + inc(R)).
    let mut price = old_price;
    if b_leads && let Some(a) = request.amount {
        price = price.max(Some(a));
    }
    if request.amount.is_some()
        && let Some(r) = maxima.runner_up(leader.bidder.id)
    {
        let answer =
            Cents::from_stored(r.get().saturating_add(increment_for(r).get())).min(leader.cents);
        price = price.max(Some(answer));
    }
    let mut price = price?;
    if let Some(reserve) = reserve
        && leader.cents >= reserve
        && price < reserve
    {
        price = reserve;
    }

    // Rule 3: the bids shown.
    let own = |amount: Cents| Shown {
        bidder: b.clone(),
        amount,
        proxy: request.amount != Some(amount),
    };
    let for_leader = |amount: Cents| Shown {
        bidder: leader.bidder.clone(),
        amount,
        proxy: true,
    };
    let above_old = |amount: Cents| old_price.is_none_or(|old| amount > old);
    let mut shown = Vec::with_capacity(2);
    if !b_leads {
        let b_max = maxima.of(b.id).map_or(request.max, |m| m.cents);
        shown.push(own(b_max));
        shown.push(for_leader(price));
    } else {
        match old_leader.filter(|l0| l0.id != b.id) {
            Some(l0) => {
                if let Some(l0_max) = maxima.of(l0.id).map(|m| m.cents)
                    && above_old(l0_max)
                {
                    shown.push(Shown {
                        bidder: l0.clone(),
                        amount: l0_max,
                        proxy: true,
                    });
                }
                shown.push(own(price));
            }
            None if above_old(price) => shown.push(own(price)),
            None => {}
        }
    }
    Some(Resolution {
        price,
        leader_max: leader.cents,
        leader: leader.bidder,
        shown,
    })
}

#[cfg(test)]
mod tests;
