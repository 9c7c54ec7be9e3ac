//! The OCPI 2.2.1 token enums and the `DateTime` type, as the cache stores them: one byte per enum,
//! microseconds since the Unix epoch (UTC) for a `DateTime`.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::Deserialize;

use crate::errors::CoreError;

/// Defines a fieldless enum stored as `u8`, with its OCPI names for parsing and output.
macro_rules! ocpi_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
        #[repr(u8)]
        pub(crate) enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        #[allow(dead_code)] // not every enum is parsed from a name outside JSON
        impl $name {
            /// Every variant, in declaration order.
            pub(crate) const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The OCPI name, e.g. `ALLOWED_OFFLINE`.
            pub(crate) fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            /// Parses the OCPI name (case-sensitive, as enums are in OCPI).
            pub(crate) fn parse(text: &str) -> Result<Self, CoreError> {
                match text {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(CoreError::UnknownValue { what: $what, value: text.chars().take(40).collect() }),
                }
            }
        }
    };
}

ocpi_enum!(
    /// How a token is presented: `TokenType`.
    TokenType, "token type" {
        AdHocUser = "AD_HOC_USER",
        AppUser = "APP_USER",
        Other = "OTHER",
        Rfid = "RFID",
    }
);

ocpi_enum!(
    /// Whether the CPO may authorise the token from its cache: `WhitelistType`.
    WhitelistType, "whitelist type" {
        Always = "ALWAYS",
        Allowed = "ALLOWED",
        AllowedOffline = "ALLOWED_OFFLINE",
        Never = "NEVER",
    }
);

ocpi_enum!(
    /// The charging preference to apply automatically: `ProfileType`.
    ProfileType, "profile type" {
        Cheap = "CHEAP",
        Fast = "FAST",
        Green = "GREEN",
        Regular = "REGULAR",
    }
);

ocpi_enum!(
    /// An authorisation answer: `AllowedType`.
    AllowedType, "allowed type" {
        Allowed = "ALLOWED",
        Blocked = "BLOCKED",
        Expired = "EXPIRED",
        NoCredit = "NO_CREDIT",
        NotAllowed = "NOT_ALLOWED",
    }
);

/// Parses an OCPI `DateTime` into microseconds since the Unix epoch: `2015-06-29T20:39:09Z`, the `Z`
/// optional (no designator means UTC), fraction digits optional and rounded to the microsecond.
/// Offsets other than zero (`+01:00`) are refused, as OCPI says. Like msgspec, which decodes the same
/// field on the Python side, it also takes `t`/space for `T`, `z` for `Z` and `+00:00`/`-00:00`
/// (the same instant as `Z`), so that both sides accept exactly the same tokens.
pub(crate) fn parse_datetime(field: &'static str, text: &str) -> Result<i64, CoreError> {
    let bad = || CoreError::InvalidDateTime {
        field,
        value: text.chars().take(40).collect(),
    };
    let body = ["Z", "z", "+00:00", "-00:00"]
        .iter()
        .find_map(|zone| text.strip_suffix(zone))
        .unwrap_or(text);
    let (main, fraction) = match body.split_once('.') {
        Some((main, fraction)) => (main, Some(fraction)),
        None => (body, None),
    };
    let bytes = main.as_bytes();
    let shape_ok = bytes.len() == 19
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => matches!(b, b'T' | b't' | b' '),
            13 | 16 => *b == b':',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok || text.len() > 40 {
        return Err(bad());
    }
    let number = |range: std::ops::Range<usize>| main.get(range).and_then(|s| s.parse::<u32>().ok()).ok_or_else(bad);
    let year = i32::try_from(number(0..4)?).map_err(|_| bad())?;
    let date = NaiveDate::from_ymd_opt(year, number(5..7)?, number(8..10)?)
        .filter(|_| year > 0)
        .ok_or_else(bad)?;
    let time = NaiveTime::from_hms_opt(number(11..13)?, number(14..16)?, number(17..19)?).ok_or_else(bad)?;
    let mut micros = 0_i64;
    if let Some(fraction) = fraction {
        if fraction.is_empty() || fraction.len() > 18 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let mut digits = fraction
            .bytes()
            .map(|b| i64::from(b - b'0'))
            .chain(std::iter::repeat(0));
        micros = digits.by_ref().take(6).fold(0, |acc, d| acc * 10 + d);
        if digits.next().is_some_and(|d| d >= 5) {
            micros += 1; // round half up, like msgspec
        }
    }
    Ok(NaiveDateTime::new(date, time).and_utc().timestamp() * 1_000_000 + micros)
}

