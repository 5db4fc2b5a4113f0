//! Every rule of API.md §6 through the lot's own `place_bid`, the example as written, a
//! property test against a small reference model, and removal as a replay.

use crate::domain::lot::{BidRejected, BidRequest, Change, Lot, NewLot, TakenRequest};
use crate::domain::{Cents, UserRef};
use chrono::Duration;
use proptest::prelude::*;
use uuid::Uuid;

use crate::domain::testing::{cents as c, t, user};

fn lot(start: i64, reserve: Option<i64>) -> Lot {
    let new = NewLot::parse(
        "Clock",
        "",
        Cents::new(start),
        reserve.map(Cents::new),
        3600,
    )
    .expect("valid offer");
    let mut lot = Lot::new_pending(Uuid::now_v7(), user("sally"), new, t(0));
    lot.approve(t(0)).expect("approves");
    lot
}

/// What a request showed: (bidder, cents, proxy) in order.
type Shown = Vec<(String, i64, bool)>;

fn send(
    lot: &mut Lot,
    who: &UserRef,
    amount: Option<i64>,
    max: Option<i64>,
    at: i64,
) -> Result<Shown, BidRejected> {
    let request = BidRequest {
        bidder: who.clone(),
        amount: amount.map(c),
        max: max.map(c),
    };
    let placed = lot.place_bid(&mut Uuid::now_v7, request, t(at), Duration::seconds(120))?;
    Ok(shown(&placed.changes))
}

fn shown(changes: &[Change]) -> Shown {
    changes
        .iter()
        .filter_map(|ch| match ch {
            Change::Bid(b) => Some((b.bidder.username.clone(), b.amount.get(), b.proxy)),
            _ => None,
        })
        .collect()
}

fn bids(list: &[(&str, i64, bool)]) -> Shown {
    list.iter()
        .map(|(w, a, p)| ((*w).to_owned(), *a, *p))
        .collect()
}

fn leader(lot: &Lot) -> Option<String> {
    lot.leader().as_ref().map(|l| l.username.clone())
}

#[test]
fn the_example_of_section_6() {
    let mut lot = lot(1000, None);
    let (ann, ben, cat) = (user("ann"), user("ben"), user("cat"));
    assert_eq!(
        send(&mut lot, &ann, Some(1000), Some(10_000), 1),
        Ok(bids(&[("ann", 1000, false)]))
    );
    assert_eq!(
        (lot.current_price(), leader(&lot)),
        (Some(c(1000)), Some("ann".into()))
    );
    assert_eq!(
        send(&mut lot, &ben, Some(5000), None, 2),
        Ok(bids(&[("ben", 5000, false), ("ann", 5100, true)]))
    );
    assert_eq!(
        (lot.current_price(), leader(&lot)),
        (Some(c(5100)), Some("ann".into()))
    );
    assert_eq!(
        send(&mut lot, &ben, Some(5200), Some(20_000), 3),
        Ok(bids(&[("ann", 10_000, true), ("ben", 10_250, true)]))
    );
    assert_eq!(
        (lot.current_price(), leader(&lot)),
        (Some(c(10_250)), Some("ben".into()))
    );
    assert_eq!(
        send(&mut lot, &cat, Some(10_500), Some(20_000), 4),
        Ok(bids(&[("cat", 20_000, true), ("ben", 20_000, true)]))
    );
    assert_eq!(
        (lot.current_price(), leader(&lot)),
        (Some(c(20_000)), Some("ben".into()))
    );
    assert_eq!(lot.bid_count(), 7, "bid_count counts the bids shown");
    assert_eq!(lot.max_of(ben.id), Some(c(20_000)));
    assert_eq!(lot.max_of(ann.id), Some(c(10_000)));
}

#[test]
fn a_maximum_below_the_amount_is_refused() {
    let mut lot = lot(1000, None);
    assert_eq!(
        send(&mut lot, &user("ann"), Some(2000), Some(1999), 1),
        Err(BidRejected::MaxBelowAmount)
    );
    assert_eq!(lot.requests_taken(), 0, "a refusal takes nothing");
}

