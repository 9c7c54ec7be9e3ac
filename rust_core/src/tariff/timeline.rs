//! A CDR's or Session's charging periods as a timeline of instants with quantities.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use super::money::{hours_to_seconds, parse_number};
use super::restrictions::{Instant, Measure};
use super::wire::{RawPeriod, RawUsage};
use crate::errors::CoreError;

/// One charging period, ready to price.
#[derive(Debug, Clone)]
pub(crate) struct Period<'a> {
    /// Start (UTC).
    pub(crate) start: DateTime<Utc>,
    /// What restrictions look at when the period starts.
    pub(crate) instant: Instant,
    /// `ENERGY` in kWh.
    pub(crate) energy: Decimal,
    /// `TIME`, whole seconds.
    pub(crate) time_s: i64,
    /// `PARKING_TIME`, whole seconds.
    pub(crate) parking_s: i64,
    /// `RESERVATION_TIME`, whole seconds.
    pub(crate) reservation_s: i64,
    /// The period has a `RESERVATION_TIME` dimension: reservation elements price it.
    pub(crate) in_reservation: bool,
    /// The period belongs to the session proper (not only to a reservation).
    pub(crate) in_session: bool,
    /// `tariff_id`, when given.
    pub(crate) tariff_id: Option<&'a str>,
}

/// The session start and the periods of a CDR or Session.
#[derive(Debug, Clone)]
pub(crate) struct Timeline<'a> {
    /// `start_date_time`.
    pub(crate) start: DateTime<Utc>,
    /// End of the last period: `end_date_time`, else `last_updated`, else the start of the last period.
    pub(crate) end: DateTime<Utc>,
    /// Periods in time order.
    pub(crate) periods: Vec<Period<'a>>,
}

/// Why a dimension was refused (the message is worded where the field path is known).
pub(crate) enum Refused {
    /// A negative quantity.
    Negative,
    /// Not a `CdrDimensionType`.
    UnknownType,
}

impl<'a> Period<'a> {
    /// A period starting at `start`, before its dimensions are added; the instant's local time, duration and
    /// energy so far are set by [`Timeline::build`].
    pub(crate) fn new(start: DateTime<Utc>, tariff_id: Option<&'a str>) -> Self {
        Self {
            start,
            instant: Instant {
                date: NaiveDate::default(),
                second_of_day: 0,
                weekday: Weekday::Mon,
                energy_kwh: Decimal::ZERO,
                duration_s: Decimal::ZERO,
                power: Measure::default(),
                current: Measure::default(),
            },
            energy: Decimal::ZERO,
            time_s: 0,
            parking_s: 0,
            reservation_s: 0,
            in_reservation: false,
            in_session: false,
            tariff_id,
        }
    }

    /// Adds one `CdrDimension`. Until [`Self::finish`], `in_session` means "has a session dimension".
    pub(crate) fn add(&mut self, kind: &[u8], volume: Decimal) -> Result<(), Refused> {
        let non_negative = |v: Decimal| {
            if v.is_sign_negative() && !v.is_zero() {
                Err(Refused::Negative)
            } else {
                Ok(v)
            }
        };
        match kind {
            b"ENERGY" => {
                self.energy += non_negative(volume)?;
                self.in_session = true;
            }
            b"TIME" => {
                self.time_s += hours_to_seconds(non_negative(volume)?);
                self.in_session = true;
            }
            b"PARKING_TIME" => {
                self.parking_s += hours_to_seconds(non_negative(volume)?);
                self.in_session = true;
            }
            b"RESERVATION_TIME" => {
                self.reservation_s += hours_to_seconds(non_negative(volume)?);
                self.in_reservation = true;
            }
            b"POWER" => self.instant.power.avg = Some(volume),
            b"MIN_POWER" => self.instant.power.min = Some(volume),
            b"MAX_POWER" => self.instant.power.max = Some(volume),
            b"CURRENT" => self.instant.current.avg = Some(volume),
            b"MIN_CURRENT" => self.instant.current.min = Some(volume),
            b"MAX_CURRENT" => self.instant.current.max = Some(volume),
            b"ENERGY_EXPORT" | b"ENERGY_IMPORT" | b"STATE_OF_CHARGE" => {}
            _ => return Err(Refused::UnknownType),
        }
        Ok(())
    }