/// A `DateTime` as its calendar fields packed in 64 bits (year 14 bits, month 4, day 5, hour 5,
/// minute 6, second 6, microsecond 20): the same 8 bytes as microseconds since the epoch, but
/// printing it needs no calendar arithmetic, only digit pairs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp(u64);

impl Stamp {
    /// The stamp of `micros` since the Unix epoch (years 1 to 9999, as parsed).
    pub(crate) fn from_micros(micros: i64) -> Self {
        let seconds = micros.div_euclid(1_000_000);
        let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
        let in_day = seconds.rem_euclid(86_400);
        let fields = [
            (year, 14),
            (month, 4),
            (day, 5),
            (in_day / 3600, 5),
            (in_day / 60 % 60, 6),
            (in_day % 60, 6),
            (micros.rem_euclid(1_000_000), 20),
        ];
        let packed = fields.iter().fold(0_u64, |acc, (value, bits)| {
            acc << bits | (u64::try_from(*value).unwrap_or(0) & ((1 << bits) - 1))
        });
        Self(packed)
    }

    /// Microseconds since the Unix epoch.
    pub(crate) fn micros(self) -> i64 {
        let days = days_from_civil(self.field(46, 14), self.field(42, 4), self.field(37, 5));
        let seconds = days * 86_400 + self.field(32, 5) * 3600 + self.field(26, 6) * 60 + self.field(20, 6);
        seconds * 1_000_000 + self.field(0, 20)
    }

    fn field(self, shift: u32, bits: u32) -> i64 {
        i64::try_from(self.0 >> shift & ((1 << bits) - 1)).unwrap_or(0)
    }

    /// The packed bits, to store.
    pub(crate) fn to_bits(self) -> u64 {
        self.0
    }

    /// A stamp from stored bits.
    pub(crate) fn from_bits(bits: u64) -> Self {
        Self(bits)
    }
}

/// A `DateTime` as OCPI prefers it (UTC with `Z`, six fraction digits when it has a fraction, like
/// msgspec and the store), on the stack: `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`, 20 or 27 bytes.
pub(crate) struct DateText {
    buf: [u8; 27],
    len: usize,
}

impl DateText {
    /// The text of `micros` since the Unix epoch (years 1 to 9999, as parsed).
    #[cfg(test)]
    pub(crate) fn new(micros: i64) -> Self {
        Self::of(Stamp::from_micros(micros))
    }

    /// The text of a stamp.
    pub(crate) fn of(stamp: Stamp) -> Self {
        let field = |shift, bits| u32::try_from(stamp.field(shift, bits)).unwrap_or(0);
        let mut buf = *b"0000-00-00T00:00:00.000000Z";
        let year = field(46, 14);
        put_pair(&mut buf, 0, year / 100);
        put_pair(&mut buf, 2, year);
        for (at, shift, bits) in [(5, 42, 4), (8, 37, 5), (11, 32, 5), (14, 26, 6), (17, 20, 6)] {
            put_pair(&mut buf, at, field(shift, bits));
        }
        let fraction = field(0, 20);
        let len = Self::len_of(stamp);
        if fraction != 0 {
            put_pair(&mut buf, 20, fraction / 10_000);
            put_pair(&mut buf, 22, fraction / 100);
            put_pair(&mut buf, 24, fraction);
        }
        if let Some(last) = buf.get_mut(len - 1) {
            *last = b'Z';
        }
        Self { buf, len }
    }

    /// The length of the text of a stamp, without writing it: six fraction digits when it has any, as
    /// msgspec writes them (so the cache and the store answer the same bytes).
    pub(crate) fn len_of(stamp: Stamp) -> usize {
        if stamp.field(0, 20) == 0 {
            20
        } else {
            27
        }
    }

