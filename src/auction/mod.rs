//! The auction house: the single writer of lots, bids and events, and the clock that closes lots.

mod apply;
mod commands;
mod durable;
mod handle;
mod health;
mod house;
mod keys;
mod minimums;
mod open_lots;
mod plan;
mod sales;
mod schedule;
mod stats;

pub use commands::{BidReceipt, HouseError, NewSale};
pub use handle::{AuctionHouse, HouseConfig};
pub use health::StorageHealth;
pub use open_lots::OpenLots;
pub use stats::HouseStats;
