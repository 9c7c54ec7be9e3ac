//! `TariffRestrictions`: compiled once, checked at every instant where a period starts.
//!
//! Bounds (tariffs.md 5.3, ambiguity 11): every `min_*`, start time and start date is inclusive; every
//! `max_*`, end time and end date is exclusive.

use chrono::{NaiveDate, Weekday};
use rust_decimal::Decimal;

use super::money::parse_number;
use super::wire::RawRestrictions;
use crate::errors::CoreError;

/// Minutes in a day: the end of a time window that runs to midnight.
const DAY_MINUTES: u32 = 24 * 60;

/// The reservation phase an element prices (ambiguity 13); elements without one price the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// `RESERVATION`: the reservation before charging (and, as a fallback, an expired one).
    Reservation,
    /// `RESERVATION_EXPIRES`: a reservation that expired without a session.
    Expires,
}

/// A measured quantity as the periods report it (ambiguity 21).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Measure {
    /// The average (`POWER` / `CURRENT`), when given.
    pub(crate) avg: Option<Decimal>,
    /// The lowest value (`MIN_POWER` / `MIN_CURRENT`).
    pub(crate) min: Option<Decimal>,
    /// The highest value (`MAX_POWER` / `MAX_CURRENT`).
    pub(crate) max: Option<Decimal>,
}

impl Measure {
    /// Reading 21: the average if given, else the lowest value, for `min_*` checks.
    fn for_min_check(self) -> Option<Decimal> {
        self.avg.or(self.min)
    }

    /// Reading 21: the average if given, else the highest value, for `max_*` checks.
    fn for_max_check(self) -> Option<Decimal> {
        self.avg.or(self.max)
    }
}

/// Everything a restriction may look at, for one instant.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Instant {
    /// Local date at the Location.
    pub(crate) date: NaiveDate,
    /// Local seconds since midnight.
    pub(crate) second_of_day: u32,
    /// Local weekday.
    pub(crate) weekday: Weekday,
    /// Energy consumed in the session before this instant, kWh.
    pub(crate) energy_kwh: Decimal,
    /// Time since the session started, seconds (may be fractional).
    pub(crate) duration_s: Decimal,
    /// Power, kW.
    pub(crate) power: Measure,
    /// Current summed over phases, A.
    pub(crate) current: Measure,
}

/// A compiled `TariffRestrictions`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Restrictions {
    /// Local time window in minutes `[start, end)`, wrapping past midnight when `end < start`.
    window: Option<(u32, u32)>,
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
    min_kwh: Option<Decimal>,
    max_kwh: Option<Decimal>,
    min_current: Option<Decimal>,
    max_current: Option<Decimal>,
    min_power: Option<Decimal>,
    max_power: Option<Decimal>,
    min_duration: Option<Decimal>,
    max_duration: Option<Decimal>,
    /// Bit `n` set = weekday `n` (Monday = 0) allowed; 0 = every day.
    days: u8,
    /// The session phase the element prices.
    pub(crate) phase: Option<Phase>,
}

impl Restrictions {
    /// Compiles restrictions; `at` is the field path of the restrictions object, for errors.
    pub(crate) fn compile(raw: &RawRestrictions<'_>, at: &str) -> Result<Self, CoreError> {
        let field = |name: &str| format!("{at}.{name}");
        let num = |value: Option<&serde_json::value::RawValue>, name: &str| -> Result<Option<Decimal>, CoreError> {
            value
                .map(|v| parse_number(v.get()).map_err(|problem| invalid(field(name), problem)))
                .transpose()
        };
        let start = raw
            .start_time
            .as_deref()
            .map(|t| parse_time(t, &field("start_time")))
            .transpose()?;
        let end = raw
            .end_time
            .as_deref()
            .map(|t| parse_time(t, &field("end_time")))
            .transpose()?;
        let window = time_window(start, end);
        let date = |text: Option<&str>, name: &str| -> Result<Option<NaiveDate>, CoreError> {
            text.map(|t| parse_date(t).ok_or_else(|| invalid(field(name), format!("must be YYYY-MM-DD, not `{t}`"))))
                .transpose()
        };
        let mut days = 0u8;
        for (i, day) in raw.day_of_week.iter().flatten().enumerate() {
            let weekday = parse_weekday(day).ok_or_else(|| {
                invalid(
                    field(&format!("day_of_week[{i}]")),
                    format!("is not a DayOfWeek: `{day}`"),
                )
            })?;
            days |= 1 << weekday.num_days_from_monday();
        }
        let phase = match raw.reservation.as_deref() {
            None => None,
            Some("RESERVATION") => Some(Phase::Reservation),
            Some("RESERVATION_EXPIRES") => Some(Phase::Expires),
            Some(other) => {
                return Err(invalid(
                    field("reservation"),
                    format!("is not a ReservationRestrictionType: `{other}`"),
                ))
            }
        };
        Ok(Self {
            window,
            start_date: date(raw.start_date.as_deref(), "start_date")?,
            end_date: date(raw.end_date.as_deref(), "end_date")?,
            min_kwh: num(raw.min_kwh, "min_kwh")?,
            max_kwh: num(raw.max_kwh, "max_kwh")?,
            min_current: num(raw.min_current, "min_current")?,
            max_current: num(raw.max_current, "max_current")?,
            min_power: num(raw.min_power, "min_power")?,
            max_power: num(raw.max_power, "max_power")?,
            min_duration: num(raw.min_duration, "min_duration")?,
            max_duration: num(raw.max_duration, "max_duration")?,
            days,
            phase,
        })
    }