#[test]
fn the_leader_raises_their_maximum_alone_without_moving_the_price() {
    let mut lot = lot(1000, None);
    let (ann, ben) = (user("ann"), user("ben"));
    send(&mut lot, &ann, Some(1000), Some(2000), 1).expect("taken");
    send(&mut lot, &ben, Some(1500), None, 2).expect("taken");
    assert_eq!(lot.current_price(), Some(c(1550)));
    let count = lot.bid_count();
    assert_eq!(send(&mut lot, &ann, None, Some(5000), 3), Ok(vec![]));
    assert_eq!(lot.current_price(), Some(c(1550)), "the price stays");
    assert_eq!(lot.bid_count(), count, "nothing is shown");
    assert_eq!(lot.max_of(ann.id), Some(c(5000)));
    // Not above the maximum, or not the leader: refused.
    assert_eq!(
        send(&mut lot, &ann, None, Some(5000), 4),
        Err(BidRejected::MaxNotRaised { current: c(5000) })
    );
    assert_eq!(
        send(&mut lot, &ben, None, Some(9000), 5),
        Err(BidRejected::MaxAloneNotLeading)
    );
    // Ben now needs more than 50.00 to lead.
    assert_eq!(
        send(&mut lot, &ben, Some(2000), Some(4000), 6),
        Ok(bids(&[("ben", 4000, true), ("ann", 4100, true)]))
    );
}

#[test]
fn a_raised_maximum_keeps_its_moment_only_if_it_did_not_grow() {
    let mut lot = lot(1000, None);
    let (ann, ben) = (user("ann"), user("ben"));
    send(&mut lot, &ann, Some(1000), Some(3000), 1).expect("taken");
    // Ben ties Ann's maximum: Ann reached it first and keeps the lead.
    assert_eq!(
        send(&mut lot, &ben, Some(1100), Some(3000), 2),
        Ok(bids(&[("ben", 3000, true), ("ann", 3000, true)]))
    );
    // Ann sends a lower maximum with a bid: her maximum and its moment stay.
    let since = lot.maxima().of(ann.id).map(|m| m.since);
    assert!(send(&mut lot, &ann, Some(3100), Some(3100), 3).is_ok());
    assert_eq!(leader(&lot), Some("ann".into()));
    assert_eq!(lot.maxima().of(ann.id).map(|m| m.since), Some(3));
    assert_ne!(since, Some(3));
}

#[test]
fn the_leader_bidding_again_shows_a_bid_only_above_the_price() {
    let mut lot = lot(1000, None);
    let ann = user("ann");
    send(&mut lot, &ann, Some(1000), Some(5000), 1).expect("taken");
    assert_eq!(
        send(&mut lot, &ann, Some(1200), None, 2),
        Ok(bids(&[("ann", 1200, false)]))
    );
    assert_eq!(lot.current_price(), Some(c(1200)));
    assert_eq!(lot.max_of(ann.id), Some(c(5000)), "the maximum stays");
}

#[test]
fn the_price_jumps_to_the_reserve_once_a_maximum_reaches_it() {
    let mut lot = lot(1000, Some(5000));
    let (ann, ben) = (user("ann"), user("ben"));
    assert_eq!(
        send(&mut lot, &ann, Some(1000), Some(4000), 1),
        Ok(bids(&[("ann", 1000, false)]))
    );
    assert_eq!(lot.reserve_met(), Some(false));
    assert_eq!(
        send(&mut lot, &ben, Some(1100), Some(6000), 2),
        Ok(bids(&[("ann", 4000, true), ("ben", 5000, true)]))
    );
    assert_eq!(lot.current_price(), Some(c(5000)));
    assert_eq!(lot.reserve_met(), Some(true));
    // The leader alone raising a maximum that reaches the reserve moves the price to it.
    let mut alone = self::lot(1000, Some(5000));
    send(&mut alone, &ann, Some(1000), Some(2000), 1).expect("taken");
    assert_eq!(
        send(&mut alone, &ann, None, Some(5000), 2),
        Ok(bids(&[("ann", 5000, true)]))
    );
}

