//! The lot's state machine: approval, bidding with soft close, closing and the winner.
//! Pure: every rule takes `now` from the caller.

use super::catalogue::{CategoryRef, ImageRef, SaleRef};
use super::increment::min_next_bid;
use super::money::{Cents, MAX_CENTS, MAX_PRICE_CENTS, MoneyError};
use super::proxy::{Maxima, Request, resolve};
use super::user::UserRef;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use std::sync::Arc;
use uuid::Uuid;

pub type Time = DateTime<Utc>;

pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;
pub const MAX_DURATION_SECS: i64 = 2_592_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LotStatus {
    Pending,
    /// Approved into a sale that has not started (API.md §8).
    Scheduled,
    Open,
    Closed,
    Cancelled,
    Rejected,
}

impl LotStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LotStatus::Pending => "pending",
            LotStatus::Scheduled => "scheduled",
            LotStatus::Open => "open",
            LotStatus::Closed => "closed",
            LotStatus::Cancelled => "cancelled",
            LotStatus::Rejected => "rejected",
        }
    }

    /// Pending and rejected offers are private to their seller and the admins.
    pub fn is_public(self) -> bool {
        !matches!(self, LotStatus::Pending | LotStatus::Rejected)
    }
}

impl FromStr for LotStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "pending" => Ok(LotStatus::Pending),
            "scheduled" => Ok(LotStatus::Scheduled),
            "open" => Ok(LotStatus::Open),
            "closed" => Ok(LotStatus::Closed),
            "cancelled" => Ok(LotStatus::Cancelled),
            "rejected" => Ok(LotStatus::Rejected),
            _ => Err(()),
        }
    }
}

/// A seller's offer, checked field by field: `NewLot::parse` is the only way to make one.
#[derive(Debug, Clone)]
pub struct NewLot {
    title: String,
    description: String,
    starting_price: Cents,
    reserve: Option<Cents>,
    duration_secs: i64,
    category: Option<CategoryRef>,
}

/// Which field of an offer is wrong, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    pub(crate) fn new(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        FieldError {
            field,
            code,
            message: message.into(),
        }
    }
}

/// The highest bid whose next minimum is still a biddable amount.
pub fn highest_biddable() -> Cents {
    // Above 5,000.00 the increment is a constant 100.00.
    Cents::from_stored(
        MAX_CENTS - super::increment::increment_for(Cents::from_stored(MAX_CENTS)).get(),
    )
}

/// Starting prices and reserves stop at 10^11 cents; bids go higher (API.md §3a).
fn within_price_range(c: Cents) -> Result<Cents, MoneyError> {
    if c.get() > MAX_PRICE_CENTS {
        Err(MoneyError::TooLarge)
    } else {
        Ok(c)
    }
}

impl NewLot {
    pub fn title(&self) -> &str {
        &self.title
    }

    pub fn starting_price(&self) -> Cents {
        self.starting_price
    }

    /// The offer filed under a category (one the caller found in the catalogue).
    pub fn in_category(self, category: Option<CategoryRef>) -> Self {
        NewLot { category, ..self }
    }

    pub fn parse(
        title: &str,
        description: &str,
        starting_price: Result<Cents, MoneyError>,
        reserve: Option<Result<Cents, MoneyError>>,
        duration_secs: i64,
    ) -> Result<Self, FieldError> {
        let title = title.trim();
        let n = title.chars().count();
        if n == 0 || n > MAX_TITLE_CHARS {
            return Err(FieldError::new(
                "title",
                "invalid_title",
                "the title must be 1 to 200 characters",
            ));
        }
        if !super::text::is_clean_line(title) {
            return Err(FieldError::new(
                "title",
                "invalid_title",
                "the title may not hold control or text-direction characters",
            ));
        }
        if !super::text::is_clean_lines(description) {
            return Err(FieldError::new(
                "description",
                "invalid_description",
                "the description may not hold control or text-direction characters",
            ));
        }
        if description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(FieldError::new(
                "description",
                "invalid_description",
                "the description may be at most 10,000 characters",
            ));
        }
        let starting_price = starting_price.and_then(within_price_range).map_err(|e| {
            FieldError::new(
                "starting_price_cents",
                "invalid_starting_price",
                format!("starting price: {e}"),
            )
        })?;
        let reserve = reserve.map(|r| r.and_then(within_price_range));
        let reserve = reserve.transpose().map_err(|e| {
            FieldError::new("reserve_cents", "invalid_reserve", format!("reserve: {e}"))
        })?;
        if !(1..=MAX_DURATION_SECS).contains(&duration_secs) {
            return Err(FieldError::new(
                "duration_secs",
                "invalid_duration",
                "the duration must be 1 second to 30 days",
            ));
        }
        Ok(NewLot {
            title: title.to_owned(),
            description: description.trim().to_owned(),
            starting_price,
            reserve,
            duration_secs,
            category: None,
        })
    }
}

