//! What the domain's tests share: a fixed moment, people and amounts.

use super::lot::Time;
use super::money::Cents;
use super::user::UserRef;
use chrono::{TimeZone, Utc};
use uuid::Uuid;

/// `secs` after a fixed moment.
pub fn t(secs: i64) -> Time {
    Utc.timestamp_opt(1_800_000_000 + secs, 0)
        .single()
        .unwrap_or_default()
}

pub fn user(name: &str) -> UserRef {
    UserRef {
        id: Uuid::now_v7(),
        username: name.into(),
    }
}

pub fn cents(c: i64) -> Cents {
    Cents::from_stored(c)
}