#[test]
fn a_bidder_outbid_at_once_sees_their_bid_at_their_maximum() {
    let mut lot = lot(1000, None);
    let (ann, ben) = (user("ann"), user("ben"));
    send(&mut lot, &ann, Some(1000), Some(10_000), 1).expect("taken");
    assert_eq!(
        send(&mut lot, &ben, Some(2000), Some(3000), 2),
        Ok(bids(&[("ben", 3000, true), ("ann", 3100, true)]))
    );
    // The leader's answer never passes the leader's maximum.
    assert_eq!(
        send(&mut lot, &ben, Some(9950), None, 3),
        Ok(bids(&[("ben", 9950, false), ("ann", 10_000, true)]))
    );
}

#[test]
fn soft_close_moves_the_end_once_per_request() {
    let mut lot = lot(1000, None);
    let (ann, ben) = (user("ann"), user("ben"));
    send(&mut lot, &ann, Some(1000), Some(10_000), 1).expect("taken");
    let request = BidRequest {
        bidder: ben.clone(),
        amount: Some(c(2000)),
        max: None,
    };
    let placed = lot
        .place_bid(&mut Uuid::now_v7, request, t(3550), Duration::seconds(120))
        .expect("taken");
    let extended: Vec<_> = placed
        .changes
        .iter()
        .filter(|ch| matches!(ch, Change::Extended { .. }))
        .collect();
    assert_eq!(extended.len(), 1, "two bids shown, one extension");
    assert!(matches!(
        placed.changes.last(),
        Some(Change::Extended { .. })
    ));
    assert_eq!(lot.ends_at(), Some(t(3670)));
    // A maximum raised alone shows nothing and does not extend.
    let raise = BidRequest {
        bidder: ann.clone(),
        amount: None,
        max: Some(c(20_000)),
    };
    let placed = lot
        .place_bid(&mut Uuid::now_v7, raise, t(3660), Duration::seconds(120))
        .expect("taken");
    assert!(placed.changes.is_empty());
    assert_eq!(lot.ends_at(), Some(t(3670)));
}

#[test]
fn a_maximum_is_nobody_elses() {
    let mut lot = lot(1000, None);
    let (ann, ben) = (user("ann"), user("ben"));
    send(&mut lot, &ann, Some(1000), Some(9000), 1).expect("taken");
    assert_eq!(lot.max_of(ann.id), Some(c(9000)));
    assert_eq!(lot.max_of(ben.id), None);
    lot.close(t(3600)).expect("closes");
    assert_eq!(lot.max_of(ann.id), None, "shown only while live");
}

// ---- The reference model: the rules of §6 written out as plainly as possible. ----

#[derive(Clone, Debug, Default)]
struct Model {
    /// (bidder, maximum, the step it was reached)
    maxima: Vec<(usize, i64, usize)>,
    price: Option<i64>,
    leader: Option<usize>,
    step: usize,
}

fn inc(x: i64) -> i64 {
    match x {
        x if x < 100 => 5,
        x if x < 500 => 25,
        x if x < 2_500 => 50,
        x if x < 10_000 => 100,
        x if x < 25_000 => 250,
        x if x < 50_000 => 500,
        x if x < 100_000 => 1_000,
        x if x < 250_000 => 2_500,
        x if x < 500_000 => 5_000,
        _ => 10_000,
    }
}

impl Model {
    fn min_next(&self, start: i64) -> i64 {
        self.price.map_or(start, |p| p + inc(p))
    }

    fn max_of(&self, b: usize) -> Option<i64> {
        self.maxima.iter().find(|m| m.0 == b).map(|m| m.1)
    }

