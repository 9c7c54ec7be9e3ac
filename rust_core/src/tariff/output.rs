//! Totals, min/max clamping and the JSON result.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::model::Limit;
use super::money::{Amount, SECONDS_PER_HOUR};
use super::pricing::{Category, Kind, Line};
use super::timeline::Timeline;
use super::writer;

/// A number of the result, written quoted with 4 decimals.
pub(crate) trait Figure: Copy {
    /// Writes an amount or a kWh figure.
    fn write(self, buf: &mut Vec<u8>);
    /// Writes a duration in hours (a `Decimal` holds it in seconds).
    fn write_hours(self, buf: &mut Vec<u8>);
}

impl Figure for Decimal {
    fn write(self, buf: &mut Vec<u8>) {
        writer::dec4(buf, self);
    }

    fn write_hours(self, buf: &mut Vec<u8>) {
        writer::hours(buf, self);
    }
}

/// A figure already rounded to 4 decimals: ten-thousandths of the currency, of a kWh or of an hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rounded(pub(crate) i128);

impl Figure for Rounded {
    fn write(self, buf: &mut Vec<u8>) {
        writer::scaled4(buf, self.0);
    }

    fn write_hours(self, buf: &mut Vec<u8>) {
        writer::scaled4(buf, self.0);
    }
}

/// The result of pricing, before it is written as JSON for Python (see `gateway/pricing.py`).
#[derive(Debug)]
pub(crate) struct Summary<'a, F> {
    pub(crate) currency: &'a str,
    pub(crate) time_zone: &'a str,
    /// `explicit`, `cdr_location` or `default` (UTC, only when no restriction depends on local time).
    pub(crate) time_zone_source: &'static str,
    /// Total, energy, time, parking, fixed and reservation costs: excluding and including VAT.
    pub(crate) costs: [(F, F); 6],
    /// kWh.
    pub(crate) total_energy: F,
    /// Session duration, charging, parking and reservation time.
    pub(crate) seconds: [F; 4],
    /// kWh billed after `step_size`.
    pub(crate) billed_energy: F,
    /// Billed charging, parking and reservation time.
    pub(crate) billed_seconds: [F; 3],
    pub(crate) min_price_applied: bool,
    pub(crate) max_price_applied: bool,
}

const COST_NAMES: [&str; 6] = [
    "total_cost",
    "total_energy_cost",
    "total_time_cost",
    "total_parking_cost",
    "total_fixed_cost",
    "total_reservation_cost",
];
const TIME_NAMES: [&str; 4] = [
    "total_time",
    "total_charging_time",
    "total_parking_time",
    "total_reservation_time",
];
const BILLED_NAMES: [&str; 3] = ["billed_time", "billed_parking_time", "billed_reservation_time"];

/// What the per-period breakdown is built from.
pub(crate) struct Breakdown<'t, 'a> {
    pub(crate) timeline: &'t Timeline<'a>,
    pub(crate) lines: &'t [Line],
    /// `Tariff.id` of each period's tariff.
    pub(crate) tariff_ids: &'t [Option<&'t str>],
}

fn amount<F: Figure>(buf: &mut Vec<u8>, (excl, incl): (F, F)) {
    buf.extend_from_slice(b"{\"excl_vat\":");
    excl.write(buf);
    buf.extend_from_slice(b",\"incl_vat\":");
    incl.write(buf);
    buf.push(b'}');
}

