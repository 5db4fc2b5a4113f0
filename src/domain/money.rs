//! Money is integer cents from the form field to the database: no floats anywhere.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The largest bid or maximum: 10^13 cents (API.md §3a).
pub const MAX_CENTS: i64 = 10_000_000_000_000;
/// The largest starting price or reserve: 10^11 cents (one billion in currency units).
pub const MAX_PRICE_CENTS: i64 = 100_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cents(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("enter an amount like 1234.50 or 1,234.50 (or 1.234,50)")]
    Malformed,
    #[error(
        "write the cents too (1,234.00 or 1.234,00) or leave out the separator (1234), so the amount is clear"
    )]
    Ambiguous,
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

    /// Parses what a person types (API.md §3a): digits with at most one decimal mark (`.` or
    /// `,` followed by one or two digits at the end); the other mark, or a space, may group
    /// thousands in threes. A leading currency symbol is allowed. Anything ambiguous, such as
    /// `1,234` or `1.234` with nothing after, is refused: an amount is never guessed.
    pub fn parse_units(input: &str) -> Result<Self, MoneyError> {
        let text = input.trim();
        let text = text
            .strip_prefix(['€', '$', '£'])
            .unwrap_or(text)
            .trim_start();
        if text.len() > 40 {
            return Err(MoneyError::TooLarge);
        }
        let (whole, frac, decimal) = split_decimal(text)?;
        let digits = ungroup(whole, decimal)?;
        if digits.is_empty() && frac.is_empty() {
            return Err(MoneyError::Malformed);
        }
        let digits = digits.trim_start_matches('0');
        if digits.len() > 13 {
            return Err(MoneyError::TooLarge);
        }
        let whole: i64 = if digits.is_empty() {
            0
        } else {
            digits.parse().map_err(|_| MoneyError::Malformed)?
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

/// Splits off a decimal part: the last `.` or `,` when one or two digits follow it to the end.
/// Returns the whole part, the fraction's digits and the mark (if any).
fn split_decimal(text: &str) -> Result<(&str, &str, Option<char>), MoneyError> {
    match text.rfind(['.', ',']) {
        Some(at) => {
            let frac = &text[at + 1..];
            let is_fraction =
                (1..=2).contains(&frac.len()) && frac.bytes().all(|b| b.is_ascii_digit());
            if is_fraction {
                Ok((&text[..at], frac, text[at..].chars().next()))
            } else if frac.len() == 3 && frac.bytes().all(|b| b.is_ascii_digit()) {
                // `1,234` or `1.234`: a thousands group or a decimal? Never guess.
                Err(MoneyError::Ambiguous)
            } else {
                Err(MoneyError::Malformed)
            }
        }
        None => Ok((text, "", None)),
    }
}

/// Spaces that people and locales put between thousands.
fn is_space_group(c: char) -> bool {
    matches!(c, ' ' | '\u{a0}' | '\u{202f}')
}

/// The whole part's ASCII digits, with one kind of thousands separator (not the decimal mark)
/// allowed between groups of three.
fn ungroup(whole: &str, decimal: Option<char>) -> Result<String, MoneyError> {
    let mut separator: Option<char> = None;
    let mut groups: Vec<&str> = Vec::new();
    let mut start = 0;
    for (at, c) in whole.char_indices() {
        if c.is_ascii_digit() {
            continue;
        }
        let allowed = is_space_group(c) || (matches!(c, '.' | ',') && Some(c) != decimal);
        let same = separator.is_none_or(|s| s == c);
        if !allowed || !same {
            return Err(MoneyError::Malformed);
        }
        // A dot or comma groups only when the other mark is the decimal one.
        if matches!(c, '.' | ',') && decimal.is_none() {
            return Err(MoneyError::Ambiguous);
        }
        separator = Some(c);
        groups.push(&whole[start..at]);
        start = at + c.len_utf8();
    }
    groups.push(&whole[start..]);
    if groups.len() > 1 {
        let first_ok = (1..=3).contains(&groups[0].len());
        if !first_ok || groups[1..].iter().any(|g| g.len() != 3) {
            return Err(MoneyError::Malformed);
        }
    }
    Ok(groups.concat())
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
        assert_eq!(Cents::parse_units("1.234"), Err(MoneyError::Ambiguous));
        assert_eq!(Cents::parse_units("-5"), Err(MoneyError::Malformed));
        assert_eq!(Cents::parse_units("1e5"), Err(MoneyError::Malformed));
        assert_eq!(Cents::parse_units("0"), Err(MoneyError::NotPositive));
        assert_eq!(Cents::parse_units("0.00"), Err(MoneyError::NotPositive));
        assert_eq!(
            Cents::parse_units("9999999999999"),
            Err(MoneyError::TooLarge)
        );
        assert_eq!(
            Cents::parse_units("100000000000.01"),
            Err(MoneyError::TooLarge)
        );
        assert_eq!(
            Cents::parse_units("100000000000").map(Cents::get),
            Ok(MAX_CENTS)
        );
        assert_eq!(Cents::new(0), Err(MoneyError::NotPositive));
        assert!(Cents::new(MAX_CENTS).is_ok());
    }

    /// API.md §3a, every separator style, and what must never be guessed.
    #[test]
    fn reads_every_separator_style_and_guesses_nothing() {
        let cents = |s: &str| Cents::parse_units(s).map(Cents::get);
        for (typed, want) in [
            ("12,50", 1250),
            ("12,5", 1250),
            ("1,234.50", 123450),
            ("1.234,50", 123450),
            ("1 234,50", 123450),
            ("1\u{a0}234,50", 123450),
            ("1 234", 123400),
            ("1,234,567.89", 123456789),
            ("1.234.567,89", 123456789),
            ("€ 12,50", 1250),
        ] {
            assert_eq!(cents(typed), Ok(want), "{typed}");
        }
        for typed in ["1,234", "1.234", "1,234,567", "1.234.567", "12.505"] {
            assert_eq!(cents(typed), Err(MoneyError::Ambiguous), "{typed}");
        }
        for typed in [
            "12,5,0",
            "1,2,3",
            "1e3",
            "١٢",
            "12.",
            "1,23,456.00",
            "1.234.50",
            "1,234,50",
            "1 2",
            "12,50 €x",
            "+5",
            "1_000",
            "12 .50",
            "0x10",
            "\u{202e}12",
        ] {
            assert_eq!(cents(typed), Err(MoneyError::Malformed), "{typed}");
        }
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        fn grouped(units: i64, sep: &str) -> String {
            let digits = units.to_string();
            let mut out = String::new();
            for (i, ch) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i).is_multiple_of(3) {
                    out.push_str(sep);
                }
                out.push(ch);
            }
            out
        }

        proptest! {
            /// Any amount written in any accepted style reads back as itself.
            #[test]
            fn every_style_round_trips(cents in 1i64..=MAX_CENTS, style in 0usize..6) {
                let (units, frac) = (cents / 100, cents % 100);
                let typed = match style {
                    0 => format!("{units}.{frac:02}"),
                    1 => format!("{units},{frac:02}"),
                    2 => format!("{}.{frac:02}", grouped(units, ",")),
                    3 => format!("{},{frac:02}", grouped(units, ".")),
                    4 => format!("{},{frac:02}", grouped(units, " ")),
                    _ => format!("€{}.{frac:02}", grouped(units, ",")),
                };
                prop_assert_eq!(Cents::parse_units(&typed), Ok(Cents(cents)));
            }

            /// Whatever is typed, the parser answers (never panics), and an accepted amount is
            /// in range.
            #[test]
            fn never_panics_and_stays_in_range(typed in "\\PC{0,24}") {
                if let Ok(c) = Cents::parse_units(&typed) {
                    prop_assert!((1..=MAX_CENTS).contains(&c.get()));
                }
            }

            /// A dot or a comma followed by exactly three digits at the end is never read.
            #[test]
            fn three_digits_after_one_mark_are_refused(
                whole in 1i64..1_000_000, three in 0u32..1000, mark in prop::sample::select(vec![',', '.'])
            ) {
                let typed = format!("{whole}{mark}{three:03}");
                prop_assert_eq!(Cents::parse_units(&typed), Err(MoneyError::Ambiguous));
            }
        }
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
