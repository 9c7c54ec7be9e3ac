//! Totals, min/max clamping and the JSON result.

use rust_decimal::Decimal;
use serde::Serialize;

use super::model::Limit;
use super::money::{fmt4, Amount, PriceOut, SECONDS_PER_HOUR};
use super::pricing::{Category, Kind, Line};
use super::timeline::Timeline;

/// The result of pricing, as serialized to JSON for Python.
#[derive(Debug, Serialize)]
pub(crate) struct PricingOut {
    pub(crate) currency: String,
    pub(crate) time_zone: String,
    /// `explicit`, `cdr_location` or `default` (UTC, only when no restriction depends on local time).
    pub(crate) time_zone_source: &'static str,
    pub(crate) total_cost: PriceOut,
    pub(crate) total_energy_cost: PriceOut,
    pub(crate) total_time_cost: PriceOut,
    pub(crate) total_parking_cost: PriceOut,
    pub(crate) total_fixed_cost: PriceOut,
    pub(crate) total_reservation_cost: PriceOut,
    pub(crate) total_energy: String,
    pub(crate) total_time: String,
    pub(crate) total_charging_time: String,
    pub(crate) total_parking_time: String,
    pub(crate) total_reservation_time: String,
    pub(crate) billed_energy: String,
    pub(crate) billed_time: String,
    pub(crate) billed_parking_time: String,
    pub(crate) billed_reservation_time: String,
    pub(crate) min_price_applied: bool,
    pub(crate) max_price_applied: bool,
    pub(crate) periods: Vec<PeriodOut>,
}

/// One period of the breakdown.
#[derive(Debug, Serialize)]
pub(crate) struct PeriodOut {
    pub(crate) start_date_time: String,
    pub(crate) tariff_id: Option<String>,
    pub(crate) lines: Vec<LineOut>,
}

/// One priced (or free) quantity of a period.
#[derive(Debug, Serialize)]
pub(crate) struct LineOut {
    /// `ENERGY`, `TIME`, `PARKING_TIME`, `RESERVATION_TIME` or `FLAT`.
    pub(crate) dimension: &'static str,
    /// Index of the tariff element used; `null` = no element applies (free).
    pub(crate) element: Option<usize>,
    /// Measured volume, kWh or hours; `null` for FLAT.
    pub(crate) volume: Option<String>,
    /// Billed volume after `step_size`.
    pub(crate) billed_volume: Option<String>,
    pub(crate) cost: PriceOut,
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

/// Hours from seconds, 4 decimals.
pub(crate) fn hours(seconds: Decimal) -> String {
    fmt4(seconds / SECONDS_PER_HOUR)
}

/// Sum of `kind`'s billed quantity: priced lines only, `step_size` extra included.
pub(crate) fn billed(lines: &[Line], kind: Kind) -> Decimal {
    lines
        .iter()
        .filter(|l| l.kind == kind && l.component.is_some())
        .map(Line::billed)
        .sum()
}

/// The per-period breakdown.
pub(crate) fn periods(timeline: &Timeline, lines: &[Line], tariff_ids: &[Option<String>]) -> Vec<PeriodOut> {
    let mut out: Vec<PeriodOut> = timeline
        .periods
        .iter()
        .enumerate()
        .map(|(i, p)| PeriodOut {
            start_date_time: p.start.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            tariff_id: tariff_ids.get(i).cloned().flatten(),
            lines: Vec::new(),
        })
        .collect();
    for line in lines {
        let volume = |q: Decimal| match line.kind {
            Kind::Flat => None,
            Kind::Energy => Some(fmt4(q)),
            _ => Some(hours(q)),
        };
        if let Some(period) = out.get_mut(line.period) {
            period.lines.push(LineOut {
                dimension: line.kind.name(),
                element: line.source.map(|s| s.1),
                volume: volume(line.quantity),
                billed_volume: volume(if line.component.is_some() {
                    line.billed()
                } else {
                    Decimal::ZERO
                }),
                cost: line_cost(line).out(),
            });
        }
    }
    out
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