    /// Whether the restrictions depend on the local time of the Location (and so need its time zone).
    pub(crate) fn uses_local_time(&self) -> bool {
        self.window.is_some() || self.start_date.is_some() || self.end_date.is_some() || self.days != 0
    }

    /// Whether every restriction holds at `at` (all must hold; the phase is checked by the caller).
    pub(crate) fn hold(&self, at: &Instant) -> bool {
        self.window.is_none_or(|window| in_window(window, at.second_of_day))
            && self.start_date.is_none_or(|d| at.date >= d)
            && self.end_date.is_none_or(|d| at.date < d)
            && (self.days == 0 || self.days & (1 << at.weekday.num_days_from_monday()) != 0)
            && at_least(self.min_kwh, Some(at.energy_kwh))
            && below(self.max_kwh, Some(at.energy_kwh))
            && at_least(self.min_duration, Some(at.duration_s))
            && below(self.max_duration, Some(at.duration_s))
            && at_least(self.min_current, at.current.for_min_check())
            && below(self.max_current, at.current.for_max_check())
            && at_least(self.min_power, at.power.for_min_check())
            && below(self.max_power, at.power.for_max_check())
    }
}

/// `value >= bound`; reading "unmeasured": a bound on a quantity the periods do not report does not hold.
fn at_least(bound: Option<Decimal>, value: Option<Decimal>) -> bool {
    bound.is_none_or(|b| value.is_some_and(|v| v >= b))
}

/// `value < bound`, same reading for unmeasured quantities.
fn below(bound: Option<Decimal>, value: Option<Decimal>) -> bool {
    bound.is_none_or(|b| value.is_some_and(|v| v < b))
}

/// Ambiguity 11: only start → to 24:00; only end → from 00:00; end `00:00` → end of day; start = end → whole day.
fn time_window(start: Option<u32>, end: Option<u32>) -> Option<(u32, u32)> {
    if start.is_none() && end.is_none() {
        return None;
    }
    let start = start.unwrap_or(0);
    let end = match end {
        None | Some(0) => DAY_MINUTES,
        Some(end) => end,
    };
    Some((start, end))
}

fn in_window((start, end): (u32, u32), second_of_day: u32) -> bool {
    let (start, end) = (start * 60, end * 60);
    match start.cmp(&end) {
        std::cmp::Ordering::Less => start <= second_of_day && second_of_day < end,
        std::cmp::Ordering::Greater => second_of_day >= start || second_of_day < end,
        std::cmp::Ordering::Equal => true,
    }
}

fn invalid(field: String, problem: String) -> CoreError {
    CoreError::PricingField {
        object: "tariff",
        field,
        problem,
    }
}

