//! The hand-written JSON writer of results: quoted 4-decimal numbers, hours, datetimes and escaped strings
//! straight into one buffer, with no intermediate `String`s (the batch hot path writes millions of them).
//!
//! The bytes equal what `serde_json` wrote for the same values before (the tests compare the two).

use chrono::{DateTime, Datelike, Timelike, Utc};
use rust_decimal::Decimal;

use super::money::{round4, POWERS_OF_TEN, SECONDS_PER_HOUR};

/// `"text"`, escaped as `serde_json` escapes strings.
pub(crate) fn string(buf: &mut Vec<u8>, text: &str) {
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        buf.push(b'"');
        buf.extend_from_slice(text.as_bytes());
        buf.push(b'"');
    } else {
        // Rare: let serde_json pick the escapes. Writing to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *buf, text);
    }
}

/// `"key":` (keys are our own ASCII names).
pub(crate) fn key(buf: &mut Vec<u8>, name: &str) {
    buf.push(b'"');
    buf.extend_from_slice(name.as_bytes());
    buf.extend_from_slice(b"\":");
}

/// A value rounded to 4 decimals (half away from zero), as a quoted string: `"1.2345"`.
pub(crate) fn dec4(buf: &mut Vec<u8>, value: Decimal) {
    // In integers what `round4` does: rescale up, or round the dropped digits half away from zero.
    let (mantissa, scale) = (value.mantissa(), value.scale());
    if let Ok(small) = i64::try_from(mantissa) {
        // The usual sizes, in 64-bit arithmetic (128-bit multiplication and division are library calls).
        let scaled = match scale.checked_sub(4) {
            None => POWERS_OF_TEN
                .get((4 - scale) as usize)
                .and_then(|&p| small.checked_mul(p)),
            Some(dropped) => POWERS_OF_TEN.get(dropped as usize).map(|&p| round_ratio64(small, p)),
        };
        if let Some(scaled) = scaled {
            scaled4(buf, i128::from(scaled));
            return;
        }
    }
    let exact = if scale <= 4 {
        mantissa
            .checked_mul(10i128.pow(4 - scale))
            .filter(|m| m.unsigned_abs() < 1u128 << 96)
    } else {
        Some(round_ratio(mantissa, 10i128.pow(scale - 4)))
    };
    if let Some(scaled) = exact {
        scaled4(buf, scaled);
        return;
    }
    let rounded = round4(value);
    if rounded.scale() == 4 {
        scaled4(buf, rounded.mantissa());
    } else {
        // Only beyond 10^24, where the mantissa has no room for 4 decimals: the general formatting.
        buf.push(b'"');
        buf.extend_from_slice(rounded.to_string().as_bytes());
        buf.push(b'"');
    }
}

/// Seconds as hours with 4 decimals, quoted; equal to `dec4(seconds / 3600)` but in integer arithmetic.
pub(crate) fn hours(buf: &mut Vec<u8>, seconds: Decimal) {
    let scale = seconds.scale();
    let small = i64::try_from(seconds.mantissa())
        .ok()
        .and_then(|m| m.checked_mul(10_000));
    let den = POWERS_OF_TEN.get(scale as usize).and_then(|p| p.checked_mul(3600));
    if let (Some(num), Some(den)) = (small, den) {
        scaled4(buf, i128::from(round_ratio64(num, den)));
        return;
    }
    let exact = 10i128
        .checked_pow(scale)
        .and_then(|p| p.checked_mul(3600))
        .and_then(|den| seconds.mantissa().checked_mul(10_000).map(|num| (num, den)));
    match exact {
        // The exact quotient of integers has no tie it could be misrounded at (unlike a 28-digit one).
        Some((num, den)) => scaled4(buf, round_ratio(num, den)),
        None => dec4(buf, seconds / SECONDS_PER_HOUR),
    }
}

/// `num / den` rounded to an integer, half away from zero (`den > 0`), in 64 bits.
fn round_ratio64(num: i64, den: i64) -> i64 {
    let (q, r) = (num / den, num % den);
    if i128::from(r).abs() * 2 >= i128::from(den) {
        q + num.signum()
    } else {
        q
    }
}

/// `num / den` rounded to an integer, half away from zero (`den > 0`).
fn round_ratio(num: i128, den: i128) -> i128 {
    if let (Ok(num), Ok(den)) = (i64::try_from(num), i64::try_from(den)) {
        // The usual sizes: 64-bit division is many times cheaper than 128-bit.
        let (q, r) = (num / den, num % den);
        let rounded = if 2 * i128::from(r).abs() >= i128::from(den) {
            q + num.signum()
        } else {
            q
        };
        return i128::from(rounded);
    }
    let (q, r) = (num / den, num % den);
    if 2 * r.abs() >= den {
        q + num.signum()
    } else {
        q
    }
}