/// Writes the result object; `periods` is `[]` without a breakdown.
pub(crate) fn write<F: Figure>(buf: &mut Vec<u8>, s: &Summary<'_, F>, breakdown: Option<&Breakdown<'_, '_>>) {
    buf.push(b'{');
    for (name, value) in [("currency", s.currency), ("time_zone", s.time_zone)] {
        writer::key(buf, name);
        writer::string(buf, value);
        buf.push(b',');
    }
    writer::key(buf, "time_zone_source");
    writer::string(buf, s.time_zone_source);
    for (name, cost) in COST_NAMES.iter().zip(s.costs) {
        buf.push(b',');
        writer::key(buf, name);
        amount(buf, cost);
    }
    buf.push(b',');
    writer::key(buf, "total_energy");
    s.total_energy.write(buf);
    for (name, seconds) in TIME_NAMES.iter().zip(s.seconds) {
        buf.push(b',');
        writer::key(buf, name);
        seconds.write_hours(buf);
    }
    buf.push(b',');
    writer::key(buf, "billed_energy");
    s.billed_energy.write(buf);
    for (name, seconds) in BILLED_NAMES.iter().zip(s.billed_seconds) {
        buf.push(b',');
        writer::key(buf, name);
        seconds.write_hours(buf);
    }
    for (name, flag) in [
        ("min_price_applied", s.min_price_applied),
        ("max_price_applied", s.max_price_applied),
    ] {
        buf.push(b',');
        writer::key(buf, name);
        buf.extend_from_slice(if flag { b"true" } else { b"false" });
    }
    buf.extend_from_slice(b",\"periods\":[");
    if let Some(breakdown) = breakdown {
        periods(buf, breakdown);
    }
    buf.extend_from_slice(b"]}");
}

/// Sums in money, plus money·seconds (divided by 3600 once, at the end, to stay exact).
#[derive(Debug, Default, Clone, Copy)]
struct Sum {
    money: Amount,
    money_seconds: Amount,
}

impl Sum {
    fn total(self) -> Amount {
        let per_hour = self.money_seconds;
        if per_hour.excl.is_zero() && per_hour.incl.is_zero() {
            return self.money; // the same Decimal as adding 0 / 3600, without two divisions
        }
        self.money.add(Amount {
            excl: per_hour.excl / SECONDS_PER_HOUR,
            incl: per_hour.incl / SECONDS_PER_HOUR,
        })
    }
}

fn is_time(kind: Kind) -> bool {
    matches!(kind, Kind::Time | Kind::Parking | Kind::Reservation)
}

/// Cost of a line; time lines are returned as money·seconds when `per_second` (see [`Sum`]).
fn raw_cost(line: &Line) -> Amount {
    match &line.component {
        Some(c) => Amount::of(line.billed() * c.price, c.vat),
        None => Amount::default(),
    }
}

/// Cost of one line in money.
pub(crate) fn line_cost(line: &Line) -> Amount {
    let cost = raw_cost(line);
    if is_time(line.kind) {
        Amount {
            excl: cost.excl / SECONDS_PER_HOUR,
            incl: cost.incl / SECONDS_PER_HOUR,
        }
    } else {
        cost
    }
}

/// The category totals: energy, time, parking, fixed, reservation.
pub(crate) fn totals(lines: &[Line]) -> [Amount; 5] {
    let mut sums = [Sum::default(); 5];
    for line in lines {
        let slot = match (line.kind, line.category) {
            (Kind::Energy, _) => 0,
            (Kind::Time, _) => 1,
            (Kind::Parking, _) | (Kind::Flat, Category::Parking) => 2,
            (Kind::Flat, Category::Fixed) => 3,
            (Kind::Reservation, _) | (Kind::Flat, Category::Reservation) => 4,
        };
        let cost = raw_cost(line);
        if let Some(sum) = sums.get_mut(slot) {
            if is_time(line.kind) {
                sum.money_seconds = sum.money_seconds.add(cost);
            } else {
                sum.money = sum.money.add(cost);
            }
        }
    }
    sums.map(Sum::total)
}

/// Tariffs.md 5.8 with reading 17: excl and incl are clamped independently; a limit without `incl_vat`
/// rescales incl by the factor applied to excl (incl = excl when the unclamped excl is zero).
pub(crate) fn clamp(raw: Amount, min: Option<Limit>, max: Option<Limit>) -> (Amount, bool, bool) {
    let mut out = raw;
    let mut applied = [false, false];
    for (slot, limit, is_min) in [(0, min, true), (1, max, false)] {
        let Some(limit) = limit else { continue };
        let beyond = |value: Decimal, bound: Decimal| if is_min { value < bound } else { value > bound };
        let before = out;
        if beyond(out.excl, limit.excl) {
            out.excl = limit.excl;
        }
        match limit.incl {
            Some(incl) if beyond(out.incl, incl) => out.incl = incl,
            Some(_) => {}
            None if out.excl == before.excl => {}
            None if before.excl.is_zero() => out.incl = out.excl,
            None => out.incl = before.incl * out.excl / before.excl,
        }
        if let Some(flag) = applied.get_mut(slot) {
            *flag = out != before;
        }
    }
    (out, applied[0], applied[1])
}

