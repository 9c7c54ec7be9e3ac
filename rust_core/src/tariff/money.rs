//! Decimal helpers: exact number parsing, VAT, rounding and the 4-decimal output format.
//!
//! Money and volumes never pass through binary floats: JSON numbers are read from their text.

use std::str::FromStr;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

/// Largest magnitude accepted for any price, volume or limit; keeps every sum far from overflow.
pub(crate) const MAX_MAGNITUDE: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

/// Seconds per hour, the unit change between CDR volumes (hours) and step sizes (seconds).
pub(crate) const SECONDS_PER_HOUR: Decimal = Decimal::from_parts(3600, 0, 0, false, 0);

/// Watt-hours per kilowatt-hour.
pub(crate) const WH_PER_KWH: Decimal = Decimal::from_parts(1000, 0, 0, false, 0);

/// Parses a JSON number exactly from its text. `Err` holds the problem, to be placed after the field name.
pub(crate) fn parse_number(text: &str) -> Result<Decimal, String> {
    let text = text.trim();
    let first = text.chars().next().unwrap_or(' ');
    if !(first == '-' || first.is_ascii_digit()) {
        return Err(format!("must be a number, not {}", preview(text)));
    }
    let value = Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .map_err(|_| format!("is out of range: {}", preview(text)))?;
    if value.abs() > MAX_MAGNITUDE {
        return Err(format!(
            "is out of range: {} (at most {MAX_MAGNITUDE} in magnitude)",
            preview(text)
        ));
    }
    Ok(value.normalize())
}

fn preview(text: &str) -> String {
    text.chars().take(40).collect()
}

/// `value * (1 + vat/100)`; no VAT given means no VAT applies (ambiguity 18: same numbers as 0 %).
pub(crate) fn with_vat(value: Decimal, vat: Option<Decimal>) -> Decimal {
    match vat {
        Some(vat) => value * (Decimal::ONE_HUNDRED + vat) / Decimal::ONE_HUNDRED,
        None => value,
    }
}

/// Rounds to 4 decimals, half away from zero, as every result is reported.
pub(crate) fn round4(value: Decimal) -> Decimal {
    let mut out = value.round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero);
    out.rescale(4);
    if out.is_zero() {
        out.set_sign_positive(true);
    }
    out
}

/// A decimal as text with exactly 4 decimals (`"1.2345"`); the reference the JSON writer is tested against.
#[cfg(test)]
pub(crate) fn fmt4(value: Decimal) -> String {
    round4(value).to_string()
}

/// A CDR volume in hours, snapped to whole seconds (half away from zero).
///
/// Reading "whole seconds": seconds are the step unit of every time dimension, and CDRs print hours with
/// few decimals (20 min = 0.3333 h); snapping undoes that print rounding instead of billing 1200.xx s.
pub(crate) fn hours_to_seconds(hours: Decimal) -> i64 {
    (hours * SECONDS_PER_HOUR)
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .to_i64()
        .unwrap_or(0)
}

/// Money excluding and including VAT, unrounded while pricing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Amount {
    /// Excluding VAT.
    pub(crate) excl: Decimal,
    /// Including VAT.
    pub(crate) incl: Decimal,
}

impl Amount {
    /// The amount of `value` excluding VAT, with the VAT of `vat` percent added for `incl`.
    pub(crate) fn of(value: Decimal, vat: Option<Decimal>) -> Self {
        Self {
            excl: value,
            incl: with_vat(value, vat),
        }
    }

    /// Adds another amount.
    pub(crate) fn add(self, other: Self) -> Self {
        Self {
            excl: self.excl + other.excl,
            incl: self.incl + other.incl,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn raw(text: &str) -> &str {
        text
    }

    #[test]
    fn parse_number_is_exact() {
        assert_eq!(
            parse_number(raw("0.1152")).unwrap(),
            Decimal::from_str("0.1152").unwrap()
        );
        assert_eq!(parse_number(raw("1e-3")).unwrap(), Decimal::from_str("0.001").unwrap());
        assert_eq!(parse_number(raw("20")).unwrap(), Decimal::from(20));
    }

    #[test]
    fn parse_number_rejects_non_numbers_and_huge_values() {
        assert!(parse_number(raw("\"1\"")).unwrap_err().contains("must be a number"));
        assert!(parse_number(raw("null")).is_err());
        assert!(parse_number(raw("1e300")).unwrap_err().contains("out of range"));
        assert!(parse_number(raw("10000000000")).unwrap_err().contains("out of range"));
    }

    #[test]
    fn round4_is_half_away_from_zero() {
        assert_eq!(fmt4(Decimal::from_str("0.00005").unwrap()), "0.0001");
        assert_eq!(fmt4(Decimal::from_str("-0.00005").unwrap()), "-0.0001");
        assert_eq!(fmt4(Decimal::from_str("2.5").unwrap()), "2.5000");
        assert_eq!(fmt4(Decimal::from_str("-0.00001").unwrap()), "0.0000");
    }

    #[test]
    fn vat_absent_means_incl_equals_excl() {
        let v = Decimal::from_str("5.00").unwrap();
        assert_eq!(with_vat(v, None), v);
        assert_eq!(with_vat(v, Some(Decimal::from(10))), Decimal::from_str("5.5").unwrap());
    }

    #[test]
    fn hours_snap_to_whole_seconds() {
        assert_eq!(hours_to_seconds(Decimal::from_str("0.3333").unwrap()), 1200);
        assert_eq!(hours_to_seconds(Decimal::from_str("1.973").unwrap()), 7103);
        assert_eq!(hours_to_seconds(Decimal::from_str("0.0833").unwrap()), 300);
    }
}