/// A mantissa with scale 4 as `"I.FFFF"`; zero is never negative.
pub(crate) fn scaled4(buf: &mut Vec<u8>, mantissa: i128) {
    if let Ok(small) = u64::try_from(mantissa.unsigned_abs()) {
        // The usual case: digits written right to left, two at a time, into a stack buffer; then one copy.
        let mut text = [0u8; 32];
        let mut at = text.len() - 1;
        text[at] = b'"';
        let (mut whole, frac) = (small / 10_000, (small % 10_000) as usize);
        at -= 5;
        text[at] = b'.';
        text[at + 1..at + 3].copy_from_slice(pair(frac / 100));
        text[at + 3..at + 5].copy_from_slice(pair(frac % 100));
        while whole >= 100 {
            at -= 2;
            text[at..at + 2].copy_from_slice(pair((whole % 100) as usize));
            whole /= 100;
        }
        if whole >= 10 {
            at -= 2;
            text[at..at + 2].copy_from_slice(pair(whole as usize));
        } else {
            at -= 1;
            text[at] = b'0' + whole as u8;
        }
        if mantissa < 0 {
            at -= 1;
            text[at] = b'-';
        }
        at -= 1;
        text[at] = b'"';
        buf.extend_from_slice(text.get(at..).unwrap_or_default());
        return;
    }
    let mut digits = itoa::Buffer::new();
    buf.push(b'"');
    if mantissa < 0 {
        buf.push(b'-');
    }
    let magnitude = mantissa.unsigned_abs();
    let frac = if let Ok(small) = u64::try_from(magnitude) {
        buf.extend_from_slice(digits.format(small / 10_000).as_bytes());
        (small % 10_000) as u16
    } else {
        buf.extend_from_slice(digits.format(magnitude / 10_000).as_bytes());
        (magnitude % 10_000) as u16
    };
    buf.extend_from_slice(&[
        b'.',
        b'0' + (frac / 1000) as u8,
        b'0' + (frac / 100 % 10) as u8,
        b'0' + (frac / 10 % 10) as u8,
        b'0' + (frac % 10) as u8,
        b'"',
    ]);
}

/// "00" to "99".
const PAIRS: [u8; 200] = {
    let mut table = [0u8; 200];
    let mut n = 0;
    while n < 100 {
        table[2 * n] = b'0' + (n / 10) as u8;
        table[2 * n + 1] = b'0' + (n % 10) as u8;
        n += 1;
    }
    table
};

/// The two digits of `n` (< 100).
#[inline]
fn pair(n: usize) -> &'static [u8] {
    PAIRS.get(2 * n..2 * n + 2).unwrap_or(b"00")
}

/// An unsigned integer, unquoted.
pub(crate) fn uint(buf: &mut Vec<u8>, value: usize) {
    buf.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// `"YYYY-MM-DDThh:mm:ssZ"` (seconds precision, as `%Y-%m-%dT%H:%M:%SZ` formats it).
pub(crate) fn datetime(buf: &mut Vec<u8>, t: DateTime<Utc>) {
    let year = t.year();
    if !(0..=9999).contains(&year) {
        buf.push(b'"');
        buf.extend_from_slice(t.format("%Y-%m-%dT%H:%M:%SZ").to_string().as_bytes());
        buf.push(b'"');
        return;
    }
    let two = |n: u32| [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8];
    let year = year.unsigned_abs();
    let mut text = [0u8; 22];
    text[0] = b'"';
    text[1..3].copy_from_slice(&two(year / 100));
    text[3..5].copy_from_slice(&two(year % 100));
    text[5] = b'-';
    text[6..8].copy_from_slice(&two(t.month()));
    text[8] = b'-';
    text[9..11].copy_from_slice(&two(t.day()));
    text[11] = b'T';
    text[12..14].copy_from_slice(&two(t.hour()));
    text[14] = b':';
    text[15..17].copy_from_slice(&two(t.minute()));
    text[17] = b':';
    text[18..20].copy_from_slice(&two(t.second()));
    text[20] = b'Z';
    text[21] = b'"';
    buf.extend_from_slice(&text);
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::tariff::money::fmt4;

    fn out(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut buf = Vec::new();
        f(&mut buf);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn dec4_matches_the_display_formatting() {
        for text in [
            "0",
            "-0.00001",
            "0.00005",
            "-0.00005",
            "2.5",
            "1234567.89125",
            "-3.14159",
            "0.0001",
            "79228162514264.3",
            "10000000000000000000000000",
            "-7922816251426433759354395033",
        ] {
            let v = Decimal::from_str(text).unwrap();
            assert_eq!(out(|b| dec4(b, v)), format!("\"{}\"", fmt4(v)), "{text}");
        }
    }

    #[test]
    fn dec4_matches_the_display_formatting_at_every_scale() {
        for n in -3000..3000i64 {
            for scale in 0..12 {
                let v = Decimal::new(n * 12_345 + 7, scale);
                assert_eq!(out(|b| dec4(b, v)), format!("\"{}\"", fmt4(v)), "{v}");
            }
        }
    }

    #[test]
    fn hours_match_decimal_division() {
        for text in [
            "0", "1", "1200", "7103", "3599.5", "0.180", "0.18", "86400000", "5.4321", "-1800",
        ] {
            let s = Decimal::from_str(text).unwrap();
            assert_eq!(
                out(|b| hours(b, s)),
                format!("\"{}\"", fmt4(s / SECONDS_PER_HOUR)),
                "{text}"
            );
        }
        for n in 0..20_000i64 {
            let s = Decimal::new(n * 7 + 3, 3);
            assert_eq!(
                out(|b| hours(b, s)),
                format!("\"{}\"", fmt4(s / SECONDS_PER_HOUR)),
                "{s}"
            );
        }
    }

    #[test]
    fn strings_escape_like_serde_json() {
        for text in ["EUR", "a\"b", "back\\slash", "tab\t", "\u{1}", "é€", ""] {
            assert_eq!(out(|b| string(b, text)), serde_json::to_string(text).unwrap());
        }
    }

    #[test]
    fn datetimes_format_like_strftime() {
        for text in ["2024-03-31T01:30:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"] {
            let t = DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc);
            assert_eq!(
                out(|b| datetime(b, t)),
                format!("\"{}\"", t.format("%Y-%m-%dT%H:%M:%SZ"))
            );
        }
    }
}
