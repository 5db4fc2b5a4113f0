//! Idempotency keys (API.md §3a): a client's name for one request, so its retry is not a
//! second bid.

use super::Cents;
use super::lot::FieldError;
use uuid::Uuid;

/// 1–255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let ok = (1..=255).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(IdempotencyKey(raw.to_owned()))
        } else {
            Err(FieldError::new(
                "idempotency_key",
                "invalid_idempotency_key",
                "an idempotency key is 1 to 255 visible ASCII characters",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What makes two bids "the same request": the lot and the amounts.
pub fn bid_fingerprint(lot: Uuid, amount: Option<Cents>, max: Option<Cents>) -> String {
    let max = max.map_or(0, Cents::get);
    // 0 for a maximum sent alone: no amount is 0.
    let amount = amount.map_or(0, Cents::get);
    format!("bid {lot} {amount} {max}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_up_to_255() {
        assert!(IdempotencyKey::parse("b6f1-retry_1").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        for bad in ["", " key", "ke y", "clé", "k\t", &"k".repeat(256)] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
    }
}