    /// The text.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

/// Writes the last two decimal digits of `value` at `buf[at..at + 2]`.
fn put_pair(buf: &mut [u8; 27], at: usize, value: u32) {
    let value = value % 100;
    if let Some(pair) = buf.get_mut(at..at + 2) {
        pair.copy_from_slice(&[b'0' + (value / 10) as u8, b'0' + (value % 10) as u8]);
    }
}

/// (year, month, day) of a count of days since 1970-01-01, proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn roundtrip(text: &str) -> String {
        let micros = parse_datetime("last_updated", text).unwrap();
        let bytes = DateText::new(micros).as_bytes().to_vec();
        assert_eq!(DateText::len_of(Stamp::from_micros(micros)), bytes.len());
        assert_eq!(Stamp::from_micros(micros).micros(), micros);
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn datetime_shapes_of_the_spec_parse_and_print_with_z() {
        assert_eq!(roundtrip("2015-06-29T20:39:09Z"), "2015-06-29T20:39:09Z");
        assert_eq!(roundtrip("2015-06-29T20:39:09"), "2015-06-29T20:39:09Z");
        assert_eq!(roundtrip("2016-12-29T17:45:09.2Z"), "2016-12-29T17:45:09.200000Z");
        assert_eq!(roundtrip("2018-01-01T01:08:01.123"), "2018-01-01T01:08:01.123000Z");
        assert_eq!(
            roundtrip("2018-01-01T01:08:01.123456789Z"),
            "2018-01-01T01:08:01.123457Z"
        );
        assert_eq!(roundtrip("2018-01-01T01:08:01.9999996"), "2018-01-01T01:08:02Z");
        assert_eq!(roundtrip("2015-06-29t20:39:09z"), "2015-06-29T20:39:09Z");
        assert_eq!(roundtrip("2015-06-29 20:39:09+00:00"), "2015-06-29T20:39:09Z");
        assert_eq!(parse_datetime("x", "1970-01-01T00:00:01Z").unwrap(), 1_000_000);
        for text in [
            "0001-01-01T00:00:00Z",
            "1969-12-31T23:59:59.5Z",
            "2000-02-29T12:00:00Z",
            "9999-12-31T23:59:59Z",
            "2000-01-01T00:00:00.000001Z",
            "2000-01-01T00:00:00.1Z",
            "2000-01-01T00:00:00.12Z",
            "2000-01-01T00:00:00.102Z",
            "2000-01-01T00:00:00.1234Z",
            "2000-01-01T00:00:00.12345Z",
            "2000-01-01T00:00:00.999999Z",
            "1970-01-01T00:00:00Z",
            "0999-03-01T09:09:09.09Z",
        ] {
            // Six fraction digits whenever there is a fraction, as msgspec writes them.
            let six = match text.split_once('.') {
                Some((whole, fraction)) => format!("{whole}.{:0<6}Z", fraction.trim_end_matches('Z')),
                None => text.to_owned(),
            };
            assert_eq!(roundtrip(text), six);
        }
    }

    #[test]
    fn datetime_with_offset_or_bad_shape_is_refused() {
        for text in [
            "2015-06-29T20:39:09+01:00",
            "2015-06-29T20:39:09-01:00",
            "2015-06-29_20:39:09Z",
            "0000-01-01T00:00:00Z",
            "2015-02-30T20:39:09Z",
            "2015-06-29T24:00:00Z",
            "2015-06-29T20:39:09.Z",
            "2015-06-29",
            "",
            "２015-06-29T20:39:09Z",
        ] {
            assert!(parse_datetime("last_updated", text).is_err(), "{text}");
        }
    }

    #[test]
    fn enums_parse_their_ocpi_names_and_are_one_byte() {
        for kind in TokenType::ALL {
            assert_eq!(TokenType::parse(kind.as_str()).unwrap(), *kind);
        }
        assert_eq!(size_of::<Option<ProfileType>>(), 1);
        assert_eq!(
            WhitelistType::parse("ALLOWED_OFFLINE").unwrap(),
            WhitelistType::AllowedOffline
        );
        assert!(WhitelistType::parse("allowed").is_err());
        assert_eq!(AllowedType::NoCredit.as_str(), "NO_CREDIT");
    }
}