    /// After the last dimension: a period with only `RESERVATION_TIME` belongs to the reservation; any other
    /// period to the session.
    pub(crate) fn finish(&mut self) {
        self.in_session = self.in_session || !self.in_reservation;
    }
}

impl<'r> Timeline<'r> {
    /// Builds the timeline; `object` names the input in errors (`CDR` or `session`). `read`: the periods as
    /// the scanner read them (all valid), else they are read from `raw` here, with errors.
    ///
    /// `zone`: the Location's zone, when some restriction looks at local time; `None` skips the conversion
    /// (the local date and time of the instants are then UTC's and nothing reads them).
    pub(crate) fn build(
        raw: &'r RawUsage<'_>,
        read: Option<Vec<Period<'r>>>,
        object: &'static str,
        zone: Option<Tz>,
    ) -> Result<Self, CoreError> {
        let invalid = |field: String, problem: String| CoreError::PricingField { object, field, problem };
        let start = parse_datetime(&raw.start_date_time).map_err(|p| invalid("start_date_time".into(), p))?;
        let raw_periods = raw.charging_periods.as_deref().unwrap_or_default();
        let count = read.as_ref().map_or(raw_periods.len(), Vec::len);
        if object == "CDR" && count == 0 {
            return Err(invalid(
                "charging_periods".into(),
                "must list at least one period".into(),
            ));
        }
        let scanned = read.is_some();
        let mut periods = read.unwrap_or_else(|| Vec::with_capacity(raw_periods.len()));
        for i in 0..count {
            if !scanned {
                if let Some(raw_period) = raw_periods.get(i) {
                    periods.push(period(raw_period, i).map_err(|(f, p)| invalid(f, p))?);
                }
            }
            let (Some(this), Some(before)) = (periods.get(i), i.checked_sub(1).and_then(|b| periods.get(b))) else {
                continue;
            };
            if before.start > this.start {
                let field = format!("charging_periods[{i}].start_date_time");
                return Err(invalid(field, "is before the start of the previous period".into()));
            }
        }
        let mut energy_so_far = Decimal::ZERO;
        for p in &mut periods {
            let local = match zone {
                Some(zone) => zone.from_utc_datetime(&p.start.naive_utc()).naive_local(),
                None => p.start.naive_utc(),
            };
            p.instant.date = local.date();
            p.instant.second_of_day = local.num_seconds_from_midnight();
            p.instant.weekday = local.weekday();
            p.instant.energy_kwh = energy_so_far;
            p.instant.duration_s = Decimal::new(millis_between(start, p.start), 3);
            energy_so_far += p.energy;
        }
        let end_text = raw.end_date_time.as_deref().or(if object == "CDR" {
            None
        } else {
            raw.last_updated.as_deref()
        });
        let end = match end_text {
            Some(text) => parse_datetime(text).map_err(|p| invalid("end_date_time".into(), p))?,
            None if object == "CDR" => return Err(invalid("end_date_time".into(), "is required in a CDR".into())),
            None => periods.last().map_or(start, |p| p.start),
        };
        if end < start {
            return Err(invalid("end_date_time".into(), "is before `start_date_time`".into()));
        }
        Ok(Self { start, end, periods })
    }
}

