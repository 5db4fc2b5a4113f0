//! The catalogue's own values (API.md §8): categories, sales and the photographs of a lot.

use super::lot::{FieldError, Time};
use chrono::Duration;
use uuid::Uuid;

pub const MAX_CATEGORY_CHARS: usize = 60;
/// Photographs per lot (API.md §8).
pub const MAX_IMAGES: usize = 12;
/// A sale's lots may close at most a day apart, and the first close at most a year ahead.
pub const MAX_STAGGER_SECS: i64 = 86_400;
pub const MAX_SALE_AHEAD_DAYS: i64 = 365;

/// A lot's category as its JSON names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryRef {
    pub slug: String,
    pub name: String,
}

/// A category's name as an admin typed it, and the slug made from it once, for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryName(String);

impl CategoryName {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        let n = name.chars().count();
        if n == 0 || n > MAX_CATEGORY_CHARS || !super::text::is_clean_line(&name) {
            return Err(FieldError::new(
                "name",
                "invalid_name",
                "a category's name is 1 to 60 characters on one line",
            ));
        }
        if slug_of(&name).is_empty() {
            return Err(FieldError::new(
                "name",
                "invalid_name",
                "a category's name needs at least one letter or digit",
            ));
        }
        Ok(CategoryName(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Lowercase letters and digits joined by `-`: "Toys & Games" → `toys-games`. Letters
    /// outside ASCII are kept (lowercased), so "Möbel" stays readable as `möbel`.
    pub fn slug(&self) -> String {
        slug_of(&self.0)
    }
}

fn slug_of(name: &str) -> String {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join("-")
}

/// The sale a lot belongs to, as its JSON names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleRef {
    pub id: Uuid,
    pub title: String,
}

/// When a sale's lots open and close: all open at `starts_at`; lot k closes at
/// `first_close_at + (k − 1) × stagger`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaleTimes {
    pub starts_at: Time,
    pub first_close_at: Time,
    pub stagger_secs: i64,
}

impl SaleTimes {
    pub fn parse(
        starts_at: Time,
        first_close_at: Time,
        stagger_secs: i64,
        now: Time,
    ) -> Result<Self, FieldError> {
        if first_close_at <= starts_at {
            return Err(FieldError::new(
                "first_close_at",
                "invalid_first_close_at",
                "the first lot must close after the sale starts",
            ));
        }
        if starts_at <= now {
            return Err(FieldError::new(
                "starts_at",
                "invalid_starts_at",
                "a sale must start in the future",
            ));
        }
        if first_close_at > now + Duration::days(MAX_SALE_AHEAD_DAYS) {
            return Err(FieldError::new(
                "first_close_at",
                "invalid_first_close_at",
                "the first lot must close within a year",
            ));
        }
        if !(0..=MAX_STAGGER_SECS).contains(&stagger_secs) {
            return Err(FieldError::new(
                "stagger_secs",
                "invalid_stagger",
                "the stagger must be 0 to 86,400 seconds",
            ));
        }
        Ok(SaleTimes {
            starts_at,
            first_close_at,
            stagger_secs,
        })
    }

    /// When lot `number` (1, 2, …) of the sale closes, before any soft close.
    pub fn close_of(&self, number: i64) -> Time {
        self.first_close_at + Duration::seconds((number - 1).max(0) * self.stagger_secs)
    }
}

/// One photograph of a lot, re-encoded at a display size and a thumbnail size, each named by
/// the SHA-256 of its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub id: Uuid,
    pub hash: String,
    pub width: u32,
    pub height: u32,
    pub thumb_hash: String,
    pub thumb_width: u32,
    pub thumb_height: u32,
}

impl ImageRef {
    pub fn url(&self) -> String {
        image_url(&self.hash)
    }
    pub fn thumb_url(&self) -> String {
        image_url(&self.thumb_hash)
    }
}

/// Where an image's bytes are served: the address changes whenever the bytes do.
pub fn image_url(hash: &str) -> String {
    format!("/images/{hash}.jpg")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::testing::t;

    #[test]
    fn category_names_make_stable_slugs() {
        let n = CategoryName::parse("  Toys &  Games ").expect("valid");
        assert_eq!(n.as_str(), "Toys & Games");
        assert_eq!(n.slug(), "toys-games");
        assert_eq!(CategoryName::parse("Möbel").expect("valid").slug(), "möbel");
        assert!(CategoryName::parse("&&&").is_err());
        assert!(CategoryName::parse("").is_err());
        assert!(CategoryName::parse(&"x".repeat(61)).is_err());
    }

    #[test]
    fn lots_of_a_sale_close_a_stagger_apart() {
        let times = SaleTimes::parse(t(100), t(200), 60, t(0)).expect("valid");
        assert_eq!(times.close_of(1), t(200));
        assert_eq!(times.close_of(3), t(320));
        assert!(SaleTimes::parse(t(100), t(100), 60, t(0)).is_err());
        assert!(SaleTimes::parse(t(100), t(200), -1, t(0)).is_err());
        assert!(SaleTimes::parse(t(0), t(200), 60, t(10)).is_err());
    }
}