/// Sum of `kind`'s billed quantity: priced lines only, `step_size` extra included.
pub(crate) fn billed(lines: &[Line], kind: Kind) -> Decimal {
    lines
        .iter()
        .filter(|l| l.kind == kind && l.component.is_some())
        .map(Line::billed)
        .sum()
}

/// The per-period breakdown: every period with its lines, in period order.
fn periods(buf: &mut Vec<u8>, b: &Breakdown<'_, '_>) {
    let mut lines = b.lines.iter().peekable();
    for (i, p) in b.timeline.periods.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(b"{\"start_date_time\":");
        period_start(buf, p.start);
        buf.extend_from_slice(b",\"tariff_id\":");
        match b.tariff_ids.get(i).copied().flatten() {
            Some(id) => writer::string(buf, id),
            None => buf.extend_from_slice(b"null"),
        }
        buf.extend_from_slice(b",\"lines\":[");
        let mut first = true;
        while let Some(line) = lines.next_if(|l| l.period <= i) {
            if line.period == i {
                if !first {
                    buf.push(b',');
                }
                first = false;
                line_json(buf, line);
            }
        }
        buf.extend_from_slice(b"]}");
    }
}

fn period_start(buf: &mut Vec<u8>, start: DateTime<Utc>) {
    writer::datetime(buf, start);
}

fn line_json(buf: &mut Vec<u8>, line: &Line) {
    let volume = |buf: &mut Vec<u8>, q: Decimal| match line.kind {
        Kind::Flat => buf.extend_from_slice(b"null"),
        Kind::Energy => writer::dec4(buf, q),
        _ => writer::hours(buf, q),
    };
    buf.extend_from_slice(b"{\"dimension\":");
    writer::string(buf, line.kind.name());
    buf.extend_from_slice(b",\"element\":");
    match line.source {
        Some((_, e, _)) => writer::uint(buf, e),
        None => buf.extend_from_slice(b"null"),
    }
    buf.extend_from_slice(b",\"volume\":");
    volume(buf, line.quantity);
    buf.extend_from_slice(b",\"billed_volume\":");
    volume(
        buf,
        if line.component.is_some() {
            line.billed()
        } else {
            Decimal::ZERO
        },
    );
    buf.extend_from_slice(b",\"cost\":");
    let cost = line_cost(line);
    amount(buf, (cost.excl, cost.incl));
    buf.push(b'}');
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn amount(excl: &str, incl: &str) -> Amount {
        Amount {
            excl: Decimal::from_str(excl).unwrap(),
            incl: Decimal::from_str(incl).unwrap(),
        }
    }

    #[allow(clippy::unnecessary_wraps)]
    fn limit(excl: &str, incl: Option<&str>) -> Option<Limit> {
        Some(Limit {
            excl: Decimal::from_str(excl).unwrap(),
            incl: incl.map(|i| Decimal::from_str(i).unwrap()),
        })
    }

    #[test]
    fn clamp_min_and_max_independently() {
        let (out, min, max) = clamp(amount("0.30", "0.33"), limit("0.50", Some("0.55")), None);
        assert_eq!((out, min, max), (amount("0.50", "0.55"), true, false));
        let (out, _, max) = clamp(amount("13.00", "14.35"), None, limit("10.00", Some("11.00")));
        assert_eq!((out, max), (amount("10.00", "11.00"), true));
        let (out, _, _) = clamp(amount("5", "5.5"), limit("0.50", Some("0.55")), None);
        assert_eq!(out, amount("5", "5.5"));
    }

    #[test]
    fn clamp_without_incl_rescales() {
        let (out, _, _) = clamp(amount("20", "24"), None, limit("10", None));
        assert_eq!(out, amount("10", "12"));
        let (out, min, _) = clamp(amount("0", "0"), limit("1", None), None);
        assert_eq!((out, min), (amount("1", "1"), true));
    }
}
