//! An event cursor as clients send it (`Last-Event-ID`, `?after=`): a non-negative event id in
//! plain ASCII digits. Anything else is refused, never read as zero or as "from the start".

/// At most this many digits: any id below 10^18 fits an `i64`.
const MAX_DIGITS: usize = 18;

pub fn parse_cursor(raw: &str) -> Option<i64> {
    let digits = raw.trim_matches(|c: char| c == ' ' || c == '\t');
    let ok = (1..=MAX_DIGITS).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    if ok { digits.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_id_reads_back_as_itself(n in 0i64..1_000_000_000_000_000_000, pad in "[ \t]{0,3}") {
            prop_assert_eq!(parse_cursor(&format!("{pad}{n}{pad}")), Some(n));
        }

        #[test]
        fn anything_with_a_non_digit_is_refused(
            head in "[0-9]{0,5}",
            bad in "[^0-9 \t]",
            tail in "[0-9]{0,5}",
        ) {
            prop_assert_eq!(parse_cursor(&format!("{head}{bad}{tail}")), None);
        }

        #[test]
        fn no_string_makes_it_panic(s in ".*") {
            let _ = parse_cursor(&s);
        }
    }

    #[test]
    fn signs_spaces_inside_and_huge_numbers_are_refused() {
        for bad in [
            "",
            " ",
            "+5",
            "-1",
            "1 2",
            "5e3",
            "0x10",
            "１２",
            "9999999999999999999",
        ] {
            assert_eq!(parse_cursor(bad), None, "{bad:?}");
        }
        assert_eq!(parse_cursor("007"), Some(7));
    }
}