/// A lot: its fields change only through its own rules (approve, bid, close, …), and one read
/// back from storage is checked by `Lot::restore`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lot {
    id: Uuid,
    seller: UserRef,
    title: String,
    description: String,
    status: LotStatus,
    starting_price: Cents,
    reserve: Option<Cents>,
    duration_secs: i64,
    created_at: Time,
    ends_at: Option<Time>,
    closed_at: Option<Time>,
    current_price: Option<Cents>,
    leader: Option<UserRef>,
    /// The leader's hidden maximum for proxy bidding; never shown to others.
    leader_max: Option<Cents>,
    /// Every bidder's maximum (API.md §6); each is shown to its own bidder only.
    maxima: Maxima,
    /// How many bid requests the lot has taken: the next one is numbered one more.
    requests_taken: i64,
    bid_count: i64,
    winner: Option<UserRef>,
    final_price: Option<Cents>,
    reject_reason: Option<String>,
    /// The lot's latest event's per-lot sequence number and site-wide id.
    last_seq: i64,
    last_event_id: i64,
    /// Its ending-soon notices went out (once per lot, API.md §7).
    ending_soon_sent: bool,
    category: Option<CategoryRef>,
    /// The sale it is in, and its number there (1, 2, … in approval order).
    sale: Option<(SaleRef, i64)>,
    /// Its photographs in order, the first its cover; shared by the lot's copies.
    images: Arc<[ImageRef]>,
}

/// Read access: every field, none writable from outside the lot's rules.
impl Lot {
    pub fn id(&self) -> Uuid {
        self.id
    }
    pub fn seller(&self) -> &UserRef {
        &self.seller
    }
    pub fn title(&self) -> &str {
        &self.title
    }
    pub fn description(&self) -> &str {
        &self.description
    }
    pub fn status(&self) -> LotStatus {
        self.status
    }
    pub fn starting_price(&self) -> Cents {
        self.starting_price
    }
    pub fn reserve(&self) -> Option<Cents> {
        self.reserve
    }
    pub fn duration_secs(&self) -> i64 {
        self.duration_secs
    }
    pub fn created_at(&self) -> Time {
        self.created_at
    }
    pub fn ends_at(&self) -> Option<Time> {
        self.ends_at
    }
    pub fn closed_at(&self) -> Option<Time> {
        self.closed_at
    }
    pub fn current_price(&self) -> Option<Cents> {
        self.current_price
    }
    pub fn leader(&self) -> Option<&UserRef> {
        self.leader.as_ref()
    }
    pub fn leader_max(&self) -> Option<Cents> {
        self.leader_max
    }
    pub fn maxima(&self) -> &Maxima {
        &self.maxima
    }
    pub fn requests_taken(&self) -> i64 {
        self.requests_taken
    }
    pub fn bid_count(&self) -> i64 {
        self.bid_count
    }
    pub fn winner(&self) -> Option<&UserRef> {
        self.winner.as_ref()
    }
    pub fn final_price(&self) -> Option<Cents> {
        self.final_price
    }
    pub fn reject_reason(&self) -> Option<&String> {
        self.reject_reason.as_ref()
    }
    pub fn last_seq(&self) -> i64 {
        self.last_seq
    }
    pub fn last_event_id(&self) -> i64 {
        self.last_event_id
    }
    pub fn ending_soon_sent(&self) -> bool {
        self.ending_soon_sent
    }
    pub fn category(&self) -> Option<&CategoryRef> {
        self.category.as_ref()
    }
    pub fn sale(&self) -> Option<&SaleRef> {
        self.sale.as_ref().map(|(s, _)| s)
    }
    pub fn lot_number(&self) -> Option<i64> {
        self.sale.as_ref().map(|(_, n)| *n)
    }
    pub fn images(&self) -> &[ImageRef] {
        &self.images
    }
}

/// A lot as storage holds it: `Lot::restore` checks it before it becomes a `Lot`.
#[derive(Debug, Clone)]
pub struct StoredLot {
    pub id: Uuid,
    pub seller: UserRef,
    pub title: String,
    pub description: String,
    pub status: LotStatus,
    pub starting_price: Cents,
    pub reserve: Option<Cents>,
    pub duration_secs: i64,
    pub created_at: Time,
    pub ends_at: Option<Time>,
    pub closed_at: Option<Time>,
    pub current_price: Option<Cents>,
    pub leader: Option<UserRef>,
    pub leader_max: Option<Cents>,
    pub bid_count: i64,
    pub winner: Option<UserRef>,
    pub final_price: Option<Cents>,
    pub reject_reason: Option<String>,
    pub last_seq: i64,
    pub last_event_id: i64,
    pub ending_soon_sent: bool,
    pub category: Option<CategoryRef>,
    pub sale: Option<(SaleRef, i64)>,
    pub images: Vec<ImageRef>,
}

