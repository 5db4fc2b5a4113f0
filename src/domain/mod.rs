//! Pure rules: money, increments, users and the lot state machine. No I/O, no clock.

pub mod catalogue;
pub mod idempotency;
pub mod increment;
pub mod json;
pub mod lot;
pub mod money;
pub mod notice;
pub mod proxy;
#[cfg(test)]
pub(crate) mod testing;
pub mod text;
pub mod user;
pub mod visibility;

pub use lot::{
    AcceptedBid, BidRejected, BidRequest, Change, EventKind, Lot, LotStatus, NewLot, Placed,
    StoredLot, TakenRequest, Time,
};
pub use money::{Cents, Currency};
pub use user::{Password, Role, UserRef, Username};
