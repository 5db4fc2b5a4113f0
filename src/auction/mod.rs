//! The auction house: the single writer of lots, bids and events, and the clock that closes lots.

mod commands;
mod durable;
mod health;
mod house;
mod keys;
mod minimums;
mod open_lots;
mod schedule;
mod stats;

pub use commands::{BidReceipt, HouseError};
pub use health::StorageHealth;
pub use house::{AuctionHouse, HouseConfig};
pub use open_lots::OpenLots;
pub use stats::HouseStats;