    /// None when the request must be refused; else the bids shown.
    fn request(
        &mut self,
        start: i64,
        reserve: Option<i64>,
        b: usize,
        a: Option<i64>,
        m: Option<i64>,
    ) -> Option<Vec<(usize, i64, bool)>> {
        match a {
            Some(a) if a < self.min_next(start) || m.is_some_and(|m| m < a) => return None,
            None if self.leader != Some(b) || m <= self.max_of(b) => return None,
            _ => {}
        }
        let m = m.or(a)?;
        self.step += 1;
        match self.maxima.iter_mut().find(|x| x.0 == b) {
            Some(x) if m > x.1 => *x = (b, m, self.step),
            Some(_) => {}
            None => self.maxima.push((b, m, self.step)),
        }
        let mut order = self.maxima.clone();
        order.sort_by(|x, y| y.1.cmp(&x.1).then(x.2.cmp(&y.2)));
        let (l, ml, _) = order[0];
        let r = order.get(1).map(|x| x.1);
        let mut candidates = vec![];
        candidates.extend(self.price);
        if l == b {
            candidates.extend(a);
        }
        if let (Some(r), Some(_)) = (r, a) {
            candidates.push(ml.min(r + inc(r)));
        }
        let mut p = *candidates.iter().max()?;
        if let Some(res) = reserve
            && ml >= res
            && p < res
        {
            p = res;
        }
        let own = |x: i64| (b, x, a != Some(x));
        let mut shown = vec![];
        if l != b {
            shown.push(own(self.max_of(b)?));
            shown.push((l, p, true));
        } else if let Some(l0) = self.leader.filter(|&l0| l0 != b) {
            let l0_max = self.max_of(l0)?;
            if self.price.is_none_or(|old| l0_max > old) {
                shown.push((l0, l0_max, true));
            }
            shown.push(own(p));
        } else if self.price.is_none_or(|old| p > old) {
            shown.push(own(p));
        }
        self.price = Some(p);
        self.leader = Some(l);
        Some(shown)
    }
}

#[derive(Clone, Debug)]
struct Step {
    bidder: usize,
    /// Steps above the minimum (None: a maximum alone).
    above_min: Option<i64>,
    /// The maximum sent, from a few round figures so that bidders often tie (raised to the
    /// amount when below it); None: no maximum.
    max: Option<i64>,
}

