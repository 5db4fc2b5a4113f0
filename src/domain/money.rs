//! Money is integer cents from the form field to the database: no floats anywhere.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The largest amount the site handles: 10^11 cents (one billion in currency units).
pub const MAX_CENTS: i64 = 100_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cents(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("enter an amount like 12.50")]
    Malformed,
    #[error("the amount must be more than zero")]
    NotPositive,
    #[error("the amount is too large")]
    TooLarge,
}

impl Cents {
    /// A positive amount within the site's range.
    pub fn new(cents: i64) -> Result<Self, MoneyError> {
        if cents <= 0 {
            Err(MoneyError::NotPositive)
        } else if cents > MAX_CENTS {
            Err(MoneyError::TooLarge)
        } else {
            Ok(Cents(cents))
        }
    }

    /// For values read back from our own database, which only ever stored valid amounts.
    pub const fn from_stored(cents: i64) -> Self {
        Cents(cents)
    }

    pub const fn get(self) -> i64 {
        self.0
    }

    /// Parses what a person types in a form: `12`, `12.5`, `12.50`, `1,234.50`, `€ 12.50`.
    pub fn parse_units(input: &str) -> Result<Self, MoneyError> {
        let cleaned: String = input
            .trim()
            .trim_start_matches(['€', '$', '£'])
            .chars()
            .filter(|c| *c != ',' && *c != ' ' && *c != '_')
            .collect();
        let (whole, frac) = match cleaned.split_once('.') {
            Some((w, f)) => (w, f),
            None => (cleaned.as_str(), ""),
        };
        if whole.is_empty() && frac.is_empty() {
            return Err(MoneyError::Malformed);
        }
        if !whole.chars().all(|c| c.is_ascii_digit())
            || !frac.chars().all(|c| c.is_ascii_digit())
            || frac.len() > 2
        {
            return Err(MoneyError::Malformed);
        }
        if whole.len() > 12 {
            return Err(MoneyError::TooLarge);
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| MoneyError::Malformed)?
        };
        let frac: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().map_err(|_| MoneyError::Malformed)? * 10,
            _ => frac.parse().map_err(|_| MoneyError::Malformed)?,
        };
        Cents::new(whole * 100 + frac)
    }

    /// `1234.50` style, for form fields (no symbol, no grouping).
    pub fn to_units_string(self) -> String {
        format!("{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_units_string())
    }
}

/// The site's one currency, used to show amounts to people. Shared, not copied: every refused
/// bid's message names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency {
    code: std::sync::Arc<str>,
}

impl Currency {
    pub fn new(code: &str) -> Self {
        Currency {
            code: code.trim().to_ascii_uppercase().into(),
        }
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    fn symbol(&self) -> Option<&'static str> {
        match &*self.code {
            "EUR" => Some("€"),
            "USD" => Some("$"),
            "GBP" => Some("£"),
            "JPY" => Some("¥"),
            _ => None,
        }
    }

    /// `€1,234.50`; currencies without a symbol read `CHF 1,234.50`.
    pub fn format(&self, amount: Cents) -> String {
        let mut out = String::with_capacity(24);
        self.write(amount, &mut out);
        out
    }

    /// The same, appended to `out`.
    pub fn write(&self, amount: Cents, out: &mut String) {
        use std::fmt::Write;
        let units = amount.get() / 100;
        let cents = amount.get() % 100;
        match self.symbol() {
            Some(sym) => out.push_str(sym),
            None => {
                out.push_str(&self.code);
                out.push(' ');
            }
        }
        let digits = units.to_string();
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(ch);
        }
        let _ = write!(out, ".{cents:02}");
    }
}

impl Default for Currency {
    fn default() -> Self {
        Currency::new("EUR")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_typed_amounts_exactly() {
        assert_eq!(Cents::parse_units("12.50").map(Cents::get), Ok(1250));
        assert_eq!(Cents::parse_units("12.5").map(Cents::get), Ok(1250));
        assert_eq!(Cents::parse_units("12").map(Cents::get), Ok(1200));
        assert_eq!(Cents::parse_units(" 1,234.05 ").map(Cents::get), Ok(123405));
        assert_eq!(Cents::parse_units("€9.99").map(Cents::get), Ok(999));
        assert_eq!(Cents::parse_units(".75").map(Cents::get), Ok(75));
        // 0.1 + 0.2 style float traps do not exist here.
        assert_eq!(Cents::parse_units("0.29").map(Cents::get), Ok(29));
    }

    #[test]
    fn rejects_bad_amounts() {
        assert_eq!(Cents::parse_units(""), Err(MoneyError::Malformed));
        assert_eq!(Cents::parse_units("."), Err(MoneyError::Malformed));
        assert_eq!(Cents::parse_units("1.234"), Err(MoneyError::Malformed));
        assert_eq!(Cents::parse_units("-5"), Err(MoneyError::Malformed));
        assert_eq!(Cents::parse_units("1e5"), Err(MoneyError::Malformed));
        assert_eq!(Cents::parse_units("0"), Err(MoneyError::NotPositive));
        assert_eq!(Cents::parse_units("0.00"), Err(MoneyError::NotPositive));
        assert_eq!(
            Cents::parse_units("9999999999999"),
            Err(MoneyError::TooLarge)
        );
        assert_eq!(
            Cents::parse_units("1000000000.01"),
            Err(MoneyError::TooLarge)
        );
        assert_eq!(Cents::new(0), Err(MoneyError::NotPositive));
        assert!(Cents::new(MAX_CENTS).is_ok());
    }

    #[test]
    fn formats_in_the_site_currency() {
        let eur = Currency::new("eur");
        assert_eq!(eur.format(Cents(5)), "€0.05");
        assert_eq!(eur.format(Cents(123_456_789)), "€1,234,567.89");
        assert_eq!(eur.format(Cents(100_000)), "€1,000.00");
        assert_eq!(Currency::new("CHF").format(Cents(1250)), "CHF 12.50");
        assert_eq!(Cents(1205).to_units_string(), "12.05");
    }
}