/// A period read from its decoded JSON; `Err` holds the field path and the problem.
pub(crate) fn period<'a>(raw: &'a RawPeriod<'_>, i: usize) -> Result<Period<'a>, (String, String)> {
    // Field paths are only formatted on the error path: this runs for every period of every CDR.
    let at = || format!("charging_periods[{i}]");
    let start = parse_datetime(&raw.start_date_time).map_err(|p| (format!("{}.start_date_time", at()), p))?;
    let mut p = Period::new(start, raw.tariff_id.as_deref());
    if raw.dimensions.is_empty() {
        return Err((
            format!("{}.dimensions", at()),
            "must list at least one dimension".into(),
        ));
    }
    for (d, dimension) in raw.dimensions.iter().enumerate() {
        let field = || format!("{}.dimensions[{d}].volume", at());
        let volume = parse_number(dimension.volume.0).map_err(|problem| (field(), problem))?;
        match p.add(dimension.kind.as_bytes(), volume) {
            Ok(()) => {}
            Err(Refused::Negative) => {
                let kind = &dimension.kind;
                let problem = format!("must not be negative for {kind} (export is not priced), not {volume}");
                return Err((field(), problem));
            }
            Err(Refused::UnknownType) => {
                return Err((
                    format!("{}.dimensions[{d}].type", at()),
                    format!("is not a CdrDimensionType: `{}`", dimension.kind),
                ))
            }
        }
    }
    p.finish();
    Ok(p)
}

/// Whole milliseconds from `from` to `to`, truncated toward zero as `TimeDelta::num_milliseconds` does;
/// in plain nanosecond arithmetic where both fit (years 1677 to 2262), which is many times cheaper.
pub(crate) fn millis_between(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    match (to.timestamp_nanos_opt(), from.timestamp_nanos_opt()) {
        (Some(a), Some(b)) => a
            .checked_sub(b)
            .map_or_else(|| (to - from).num_milliseconds(), |d| d / 1_000_000),
        _ => (to - from).num_milliseconds(),
    }
}

/// Parses an OCPI `DateTime`: `YYYY-MM-DDThh:mm:ss[.fff][Z]`, UTC; offsets are refused (ambiguity 6).
pub(crate) fn parse_datetime(text: &str) -> Result<DateTime<Utc>, String> {
    let bare = text.strip_suffix('Z').unwrap_or(text);
    if let Some(fast) = parse_plain(bare.as_bytes()) {
        return Ok(fast);
    }
    NaiveDateTime::parse_from_str(bare, "%Y-%m-%dT%H:%M:%S%.f")
        .map(|naive| naive.and_utc())
        .map_err(|_| {
            format!(
                "must be an OCPI DateTime in UTC like 2024-01-15T10:00:00Z, not `{}`",
                preview(text)
            )
        })
}

/// The usual shape, `YYYY-MM-DDThh:mm:ss` with 0 to 9 fraction digits, read without chrono's format parser.
/// Anything else (or out of range) returns `None` and goes through chrono, which then decides; this accepts
/// only texts chrono accepts with the same meaning.
fn parse_plain(b: &[u8]) -> Option<DateTime<Utc>> {
    let (head, frac) = (b.get(..19)?, b.get(19..)?);
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        head.get(range)?
            .iter()
            .try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if !separators.iter().all(|&(i, c)| head.get(i) == Some(&c)) {
        return None;
    }
    let nanos = match frac {
        [] => 0,
        [b'.', rest @ ..] if (1..=9).contains(&rest.len()) => {
            let value = rest
                .iter()
                .try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))?;
            value * 10u32.pow(9 - rest.len() as u32)
        }
        _ => return None,
    };
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if second > 59 {
        return None; // a leap second: chrono's own reading
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(digits(0..4)?).ok()?, digits(5..7)?, digits(8..10)?)?;
    Some(date.and_hms_nano_opt(hour, minute, second, nanos)?.and_utc())
}

