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
    if let Some(value) = parse_plain(text) {
        return Ok(value);
    }
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

/// 10^0 to 10^18.
pub(crate) const POWERS_OF_TEN: [i64; 19] = {
    let mut table = [1i64; 19];
    let mut i = 1;
    while i < 19 {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

/// The common shape, `-?D+(.D+)?` with at most 18 digits and within range, read without `Decimal::from_str`;
/// the same value `from_str` + `normalize` give. Anything else returns `None` for the general path.
fn parse_plain(text: &str) -> Option<Decimal> {
    let (value, len) = plain_prefix(text.as_bytes())?;
    (len == text.len()).then_some(value)
}

/// A plain JSON number at the start of `bytes`, `-?(0|[1-9]D*)(.D+)?` not followed by an exponent, with at most
/// 18 digits and within range: its value as [`parse_number`] reads it, and its length. Anything else (which
/// may still be a number) returns `None`.
///
/// Every volume of every CDR comes through here, straight from the scanner: one pass per part, no per-digit
/// bookkeeping, and no second pass to find where the number ends.
pub(crate) fn plain_prefix(bytes: &[u8]) -> Option<(Decimal, usize)> {
    let negative = bytes.first() == Some(&b'-');
    let digit = |at: usize| bytes.get(at).map(|&c| c.wrapping_sub(b'0')).filter(|&d| d < 10);
    let first = usize::from(negative);
    let mut at = first;
    let mut mantissa = 0u64;
    while let Some(d) = digit(at) {
        mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d));
        at += 1;
    }
    let whole = at - first;
    if whole == 0 || (whole > 1 && bytes.get(first) == Some(&b'0')) {
        return None; // no digits, or a leading zero JSON does not allow
    }
    let mut scale = 0usize;
    if bytes.get(at) == Some(&b'.') {
        at += 1;
        while let Some(d) = digit(at) {
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d));
            at += 1;
            scale += 1;
        }
        if scale == 0 {
            return None;
        }
    }
    // An exponent is for the general path; more than 18 digits may have wrapped.
    if matches!(bytes.get(at), Some(b'e' | b'E' | b'.')) || whole + scale > 18 {
        return None;
    }
    if mantissa == 0 {
        return Some((Decimal::ZERO, at)); // what `normalize` makes of -0 and 0.000
    }
    // `normalize`, without its 96-bit divisions: drop trailing zeros of the fraction.
    while scale > 0 && mantissa % 10 == 0 {
        mantissa /= 10;
        scale -= 1;
    }
    let limit = u64::try_from(*POWERS_OF_TEN.get(scale)?)
        .ok()?
        .checked_mul(1_000_000_000);
    if limit.is_some_and(|limit| mantissa > limit) {
        return None; // out of range: the general path words the error
    }
    let signed = i64::try_from(mantissa).ok()?;
    Some((Decimal::new(if negative { -signed } else { signed }, scale as u32), at))
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
    let mantissa = hours.mantissa();
    if let (Some(power), true) = (10i128.checked_pow(hours.scale()), mantissa.abs() < 1i128 << 80) {
        // `hours * 3600` is exact in a Decimal at this size, so rounding the exact ratio gives the same.
        let (num, den) = (mantissa * 3600, power);
        let (q, r) = (num / den, num % den);
        let rounded = if 2 * r.abs() >= den { q + num.signum() } else { q };
        return i64::try_from(rounded).unwrap_or(0);
    }
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
    fn plain_numbers_read_as_from_str_reads_them() {
        for text in [
            "0",
            "-0",
            "0.0",
            "20",
            "21.004",
            "0.1667",
            "-3.50",
            "100.8",
            "999999999",
            "1000000000",
            "1000000001",
            "123456789012345678",
            "1234567890123456789",
            "0.000000000000000001",
            "1.",
            ".5",
            "-",
            "-.5",
            "1e3",
            "1.2.3",
            "00.5",
            "-0.000",
        ] {
            let general = Decimal::from_str(text)
                .ok()
                .map(|v| v.normalize())
                .filter(|v| v.abs() <= MAX_MAGNITUDE);
            if let Some(fast) = parse_plain(text) {
                assert_eq!(Some(fast), general, "{text}");
                assert_eq!(fast.scale(), general.unwrap().scale(), "{text}");
            }
            assert_eq!(
                parse_number(text).ok(),
                parse_number(&format!(" {text}")).ok(),
                "{text}"
            );
        }
    }

    #[test]
    fn plain_prefixes_follow_the_json_grammar() {
        assert_eq!(plain_prefix(b"21.004}"), Some((Decimal::new(21_004, 3), 6)));
        assert_eq!(plain_prefix(b"-0.50,"), Some((Decimal::new(-5, 1), 5)));
        assert_eq!(plain_prefix(b"0]"), Some((Decimal::ZERO, 1)));
        for text in [
            "01",
            "1.",
            ".5",
            "-",
            "1e3",
            "1.5E2",
            "1.2.3",
            "-01.5",
            "1234567890.123456789",
        ] {
            assert_eq!(plain_prefix(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn hours_to_seconds_matches_decimal_rounding() {
        for n in -5000..5000i64 {
            for scale in 0..6 {
                let hours = Decimal::new(n * 37, scale);
                let general = (hours * SECONDS_PER_HOUR)
                    .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
                    .to_i64()
                    .unwrap_or(0);
                assert_eq!(hours_to_seconds(hours), general, "{hours}");
            }
        }
    }

    #[test]
    fn hours_snap_to_whole_seconds() {
        assert_eq!(hours_to_seconds(Decimal::from_str("0.3333").unwrap()), 1200);
        assert_eq!(hours_to_seconds(Decimal::from_str("1.973").unwrap()), 7103);
        assert_eq!(hours_to_seconds(Decimal::from_str("0.0833").unwrap()), 300);
    }
}