impl Lot {
    /// A lot read back from storage, if it is one the rules could have made; its bidders'
    /// maxima come after (`restore_requests`).
    pub fn restore(s: StoredLot) -> Result<Lot, String> {
        let fail = |why: &str| Err(format!("lot {}: {why}", s.id));
        if s.current_price.is_some() != s.leader.is_some() {
            return fail("a price needs a leader and a leader a price");
        }
        if s.current_price.is_some_and(|p| p < s.starting_price) {
            return fail("the price is below the starting price");
        }
        match s.status {
            LotStatus::Pending | LotStatus::Rejected if s.current_price.is_some() => {
                return fail("an offer that never opened has bids");
            }
            LotStatus::Open if s.ends_at.is_none() => return fail("an open lot has no end"),
            LotStatus::Scheduled if s.sale.is_none() => return fail("a scheduled lot has no sale"),
            LotStatus::Scheduled if s.current_price.is_some() => {
                return fail("a lot that never opened has bids");
            }
            status if status != LotStatus::Closed && s.winner.is_some() => {
                return fail("only a closed lot has a winner");
            }
            _ => {}
        }
        if s.winner.is_some() != s.final_price.is_some() {
            return fail("a winner needs a final price");
        }
        Ok(Lot {
            id: s.id,
            seller: s.seller,
            title: s.title,
            description: s.description,
            status: s.status,
            starting_price: s.starting_price,
            reserve: s.reserve,
            duration_secs: s.duration_secs,
            created_at: s.created_at,
            ends_at: s.ends_at,
            closed_at: s.closed_at,
            current_price: s.current_price,
            leader: s.leader,
            bid_count: s.bid_count,
            winner: s.winner,
            final_price: s.final_price,
            reject_reason: s.reject_reason,
            last_seq: s.last_seq,
            last_event_id: s.last_event_id,
            ending_soon_sent: s.ending_soon_sent,
            leader_max: s.leader_max,
            maxima: Maxima::default(),
            requests_taken: 0,
            category: s.category,
            sale: s.sale,
            images: s.images.into(),
        })
    }

    /// Gives the lot's next event its id; returns its per-lot `seq` (1, 2, 3… with no gaps).
    pub fn record_event(&mut self, id: i64) -> i64 {
        self.last_seq += 1;
        self.last_event_id = id;
        self.last_seq
    }

    /// Its ending-soon notices are being sent: never again for this lot.
    pub fn mark_ending_soon_sent(&mut self) {
        self.ending_soon_sent = true;
    }
}

/// What a bidder asks for: an amount, with a maximum or not, or (the leader only) a higher
/// maximum alone.
#[derive(Debug, Clone)]
pub struct BidRequest {
    pub bidder: UserRef,
    pub amount: Option<Cents>,
    pub max: Option<Cents>,
}

/// A request the lot took, as stored: a removal replays the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TakenRequest {
    /// 1, 2, … on the lot, in the order taken.
    pub number: i64,
    pub bidder: UserRef,
    pub amount: Option<Cents>,
    /// The request's maximum: its amount when it sent none.
    pub max: Cents,
    pub at: Time,
}

/// A bid the lot shows (API.md §6 rule 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedBid {
    pub id: Uuid,
    pub bidder: UserRef,
    pub amount: Cents,
    /// The bidder's maximum when it was shown; never shown to others.
    pub max: Option<Cents>,
    pub placed_at: Time,
    /// Placed by the site for the bidder, not at an amount they sent.
    pub proxy: bool,
    /// The request that holds this bid: the requester's own, or the one that set the
    /// maximum the site bid from.
    pub request_no: i64,
}

/// An accepted request: what to store, and the changes it made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub request: TakenRequest,
    pub changes: Vec<Change>,
}