fn preview(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::tariff::wire::decode;

    fn build(json: &str, zone: Tz) -> Result<Timeline<'static>, CoreError> {
        // The timeline borrows the decoded CDR, which borrows the text: both live for the test run.
        let json: &'static str = Box::leak(json.to_owned().into_boxed_str());
        let raw: &'static RawUsage<'static> = Box::leak(Box::new(decode("CDR", json.as_bytes())?));
        Timeline::build(raw, None, "CDR", Some(zone))
    }

    const CDR: &str = r#"{"start_date_time": "2024-03-31T00:30:00Z", "end_date_time": "2024-03-31T02:00:00Z",
        "charging_periods": [
            {"start_date_time": "2024-03-31T00:30:00Z", "dimensions": [{"type": "ENERGY", "volume": 2.5}, {"type": "TIME", "volume": 0.3333}]},
            {"start_date_time": "2024-03-31T01:30:00Z", "dimensions": [{"type": "PARKING_TIME", "volume": 0.5}, {"type": "MAX_POWER", "volume": 11}]}
        ]}"#;

    #[test]
    fn local_time_follows_dst() {
        let t = build(CDR, chrono_tz::Europe::Amsterdam).unwrap();
        // 00:30 UTC is 01:30 CET; 01:30 UTC is 03:30 CEST (clocks jumped at 01:00 UTC).
        assert_eq!(t.periods[0].instant.second_of_day, 3600 + 1800);
        assert_eq!(t.periods[1].instant.second_of_day, 3 * 3600 + 1800);
        assert_eq!(t.periods[1].instant.energy_kwh, Decimal::new(25, 1));
        assert_eq!(t.periods[1].instant.duration_s, Decimal::from(3600));
        assert_eq!(t.periods[0].time_s, 1200);
        assert_eq!(t.periods[1].instant.power.max, Some(Decimal::from(11)));
    }

    #[test]
    fn millis_between_truncates_like_time_delta() {
        let texts = [
            "2024-01-15T10:00:00Z",
            "2024-01-15T10:00:00.0006Z",
            "2024-01-15T10:00:00.0015Z",
            "2024-01-15T09:59:59.9994Z",
            "1970-01-01T00:00:00Z",
            "2262-04-11T23:47:16Z",
            "2300-01-01T00:00:00.5Z",
            "1600-01-01T00:00:00.25Z",
        ];
        for a in texts {
            for b in texts {
                let (a, b) = (parse_datetime(a).unwrap(), parse_datetime(b).unwrap());
                assert_eq!(millis_between(a, b), (b - a).num_milliseconds(), "{a} {b}");
            }
        }
    }

    #[test]
    fn datetimes_accept_missing_z_and_fractions_but_not_offsets() {
        assert!(parse_datetime("2024-01-15T10:00:00").is_ok());
        assert!(parse_datetime("2024-01-15T10:00:00.123Z").is_ok());
        assert!(parse_datetime("2024-01-15T10:00:00+01:00").is_err());
    }

    #[test]
    fn bad_periods_name_the_field() {
        let bad = CDR.replace(
            "\"PARKING_TIME\", \"volume\": 0.5",
            "\"PARKING_TIME\", \"volume\": -0.5",
        );
        let err = build(&bad, chrono_tz::UTC).unwrap_err().to_string();
        assert!(err.contains("`charging_periods[1].dimensions[0].volume`"), "{err}");
        let bad = CDR.replace("2024-03-31T01:30:00Z", "2024-03-30T01:30:00Z");
        let err = build(&bad, chrono_tz::UTC).unwrap_err().to_string();
        assert!(err.contains("`charging_periods[1].start_date_time`"), "{err}");
        let bad = CDR.replace("\"MAX_POWER\"", "\"WATTS\"");
        let err = build(&bad, chrono_tz::UTC).unwrap_err().to_string();
        assert!(err.contains("`charging_periods[1].dimensions[1].type`"), "{err}");
        let bad = CDR.replace("\"end_date_time\": \"2024-03-31T02:00:00Z\",", "");
        assert!(build(&bad, chrono_tz::UTC)
            .unwrap_err()
            .to_string()
            .contains("`end_date_time`"));
    }
}