fn step() -> impl Strategy<Value = Step> {
    (
        0usize..3,
        prop_oneof![4 => (0i64..4).prop_map(Some), 1 => Just(None)],
        prop_oneof![1 => Just(None), 2 => (1i64..8).prop_map(|k| Some(k * 500))],
    )
        .prop_map(|(bidder, above_min, max)| Step {
            bidder,
            above_min,
            max,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn the_engine_agrees_with_the_reference_model(
        steps in proptest::collection::vec(step(), 1..40),
        reserve in prop_oneof![Just(None), (500i64..8_000).prop_map(Some)],
    ) {
        let start = 100;
        let mut lot = lot(start, reserve);
        let people: Vec<UserRef> = ["ann", "ben", "cat"].iter().map(|n| user(n)).collect();
        let mut model = Model::default();
        for (i, s) in steps.iter().enumerate() {
            let amount = s.above_min.map(|k| {
                let min = model.min_next(start);
                min + k * inc(min)
            });
            let max = match (s.max, amount) {
                (Some(m), Some(a)) => Some(m.max(a)),
                (m, None) => m,
                (None, Some(_)) => None,
            };
            let expected = model.request(start, reserve, s.bidder, amount, max);
            let got = send(&mut lot, &people[s.bidder], amount, max, i as i64 + 1);
            match (expected, got) {
                (None, Err(_)) => {}
                (Some(want), Ok(got)) => {
                    let want: Shown = want
                        .into_iter()
                        .map(|(b, x, p)| (people[b].username.clone(), x, p))
                        .collect();
                    prop_assert_eq!(got, want);
                }
                (e, g) => prop_assert!(false, "step {}: model {:?}, engine {:?}", i, e, g),
            }
            prop_assert_eq!(lot.current_price().map(|p| p.get()), model.price);
            prop_assert_eq!(
                lot.leader().as_ref().map(|l| l.username.clone()),
                model.leader.map(|l| people[l].username.clone())
            );
        }
    }

    /// Removing any request leaves exactly the state a fresh lot reaches from the others.
    #[test]
    fn a_removal_is_a_fresh_lot_fed_the_remaining_requests(
        steps in proptest::collection::vec(step(), 1..25),
        reserve in prop_oneof![Just(None), (500i64..8_000).prop_map(Some)],
        pick in any::<prop::sample::Index>(),
    ) {
        let start = 100;
        let mut lot = lot(start, reserve);
        let people: Vec<UserRef> = ["ann", "ben", "cat"].iter().map(|n| user(n)).collect();
        let mut taken: Vec<TakenRequest> = Vec::new();
        for (i, s) in steps.iter().enumerate() {
            let amount = s.above_min.map(|k| {
                let min = lot.min_next_bid().get();
                min + k * inc(min)
            });
            let max = match (s.max, amount) {
                (Some(m), Some(a)) => Some(m.max(a)),
                (m, None) => m,
                (None, Some(_)) => None,
            };
            let request = BidRequest { bidder: people[s.bidder].clone(), amount: amount.map(c), max: max.map(c) };
            if let Ok(placed) = lot.place_bid(&mut Uuid::now_v7, request, t(i as i64 + 1), Duration::zero()) {
                taken.push(placed.request);
            }
        }
        prop_assume!(!taken.is_empty());
        let gone = taken[pick.index(taken.len())].number;
        let mut removed = lot.clone();
        let changes = removed.remove_request(gone, c(1), &taken, &mut Uuid::now_v7).expect("open lot");
        let Some(Change::BidRemoved { bids: replayed, removed: out, .. }) = changes.first() else {
            return Err(TestCaseError::fail("no bid_removed change"));
        };
        prop_assert_eq!(out.first(), Some(&gone));

        let mut fresh = self::lot(start, reserve);
        let mut fresh_bids = Vec::new();
        for r in taken.iter().filter(|r| r.number != gone) {
            let request = BidRequest { bidder: r.bidder.clone(), amount: r.amount, max: Some(r.max) };
            if let Ok(placed) = fresh.place_bid(&mut Uuid::now_v7, request, r.at, Duration::zero()) {
                fresh_bids.extend(shown(&placed.changes));
            }
        }
        let replayed: Shown = replayed.iter().map(|b| (b.bidder.username.clone(), b.amount.get(), b.proxy)).collect();
        prop_assert_eq!(replayed, fresh_bids);
        prop_assert_eq!(removed.current_price(), fresh.current_price());
        prop_assert_eq!(&removed.leader(), &fresh.leader());
        prop_assert_eq!(removed.leader_max(), fresh.leader_max());
        prop_assert_eq!(removed.bid_count(), fresh.bid_count());
        for p in &people {
            prop_assert_eq!(removed.max_of(p.id), fresh.max_of(p.id));
        }
    }
}

#[test]
fn removing_the_winning_maximum_gives_the_price_back() {
    let mut lot = lot(1000, None);
    let (ann, ben) = (user("ann"), user("ben"));
    let mut taken = Vec::new();
    for (who, a, m) in [(&ann, 1000, Some(10_000)), (&ben, 5000, None)] {
        let request = BidRequest {
            bidder: who.clone(),
            amount: Some(c(a)),
            max: m.map(c),
        };
        let placed = lot
            .place_bid(&mut Uuid::now_v7, request, t(1), Duration::zero())
            .expect("taken");
        taken.push(placed.request);
    }
    assert_eq!(lot.current_price(), Some(c(5100)));
    let changes = lot
        .remove_request(1, c(5000), &taken, &mut Uuid::now_v7)
        .expect("removes");
    assert_eq!(lot.current_price(), Some(c(5000)));
    assert_eq!(leader(&lot), Some("ben".into()));
    assert_eq!(lot.bid_count(), 1);
    assert!(matches!(&changes[..], [Change::BidRemoved { bids, .. }] if bids.len() == 1));
    assert_eq!(
        lot.remove_request(7, c(1), &taken, &mut Uuid::now_v7),
        Err(crate::domain::lot::StateError::NoSuchBid)
    );
}