/// `HH:MM`, 24 h, leading zeros (the spec's regex).
fn parse_time(text: &str, field: &str) -> Result<u32, CoreError> {
    let bad = || {
        invalid(
            field.to_owned(),
            format!("must be HH:MM (00:00 to 23:59), not `{text}`"),
        )
    };
    let bytes = text.as_bytes();
    if bytes.len() != 5 || bytes.get(2) != Some(&b':') {
        return Err(bad());
    }
    let hours: u32 = text.get(0..2).and_then(|h| h.parse().ok()).ok_or_else(bad)?;
    let minutes: u32 = text.get(3..5).and_then(|m| m.parse().ok()).ok_or_else(bad)?;
    if hours > 23 || minutes > 59 || !text.get(0..2).is_some_and(|h| h.bytes().all(|b| b.is_ascii_digit())) {
        return Err(bad());
    }
    Ok(hours * 60 + minutes)
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    if text.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

fn parse_weekday(text: &str) -> Option<Weekday> {
    Some(match text {
        "MONDAY" => Weekday::Mon,
        "TUESDAY" => Weekday::Tue,
        "WEDNESDAY" => Weekday::Wed,
        "THURSDAY" => Weekday::Thu,
        "FRIDAY" => Weekday::Fri,
        "SATURDAY" => Weekday::Sat,
        "SUNDAY" => Weekday::Sun,
        _ => return None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn compile(json: &str) -> Result<Restrictions, CoreError> {
        let raw: RawRestrictions<'_> = serde_json::from_str(json).unwrap();
        Restrictions::compile(&raw, "r")
    }

    fn at(date: &str, hh: u32, mm: u32) -> Instant {
        let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
        Instant {
            date,
            second_of_day: hh * 3600 + mm * 60,
            weekday: chrono::Datelike::weekday(&date),
            energy_kwh: Decimal::ZERO,
            duration_s: Decimal::ZERO,
            power: Measure::default(),
            current: Measure::default(),
        }
    }

    #[test]
    fn window_start_inclusive_end_exclusive() {
        let r = compile(r#"{"start_time": "09:00", "end_time": "18:00"}"#).unwrap();
        assert!(r.hold(&at("2024-01-15", 9, 0)));
        assert!(r.hold(&at("2024-01-15", 17, 59)));
        assert!(!r.hold(&at("2024-01-15", 18, 0)));
        assert!(!r.hold(&at("2024-01-15", 8, 59)));
    }

    #[test]
    fn window_wraps_past_midnight_and_midnight_end_is_end_of_day() {
        let wrap = compile(r#"{"start_time": "22:00", "end_time": "06:00"}"#).unwrap();
        assert!(wrap.hold(&at("2024-01-15", 23, 0)) && wrap.hold(&at("2024-01-15", 5, 59)));
        assert!(!wrap.hold(&at("2024-01-15", 6, 0)) && !wrap.hold(&at("2024-01-15", 21, 59)));
        let evening = compile(r#"{"start_time": "20:00", "end_time": "00:00"}"#).unwrap();
        assert!(evening.hold(&at("2024-01-15", 23, 59)) && !evening.hold(&at("2024-01-15", 0, 0)));
    }

    #[test]
    fn window_half_open_and_equal_bounds() {
        let only_start = compile(r#"{"start_time": "20:00"}"#).unwrap();
        assert!(only_start.hold(&at("2024-01-15", 23, 59)) && !only_start.hold(&at("2024-01-15", 1, 0)));
        let only_end = compile(r#"{"end_time": "06:00"}"#).unwrap();
        assert!(only_end.hold(&at("2024-01-15", 0, 0)) && !only_end.hold(&at("2024-01-15", 6, 0)));
        let same = compile(r#"{"start_time": "08:00", "end_time": "08:00"}"#).unwrap();
        assert!(same.hold(&at("2024-01-15", 3, 0)));
    }

    #[test]
    fn dates_and_weekdays() {
        let r =
            compile(r#"{"start_date": "2024-01-15", "end_date": "2024-01-16", "day_of_week": ["MONDAY"]}"#).unwrap();
        assert!(r.hold(&at("2024-01-15", 12, 0)));
        assert!(!r.hold(&at("2024-01-16", 0, 0)));
        let sunday = compile(r#"{"day_of_week": ["SUNDAY"]}"#).unwrap();
        assert!(!sunday.hold(&at("2024-01-15", 12, 0)));
    }

    #[test]
    fn unmeasured_power_does_not_hold_and_average_wins() {
        let r = compile(r#"{"max_power": 16}"#).unwrap();
        let mut i = at("2024-01-15", 12, 0);
        assert!(!r.hold(&i));
        i.power = Measure {
            avg: None,
            min: Some(Decimal::from(4)),
            max: Some(Decimal::from(20)),
        };
        assert!(!r.hold(&i));
        i.power.avg = Some(Decimal::from(10));
        assert!(r.hold(&i));
    }

    #[test]
    fn bad_values_name_the_field() {
        let err = compile(r#"{"start_time": "24:00"}"#).unwrap_err().to_string();
        assert!(err.contains("`r.start_time`"), "{err}");
        let err = compile(r#"{"day_of_week": ["FUNDAY"]}"#).unwrap_err().to_string();
        assert!(err.contains("`r.day_of_week[0]`"), "{err}");
        let err = compile(r#"{"min_kwh": "x"}"#).unwrap_err().to_string();
        assert!(err.contains("`r.min_kwh`"), "{err}");
        assert!(compile(r#"{"end_date": "2024-13-01"}"#).is_err());
        assert!(compile(r#"{"reservation": "MAYBE"}"#).is_err());
    }
}
