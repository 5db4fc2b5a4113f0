//! The bid increment table of API.md §3.

use super::money::Cents;

/// (price below which the step applies, step), in cents; `_` marks the decimal point.
#[expect(clippy::inconsistent_digit_grouping, reason = "written as units_cents")]
const STEPS: [(i64, i64); 9] = [
    (1_00, 5),
    (5_00, 25),
    (25_00, 50),
    (100_00, 1_00),
    (250_00, 2_50),
    (500_00, 5_00),
    (1_000_00, 10_00),
    (2_500_00, 25_00),
    (5_000_00, 50_00),
];
#[expect(clippy::inconsistent_digit_grouping, reason = "written as units_cents")]
const TOP_STEP: i64 = 100_00;

pub fn increment_for(current: Cents) -> Cents {
    let step = STEPS
        .iter()
        .find(|(below, _)| current.get() < *below)
        .map_or(TOP_STEP, |(_, step)| *step);
    Cents::from_stored(step)
}

/// The least the next bid may be, given the current price.
pub fn min_next_bid(current: Cents) -> Cents {
    Cents::from_stored(current.get() + increment_for(current).get())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inc(c: i64) -> i64 {
        increment_for(Cents::from_stored(c)).get()
    }

    #[test]
    fn every_boundary_of_the_table() {
        let cases = [
            (1, 5),
            (99, 5),
            (100, 25),
            (499, 25),
            (500, 50),
            (2_499, 50),
            (2_500, 100),
            (9_999, 100),
            (10_000, 250),
            (24_999, 250),
            (25_000, 500),
            (49_999, 500),
            (50_000, 1_000),
            (99_999, 1_000),
            (100_000, 2_500),
            (249_999, 2_500),
            (250_000, 5_000),
            (499_999, 5_000),
            (500_000, 10_000),
            (10_000_000_000, 10_000),
        ];
        for (price, step) in cases {
            assert_eq!(inc(price), step, "increment at {price} cents");
        }
    }

    #[test]
    fn min_next_adds_the_step() {
        assert_eq!(min_next_bid(Cents::from_stored(1_000)).get(), 1_050);
        assert_eq!(min_next_bid(Cents::from_stored(99)).get(), 104);
    }
}