impl Placed {
    /// The requester's own bid among those shown, if any.
    pub fn own_bid(&self) -> Option<&AcceptedBid> {
        self.changes.iter().find_map(|c| match c {
            Change::Bid(b) if b.bidder.id == self.request.bidder.id => Some(b),
            _ => None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Opened,
    Bid,
    Extended,
    Closed,
    Cancelled,
    BidRemoved,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Opened => "opened",
            EventKind::Bid => "bid",
            EventKind::Extended => "extended",
            EventKind::Closed => "closed",
            EventKind::Cancelled => "cancelled",
            EventKind::BidRemoved => "bid_removed",
        }
    }
}

/// One change to a lot, in the order it happened; each becomes an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Opened,
    Bid(AcceptedBid),
    Extended {
        ends_at: Time,
    },
    Closed,
    Cancelled,
    /// An admin took a request out (with any request the replay no longer takes, `removed`):
    /// the bids shown now, replayed from the rest, oldest first.
    BidRemoved {
        removed: Vec<i64>,
        bids: Vec<AcceptedBid>,
        /// The bidder whose request was taken out, and the amount of the bid the admin removed.
        bidder: Option<UserRef>,
        amount: Cents,
    },
}

impl Change {
    pub fn kind(&self) -> EventKind {
        match self {
            Change::Opened => EventKind::Opened,
            Change::Bid(_) => EventKind::Bid,
            Change::Extended { .. } => EventKind::Extended,
            Change::Closed => EventKind::Closed,
            Change::Cancelled => EventKind::Cancelled,
            Change::BidRemoved { .. } => EventKind::BidRemoved,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BidRejected {
    #[error("this lot is not open for bidding")]
    LotNotOpen,
    #[error("the auction has ended")]
    AuctionEnded,
    #[error("you cannot bid on your own lot")]
    OwnLot,
    #[error("the bid is too low: at least {min_next} is needed")]
    TooLow { min_next: Cents },
    #[error("the maximum must be at least the bid")]
    MaxBelowAmount,
    #[error("only the leading bidder may raise their maximum alone: send an amount too")]
    MaxAloneNotLeading,
    #[error("the new maximum must be above your maximum of {current}")]
    MaxNotRaised { current: Cents },
    /// The bid would leave a next minimum nobody could bid (API.md §3a).
    #[error("the amount is too large: the highest bid this site takes is {max_bid}")]
    AmountTooLarge { max_bid: Cents },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("only a pending offer can be approved or rejected")]
    NotPending,
    #[error("only an open lot can be closed or cancelled")]
    NotOpen,
    #[error("no such bid on this lot")]
    NoSuchBid,
    #[error("only a lot waiting for its sale can be opened by it")]
    NotScheduled,
}

impl Lot {
    pub fn new_pending(id: Uuid, seller: UserRef, new: NewLot, now: Time) -> Lot {
        Lot {
            id,
            seller,
            title: new.title,
            description: new.description,
            status: LotStatus::Pending,
            starting_price: new.starting_price,
            reserve: new.reserve,
            duration_secs: new.duration_secs,
            created_at: now,
            ends_at: None,
            closed_at: None,
            current_price: None,
            leader: None,
            leader_max: None,
            maxima: Maxima::default(),
            requests_taken: 0,
            bid_count: 0,
            winner: None,
            final_price: None,
            reject_reason: None,
            last_seq: 0,
            last_event_id: 0,
            ending_soon_sent: false,
            category: new.category,
            sale: None,
            images: Arc::from(Vec::new()),
        }
    }

    /// The least amount the next bid may be.
    pub fn min_next_bid(&self) -> Cents {
        match self.current_price {
            None => self.starting_price,
            Some(price) => min_next_bid(price),
        }
    }

    /// `None` when the lot has no reserve.
    pub fn reserve_met(&self) -> Option<bool> {
        self.reserve
            .map(|reserve| self.current_price.is_some_and(|p| p >= reserve))
    }

    /// Open and at or past its end: the clock must close it now.
    pub fn is_due(&self, now: Time) -> bool {
        self.status == LotStatus::Open && self.ends_at.is_some_and(|end| now >= end)
    }

    pub fn approve(&mut self, now: Time) -> Result<Vec<Change>, StateError> {
        if self.status != LotStatus::Pending {
            return Err(StateError::NotPending);
        }
        self.status = LotStatus::Open;
        self.ends_at = Some(now + Duration::seconds(self.duration_secs));
        Ok(vec![Change::Opened])
    }

    pub fn reject(&mut self, reason: &str) -> Result<Vec<Change>, StateError> {
        if self.status != LotStatus::Pending {
            return Err(StateError::NotPending);
        }
        self.status = LotStatus::Rejected;
        self.reject_reason = Some(reason.trim().to_owned());
        Ok(vec![])
    }

    /// Closes now: the leader wins if the reserve (if any) is met.
    pub fn close(&mut self, now: Time) -> Result<Vec<Change>, StateError> {
        if self.status != LotStatus::Open {
            return Err(StateError::NotOpen);
        }
        self.status = LotStatus::Closed;
        self.closed_at = Some(now);
        if self.reserve_met() != Some(false) {
            self.winner = self.leader.clone();
            self.final_price = self.winner.as_ref().and(self.current_price);
        }
        Ok(vec![Change::Closed])
    }

    pub fn cancel(&mut self, now: Time) -> Result<Vec<Change>, StateError> {
        if self.status != LotStatus::Open {
            return Err(StateError::NotOpen);
        }
        self.status = LotStatus::Cancelled;
        self.closed_at = Some(now);
        Ok(vec![Change::Cancelled])
    }

    /// Whether the lot takes this bid now: every reason to refuse it, in the order they are
    /// told; the lot's end when none applies.
    pub fn check_bid(&self, request: &BidRequest, now: Time) -> Result<Time, BidRejected> {
        match self.status {
            LotStatus::Open => {}
            LotStatus::Closed => return Err(BidRejected::AuctionEnded),
            _ => return Err(BidRejected::LotNotOpen),
        }
        let Some(ends_at) = self.ends_at else {
            return Err(BidRejected::LotNotOpen);
        };
        if now >= ends_at {
            return Err(BidRejected::AuctionEnded);
        }
        self.check_terms(request)?;
        Ok(ends_at)
    }

    /// The checks of a request that do not depend on the time: a replay makes them again.
    fn check_terms(&self, request: &BidRequest) -> Result<(), BidRejected> {
        if request.bidder.id == self.seller.id {
            return Err(BidRejected::OwnLot);
        }
        let max_bid = highest_biddable();
        match request.amount {
            Some(amount) => {
                if request.max.is_some_and(|max| max < amount) {
                    return Err(BidRejected::MaxBelowAmount);
                }
                let min_next = self.min_next_bid();
                if amount < min_next {
                    return Err(BidRejected::TooLow { min_next });
                }
                if amount > max_bid || request.max.is_some_and(|m| m > max_bid) {
                    return Err(BidRejected::AmountTooLarge { max_bid });
                }
            }
            None => {
                let leads = self
                    .leader
                    .as_ref()
                    .is_some_and(|l| l.id == request.bidder.id);
                let current = self.maxima.of(request.bidder.id).map(|m| m.cents);
                let (true, Some(current)) = (leads, current) else {
                    return Err(BidRejected::MaxAloneNotLeading);
                };
                let Some(max) = request.max.filter(|m| *m > current) else {
                    return Err(BidRejected::MaxNotRaised { current });
                };
                if max > max_bid {
                    return Err(BidRejected::AmountTooLarge { max_bid });
                }
            }
        }
        Ok(())
    }

    /// The maxima and request count of a lot read back from storage: `requests` are its live
    /// requests in order, `taken` the highest number it ever gave one.
    pub fn restore_requests(&mut self, requests: &[TakenRequest], taken: i64) {
        self.maxima = Maxima::default();
        for r in requests {
            self.maxima.raise(&r.bidder, r.max, r.number);
        }
        self.requests_taken = taken;
    }

    /// The viewer's own live maximum on this lot, shown to them alone.
    pub fn max_of(&self, viewer: Uuid) -> Option<Cents> {
        if self.status != LotStatus::Open {
            return None;
        }
        self.maxima.of(viewer).map(|m| m.cents)
    }

    /// Accepts or refuses one request (API.md §6). When it shows a bid in the last
    /// `soft_close` before the end, the end moves to `now + soft_close`, once.
    pub fn place_bid(
        &mut self,
        new_id: &mut dyn FnMut() -> Uuid,
        request: BidRequest,
        now: Time,
        soft_close: Duration,
    ) -> Result<Placed, BidRejected> {
        let ends_at = self.check_bid(&request, now)?;
        self.requests_taken += 1;
        let taken = TakenRequest {
            number: self.requests_taken,
            max: request
                .max
                .or(request.amount)
                .unwrap_or(Cents::from_stored(1)),
            bidder: request.bidder,
            amount: request.amount,
            at: now,
        };
        let mut changes: Vec<Change> = self
            .take(&taken, new_id)
            .into_iter()
            .map(Change::Bid)
            .collect();
        if !changes.is_empty() && soft_close > Duration::zero() && ends_at - now < soft_close {
            let new_end = now + soft_close;
            self.ends_at = Some(new_end);
            changes.push(Change::Extended { ends_at: new_end });
        }
        Ok(Placed {
            request: taken,
            changes,
        })
    }

    /// Applies a checked request to the bidding state; the bids it shows, in order.
    fn take(
        &mut self,
        request: &TakenRequest,
        new_id: &mut dyn FnMut() -> Uuid,
    ) -> Vec<AcceptedBid> {
        let Some(resolution) = resolve(
            &mut self.maxima,
            self.current_price,
            self.leader.as_ref(),
            self.reserve,
            Request {
                bidder: &request.bidder,
                amount: request.amount,
                max: request.max,
                number: request.number,
            },
        ) else {
            return Vec::new();
        };
        self.current_price = Some(resolution.price);
        self.leader = Some(resolution.leader);
        self.leader_max = Some(resolution.leader_max);
        self.bid_count += resolution.shown.len() as i64;
        resolution
            .shown
            .into_iter()
            .map(|shown| {
                let own = shown.bidder.id == request.bidder.id;
                let maximum = self.maxima.of(shown.bidder.id);
                AcceptedBid {
                    id: new_id(),
                    max: maximum.map(|m| m.cents),
                    request_no: match (own, maximum) {
                        (false, Some(m)) => m.since,
                        _ => request.number,
                    },
                    bidder: shown.bidder,
                    amount: shown.amount,
                    placed_at: request.at,
                    proxy: shown.proxy,
                }
            })
            .collect()
    }

    /// The bidding state a fresh lot reaches from these requests, in their order; the bids
    /// shown, oldest first, and the numbers of the requests that no longer hold (left out).
    /// The end stays.
    pub fn replay(
        &mut self,
        requests: &[TakenRequest],
        new_id: &mut dyn FnMut() -> Uuid,
    ) -> (Vec<AcceptedBid>, Vec<i64>) {
        self.current_price = None;
        self.leader = None;
        self.leader_max = None;
        self.maxima = Maxima::default();
        self.bid_count = 0;
        let (mut shown, mut dropped) = (Vec::new(), Vec::new());
        for r in requests {
            let ask = BidRequest {
                bidder: r.bidder.clone(),
                amount: r.amount,
                max: Some(r.max),
            };
            if self.check_terms(&ask).is_ok() {
                shown.extend(self.take(r, new_id));
            } else {
                dropped.push(r.number);
            }
        }
        (shown, dropped)
    }

    /// Takes one request out of an open lot (an admin's removal, API.md §3a): the rest are
    /// replayed. `requests` are the lot's live requests in order.
    pub fn remove_request(
        &mut self,
        request_no: i64,
        amount: Cents,
        requests: &[TakenRequest],
        new_id: &mut dyn FnMut() -> Uuid,
    ) -> Result<Vec<Change>, StateError> {
        if self.status != LotStatus::Open {
            return Err(StateError::NotOpen);
        }
        let Some(gone) = requests.iter().find(|r| r.number == request_no) else {
            return Err(StateError::NoSuchBid);
        };
        let bidder = Some(gone.bidder.clone());
        let rest: Vec<TakenRequest> = requests
            .iter()
            .filter(|r| r.number != request_no)
            .cloned()
            .collect();
        let (bids, dropped) = self.replay(&rest, new_id);
        let mut removed = vec![request_no];
        removed.extend(dropped);
        Ok(vec![Change::BidRemoved {
            removed,
            bids,
            bidder,
            amount,
        }])
    }
}

mod catalogue;
pub use catalogue::ImageRefused;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::testing::{cents, t, user};

    fn open_lot(start: i64, reserve: Option<i64>, duration: i64) -> Lot {
        let new = NewLot::parse(
            "Lamp",
            "",
            Cents::new(start),
            reserve.map(Cents::new),
            duration,
        )
        .expect("valid offer");
        let mut lot = Lot::new_pending(Uuid::now_v7(), user("sally"), new, t(0));
        lot.approve(t(0)).expect("pending lot approves");
        lot
    }

    fn bid(lot: &mut Lot, who: &UserRef, amount: i64, at: i64) -> Result<Vec<Change>, BidRejected> {
        let req = BidRequest {
            bidder: who.clone(),
            amount: Some(cents(amount)),
            max: None,
        };
        lot.place_bid(&mut Uuid::now_v7, req, t(at), Duration::seconds(120))
            .map(|p| p.changes)
    }

    #[test]
    fn approval_sets_the_end_and_opens() {
        let lot = open_lot(1000, None, 3600);
        assert_eq!(lot.status, LotStatus::Open);
        assert_eq!(lot.ends_at, Some(t(3600)));
        let mut again = lot.clone();
        assert_eq!(again.approve(t(5)), Err(StateError::NotPending));
    }

    #[test]
    fn first_bid_must_reach_the_starting_price() {
        let mut lot = open_lot(1000, None, 3600);
        let bob = user("bob");
        assert_eq!(
            bid(&mut lot, &bob, 999, 10),
            Err(BidRejected::TooLow {
                min_next: cents(1000)
            })
        );
        assert!(bid(&mut lot, &bob, 1000, 10).is_ok());
        assert_eq!(lot.current_price, Some(cents(1000)));
        // Next must add the increment (0.50 at 10.00).
        assert_eq!(
            bid(&mut lot, &bob, 1049, 11),
            Err(BidRejected::TooLow {
                min_next: cents(1050)
            })
        );
        assert!(
            bid(&mut lot, &bob, 1050, 12).is_ok(),
            "the leader may bid again"
        );
        assert_eq!(lot.bid_count, 2);
    }

    /// A bid of the largest starting price (10^11 cents) once froze a lot: its next minimum
    /// was out of the accepted range. Now the minimum never leaves it, and only at the very
    /// ceiling (10^13) is a bid refused, with its own reason.
    #[test]
    fn the_advertised_minimum_stays_in_the_accepted_range() {
        let mut lot = open_lot(MAX_PRICE_CENTS, None, 3600);
        let (bob, eve) = (user("bob"), user("eve"));
        assert!(bid(&mut lot, &bob, MAX_PRICE_CENTS, 1).is_ok());
        let min = lot.min_next_bid().get();
        assert!(
            bid(&mut lot, &eve, min, 2).is_ok(),
            "the minimum is biddable"
        );
        let top = highest_biddable().get();
        assert!(bid(&mut lot, &bob, top, 3).is_ok());
        assert_eq!(lot.min_next_bid().get(), MAX_CENTS);
        assert_eq!(
            bid(&mut lot, &eve, MAX_CENTS, 4),
            Err(BidRejected::AmountTooLarge {
                max_bid: cents(top)
            })
        );
        assert!(
            NewLot::parse("Lamp", "", Cents::new(MAX_PRICE_CENTS + 1), None, 60).is_err(),
            "starting prices stop at 10^11"
        );
    }

    #[test]
    fn a_seller_cannot_bid_on_their_own_lot() {
        let mut lot = open_lot(1000, None, 3600);
        let seller = lot.seller.clone();
        assert_eq!(bid(&mut lot, &seller, 5000, 10), Err(BidRejected::OwnLot));
    }

    #[test]
    fn no_bids_unless_open_and_before_the_end() {
        let new = NewLot::parse("Lamp", "", Cents::new(100), None, 60).expect("valid");
        let mut pending = Lot::new_pending(Uuid::now_v7(), user("s"), new, t(0));
        let bob = user("bob");
        assert_eq!(
            bid(&mut pending, &bob, 100, 1),
            Err(BidRejected::LotNotOpen)
        );
        let mut lot = open_lot(100, None, 60);
        assert_eq!(bid(&mut lot, &bob, 100, 60), Err(BidRejected::AuctionEnded));
        assert!(bid(&mut lot, &bob, 100, 59).is_ok());
    }

    #[test]
    fn closes_exactly_at_ends_at() {
        let lot = open_lot(100, None, 60);
        assert!(!lot.is_due(t(59)));
        assert!(lot.is_due(t(60)));
        assert!(lot.is_due(t(61)));
    }

    #[test]
    fn soft_close_extends_late_bids_only() {
        let mut lot = open_lot(100, None, 600);
        let bob = user("bob");
        let early = bid(&mut lot, &bob, 100, 100).expect("accepted");
        assert_eq!(early.len(), 1);
        assert_eq!(lot.ends_at, Some(t(600)));
        // Exactly 120 s before the end is not "within" the window.
        let edge = bid(&mut lot, &bob, 125, 480).expect("accepted");
        assert_eq!(edge.len(), 1);
        let late = bid(&mut lot, &bob, 150, 590).expect("accepted");
        assert_eq!(late[1], Change::Extended { ends_at: t(710) });
        assert_eq!(lot.ends_at, Some(t(710)));
        // Now 650 is before the new end, so a bid is still accepted.
        assert!(bid(&mut lot, &bob, 175, 650).is_ok());
        assert_eq!(lot.ends_at, Some(t(770)));
    }

    #[test]
    fn soft_close_off_never_extends() {
        let mut lot = open_lot(100, None, 600);
        let req = BidRequest {
            bidder: user("bob"),
            amount: Some(cents(100)),
            max: None,
        };
        let changes = lot
            .place_bid(&mut Uuid::now_v7, req, t(599), Duration::zero())
            .expect("accepted")
            .changes;
        assert_eq!(changes.len(), 1);
        assert_eq!(lot.ends_at, Some(t(600)));
    }

    #[test]
    fn highest_bid_wins_when_reserve_is_met() {
        let mut lot = open_lot(100, Some(500), 600);
        let (bob, amy) = (user("bob"), user("amy"));
        bid(&mut lot, &bob, 100, 1).expect("ok");
        assert_eq!(lot.reserve_met(), Some(false));
        bid(&mut lot, &amy, 500, 2).expect("ok");
        assert_eq!(lot.reserve_met(), Some(true));
        lot.close(t(600)).expect("closes");
        assert_eq!(lot.winner, Some(amy));
        assert_eq!(lot.final_price, Some(cents(500)));
        assert_eq!(lot.closed_at, Some(t(600)));
    }

    #[test]
    fn reserve_not_met_closes_without_winner() {
        let mut lot = open_lot(100, Some(10_000), 600);
        bid(&mut lot, &user("bob"), 2000, 1).expect("ok");
        lot.close(t(600)).expect("closes");
        assert_eq!(lot.status, LotStatus::Closed);
        assert_eq!(lot.winner, None);
        assert_eq!(lot.final_price, None);
    }

    #[test]
    fn no_reserve_and_no_bids() {
        let mut lot = open_lot(100, None, 600);
        assert_eq!(lot.reserve_met(), None);
        lot.close(t(600)).expect("closes");
        assert_eq!(lot.winner, None);
        let mut with_bid = open_lot(100, None, 600);
        let bob = user("bob");
        bid(&mut with_bid, &bob, 100, 1).expect("ok");
        with_bid.close(t(600)).expect("closes");
        assert_eq!(with_bid.winner, Some(bob));
    }

    #[test]
    fn closing_happens_once() {
        let mut lot = open_lot(100, None, 600);
        assert!(lot.close(t(600)).is_ok());
        assert_eq!(lot.close(t(601)), Err(StateError::NotOpen));
        assert_eq!(lot.cancel(t(601)), Err(StateError::NotOpen));
        assert_eq!(
            bid(&mut lot, &user("late"), 10_000, 601),
            Err(BidRejected::AuctionEnded)
        );
    }

    #[test]
    fn cancel_has_no_winner() {
        let mut lot = open_lot(100, None, 600);
        bid(&mut lot, &user("bob"), 100, 1).expect("ok");
        lot.cancel(t(5)).expect("cancels");
        assert_eq!(lot.status, LotStatus::Cancelled);
        assert_eq!(lot.winner, None);
    }

    #[test]
    fn offers_are_checked() {
        let ok = |t: &str, d: i64| NewLot::parse(t, "", Cents::new(100), None, d);
        assert!(ok("", 60).is_err());
        assert!(ok(&"x".repeat(201), 60).is_err());
        assert!(ok(&"x".repeat(200), 60).is_ok());
        assert!(ok("Lamp", 0).is_err());
        assert!(ok("Lamp", MAX_DURATION_SECS + 1).is_err());
        let bad_price = NewLot::parse("Lamp", "", Cents::new(0), None, 60);
        assert_eq!(
            bad_price.err().map(|e| e.code),
            Some("invalid_starting_price")
        );
        let long = "d".repeat(10_001);
        assert!(NewLot::parse("Lamp", &long, Cents::new(1), None, 60).is_err());
    }

    #[test]
    fn a_stored_lot_is_checked_before_it_becomes_a_lot() {
        let mut lot = open_lot(1000, None, 3600);
        bid(&mut lot, &user("bob"), 1000, 1).expect("ok");
        let stored = StoredLot {
            id: lot.id,
            seller: lot.seller.clone(),
            title: lot.title.clone(),
            description: lot.description.clone(),
            status: lot.status,
            starting_price: lot.starting_price,
            reserve: lot.reserve,
            duration_secs: lot.duration_secs,
            created_at: lot.created_at,
            ends_at: lot.ends_at,
            closed_at: lot.closed_at,
            current_price: lot.current_price,
            leader: lot.leader.clone(),
            leader_max: lot.leader_max,
            bid_count: lot.bid_count,
            winner: None,
            final_price: None,
            reject_reason: None,
            last_seq: lot.last_seq,
            last_event_id: lot.last_event_id,
            ending_soon_sent: false,
            category: None,
            sale: None,
            images: vec![],
        };
        let back = Lot::restore(stored.clone()).expect("a lot the rules made");
        assert_eq!(back.current_price(), Some(cents(1000)));
        let broken = [
            StoredLot {
                leader: None,
                ..stored.clone()
            },
            StoredLot {
                current_price: Some(cents(999)),
                ..stored.clone()
            },
            StoredLot {
                ends_at: None,
                ..stored.clone()
            },
            StoredLot {
                winner: Some(user("bob")),
                ..stored.clone()
            },
            StoredLot {
                status: LotStatus::Pending,
                ..stored
            },
        ];
        for s in broken {
            assert!(Lot::restore(s.clone()).is_err(), "{s:?}");
        }
    }
}
